"""Throwaway Debian bookworm roots for tests that run the real dpkg, and piuparts.

`base_tarball()` debootstraps a bookworm minbase root (plus python3) once, from
the archive this machine's apt uses (`archive_uri()`), and keeps it as a .tgz in
$PYSHARED_TEST_CACHE (default ~/.cache/dh-pyshared-tests).  The tarball has the
chroot's root as its root and numeric owners, so piuparts takes it as
`--basetgz`.

`Chroot` unpacks that tarball into a fresh directory per test (by default in
/dev/shm when that tmpfs allows it: see scratch_directory()) and runs commands in
it with chroot(8); dpkg's maintainer scripts then run with the chroot's own
/bin/sh.  Nothing is mounted: dpkg, its maintainer scripts and the coreutils they
use need neither /proc nor /dev/pts (the tarball carries /dev/null and the other
device nodes debootstrap made).  What needs /proc (ps, pidof, anything reading
/proc/self, as sbuild and pbuilder provide it) runs inside `Chroot.proc_mounted()`,
which mounts it and always unmounts it; `Chroot.remove()` refuses to delete a
root with anything still mounted in it.

`piuparts()` runs piuparts on local .debs with that base tarball.  Given
`old_debs`, it also runs piuparts' upgrade test: the old .debs go into a flat
local repository that is bind-mounted into piuparts' chroot and named with
--extra-repo, so apt knows the packages and piuparts installs the old versions
with apt-get before installing the given .debs over them.  piuparts still needs
the archive: with --basetgz it skips debootstrap but runs `apt-get update` and
`apt-get dist-upgrade` in its chroot, against --mirror (the archive_uri()).

Root only (debootstrap, chroot, mount).  Any failure to build the tarball raises
FetchError: the tests fail loudly, they never skip.
"""

import contextlib
import fcntl
import functools
import hashlib
import os
import re
import shutil
import stat
import subprocess
import tempfile
import time
from pathlib import Path

from helpers.interpreters import ARCHIVE_KEYRING, HOST_SUITE, FetchError, archive_uri, cache_directory

# Hashed into the tarball's name: changing the recipe builds a new tarball, never reuses a stale one.
BASE_RECIPE = ("apt lists and caches emptied", "tar --numeric-owner -czf")
CHROOT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Left out of snapshot(): kernel and device trees, logs, caches, scratch space,
# and dpkg's database (which records every install and purge by design).
SNAPSHOT_EXCLUDES = ("/proc", "/sys", "/dev", "/var/log", "/var/cache", "/tmp", "/var/lib/dpkg")
PIUPARTS_TIMEOUT = 1800
# A cached root tarball nobody asked for in 30 days is deleted.
STALE_SECONDS = 30 * 24 * 3600
# A throwaway root is ~250 MB; unpacking it on this machine's disk takes ~8 s, in tmpfs ~1.5 s.
FAST_SCRATCH = Path("/dev/shm")
FAST_SCRATCH_MINIMUM_FREE = 4 << 30


def _architecture():
    return _run(["dpkg", "--print-architecture"]).stdout.strip()


def _run(command, **kwargs):
    completed = subprocess.run(command, check=False, capture_output=True, text=True, **kwargs)
    if completed.returncode != 0:
        raise FetchError(
            f"{' '.join(map(str, command))} failed ({completed.returncode}):\n"
            f"{completed.stdout[-4000:]}\n{completed.stderr[-4000:]}"
        )
    return completed


def chroot_environment(extra=None):
    """A clean environment for commands in the chroot: nothing of the host's leaks in."""
    environment = {
        "PATH": CHROOT_PATH,
        "HOME": "/root",
        "LC_ALL": "C.UTF-8",
        "DEBIAN_FRONTEND": "noninteractive",
        "DEBCONF_NONINTERACTIVE_SEEN": "true",
    }
    environment.update(extra or {})
    return environment


