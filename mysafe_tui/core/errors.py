"""The error hierarchy. The UI and the CLI catch `MySafeError` and show its message."""

from __future__ import annotations


class MySafeError(Exception):
    """Base of every error the user may see. `str(error)` is one human sentence."""


class VaultError(MySafeError):
    """Something is wrong with the vault file or its state."""


class VaultNotFound(VaultError):
    """No vault exists at the expected path."""


class VaultExists(VaultError):
    """A vault already exists where a new one was to be created."""


class VaultLocked(VaultError):
    """The operation needs an unlocked vault."""


class VaultBusy(VaultError):
    """Another process is writing to the vault."""


class WrongPassphrase(VaultError):
    """The passphrase does not open this vault."""


class CorruptVault(VaultError):
    """The file is not a readable mysafe vault (damaged database structure)."""


class VaultTruncated(CorruptVault):
    """The file is shorter than its own header says: it was cut off."""


class CorruptHeader(VaultError):
    """The vault header (KDF parameters, wrapped key) is damaged."""


class UnsupportedVersion(VaultError):
    """The vault was written by a newer, incompatible version of mysafe."""


class IntegrityError(VaultError):
    """Records were deleted, added or rolled back outside mysafe (manifest mismatch)."""


class RolledBack(IntegrityError):
    """The vault is older than the newest state this machine saw of it: open read-only."""


class CorruptRecord(VaultError):
    """One item cannot be decrypted or authenticated; the other items stay readable."""

    def __init__(self, item_id: str, detail: str = "") -> None:
        self.item_id = item_id
        message = f"item {item_id} is damaged and cannot be decrypted"
        super().__init__(f"{message}: {detail}" if detail else message)


class KdfParamsRejected(VaultError):
    """The key-derivation parameters are outside the accepted bounds."""


class KdfUnavailable(VaultError):
    """This machine's cryptography library has no Argon2id: refuse, never fall back."""


class StorageError(MySafeError):
    """The disk refused a write (full, read-only, I/O error); nothing was changed."""


class ItemNotFound(MySafeError):
    """No item matches the given name or id."""


class AmbiguousName(MySafeError):
    """More than one item matches the given name."""

    def __init__(self, name: str, candidates: list[str]) -> None:
        self.candidates = candidates
        listed = ", ".join(candidates[:5]) + (" ..." if len(candidates) > 5 else "")
        super().__init__(f"'{name}' matches {len(candidates)} items ({listed}); use the id")


class InvalidInput(MySafeError):
    """A value given by the user is not acceptable; the message says why."""


class WeakPassphrase(InvalidInput):
    """A new master passphrase rates below the minimum; the message says why and how to fix it."""


class RemoteError(MySafeError):
    """Talking to a MySafe server failed; the message says why in one sentence."""


class OfflineError(RemoteError):
    """The server cannot be reached (no network, refused, timed out): work from the cache.
    `maybe_sent`: the request may have reached the server (a read timeout, a proxy's page)."""

    def __init__(self, message: str, maybe_sent: bool = False) -> None:
        super().__init__(message)
        self.maybe_sent = maybe_sent


class AuthenticationError(RemoteError):
    """The server refused the access key (client id and secret), or keeps refusing the token."""


class ServerError(RemoteError):
    """The server failed (5xx) or answered something that is not the MySafe API."""


class ServerUnavailable(ServerError):
    """The server answered 5xx or 429: it is there but cannot do it now (try later)."""

    maybe_sent = True


class RemoteRejected(RemoteError):
    """The server refused the request with a MySafe business error (API.md §1 codes)."""

    def __init__(self, message: str, code: int = 0, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


class RemoteConflict(RemoteError):
    """The item changed on the server since it was last pulled; `current` is the server copy."""

    def __init__(self, message: str, current: dict[str, object]) -> None:
        super().__init__(message)
        self.current = current


class NotSupported(RemoteError):
    """The server lacks a feature (a plain senhasegura server has no files or shares API)."""


class EncryptedSecrets(RemoteError):
    """The access key gets its secrets encrypted for another program: useless here."""
