"""Checks that the SQLite file is on a local disk. The rule is a pure function of a path and the
text of /proc/self/mountinfo (`check_sqlite_location`), so it can be tested with sample mount
tables."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from frontdesk.doctor.database import sqlite_path
from frontdesk.doctor.results import CheckResult, Status, result, skip

NETWORK_FILESYSTEMS = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb",
        "smb2",
        "smb3",
        "smbfs",
        "ncpfs",
        "afs",
        "coda",
        "9p",
        "ceph",
        "glusterfs",
        "gfs2",
        "ocfs2",
        "lustre",
        "gpfs",
        "beegfs",
        "davfs",
        "sshfs",
        "fuse.sshfs",
        "fuse.glusterfs",
        "fuse.ceph-fuse",
        "fuse.s3fs",
        "fuse.rclone",
        "fuse.gcsfuse",
        "fuse.davfs",
        "fuse.smbnetfs",
        "fuse.curlftpfs",
        "fuse.juicefs",
        "fuse.gvfsd-fuse",
    }
)
LOCAL_FUSE = frozenset({"fuseblk"})  # ntfs-3g, exfat: a local block device behind FUSE


@dataclass(frozen=True)
class Mount:
    mount_point: str
    fstype: str
    source: str


def _unescape(field_text: str) -> str:
    """mountinfo escapes space, tab, newline and backslash as octal (\\040 ...)."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field_text)


def parse_mountinfo(text: str) -> list[Mount]:
    """The mounts listed in /proc/self/mountinfo text, in order (malformed lines skipped)."""
    mounts = []
    for line in text.splitlines():
        parts = line.split(" ")
        if "-" not in parts[6:]:
            continue
        separator = parts.index("-", 6)
        if len(parts) < separator + 3 or len(parts) < 5:
            continue
        mounts.append(
            Mount(_unescape(parts[4]), parts[separator + 1], _unescape(parts[separator + 2]))
        )
    return mounts


def mount_for(path: str, mounts: list[Mount]) -> Mount | None:
    """The mount holding the absolute `path`: the longest mount point that contains it (the
    later entry wins when one is mounted over another)."""
    best: tuple[int, int, Mount] | None = None
    for index, mount in enumerate(mounts):
        point = mount.mount_point.rstrip("/") or "/"
        inside = point == "/" or path == point or path.startswith(point + "/")
        if inside and (best is None or (len(point), index) >= best[:2]):
            best = (len(point), index, mount)
    return best[2] if best else None


def filesystem_kind(fstype: str) -> str:
    """'network', 'fuse' (cannot tell: a FUSE filesystem we do not know) or 'local'."""
    fstype = fstype.lower()
    if fstype in NETWORK_FILESYSTEMS or fstype.startswith(("nfs", "smb")):
        return "network"
    if fstype in LOCAL_FUSE:
        return "local"
    if fstype == "fuse" or fstype.startswith("fuse.") or fstype == "virtiofs":
        return "fuse"
    return "local"


def check_sqlite_location(path: str, mountinfo: str) -> CheckResult:
    """Pass, warn or fail for a SQLite file at the resolved absolute `path`, given the mount
    table text. No I/O."""
    mount = mount_for(path, parse_mountinfo(mountinfo))
    if mount is None:
        return result(
            "sqlite_local_disk",
            Status.WARN,
            f"cannot tell which filesystem holds {path}",
            "keep the SQLite file on a local disk (WAL does not work over network filesystems)",
        )
    data = {"path": path, "mount_point": mount.mount_point, "fstype": mount.fstype}
    kind = filesystem_kind(mount.fstype)
    where = f"{path} is on {mount.fstype} (mounted at {mount.mount_point})"
    if kind == "network":
        return result(
            "sqlite_local_disk",
            Status.FAIL,
            f"{where}, a network filesystem: SQLite's WAL mode does not work there and the "
            "database can be corrupted",
            "move the file to a local disk and point FRONTDESK_DATABASE_URL at it, or use "
            "PostgreSQL",
            **data,
        )
    if kind == "fuse":
        return result(
            "sqlite_local_disk",
            Status.WARN,
            f"{where}, a FUSE/shared filesystem FrontDesk cannot classify",
            "make sure it is a local disk of this host; WAL does not work over network filesystems",
            **data,
        )
    return result("sqlite_local_disk", Status.PASS, where, **data)


def read_mountinfo() -> str | None:
    """/proc/self/mountinfo, or None where there is none (not Linux)."""
    try:
        return Path("/proc/self/mountinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def check_sqlite_local_disk(database_url: str, mountinfo: Callable[[], str | None]) -> CheckResult:
    """The configured SQLite file's filesystem (skipped for other databases)."""
    path = sqlite_path(database_url)
    if path is None:
        try:
            backend = make_url(database_url).get_backend_name()
        except ArgumentError:
            return skip("sqlite_local_disk", "skipped: the database URL is not valid")
        if backend == "sqlite":
            return skip("sqlite_local_disk", "not applicable: an in-memory SQLite database")
        return skip("sqlite_local_disk", "not applicable: the database is not SQLite")
    absolute = path if path.is_absolute() else Path.cwd() / path
    existing = absolute
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    resolved = Path(os.path.realpath(existing)) / absolute.relative_to(existing)
    text = mountinfo()
    if text is None:
        return skip(
            "sqlite_local_disk",
            "cannot tell on this system (no /proc/self/mountinfo); keep the file on a local disk",
        )
    return check_sqlite_location(str(resolved), text)
