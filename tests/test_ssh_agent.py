"""SSH keys in the vault, served by `mysafe ssh-agent` to the real OpenSSH tools: `ssh-add`,
`ssh` into a private `sshd` on loopback (and a second hop through a forwarded agent),
`ssh-keygen -Y` and `git commit -S`. No key file is left on disk in any of them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from conftest import PASSPHRASE, wait_for_exit
from serverkit import start_server
from sshdkit import Sshd, have_openssh, running_sshd
from test_cli import Cli

# Real sshd, ssh and git: the full suite (CI) runs them; `-m "not slow"` skips.
pytestmark = pytest.mark.slow

if not (have_openssh() and shutil.which("ssh-add") and shutil.which("git")):
    if os.environ.get("CI"):
        raise RuntimeError("CI must install openssh-server, openssh-client and git (.ci/run)")
    pytest.skip("sshd, ssh, ssh-add or git is not installed", allow_module_level=True)


class Keys:
    """One test's vault of SSH keys, its unlock agent and its SSH agent."""

    def __init__(self, cli: Cli, folder: Path) -> None:
        self.cli, self.folder = cli, folder
        self.sock = ""
        self.pids: list[int] = []

    def generate(self, name: str, *options: str) -> str:
        """A new key in the vault; its public line."""
        return self.cli.ok("add", "ssh-key", "--name", name, "--generate", *options).strip()

    def start(self) -> None:
        """Unlock the vault, start the SSH agent."""
        self.cli.ok("unlock")
        started = json.loads(self.cli.ok("ssh-agent", "--json"))
        self.sock = started["SSH_AUTH_SOCK"]
        self.pids.append(int(started["SSH_AGENT_PID"]))
        status = json.loads(self.cli.ok("status", "--json"))
        self.pids.append(int(status["agent"]["pid"]))

    def env(self) -> dict[str, str]:
        return {**os.environ, "SSH_AUTH_SOCK": self.sock, "HOME": str(self.folder)}

    def run(self, *argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            argv,
            capture_output=True,
            text=True,
            env=self.env(),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            timeout=60,
        )

    def listed(self) -> list[str]:
        done = self.run("ssh-add", "-L")
        return done.stdout.splitlines() if done.returncode == 0 else []

    def log(self) -> str:
        path = Path(os.environ["XDG_RUNTIME_DIR"]) / "mysafe" / "agent.log"
        return path.read_text() if path.exists() else ""


@pytest.fixture
def keys(tmp_path: Path) -> Iterator[Keys]:
    cli = Cli(tmp_path / "home")
    cli.ok("init", "--kdf-profile", "low-memory")
    k = Keys(cli, tmp_path)
    yield k
    cli("ssh-agent", "-k")
    cli("lock")
    left = wait_for_exit(k.pids)
    assert not left, f"agents still running: {left}"


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[Sshd]:
    with running_sshd(tmp_path / "sshd") as server:
        yield server


def test_ssh_add_lists_exactly_the_keys_set_for_the_agent_and_none_when_locked(
    keys: Keys, tmp_path: Path
) -> None:
    deploy = keys.generate("deploy", "--comment", "deploy@ci")
    hidden = keys.generate("offline", "--type", "ecdsa", "--no-agent")
    # A passphrase-protected RSA key made by ssh-keygen, brought in, then deleted.
    key_file = tmp_path / "id_rsa"
    subprocess.run(
        [
            "ssh-keygen",
            "-q",
            "-t",
            "rsa",
            "-b",
            "2048",
            "-N",
            "pass phrase",
            "-C",
            "old@laptop",
            "-f",
            str(key_file),
        ],
        check=True,
    )
    (tmp_path / "key-pass").write_text("pass phrase\n")
    imported = keys.cli.ok(
        "add",
        "ssh-key",
        "--name",
        "laptop",
        "--import",
        str(key_file),
        "--key-passphrase-file",
        str(tmp_path / "key-pass"),
    ).strip()
    wanted = (tmp_path / "id_rsa.pub").read_text().split()
    assert imported.split() == wanted  # the same key, with the file's own comment
    fingerprint = subprocess.run(
        ["ssh-keygen", "-lf", f"{key_file}.pub"], capture_output=True, text=True, check=True
    ).stdout.split()[1]
    key_file.unlink()
    assert keys.cli.ok("get", "laptop", "--field", "fingerprint").strip() == fingerprint

    keys.start()
    assert keys.listed() == [deploy, imported]  # oldest first; the --no-agent one left out
    assert hidden not in keys.listed()
    keys.cli.ok("ssh-key", "deploy", "--agent", "no")
    assert keys.listed() == [imported]

    keys.cli.ok("lock")
    done = keys.run("ssh-add", "-L")
    assert done.returncode == 1 and "no identities" in done.stdout  # the socket stays, empty
    assert keys.run("ssh-add", str(tmp_path / "home")).returncode != 0  # nothing added here


