"""The vault as the offline cache of a real MySafe server: login, sync, writes, conflicts,
offline mode. Every test runs twice: against `mysafe serve` with the §4 extension and against
`mysafe serve --no-extension` (a plain senhasegura server: no revisions, no files)."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import FLOOR, PASSPHRASE, SERVER_MODES, start_in_mode
from mysafe_tui.core.errors import (
    AuthenticationError,
    EncryptedSecrets,
    InvalidInput,
    NotSupported,
    OfflineError,
    RemoteConflict,
)
from mysafe_tui.core.models import ItemKind, Secret
from mysafe_tui.remote.client import AccessKey, MySafeClient
from mysafe_tui.service import VaultService
from mysafe_tui.system.settings import Paths
from serverkit import CountingProxy, RunningServer, Switch

USERS = itertools.count()


@pytest.fixture(scope="module", params=SERVER_MODES)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    running = start_in_mode(request, tmp_path_factory)
    yield running
    running.stop()


@pytest.fixture
async def account(server: RunningServer) -> AsyncIterator[tuple[AccessKey, MySafeClient]]:
    """A fresh server user (so tests do not see each other's items) and a direct client."""
    client_id, secret = server.new_user(f"user{next(USERS)}")
    key = AccessKey(client_id, Secret(secret))
    async with MySafeClient(server.url, key) as client:
        yield key, client


@pytest.fixture
async def local(tmp_path: Path) -> AsyncIterator[tuple[VaultService, Switch]]:
    switch = Switch()
    service = VaultService(
        Paths(tmp_path / "home", tmp_path / "home"), kdf_params=FLOOR, transport=switch
    )
    await service.create(PASSPHRASE)
    yield service, switch
    await service.close()
    await switch.real.aclose()  # shared by the service's clients: none of them owns it


async def seed(client: MySafeClient, extension: bool) -> dict[str, str]:
    ids = {}
    ids["github"] = (
        await client.create_item(
            "password",
            {
                "name": "Github",
                "username": "dleite",
                "password": "gh-pass",
                "url": "https://github.com",
                "secret_key": "JBSWY3DPEHPK3PXP",
                "tags": "dev,git",
            },
        )
    )["identifier"]
    ids["wifi"] = (await client.create_item("note", {"name": "Wifi", "note": "pass: 123"}))[
        "identifier"
    ]
    ids["billing"] = (
        await client.create_item(
            "secretapi",
            {
                "name": "Billing",
                "url": "https://api.example",
                "client_id": "cid",
                "client_secret": "csecret",
                "identifier_code": "BILL",
            },
        )
    )["identifier"]
    if extension:

        async def content() -> AsyncIterator[bytes]:
            yield b"report body " * 10_000

        ids["report"] = (
            await client.upload_file(
                {"name": "Report", "file_name": "r.txt", "media_type": "text/plain"}, content()
            )
        )["identifier"]
    return ids


async def login(service: VaultService, server: RunningServer, key: AccessKey) -> Any:
    return await service.login(server.url, key.client_id, key.client_secret.reveal())


async def by_name(service: VaultService) -> dict[str, Any]:
    items = [*await service.search(""), *await service.search("", trash=True)]
    return {s.name: s for s in items}


async def test_full_then_incremental_sync(server: RunningServer, account: Any, local: Any) -> None:
    key, client = account
    service, _ = local
    extension = server.extension
    ids = await seed(client, extension)
    await service.create_item(ItemKind.NOTE, {"name": "Local diary", "note": "mine"})

    progress: list[tuple[int, int]] = []
    result = await service.login(
        server.url,
        key.client_id,
        key.client_secret.reveal(),
        progress=lambda d, t: progress.append((d, t)),
    )
    assert result.written == len(ids) and progress[-1] == (len(ids), len(ids))
    items = await by_name(service)
    assert set(items) == {"Github", "Wifi", "Billing", "Local diary"} | (
        {"Report"} if extension else set()
    )
    assert items["Local diary"].remote == ""
    assert (await service.reveal(items["Github"].id))["password"].reveal() == "gh-pass"
    assert (await service.reveal(items["Billing"].id))["client_secret"].reveal() == "csecret"
    assert items["Github"].tags == ("dev", "git") and items["Billing"].identifier_code == "BILL"
    assert (await service.totp(items["Github"].id)).code.isdigit()
    if extension:
        preview = await service.preview_file(items["Report"].id)
        assert preview is not None and preview.startswith("report body")

    # Changes made elsewhere arrive; untouched items are not rewritten.
    await client.update_item("password", ids["github"], {"password": "rotated"})
    await client.set_active("note", ids["wifi"], False)
    again = await service.sync()
    assert again.written >= 1 and again.unchanged >= 1
    items = await by_name(service)
    assert (await service.reveal(items["Github"].id))["password"].reveal() == "rotated"
    # Deactivated on the server: in the trash here, in both modes (a plain server no longer
    # lists it, and says "inactive" when asked), and restorable from here.
    assert items["Wifi"].active is False
    await service.restore(items["Wifi"].id)
    await service.sync()
    assert (await by_name(service))["Wifi"].active is True
    assert service.remote_status().state == "synced" and service.remote_status().last_sync


async def test_writes_go_to_the_server_first(
    server: RunningServer, account: Any, local: Any
) -> None:
    key, client = account
    service, _ = local
    await login(service, server, key)
    created = await service.create_item(
        ItemKind.PASSWORD, {"name": "Bank", "username": "me", "password": "b4nk!"}
    )
    assert created.remote.startswith("password:")
    remote_id = created.remote.split(":")[1]
    assert (await client.get_item("password", remote_id))["password"] == "b4nk!"

    updated = await service.update_item(created.id, {"password": "n3w", "url": "https://bank"})
    entity = await client.get_item("password", remote_id)
    assert (entity["password"], entity["url"]) == ("n3w", "https://bank")
    assert updated.remote != created.remote

    await service.deactivate(created.id)
    rows = await client.list_items("password", include_inactive=True)
    assert remote_id not in [r["identifier"] for r in rows if r.get("active", True)]
    await service.restore(created.id)
    assert (await client.get_item("password", remote_id))["password"] == "n3w"
    with pytest.raises(InvalidInput, match="only deactivated"):
        await service.purge(created.id)


async def test_an_ssh_key_goes_to_a_server_that_keeps_them_and_stays_here_otherwise(
    server: RunningServer, account: Any, local: Any, tmp_path: Path
) -> None:
    from mysafe_tui.core import sshkeys

    key, client = account
    service, _ = local
    await login(service, server, key)
    made = await service.add_ssh_key("deploy", sshkeys.generate(), comment="me@laptop")
    public = (await service.reveal(made.id))["public"].reveal()
    if not server.extension:  # a plain senhasegura has no place for one
        assert made.remote == ""  # never sent
        assert service.local_only() == []  # nothing for 'mysafe push --all-local' to send
        assert [(i.name, what) for i, what in await service.kept_here()] == [
            ("deploy", ["the SSH key"])
        ]
        with pytest.raises(NotSupported, match="keeps no SSH keys"):
            await service.push(made.id)
        await service.sync()
        assert [i.name for i in await service.search("", kind=ItemKind.SSH_KEY)] == ["deploy"]
        return
    assert made.remote.startswith("sshkey:") and await service.kept_here() == []
    remote_id = made.remote.split(":")[1]
    assert (await client.get_item("sshkey", remote_id))["public"] == public

    # Another device with the same access key: the key arrives, and its agent offers it.
    other = VaultService(Paths(tmp_path / "other", tmp_path / "other"), kdf_params=FLOOR)
    await other.create(PASSPHRASE)
    try:
        await login(other, server, key)
        (there,) = await other.search("", kind=ItemKind.SSH_KEY)
        assert (await other.reveal(there.id))["public"].reveal() == public
        assert [i.name for i in await other.ssh_identities()] == ["deploy"]
        # The server's word on what is shown of a key is not taken: worked out again here.
        await client.update_item("sshkey", remote_id, {"public": "ssh-ed25519 AAAAforged x"})
        await other.sync()
        assert (await other.reveal(there.id))["public"].reveal() == public
        # A copy with no readable key: the sync names it, the cached key stays.
        await client.update_item("sshkey", remote_id, {"private": "not a key"})
        result = await other.sync()
        assert result.unreadable == [
            "deploy (SSH key): that is not an SSH private key mysafe can read"
        ]
        assert (await other.reveal(there.id))["public"].reveal() == public
    finally:
        await other.close()

    # A signature by this device's agent is in the key's access history.
    await service.ssh_key_used(made.id)
    events = [e.event for e in await service.history(made.id)]
    assert events[0] == "signed" and "created" in events


async def test_conflicts_are_never_silently_overwritten(
    server: RunningServer, account: Any, local: Any
) -> None:
    key, client = account
    service, _ = local
    ids = await seed(client, False)
    await login(service, server, key)
    github = (await by_name(service))["Github"]
    await client.update_item("password", ids["github"], {"password": "theirs"})
    with pytest.raises(RemoteConflict) as conflict:
        await service.update_item(github.id, {"password": "mine"})
    assert conflict.value.current["password"] == "theirs"
    assert (await client.get_item("password", ids["github"]))["password"] == "theirs"
    assert (await service.reveal(github.id))["password"].reveal() == "gh-pass"  # cache intact
    await service.update_item(github.id, {"password": "mine"}, force=True)
    assert (await client.get_item("password", ids["github"]))["password"] == "mine"


async def test_offline_reads_work_and_writes_wait(
    server: RunningServer, account: Any, local: Any
) -> None:
    key, client = account
    service, switch = local
    await seed(client, False)
    await login(service, server, key)
    github = (await by_name(service))["Github"]
    switch.down = True
    with pytest.raises(OfflineError, match="working from the cache"):
        await service.sync()
    assert service.remote_status().state == "offline"
    assert (await service.reveal(github.id))["password"].reveal() == "gh-pass"
    assert [i.name for i in await service.search("git")] == ["Github"]
    assert (await service.update_item(github.id, {"password": "x"})).outbox
    assert (await service.create_item(ItemKind.NOTE, {"name": "n", "note": "b"})).outbox
    assert (await service.reveal(github.id))["password"].reveal() == "x"
    with pytest.raises(InvalidInput, match="changes waiting to be sent"):
        await service.share_with(github.id, ["bob"])
    with pytest.raises(OfflineError, match="sharing needs the server"):
        await service.share_with((await by_name(service))["Wifi"].id, ["bob"])
    switch.down = False
    assert (await service.sync()).sent == 2
    assert service.remote_status().state == "synced" and service.waiting() == []


async def test_bad_key_binds_nothing_and_logout_drops_the_cache(
    server: RunningServer, account: Any, local: Any
) -> None:
    key, client = account
    service, _ = local
    with pytest.raises(AuthenticationError):
        await service.login(server.url, key.client_id, "wrong secret")
    assert service.remote_status().bound is False
    with pytest.raises(InvalidInput, match="https"):
        await service.login("http://vault.example.com", key.client_id, "x")
    await seed(client, False)
    await service.create_item(ItemKind.NOTE, {"name": "Local", "note": "stays"})
    await login(service, server, key)
    assert len(await by_name(service)) == 4
    vault_bytes = b"".join(p.read_bytes() for p in service.paths.vault.parent.glob("*"))
    assert key.client_secret.reveal().encode() not in vault_bytes  # kept encrypted
    assert await service.logout() == 3
    assert set(await by_name(service)) == {"Local"} and not service.remote_status().bound


def test_cli_login_status_sync_edit(server: RunningServer, tmp_path: Path) -> None:
    user = f"cli{next(USERS)}"
    client_id, secret = server.new_user(user)
    http = server.client(user)
    item_id = http.post(
        "/api/mysafe/password", json={"name": "Router", "username": "admin", "password": "r0uter"}
    ).json()["password_entity"]["identifier"]
    home = tmp_path / "home"
    passfile = tmp_path / "pass"
    passfile.write_text(PASSPHRASE + "\n")
    env = {
        **os.environ,
        "MYSAFE_HOME": str(home),
        "MYSAFE_PASSPHRASE_FILE": str(passfile),
        "SENHASEGURA_URL": server.url,
        "SENHASEGURA_CLIENT_ID": client_id,
        "SENHASEGURA_CLIENT_SECRET": secret,
    }

    def mysafe(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "mysafe_tui", *args],
            env=env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
        )

    assert mysafe("init", "--kdf-profile", "low-memory").returncode == 0
    login = mysafe("login")
    assert login.returncode == 0 and f"Logged in to {server.url}" in login.stderr
    status = json.loads(mysafe("status", "--json").stdout)
    assert status["server"] == server.url and status["state"] in ("cached", "synced")
    nothing = mysafe("push", "--all-local")
    assert nothing.returncode == 0 and "Nothing to push" in nothing.stderr
    assert mysafe("push").returncode == 1
    assert mysafe("sync").returncode == 0
    http.put(f"/api/mysafe/password/update/{item_id}", json={"url": "https://theirs"})
    refused = mysafe("edit", "Router", "--set", "url=https://mine")
    assert refused.returncode == 1 and "changed on the server" in refused.stderr
    assert "--force" in refused.stderr
    forced = mysafe("edit", "Router", "--set", "url=https://mine", "--force")
    assert forced.returncode == 0, forced.stderr
    got = http.get(f"/api/mysafe/password/{item_id}").json()["password_entity"]
    assert (got["url"], got["password"]) == ("https://mine", "r0uter")
    http.close()
    env["SENHASEGURA_CLIENT_SECRET"] = "wrong"
    again = mysafe("logout")
    assert again.returncode == 0 and "Logged out" in again.stderr
    bad = mysafe("login")
    assert bad.returncode == 1 and "refused the access key" in bad.stderr
    assert "Traceback" not in bad.stderr and "wrong" not in bad.stderr


