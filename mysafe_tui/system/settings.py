"""Where things live, and the user's preferences (never a secret: those go in the vault)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from mysafe_tui.core.errors import InvalidInput
from mysafe_tui.core.kdf import KDF_PROFILES
from mysafe_tui.system.disk import write_atomic
from mysafe_tui.system.locations import data_dir, vault_name

CLIPBOARD_BACKENDS = ("auto", "system", "osc52", "off")


@dataclass(frozen=True)
class Paths:
    """The data and config locations of one profile. `MYSAFE_HOME` puts both in one folder."""

    data_dir: Path
    config_dir: Path
    profile: str = "default"
    # What this machine remembers of each vault (the newest state seen: rollback detection).
    # Outside the data folder, so that putting an old copy of that folder back does not put
    # back the memory of it too. Default: `state/` under the data folder.
    state_dir: Path | None = None

    @classmethod
    def discover(cls, profile: str = "default") -> Paths:
        data = Path(data_dir())
        if os.environ.get("MYSAFE_HOME"):
            return cls(data, data, profile, data / "state")
        import platformdirs

        return cls(
            data,
            platformdirs.user_config_path("mysafe"),
            profile,
            platformdirs.user_state_path("mysafe"),
        )

    @property
    def seen_dir(self) -> Path:
        return self.state_dir or self.data_dir / "state"

    @property
    def vault(self) -> Path:
        return self.data_dir / vault_name(self.profile)

    @property
    def settings(self) -> Path:
        return self.config_dir / "settings.json"


@dataclass(frozen=True)
class Settings:
    """User preferences with safe defaults (DESIGN.md §6-7)."""

    clipboard: str = "auto"
    clear_seconds: int = 20
    autolock_minutes: int = 5
    # Over SSH a session can stall without closing (a laptop lid, a dead link): TCP may keep
    # it "open" for many minutes, so the vault locks sooner there.
    ssh_autolock_minutes: int = 2
    theme: str = "textual-dark"
    kdf_profile: str = "default"
    # The user's keys for the UI's actions, by action id: {"copy.username": "y"}.
    keymap: dict[str, str] = field(default_factory=dict)
    # `mysafe` opens without the passphrase while an unlock agent (`mysafe unlock`) holds the
    # vault; the UI's own auto-lock still locks the UI, which then asks.
    use_agent: bool = True
    # Old passwords kept on each item when its password changes (0: none).
    password_history: int = 20
    versions_kept: int = 20  # earlier versions kept in each item (core/versions.py)
    # A vault bound to a server syncs this often while the UI is open (and the unlock agent
    # runs), and when the terminal regains focus; 0: only when asked (`s`, `mysafe sync`).
    sync_minutes: int = 5
    # The health check (`mysafe health`, the Health screen): a secret unchanged for longer is
    # "old"; breaches are looked up in a local copy of Pwned Passwords (a folder of range
    # files or one sorted file), and online (k-anonymity: five hex digits of a SHA-1 leave
    # the machine) only when `breach_online` is set or asked for.
    health_max_age_days: int = 365
    breach_data: str = ""
    breach_online: bool = False
    breach_api: str = "https://api.pwnedpasswords.com"

    def validate(self) -> Settings:
        if self.clipboard not in CLIPBOARD_BACKENDS:
            raise InvalidInput(f"clipboard must be one of {', '.join(CLIPBOARD_BACKENDS)}")
        if not 5 <= self.clear_seconds <= 120:
            raise InvalidInput("the clipboard clears after 5 to 120 seconds")
        if not 1 <= self.autolock_minutes <= 240 or not 1 <= self.ssh_autolock_minutes <= 240:
            raise InvalidInput("auto-lock must be between 1 and 240 minutes")
        if not isinstance(self.keymap, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in self.keymap.items()
        ):
            raise InvalidInput('keymap maps action ids to keys: {"copy.username": "y"}')
        if not isinstance(self.use_agent, bool):
            raise InvalidInput("use_agent is true or false")
        if not isinstance(self.password_history, int) or not 0 <= self.password_history <= 100:
            raise InvalidInput("password_history keeps 0 to 100 old passwords")
        if not isinstance(self.versions_kept, int) or not 0 <= self.versions_kept <= 100:
            raise InvalidInput("versions_kept keeps 0 to 100 earlier versions")
        if not isinstance(self.sync_minutes, int) or not 0 <= self.sync_minutes <= 1440:
            raise InvalidInput("sync_minutes is 0 (only when asked) to 1440 minutes")
        if not isinstance(self.health_max_age_days, int) or not (
            1 <= self.health_max_age_days <= 36500
        ):
            raise InvalidInput("health_max_age_days is a number of days from 1 to 36500")
        if not isinstance(self.breach_data, str) or not isinstance(self.breach_online, bool):
            raise InvalidInput("breach_data is a path and breach_online true or false")
        if not isinstance(self.breach_api, str):  # its scheme is checked where it is used
            raise InvalidInput("breach_api is a URL")
        if self.kdf_profile not in KDF_PROFILES:
            raise InvalidInput(f"KDF profile must be one of {', '.join(KDF_PROFILES)}")
        return self

    @classmethod
    def load(cls, path: Path) -> Settings:
        """Defaults when the file is missing; a clear error when it is unreadable."""
        try:
            raw: Any = json.loads(path.read_text())
            if path.stat().st_mode & 0o077:  # not a secret, but nobody else's business
                os.chmod(path, 0o600)
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as exc:
            raise InvalidInput(f"cannot read settings {path}: {exc}; fix or delete it") from None
        if not isinstance(raw, dict):
            raise InvalidInput(f"settings {path} must be a JSON object")
        known = {f.name: f.type for f in fields(cls)}
        values = {k: v for k, v in raw.items() if k in known}
        try:
            return cls(**values).validate()
        except (TypeError, InvalidInput) as exc:
            raise InvalidInput(f"settings {path}: {exc}") from None

    def save(self, path: Path) -> None:
        self.validate()
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps(asdict(self), indent=2).encode() + b"\n")
