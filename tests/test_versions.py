"""Every item's earlier versions (core/versions.py): each kind, locally; on a real `mysafe serve`
where a version made on one device is restored on another; the CLI never prints a secret of a
version unless asked for it by number."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_people import NAMES, Person

from conftest import FLOOR, PASSPHRASE
from mysafe_tui.core.models import ItemKind
from mysafe_tui.service import VaultService
from mysafe_tui.system.settings import Paths, Settings
from serverkit import RunningServer, start_server
from test_cli import Cli

EACH_KIND = [
    (
        ItemKind.PASSWORD,
        {"name": "Bank", "username": "me", "password": "old-pw"},
        {"password": "new-pw"},
        ["password"],
    ),
    (ItemKind.NOTE, {"name": "Runbook", "note": "step one"}, {"note": "step two"}, ["note"]),
    (
        ItemKind.API_SECRET,
        {"name": "Stripe", "url": "https://a.example", "client_id": "c", "client_secret": "old-s"},
        {"client_secret": "new-s", "url": "https://b.example"},
        ["url", "client_secret"],
    ),
]


@pytest.mark.parametrize(("kind", "made", "change", "changed"), EACH_KIND)
async def test_each_kind_keeps_and_restores_its_earlier_versions(
    tmp_path: Path, kind: ItemKind, made: dict[str, Any], change: dict[str, Any], changed: list[str]
) -> None:
    secret = changed[-1]
    service = VaultService(Paths(tmp_path, tmp_path), kdf_params=FLOOR)
    await service.create(PASSPHRASE)
    try:
        item = await service.create_item(kind, made)
        assert await service.versions(item.id) == []
        await service.update_item(item.id, change)
        await service.update_item(item.id, {"tags": "x"})
        await service.update_item(item.id, {"tags": "x"})  # nothing changed: no version
        found = await service.versions(item.id)
        assert [names for _, names in found] == [["tags"], changed]
        assert found[1][0].fields[secret] == made[secret]
        await service.restore_version(item.id, 2)
        assert (await service.reveal(item.id))[secret].reveal() == made[secret]
        assert len(await service.versions(item.id)) == 3  # the state it replaced, too
    finally:
        await service.close()


async def test_a_file_keeps_versions_too(tmp_path: Path) -> None:
    service = VaultService(Paths(tmp_path, tmp_path), kdf_params=FLOOR)
    await service.create(PASSPHRASE)
    try:
        path = tmp_path / "a.txt"
        path.write_text("content")
        attached = await service.attach_file(path, name="Report")
        await service.update_item(attached.id, {"name": "Report 2024"})
        found = await service.versions(attached.id)
        assert [(v.fields["name"], names) for v, names in found] == [("Report", ["name"])]
    finally:
        await service.close()


async def test_the_limit_in_settings_is_kept(tmp_path: Path) -> None:
    paths = Paths(tmp_path, tmp_path)
    service = VaultService(paths, Settings(versions_kept=2), kdf_params=FLOOR)
    await service.create(PASSPHRASE)
    try:
        item = await service.create_item(ItemKind.NOTE, {"name": "n", "note": "0"})
        for n in range(1, 5):
            await service.update_item(item.id, {"note": str(n)})
        found = await service.versions(item.id)
        assert [v.fields["note"] for v, _ in found] == ["3", "2"]
    finally:
        await service.close()


def test_the_cli_prints_a_versions_secrets_only_when_asked(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "home")
    cli.ok("init", "--kdf-profile", "low-memory")
    cli.ok("add", "password", "--name", "Git", "--username", "me", stdin="s3cret-one\n")
    cli.ok("edit", "Git", "--secret", "password", stdin="s3cret-two\n")
    listed = cli.ok("versions", "Git")
    assert "password changed" in listed and "s3cret" not in listed
    as_json = json.loads(cli.ok("versions", "Git", "--json"))
    assert as_json[0]["secret_fields"] == ["password"] and "s3cret" not in json.dumps(as_json)
    assert "password: s3cret-one" in cli.ok("versions", "Git", "--show", "1")
    assert json.loads(cli.ok("versions", "Git", "--show", "1", "--json"))["fields"]["password"] == (
        "s3cret-one"
    )
    assert "has 1 earlier version" in cli.fails("versions", "Git", "--show", "5")
    assert "has no version 7" in cli.fails("restore-version", "Git", "7")
    cli.ok("restore-version", "Git", "1")
    assert cli.ok("get", "Git").strip() == "s3cret-one"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("versions"))
    yield running
    running.stop()


async def test_a_version_made_on_one_device_is_restored_on_another(
    server: RunningServer, tmp_path: Path
) -> None:
    laptop = await Person(server, tmp_path / "laptop").start()
    desktop = await laptop.second_device(tmp_path / "desk")
    try:
        made = await laptop.service.create_item(
            ItemKind.PASSWORD, {"name": f"Vpn{next(NAMES)}", "username": "u", "password": "one"}
        )
        await laptop.service.update_item(made.id, {"password": "two"})
        there = await desktop.shared(made.name)
        found = await desktop.service.versions(there.id)
        assert [(v.fields["password"], names) for v, names in found] == [("one", ["password"])]
        await desktop.service.restore_version(there.id, 1)
        back = await laptop.shared(made.name)
        assert (await laptop.service.reveal(back.id))["password"].reveal() == "one"
        assert len(await laptop.service.versions(back.id)) == 2
    finally:
        for person in (laptop, desktop):
            await person.service.close()


def test_a_version_naming_a_field_mysafe_has_not_is_refused() -> None:
    """From a server or an import: field names are printed and restored, so only ours pass."""
    from mysafe_tui.core.errors import InvalidInput
    from mysafe_tui.core.versions import parse_versions

    good = json.dumps([{"at": 1, "by": "a@b", "fields": {"name": "x", "custom_fields": "[]"}}])
    assert parse_versions(good)[0].fields == {"name": "x", "custom_fields": "[]"}
    for name in ("\x1b[2J", "../x", "nickname"):
        bad = json.dumps([{"at": 1, "by": "a@b", "fields": {name: "v"}}])
        with pytest.raises(InvalidInput, match="not readable"):
            parse_versions(bad)
