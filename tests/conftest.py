"""Shared fixtures: source packages in tmp dirs, real compiled extensions,
the real dh_pyshared command run as a subprocess, and tree snapshots."""

import hashlib
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parent.parent
TOOL = CHECKOUT / "bin" / "dh_pyshared"
sys.path.insert(0, str(CHECKOUT))
sys.path.insert(0, str(CHECKOUT / "tests"))

from helpers import cbuild  # noqa: E402


def host_architecture():
    output = subprocess.run(["dpkg-architecture"], capture_output=True, text=True, check=True).stdout
    facts = dict(line.split("=", 1) for line in output.splitlines() if "=" in line)
    return {k: v for k, v in facts.items() if k.startswith(("DEB_HOST_", "DEB_BUILD_"))}


HOST = host_architecture()
MULTIARCH = HOST["DEB_HOST_MULTIARCH"]
SUFFIX_311 = f".cpython-311-{MULTIARCH}.so"


def control_text(packages, source_fields=""):
    paragraphs = [
        "Source: demo\nMaintainer: Demo <demo@example.org>\n"
        "Build-Depends: debhelper-compat (= 13)\n" + source_fields
    ]
    for name, arch in packages:
        paragraphs.append(f"Package: {name}\nArchitecture: {arch}\nDescription: demo\n demo\n")
    return "\n".join(p.rstrip("\n") + "\n" for p in paragraphs)


CHANGELOG = """\
demo (2.0-1) unstable; urgency=medium

  * Move to dh_pyshared.

 -- Demo <demo@example.org>  Sat, 21 Nov 2026 10:00:00 +0000
"""


class SourcePackage:
    """A source package root with debian/control and binary package trees."""

    def __init__(self, root, packages=(("python3-demo", "any"),), source_fields=""):
        self.root = Path(root)
        (self.root / "debian").mkdir(parents=True, exist_ok=True)
        (self.root / "debian" / "control").write_text(control_text(packages, source_fields))
        (self.root / "debian" / "changelog").write_text(CHANGELOG)
        self.package = packages[0][0]

    def tree(self, package=None):
        return self.root / "debian" / (package or self.package)

    def write(self, rel, content="", package=None, mode=0o644):
        path = self.tree(package) / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content))
        path.chmod(mode)
        return path

    def link(self, rel, target, package=None):
        path = self.tree(package) / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, path)
        return path

    def extension(self, rel, module=None, package=None, **kw):
        path = self.tree(package) / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        module = module or path.name.split(".", 1)[0]
        cbuild.compile_extension(path, module, **kw)
        return path

    def library(self, rel, package=None):
        path = self.tree(package) / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        cbuild.compile_plain_library(path)
        return path

    def run(self, *args, env=None, check=True, export_arch=True):
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("DH_", "DEB_"))}
        if export_arch:
            environment.update(HOST)
        environment.update(env or {})
        result = subprocess.run(
            [str(TOOL), *args], cwd=self.root, env=environment, capture_output=True, text=True
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"dh_pyshared {' '.join(args)} failed ({result.returncode}):\n{result.stderr}"
            )
        return result

    def substvars(self, package=None):
        path = self.root / "debian" / f"{package or self.package}.substvars"
        return path.read_text() if path.exists() else None


def snapshot(root):
    """Every entry under root: type, content hash, mode, link target."""
    root = Path(root)
    entries = {}
    for directory, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(directory) / name
            rel = path.relative_to(root).as_posix()
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                entries[rel] = ("link", os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                entries[rel] = ("dir", oct(stat.S_IMODE(info.st_mode)))
            else:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                entries[rel] = ("file", digest, oct(stat.S_IMODE(info.st_mode)))
    return entries


def provenance(before, after):
    """The after-tree, each file labelled with the before-path it came from."""
    origins = {}
    for rel, entry in sorted(before.items()):
        if entry[0] == "file":
            origins.setdefault(entry[1], rel)
    lines = []
    for rel, entry in sorted(after.items()):
        if entry[0] == "file":
            lines.append(f"{rel}  <- {origins.get(entry[1], 'NEW CONTENT')}  {entry[2]}")
        elif entry[0] == "link":
            lines.append(f"{rel}  -> {entry[1]}")
        else:
            lines.append(f"{rel}/")
    return "\n".join(lines) + "\n"


@pytest.fixture
def source(tmp_path):
    return SourcePackage(tmp_path / "src")


@pytest.fixture
def make_source(tmp_path):
    def make(name="src", **kw):
        return SourcePackage(tmp_path / name, **kw)

    return make
