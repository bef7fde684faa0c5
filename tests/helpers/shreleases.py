"""Other releases of the sh module than bookworm's python3-sh 1.14, from PyPI.

`sh_release("2.4.0")` downloads the pinned wheel once with `python3 -m pip
download --require-hashes` into $PYSHARED_TEST_CACHE (default
~/.cache/dh-pyshared-tests) and unpacks it there; the directory it returns is
put first on PYTHONPATH so that `import sh` finds that release (its
.dist-info next to it gives sh 2.x its __version__).  trixie's python3-sh is
2.2.1; 2.4.0 is what pip installs.  Any failure raises FetchError: the tests
fail loudly, they never skip.
"""

import fcntl
import functools
import shutil
import subprocess
import zipfile

from helpers.interpreters import FetchError, cache_directory

# sha256 of each wheel, as PyPI lists it: pip refuses any other file.
WHEELS = {
    "2.2.1": "c7369c4ae13729d8ea100b5e93af1a8be528a008433428e38651c9f2b5b5fe2c",
    "2.4.0": "98eba32eeb5ecdd310668737d7461e668afc42b273550d0bc198a1c5c2b1ab36",
}
MARKER_NAME = "unpacked.ok"


@functools.cache
def sh_release(version):
    """The directory holding sh `version` as `import sh` finds it."""
    digest = WHEELS[version]
    cache = cache_directory() / "sh-releases"
    cache.mkdir(parents=True, exist_ok=True)
    directory = cache / f"sh-{version}"
    marker = directory / MARKER_NAME
    # Other test runs may share the cache: one fetches, the others wait.
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists() and marker.read_text() == digest:
            return directory
        shutil.rmtree(directory, ignore_errors=True)
        downloads = cache / f"download-{version}"
        shutil.rmtree(downloads, ignore_errors=True)
        downloads.mkdir()
        requirements = downloads / "requirements.txt"
        requirements.write_text(f"sh=={version} --hash=sha256:{digest}\n")
        command = [
            "/usr/bin/python3", "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
            "--require-hashes", "--requirement", str(requirements), "--dest", str(downloads),
        ]  # fmt: skip
        completed = subprocess.run(command, capture_output=True, text=True, check=False)
        wheels = sorted(downloads.glob(f"sh-{version}-*.whl"))
        if completed.returncode != 0 or len(wheels) != 1:
            raise FetchError(
                f"{' '.join(command)} failed ({completed.returncode}):\n{completed.stderr[-4000:]}"
            )
        with zipfile.ZipFile(wheels[0]) as wheel:
            wheel.extractall(directory)
        shutil.rmtree(downloads)
        marker.write_text(digest)
    return directory
