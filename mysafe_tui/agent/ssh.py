"""The SSH agent (`mysafe ssh-agent`): OpenSSH's agent protocol (draft-ietf-sshm-ssh-agent) on
a socket of its own, answered from the unlocked vault.

It is a small process that outlives locking: its socket stays where `SSH_AUTH_SOCK` and
`IdentityAgent` point, and each request is passed to the unlock agent (daemon.py), which holds
the vault and signs there; the private keys never come here. While the vault is locked (no
unlock agent) it lists no keys and signs nothing. Keys come from the vault only: requests to
add or remove keys, or to lock the agent with a password, fail as the protocol says.

`session-bind@openssh.com` (OpenSSH 8.9+) is checked and recorded per connection as
OpenSSH's own agent does: the host's signature of the session id verified with its host key,
at most 16 bindings, none after one made for a login, one session id never bound to two host
keys; a login signature must be for the session the connection was bound to last. A signature
asked for through a forwarded agent is passed on as such (the vault refuses it unless the key
allows forwarding), with the hosts the connection was bound to, for the log.

The vault's keys and their cryptography stay in the unlock agent; this process checks a
host's signature with its public key alone (core/sshkeys.py, loaded at the first binding).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import struct
import sys
import threading
from typing import Any

from mysafe_tui.agent import wire

# Messages (PROTOCOL.agent; draft-ietf-sshm-ssh-agent §5.1).
FAILURE = 5
SUCCESS = 6
REQUEST_IDENTITIES = 11
IDENTITIES_ANSWER = 12
SIGN_REQUEST = 13
SIGN_RESPONSE = 14
EXTENSION = 27
SESSION_BIND = b"session-bind@openssh.com"
MAX_SESSION_ID = 128  # OpenSSH's AGENT_MAX_SID_LEN
MAX_BINDINGS = 16  # and AGENT_MAX_SESSION_IDS
USERAUTH_REQUEST = 50  # SSH2_MSG_USERAUTH_REQUEST: what a login signs
MAX_MESSAGE = 256 * 1024  # OpenSSH's own agent refuses more
ASK_SECONDS = 90.0  # a signature waits this long for the unlock agent (its question: 75 s)
UNLOCK_SECONDS = 180  # how long the passphrase popup may stay open
# What `mysafe unlock` in the popup needs to find this vault and its agent's folder.
PASSED_TO_UNLOCK = ("MYSAFE_HOME", "XDG_RUNTIME_DIR", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "HOME")


class Malformed(Exception):
    """A message that does not parse: the connection is dropped."""


class Reader:
    """RFC 4251 fields, read from one message."""

    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def uint32(self) -> int:
        if self.at + 4 > len(self.data):
            raise Malformed("short message")
        (value,) = struct.unpack_from(">I", self.data, self.at)
        self.at += 4
        return int(value)

    def string(self) -> bytes:
        size = self.uint32()
        if self.at + size > len(self.data):
            raise Malformed("short string")
        value = self.data[self.at : self.at + size]
        self.at += size
        return value

    def boolean(self) -> bool:
        if self.at + 1 > len(self.data):
            raise Malformed("short message")
        self.at += 1
        return self.data[self.at - 1] != 0


def string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def message(kind: int, body: bytes = b"") -> bytes:
    return struct.pack(">IB", len(body) + 1, kind) + body


class Connection:
    """One client (an ssh, ssh-add, git) and what it bound itself to."""

    def __init__(self, relay: Relay, sock: socket.socket, pid: int) -> None:
        self.relay, self.sock, self.pid = relay, sock, pid
        self.forwarded = False
        self.hosts: list[str] = []
        self.bindings: list[tuple[bytes, bytes, bool]] = []  # (session id, host key, forwarded)

    def serve(self) -> None:
        while True:
            head = self._exactly(4)
            if head is None:
                return
            (size,) = struct.unpack(">I", head)
            if not 0 < size <= MAX_MESSAGE:
                return
            body = self._exactly(size)
            if body is None:
                return
            try:
                answer = self.answer(body[0], Reader(body[1:]))
            except Malformed:
                return
            self.sock.sendall(answer)

    def answer(self, kind: int, fields: Reader) -> bytes:
        if kind == REQUEST_IDENTITIES:
            keys = self.relay.ask("ssh-keys", self.pid)
            found = keys.get("keys") if keys else None
            rows = [row for row in found or () if isinstance(row, list) and len(row) == 2]
            body = struct.pack(">I", len(rows))
            for blob, comment in rows:
                body += string(bytes.fromhex(str(blob))) + string(str(comment).encode())
            return message(IDENTITIES_ANSWER, body)
        if kind == SIGN_REQUEST:
            blob, data, flags = fields.string(), fields.string(), fields.uint32()
            session = _login_session(data)
            if self.bindings and session is not None and session != self.bindings[-1][0]:
                return message(FAILURE)  # a login for a session this connection is not bound to
            answer = self.relay.ask(
                "ssh-sign",
                self.pid,
                blob=blob.hex(),
                data=data.hex(),
                flags=flags,
                client_pid=self.pid,
                forwarded=self.forwarded,
                hosts=self.hosts,
            )
            signature = answer.get("signature") if answer else None
            if not isinstance(signature, str):
                return message(FAILURE)
            return message(SIGN_RESPONSE, string(bytes.fromhex(signature)))
        if kind == EXTENSION and fields.string() == SESSION_BIND:
            return message(SUCCESS if self._bind(fields) else FAILURE)
        return message(FAILURE)  # adding, removing, locking: the vault holds the keys

    def _bind(self, fields: Reader) -> bool:
        """A `session-bind@openssh.com`, checked as OpenSSH's agent checks it."""
        host_key, session, signature = fields.string(), fields.string(), fields.string()
        forwarding = fields.boolean()
        if len(session) > MAX_SESSION_ID or len(self.bindings) >= MAX_BINDINGS:
            return False
        from mysafe_tui.core.sshkeys import verify

        if not verify(host_key, signature, session):
            return False
        for bound_session, bound_key, bound_forwarding in self.bindings:
            if not bound_forwarding:  # bound for a login: nothing more binds to it
                return False
            if bound_session == session:  # said again: the same host key only
                return bound_key == host_key
        self.bindings.append((session, host_key, forwarding))
        self.forwarded = self.forwarded or forwarding
        self.hosts.append(_fingerprint(host_key))
        return True

    def _exactly(self, size: int) -> bytes | None:
        data = bytearray()
        while len(data) < size:
            try:
                chunk = self.sock.recv(size - len(data))
            except OSError:
                return None
            if not chunk:
                return None
            data += chunk
        return bytes(data)


