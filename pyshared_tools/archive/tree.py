"""One unpacked package tree: a directory holding DEBIAN/control, as `dpkg-deb -R` leaves it
(or debian/<package>/ after dh_gencontrol).

Walked with lstat only: a symlink is an entry, never followed; files are
opened with O_NOFOLLOW, so nothing outside the tree is ever read.
"""

import os
import stat

from .codes import DEFAULT_MAX_MEMBER_BYTES
from .judge import Judge, RecordTooLarge, unreadable_record
from .model import deb_control_of, escaped

CONTROL = os.path.join("DEBIAN", "control")


def is_tree(directory):
    """A directory holding DEBIAN/control as a regular file (not a link)."""
    try:
        return (
            os.path.isfile(os.path.join(directory, CONTROL))
            and not os.path.islink(os.path.join(directory, CONTROL))
            and not os.path.islink(os.path.join(directory, "DEBIAN"))
        )
    except OSError:
        return False


def read_deb_control(directory):
    """The DebControl of DEBIAN/control: a regular file (never a link), UTF-8, at most MAX_CONTROL_BYTES."""
    from debian.deb822 import Deb822

    from .deb import MAX_CONTROL_BYTES

    descriptor = os.open(os.path.join(directory, CONTROL), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(descriptor, "rb") as stream:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise ValueError("DEBIAN/control is not a regular file")
        text = stream.read(MAX_CONTROL_BYTES + 1)
    if len(text) > MAX_CONTROL_BYTES:
        raise ValueError(f"DEBIAN/control is larger than {MAX_CONTROL_BYTES} bytes")
    fields = Deb822(text.decode("utf-8"))
    if not fields.get("Package"):
        raise ValueError("DEBIAN/control has no Package field")
    return deb_control_of(fields)


def read_tree(directory, supported, max_member_bytes=DEFAULT_MAX_MEMBER_BYTES, index=0):
    """The record of one unpacked tree (judge.Judge.record), sha256 None: trees are not cached."""
    try:
        control = read_deb_control(directory)
    except (OSError, ValueError) as error:
        return unreadable_record(index, directory, None, None, error)
    judge = Judge(control, directory, supported, max_member_bytes)
    try:
        _walk(directory, judge)
    except (OSError, RecordTooLarge) as error:
        return unreadable_record(index, directory, None, control, error)
    judge.finish()
    return judge.record(index, directory, None)


def _walk(root, judge):
    """Every entry under root but DEBIAN, depth first in sorted order, with a stack (no recursion:
    a tree may be any number of directories deep)."""
    stack = [""]
    while stack:
        relative = stack.pop()
        with os.scandir(os.path.join(root, relative) if relative else root) as listing:
            entries = sorted(listing, key=lambda entry: entry.name)
        directories = []
        for entry in entries:
            path = f"{relative}/{entry.name}" if relative else entry.name
            if path == "DEBIAN":
                continue
            if not path.isascii() and escaped(path) != path:
                judge.unsafe(path, "file name is not UTF-8 (shown with \\x escapes)")
                continue
            if entry.is_dir(follow_symlinks=False):
                directories.append(path)
                continue
            status = entry.stat(follow_symlinks=False)
            regular = entry.is_file(follow_symlinks=False)
            judge.entry(
                path, False, regular, status.st_size, lambda limit, name=entry.path: _read(name, limit)
            )
        stack.extend(reversed(directories))


def _read(filename, limit):
    descriptor = os.open(filename, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(descriptor, "rb") as stream:
        return stream.read(limit)
