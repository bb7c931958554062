"""Talking to the unlock agent (`mysafe unlock`): where its socket lives, and one request.

Standard library only, and little of it: `mysafe get` through an unlocked agent starts, asks
and exits in about the time Python itself takes to start (DESIGN.md §8).

The socket is in a folder only the user can enter (`$XDG_RUNTIME_DIR/mysafe`, else
`/tmp/mysafe-UID`), one per vault file. Both ends check the other's uid with SO_PEERCRED: a
folder's mode is a promise, the kernel's word on the peer is a fact. One connection carries
one request and one answer, each a line of JSON; a command run by the agent also gets the
caller's standard input, output and error (SCM_RIGHTS), so it writes to the caller's terminal
or pipe exactly as it would have itself.
"""

from __future__ import annotations

# The C module under `socket`: the same objects and calls, without the ~2 ms `socket.py`
# spends on enums and selectors at import.
import _socket as socket
import os
import stat
import struct
import time

from mysafe_tui.system.locations import data_dir, vault_name

TYPE_CHECKING = False  # importing typing costs ~3 ms: a tenth of `get` through the agent
if TYPE_CHECKING:
    import socket as stdsocket
    from typing import Any

PROTOCOL = 1
# The longest answer: the names of 100k items for completion, with room to spare.
MAX_MESSAGE = 64 << 20
# What the agent runs itself: commands that read the vault and print. The agent's key never
# leaves it for these.
AGENT_COMMANDS = frozenset(
    {"list", "ls", "search", "get", "show", "totp", "git-credential", "status", "info"}
)
# Of those, the ones that use a secret: they count as use for the agent's idle lock (a shell
# prompt or a status line running `mysafe status` every second keeps nothing unlocked).
SECRET_COMMANDS = frozenset({"get", "show", "totp", "git-credential"})
# Who may take the key and unlock in its own process: the UI, and the commands that write
# (the vault, a file in the caller's folder, the caller's clipboard or environment) or speak
# to a server for the caller. Any other asker is refused, and every handout is logged.
KEY_COMMANDS = frozenset(
    {"ui", "copy", "add", "attach", "save", "edit", "rm", "restore", "purge", "field", "url",
     "attachment", "old-passwords", "login", "push", "logout", "sync", "share", "shares",
     "revoke", "share-server", "share-with", "groups", "history", "run", "inject", "import",
     "export", "health", "ssh-key", "pam", "dsm", "versions", "restore-version"}
)  # fmt: skip
CONNECT_TRIES = 5  # a refused or reset connection is tried again (a few ms), then given up


class AgentUnavailable(Exception):
    """No agent can be used here (its folder is not private, no runtime folder)."""


def vault_file(profile: str) -> str:
    return os.path.join(data_dir(), vault_name(profile))


def runtime_dir() -> str:
    base = os.environ.get("XDG_RUNTIME_DIR")
    if base and os.path.isabs(base) and os.path.isdir(base):
        return os.path.join(base, "mysafe")
    return os.path.join(os.environ.get("TMPDIR") or "/tmp", f"mysafe-{os.getuid()}")


def private_dir(create: bool = False) -> str:
    """The agent's folder, checked: a real folder (not a link), ours, closed to others."""
    path = runtime_dir()
    if create:
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            pass
        except OSError as exc:
            raise AgentUnavailable(f"cannot make {path}: {exc.strerror}") from None
    try:
        st = os.lstat(path)
    except OSError:
        raise AgentUnavailable(f"{path} does not exist") from None

    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise AgentUnavailable(
            f"{path} is not a private folder of yours (mode 0700, owned by you); "
            "remove it and unlock again"
        )
    return path


def socket_path(vault: str, create: bool = False, role: str = "agent") -> str:
    """Where this vault's agent listens (or, `role` "ui", the open UI that answers the
    agent's questions)."""
    import zlib  # a name, not a secret: hashlib's OpenSSL costs ~2.5 ms at start

    real = os.path.realpath(vault)
    stem = os.path.basename(real).removesuffix(".mysafe")[:40]
    tag = zlib.crc32(os.fsencode(real))
    # The agent checks the vault path of every request: two vaults that meet on one name
    # (one in 2**32) only cannot both have an agent.
    return os.path.join(private_dir(create), f"{role}-{stem}-{tag:08x}.sock")


def ssh_socket_path(profile: str, create: bool = False) -> str:
    """Where the SSH agent of a profile listens (agent/ssh.py; `mysafe ssh-agent`)."""
    return os.path.join(private_dir(create), f"ssh-agent-{profile}.sock")


def ssh_pid_path(profile: str) -> str:
    return os.path.join(private_dir(), f"ssh-agent-{profile}.pid")


