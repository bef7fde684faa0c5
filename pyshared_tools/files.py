"""The one way the tool reads and writes the files of the source package.

Every byte of the source tree is hostile: a file the tool reads (debian/control,
the changelog, snippets, substvars, its own records) must be a regular file,
opened without following a link and without blocking (a FIFO), read up to a
bound and decoded as UTF-8, each refusal one line naming the file.  A file is
written whole to a fresh temporary name in its directory, created with
O_CREAT|O_EXCL|O_NOFOLLOW (so a planted link or file there is never written
through), then renamed over the target, so a reader, or a rerun after a kill,
sees the old text or the new, never half of one.  Every directory written into
is a real directory (lstat, component by component), never a link.
"""

import contextlib
import errno
import os
import stat

from pyshared_tools.errors import SourceFileError

# Larger than any debian/ file a package build has; a bound, not a limit anyone meets.
DEFAULT_LIMIT = 64 << 20
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_TEMPORARY_ATTEMPTS = 100
_TEMPORARY = ".dh-pyshared-tmp"


def _kind(mode):
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _not_regular(path, kind):
    return SourceFileError(
        f"{path} is {kind}, not a regular file",
        "in the source package",
        "replace it with a regular file or remove it",
    )


def _unreadable(path, error):
    return SourceFileError(
        f"cannot read {path}: {error.strerror or error}",
        "in the source package",
        "make it a readable regular file or remove it",
    )


def check_directories(path, create=False, known=None):
    """Every component of the relative directory `path` that exists is a real
    directory (lstat: never a link); with `create`, make the missing ones.
    `known`, a set, holds the directories this run found real already (they
    are not looked up again) and gets the ones found now."""
    if os.path.isabs(path) or ".." in path.split("/"):
        raise SourceFileError(
            f"{path} is not a directory inside the source package",
            "where dh_pyshared writes",
            "report this as a bug in dh_pyshared",
        )
    current = ""
    for part in path.split("/"):
        if part in ("", "."):
            continue
        current = f"{current}/{part}" if current else part
        if known is not None and current in known:
            continue
        try:
            info = os.lstat(current)
        except FileNotFoundError:
            if not create:
                return
            with contextlib.suppress(FileExistsError):  # made since the lstat: checked below
                os.mkdir(current, 0o755)
            info = os.lstat(current)
        if not stat.S_ISDIR(info.st_mode):
            raise SourceFileError(
                f"{current} is {_kind(info.st_mode)}, not a directory",
                "where dh_pyshared writes its files",
                "remove it (dh_clean does) and run dh_pyshared again",
            )
        if known is not None:
            known.add(current)


def read_bytes(path, limit=DEFAULT_LIMIT, missing_ok=False, head=False, known_directories=None):
    """The bytes of the regular file `path` (None when missing and `missing_ok`).

    Never follows a link (in `path`'s directories either), never blocks on a
    FIFO; more than `limit` bytes is an error, or with `head` the first
    `limit` bytes.  A relative path's directories must be real directories
    (`known_directories`: as check_directories' `known`, for many files read
    from one tree)."""
    if not os.path.isabs(path):
        check_directories(os.path.dirname(path), known=known_directories)
    try:
        fd = os.open(path, _READ_FLAGS)
    except FileNotFoundError:
        if missing_ok:
            return None
        raise SourceFileError(
            f"{path} not found", "in the source package", "run dh_pyshared from the source package root"
        ) from None
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise _not_regular(path, "a symbolic link") from None
        try:
            mode = os.lstat(path).st_mode
        except OSError:
            mode = stat.S_IFREG
        if not stat.S_ISREG(mode):
            raise _not_regular(path, _kind(mode)) from None  # a socket: ENXIO
        raise _unreadable(path, error) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise _not_regular(path, _kind(mode))
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as error:
        raise _unreadable(path, error) from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if size > limit:
        if head:
            return data[:limit]
        raise SourceFileError(
            f"{path} is larger than {limit} bytes",
            "in the source package",
            "remove it or make it the file dh_pyshared expects",
        )
    return data


