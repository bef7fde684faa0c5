"""Build .debs with the real dpkg-buildpackage, outside the checkout, and lintian them.

`copy_source()` copies a source tree without what .gitignore keeps out (and
.git), so a build never writes into the checkout; `dpkg-buildpackage -b` then
leaves its .debs, .changes and .buildinfo in the copy's parent directory.
`tool_environment()` makes the command, library, templates and dh add-on of an
unpacked dh-pyshared .deb the ones that dh and dpkg-buildpackage find, without
installing it on this machine.
"""

import io
import os
import shutil
import subprocess
import tarfile
import time
from pathlib import Path

from . import builduser

# What .gitignore lists, and the version control directory.
IGNORED = (".git", "__pycache__", "*.pyc", ".pytest_cache", ".ruff_cache", ".hypothesis", "*.egg-info")
IGNORED_AT_TOP = ("build", "dist", ".venv")
IGNORED_PATHS = ("benchmarks/cache",)
SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
BUILD_TIMEOUT = 900


class Build:
    """One dpkg-buildpackage run: its outputs and how long it took."""

    def __init__(self, source, log, seconds):
        self.source = Path(source)
        self.directory = self.source.parent
        self.log = log
        self.seconds = seconds

    def debs(self):
        return sorted(self.directory.glob("*.deb"))

    def deb(self, package):
        matches = [deb for deb in self.debs() if deb.name.startswith(f"{package}_")]
        assert len(matches) == 1, (package, self.debs())
        return matches[0]

    @property
    def changes(self):
        (changes,) = self.directory.glob("*.changes")
        return changes


def copy_source(source, destination):
    source = Path(source)
    by_pattern = shutil.ignore_patterns(*IGNORED)

    def ignore(directory, names):
        relative = Path(directory).relative_to(source)
        ignored = set(by_pattern(directory, names))
        if relative == Path("."):
            ignored.update(name for name in names if name in IGNORED_AT_TOP)
        ignored.update(name for name in names if (relative / name).as_posix() in IGNORED_PATHS)
        return ignored

    shutil.copytree(source, destination, symlinks=True, ignore=ignore)
    return Path(destination)


def clean_environment(extra=None):
    """This machine's environment without build settings that would leak into a package build."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DH_", "DEB_", "DPKG_", "PYTHON", "MAKE", "PERL5LIB", "PERL_"))
        and key not in ("CFLAGS", "CPPFLAGS", "CXXFLAGS", "LDFLAGS", "SOURCE_DATE_EPOCH", "VIRTUAL_ENV")
    }
    # The system's python3, never a pyenv or virtualenv one.
    environment.update({"PATH": SYSTEM_PATH, "LC_ALL": "C.UTF-8"})
    environment.update(extra or {})
    return environment


def tool_environment(tool_root, extra=None):
    """Find dh_pyshared and the pyshared add-on in `tool_root`, an unpacked dh-pyshared .deb."""
    tool_root = Path(tool_root)
    environment = clean_environment(extra)
    environment["PATH"] = f"{tool_root}/usr/bin:{environment['PATH']}"
    environment["PERL5LIB"] = str(tool_root / "usr/share/perl5")
    return environment


def dpkg_buildpackage(source, *options, env=None, build_user=False):
    """`dpkg-buildpackage -us -uc -b` in `source`; raises with the log's end on failure.
    `build_user`: run it as builduser.py's ordinary user (hand it `source` first)."""
    command = ["dpkg-buildpackage", "-us", "-uc", "-b", *options]
    started = time.monotonic()
    completed = subprocess.run(
        builduser.command(command) if build_user else command,
        cwd=source,
        env=env or clean_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=BUILD_TIMEOUT,
        check=False,
    )
    seconds = time.monotonic() - started
    if completed.returncode != 0:
        raise AssertionError(
            f"dpkg-buildpackage in {source} failed ({completed.returncode}):\n{completed.stdout[-6000:]}"
        )
    return Build(source, completed.stdout, seconds)


def unpack(deb, directory):
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    subprocess.run(["dpkg-deb", "-x", str(deb), str(directory)], check=True)
    return directory


def control_file(deb, name):
    """The text of the control member `name` (postinst, control, ...) of a .deb."""
    tarball = subprocess.run(["dpkg-deb", "--ctrl-tarfile", str(deb)], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(tarball)) as archive:
        return archive.extractfile(f"./{name}").read().decode()


def field(deb, name):
    return subprocess.run(
        ["dpkg-deb", "-f", str(deb), name], capture_output=True, text=True, check=True
    ).stdout.strip()


def contents(deb):
    """{"/path": (mode string, link target or None)} of the .deb's data."""
    listing = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True, check=True).stdout
    entries = {}
    for line in listing.splitlines():
        mode, _owner, _size, _date, _time, name = line.split(None, 5)
        target = None
        if " -> " in name:
            name, target = name.split(" -> ", 1)
        entries["/" + name.lstrip("./").rstrip("/")] = (mode, target)
    return entries


# Every tag shown, info and pedantic too.
LINTIAN = ("lintian", "--pedantic", "--display-info", "--no-tag-display-limit")
LINTIAN_TIMEOUT = 600


def lintian(*paths):
    """Run lintian with every tag shown (info and pedantic too); returns (returncode, tag lines)."""
    completed = subprocess.run(
        [*LINTIAN, *map(str, paths)],
        capture_output=True,
        text=True,
        env=clean_environment(),
        timeout=LINTIAN_TIMEOUT,
        check=False,
    )
    return lintian_tags(completed)


def lintian_tags(completed):
    """(returncode, tag lines) of a finished lintian run; raises if lintian itself failed."""
    tags = [line for line in completed.stdout.splitlines() if line[:2] in ("E:", "W:", "I:", "P:", "X:")]
    if completed.returncode not in (0, 1, 2) or "internal error" in completed.stderr.lower():
        raise AssertionError(f"lintian failed ({completed.returncode}):\n{completed.stderr}")
    return completed.returncode, tags
