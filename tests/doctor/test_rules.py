"""The doctor's pure rules: where a SQLite file lives (mountinfo text), and how an outbox
failure is summarised without the server's text."""

from __future__ import annotations

import pytest

from frontdesk.doctor import (
    Mount,
    Status,
    check_sqlite_location,
    error_class,
    filesystem_kind,
    mount_for,
    parse_mountinfo,
)

MOUNTINFO = "\n".join(
    [
        "22 27 0:21 / /proc rw,relatime - proc proc rw",
        "27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda1 rw,discard",
        "30 27 0:27 / /srv/data rw,relatime shared:7 - nfs4 files.lan:/export/data "
        "rw,vers=4.2,addr=10.0.0.5",
        "31 30 254:1 / /srv/data/local rw,relatime - xfs /dev/vdb1 rw",
        "32 27 0:40 / /home/desk/remote rw,nosuid,nodev - fuse.sshfs desk@nas:/share rw",
        "33 27 0:41 / /mnt/office\\040share rw - cifs //nas/office rw,vers=3.0",
        "34 27 8:17 / /media/usb rw - fuseblk /dev/sdb1 rw,user_id=0",
        "35 27 0:42 / /mnt/odd rw - fuse.mystery mystery rw",
        "36 27 0:43 / /var/lib/frontdesk rw - tmpfs tmpfs rw",
        "37 27 0:44 / /var/lib/frontdesk rw - nfs nas:/fd rw",
        "not a mountinfo line",
        "",
    ]
)


@pytest.mark.parametrize(
    ("path", "status", "fstype"),
    [
        ("/home/desk/.local/share/frontdesk/frontdesk.db", Status.PASS, "ext4"),
        ("/srv/data/frontdesk.db", Status.FAIL, "nfs4"),
        ("/srv/data/local/frontdesk.db", Status.PASS, "xfs"),  # a local disk mounted inside
        ("/srv/database.db", Status.PASS, "ext4"),  # /srv/data is not a prefix of /srv/database
        ("/home/desk/remote/frontdesk.db", Status.FAIL, "fuse.sshfs"),
        ("/mnt/office share/frontdesk.db", Status.FAIL, "cifs"),
        ("/media/usb/frontdesk.db", Status.PASS, "fuseblk"),
        ("/mnt/odd/frontdesk.db", Status.WARN, "fuse.mystery"),
        ("/var/lib/frontdesk/frontdesk.db", Status.FAIL, "nfs"),  # mounted over the tmpfs
    ],
)
def test_sqlite_location(path: str, status: Status, fstype: str) -> None:
    result = check_sqlite_location(path, MOUNTINFO)
    assert result.id == "sqlite_local_disk"
    assert result.status is status
    assert result.data["fstype"] == fstype
    assert fstype in result.detail
    if status is Status.FAIL:
        assert "network filesystem" in result.detail
        assert result.fix is not None and "local disk" in result.fix
    if status is Status.PASS:
        assert result.fix is None


def test_nfs4_fails_and_ext4_passes() -> None:
    nfs = "40 1 0:50 / / rw - nfs4 server:/ rw\n"
    ext4 = "40 1 8:1 / / rw - ext4 /dev/sda1 rw\n"
    assert check_sqlite_location("/data/frontdesk.db", nfs).status is Status.FAIL
    assert check_sqlite_location("/data/frontdesk.db", ext4).status is Status.PASS


def test_parse_mountinfo_unescapes_and_skips_bad_lines() -> None:
    mounts = parse_mountinfo(MOUNTINFO)
    assert len(mounts) == 10
    assert Mount("/mnt/office share", "cifs", "//nas/office") in mounts
    assert Mount("/srv/data", "nfs4", "files.lan:/export/data") in mounts


def test_no_mount_is_a_warning() -> None:
    result = check_sqlite_location("/data/frontdesk.db", "")
    assert result.status is Status.WARN
    assert mount_for("/x", []) is None


@pytest.mark.parametrize(
    ("fstype", "kind"),
    [
        ("nfs", "network"),
        ("NFS4", "network"),
        ("smb3", "network"),
        ("9p", "network"),
        ("ceph", "network"),
        ("fuse.rclone", "network"),
        ("fuse", "fuse"),
        ("virtiofs", "fuse"),
        ("fuseblk", "local"),
        ("ext4", "local"),
        ("btrfs", "local"),
        ("zfs", "local"),
        ("overlay", "local"),
        ("tmpfs", "local"),
    ],
)
def test_filesystem_kind(fstype: str, kind: str) -> None:
    assert filesystem_kind(fstype) == kind


@pytest.mark.parametrize(
    ("last_error", "expected"),
    [
        ("550 5.1.1 <ana@example.com>: Recipient address rejected", "SMTP 550 (permanent)"),
        ("451 4.3.0 Try again later", "SMTP 451 (temporary)"),
        ("recipient refused: 421 4.7.0 <ana@example.com> closing", "SMTP 421 (temporary)"),
        (
            "gave up after 48 hours: cannot connect to mail server smtp.x:587: connection refused",
            "gave up after 48 h: connection failure",
        ),
        ("mail server smtp.x:587 certificate not trusted: self-signed", "TLS failure"),
        ("mail server refused the login: 535 5.7.8 bad credentials", "login refused (SMTP 535)"),
        ("not sent: the address ana@example.com is not valid", "message could not be built"),
        ("mail server smtp.x:587 did not answer within 30 s", "connection failure"),
        ("something else about ana@example.com", "other error"),
        (None, "unknown error"),
    ],
)
def test_error_class_never_carries_the_text(last_error: str | None, expected: str) -> None:
    assert error_class(last_error) == expected
    assert "@" not in error_class(last_error)
