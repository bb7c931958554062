"""Reading a MySafe server's answers: items normalised to one shape (both API dialects),
flags and numbers as senhasegura spells them, Retry-After, and a transport error as words."""

from __future__ import annotations

import email.utils
import json
import re
import time
from typing import Any

import httpx

from mysafe_tui.core.errors import (
    ServerError,
)
from mysafe_tui.core.sanitize import whole_text


def entity(body: dict[str, Any], key: str, base_url: str) -> dict[str, Any]:
    entity = body.get(key)
    if not isinstance(entity, dict):
        raise ServerError(f"{base_url} answered without the {key} the MySafe API promises")
    return normalise(entity)


def normalise(raw: dict[str, Any]) -> dict[str, Any]:
    """API.md §1 leniency: ids as strings, flags as booleans, tags as a tuple."""
    out = dict(raw)
    if "identifier" in out:
        out["identifier"] = str(out["identifier"])
    for name in ("can_view", "can_write", "mine", "active", "need_justify", "need_approval"):
        if name in out:
            out[name] = flag(out[name])
    if "revision" in out:
        out["revision"] = _int(out["revision"], None)
    if "tags" in out:
        tags = out["tags"]
        items = tags if isinstance(tags, list) else str(tags or "").split(",")
        out["tags"] = tuple(t.strip() for t in map(str, items) if t.strip())
    return out


def flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _int(value: Any, default: Any) -> Any:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds: a number, or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def transport_reason(exc: httpx.TransportError) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.ProxyError):  # the proxy's answer, never its URL (a password)
        first = text.split("\n")[0][:60]
        return f"the proxy failed ({first}; check HTTPS_PROXY or --proxy)"
    if "refused" in text.lower() or "all connection attempts failed" in text.lower():
        return "nothing answers at that address"
    if "name or service not known" in text.lower() or "nodename" in text.lower():
        return "unknown host"
    if isinstance(exc, httpx.ConnectError) and "certificate" in text.lower():
        return "its TLS certificate is not trusted"
    return text.split("\n")[0][:120]


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def json_body(text: str) -> Any:
    """An answer's JSON. A lone surrogate (valid JSON, invalid Unicode) could be neither stored
    nor shown: a server that let one in gets U+FFFD back. Everything else is data, shown
    escaped wherever it is shown (core/sanitize.py). Only a \\uD8xx-\\uDFxx escape can make
    one: other answers skip the (per-value) check. ValueError when it is not JSON."""
    hook = _whole_text if _SURROGATE_ESCAPE.search(text) else None
    return json.loads(text, object_pairs_hook=hook)


def _whole_text(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    return {_unpaired(key): _unpaired(value) for key, value in pairs}


def _unpaired(value: Any) -> Any:
    if isinstance(value, str):
        return whole_text(value)
    if isinstance(value, list):
        return [_unpaired(v) for v in value]
    return value
