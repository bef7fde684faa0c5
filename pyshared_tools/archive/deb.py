"""One .deb, read with python-debian: the control fields, then the data.tar members, streamed.

Nothing is extracted, no member name is ever used as a file system path and
no symlink member is followed (its target is only text).
"""

import functools
import hashlib
import lzma
import struct
import tarfile
import zlib

from .codes import DEFAULT_MAX_MEMBER_BYTES, control_of, error_text
from .judge import Judge, member_path, unreadable_record

HASH_CHUNK = 1024 * 1024
# What a truncated, corrupt or oddly compressed .deb raises from python-debian, tarfile and the decompressors.
READ_ERRORS = (
    tarfile.TarError,
    EOFError,
    OSError,
    ValueError,
    LookupError,
    lzma.LZMAError,
    zlib.error,
    struct.error,
)


def sha256_stream(stream):
    digest = hashlib.sha256()
    for chunk in iter(functools.partial(stream.read, HASH_CHUNK), b""):
        digest.update(chunk)
    return digest.hexdigest()


def file_sha256(filename):
    """The sha256 of a file, or None when it cannot be read (the scan then reports it)."""
    try:
        with open(filename, "rb") as stream:
            return sha256_stream(stream)
    except OSError:
        return None


def read_control(deb):
    return control_of(deb.debcontrol())


def debfile():
    """python-debian's debfile, without the modules its deb822 imports for what
    reading a .deb's control member never uses (chardet alone is about 20 ms):
    see pyshared_tools/lazy.py.  The pool's parent imports it before forking."""
    from pyshared_tools.lazy import import_deferring

    return import_deferring(
        "debian.debfile",
        deferred=("chardet", "email.utils", "socket", "subprocess", "datetime", "debian.changelog"),
    )


def read_deb(
    filename,
    supported,
    max_member_bytes=DEFAULT_MAX_MEMBER_BYTES,
    index=0,
    digest=False,
    expected_sha256=None,
    hint=None,
):
    """The record of one .deb (judge.Judge.record).  With `digest`, its sha256 is hashed from the
    descriptor that is then read; `expected_sha256` (from a Packages index) must then match.
    `hint` (a Control from the index) names the package when the .deb cannot be read."""
    DebFile = debfile().DebFile
    from debian.arfile import ArError

    control = judge = sha = None
    try:
        with open(filename, "rb") as stream:
            if digest or expected_sha256:
                sha = sha256_stream(stream)
                stream.seek(0)
            if expected_sha256 and sha != expected_sha256:
                return unreadable_record(
                    index, filename, None, hint, f"sha256 {sha} is not the Packages index's {expected_sha256}"
                )
            deb = DebFile(fileobj=stream)
            control = read_control(deb)
            judge = Judge(control, filename, supported, max_member_bytes)
            _judge_members(data_tar(deb), judge)
    except (ArError, *READ_ERRORS, *_zstd_errors()) as error:
        if judge is None:
            return unreadable_record(index, filename, sha, control or hint, error)
        judge.add(filename, "unreadable-deb", error_text(error))
    judge.finish()
    return judge.record(index, filename, sha)


def _zstd_errors():
    try:
        import zstandard
    except ImportError:
        return ()
    return (zstandard.ZstdError,)


def data_tar(deb):
    """The data.tar of a DebFile, streamed.  python-debian reads a zstd data.tar whole into memory
    through unzstd; with python3-zstandard it is streamed like the others."""
    names = [name for name in deb.getnames() if name.startswith("data.tar")]
    if names[:1] and names[0].endswith(".zst"):
        try:
            import zstandard
        except ImportError:
            return deb.data.tgz()
        reader = zstandard.ZstdDecompressor().stream_reader(deb.getmember(names[0]))
        return tarfile.open(fileobj=reader, mode="r|")
    return deb.data.tgz()


def _judge_members(tar, judge):
    for info in tar:
        path, unsafe = member_path(info.name)
        if unsafe:
            judge.unsafe(info.name, unsafe)
            continue
        judge.entry(path, info.isdir(), info.isreg(), info.size, functools.partial(_read_member, tar, info))


def _read_member(tar, info, limit):
    with tar.extractfile(info) as member:
        return member.read(limit)
