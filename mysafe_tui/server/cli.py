"""`mysafe serve`: run the server, and manage its users, groups and access keys."""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from mysafe_tui.server.errors import ApiError
from mysafe_tui.server.keys import KeyLimits

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from mysafe_tui.server.app import ServerConfig
    from mysafe_tui.server.store import Store


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--port", type=int, default=8420, help="port (default 8420; 0: one the system picks)"
    )
    parser.add_argument(
        "--port-file",
        metavar="PATH",
        type=Path,
        help="once listening, write the port there (for --port 0: scripts and tests read it)",
    )
    parser.add_argument(
        "--data",
        metavar="DIR",
        help="data directory (default: $MYSAFE_SERVER_DATA or the user data directory)",
    )
    parser.add_argument(
        "--database",
        metavar="URL",
        default=os.environ.get("MYSAFE_DATABASE_URL", ""),
        help="a postgresql:// URL: several servers over one database (default: "
        "$MYSAFE_DATABASE_URL, else the SQLite file in the data directory). No password in it "
        "on the command line: ~/.pgpass, PGPASSWORD, or the URL in MYSAFE_DATABASE_URL",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="serve with N processes on this host (default 1; rate limits count per process)",
    )
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=60,
        metavar="N",
        help="public requests per minute per client address (default 60)",
    )
    parser.add_argument(
        "--max-file-mib",
        type=int,
        default=100,
        metavar="MIB",
        help="largest file or file share accepted (default 100)",
    )
    parser.add_argument(
        "--purge-interval",
        type=float,
        default=60,
        metavar="SECONDS",
        help="how often expired share content is deleted (default 60)",
    )
    parser.add_argument(
        "--history-days",
        type=int,
        default=365,
        metavar="DAYS",
        help="how long the access history of items and links is kept (default 365)",
    )
    parser.add_argument(
        "--trusted-proxy",
        action="append",
        default=[],
        metavar="CIDR",
        help="a reverse proxy whose X-Forwarded-For / X-Forwarded-Proto is believed (repeatable; "
        "default: none, so the rate limits count the real peer and a client cannot name itself)",
    )
    parser.add_argument(
        "--smtp",
        metavar="URL",
        default=os.environ.get("MYSAFE_SMTP_URL", ""),
        help="a mail relay for links sent to a recipient (share --to): smtp://[user@]host[:port] "
        "(STARTTLS required), smtps://... or smtp+plain://... (default: $MYSAFE_SMTP_URL; the "
        "password in $MYSAFE_SMTP_PASSWORD, never here)",
    )
    parser.add_argument(
        "--mail-from",
        metavar="ADDRESS",
        default=os.environ.get("MYSAFE_MAIL_FROM", ""),
        help="the sender of that mail (default: mysafe@ this host's name)",
    )
    parser.add_argument(
        "--public-url",
        metavar="URL",
        default=os.environ.get("MYSAFE_PUBLIC_URL", ""),
        help="the address people reach this server at (https://vault.example.com), named in "
        "its mail (default: the address each request was sent to)",
    )
    parser.add_argument(
        "--no-extension",
        action="store_true",
        help="serve only the senhasegura MySafe API (no files, shares, revisions)",
    )
    admin = parser.add_subparsers(dest="serve_command", metavar="ADMIN")
    user = admin.add_parser("user", help="server accounts").add_subparsers(
        dest="action", metavar="ACTION", required=True
    )
    user.add_parser("add", help="create a user").add_argument("name")
    user.add_parser("list", help="list users")
    key = admin.add_parser("key", help="access keys (client id and secret)").add_subparsers(
        dest="action", metavar="ACTION", required=True
    )
    p = key.add_parser(
        "create",
        help="new key for a user; the secret is shown once",
        description="A new access key for USER. Without limits it may do all USER may; each "
        "option narrows it (requests outside them are refused and counted: `key list`).",
    )
    p.add_argument("user")
    p.add_argument(
        "--allow-ip",
        action="append",
        default=[],
        metavar="CIDR",
        help="only from this address or block (repeat; default: any)",
    )
    p.add_argument(
        "--expires", default="", metavar="YYYY-MM-DD", help="usable through this day, then refused"
    )
    p.add_argument(
        "--items",
        action="append",
        default=[],
        metavar="TAG|ID",
        help="only items with this tag or id (repeat; default: full access)",
    )
    p.add_argument("--read-only", action="store_true", help="reads only: no writes")
    p.add_argument("--json", action="store_true", help="the key and its limits as JSON")
    key.add_parser("revoke", help="revoke a key; its tokens stop working").add_argument("client_id")
    key.add_parser(
        "list", help="list keys: limits, refusals, last use (never secrets)"
    ).add_argument("--json", action="store_true", help="as JSON")
    group = admin.add_parser("group", help="groups for groups_allowed").add_subparsers(
        dest="action", metavar="ACTION", required=True
    )
    p = group.add_parser("add", help="create a group or add members to it")
    p.add_argument("name")
    p.add_argument("members", nargs="*", metavar="USER")
    admin.add_parser(
        "migrate", help="bring the database's schema up to this version, then exit"
    ).set_defaults(action="")
    admin.add_parser(
        "rotate-key",
        help="a new server.key: every item re-sealed under it (stop every instance first)",
        description="Makes a new sealing key, re-seals every item's secret fields under it in "
        "one transaction, and renames the old key server.key.retired-<time> (it still opens "
        "backups made before). Stop every server over this database first; afterwards copy "
        "the new server.key to each one's data directory and start them.",
    ).set_defaults(action="")
    p = admin.add_parser(
        "migrate-data",
        help="copy a SQLite server's data into PostgreSQL, verified",
        description="Copies every table of a SQLite server (its files/ folder included) into "
        "an empty PostgreSQL database, then checks counts and hashes of both. The sealed "
        "secrets stay sealed: every server over the new database needs this data "
        "directory's server.key.",
    )
    p.add_argument(
        "--from",
        dest="source",
        required=True,
        metavar="sqlite:PATH",
        help="the SQLite server's data directory or its server.db",
    )
    p.add_argument(
        "--to",
        dest="target",
        default="",
        metavar="URL",
        help="PostgreSQL URL (default: --database, $MYSAFE_DATABASE_URL)",
    )
    p.set_defaults(action="")