def tmux_pane(pid: int) -> tuple[str, str] | None:
    """(tmux server socket, pane) of the terminal process `pid` runs in, from its environment
    (a process of ours: the peer check said so); None outside tmux."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as handle:
            words = handle.read(1 << 20).split(b"\0")
    except OSError:
        return None
    env = dict(w.decode(errors="replace").split("=", 1) for w in words if b"=" in w)
    server, pane = env.get("TMUX", "").split(",")[0], env.get("TMUX_PANE", "")
    return (server, pane) if server and pane else None


def popup_in_tmux(
    pid: int, argv: list[str], env: dict[str, str], height: int, timeout: float
) -> int | None:
    """Run `argv` in a tmux popup over the pane of process `pid`, with `env` handed to it
    through tmux (never through the command line its shell reads); the popup's exit status, or
    None when `pid` is not in tmux or tmux could not show it."""
    import shlex
    import subprocess

    where = tmux_pane(pid)
    if where is None:
        return None
    server, pane = where
    settings = [word for name, value in env.items() for word in ("-e", f"{name}={value}")]
    popup = ["display-popup", "-t", pane, "-E", "-w", "72", "-h", str(height), *settings]
    command = " ".join(shlex.quote(word) for word in argv)
    try:
        done = subprocess.run(
            ["tmux", "-S", server, *popup, command],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=timeout,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.returncode


def listen(path: str) -> stdsocket.socket:
    """A listening socket, 0600 from its first moment; a stale one (nobody behind it) is
    replaced, a live one is not (OSError)."""
    import socket as stdsocket  # the full module: `accept` (the callers import it anyway)

    sock = stdsocket.socket(stdsocket.AF_UNIX, stdsocket.SOCK_STREAM)
    if os.path.exists(path):
        try:
            sock.connect(path)
        except OSError:
            os.unlink(path)  # nobody listens: a crashed agent's leftover
            sock.close()
            sock = stdsocket.socket(stdsocket.AF_UNIX, stdsocket.SOCK_STREAM)
        else:
            sock.close()
            raise OSError(f"another process already listens on {path}")
    old = os.umask(0o177)
    try:
        sock.bind(path)
    finally:
        os.umask(old)
    sock.listen(16)
    return sock


def peer_uid(sock: socket.socket) -> tuple[int, int]:
    """(pid, uid) of the process at the other end, as the kernel knows it."""
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    pid, uid, _gid = struct.unpack("3i", creds)
    return pid, uid


def connect(vault: str, timeout: float | None = 5.0, role: str = "agent") -> socket.socket | None:
    """A connection to this vault's agent (or its open UI), or None: none runs, or not one
    of ours."""
    try:
        path = socket_path(vault, role=role)
    except AgentUnavailable:
        return None
    for attempt in range(CONNECT_TRIES):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(path)
        except (ConnectionRefusedError, BlockingIOError, InterruptedError):
            # No agent, or one whose queue is full for a moment: a few ms more, then none.
            sock.close()
            if attempt + 1 < CONNECT_TRIES and os.path.exists(path):
                time.sleep(0.002 * 2**attempt)
                continue
            return None
        except OSError:
            sock.close()
            return None
        try:
            if peer_uid(sock)[1] == os.getuid():
                return sock
        except OSError:
            pass
        sock.close()
        return None
    return None


def encode(message: dict[str, Any]) -> bytes:
    """One line of JSON. A request of plain words (a command line of printable ASCII, the
    usual case) is written here, without importing `json` (and `re` with it: ~2 ms of a
    `get` through the agent); anything else by `json`."""
    words = [w for key, value in message.items() if (w := _word(key, value)) is not None]
    if len(words) < len(message):
        import json

        return json.dumps(message, separators=(",", ":")).encode() + b"\n"
    return ("{" + ",".join(words) + "}\n").encode()


def _word(key: str, value: Any) -> str | None:
    """`"key":value` when both need no escaping (a word, a whole number, a list of words)."""
    if not _plain(key):
        return None
    if isinstance(value, str) and _plain(value):
        return f'"{key}":"{value}"'
    if isinstance(value, int) and not isinstance(value, bool):
        return f'"{key}":{value}'
    if isinstance(value, list) and all(isinstance(v, str) and _plain(v) for v in value):
        return f'"{key}":[' + ",".join(f'"{v}"' for v in value) + "]"
    return None


def _plain(text: str) -> bool:
    """Written between quotes as it is: printable ASCII with nothing JSON escapes."""
    return text.isascii() and text.isprintable() and '"' not in text and "\\" not in text


def decode(line: bytes) -> Any:
    """A line of JSON; the agent's two short answers to a command it runs are read without
    importing `json`. ValueError if it is not JSON."""
    if line == b'{"accepted":true}':
        return {"accepted": True}
    if line.startswith(b'{"rc":') and line.endswith(b"}") and line[6:-1].isdigit():
        return {"rc": int(line[6:-1])}
    import json

    return json.loads(line)


def send(sock: socket.socket, message: dict[str, Any], fds: list[int] | None = None) -> None:
    data = encode(message)
    if fds:
        rights = struct.pack(f"{len(fds)}i", *fds)
        sent = sock.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, rights)])
        if sent < len(data):  # only what did not fit: sending nothing to an agent that has
            sock.sendall(data[sent:])  # already answered and closed would fail (EPIPE)
    else:
        sock.sendall(data)


def receive(sock: socket.socket, pending: bytearray | None = None) -> dict[str, Any] | None:
    """One line of JSON, or None when the other end closed or sent nonsense. Where more than
    one line may come, pass the same `pending` to each call: it keeps what followed a line."""
    buffer = pending if pending is not None else bytearray()
    while b"\n" not in buffer:
        if len(buffer) > MAX_MESSAGE:
            return None
        try:
            chunk = sock.recv(65536)
        except OSError:
            return None
        if not chunk:
            return None
        buffer += chunk
    end = buffer.index(b"\n")
    line = bytes(buffer[:end])
    del buffer[: end + 1]
    try:
        message = decode(line)
    except ValueError:
        return None
    return message if isinstance(message, dict) else None


def ask(vault: str, op: str, timeout: float | None = 5.0, **fields: Any) -> dict[str, Any] | None:
    """One request to this vault's agent and its answer; None when there is no agent."""
    sock = connect(vault, timeout)
    if sock is None:
        return None
    try:
        send(sock, {"v": PROTOCOL, "op": op, "vault": os.path.realpath(vault), **fields})
        return receive(sock)
    except OSError:
        return None
    finally:
        sock.close()