@functools.cache
def base_tarball(suite=HOST_SUITE, include=("python3",)):
    """The cached minbase root of `suite` with `include` as a .tgz (piuparts'
    --basetgz for bookworm); built once.

    Each suite and include list is a tarball of its own, with a lock of its own:
    a test run waits only for the tarball it asks for.  Each use touches it; one
    nobody asked for in STALE_SECONDS (an older recipe, an include list no test
    names any more) is deleted.
    """
    cache = cache_directory()
    cache.mkdir(parents=True, exist_ok=True)
    options = ("--variant=minbase", "--include=" + ",".join(include))
    recipe = hashlib.sha256("\0".join((*options, *BASE_RECIPE)).encode()).hexdigest()[:12]
    tarball = cache / f"{suite}-minbase-{_architecture()}-{recipe}.tgz"
    # Parallel workers and other test runs share the cache: one builds, the others wait.
    with open(tarball.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not tarball.exists():
            # What an interrupted build of this tarball left behind.
            for stale in cache.glob(f"bootstrap-{tarball.stem}-*"):
                shutil.rmtree(stale, ignore_errors=True)
            _build_base_tarball(tarball, suite, options)
        os.utime(tarball)
    _remove_stale_tarballs(cache)
    return tarball


def _remove_stale_tarballs(cache):
    unused_since = time.time() - STALE_SECONDS
    for stale in cache.glob("*-minbase-*.tgz"):
        try:
            if stale.stat().st_mtime < unused_since:
                stale.unlink()
                stale.with_suffix(".lock").unlink(missing_ok=True)
        except FileNotFoundError:
            pass


def _build_base_tarball(tarball, suite, options):
    scratch = Path(tempfile.mkdtemp(prefix=f"bootstrap-{tarball.stem}-", dir=tarball.parent))
    try:
        root = scratch / "root"
        command = ["debootstrap", *options, f"--keyring={ARCHIVE_KEYRING}"]
        try:
            _run([*command, suite, str(root), archive_uri()])
        except FetchError as error:
            log = root / "debootstrap" / "debootstrap.log"
            if log.exists():
                raise FetchError(f"{error}\n{log}:\n{log.read_text(errors='replace')[-4000:]}") from None
            raise
        # piuparts runs `apt-get update` itself; the lists and .debs would only
        # make the tarball bigger (~65 MB as it is, ~250 MB unpacked).
        lists = root / "var/lib/apt/lists"
        shutil.rmtree(lists)
        (lists / "partial").mkdir(parents=True)
        _run(["chroot", str(root), "apt-get", "clean"], env=chroot_environment())
        partial = scratch / "base.tgz"
        _run(["tar", "--numeric-owner", "-czf", str(partial), "-C", str(root), "."])
        partial.chmod(0o644)
        os.replace(partial, tarball)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@functools.cache
def scratch_directory():
    """Where throwaway roots go: /dev/shm if it is a mount that allows exec, devices and setuid
    (what a root, and piuparts' --tmpdir, need) and has room; else None, the system's temp dir."""
    try:
        info = os.statvfs(FAST_SCRATCH)
    except OSError:
        return None
    forbidding = os.ST_RDONLY | os.ST_NOEXEC | os.ST_NODEV | os.ST_NOSUID
    roomy = info.f_bavail * info.f_frsize >= FAST_SCRATCH_MINIMUM_FREE
    writable = os.access(FAST_SCRATCH, os.W_OK | os.X_OK)
    return str(FAST_SCRATCH) if roomy and writable and not info.f_flag & forbidding else None


class Chroot:
    """A throwaway root unpacked from base_tarball(); a context manager that removes it on exit."""

    def __init__(self, root, owned=None):
        self.root = Path(root)
        self._owned = owned

    @classmethod
    def unpack(cls, directory=None, tarball=None):
        """Unpack `tarball` (default base_tarball()) into `directory`/root.

        Without `directory`, into a new directory under scratch_directory(), which
        remove() (or leaving the `with` block) deletes along with the root.
        """
        tarball = tarball or base_tarball()
        owned = None
        if directory is None:
            directory = owned = Path(tempfile.mkdtemp(prefix="pyshared-chroot-", dir=scratch_directory()))
        root = Path(directory) / "root"
        try:
            root.mkdir(parents=True)
            root.chmod(0o755)
            _run(["tar", "--numeric-owner", "-xzf", str(tarball), "-C", str(root)])
        except BaseException:
            shutil.rmtree(owned or root, ignore_errors=True)
            raise
        return cls(root, owned)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.remove()

    def remove(self):
        """Delete the whole root; refuses (raises) while anything is mounted in it."""
        mounted = mounts_under(self.root)
        if mounted:
            raise RuntimeError(f"not removing {self.root}: still mounted there: {', '.join(mounted)}")
        shutil.rmtree(self._owned or self.root, ignore_errors=True)

    @contextlib.contextmanager
    def proc_mounted(self):
        """/proc mounted in the root for the `with` block, as sbuild and pbuilder do; unmounted
        on the way out whatever happens (lazily if a process still holds it)."""
        target = self.path("/proc")
        target.mkdir(exist_ok=True)
        _run(["mount", "-t", "proc", "proc", str(target)])
        try:
            yield target
        finally:
            unmount(target)

    def path(self, inside):
        """The host path of `inside`, an absolute path in the chroot."""
        return self.root / str(inside).lstrip("/")

    def run(self, *argv, **kwargs):
        return run(self.root, *argv, **kwargs)

    def dpkg(self, *args, **kwargs):
        return dpkg(self.root, *args, **kwargs)

    def install(self, *debs, check=True):
        return install(self.root, *debs, check=check)

    def snapshot(self):
        return snapshot(self.root)


def mounts_under(root):
    """The mount points at or below `root`, from this machine's /proc/self/mountinfo."""
    root = os.path.realpath(root)
    points = []
    with open("/proc/self/mountinfo") as mountinfo:
        for line in mountinfo:
            # Field 5 is the mount point, with space, tab, newline and backslash octal-escaped.
            point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), line.split()[4])
            if point == root or point.startswith(root + "/"):
                points.append(point)
    return points


