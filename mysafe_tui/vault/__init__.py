"""The encrypted vault file (DESIGN.md §3): the `Vault` API (vault.py) over its parts: the
SQLite file (storage.py), the header and its key slots (header.py), the record format
(records.py), integrity (manifest.py, rollback.py), the summaries kept for the list
(summaries.py, summary_cache.py) and the in-memory search over them (search.py)."""