def command_line(argv: list[str]) -> tuple[str | None, str, bool]:
    """(command, profile, plain) as `mysafe ARGV` would read them, without argparse: the
    first word that is not an option or a global option's value, and `--profile`'s value.
    `plain` is False when the line asks for the full parser (help, `--`, a rollback
    accepted); what the parser makes of it is checked again by whoever runs the command."""
    profile, command, words = "default", None, iter(argv)
    for word in words:
        if word in ("-h", "--help", "--accept-rollback", "--"):
            return command, profile, False
        if word == "--profile":
            profile = next(words, profile)
        elif word.startswith("--profile="):
            profile = word.split("=", 1)[1]
        elif word == "--passphrase-file":
            next(words, None)
        elif command is None and not word.startswith("-"):
            command = word
    return command, profile, True


def command_of(argv: list[str]) -> tuple[str | None, str]:
    """(command, profile): the command None unless the agent may run this line."""
    command, profile, plain = command_line(argv)
    # A copy happens where the person is (their clipboard, their terminal), not in the agent.
    plain = plain and "--copy" not in argv
    return (command if plain and command in AGENT_COMMANDS else None), profile


def run_in_agent(argv: list[str]) -> int | None:
    """Have an unlocked agent run `mysafe ARGV` with this process's standard streams; its
    exit code, or None when the caller must run the command itself."""
    command, profile = command_of(argv)
    if command is None:
        return None
    vault = vault_file(profile)
    sock = connect(vault, timeout=15.0)
    if sock is None:
        try:
            path = socket_path(vault)
        except AgentUnavailable:
            return None
        if os.path.exists(path):  # an agent's socket, and nobody answers on it
            os.write(2, b"mysafe: the unlock agent does not answer; unlocking here\n")
        return None
    # A terminal is not handed over as input: an agent left reading it (its caller gone)
    # would take what the person types next. No command the agent runs reads a terminal.
    stdin = os.open(os.devnull, os.O_RDONLY) if os.isatty(0) else 0
    request = {"v": PROTOCOL, "op": "run", "vault": os.path.realpath(vault), "argv": argv}
    pending = bytearray()
    try:
        try:
            send(sock, request, [stdin, 1, 2])
            first = receive(sock, pending)
        except OSError:
            first = None
        if first is None:  # it may have begun: running it here too could say things twice
            os.write(2, b"mysafe: the unlock agent did not answer; run the command again\n")
            return 1
        if first != {"accepted": True}:  # the agent said no (busy, locking): run it here
            return None
        sock.settimeout(None)  # the command may write a lot to a slow reader
        answer = receive(sock, pending)
    finally:
        sock.close()
    if answer is None or not isinstance(answer.get("rc"), int):
        # It began, so running it again here could say things twice.
        os.write(2, b"mysafe: the agent stopped before the command finished\n")
        return 1
    return int(answer["rc"])


def print_names(argv: list[str]) -> int:
    """`mysafe __names [--profile P]`: the active items' names, one per line, for shell
    completion; from an unlocked agent only (a tab never asks for a passphrase). Names that a
    line cannot carry, or that hold control characters, are left out."""
    _command, profile = command_of(argv)
    answer = ask(vault_file(profile), "names", timeout=2.0)
    names = answer.get("names") if answer else None
    if isinstance(names, list):
        lines = [n for n in names if isinstance(n, str) and n.isprintable() and n.strip()]
        os.write(1, "".join(n + "\n" for n in lines).encode("utf-8", "replace"))
    return 0