def unmount(target):
    """umount `target`; if it is busy, detach it (umount --lazy); raises if it stays mounted."""
    if subprocess.run(["umount", str(target)], capture_output=True, check=False).returncode != 0:
        _run(["umount", "--lazy", str(target)])
    if os.path.realpath(target) in mounts_under(target):
        raise RuntimeError(f"{target} is still mounted")


def run(root, *argv, check=True, env=None, input=None, timeout=600, cwd=None):
    """Run argv in the chroot at `root` (in `cwd`, a path in the chroot, if given: env --chdir);
    text stdout/stderr captured; raises on failure if `check`."""
    command = ["chroot", str(root), *(["env", f"--chdir={cwd}"] if cwd else []), *map(str, argv)]
    completed = subprocess.run(
        command,
        capture_output=True,
        text=True,
        input=input,
        env=chroot_environment(env),
        timeout=timeout,
        check=False,
    )
    if check and completed.returncode != 0:
        raise AssertionError(
            f"in {root}: {' '.join(map(str, argv))} failed ({completed.returncode}):\n"
            f"stdout:\n{completed.stdout}\nstderr:\n{completed.stderr}"
        )
    return completed


def dpkg(root, *args, **kwargs):
    """Run the chroot's own dpkg with `args`; maintainer scripts run inside the chroot."""
    return run(root, "dpkg", *args, **kwargs)


def install(root, *debs, check=True):
    """Copy the .debs into the chroot's /tmp and `dpkg -i` them there; they are removed afterwards."""
    scratch = Path(tempfile.mkdtemp(prefix="debs-", dir=Path(root) / "tmp"))
    try:
        inside = []
        for deb in debs:
            shutil.copy(deb, scratch / Path(deb).name)
            inside.append(f"/tmp/{scratch.name}/{Path(deb).name}")
        return dpkg(root, "-i", *inside, check=check)
    finally:
        shutil.rmtree(scratch)


