"""Run commands as the build user: an ordinary account, as dpkg-buildpackage
runs `debian/rules binary` under `Rules-Requires-Root: no`.

As root (CI), the account is the system user `pyshared-test`, added on first
use (idempotent: a concurrent run may add it first) and entered with setpriv.
Run by an ordinary user already, the build user is that user and commands run
unchanged; either way the permission checks are the ones an unprivileged
build meets (root passes access(2) write checks whatever the mode).
"""

import os
import pwd
import subprocess
import tempfile
from pathlib import Path

USER = "pyshared-test"


def is_root():
    return os.geteuid() == 0


def identity():
    """(uid, gid) of the build user."""
    if not is_root():
        return os.geteuid(), os.getegid()
    try:
        entry = pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--user-group",
                "--no-create-home",
                "--home-dir",
                "/nonexistent",
                "--shell",
                "/usr/sbin/nologin",
                USER,
            ],
            capture_output=True,
            check=False,
        )
        entry = pwd.getpwnam(USER)  # added by us, or by a run that raced us
    assert entry.pw_uid != 0, f"{USER} is root"
    return entry.pw_uid, entry.pw_gid


def command(argv):
    """argv run as the build user (environment as given to subprocess)."""
    if not is_root():
        return list(argv)
    identity()
    return ["setpriv", f"--reuid={USER}", f"--regid={USER}", "--init-groups", "--", *argv]


def run(argv, **kw):
    return subprocess.run(command(argv), **kw)


def give(path):
    """Make everything under `path` (links themselves, not their targets) the build user's."""
    if not is_root():
        return Path(path)
    uid, gid = identity()
    for directory, dirnames, filenames in os.walk(path):
        os.lchown(directory, uid, gid)
        for name in dirnames + filenames:
            os.lchown(os.path.join(directory, name), uid, gid)
    return Path(path)


def scratch(prefix="dh-pyshared-builduser-"):
    """A new directory the build user owns, reachable from / (pytest's own
    tmp_path lies below /tmp/pytest-of-root, mode 0700). Remove it with shutil.rmtree."""
    directory = Path(tempfile.mkdtemp(prefix=prefix))
    directory.chmod(0o755)
    return give(directory)


def unreadable(path):
    """The first path below `path` the build user cannot read or enter, or None."""
    probe = run(
        [
            "find",
            str(path),
            "!",
            "-type",
            "l",
            "(",
            "!",
            "-readable",
            "-o",
            "-type",
            "d",
            "!",
            "-executable",
            ")",
            "-print",
            "-quit",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode != 0:
        return probe.stderr.strip() or str(path)
    return probe.stdout.strip() or None


def readable_copy(source, directory, copy):
    """`source` itself when the build user can read all of it, else copy(source,
    directory / name) handed to the build user (a checkout below root's home)."""
    if unreadable(source) is None:
        return Path(source)
    destination = Path(directory) / Path(source).name
    copy(source, destination)
    give(destination)
    assert unreadable(destination) is None, unreadable(destination)
    return destination
