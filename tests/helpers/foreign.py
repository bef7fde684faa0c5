"""Real .debs of other architectures (i386, arm64), fetched once into the tests cache.

The machine's own apt knows only its architecture; a scratch apt
configuration (as interpreters.py fetches bullseye's interpreters) with the
wanted architectures downloads `package:arch` without touching the system's
apt or dpkg state.  Kept in $PYSHARED_TEST_CACHE/<cache_name>/ under a lock; a
failure raises FetchError: the tests fail, nothing is skipped.
"""

import fcntl
import shutil
import subprocess
from pathlib import Path

from helpers.interpreters import ARCHIVE_KEYRING, HOST_SUITE, FetchError, archive_uri, cache_directory

MARKER_NAME = "downloaded.ok"


def fetch_debs(packages, cache_name, suite=HOST_SUITE):
    """{"name:arch": .deb path} for `packages` ("python3-lzss:i386", ...), downloaded once."""
    cache = cache_directory() / cache_name
    cache.mkdir(parents=True, exist_ok=True)
    marker = cache / MARKER_NAME
    expected = "\n".join((suite, *packages)) + "\n"
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (marker.exists() and marker.read_text() == expected):
            marker.unlink(missing_ok=True)
            for old in cache.glob("*.deb"):
                old.unlink()
            _download(cache, packages, suite)
            marker.write_text(expected)
        return {package: _one_deb(cache, package) for package in packages}


def _download(cache, packages, suite):
    scratch = cache / "apt"
    shutil.rmtree(scratch, ignore_errors=True)
    for directory in ("state/lists/partial", "cache/archives/partial", "sources", "preferences"):
        (scratch / directory).mkdir(parents=True)
    architectures = sorted({package.rpartition(":")[2] for package in packages})
    (scratch / "sources" / f"{suite}.sources").write_text(
        f"Types: deb\nURIs: {archive_uri()}\nSuites: {suite}\nComponents: main\n"
        f"Architectures: {' '.join(architectures)}\nSigned-By: {ARCHIVE_KEYRING}\n"
    )
    options = {
        "Dir::State": scratch / "state",
        "Dir::State::status": "/dev/null",
        "Dir::Cache": scratch / "cache",
        "Dir::Etc::SourceList": "/dev/null",
        "Dir::Etc::SourceParts": scratch / "sources",
        "Dir::Etc::Preferences": "/dev/null",
        "Dir::Etc::PreferencesParts": scratch / "preferences",
        "APT::Architecture": architectures[0],
        "APT::Architectures": ",".join(architectures),
        "APT::Sandbox::User": "root",
        "Acquire::Check-Valid-Until": "false",
    }
    apt_get = ["apt-get", "-q"] + [f"-o{name}={value}" for name, value in options.items()]
    _run([*apt_get, "update"])
    _run([*apt_get, "download", *packages], cwd=cache)
    shutil.rmtree(scratch)


def _run(command, **kwargs):
    completed = subprocess.run(command, check=False, capture_output=True, text=True, **kwargs)
    if completed.returncode != 0:
        raise FetchError(
            f"{' '.join(map(str, command))} failed ({completed.returncode}):\n{completed.stderr}"
        )
    return completed


def _one_deb(cache, package):
    name, _, arch = package.rpartition(":")
    debs = sorted(Path(cache).glob(f"{name}_*_{arch}.deb"))
    if len(debs) != 1:
        raise FetchError(f"expected one {name}_*_{arch}.deb in {cache}, got {[d.name for d in debs]}")
    return debs[0]