@pytest.mark.parametrize("choice", ["theirs", "both", "mine"])
async def test_conflict_choices(
    server: RunningServer, account: Any, local: Any, choice: str
) -> None:
    key, client = account
    service, _ = local
    ids = await seed(client, False)
    await login(service, server, key)
    github = (await by_name(service))["Github"]
    await client.update_item("password", ids["github"], {"password": "theirs", "url": "https://t"})
    with pytest.raises(RemoteConflict):
        await service.update_item(github.id, {"password": "mine"})
    shown = await service.resolve_conflict(github.id, {"password": "mine"}, choice)
    server_copy = await client.get_item("password", ids["github"])
    local_copy = (await service.reveal(shown.id))["password"].reveal()
    if choice == "mine":
        assert server_copy["password"] == local_copy == "mine"
    else:
        assert server_copy["password"] == local_copy == "theirs" and shown.url == "https://t"
    copies = [s for s in await by_name(service) if s.endswith("(my copy)")]
    if choice == "both":
        assert copies == ["Github (my copy)"]
        copy = (await by_name(service))["Github (my copy)"]
        assert (await service.reveal(copy.id))["password"].reveal() == "mine"
        names = [r["name"] for r in await client.list_items("password")]
        assert "Github (my copy)" in names
    else:
        assert copies == []


