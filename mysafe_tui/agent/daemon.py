"""The unlock agent's process (`mysafe unlock` starts it: cli/agent.py).

The agent is one process per vault that keeps it unlocked for later commands, as ssh-agent
keeps keys: `mysafe get` asks it instead of the passphrase. It holds the vault's key-encryption
key (what the passphrase derives; never the passphrase itself), and the vault unlocked with it.

- Commands that only read and print (`get`, `list`, `totp`, `git-credential`) run inside the
  agent, writing to the caller's own standard output (its file descriptors come over the
  socket), so they answer in about the time Python takes to start. Every other command asks the
  agent for the key and unlocks in its own process without the KDF; its writes are ordinary
  vault writes, which the agent and an open UI pick up as they pick up any other process's.
- The socket (agent/wire.py) is 0600 in a 0700 folder, and every connection's uid is
  checked with SO_PEERCRED: another user's process is refused and logged.
- It locks, meaning it drops its keys and exits, after its idle time and at an absolute
  maximum, on `mysafe lock`, on SIGTERM/SIGHUP/SIGINT, when the vault file is replaced or its
  passphrase changed (checked every second), and when the machine is about to sleep (logind's
  PrepareForSleep, where `gdbus` and a system bus exist). No core dumps, not ptrace-able.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

from mysafe_tui.cli.main import guarded
from mysafe_tui.cli.output import say

if TYPE_CHECKING:
    from mysafe_tui.core.sshkeys import Signer
    from mysafe_tui.service.api_ssh import Identity

CHECK_SECONDS = 1.0


class Agent:
    """The agent: a listening socket (a thread per connection) in front of an unlocked
    VaultService on one asyncio loop. Commands run one at a time."""

    def __init__(self, config: dict[str, Any]) -> None:
        from mysafe_tui.agent import wire as agent_wire
        from mysafe_tui.service import VaultService
        from mysafe_tui.system.settings import Paths, Settings

        self.paths = Paths.discover(config["profile"])
        self.vault = os.path.realpath(self.paths.vault)
        self.key = bytes.fromhex(config["key"])
        self.idle_seconds = int(config["timeout"])
        self.max_seconds = int(config["max"])
        self.sync_seconds = int(config.get("sync_every") or 0)
        self.service = VaultService(self.paths, Settings.load(self.paths.settings))
        self.service.accept_rollback = bool(config.get("accept_rollback"))
        self.started = self.used = _now()
        self.log_path = os.path.join(agent_wire.runtime_dir(), "agent.log")
        self.run_lock = threading.Lock()  # one command at a time: it owns sys.stdout
        self.ssh_keys: tuple[int, list[Identity]] | None = None  # (vault generation, keys)
        self.ssh_signers: dict[str, Signer] = {}  # by item id: keys read to sign, kept as
        # ssh-agent keeps its own until the agent locks (and this process ends)
        self.busy = asyncio.Lock()  # the service is not closed under a command
        from mysafe_tui.agent.pam_keys import LentKeys

        self.lent = LentKeys(self.service)  # PAM SSH keys held for a while
        self.stopped = asyncio.Event()
        self.reason = ""
        self.loop = asyncio.get_running_loop()
        from mysafe_tui.cli.parser import build_parser

        self.parser = build_parser()

    def log(self, message: str) -> None:
        """One line in the agent log (never a secret: reasons, uids and pids only)."""
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        fd = os.open(self.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with open(fd, "a", encoding="utf-8") as out:
            out.write(f"{stamp} agent {os.getpid()} {self.vault}: {message}\n")

    def stop(self, reason: str) -> None:
        if not self.stopped.is_set():
            self.reason = reason
            self.stopped.set()

    def left(self) -> dict[str, float]:
        now = _now()
        return {
            "idle_left": self.idle_seconds - (now - self.used),
            "max_left": self.max_seconds - (now - self.started),
        }

    async def serve(self, report: Any) -> None:
        from mysafe_tui.agent import wire as agent_wire
        from mysafe_tui.core.errors import MySafeError

        try:
            await self.service.unlock_with_key(self.key)
            path = agent_wire.socket_path(self.vault, create=True)
            listener = agent_wire.listen(path)
            bound = os.stat(path).st_ino
        except (MySafeError, agent_wire.AgentUnavailable, OSError) as exc:
            report({"error": str(exc)})
            await self.service.close()
            return
        for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            self.loop.add_signal_handler(signum, self.stop, f"signal {signum.name}")
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        watchers = [
            asyncio.create_task(self._watch()),
            asyncio.create_task(self._watch_sleep()),
            asyncio.create_task(self._sync_now_and_then()),
        ]
        self.log(f"unlocked (idle {self.idle_seconds} s, at most {self.max_seconds} s)")
        report({"ready": True, "pid": os.getpid(), **self.left()})
        await self.stopped.wait()
        for task in watchers:
            task.cancel()
        with contextlib.suppress(OSError):  # a newer agent's socket stays
            if os.stat(path).st_ino == bound:
                os.unlink(path)
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)  # wakes the thread waiting in accept()
        listener.close()
        async with self.busy:  # a command in flight finishes first
            await self.lent.give_back(self.log, everything=True)
            await self.service.close()
        self.log(f"locked: {self.reason}")

    async def _watch(self) -> None:
        from mysafe_tui.core.errors import MySafeError

        while True:
            await asyncio.sleep(CHECK_SECONDS)
            await self.lent.give_back(self.log)
            left = self.left()
            if left["idle_left"] <= 0:
                self.stop(f"unused for {self.idle_seconds} s")
            elif left["max_left"] <= 0:
                self.stop(f"unlocked for {self.max_seconds} s, the most allowed")
            else:
                try:
                    fine = await self.service.key_still_opens(self.key)
                except MySafeError:
                    fine = False
                if not fine:
                    self.stop("the vault file was replaced or its passphrase changed")

    async def _sync_now_and_then(self) -> None:
        """A vault bound to a server: sync every `sync_seconds`, so that what commands read
        through the agent is fresh (and what waits from offline goes out). Quiet when
        nothing changed; one log line when something did, or when it failed."""
        from mysafe_tui.core.errors import MySafeError

        if not self.sync_seconds:
            return
        while True:
            await asyncio.sleep(self.sync_seconds)
            async with self.busy:
                if not self.service.remote_status().bound:
                    continue
                try:
                    result = await self.service.sync()
                except MySafeError as exc:
                    self.log(f"sync failed: {type(exc).__name__}")
                    continue
            news = {"sent": result.sent, "updated": result.written, "removed": result.removed}
            if any(news.values()):
                self.log("synced: " + ", ".join(f"{n} {what}" for what, n in news.items() if n))

    async def _watch_sleep(self) -> None:
        """Lock when logind says the machine is about to sleep; nothing where it cannot."""
        import shutil

        gdbus = shutil.which("gdbus")
        if gdbus is None:
            return
        try:
            proc = await asyncio.create_subprocess_exec(
                gdbus,
                "monitor",
                "--system",
                "--dest",
                "org.freedesktop.login1",
                "--object-path",
                "/org/freedesktop/login1",
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        except OSError:
            return
        assert proc.stdout is not None
        try:
            async for line in proc.stdout:
                if b"PrepareForSleep" in line and b"true" in line:
                    self.stop("the machine is going to sleep")
        finally:
            if proc.returncode is None:
                proc.kill()
            await proc.wait()

    # --- connections (each in its own thread) -------------------------------------------------

    def _accept(self, listener: socket.socket) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        from mysafe_tui.agent import wire as agent_wire

        fds: list[int] = []
        with conn:
            pid, uid = agent_wire.peer_uid(conn)
            if uid != os.getuid():
                self.log(f"refused a connection from uid {uid} (pid {pid})")
                return
            conn.settimeout(10)
            try:
                request, fds = _receive_request(conn)
                if request is None:
                    return
                answer = self._answer(request, fds, conn, pid)
                if answer is not None:
                    agent_wire.send(conn, answer)
            except OSError:
                pass
            except Exception as exc:  # noqa: BLE001 - one request failed; the agent goes on
                # Its kind only: an exception's text may quote what it was handling.
                self.log(f"could not answer pid {pid}: {type(exc).__name__}")
            finally:
                for fd in fds:
                    os.close(fd)

    def _answer(
        self, request: dict[str, Any], fds: list[int], conn: socket.socket, pid: int
    ) -> dict[str, Any] | None:
        from mysafe_tui.agent import wire as agent_wire

        op = request.get("op")
        if request.get("v") != agent_wire.PROTOCOL or request.get("vault") != self.vault:
            return {"fallback": "another vault or protocol"}
        if op == "status":
            return {"unlocked": True, "pid": os.getpid(), "vault": self.vault, **self.left()}
        if op == "lock":
            self.loop.call_soon_threadsafe(self.stop, "mysafe lock")
            return {"locked": True}
        if self.stopped.is_set():
            return {"fallback": "locking"}
        if op == "key":  # logged: the one answer that outlives the agent (see security.md)
            command = str(request.get("command") or "")
            if command not in agent_wire.KEY_COMMANDS:
                self.log(
                    f"refused the key to pid {pid} ({_program(pid)}): {command!r} "
                    "is no command that writes"
                )
                return {"fallback": "the agent keeps its key from this command"}
            self.used = _now()
            self.log(f"gave the key to pid {pid} for {command} ({_program(pid)})")
            return {"key": self.key.hex()}
        if op == "names":
            return {"names": self._call(self._names())}
        if op == "ssh-keys":  # the SSH agent (agent/ssh.py) lists what it offers
            offered = [*self._call(self._ssh_keys()), *self.lent.identities()]
            return {"keys": [[i.blob.hex(), i.comment] for i in offered]}
        if op == "ssh-sign":
            return self._ssh_sign(request)
        if op == "pam-ssh-add":
            return self._lend(request, pid)
        if op == "run" and len(fds) == 3 and isinstance(request.get("argv"), list):
            argv = [str(word) for word in request["argv"]]
            runs = agent_wire.command_of(argv)[0]
            if runs is None:
                return {"fallback": "not a command the agent runs"}
            if runs in agent_wire.SECRET_COMMANDS:
                self.used = _now()
            if not self.run_lock.acquire(timeout=10):
                return {"fallback": "busy"}
            try:
                agent_wire.send(conn, {"accepted": True})
                conn.settimeout(None)
                return {"rc": self._run(argv, fds)}
            finally:
                self.run_lock.release()
        return {"fallback": "unknown request"}

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    async def _ssh_keys(self) -> list[Identity]:
        """The keys the SSH agent offers, worked out again only after the vault changed
        (public blobs and names: nothing secret is kept)."""
        async with self.busy:
            await self.service.refresh()
            generation = self.service.generation
            if self.ssh_keys is None or self.ssh_keys[0] != generation:
                self.ssh_signers.clear()  # a key may have changed with the vault
                self.ssh_keys = generation, await self.service.ssh_identities()
            return self.ssh_keys[1]

    def _ssh_sign(self, request: dict[str, Any]) -> dict[str, Any]:
        """A signature for the SSH agent, logged with the key, who asked and where to."""
        from mysafe_tui.core.errors import MySafeError

        client = int(request.get("client_pid") or 0)
        who = f"pid {client} ({_program(client)})"
        hosts = ", ".join(str(host) for host in request.get("hosts") or ())
        try:
            blob, data = bytes.fromhex(request["blob"]), bytes.fromhex(request["data"])
            flags = int(request.get("flags") or 0)
        except (KeyError, TypeError, ValueError):
            return {"refused": "a malformed request"}
        # The keys as last listed: ssh lists them before it asks for a signature.
        listed = self.ssh_keys[1] if self.ssh_keys else self._call(self._ssh_keys())
        listed = [*listed, *self.lent.identities()]
        found = [i for i in listed if i.blob == blob]
        if not found:
            return {"refused": "not a key this agent offers"}
        key = found[0]
        if request.get("forwarded") and not key.forwarding:
            self.log(f"refused to sign with '{key.name}' through a forwarded agent for {who}")
            return {"refused": "this key is not used through a forwarded agent"}
        if key.confirm:
            from mysafe_tui.agent import confirm

            question = f"SSH agent: sign with '{key.name}' for {_program(client)} (pid {client})?"
            said, where = confirm.ask(self.vault, question, client)
            answer = {True: "yes", False: "no", None: "no UI open, no tmux pane to ask in"}[said]
            self.log(f"asked before signing with '{key.name}' for {who}: {answer}{where}")
            if not said:
                return {"refused": f"not confirmed ({answer})"}
        try:
            signer = self.lent.signer(key.item_id) or self.ssh_signers.get(key.item_id)
            if signer is None:  # read once per key while the vault is as it was
                signer = self.ssh_signers[key.item_id] = self._call(
                    self.service.ssh_signer(key.item_id)
                )
            signature = signer.sign(data, flags)
        except MySafeError as exc:
            self.log(f"refused to sign with '{key.name}' for {who}: {exc}")
            return {"refused": str(exc)}
        self.used = _now()
        self.log(f"signed with '{key.name}' for {who}" + (f", host key {hosts}" if hosts else ""))
        self._tell_server(key)
        return {"signature": signature.hex()}

    def _lend(self, request: dict[str, Any], pid: int) -> dict[str, Any]:
        """`mysafe pam ssh-add`: a PAM key into the SSH agent for a while."""
        from mysafe_tui.core.errors import MySafeError

        try:
            lent = self._call(self.lent.add(request.get("key_id"), request.get("seconds")))
        except MySafeError as exc:
            return {"error": str(exc)}
        self.used = _now()
        left = round(lent.until - time.monotonic())
        self.log(f"lent PAM key {lent.key_id} to the SSH agent for {left} s, for pid {pid}")
        return {"name": lent.identity.name}

    def _tell_server(self, key: Identity) -> None:
        """A signature with a key kept on a server goes into its access history, after the
        answer (ssh never waits for the server); a failure is a line in the log."""

        async def tell() -> None:
            async with self.busy:
                await self.service.ssh_key_used(key.item_id)

        def told(future: Any) -> None:
            failed = None if future.cancelled() else future.exception()
            if failed is not None:
                why = type(failed).__name__
                self.log(f"the server did not record the use of '{key.name}': {why}")

        asyncio.run_coroutine_threadsafe(tell(), self.loop).add_done_callback(told)

    async def _names(self) -> list[str]:
        async with self.busy:
            await self.service.refresh()
            return [hit.name for hit in await self.service.search("")]

    def _run(self, argv: list[str], fds: list[int]) -> int:
        """`mysafe ARGV` as the caller would have run it, on the caller's streams."""

        streams = (
            open(fds[0], encoding="utf-8", closefd=False),  # noqa: SIM115 - closed below
            open(fds[1], "w", encoding="utf-8", closefd=False),  # noqa: SIM115
            open(fds[2], "w", encoding="utf-8", closefd=False),  # noqa: SIM115
        )
        saved = sys.stdin, sys.stdout, sys.stderr
        sys.stdin, sys.stdout, sys.stderr = streams
        try:
            try:
                args = self.parser.parse_args(argv)
            except SystemExit as exc:  # a usage error, already said on the caller's stderr
                return exc.code if isinstance(exc.code, int) else 2
            if args.profile != self.paths.profile:  # the line named the profile twice
                say("mysafe: this agent holds another profile's vault")
                return 1
            return int(self._call(guarded(self._command(args))))
        finally:
            sys.stdin, sys.stdout, sys.stderr = saved
            for stream in streams:
                # Flushes (the descriptors are the caller's to close); a reader that left
                # loses what it did not take, and nothing is kept for the next command.
                with contextlib.suppress(OSError):
                    stream.close()

    async def _command(self, args: argparse.Namespace) -> int:
        async with self.busy:
            # The file must be the one unlocked, and what another process wrote since is
            # judged as a fresh open would: an older copy put back locks the agent.
            if not await self.service.key_still_opens(self.key):
                self.stop("the vault file was replaced or its passphrase changed")
                say(
                    "mysafe: the vault file changed under the unlock agent, which locked; "
                    "run the command again"
                )
                return 1
            await self.service.refresh()
            if self.service.rollback:
                self.stop(f"an older copy of the vault was put back: {self.service.rollback}")
                say(f"mysafe: the unlock agent locked: {self.service.rollback}")
                return 1
            return int(await args.func(args, self.service))