def snapshot(root, excludes=SNAPSHOT_EXCLUDES):
    """{"/path": (type, mode, sha256 or link target)} for the whole root but `excludes`.

    type is "dir", "file", "link" or "other" (device, fifo, socket); a dir's third
    field is None, an "other"'s is its st_rdev.
    """
    root = Path(root)
    entries = {}
    for directory, dirnames, filenames in os.walk(root):
        relative = Path(directory).relative_to(root).as_posix()
        inside = "/" if relative == "." else f"/{relative}"
        # Pruned here, so os.walk does not descend (it never follows symlinked directories).
        dirnames[:] = [name for name in dirnames if _join(inside, name) not in excludes]
        for name in dirnames + filenames:
            path = Path(directory) / name
            key = _join(inside, name)
            if key in excludes:
                continue
            info = path.lstat()
            mode = stat.S_IMODE(info.st_mode)
            if stat.S_ISLNK(info.st_mode):
                entries[key] = ("link", mode, os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                entries[key] = ("dir", mode, None)
            elif stat.S_ISREG(info.st_mode):
                entries[key] = ("file", mode, _sha256(path))
            else:
                entries[key] = ("other", mode, info.st_rdev)
    return entries


def _join(inside, name):
    return f"{inside.rstrip('/')}/{name}"


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def local_repository(debs, directory):
    """A flat apt repository (Packages, no Release) of `debs` in `directory`, world-readable.

    apt takes it as `deb [trusted=yes] file://DIRECTORY ./`; _apt must be able to read it.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o755)
    for deb in debs:
        target = directory / Path(deb).name
        shutil.copy(deb, target)
        target.chmod(0o644)
    packages = _run(["dpkg-scanpackages", "--multiversion", ".", "/dev/null"], cwd=directory).stdout
    (directory / "Packages").write_text(packages)
    (directory / "Packages").chmod(0o644)
    return directory


def piuparts(
    debs,
    *,
    basetgz,
    extra_args=(),
    old_debs=None,
    install_remove_install=None,
    tmpdir=None,
    timeout=PIUPARTS_TIMEOUT,
):
    """Run piuparts on the local `debs` with `basetgz`; with `old_debs`, also its upgrade test old -> new.

    Without `old_debs` there is no upgrade test (--no-upgrade-test), not even from a
    same-named package in the archive.  With them, piuparts installs the old versions
    with apt-get from a local repository, then the new .debs over them.

    `install_remove_install` (default: only without `old_debs`) passes
    --install-remove-install.  piuparts applies it to the upgrade test too, as
    "install old, remove it, install new": the new version is then installed over
    config files only, never over the installed old version (dpkg says "Unpacking
    P (new) ...", not "Unpacking P (new) over (old) ..."), so a real upgrade needs it off.

    `tmpdir` (default scratch_directory()) holds piuparts' chroot and the repository.
    Returns (returncode, log text: piuparts' stdout and stderr).
    """
    if install_remove_install is None:
        install_remove_install = not old_debs
    command = [
        "piuparts",
        f"--basetgz={basetgz}",
        f"--distribution={HOST_SUITE}",
        f"--mirror={archive_uri()} main",
        # The machine's apt does not check Valid-Until (a snapshot mirror); nor does piuparts' chroot.
        "--no-check-valid-until",
        "--fail-on-broken-symlinks",
    ]
    if install_remove_install:
        command.append("--install-remove-install")
    tmpdir = tmpdir or scratch_directory()
    if tmpdir:
        command.append(f"--tmpdir={tmpdir}")
    repository = None
    try:
        if old_debs:
            # Bind-mounted at the same path in piuparts' chroot; outside pytest's 0700 tmp dirs.
            repository = Path(tempfile.mkdtemp(prefix="piuparts-old-", dir=tmpdir))
            local_repository(old_debs, repository)
            command += [f"--bindmount={repository}", f"--extra-repo=deb [trusted=yes] file://{repository} ./"]
        else:
            command.append("--no-upgrade-test")
        command += [*extra_args, *map(str, debs)]
        completed = subprocess.run(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            check=False,
            env={**os.environ, "LC_ALL": "C.UTF-8"},
        )
        return completed.returncode, completed.stdout
    finally:
        if repository:
            shutil.rmtree(repository, ignore_errors=True)