async def test_attached_files_go_to_a_server_that_has_files(
    server: RunningServer, account: Any, local: Any, tmp_path: Path
) -> None:
    key, client = account
    service, _ = local
    await login(service, server, key)
    source = tmp_path / "scan.pdf"
    source.write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    item = await service.attach_file(source, name="Scan")
    if server.extension:
        assert item.remote.startswith("file:")
        remote_id = item.remote.split(":")[1]
        back = b"".join([c async for c in client.download_file(remote_id)])
        assert back == source.read_bytes()
    else:  # a plain senhasegura server has no files: the file stays local, and says so
        assert item.remote == ""
    saved = await service.save_file(item.id, tmp_path / "out.pdf")
    assert saved.read_bytes() == source.read_bytes()


async def test_a_big_first_sync_uses_one_bulk_request(
    server: RunningServer, account: Any, local: Any
) -> None:
    key, client = account
    service, _ = local
    for n in range(60):
        await client.create_item("note", {"name": f"note {n:02}", "note": f"body {n}"})
    before = server.log().count("/mysafe-ext/entities/note")
    await login(service, server, key)
    items = await by_name(service)
    assert len(items) == 60
    assert (await service.reveal(items["note 42"].id))["note"].reveal() == "body 42"
    bulk_calls = server.log().count("/mysafe-ext/entities/note") - before
    assert bulk_calls == (1 if server.extension else 0)


