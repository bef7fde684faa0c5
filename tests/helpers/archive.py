"""Real bookworm .debs, each the exact one pinned in tests/data/archive-pins.txt
(version, SHA256 and pool path), so that a point release or a security upload
cannot change what a test reads.

Each .deb is fetched from the archive this machine's apt uses (archive_uri()),
or, once a point release has removed it there, from snapshot.debian.org at the
pins' `snapshot` time; only bytes with the pinned SHA256 are kept.  They are
cached in the tests cache directory (tests/helpers/interpreters.py:
$PYSHARED_TEST_CACHE, default ~/.cache/dh-pyshared-tests), pinned-<cache
name>/, under a lock, and checked against their SHA256 at every use.  A pin
found nowhere raises FetchError naming the line to update: the tests fail,
nothing is skipped.
"""

import contextlib
import fcntl
import hashlib
import http.client
import os
import subprocess
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from helpers.interpreters import FetchError, archive_uri, cache_directory

PINS = Path(__file__).resolve().parent.parent / "data" / "archive-pins.txt"
SNAPSHOT = "https://snapshot.debian.org/archive/debian/{stamp}/"
TIMEOUT = 120


@dataclass(frozen=True)
class Pin:
    package: str
    version: str
    sha256: str
    filename: str  # the pool path, relative to the archive's root


@dataclass(frozen=True)
class Pins:
    architecture: str
    snapshot: str
    debs: dict  # package -> Pin
    path: Path


def read_pins(path=PINS):
    settings, debs = {}, {}
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        words = line.split("#", 1)[0].split()
        if len(words) == 2 and words[0] in ("architecture", "snapshot"):
            settings[words[0]] = words[1]
        elif len(words) == 4 and len(words[2]) == 64 and words[3].endswith(".deb"):
            if words[0] in debs:
                raise FetchError(f"{path}:{number}: a second pin for {words[0]}: keep one line per package")
            debs[words[0]] = Pin(*words)
        elif words:
            raise FetchError(f"{path}:{number}: not PACKAGE VERSION SHA256 FILENAME: {line!r}")
    missing = {"architecture", "snapshot"} - set(settings)
    if missing:
        raise FetchError(f"{path}: no {' or '.join(sorted(missing))} line")
    return Pins(settings["architecture"], settings["snapshot"], debs, Path(path))


def fetch_debs(packages, cache_name, pins=None, mirrors=None):
    """{package: .deb path} for `packages`, their pinned .debs, in cache_name's directory
    (which holds exactly those).  `mirrors`: the base URLs to try, by default the
    archive apt uses, then snapshot.debian.org."""
    pins = pins or read_pins()
    unpinned = [package for package in packages if package not in pins.debs]
    if unpinned:
        raise FetchError(f"no pin for {', '.join(unpinned)} in {pins.path}: add a line for each")
    architecture = host_architecture()
    if architecture != pins.architecture:
        raise FetchError(
            f"the .debs pinned in {pins.path} are {pins.architecture}'s, this machine is {architecture}: "
            "pin the .debs of this architecture"
        )
    cache = cache_directory() / f"pinned-{cache_name}"
    cache.mkdir(parents=True, exist_ok=True)
    wanted = {package: cache / os.path.basename(pins.debs[package].filename) for package in packages}
    # Concurrent test runs may share the cache: one fetches, the others wait.
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for package, path in wanted.items():
            pin = pins.debs[package]
            if not (path.is_file() and _sha256(path.read_bytes()) == pin.sha256):
                _download(pin, path, mirrors if mirrors is not None else _mirrors(pins), pins.path)
        for stray in {*cache.glob("*.deb"), *cache.glob("*.partial")} - set(wanted.values()):
            stray.unlink()
    return wanted


def _mirrors(pins):
    mirrors = []
    with contextlib.suppress(FetchError):  # no bookworm source in apt's sources: snapshot only
        mirrors.append(archive_uri().rstrip("/") + "/")
    return [*mirrors, SNAPSHOT.format(stamp=pins.snapshot)]


def _download(pin, path, mirrors, pins_path):
    problems = []
    for mirror in mirrors:
        url = mirror + pin.filename
        try:
            with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
                data = response.read()
        except (OSError, http.client.HTTPException) as error:
            problems.append(f"{url}: {error}")
            continue
        digest = _sha256(data)
        if digest != pin.sha256:
            problems.append(f"{url}: SHA256 {digest}, not the pinned {pin.sha256}")
            continue
        partial = path.with_name(path.name + ".partial")
        partial.write_bytes(data)
        partial.rename(path)
        return
    raise FetchError(
        f"the pinned {pin.package} {pin.version} is in none of the mirrors ({'; '.join(problems)}): "
        f"update the line '{pin.package} ...' in {pins_path} (see the comment at its top)"
    )


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


def host_architecture():
    return subprocess.run(
        ["dpkg", "--print-architecture"], capture_output=True, text=True, check=True
    ).stdout.strip()