def test_ssh_logs_in_with_a_vault_key_and_not_after_lock(keys: Keys, sshd: Sshd) -> None:
    public = keys.generate("prod")
    sshd.authorized.write_text(public + "\n")
    keys.start()
    login = sshd.ssh(
        "-o",
        f"IdentityAgent={keys.sock}",
        "-o",
        "IdentitiesOnly=no",
        "-o",
        "IdentityFile=/nonexistent",
    )
    done = keys.run(*login, "echo", "in")
    assert done.returncode == 0 and done.stdout == "in\n", done.stderr
    assert "signed with 'prod' for pid" in keys.log() and "host key SHA256:" in keys.log()

    keys.cli.ok("lock")
    refused = keys.run(*login, "echo", "in")
    assert refused.returncode == 255 and "Permission denied" in refused.stderr


def test_a_forwarded_agent_signs_only_with_a_key_that_allows_it(keys: Keys, sshd: Sshd) -> None:
    keys.generate("hop")
    keys.start()
    hop = keys.cli.ok("ssh-key", "hop").strip()
    sshd.authorized.write_text(hop + "\n")
    inner = " ".join(sshd.ssh("-o", "IdentitiesOnly=no", "-o", "IdentityFile=/nonexistent"))
    outer = sshd.ssh("-A", "-o", f"IdentityAgent={keys.sock}", "-o", "IdentityFile=/nonexistent")
    # The first hop is this machine's own ssh: allowed. The second asks through the agent
    # forwarded to the first host: refused for a key without forwarding.
    done = keys.run(*outer, f"{inner} echo second")
    assert done.returncode != 0 and "second" not in done.stdout
    assert "refused to sign with 'hop' through a forwarded agent" in keys.log()

    keys.cli.ok("ssh-key", "hop", "--forwarding", "yes")
    done = keys.run(*outer, f"{inner} echo second")
    assert done.returncode == 0 and done.stdout == "second\n", done.stderr


def test_git_signs_a_commit_through_the_agent_and_verifies_it(keys: Keys, tmp_path: Path) -> None:
    public = keys.generate("git signing")
    keys.start()
    signers = tmp_path / "allowed_signers"
    signers.write_text(
        keys.cli.ok("ssh-key", "git signing", "--allowed-signers", "dev@example.org")
    )
    repo = tmp_path / "repo"
    repo.mkdir()
    git = [
        "git",
        "-c",
        "user.name=Dev",
        "-c",
        "user.email=dev@example.org",
        "-c",
        "gpg.format=ssh",
        "-c",
        f"user.signingkey=key::{public}",
        "-c",
        f"gpg.ssh.allowedSignersFile={signers}",
    ]
    assert keys.run("git", "init", "-q", cwd=repo).returncode == 0
    signed = keys.run(*git, "commit", "-q", "--allow-empty", "-S", "-m", "signed", cwd=repo)
    assert signed.returncode == 0, signed.stderr
    verified = keys.run(*git, "verify-commit", "HEAD", cwd=repo)
    assert verified.returncode == 0, verified.stderr
    assert 'Good "git" signature for dev@example.org' in verified.stderr
    assert "signed with 'git signing' for pid" in keys.log()
    assert not list(tmp_path.rglob("*.pem")) and not list(tmp_path.rglob("id_*"))


