"""A private Dovecot IMAP server for the tests: Debian's dovecot-imapd, started per test
session on 127.0.0.1 with free ports (implicit TLS and STARTTLS), its own config dir, the test
CA's server certificate, a passwd-file of test users and Maildirs under a temporary dir.

It never uses the packaged service's config, sockets or ports (143/993): `dovecot -F -c CONF`
with its own base_dir and instance name. As root the mail processes run as `nobody` (Dovecot
refuses uid 0 for mail); otherwise everything runs as the current user.
"""

from __future__ import annotations

import imaplib
import itertools
import os
import pwd
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

PASSWORD = "imap-Test-pw-5150"
USERS = 500


def dovecot_binary() -> str | None:
    return shutil.which("dovecot") or (
        "/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Stored:
    """One message in a test mailbox, as the server holds it."""

    uid: int
    flags: str
    raw: bytes

    @property
    def seen(self) -> bool:
        return "\\Seen" in self.flags


@dataclass
class Dovecot:
    root: Path
    tls_port: int
    starttls_port: int
    ca_file: Path
    process: subprocess.Popen[bytes] | None = None
    _users: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def new_user(self) -> str:
        """A fresh user with an empty INBOX (one of the USERS written at start: Dovecot may
        not notice a passwd-file changed within the same second)."""
        number = next(self._users)
        assert number <= USERS, "more mailbox users than the test server was given"
        return f"bounces{number}"

    def connect(self, user: str) -> imaplib.IMAP4_SSL:
        context = ssl.create_default_context(cafile=str(self.ca_file))
        conn = imaplib.IMAP4_SSL("127.0.0.1", self.tls_port, ssl_context=context, timeout=10)
        conn.login(user, PASSWORD)
        return conn

    def append(self, user: str, raw: bytes, folder: str = "INBOX") -> None:
        conn = self.connect(user)
        try:
            typ, data = conn.append(folder, "", None, raw)
            assert typ == "OK", data
        finally:
            conn.logout()

    def messages(self, user: str, folder: str = "INBOX") -> list[Stored]:
        """Every message of the folder with its flags (read with PEEK: flags unchanged)."""
        conn = self.connect(user)
        try:
            conn.select(folder, readonly=True)
            typ, data = conn.uid("FETCH", "1:*", "(UID FLAGS BODY.PEEK[])")
            assert typ == "OK", data
            stored = []
            for item in data:
                if isinstance(item, tuple):
                    head = item[0].decode()
                    uid = re.search(r"UID (\d+)", head)
                    flags = re.search(r"FLAGS \(([^)]*)\)", head)
                    assert uid and flags, head
                    stored.append(Stored(int(uid.group(1)), flags.group(1), item[1]))
            return stored
        finally:
            conn.logout()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        shutil.rmtree(self.root, ignore_errors=True)


def start_dovecot(binary: str, server_cert: Path, server_key: Path, ca_file: Path) -> Dovecot:
    """Write a config under a fresh temporary dir and start Dovecot in the foreground."""
    root = Path(tempfile.mkdtemp(prefix="frontdesk-dovecot-"))
    root.chmod(0o755)  # the mail processes (nobody, under root) walk into it
    if os.geteuid() == 0:
        account = pwd.getpwnam("nobody")
        system_user, uid, gid = "nobody", account.pw_uid, account.pw_gid
    else:
        account = pwd.getpwuid(os.getuid())
        system_user, uid, gid = account.pw_name, os.getuid(), os.getgid()
    home = root / "home"
    home.mkdir()
    os.chown(home, uid, gid)
    (root / "passwd").write_text(
        "".join(f"bounces{n}:{{PLAIN}}{PASSWORD}::::::\n" for n in range(1, USERS + 1)),
        encoding="utf-8",
    )
    server = Dovecot(root, _free_port(), _free_port(), ca_file)
    config = root / "dovecot.conf"
    config.write_text(
        f"""
base_dir = {root}/run
state_dir = {root}/state
instance_name = frontdesk-test-{os.getpid()}
protocols = imap
listen = 127.0.0.1
default_internal_user = {system_user}
default_login_user = {system_user}
first_valid_uid = {uid}
first_valid_gid = {gid}
ssl = required
ssl_cert = <{server_cert}
ssl_key = <{server_key}
ssl_min_protocol = TLSv1.2
log_path = {root}/dovecot.log
auth_mechanisms = plain login
auth_failure_delay = 0
disable_plaintext_auth = yes
mail_location = maildir:~/Maildir
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {server.starttls_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {server.tls_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={home}/%u
}}
""",
        encoding="utf-8",
    )
    server.process = subprocess.Popen(
        [binary, "-F", "-c", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 15
    while True:  # wait until both listeners accept
        if server.process.poll() is not None:
            error = server.process.stderr.read().decode() if server.process.stderr else ""
            log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
            server.stop()
            raise RuntimeError(f"dovecot did not start: {error or log}")
        try:
            for port in (server.tls_port, server.starttls_port):
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server
        except OSError:
            if time.monotonic() > deadline:
                server.stop()
                raise RuntimeError("dovecot did not listen within 15 s") from None
            time.sleep(0.05)
