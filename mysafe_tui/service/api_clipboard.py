"""The service's calls that copy (with the clear timer: copying.py), read one field, and
generate passwords, passphrases and strength estimates."""

from __future__ import annotations

import os
import shlex
from typing import TYPE_CHECKING, Any

from mysafe_tui.core.errors import (
    InvalidInput,
)
from mysafe_tui.core.models import (
    SPECS,
    ItemKind,
    Strength,
    field_label,
)
from mysafe_tui.service.parts import ServiceParts
from mysafe_tui.system.settings import Settings

if TYPE_CHECKING:  # imported lazily below: cryptography and sqlite3 cost ~80 ms at launch
    pass


class ClipboardApi(ServiceParts):
    """VaultService's clipboard, field and generator methods."""

    # --- clipboard ------------------------------------------------------------------------

    @property
    def idle_lock_seconds(self) -> int:
        """How long the UI may sit idle before it locks: shorter over SSH (settings)."""
        over_ssh = bool(os.environ.get("SSH_CONNECTION") or os.environ.get("SSH_TTY"))
        minutes = self.settings.ssh_autolock_minutes if over_ssh else self.settings.autolock_minutes
        return minutes * 60

    @property
    def clipboard_seconds_left(self) -> int | None:
        """Seconds until the clipboard is cleared, None when nothing is pending."""
        return self._clip.seconds_left

    async def field_value(self, item_id: str, field: str) -> tuple[str, str]:
        """One field's value and label: a secret (decrypted), a summary field, `id`, or
        `totp` (the current code). Copying, `mysafe get` and references all read fields here,
        so each is a use of the item (`unused:`)."""
        found = await self._field_value(item_id, field)
        await self._uses.mark(item_id)
        return found

    async def _field_value(self, item_id: str, field: str) -> tuple[str, str]:
        item = self._worker.get(item_id)
        spec = SPECS[item.kind]
        if field == "totp":
            return (await self.totp(item_id)).code, "One-time code"
        if field in spec.secret:
            return (await self.reveal(item_id))[field].reveal(), field_label(field)
        if field in spec.summary or field == "id":
            return item.field(field), field_label(field)
        custom = await self.extras(item_id)
        found = custom.field(field)
        if found is not None:  # a custom field, by its label
            return found.value, found.label
        known = ", ".join(
            ("id", *spec.summary, *spec.secret, "totp", *(f.label for f in custom.fields))
        )
        raise InvalidInput(f"{item.kind.noun} has no field '{field}' ({known})")

    async def copy_field(self, item_id: str, field: str) -> str:
        """Copy one field (see `field_value`) and arm the clear timer. Returns the sentence
        to show the user; the value itself never leaves the service."""
        value, label = await self.field_value(item_id, field)
        if not value:
            name = self._worker.get(item_id).name
            raise InvalidInput(f"'{name}' has no {field.replace('_', ' ')}")
        return await self._clip.copy(value, label)

    async def copy_text(self, value: str, label: str) -> str:
        """A secret from elsewhere (a PAM password) to the clipboard, cleared as the rest."""
        return await self._clip.copy(value, label)

    async def copy_env_lines(self, item_id: str) -> str:
        """Copy an API secret as `export NAME_CLIENT_ID=...` lines for a shell."""
        item = self._worker.get(item_id)
        if item.kind is not ItemKind.API_SECRET:
            raise InvalidInput("only API secrets can be copied as environment lines")
        secrets = await self.reveal(item_id)
        prefix = "".join(c if c.isalnum() else "_" for c in item.name.upper()).strip("_") or "API"
        lines = [
            f"export {prefix}_URL={shlex.quote(item.url)}",
            f"export {prefix}_CLIENT_ID={shlex.quote(secrets['client_id'].reveal())}",
            f"export {prefix}_CLIENT_SECRET={shlex.quote(secrets['client_secret'].reveal())}",
        ]
        text = "\n".join(lines) + "\n"
        return await self._clip.copy(text, "Environment lines")

    def hand_over_clipboard(self) -> dict[str, object] | None:
        """The pending copy, for a clearer in another process (`mysafe copy` exits before
        the clear time): never the copied text, only its digest. This service will not
        clear it any more."""
        return self._clip.hand_over()

    async def clipboard_tick(self) -> str | None:
        """Call about once a second: clears the clipboard when its time is up, and says what
        was cleared (None when nothing was due)."""
        return await self._clip.tick()

    async def clipboard_clear(self) -> str | None:
        return await self._clip.clear()

    async def save_settings(self, settings: Settings) -> None:
        """Validate, persist (atomically) and apply new settings."""
        settings.validate().save(self.paths.settings)
        await self._clip.reset()
        self.settings = settings

    # --- generation (pure, no vault needed) ------------------------------------------------

    # (generator.py loads `secrets` and its word list: imported when first used, not at start)

    @staticmethod
    def generate_password(*args: Any, **kwargs: Any) -> str:
        """See core.generator.generate_password."""
        from mysafe_tui.core.generator import generate_password

        return generate_password(*args, **kwargs)

    @staticmethod
    def generate_passphrase(*args: Any, **kwargs: Any) -> str:
        """See core.generator.generate_passphrase."""
        from mysafe_tui.core.generator import generate_passphrase

        return generate_passphrase(*args, **kwargs)

    @staticmethod
    def estimate_strength(passphrase: str) -> Strength:
        from mysafe_tui.core.generator import estimate_strength

        return estimate_strength(passphrase)
