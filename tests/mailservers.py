"""Real mail servers for the e-mail channel's tests: Dovecot (IMAP, Debian's `dovecot-imapd`)
run in the foreground on a free loopback port with a generated config and one test user,
and aiosmtpd (SMTP) keeping every message it is given. No system service is used."""

from __future__ import annotations

import asyncio
import contextlib
import email
import grp
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
IMAP_USER = "desk"
IMAP_PASSWORD = "desk-secret"
SMTP_USER = "desk"
SMTP_PASSWORD = "smtp-secret"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def dovecot_available() -> bool:
    return os.path.exists(DOVECOT)


def _accounts() -> tuple[str, int, int]:
    """The user Dovecot's processes and the mail files run as. As root, the login processes
    refuse root: the package's `dovecot` user owns the mail."""
    if os.geteuid() == 0:
        found = pwd.getpwnam("dovecot")
        return "dovecot", found.pw_uid, found.pw_gid
    me = pwd.getpwuid(os.geteuid())
    return me.pw_name, me.pw_uid, me.pw_gid


CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
first_valid_gid = 1
{users}
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/users
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
protocol imap {{
  imap_idle_notify_interval = 1 secs
}}
"""


@dataclass
class Dovecot:
    """`start()`, `stop()` (to simulate downtime) and `start()` again on the same port and
    mail: the UIDs and UIDVALIDITY survive, as on a real server's restart. Its files live in
    a fresh folder under the system temp dir (`remove()` deletes it): Dovecot's unprivileged
    processes must be able to reach them, and pytest's own temp folders are private."""

    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="pult-dovecot-")))
    port: int = field(default_factory=free_port)
    user: str = IMAP_USER
    password: str = IMAP_PASSWORD
    # What the server announces instead of its own list (e.g. one without IDLE).
    capabilities: str | None = None
    process: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        name, uid, gid = _accounts()
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)  # Dovecot's auth process (not root) reads the users file
        for folder in ("run", "state", "mail"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)
        (self.root / "mail").chmod(0o777)
        if os.geteuid() == 0:
            os.chown(self.root / "mail", uid, gid)
        group = grp.getgrgid(gid).gr_name
        users = "" if os.geteuid() == 0 else (
            f"default_internal_user = {name}\ndefault_login_user = {name}\n"
            f"default_internal_group = {group}"
        )  # fmt: skip
        home = self.root / "mail" / self.user
        (self.root / "users").write_text(
            f"{self.user}:{{PLAIN}}{self.password}:{uid}:{gid}::{home}\n"
        )
        self.config = self.root / "dovecot.conf"
        config = CONFIG.format(root=self.root, port=self.port, users=users)
        if self.capabilities:
            config += f"imap_capability = {self.capabilities}\n"
        self.config.write_text(config)

    def start(self) -> None:
        assert self.process is None
        self.process = subprocess.Popen(
            [DOVECOT, "-c", str(self.config), "-F"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group: stop() ends the children too
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                error = self.process.stderr.read().decode() if self.process.stderr else ""
                raise RuntimeError(f"dovecot exited: {error}\n{self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                    if conn.recv(100).startswith(b"* OK"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"dovecot did not answer on port {self.port}\n{self.log()}")

    def stop(self) -> None:
        if self.process is None:
            return
        # The whole group: the imap processes serving open connections outlive the master
        # otherwise, and an outage must close the connections as a real one does.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and _group_alive(self.process.pid):
            time.sleep(0.02)
        if self.process.stderr:
            self.process.stderr.close()
        self.process = None
        # The master's children (imap, imap-login) follow it out; wait for the port.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                time.sleep(0.05)
            except OSError:
                return

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""


class _Keep:
    def __init__(self, received: list[Received], refuse: dict[str, str]) -> None:
        self.received = received
        self.refuse = refuse

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        for needle, answer in self.refuse.items():
            if needle in address:
                return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        message = email.message_from_bytes(content, policy=default_policy)
        assert isinstance(message, EmailMessage)
        self.received.append(
            Received(str(envelope.mail_from), list(envelope.rcpt_tos), content, message)
        )
        return "250 Message accepted"


@dataclass(frozen=True, slots=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: EmailMessage


def _authenticate(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: object
) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        SMTP_USER.encode(),
        SMTP_PASSWORD.encode(),
    )
    return AuthResult(success=ok)


class SmtpServer:
    """aiosmtpd on a free loopback port, with AUTH (plain, over loopback) as real servers
    ask; `refuse` maps a substring of a recipient to the reply it gets (e.g.
    "550 5.1.1 No such user", "451 4.3.0 Try later")."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.refuse: dict[str, str] = {}
        self.port = free_port()
        self.user, self.password = SMTP_USER, SMTP_PASSWORD
        # aiosmtpd warns about AUTH without TLS: this is loopback.
        self._controller = Controller(
            _Keep(self.received, self.refuse),
            hostname="127.0.0.1",
            port=self.port,
            authenticator=_authenticate,
            auth_required=True,
            auth_require_tls=False,
        )

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    async def wait_for(self, count: int, seconds: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + seconds
        while len(self.received) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.received)} of {count} mails arrived")
            await asyncio.sleep(0.02)
        return self.received
