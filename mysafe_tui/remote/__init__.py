"""Talking to a MySafe server (API.md): the HTTP client, and later the sync engine."""