async def test_a_sync_finishes_past_items_the_server_will_not_give(
    server: RunningServer, account: Any, local: Any
) -> None:
    """senhasegura documents HTTP 500 for some long notes, and rows whose access needs an
    approval: one such item must not stop the others, nor lose its cached copy."""
    key, client = account
    service, switch = local
    ids = await seed(client, server.extension)
    await login(service, server, key)
    await client.update_item("note", ids["wifi"], {"note": "pass: 456"})
    await client.update_item("password", ids["github"], {"password": "rotated"})
    await client.update_item("secretapi", ids["billing"], {"client_secret": "new-secret"})
    switch.failing.add(f"/note/{ids['wifi']}")
    switch.gated.add(ids["billing"])

    result = await service.sync()
    assert sorted(result.unreadable) == [
        "Billing (api secret): its access needs an approval in senhasegura first",
        "Wifi (note): " + result.unreadable[-1].split(": ", 1)[1],
    ]
    assert "Unexpected error" in result.unreadable[-1]
    items = await by_name(service)
    assert (await service.reveal(items["Github"].id))["password"].reveal() == "rotated"
    assert (await service.reveal(items["Wifi"].id))["note"].reveal() == "pass: 123"  # kept
    assert (await service.reveal(items["Billing"].id))["client_secret"].reveal() == "csecret"
    assert len(service.remote_status().unreadable) == 2  # for `mysafe status`, the top bar

    switch.failing.clear()
    switch.gated.clear()
    again = await service.sync()  # the next sync asks again
    assert again.unreadable == [] and service.remote_status().unreadable == ()
    items = await by_name(service)
    assert (await service.reveal(items["Wifi"].id))["note"].reveal() == "pass: 456"
    assert (await service.reveal(items["Billing"].id))["client_secret"].reveal() == "new-secret"


