"""Talking to a MySafe server (API.md): the HTTP client, the sync engine, the server binding,
share links, the Pwned Passwords range API and TLS trust."""

import sys
import types

# httpx imports its own command line (click, rich's console, pygments: ~120 ms of a 0.5 s
# `mysafe pam get`) whenever those happen to be installed, which Textual and uvicorn make
# them. mysafe never runs httpx's command line: a stand-in module without `main` makes
# httpx fall back to its stub, as when they are absent.
if "httpx" not in sys.modules:
    sys.modules.setdefault("httpx._main", types.ModuleType("httpx._main"))
