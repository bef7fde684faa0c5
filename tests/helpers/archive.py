"""Real bookworm .debs, fetched with the system's apt (`apt-get download`,
after one `apt-get update` if the first attempt fails) into the tests cache
directory (tests/helpers/interpreters.py: $PYSHARED_TEST_CACHE, default
~/.cache/dh-pyshared-tests), once per list of packages, under a lock.  A
fetch failure raises: the tests fail, nothing is skipped.
"""

import fcntl
import shutil
import subprocess

from helpers.interpreters import FetchError, cache_directory

MARKER_NAME = "downloaded.ok"


def fetch_debs(packages, cache_name):
    """{package: .deb path} for `packages`, downloaded once into cache_name/."""
    cache = cache_directory() / cache_name
    cache.mkdir(parents=True, exist_ok=True)
    marker = cache / MARKER_NAME
    expected = "\n".join(packages) + "\n"
    # Concurrent test runs may share the cache: one fetches, the others wait.
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (marker.exists() and marker.read_text() == expected):
            marker.unlink(missing_ok=True)
            _download(cache, packages)
            marker.write_text(expected)
        return {package: _one_deb(cache, package) for package in packages}


def _download(cache, packages):
    scratch = cache / "partial"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    # Root downloads into a root-owned directory: _apt could not write there.
    command = ["apt-get", "-q", "-oAPT::Sandbox::User=root", "download", *packages]
    if _apt(command, scratch).returncode != 0:
        update = _apt(["apt-get", "-q", "update"], scratch)
        if update.returncode != 0:
            raise FetchError(f"apt-get update failed ({update.returncode}):\n{update.stderr}")
        retry = _apt(command, scratch)
        if retry.returncode != 0:
            raise FetchError(f"{' '.join(command)} failed ({retry.returncode}):\n{retry.stderr}")
    for old in cache.glob("*.deb"):
        old.unlink()
    for deb in scratch.glob("*.deb"):
        deb.rename(cache / deb.name)
    scratch.rmdir()


def _apt(command, cwd):
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)


def _one_deb(cache, package):
    debs = sorted(cache.glob(f"{package}_*.deb"))
    if len(debs) != 1:
        raise FetchError(f"expected one {package}_*.deb in {cache}, got {[d.name for d in debs]}")
    return debs[0]