async def test_a_key_that_gets_encrypted_secrets_is_refused_with_the_setting_to_change(
    server: RunningServer, account: Any, local: Any
) -> None:
    """senhasegura's sensitive-data encryption sends an RSA ciphertext for the key's own
    application in place of each secret: caching it as the password would be wrong."""
    key, client = account
    service, switch = local
    await seed(client, server.extension)
    switch.encrypting = True
    with pytest.raises(EncryptedSecrets, match="encryption of sensitive data"):
        await login(service, server, key)
    assert not service.remote_status().bound  # not kept: it could never give a secret
    assert await by_name(service) == {}

    switch.encrypting = False
    await login(service, server, key)
    await client.update_item("password", (await by_name(service))["Github"].remote.split(":")[1],
                             {"password": "rotated"})  # fmt: skip
    switch.encrypting = True  # the key's option turned on later
    with pytest.raises(EncryptedSecrets):
        await service.sync()
    github = (await by_name(service))["Github"]
    assert (await service.reveal(github.id))["password"].reveal() == "gh-pass"  # kept


@pytest.mark.parametrize("how", ["option", "environment"])
async def test_login_and_sync_go_through_the_proxy_given_or_named_by_the_environment(
    server: RunningServer,
    account: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    how: str,
) -> None:
    key, client = account
    await seed(client, server.extension)
    proxy = CountingProxy()
    try:
        if how == "environment":
            monkeypatch.setenv("HTTP_PROXY", proxy.url)
        service = VaultService(Paths(tmp_path / "p", tmp_path / "p"), kdf_params=FLOOR)
        await service.create(PASSPHRASE)
        result = await service.login(
            server.url,
            key.client_id,
            key.client_secret.reveal(),
            proxy=proxy.url if how == "option" else None,
            timeout=30,
        )
        assert result.written >= 3
        token_and_lists = len(proxy.requests)
        assert any("/oauth2/token" in line for line in proxy.requests)
        assert all(line.split()[1].startswith(server.url) for line in proxy.requests)
        # Next session, without the variable: the binding remembers a proxy given at login;
        # one that came from the environment is the environment's business.
        await service.lock()
        monkeypatch.delenv("HTTP_PROXY", raising=False)
        await service.unlock(PASSPHRASE)
        await service.sync()
        assert (len(proxy.requests) > token_and_lists) is (how == "option")
        await service.close()
    finally:
        proxy.stop()


async def test_the_tenant_goes_with_the_token_request() -> None:
    seen: list[bytes] = []

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth2/token"):
            seen.append(request.content)
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        return httpx.Response(200, json={"response": {"status": 200}, "note_on_list": []})

    key = AccessKey("cid", Secret("csecret"))
    transport = httpx.MockTransport(answer)
    async with MySafeClient("https://10.0.0.5", key, tenant="acme", transport=transport) as c:
        assert await c.list_items("note") == []
    assert b"tenant=acme" in seen[0] and b"grant_type=client_credentials" in seen[0]


def test_a_proxy_password_is_never_taken_from_argv(tmp_path: Path) -> None:
    env = {**os.environ, "MYSAFE_HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "mysafe_tui", "login", "https://vault.example", "--client-id",
         "x", "--proxy", "http://bob:s3cret@proxy.corp:3128"],
        env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 2 and "HTTPS_PROXY" in done.stderr and "s3cret" not in done.stderr