class Relay:
    """The listening socket, a thread per client."""

    def __init__(self, profile: str, unlock_prompt: bool = False) -> None:
        self.profile = profile
        self.vault = wire.vault_file(profile)
        self.unlock_prompt = unlock_prompt
        self.prompting = threading.Lock()  # one passphrase question at a time

    def ask(self, op: str, client: int, **fields: Any) -> dict[str, Any] | None:
        """The unlock agent's answer; None while the vault is locked (with `--unlock-prompt`
        and the asking program in tmux, `mysafe unlock` in a popup over its pane first)."""
        if self.unlock_prompt and wire.ask(self.vault, "status") is None:
            self._unlock_in_popup(client)
        return wire.ask(self.vault, op, timeout=ASK_SECONDS, **fields)

    def _unlock_in_popup(self, client: int) -> None:
        with self.prompting:  # a request that waited here finds the first one's unlock
            if wire.ask(self.vault, "status") is not None:
                return
            # The popup's shell has the tmux server's environment: ours is handed over, all
            # but a passphrase file (the popup is where the passphrase is typed).
            env = {k: v for k, v in os.environ.items() if k in PASSED_TO_UNLOCK}
            unlock = [sys.executable, "-m", "mysafe_tui", "--profile", self.profile, "unlock"]
            wire.popup_in_tmux(client, unlock, env, 8, UNLOCK_SECONDS)

    def run(self) -> None:
        path = wire.ssh_socket_path(self.profile, create=True)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)  # a stale one: the caller made sure none answers
            listener.bind(path)
        finally:
            os.umask(old)
        listener.listen(16)
        bound = os.stat(path).st_ino
        with open(wire.ssh_pid_path(self.profile), "w", encoding="ascii") as out:
            out.write(f"{os.getpid()}\n")
        print("ready", flush=True)
        try:
            while True:
                conn, _ = listener.accept()
                threading.Thread(target=self._handle, args=(conn,), daemon=True).start()
        finally:  # stopped (`mysafe ssh-agent -k`, SIGTERM): its socket goes with it
            try:
                if os.stat(path).st_ino == bound:
                    os.unlink(path)
                    os.unlink(wire.ssh_pid_path(self.profile))
            except OSError:
                pass

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            pid, uid = wire.peer_uid(conn)
            if uid != os.getuid():  # the folder is private; the kernel's word settles it
                return
            Connection(self, conn, pid).serve()


def _login_session(data: bytes) -> bytes | None:
    """The session id of a login's data to sign (RFC 4252 §7: session id, USERAUTH_REQUEST,
    user, "ssh-connection", a publickey method); None for anything else (git, ssh-keygen -Y)."""
    try:
        fields = Reader(data)
        session = fields.string()
        if fields.at >= len(data) or data[fields.at] != USERAUTH_REQUEST:
            return None
        fields.at += 1
        _user, service, method = fields.string(), fields.string(), fields.string()
    except Malformed:
        return None
    publickey = method in (b"publickey", b"publickey-hostbound-v00@openssh.com")
    return session if service == b"ssh-connection" and publickey else None


def _fingerprint(blob: bytes) -> str:
    import base64
    import hashlib

    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    return f"SHA256:{digest}"


def main() -> None:
    """`python -m mysafe_tui.agent.ssh PROFILE`, started by `mysafe ssh-agent`."""
    from mysafe_tui.system.process import harden

    harden()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # a closed terminal does not stop it
    try:
        Relay(sys.argv[1], unlock_prompt="--unlock-prompt" in sys.argv[2:]).run()
    except (wire.AgentUnavailable, OSError) as exc:
        print(f"error {exc}", flush=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