def decode(path, data):
    """`data` as UTF-8 text; anything else is one line naming the file and line."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise SourceFileError(
            f"{path} is not valid UTF-8", f"{path} line {line}", "re-encode the file as UTF-8"
        ) from None


def read_text(path, limit=DEFAULT_LIMIT, missing_ok=False):
    """The UTF-8 text of the regular file `path` (None when missing and `missing_ok`)."""
    data = read_bytes(path, limit, missing_ok)
    return None if data is None else decode(path, data)


def _remove_stale_temporaries(directory, name):
    """Remove what a run killed while writing `name` left (unlink never follows a link)."""
    prefix = f".{name}."
    with os.scandir(directory) as it:
        stale = [
            entry.path for entry in it if entry.name.startswith(prefix) and entry.name.endswith(_TEMPORARY)
        ]
    for path in stale:
        unlink_file(path)


def create_temporary(directory, name, mode=0o644):
    """(fd, path) of a new file next to `name`: created exclusively, never through a link."""
    _remove_stale_temporaries(directory, name)
    for _ in range(_TEMPORARY_ATTEMPTS):
        path = os.path.join(directory, f".{name}.{os.urandom(6).hex()}{_TEMPORARY}")
        try:
            return os.open(path, _CREATE_FLAGS, mode), path
        except FileExistsError:
            continue
    raise SourceFileError(
        f"cannot create a temporary file for {name}",
        f"in {directory}",
        "remove the .*.dh-pyshared-tmp files there and run dh_pyshared again",
    )


def replace_bytes(path, data, durable=False, mode=0o644):
    """Write `data` to `path` atomically (mode as debhelper, less the umask);
    `durable`: on disk before the rename.  A link at `path` is replaced, never followed."""
    directory, name = os.path.split(path)
    if not os.path.isabs(path):
        check_directories(directory)
    fd, temporary = create_temporary(directory or ".", name, mode)
    try:
        with open(fd, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def replace_text(path, text, durable=False):
    """Write `text` to `path` atomically; `durable`: on disk before the rename."""
    replace_bytes(path, text.encode("utf-8"), durable)


def copy_exclusive(source_fd, destination, mode):
    """Copy the open file `source_fd` to the new file `destination`, created
    exclusively without following a link (an existing entry is an error)."""
    fd = os.open(destination, _CREATE_FLAGS, 0o600)
    try:
        with open(fd, "wb") as handle:
            while True:
                chunk = os.read(source_fd, 1 << 20)
                if not chunk:
                    break
                handle.write(chunk)
            os.fchmod(handle.fileno(), mode)
    except BaseException:
        os.unlink(destination)
        raise


def unlink_file(path):
    """Remove `path` (a link is removed, not followed); gone already is fine."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


# May the effective user do it?  Checked while planning, before the first change.


def write_problem(directory):
    """None when the effective user may create and remove entries in
    `directory`, else (what the directory is like, what to do)."""
    info = _lstat_or_none(directory)
    if info is None or not stat.S_ISDIR(info.st_mode):
        return None  # gone, a link or a file: the planner's and apply's guards refuse it
    if _may(directory, os.W_OK | os.X_OK):
        return None
    return _refusal(directory, info, "w")


def read_problem(path):
    """None when the effective user may read the regular file `path`."""
    info = _lstat_or_none(path)
    if info is None or not stat.S_ISREG(info.st_mode) or _may(path, os.R_OK):
        return None
    return _refusal(path, info, "r")


def _lstat_or_none(path):
    try:
        return os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None


def _may(path, mode):
    # faccessat(AT_EACCESS) only where it matters: some sandboxes refuse faccessat2.
    setid = os.geteuid() != os.getuid() or os.getegid() != os.getgid()
    return os.access(path, mode, effective_ids=setid and os.access in os.supports_effective_ids)


def _refusal(path, info, permission):
    """(what `path` is like, what to do) for the `permission` ("r" or "w") it lacks."""
    if permission == "w" and os.statvfs(path).f_flag & os.ST_RDONLY:
        return "read-only file system", "build on a writable file system"
    adjective = "writable" if permission == "w" else "readable"
    mode = f"mode {stat.S_IMODE(info.st_mode):04o}"
    if info.st_uid == os.geteuid():
        return mode, f"make it {adjective} (chmod u+{permission}) in debian/rules before dh_pyshared"
    return (
        f"{mode} owned by uid {info.st_uid}",
        f"make it {adjective} by uid {os.geteuid()} (the user running dh_pyshared) "
        "in debian/rules before dh_pyshared",
    )
