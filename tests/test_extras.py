"""Custom fields, more URLs, password history and attachments, over a real vault."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conftest import FLOOR, PASSPHRASE
from mysafe_tui.core import errors
from mysafe_tui.core.extras import FieldType
from mysafe_tui.core.models import ItemKind
from mysafe_tui.service import VaultService
from mysafe_tui.system.settings import Paths

Run = Callable[..., Any]
PW = ItemKind.PASSWORD


def login(run: Run, service: VaultService, name: str = "Router", **values: Any) -> Any:
    return run(service.create_item(PW, {"name": name, "username": "admin", "password": "one",
                                         **values}))  # fmt: skip


def test_custom_fields_keep_order_and_type_and_only_visible_ones_are_searched(
    run: Run, service: VaultService
) -> None:
    item = login(run, service, custom_fields=[
        {"label": "Serial", "value": "SN-4242", "type": "text"},
        {"label": "PIN", "value": "needle-7391", "type": "hidden"},
        {"label": "Admin page", "value": "https://10.0.0.1", "type": "url"},
    ])  # fmt: skip
    found = run(service.extras(item.id)).fields
    assert [(f.label, f.value, f.type) for f in found] == [
        ("Serial", "SN-4242", FieldType.TEXT),
        ("PIN", "needle-7391", FieldType.HIDDEN),
        ("Admin page", "https://10.0.0.1", FieldType.URL),
    ]
    assert [s.name for s in run(service.search("sn-4242"))] == ["Router"]
    assert run(service.search("needle-7391")) == []  # hidden: never in search
    assert "needle" not in repr(run(service.get(item.id)))  # nor in the summary


def test_set_and_remove_a_field_and_a_bad_label_is_refused(run: Run, service: VaultService) -> None:
    item = login(run, service)
    run(service.set_field(item.id, "PIN", "1234", "hidden"))
    run(service.set_field(item.id, "pin", "5678"))  # same field: value changes, type stays
    (pin,) = run(service.extras(item.id)).fields
    assert (pin.label, pin.value, pin.type) == ("PIN", "5678", FieldType.HIDDEN)
    with pytest.raises(errors.InvalidInput, match="one line"):
        run(service.set_field(item.id, "bad\x1b[31mlabel", "x"))
    with pytest.raises(errors.InvalidInput, match="unknown field type"):
        run(service.set_field(item.id, "x", "y", "script"))
    run(service.remove_field(item.id, "PIN"))
    assert run(service.extras(item.id)).fields == ()
    with pytest.raises(errors.InvalidInput, match="no field"):
        run(service.remove_field(item.id, "PIN"))


def test_more_urls_are_kept_searched_and_listed_after_the_first(
    run: Run, service: VaultService
) -> None:
    item = login(
        run, service, url="https://a.example", urls=["https://b.example", "https://b.example", " "]
    )
    assert run(service.get(item.id)).urls == ("https://b.example",)
    assert [s.name for s in run(service.search("b.example"))] == ["Router"]
    assert run(service.get(item.id)).to_json()["urls"] == ["https://a.example", "https://b.example"]
    with pytest.raises(errors.InvalidInput, match="one line"):
        login(run, service, "x", urls=["https://c\nevil"])
    with pytest.raises(errors.InvalidInput, match="no field 'urls'"):
        run(service.create_item(ItemKind.NOTE, {"name": "n", "note": "x", "urls": ["https://x"]}))


def test_a_changed_password_goes_to_the_history_and_can_be_restored(
    run: Run, service: VaultService
) -> None:
    item = login(run, service)
    run(service.update_item(item.id, {"password": "two"}))
    run(service.update_item(item.id, {"password": "two"}))  # unchanged: no new entry
    run(service.update_item(item.id, {"username": "root"}))  # no password: no new entry
    run(service.update_item(item.id, {"password": "three"}))
    history = run(service.extras(item.id)).history
    assert [h.value for h in history] == ["two", "one"]  # newest first, with dates
    assert history[0].date >= history[1].date > 0
    run(service.restore_password(item.id, 1))  # "one" again
    assert run(service.reveal(item.id))["password"].reveal() == "one"
    assert [h.value for h in run(service.extras(item.id)).history] == ["three", "two"]
    with pytest.raises(errors.InvalidInput, match="2 old passwords"):
        run(service.restore_password(item.id, 5))


def test_the_history_keeps_as_many_as_the_setting_says(tmp_path: Path, run: Run) -> None:
    from mysafe_tui.system.settings import Settings

    svc = VaultService(Paths(tmp_path, tmp_path), kdf_params=FLOOR,
                       settings=Settings(password_history=3))  # fmt: skip
    run(svc.create(PASSPHRASE))
    try:
        item = login(run, svc)
        for n in range(10):
            run(svc.update_item(item.id, {"password": f"p{n}"}))
        assert [h.value for h in run(svc.extras(item.id)).history] == ["p8", "p7", "p6"]
    finally:
        run(svc.close())


def test_attachments_on_any_item_survive_edits_and_come_back_byte_for_byte(
    run: Run, service: VaultService, tmp_path: Path
) -> None:
    key = tmp_path / "id_ed25519"
    key.write_bytes(b"-----BEGIN OPENSSH PRIVATE KEY-----\n" + bytes(range(256)) * 600)
    note = run(service.create_item(ItemKind.NOTE, {"name": "Server", "note": "see key"}))
    added = run(service.add_attachment(note.id, key))
    assert (added.name, added.size) == ("id_ed25519", key.stat().st_size)
    run(service.update_item(note.id, {"note": "edited"}))  # an edit keeps the attachment
    out = tmp_path / "out"
    out.mkdir()
    saved = run(service.save_attachment(note.id, "ID_ED25519", out))
    assert saved == out / "id_ed25519" and saved.read_bytes() == key.read_bytes()
    assert saved.stat().st_mode & 0o777 == 0o600
    with pytest.raises(errors.MySafeError, match="exists"):
        run(service.save_attachment(note.id, "id_ed25519", out))
    run(service.remove_attachment(note.id, "id_ed25519"))
    assert run(service.extras(note.id)).attachments == ()
    vault = service._worker.vault  # the content is gone from the file too, not only the list
    assert vault._conn.execute("SELECT count(*) FROM chunks").fetchone()[0] == 0


def test_a_file_item_keeps_its_attachments_when_its_content_is_replaced(
    run: Run, service: VaultService, tmp_path: Path
) -> None:
    (tmp_path / "a.txt").write_text("first")
    (tmp_path / "sig.asc").write_text("signature")
    item = run(service.attach_file(tmp_path / "a.txt"))
    run(service.add_attachment(item.id, tmp_path / "sig.asc"))
    assert run(service.preview_file(item.id)) == "first"
    out = tmp_path / "out"
    out.mkdir()
    assert run(service.save_attachment(item.id, "sig.asc", out)).read_text() == "signature"
    assert run(service.save_file(item.id, out)).read_text() == "first"


def test_a_hostile_attachment_name_stays_in_its_folder(
    run: Run, service: VaultService, tmp_path: Path
) -> None:
    evil = tmp_path / "..\\..\\.bashrc\x1b]0;x\x07"
    evil.write_text("boom")
    item = login(run, service)
    added = run(service.add_attachment(item.id, evil))
    assert "/" not in added.name and "\x1b" not in added.name and not added.name.startswith(".")
    out = tmp_path / "out"
    out.mkdir()
    saved = run(service.save_attachment(item.id, added.name, out))
    assert saved.parent == out


def test_the_command_line_cannot_smuggle_structure_through_set(
    run: Run, service: VaultService
) -> None:
    item = login(run, service)
    with pytest.raises(errors.InvalidInput, match="mysafe field set"):
        run(service.update_item(item.id, {"custom_fields": "PIN=1"}))
    with pytest.raises(errors.InvalidInput, match="as passwords change"):
        run(service.update_item(item.id, {"password_history": "old"}))
    run(service.update_item(item.id, {"urls": "https://b.example https://c.example"}))
    assert run(service.get(item.id)).urls == ("https://b.example", "https://c.example")


def test_one_transaction_may_save_an_item_twice_and_keeps_its_attachments(
    run: Run, service: VaultService, tmp_path: Path
) -> None:
    """An import that updates the same item twice (two duplicates of it in one file)."""
    (tmp_path / "a.txt").write_text("kept")
    item = login(run, service)
    run(service.add_attachment(item.id, tmp_path / "a.txt"))
    vault = service._worker.vault
    fields = {"name": "Router", "username": "admin"}
    vault.save_batch([(PW, fields, {"password": "two"}, item.id),
                      (PW, fields, {"password": "three"}, item.id)])  # fmt: skip
    assert vault.reveal(item.id)["password"] == "three"
    assert [a.name for a in vault.attachments(item.id)] == ["a.txt"]


def test_extras_survive_a_passphrase_change_with_a_new_vault_key(
    run: Run, service: VaultService, tmp_path: Path
) -> None:
    (tmp_path / "k").write_bytes(b"key material")
    item = login(run, service, urls=["https://b.example"],
                 custom_fields=[{"label": "PIN", "value": "1", "type": "hidden"}])  # fmt: skip
    run(service.update_item(item.id, {"password": "two"}))
    run(service.add_attachment(item.id, tmp_path / "k"))
    run(service.rotate_key(PASSPHRASE))
    found = run(service.extras(item.id))
    assert [f.value for f in found.fields] == ["1"] and [h.value for h in found.history] == ["one"]
    out = tmp_path / "out"
    out.mkdir()
    assert run(service.save_attachment(item.id, "k", out)).read_bytes() == b"key material"
    assert run(service.get(item.id)).urls == ("https://b.example",)
