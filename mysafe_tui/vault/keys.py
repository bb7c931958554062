"""The vault's keys: passphrase -Argon2id-> PK -HKDF-> KEK, which wraps the vault key VK;
a passphrase change rewraps VK, a rotation gives every item a new key under a new VK."""

from __future__ import annotations

from contextlib import suppress

from mysafe_tui.core.crypto import (
    Aead,
    AuthenticationFailed,
    random_key,
)
from mysafe_tui.core.errors import (
    CorruptRecord,
    WrongPassphrase,
)
from mysafe_tui.core.kdf import KDF_PROFILES, KdfParams
from mysafe_tui.vault import storage, summary_cache
from mysafe_tui.vault.header import Header
from mysafe_tui.vault.manifest import entry_mac, fold
from mysafe_tui.vault.rollback import Memory
from mysafe_tui.vault.state import (
    ROW,
    Progress,
    VaultKeys,
    VaultState,
    kek_from,
    read_header,
)
from mysafe_tui.vault.summaries import KINDS


class KeyRing(VaultState):
    """The passphrase and the keys under it: deriving the KEK, a passphrase change (rewrap),
    a vault key rotation (every item key rewrapped)."""

    def derive_kek(self, passphrase: str) -> bytes:
        """The key that opens this vault's key, from the passphrase (the KDF: ~0.7 s). The
        unlock agent keeps this, not the passphrase: a passphrase change makes it useless."""
        # Read again: the vault may have been opened long ago (while a passphrase was typed)
        # and its passphrase changed since by another process.
        header = self._header = read_header(self._conn, self.path)
        return kek_from(passphrase, header.kdf, header.vault_id)

    def key_opens(self, kek: bytes) -> bool:
        """Whether `kek` still opens the vault file as it is on disk now (no passphrase
        change since it was derived). Raises CorruptHeader when the header cannot be read."""
        header = read_header(self._conn, self.path)
        try:
            Aead(kek).open(header.wrapped_vk, header.vk_ad())
        except AuthenticationFailed:
            return False
        return True

    def change_passphrase(self, old: str, new: str, profile: str | None = None) -> None:
        """Re-wrap the vault key under the new passphrase: item ciphertext is untouched."""
        self._require_unlocked()
        self._refuse_if_rolled_back()
        header = self._header
        self._check_passphrase(old)
        params = KDF_PROFILES[profile] if profile else header.kdf
        self._rewrap(new, params.with_new_salt(), profile or header.profile)

    def rotate_key(self, passphrase: str, progress: Progress | None = None) -> int:
        """A new vault key, and a new key for every item, in one transaction: every summary
        and secret re-encrypted, every entry MAC and the manifest re-made, the header wrapping
        the new vault key under `passphrase`. An old header, an old passphrase or a leaked old
        vault key then opens nothing written since. File contents keep their file keys (now
        inside secrets under the new item keys). Returns the number of rows rotated."""
        self._require_unlocked()
        self._refuse_if_rolled_back()
        assert self._sk is not None
        header = self._header
        self._check_passphrase(passphrase)
        if self._corrupt:
            raise CorruptRecord(next(iter(self._corrupt)), "repair or purge damaged items first")
        new_vk = random_key()
        kdf = header.kdf.with_new_salt()
        kek = kek_from(passphrase, kdf, header.vault_id)
        new_header = Header(
            header.format,
            header.vault_id,
            kdf,
            header.profile,
            Aead(kek).seal(new_vk, header.vk_ad(kdf)),
            header.created,
        )
        old_sk = self._sk
        new = VaultKeys.of(new_vk, header.vault_id)
        macs: dict[str, bytes] = {}
        with storage.write_transaction(self._conn, self.path):
            self.refresh()
            ids = [row[0] for row in self._query("SELECT id FROM items ORDER BY id")]
            for done, item_id in enumerate(ids, 1):
                row = self._query(f"SELECT {ROW} FROM items WHERE id = ?", item_id)[0]
                _, kind_text, version, key_version, wrapped, summary_ct, secret_ct, stored = row
                check = self._manifest.entry_mac(
                    item_id, kind_text, version, key_version, wrapped, summary_ct, secret_ct
                )
                if check != stored or check != self._manifest.macs.get(item_id):
                    raise CorruptRecord(item_id, "it was modified outside mysafe")
                kind = KINDS[kind_text]
                summary_ad = self._ad.item(kind, item_id, version, "summary")
                secret_ad = self._ad.item(kind, item_id, version, "secret")
                try:
                    summary = old_sk.open(summary_ct, summary_ad)
                    secret = self._item_key(item_id, key_version, wrapped).open(
                        secret_ct, secret_ad
                    )
                except AuthenticationFailed:
                    raise CorruptRecord(item_id) from None
                ik = random_key()
                wrapped = new.vk.seal(ik, self._ad.item_key(item_id, key_version))
                summary_ct = new.sk.seal(summary, summary_ad)
                secret_ct = Aead(ik).seal(secret, secret_ad)
                entry = entry_mac(
                    new.mk, item_id, kind_text, version, key_version, wrapped, summary_ct, secret_ct
                )
                self._conn.execute(
                    "UPDATE items SET wrapped_key = ?, summary = ?, secret = ?, mac = ? "
                    "WHERE id = ?",
                    (wrapped, summary_ct, secret_ct, entry, item_id),
                )
                macs[item_id] = entry
                if progress is not None and (done % 500 == 0 or done == len(ids)):
                    progress(done)
            generation, acc = self._manifest.generation + 1, fold(macs.values())
            self._conn.execute(
                "UPDATE manifest SET generation = ?, count = ?, tag = ? WHERE id = 1",
                (generation, len(macs), self._manifest.tag(generation, len(macs), acc, new.mk)),
            )
            self._conn.execute(
                "UPDATE header SET body = ?, checksum = ? WHERE id = 1",
                (new_header.body(), new_header.checksum()),
            )
        self._header = new_header
        self._install_keys(new_vk)
        self._manifest.adopt(macs, generation, acc)
        self._cache_generation = None
        with suppress(OSError):  # written under the old key: useless now
            summary_cache.path_for(self.path).unlink(missing_ok=True)
        if self._memory is not None:  # the memory's key comes from the vault key
            self._memory = Memory(self._memory.path.parent, header.vault_id, new_vk)
        self.remember_seen()
        return len(ids)

    # --- internals ------------------------------------------------------------------------

    def _check_passphrase(self, passphrase: str) -> None:
        """Before a change that needs it: is it the passphrase that opens the header?"""
        header = self._header
        try:
            Aead(kek_from(passphrase, header.kdf, header.vault_id)).open(
                header.wrapped_vk, header.vk_ad()
            )
        except AuthenticationFailed:
            raise WrongPassphrase("the current passphrase is wrong") from None

    def _rewrap(self, passphrase: str, kdf: KdfParams, profile: str) -> None:
        assert self._vk_key is not None
        old = self._header
        kek = kek_from(passphrase, kdf, old.vault_id)
        header = Header(
            old.format,
            old.vault_id,
            kdf,
            profile,
            Aead(kek).seal(self._vk_key, old.vk_ad(kdf)),
            old.created,
        )
        with storage.write_transaction(self._conn, self.path):
            self._conn.execute(
                "UPDATE header SET body = ?, checksum = ? WHERE id = 1",
                (header.body(), header.checksum()),
            )
        self._header = header
