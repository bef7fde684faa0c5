"""One unpacked package tree: a directory holding DEBIAN/control, as `dpkg-deb -R` leaves it
(or debian/<package>/ after dh_gencontrol).

Walked with lstat only: a symlink is an entry, never followed; files are
opened with O_NOFOLLOW, so nothing outside the tree is ever read.
"""

import os

from .codes import DEFAULT_MAX_MEMBER_BYTES, control_of, error_text
from .judge import Judge, unreadable_record

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


def read_control(directory):
    from debian.deb822 import Deb822

    with open(os.path.join(directory, CONTROL), "rb") as stream:
        fields = Deb822(stream)
    if not fields.get("Package"):
        raise ValueError("DEBIAN/control has no Package field")
    return control_of(fields)


def read_tree(directory, supported, max_member_bytes=DEFAULT_MAX_MEMBER_BYTES, index=0):
    """The record of one unpacked tree (judge.Judge.record), sha256 None: trees are not cached."""
    try:
        control = read_control(directory)
    except (OSError, ValueError) as error:
        return unreadable_record(index, directory, None, None, error)
    judge = Judge(control, directory, supported, max_member_bytes)
    try:
        _walk(directory, "", judge)
    except OSError as error:
        judge.add(directory, "unreadable-deb", error_text(error))
    judge.finish()
    return judge.record(index, directory, None)


def _walk(root, relative, judge):
    with os.scandir(os.path.join(root, relative) if relative else root) as listing:
        entries = sorted(listing, key=lambda entry: entry.name)
    for entry in entries:
        path = f"{relative}/{entry.name}" if relative else entry.name
        if path == "DEBIAN":
            continue
        if entry.is_dir(follow_symlinks=False):
            _walk(root, path, judge)
            continue
        status = entry.stat(follow_symlinks=False)
        regular = entry.is_file(follow_symlinks=False)
        judge.entry(path, False, regular, status.st_size, lambda limit, name=entry.path: _read(name, limit))


def _read(filename, limit):
    descriptor = os.open(filename, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(descriptor, "rb") as stream:
        return stream.read(limit)
