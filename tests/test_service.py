"""VaultService over a real vault: search ranking, CRUD, trash, TOTP, files, passphrases."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conftest import FLOOR, PASSPHRASE
from mysafe_tui.core import errors
from mysafe_tui.core.models import ItemKind, Secret
from mysafe_tui.service import VaultService
from mysafe_tui.system.settings import Paths
from mysafe_tui.vault.vault import Vault

Run = Callable[..., Any]
PW = ItemKind.PASSWORD


def add(run: Run, service: VaultService, name: str, **values: Any) -> Any:
    values.setdefault("username", "alice")
    values.setdefault("password", "pw")
    return run(service.create_item(PW, {"name": name, **values}))


def names(items: list[Any]) -> list[str]:
    return [item.name for item in items]


def test_search_ranks_name_prefix_then_name_then_other_fields(
    run: Run, service: VaultService
) -> None:
    add(run, service, "Zeta mail", url="https://git.example")  # 'git' only in the URL
    add(run, service, "My github")  # 'git' inside the name
    add(run, service, "gitlab")  # name starts with 'git'
    add(run, service, "Gi-t fuzzy thing")  # only the letters in order: not a plain match
    add(run, service, "Unrelated")
    assert names(run(service.search("git"))) == ["gitlab", "My github", "Zeta mail"]


def test_fuzzy_matches_when_nothing_matches_plainly(run: Run, service: VaultService) -> None:
    add(run, service, "github enterprise")
    add(run, service, "gitlab")
    add(run, service, "Unrelated")
    assert names(run(service.search("ghent"))) == ["github enterprise"]
    assert names(run(service.search("gtlb"))) == ["gitlab"]
    assert run(service.search("qqq")) == []


def test_prefix_matches_rank_favourites_first_whatever_the_case(
    run: Run, service: VaultService
) -> None:
    add(run, service, "barn")
    bank = add(run, service, "BANK of Straße")  # uppercase and ß: compared casefolded
    add(run, service, "Abacus", url="https://bazaar.example")  # 'ba' inside the name
    add(run, service, "Zoo", username="bazooka")  # 'ba' only in the username
    run(service.toggle_favourite(bank.id))
    assert names(run(service.search("BA"))) == ["BANK of Straße", "barn", "Abacus", "Zoo"]
    assert names(run(service.search("strasse"))) == ["BANK of Straße"]


def test_search_sees_names_usernames_urls_tags_and_file_names_only(
    run: Run, service: VaultService, tmp_path: Path
) -> None:
    item = add(run, service, "Router", tags="home,net")
    source = tmp_path / "Scan-2024.PDF"
    source.write_bytes(b"%PDF")
    run(service.attach_file(source, name="Tax papers"))
    assert names(run(service.search("net"))) == ["Router"]  # a tag
    assert names(run(service.search("scan-2024"))) == ["Tax papers"]  # a file name
    stamp = str(int(item.created))[:5]  # timestamps, flags and kinds are not text to find
    for hidden in (stamp, "password", "application/pdf"):
        assert run(service.search(hidden)) == [], hidden


def test_favourites_come_first_and_can_be_filtered(run: Run, service: VaultService) -> None:
    add(run, service, "alpha")
    beta = add(run, service, "beta")
    run(service.toggle_favourite(beta.id))
    assert names(run(service.search())) == ["beta", "alpha"]
    assert names(run(service.search(favourites_only=True))) == ["beta"]


def test_multi_word_query_matches_words_anywhere(run: Run, service: VaultService) -> None:
    add(run, service, "prod database", username="dba", tags="ops")
    add(run, service, "staging database", tags="ops")
    assert names(run(service.search("database prod"))) == ["prod database"]


def test_real_words_that_no_item_combines_find_nothing_but_typos_still_do(
    run: Run, service: VaultService
) -> None:
    add(run, service, "github personal")
    add(run, service, "prod database")
    assert run(service.search("github prod")) == []  # both words exist, never together
    add(run, service, "gitlab personal")
    assert names(run(service.search("github persnl"))) == ["github personal"]  # a typo
    assert names(run(service.search("persnl github"))) == ["github personal"]  # any order


def test_kind_filter_and_tags_are_searchable(run: Run, service: VaultService) -> None:
    add(run, service, "login", tags="work,vpn")
    run(service.create_item(ItemKind.NOTE, {"name": "vpn howto", "note": "steps"}))
    assert names(run(service.search("vpn"))) == ["vpn howto", "login"]
    assert names(run(service.search("vpn", kind=ItemKind.NOTE))) == ["vpn howto"]


def test_reveal_returns_secrets_that_do_not_print(run: Run, service: VaultService) -> None:
    item = add(run, service, "bank", password="hunter2-very-secret")
    secrets = run(service.reveal(item.id))
    assert secrets["password"].reveal() == "hunter2-very-secret"
    for shown in (repr(secrets), str(secrets["password"]), f"{secrets['password']}"):
        assert "hunter2" not in shown
    assert isinstance(secrets["notes"], Secret) and secrets["notes"].reveal() == ""


def test_required_fields_and_unknown_fields_are_refused(run: Run, service: VaultService) -> None:
    with pytest.raises(errors.InvalidInput, match="needs password"):
        run(service.create_item(PW, {"name": "x", "username": "u"}))
    with pytest.raises(errors.InvalidInput, match="needs client_id, client_secret"):
        run(service.create_item(ItemKind.API_SECRET, {"name": "x", "url": "https://a"}))
    with pytest.raises(errors.InvalidInput, match="no field 'colour'"):
        run(service.create_item(ItemKind.NOTE, {"name": "x", "note": "n", "colour": "red"}))
    with pytest.raises(errors.InvalidInput, match="base32"):
        add(run, service, "x", secret_key="not a seed!")
    with pytest.raises(errors.InvalidInput, match="single line"):
        add(run, service, "two\nlines")
    assert run(service.search()) == []


def test_partial_update_keeps_other_fields(run: Run, service: VaultService) -> None:
    item = add(run, service, "github", url="https://github.com", password="old", tags="dev")
    updated = run(service.update_item(item.id, {"password": "new"}))
    assert (updated.version, updated.url, updated.tags) == (2, "https://github.com", ("dev",))
    assert run(service.reveal(item.id))["password"].reveal() == "new"


def test_trash_restore_and_purge(run: Run, service: VaultService) -> None:
    item = add(run, service, "old account")
    run(service.deactivate(item.id))
    assert run(service.search()) == []
    assert names(run(service.search(trash=True))) == ["old account"]
    with pytest.raises(errors.ItemNotFound):
        run(service.find("old account"))
    assert run(service.find("old account", trash=True)).id == item.id
    run(service.restore(item.id))
    assert names(run(service.search())) == ["old account"]
    run(service.purge(item.id))
    run(service.lock())
    run(service.unlock(PASSPHRASE))
    assert run(service.search()) == []
    assert run(service.search(trash=True)) == []


def test_find_by_name_id_and_ambiguity(run: Run, service: VaultService) -> None:
    a = add(run, service, "Github")
    assert run(service.find("github")).id == a.id
    assert run(service.find(a.id[:8])).id == a.id
    with pytest.raises(errors.ItemNotFound, match="did you mean Github"):
        run(service.find("githb"))
    add(run, service, "github")
    with pytest.raises(errors.AmbiguousName, match="matches 2 items"):
        run(service.find("GITHUB"))


def test_totp_code_from_an_item(run: Run, service: VaultService) -> None:
    seed = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # base32 of "12345678901234567890"
    item = add(run, service, "2fa", secret_key=seed)
    code = run(service.totp(item.id, at=59))
    assert (code.code, code.seconds_left) == ("287082", 1)
    plain = add(run, service, "no 2fa")
    with pytest.raises(errors.InvalidInput, match="no TOTP seed"):
        run(service.totp(plain.id))


def test_attach_and_save_a_file_with_progress(
    run: Run, service: VaultService, tmp_path: Path
) -> None:
    source = tmp_path / "report.pdf"
    source.write_bytes(bytes(range(256)) * 1000)
    seen: list[tuple[int, int]] = []
    item = run(service.attach_file(source, tags="docs", progress=lambda d, t: seen.append((d, t))))
    assert (item.kind, item.file_name, item.size, item.media_type) == (
        ItemKind.FILE, "report.pdf", 256000, "application/pdf",
    )  # fmt: skip
    assert seen[-1] == (256000, 256000)
    out = tmp_path / "out"
    out.mkdir()
    target = run(service.save_file(item.id, out))
    assert target == out / "report.pdf" and target.read_bytes() == source.read_bytes()
    assert target.stat().st_mode & 0o777 == 0o600
    with pytest.raises(errors.StorageError, match="already exists"):
        run(service.save_file(item.id, out))
    renamed = run(service.update_item(item.id, {"name": "Q3 report"}))  # content stays
    assert renamed.name == "Q3 report"
    run(service.save_file(item.id, target, overwrite=True))
    assert target.read_bytes() == source.read_bytes()


def test_missing_file_is_a_clear_error(run: Run, service: VaultService, tmp_path: Path) -> None:
    with pytest.raises(errors.InvalidInput, match="not a readable file"):
        run(service.attach_file(tmp_path / "nope.txt"))


def test_new_passphrase_rules(service: VaultService) -> None:
    with pytest.raises(errors.InvalidInput, match="differ"):
        service.check_new_passphrase("one long passphrase", "another long passphrase")
    with pytest.raises(errors.InvalidInput, match="weak"):
        service.check_new_passphrase("password1", "password1")
    assert service.check_new_passphrase(PASSPHRASE, PASSPHRASE).score >= 2


def test_lock_drops_access_until_unlocked(run: Run, service: VaultService) -> None:
    item = add(run, service, "x", password="pw-x")
    run(service.lock())
    assert not service.is_unlocked
    with pytest.raises(errors.VaultLocked):
        run(service.reveal(item.id))
    with pytest.raises(errors.WrongPassphrase):
        run(service.unlock("nope nope nope"))
    run(service.unlock(PASSPHRASE))
    assert run(service.reveal(item.id))["password"].reveal() == "pw-x"


def test_changes_from_another_process_are_picked_up(run: Run, service: VaultService) -> None:
    add(run, service, "mine")
    other = Vault.open(service.vault_path)
    other.unlock(PASSPHRASE)
    other.save_item(PW, {"name": "from the CLI", "username": "u"}, {"password": "p"})
    other.close()
    assert run(service.refresh()) is True
    assert names(run(service.search())) == ["from the CLI", "mine"]
    add(run, service, "after")  # writes stay consistent with the other writer's manifest
    assert len(run(service.search())) == 3


def test_results_on_screen_stay_put_while_the_vault_changes(
    run: Run, service: VaultService
) -> None:
    first = add(run, service, "alpha")
    add(run, service, "beta")
    shown = run(service.search())  # what a list is showing
    add(run, service, "aardvark")  # sorts first: would shift every row of a shared list
    run(service.deactivate(first.id))
    assert names(shown) == ["alpha", "beta"] and shown.position(first.id) == 0
    assert shown[0].active  # the summary as it was listed
    assert names(run(service.search())) == ["aardvark", "beta"]


def test_tab_counts_follow_writes(run: Run, service: VaultService) -> None:
    a = add(run, service, "a")
    add(run, service, "b")
    run(service.create_item(ItemKind.NOTE, {"name": "n", "note": "text"}))
    assert service.counts_now()[PW] == 2 and service.counts_now()[ItemKind.NOTE] == 1
    run(service.deactivate(a.id))
    assert service.counts_now()[PW] == 1
    run(service.restore(a.id))
    assert service.counts_now()[PW] == 2


def test_a_vault_checked_before_the_passphrase_still_unlocks_after_a_passwd(
    run: Run, service: VaultService
) -> None:
    add(run, service, "kept", password="pw-kept")
    run(service.lock())
    run(service.prepare())  # the unlock screen opens the file while the passphrase is typed
    other = Vault.open(service.vault_path)
    other.unlock(PASSPHRASE)
    other.change_passphrase(PASSPHRASE, "a different passphrase 42")
    other.close()
    with pytest.raises(errors.WrongPassphrase):
        run(service.unlock(PASSPHRASE))
    run(service.unlock("a different passphrase 42"))
    assert run(service.reveal(run(service.find("kept")).id))["password"].reveal() == "pw-kept"


def test_a_vault_file_replaced_after_the_check_is_opened_again(
    run: Run, service: VaultService, tmp_path: Path
) -> None:
    add(run, service, "old one")
    run(service.lock())
    run(service.prepare())
    replacement = Vault.create(tmp_path / "new.mysafe", PASSPHRASE, params=FLOOR)
    replacement.save_item(PW, {"name": "new one", "username": "u"}, {"password": "p"})
    replacement.close()
    (tmp_path / "new.mysafe").replace(service.vault_path)  # e.g. restored from a backup
    run(service.unlock(PASSPHRASE))
    assert names(run(service.search())) == ["new one"]


def test_a_damaged_vault_is_reported_before_the_passphrase(run: Run, service: VaultService) -> None:
    run(service.lock())
    data = bytearray(service.vault_path.read_bytes())
    data[200:4000] = bytes(3800)  # zero part of the first pages
    service.vault_path.write_bytes(bytes(data))
    with pytest.raises(errors.VaultError):
        run(service.prepare())


def test_service_without_a_vault_says_how_to_create_one(run: Run, tmp_path: Path) -> None:
    svc = VaultService(Paths(tmp_path, tmp_path), kdf_params=FLOOR)
    with pytest.raises(errors.VaultNotFound, match="mysafe init"):
        run(svc.search())
    with pytest.raises(errors.VaultNotFound):
        run(svc.unlock(PASSPHRASE))
    run(svc.close())


def test_generators_are_available_without_a_vault() -> None:
    password = VaultService.generate_password(32, symbols=False)
    assert len(password) == 32 and password.isalnum()
    assert not set(password) & set("Il1O0o")
    assert len(VaultService.generate_passphrase(6).split("-")) == 6


def test_refresh_patches_the_index_with_what_another_process_wrote(
    run: Run, service: VaultService, monkeypatch: pytest.MonkeyPatch
) -> None:
    alpha, beta = add(run, service, "alpha"), add(run, service, "beta")
    add(run, service, "delta")
    other = VaultService(service.paths, kdf_params=FLOOR)  # the CLI while the UI is open
    run(other.unlock(PASSPHRASE))
    run(other.update_item(alpha.id, {"name": "alpha two"}))
    run(other.purge(beta.id))
    add(run, other, "gamma")
    run(other.close())

    from mysafe_tui.vault.search import SearchIndex

    def refuse(*args: object) -> None:
        raise AssertionError("rebuilt the whole index for three changes")

    monkeypatch.setattr(SearchIndex, "of", refuse)
    assert run(service.refresh())
    assert names(run(service.search(""))) == ["alpha two", "delta", "gamma"]
    assert names(run(service.search("two"))) == ["alpha two"]
    assert not run(service.refresh())  # nothing new since


def test_a_refresh_cancelled_halfway_is_caught_up_by_the_next(
    run: Run, service: VaultService
) -> None:
    add(run, service, "alpha")
    other = VaultService(service.paths, kdf_params=FLOOR)
    run(other.unlock(PASSPHRASE))
    add(run, other, "gamma")
    run(other.close())
    store = service._worker  # the vault reloaded, then the refresh was cancelled (the UI's
    run(store.run(store.vault.refresh))  # watcher is an exclusive worker) before the index was
    assert run(service.refresh())
    assert names(run(service.search(""))) == ["alpha", "gamma"]


def test_a_passphrase_under_eight_characters_is_refused_whatever_its_rating(
    service: VaultService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The floor stands on its own: even an estimator that rated seven characters 'strong'
    would not let them through; --allow-weak (allow_weak) does, as it says."""
    from mysafe_tui.core.models import Strength

    monkeypatch.setattr(service, "estimate_strength", lambda _: Strength(4, 80.0, "strong", ()))
    with pytest.raises(errors.WeakPassphrase):
        service.check_new_passphrase("7-chars", "7-chars")
    assert service.check_new_passphrase("8-chars!", "8-chars!").score == 4
    assert service.check_new_passphrase("7-chars", "7-chars", allow_weak=True).score == 4


