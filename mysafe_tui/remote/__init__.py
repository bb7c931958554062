"""Talking to a MySafe server (API.md): the HTTP client, the sync engine, the server binding,
share links, the Pwned Passwords range API and TLS trust."""