def test_a_key_on_a_server_signs_here_and_the_signature_is_in_its_history(
    keys: Keys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = start_server(tmp_path / "server", users=("dev",))
    try:
        client_id, secret = server.keys["dev"]
        monkeypatch.setenv("SENHASEGURA_URL", server.url)
        monkeypatch.setenv("SENHASEGURA_CLIENT_ID", client_id)
        monkeypatch.setenv("SENHASEGURA_CLIENT_SECRET", secret)
        keys.cli.ok("login")
        public = keys.generate("deploy")
        with server.client("dev") as http:
            (row,) = http.get("/api/mysafe-ext/sshkey").json()["sshkey_on_list"]
            history = f"/api/mysafe-ext/history/sshkey/{row['identifier']}"
            assert "signed" not in [e["event"] for e in http.get(history).json()["history"]]
            keys.start()
            (tmp_path / "key.pub").write_text(public + "\n")
            (tmp_path / "msg").write_text("to sign\n")
            sign = keys.run(
                "ssh-keygen", "-Y", "sign", "-f", str(tmp_path / "key.pub"), "-n", "git",
                str(tmp_path / "msg"),
            )  # fmt: skip
            assert sign.returncode == 0, sign.stderr
            deadline = time.monotonic() + 30  # sent after ssh-keygen has its signature
            while "signed" not in [e["event"] for e in http.get(history).json()["history"]]:
                assert time.monotonic() < deadline, keys.log()
                time.sleep(0.1)
    finally:
        server.stop()


def test_a_pam_key_lent_to_the_agent_logs_in_and_goes_at_its_time(
    keys: Keys, sshd: Sshd, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`mysafe pam ssh-add ID --for 2s`: a senhasegura PAM key (from the A2A stand-in) in the
    SSH agent, memory only: ssh logs in with it, then it goes and its custody is given back."""
    from a2akit import CLIENT_ID, CLIENT_SECRET, A2AState, RunningA2A

    from mysafe_tui.core import sshkeys

    private = sshkeys.generate()
    public = sshkeys.describe(private).public
    state = A2AState()
    state.keys["14694"] = {"id": "14694", "username": "deploy", "key_name": "fleet",
                           "hostname": "web-1", "ip": "10.0.0.5", "private_key": private,
                           "public_key": public, "password": None, "tags": ["fleet"],
                           "devices": [], "expiration_time": None}  # fmt: skip
    a2a = RunningA2A(state)
    try:
        monkeypatch.setenv("SENHASEGURA_CLIENT_ID", CLIENT_ID)
        monkeypatch.setenv("SENHASEGURA_CLIENT_SECRET", CLIENT_SECRET)
        keys.cli.ok("login", a2a.url, "--a2a")
        keys.cli.fails("pam", "ssh-add", "14694")  # no unlock agent yet: said, nothing taken
        assert state.taken == {}
        sshd.authorized.write_text(public + "\n")
        keys.start()
        lent = keys.cli("pam", "ssh-add", "14694", "--for", "2s")
        assert lent.returncode == 0 and "PAM deploy@web-1" in lent.stderr, lent.stderr
        assert state.taken == {"14694": 1}
        login = sshd.ssh("-o", f"IdentityAgent={keys.sock}", "-o", "IdentitiesOnly=no",
                         "-o", "IdentityFile=/nonexistent")  # fmt: skip
        done = keys.run(*login, "echo", "in")
        assert done.returncode == 0 and done.stdout == "in\n", done.stderr
        until_true(lambda: state.released["14694"] == 1)  # its time is up: given back
        assert keys.listed() == []
        refused = keys.run(*login, "echo", "in")
        assert refused.returncode == 255 and "Permission denied" in refused.stderr
        assert "lent PAM key 14694 to the SSH agent for 2 s" in keys.log()
    finally:
        a2a.stop()


def test_another_user_can_neither_list_nor_sign(keys: Keys) -> None:
    if os.getuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to act as a second user")
    keys.generate("mine")
    keys.start()
    other = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "ssh-add", "-L"],
        capture_output=True,
        text=True,
        env=keys.env(),
        timeout=30,
    )
    assert other.returncode == 2 and "Error connecting to agent" in other.stderr
    assert len(keys.listed()) == 1


def waiting_for_keys(needle: bytes) -> bool:
    """Whether a process whose command line holds `needle` waits for typing now."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if needle in (entry / "cmdline").read_bytes():
                    wchan = (entry / "wchan").read_text()
                    return any(w in wchan for w in ("select", "poll", "wait_woken", "tty_read"))
            except OSError:
                continue
    return False


def waiting_confirm() -> bool:
    """Whether the popup's question (agent/confirm.py) waits for its key now."""
    return waiting_for_keys(b"mysafe_tui.agent.confirm")


class AttachedTmux:
    """A tmux server of the test's own with a terminal attached (`script`): popups show on
    it, and what is written here is typed on it."""

    def __init__(self, env: dict[str, str]) -> None:
        self.server = ["tmux", "-L", f"mysafe-ssh-{uuid.uuid4().hex[:8]}"]
        env = {k: v for k, v in env.items() if not k.startswith("TMUX")}
        size = ["-x", "100", "-y", "30"]
        subprocess.run([*self.server, "new-session", "-d", "-s", "s", *size], env=env, check=True)
        attach = f"{' '.join(self.server)} attach -t s"
        self.client = subprocess.Popen(
            ["script", "-qfc", attach, "/dev/null"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        listed = [*self.server, "list-clients"]
        until_true(lambda: subprocess.run(listed, capture_output=True, text=True).stdout.strip())

    def run(self, line: str) -> None:
        subprocess.run([*self.server, "send-keys", "-t", "s", line, "Enter"], check=True)

    def answer(self, text: str, waiting: Callable[[], bool]) -> None:
        """Type `text` once `waiting()` says the popup waits for it; again until it took it
        (tmux may route keys that come as a popup opens to the pane beneath)."""
        assert self.client.stdin is not None
        until_true(waiting)
        while waiting():
            self.client.stdin.write(text.encode())
            self.client.stdin.flush()
            until_true(lambda: not waiting(), timeout=1, fail=False)

    def close(self) -> None:
        assert self.client.stdin is not None
        self.client.stdin.close()
        self.client.terminate()
        self.client.wait(timeout=10)
        subprocess.run([*self.server, "kill-server"], capture_output=True)


def test_a_key_that_asks_first_signs_only_when_the_tmux_popup_says_yes(
    keys: Keys, tmp_path: Path
) -> None:
    if not (shutil.which("tmux") and shutil.which("script")):
        pytest.skip("needs tmux and script (a terminal attached to tmux)")
    public = keys.generate("asks")
    keys.cli.ok("ssh-key", "asks", "--confirm", "yes")
    keys.start()
    (tmp_path / "asks.pub").write_text(public + "\n")
    (tmp_path / "msg").write_text("to sign\n")
    sign = f"ssh-keygen -Y sign -f {tmp_path / 'asks.pub'} -n git {tmp_path / 'msg'}"
    terminal = AttachedTmux(keys.env())
    try:
        for answer, signed in (("y", True), ("n", False)):
            done = tmp_path / f"rc-{answer}"
            (tmp_path / "msg.sig").unlink(missing_ok=True)
            terminal.run(f"SSH_AUTH_SOCK={keys.sock} {sign}; echo $? > {done}")
            terminal.answer(answer, waiting_confirm)
            until_true(lambda: done.exists() and done.read_text().strip() != "")  # noqa: B023
            assert (done.read_text().strip() == "0") is signed, keys.log()
            assert (tmp_path / "msg.sig").exists() is signed
        log = keys.log()
        assert "asked before signing with 'asks' for pid" in log
        assert ": yes" in log and ": no" in log
    finally:
        terminal.close()

    # Asked for outside tmux: there is nowhere to ask, so no signature.
    outside = keys.run(*sign.split())
    assert outside.returncode != 0 and "no tmux pane to ask in" in keys.log()


def test_a_key_that_asks_first_asks_in_the_open_ui(keys: Keys, tmp_path: Path) -> None:
    """With the vault's UI open and unlocked, the question is asked there (whether or not
    the program that asked runs in tmux); once the UI locks, it is not."""
    if not shutil.which("tmux"):
        pytest.skip("needs tmux")
    import tmuxkit

    public = keys.generate("asks")
    keys.cli.ok("ssh-key", "asks", "--confirm", "yes")
    keys.start()
    (tmp_path / "asks.pub").write_text(public + "\n")
    (tmp_path / "msg").write_text("to sign\n")
    sign = ["ssh-keygen", "-Y", "sign", "-f", str(tmp_path / "asks.pub"), "-n", "git",
            str(tmp_path / "msg")]  # fmt: skip
    ui = tmuxkit.start(tmp_path, size=(100, 30))  # the same vault home as the CLI's
    try:
        ui.wait_for("locks in")  # the main screen: unlocked with the agent's key
        for answer, signed in (("y", True), ("n", False)):
            (tmp_path / "msg.sig").unlink(missing_ok=True)
            quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
            asking = subprocess.Popen(sign, env=keys.env(), stdin=subprocess.DEVNULL, **quiet)
            try:
                ui.wait_for("SSH agent: sign with 'asks' for ssh-keygen")
                ui.keys(answer)
                assert (asking.wait(timeout=30) == 0) is signed, keys.log()
            finally:
                asking.kill()
                asking.wait()
            assert (tmp_path / "msg.sig").exists() is signed
            until_true(lambda: "SSH agent: sign" not in ui.screen())
        log = keys.log()
        assert ": yes (in the UI)" in log and ": no (in the UI)" in log
        ui.keys("C-l")  # locked: the UI no longer answers, and outside tmux nobody can
        ui.wait_for("enter unlock")  # the unlock screen again
        refused = keys.run(*sign)
        assert refused.returncode != 0 and "no UI open, no tmux pane to ask in" in keys.log()
    finally:
        tmuxkit.stop(ui)


def test_a_locked_vault_is_unlocked_in_a_tmux_popup_when_ssh_asks(
    keys: Keys, tmp_path: Path
) -> None:
    """With --unlock-prompt, a signature asked for while the vault is locked opens `mysafe
    unlock` in a popup over the asking program's pane; the passphrase typed there unlocks."""
    if not (shutil.which("tmux") and shutil.which("script")):
        pytest.skip("needs tmux and script (a terminal attached to tmux)")
    public = keys.generate("on demand")
    started = json.loads(keys.cli.ok("ssh-agent", "--json", "--unlock-prompt"))
    keys.sock = started["SSH_AUTH_SOCK"]
    keys.pids.append(int(started["SSH_AGENT_PID"]))
    (tmp_path / "key.pub").write_text(public + "\n")
    (tmp_path / "msg").write_text("to sign\n")
    assert keys.listed() == []  # locked, and not in tmux: nothing, and no question
    done = tmp_path / "rc"
    sign = f"ssh-keygen -Y sign -f {tmp_path / 'key.pub'} -n git {tmp_path / 'msg'}"
    terminal = AttachedTmux(keys.env())
    try:
        terminal.run(f"SSH_AUTH_SOCK={keys.sock} {sign}; echo $? > {done}")
        terminal.answer(f"{PASSPHRASE}\r", lambda: waiting_for_keys(b"mysafe_tui\0--profile"))
        until_true(lambda: done.exists() and done.read_text().strip() != "")
        assert done.read_text().strip() == "0", keys.log()
    finally:
        terminal.close()
    assert (tmp_path / "msg.sig").exists()
    assert "unlocked" in keys.log() and "signed with 'on demand'" in keys.log()


def until_true(condition: Callable[[], object], timeout: float = 30, fail: bool = True) -> None:
    """Wait for a change an action causes; after `timeout` seconds (a bound, not a wait) fail,
    or go on when `fail` is off."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            assert not fail, f"timed out waiting for {condition}"
            return
        time.sleep(0.05)