def data_dir(args: argparse.Namespace) -> Path:
    if args.data:
        return Path(args.data).expanduser()
    if os.environ.get("MYSAFE_SERVER_DATA"):
        return Path(os.environ["MYSAFE_SERVER_DATA"]).expanduser()
    import platformdirs

    return platformdirs.user_data_path("mysafe") / "server"


def run(args: argparse.Namespace) -> int:
    try:
        from mysafe_tui.server.app import ServerConfig
        from mysafe_tui.server.database import DatabaseUnavailable, SchemaTooNew
    except ImportError as exc:
        print(
            f"mysafe serve: the server is not installed ({exc.name} is missing); install it "
            "with: pip install 'mysafe-tui[server]'",
            file=sys.stderr,
        )
        return 1
    if _password_in(args.database) and args.database != os.environ.get("MYSAFE_DATABASE_URL"):
        print(
            "mysafe serve: --database holds a password, which other users of this host can "
            "read in the process list: put it in ~/.pgpass or PGPASSWORD, or give the URL "
            "in MYSAFE_DATABASE_URL",
            file=sys.stderr,
        )
        return 2
    if args.smtp:
        from mysafe_tui.server.mailer import Relay

        try:
            Relay.parse(args.smtp, args.mail_from)
        except ValueError as exc:
            print(f"mysafe serve: {exc}", file=sys.stderr)
            return 2
    public = urlsplit(args.public_url)
    if args.public_url and (public.scheme not in ("http", "https") or not public.hostname):
        print("mysafe serve: --public-url takes an http:// or https:// URL", file=sys.stderr)
        return 2
    config = ServerConfig(
        data_dir(args),
        database=args.database,
        public_rate_per_minute=max(1, args.rate_limit),
        max_file_bytes=max(1, args.max_file_mib) * 1024 * 1024,
        purge_interval=max(0.1, args.purge_interval),
        history_days=max(1, args.history_days),
        extension=not args.no_extension,
        smtp=args.smtp,
        mail_from=args.mail_from,
        public_url=args.public_url.rstrip("/"),
    )
    try:
        return _dispatch(args, config)
    except (SchemaTooNew, DatabaseUnavailable) as exc:
        print(f"mysafe serve: {exc}", file=sys.stderr)
        return 1
    except ImportError as exc:  # psycopg, for a postgresql:// database
        print(f"mysafe serve: {exc}", file=sys.stderr)
        return 1


def _dispatch(args: argparse.Namespace, config: ServerConfig) -> int:
    from mysafe_tui.server.app import create_app, open_store

    if args.serve_command is None:
        try:
            proxies = [str(ipaddress.ip_network(cidr, strict=False)) for cidr in args.trusted_proxy]
        except ValueError as exc:
            print(f"mysafe serve: --trusted-proxy: {exc}", file=sys.stderr)
            return 2
        where = (args.host, args.port, args.port_file)
        if args.workers > 1:
            return _serve_workers(config, where, args.workers, proxies)
        return _serve(create_app(config), where, proxies)
    import logging

    # One sentence for a person at a prompt, not the pool's retry log (the server keeps it).
    logging.getLogger("psycopg.pool").setLevel(logging.CRITICAL)
    if args.serve_command == "rotate-key":
        from mysafe_tui.server.app import rotate_server_key

        count, retired = rotate_server_key(config)
        print(
            f"{count} item(s) re-sealed under a new {config.data_dir / 'server.key'}; the old "
            f"key is {retired} (it opens backups made before now: keep it with them, or "
            "delete it). Copy the new server.key (0600) to every other server over this "
            "database, then start them."
        )
        return 0
    if args.serve_command == "migrate-data":
        from mysafe_tui.server.migrate import copy_sqlite_to_postgres

        return copy_sqlite_to_postgres(args.source, args.target or args.database, config)
    store = open_store(config)
    try:
        return _admin(store, args)
    except ApiError as exc:
        print(f"mysafe serve: {exc.message.split(': ', 1)[-1]}", file=sys.stderr)
        return 1
    finally:
        store.close()


