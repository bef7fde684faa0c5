"""bookworm's Contents index, downloaded once into the test cache."""

import fcntl
import shutil
import urllib.request

from helpers.interpreters import archive_uri, cache_directory


def bookworm_contents():
    """bookworm's main/Contents-amd64.gz from the mirror apt uses, cached with the tests' downloads
    (whichever point release it is: the test below asserts nothing a point release can change)."""
    target = cache_directory() / "bookworm-main_Contents-amd64.gz"  # benchmarks/scan_bench.py's too
    target.parent.mkdir(parents=True, exist_ok=True)
    # Concurrent test runs may share the cache: one fetches, the others wait.
    with open(target.with_name(target.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not target.exists():
            url = f"{archive_uri().rstrip('/')}/dists/bookworm/main/Contents-amd64.gz"
            partial = target.with_name(target.name + ".partial")
            with urllib.request.urlopen(url, timeout=120) as response, open(partial, "wb") as out:
                shutil.copyfileobj(response, out)
            partial.rename(target)
    return target
