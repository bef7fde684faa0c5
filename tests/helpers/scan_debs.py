"""Hand-built .debs and pyshared-scan runs over them (tests/test_archive_scan.py,
tests/test_scan_hostile.py, tests/test_scan_inputs.py)."""

import io
import os
import re
import subprocess
import tarfile
from pathlib import Path

import pytest
from conftest import CHECKOUT, HOST, MULTIARCH

from helpers import cbuild
from helpers.abi_packages import LIMITED_311, NOT_STABLE

TOOL = CHECKOUT / "bin" / "pyshared-scan"


SHARED = "usr/lib/python3/dist-packages"


ARCH = HOST["DEB_HOST_ARCH"]


TAGGED = f".cpython-311-{MULTIARCH}.so"


OLD = f".cpython-39-{MULTIARCH}.so"


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    """The default cache of the runs below: one per test, outside the test's tmp_path."""
    cache = tmp_path_factory.mktemp("xdg-cache")
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    return cache / "pyshared-scan" / "cache.sqlite3"


def scan(*args, cwd=None):
    result = subprocess.run(
        ["/usr/bin/python3", str(TOOL), *map(str, args)], capture_output=True, text=True, cwd=cwd
    )
    return result


def build_deb(directory, package, files=(), links=(), arch=ARCH, version="1.0", source=None, fields=""):
    """A .deb from dpkg-deb --build: files {path: bytes | compiled Path}, links {path: target};
    `fields`: more control lines."""
    root = Path(directory) / f"{package}-tree"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        f"Package: {package}\nVersion: {version}\nArchitecture: {arch}\n"
        + (f"Source: {source} ({version})\n" if source else "")
        + fields
        + "Maintainer: Demo <demo@example.org>\nDescription: demo\n demo\n"
    )
    for path, content in dict(files).items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content.read_bytes() if isinstance(content, Path) else content)
    for path, target in dict(links).items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, root / path)
    deb = Path(directory) / f"{package}_{version}_{arch}.deb"
    subprocess.run(
        ["dpkg-deb", "--build", "--root-owner-group", "-Zxz", str(root), str(deb)],
        check=True,
        capture_output=True,
    )
    subprocess.run(["rm", "-rf", str(root)], check=True)
    return deb


@pytest.fixture(scope="module")
def objects(tmp_path_factory):
    """Compiled once: an extension 'fast', one exporting PyInit_other, a ctypes library, an abi3 misuse."""
    where = tmp_path_factory.mktemp("objects")
    return {
        "fast": cbuild.compile_extension(where / "fast.so", "fast"),
        "foo": cbuild.compile_extension(where / "foo.so", "foo"),
        "other": cbuild.compile_extension(where / "bad.so", "bad", init_name="other"),
        "library": cbuild.compile_plain_library(where / "libhelper.so"),
        "abi3-bad": cbuild.compile_extension(where / "_speed.so", "_speed", body=NOT_STABLE),
        "abi3-good": cbuild.compile_extension(where / "_good.so", "_good", limited_api=LIMITED_311),
    }


def ar_deb(path, data_name, data_bytes, control="Package: python3-evil\nVersion: 6.6\nArchitecture: amd64\n"):
    """debian-binary, control.tar.xz, data member, assembled with ar in that order."""
    work = path.parent / f"{path.name}.parts"
    work.mkdir()
    (work / "debian-binary").write_text("2.0\n")
    with tarfile.open(work / "control.tar.xz", "w:xz") as tar:
        _add(tar, "./control", control.encode())
    (work / data_name).write_bytes(data_bytes)
    members = ["debian-binary", "control.tar.xz", data_name]
    subprocess.run(["ar", "rc", str(path), *members], cwd=work, check=True)
    subprocess.run(["rm", "-rf", str(work)], check=True)
    return path


def _add(tar, name, data=b"", link=None):
    info = tarfile.TarInfo(name)
    if link is not None:
        info.type, info.linkname = tarfile.SYMTYPE, link
    else:
        info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


AUDITED = """\
import sys
opened = []
sys.addaudithook(lambda event, args: opened.append(str(args[0])) if event == "open" else None)
sys.addaudithook(lambda event, args: event == "subprocess.Popen" and opened.append(f"POPEN {args[1]}"))
sys.path.insert(0, sys.argv[1])
from pyshared_tools.archive.cli import main
code = main(sys.argv[2:])
print("OPENED " + repr(opened), file=sys.stderr)
sys.exit(code)
"""


STATS = re.compile(
    r"^pyshared-scan: (\d+) \.debs, (\d+) from the cache, (\d+) reading process\(es\)$", re.MULTILINE
)


def stats(result, readers=False):
    """(.debs, from the cache), and with `readers` the number of processes that read."""
    (match,) = STATS.findall(result.stderr)
    return tuple(int(number) for number in match[: 3 if readers else 2])