async def test_items_made_before_login_can_be_pushed_to_the_server(
    server: RunningServer, account: Any, local: Any, tmp_path: Path
) -> None:
    key, client = account
    service, _ = local
    diary = await service.create_item(ItemKind.NOTE, {"name": "Diary", "note": "dear diary"})
    bank = await service.create_item(
        ItemKind.PASSWORD, {"name": "Bank", "username": "me", "password": "b4nk!"}
    )
    report = tmp_path / "report.txt"
    report.write_bytes(b"quarterly " * 20_000)
    attached = await service.attach_file(report)
    await login(service, server, key)
    assert {s.name for s in service.local_only()} == {"Diary", "Bank", "report.txt"}

    pushed = await service.push(bank.id)
    assert pushed.id == bank.id and pushed.remote.startswith("password:")
    remote_id = pushed.remote.split(":")[1]
    assert (await client.get_item("password", remote_id))["password"] == "b4nk!"
    with pytest.raises(InvalidInput, match="already on the server"):
        await service.push(bank.id)

    if server.extension:
        pushed_file = await service.push(attached.id)
        assert pushed_file.remote.startswith("file:")
        file_id = pushed_file.remote.split(":")[1]
        got = b"".join([c async for c in client.download_file(file_id)])
        assert got == report.read_bytes()
    else:
        with pytest.raises(NotSupported, match="keeps no files"):
            await service.push(attached.id)

    await service.push(diary.id)
    result = await service.sync()  # pushed items are the server's now: nothing duplicated
    names = sorted(s.name for s in (await by_name(service)).values())
    assert names == ["Bank", "Diary", "report.txt"] and result.removed == 0
    assert {s.name for s in service.local_only()} == (set() if server.extension else {"report.txt"})


async def test_custom_fields_urls_and_old_passwords_travel_or_stay_here(
    server: RunningServer, account: Any, local: Any, tmp_path: Path
) -> None:
    """`mysafe serve` carries them to another device; a plain server has no place for them:
    they stay in this cache through edits and syncs, said on the item, never dropped and
    never smuggled into another field."""
    key, client = account
    service, _ = local
    extension = server.extension
    await login(service, server, key)
    item = await service.create_item(ItemKind.PASSWORD, {
        "name": "Router", "username": "admin", "password": "one", "url": "https://a.example",
        "urls": ["https://b.example"],
        "custom_fields": [{"label": "PIN", "value": "4321", "type": "hidden"}],
    })  # fmt: skip
    await service.update_item(item.id, {"password": "two"})
    (tmp_path / "key.pem").write_text("key")
    await service.add_attachment(item.id, tmp_path / "key.pem")
    remote_id = item.remote.split(":")[1]
    on_server = await client.get_item("password", remote_id)
    assert on_server["password"] == "two" and on_server["notes"] in ("", None)
    assert "4321" not in json.dumps(on_server) or extension  # only where it has a place

    await client.update_item("password", remote_id, {"username": "root"})  # changed elsewhere
    await service.sync()
    here = (await by_name(service))["Router"]
    assert here.username == "root" and here.urls == ("https://b.example",)
    found = await service.extras(here.id)
    assert [f.value for f in found.fields] == ["4321"]
    assert [h.value for h in found.history] == ["one"]
    assert [a.name for a in found.attachments] == ["key.pem"]  # attachments: this device only
    assert found.kept_locally(service.server_keeps_extras()) == (
        ["attachments"] if extension else
        ["custom fields", "more URLs", "password history", "attachments"]
    )  # fmt: skip
    assert [(i.name, what[-1]) for i, what in await service.kept_here()] == [
        ("Router", "attachments")
    ]

    other_home = tmp_path / "other"
    other = VaultService(Paths(other_home, other_home), kdf_params=FLOOR)
    await other.create(PASSPHRASE)
    try:
        await login(other, server, key)
        there = (await by_name(other))["Router"]
        found = await other.extras(there.id)
        if extension:  # the other device has them all but the attachment
            assert there.urls == ("https://b.example",)
            assert [(f.label, f.value) for f in found.fields] == [("PIN", "4321")]
            assert [h.value for h in found.history] == ["one"]
        else:
            assert there.urls == () and not found.fields and not found.history
        assert found.attachments == ()
    finally:
        await other.close()