def test_a_pasted_ssh_key_is_kept_as_openssh_text_with_what_is_shown_of_it_worked_out(
    run: Run, service: VaultService
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    pem = (
        ed25519.Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    item = run(service.create_item(ItemKind.SSH_KEY, {"name": "deploy", "private": pem}))
    secret = {k: v.reveal() for k, v in run(service.reveal(item.id)).items()}
    assert secret["private"].startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    assert secret["key_type"] == "ssh-ed25519" and secret["fingerprint"].startswith("SHA256:")
    assert secret["agent"] == "yes" and secret["forwarding"] == "no"  # a new key's defaults
    assert [i.name for i in run(service.ssh_identities())] == ["deploy"]
    with pytest.raises(errors.InvalidInput, match="no field 'public'"):
        run(service.update_item(item.id, {"public": "ssh-ed25519 AAAA forged"}))
    with pytest.raises(errors.InvalidInput, match="yes or no"):
        run(service.update_item(item.id, {"agent": "maybe"}))
    with pytest.raises(errors.InvalidInput, match="comment must be a single line"):
        run(service.update_item(item.id, {"comment": "ops\n\x1b[2Jx"}))
    run(service.update_item(item.id, {"comment": "ops@ci"}))  # the key is not asked again
    assert run(service.reveal(item.id))["public"].reveal().endswith(" ops@ci")
    run(service.update_item(item.id, {"agent": "off"}))
    assert run(service.ssh_identities()) == []
    locked = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.BestAvailableEncryption(b"key pass"),
    )
    with pytest.raises(errors.InvalidInput, match="protected by a passphrase.*--import"):
        run(service.create_item(ItemKind.SSH_KEY, {"name": "x", "private": locked.decode()}))


def test_an_ssh_key_goes_out_to_bitwarden_and_comes_back_as_an_ssh_key(
    run: Run, service: VaultService, tmp_path: Path
) -> None:
    from mysafe_tui.core import sshkeys

    made = run(service.add_ssh_key("deploy", sshkeys.generate("ecdsa"), comment="me@host"))
    public = run(service.reveal(made.id))["public"].reveal()
    target = tmp_path / "bw.json"
    run(service.export("bitwarden", target))
    other = VaultService(Paths(tmp_path / "other", tmp_path / "other"), kdf_params=FLOOR)
    run(other.create(PASSPHRASE))
    try:
        found, report = run(other.read_import("bitwarden", target))
        run(other.import_items(found, report))
        [item] = run(other.search("", kind=ItemKind.SSH_KEY))
        secret = {k: v.reveal() for k, v in run(other.reveal(item.id)).items()}
        assert secret["public"].split()[:2] == public.split()[:2]
        assert secret["agent"] == "no"  # brought in: offered once its owner says so
        assert run(other.ssh_identities()) == []
    finally:
        run(other.close())
