"""The machine: crash-safe private file writes (disk.py), where things live (locations.py),
the user's settings file (settings.py), process hardening (process.py) and the clipboard
(clipboard.py). Beneath everything but the domain (core/)."""
