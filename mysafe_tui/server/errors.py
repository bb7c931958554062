"""The server's business errors, each carrying the MySafe `exception` code of API.md §1."""

from __future__ import annotations

from typing import Any

MISSING_PARAMETER = 1001
NOT_FOUND = 1005
NO_ACCESS = 1006
INACTIVE = 1009

NOUNS = {
    "password": "Password",
    "note": "Note",
    "secretapi": "API secret",
    "file": "File",
    "sshkey": "SSH key",
}


class ApiError(Exception):
    """Answered as HTTP `status` with the envelope and, for 400s, an `exception` object."""

    def __init__(self, code: int, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def not_found(kind: str) -> ApiError:
    return ApiError(NOT_FOUND, f"{NOT_FOUND}: {NOUNS[kind]} not found")


def no_access() -> ApiError:
    return ApiError(NO_ACCESS, f"{NO_ACCESS}: User does not have access")


def inactive(kind: str) -> ApiError:
    return ApiError(INACTIVE, f"{INACTIVE}: Inactive {NOUNS[kind].lower()}")  # senhasegura's words


def missing(name: str) -> ApiError:
    return ApiError(MISSING_PARAMETER, f"{MISSING_PARAMETER}: Parameter '{name}' was not informed!")


def invalid(message: str) -> ApiError:
    return ApiError(MISSING_PARAMETER, f"{MISSING_PARAMETER}: {message}")


class Conflict(Exception):
    """`If-Match` named an older revision: answered 409 with the current entity."""

    def __init__(self, current: dict[str, Any]) -> None:
        super().__init__("the item changed on the server")
        self.current = current


class ShareGone(Exception):
    """A share that can no longer be revealed; `state` is expired, used_up, revoked or missing."""

    def __init__(self, state: str) -> None:
        super().__init__(state)
        self.state = state


class ShareRefused(Exception):
    """A reveal that spent nothing: `reason` is `password` (the recipient mistyped it:
    `attempts_left` before the share is destroyed), `link` (the holder proof is wrong: someone
    without the link's key) or `wait` (that someone must wait `retry_after` seconds)."""

    def __init__(self, reason: str, *, attempts_left: int = 0, retry_after: float = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.attempts_left = attempts_left
        self.retry_after = retry_after
