"""The Textual user interface. It talks to `VaultService` only (DESIGN.md §2)."""