def _program(pid: int) -> str:
    """What a process runs, for the log: its command line, shortened (never secrets: they
    are never on a command line)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            words = handle.read(4096).split(b"\0")
    except OSError:
        return "?"
    from mysafe_tui.core.sanitize import printable

    return printable(" ".join(w.decode(errors="replace") for w in words if w))[:120]


def _now() -> float:
    """Seconds on a clock that goes on while the machine sleeps (monotonic does not)."""
    return time.clock_gettime(time.CLOCK_BOOTTIME)


def _receive_request(conn: socket.socket) -> tuple[dict[str, Any] | None, list[int]]:
    """The request line and the descriptors that came with it (at most three)."""
    data, fds, _flags, _addr = socket.recv_fds(conn, 65536, 3)
    chunks, size = [data], len(data)
    while data and not data.endswith(b"\n") and size < 1 << 20:
        data = conn.recv(65536)
        chunks.append(data)
        size += len(data)
    try:
        request = json.loads(b"".join(chunks))
    except ValueError:
        return None, fds
    return (request if isinstance(request, dict) else None), fds


def main() -> None:
    """`python -m mysafe_tui.agent.daemon`: read the config line, unlock, answer `ready` (or
    `error`) on stdout, then serve until locked."""
    from mysafe_tui.system.process import harden

    harden()
    config = json.loads(sys.stdin.readline())
    devnull = os.open(os.devnull, os.O_RDWR)

    def report(answer: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
        for fd in (0, 1):  # the starter stops listening; nothing else is said here
            os.dup2(devnull, fd)

    async def run() -> None:
        from mysafe_tui.core.errors import MySafeError

        try:
            agent = Agent(config)
        except MySafeError as exc:  # unreadable settings, say
            report({"error": str(exc)})
            return
        await agent.serve(report)

    asyncio.run(run())
    os._exit(0)  # connection threads may still wait on a slow peer: they go with the process


if __name__ == "__main__":
    main()