def _password_in(url: str) -> bool:

    return bool(url) and urlsplit(url).password is not None


def _admin(store: Store, args: argparse.Namespace) -> int:
    command = (args.serve_command, args.action)
    if command == ("migrate", ""):
        print("the database's schema is up to date")
    elif command == ("user", "add"):
        store.add_user(args.name)
        print(
            f"user {args.name} created; give them a key with: mysafe serve key create {args.name}"
        )
    elif command == ("user", "list"):
        for user in store.list_users():
            print(f"{user['name']}\t{user['keys']} active key(s)")
    elif command == ("key", "create"):
        try:
            limits = KeyLimits.parse(args.allow_ip, args.expires, args.items, args.read_only)
        except ValueError as exc:
            print(f"mysafe serve: {exc}", file=sys.stderr)
            return 2
        client_id, secret = store.create_key(args.user, limits)
        if args.json:
            body = {"client_id": client_id, "client_secret": secret, "user": args.user}
            print(json.dumps({**body, **limits.to_json()}))
            return 0
        print(
            f"client id:     {client_id}\nclient secret: {secret}\nlimits:        "
            f"{limits.describe()}\n"
            "The secret is shown only this once; the server keeps only its hash."
        )
    elif command == ("key", "revoke"):
        if not store.revoke_key(args.client_id):
            print(f"mysafe serve: no active key {args.client_id}", file=sys.stderr)
            return 1
        print(f"key {args.client_id} revoked")
    elif command == ("key", "list"):
        _list_keys(store.list_keys(), args.json)
    elif command == ("group", "add"):
        store.add_group(args.name, args.members)
        print(f"group {args.name}: {', '.join(args.members) or 'no members added'}")
    return 0


def _list_keys(keys: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        print(json.dumps([{**key, "limits": key["limits"].to_json()} for key in keys]))
        return
    for key in keys:
        state = "revoked" if key["revoked"] else "active"
        used = key["last_used_at"]
        last = time.strftime("%Y-%m-%d %H:%M", time.localtime(used)) if used else "never"
        print(
            f"{key['client_id']}\t{key['user']}\t{state}\t{key['limits'].describe()}\t"
            f"last used {last}\t{key['refused']} refused"
        )


Where = tuple[str, int, Path | None]  # host, port (0: any), where to say the port bound


def _serve_workers(config: ServerConfig, where: Where, workers: int, proxies: list[str]) -> int:
    """N worker processes (uvicorn's supervisor), each building the app from the config
    handed down in the environment; each runs its own purge and history flush."""
    import dataclasses

    from mysafe_tui.server.app import CONFIG_ENV, open_store

    open_store(config).close()  # migrations once, and a clear error before the workers
    fields = dataclasses.asdict(config)
    fields.pop("clock")
    fields["data_dir"] = str(config.data_dir)
    os.environ[CONFIG_ENV] = json.dumps(fields)
    return _serve("mysafe_tui.server.app:app_from_environment", where, proxies, workers)


def _serve(
    app: Starlette | str, where: Where, proxies: list[str], workers: int | None = None
) -> int:
    import logging

    import uvicorn

    host, port, port_file = where
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    config = uvicorn.Config(
        app,
        factory=isinstance(app, str),
        workers=workers,
        host=host,
        port=port,
        access_log=False,
        server_header=False,
        log_config=None,
        timeout_graceful_shutdown=10,
        # uvicorn believes X-Forwarded-For from 127.0.0.1 by default: every local client could
        # then pick its own address and walk past the rate limits.
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies or None,
    )
    try:
        sock = config.bind_socket()  # logs "running on http://HOST:PORT", the port bound
    except SystemExit:  # uvicorn exits when it cannot bind; it logged the reason
        print(f"mysafe serve: could not listen on {host}:{port}", file=sys.stderr)
        return 1
    if port_file is not None:
        from mysafe_tui.system.disk import write_atomic

        write_atomic(port_file, f"{sock.getsockname()[1]}\n".encode(), 0o600, True)
    if workers:  # uvicorn's supervisor: it starts and restarts the workers on that socket
        from uvicorn.supervisors import Multiprocess

        Multiprocess(config, sockets=[sock]).run()
        return 0
    server = uvicorn.Server(config)
    # uvicorn shuts down gracefully on SIGTERM/SIGINT, then re-raises the signal through the
    # handler that was installed before it: a no-op one lets the process end with status 0.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: None)
    try:
        server.run(sockets=[sock])
    except (OSError, SystemExit):
        print(f"mysafe serve: could not listen on {host}:{port}", file=sys.stderr)
        return 1
    if not server.started:
        return 1
    print("mysafe serve: stopped", file=sys.stderr)
    return 0
