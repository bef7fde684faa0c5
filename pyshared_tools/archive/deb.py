"""One .deb: its ar members as dpkg reads them, the control fields, then the data.tar members, streamed.

Every byte is hostile and memory stays bounded whatever the .deb claims: the ar
headers are read one at a time (in dpkg's order: debian-binary, `_` members,
control.tar, data.tar) and a member must lie inside the file; control.tar is
capped before it is decompressed (its size in the ar header) and while it is
(MAX_CONTROL_TAR_BYTES, MAX_CONTROL_BYTES for the control file); the tars are
listed by tarstream.TarReader (the headers dpkg-deb writes parsed there, any
other by tarfile), tar headers that tarfile would read whole (pax, GNU long
names) are capped and sparse members refused; the number of members and the
bytes of names kept are capped.
Every compressed stream is read to its end, so a .deb missing its last bytes
is unreadable, never judged from what could be read.  zstd is streamed with
python3-zstandard, else through a pipe from `zstd -dc` (bounded by the pipe).

Nothing is extracted, no member name is ever used as a file system path and
no symlink member is followed (its target is only text).
"""

import bz2
import contextlib
import functools
import gzip
import hashlib
import lzma
import os
import re
import stat
import struct
import tarfile
import zlib

from pyshared_tools.indexes import READ_CHUNK, CorruptStream, Forward, zstd_stream

from .codes import DEFAULT_MAX_MEMBER_BYTES
from .judge import Judge, RecordTooLarge, member_path, unreadable_record
from .model import deb_control_of, escaped
from .tarstream import MAX_HEADER_BYTES, ChunkStream, TarReader  # noqa: F401 - MAX_HEADER_BYTES: manpages/pyshared_scan

HASH_CHUNK = 1024 * 1024
RAW_CHUNK = 8192  # compressed bytes read at a time (_compression.BUFFER_SIZE, as LZMAFile reads)
# Sane maxima for what dpkg-deb writes: a control.tar of a package with 100 000 files holds a few MiB.
MAX_CONTROL_MEMBER_BYTES = 64 * 1024 * 1024  # the compressed control.tar member
MAX_CONTROL_TAR_BYTES = 256 * 1024 * 1024  # control.tar decompressed
MAX_CONTROL_BYTES = 16 * 1024 * 1024  # the control file in it
MAX_MEMBERS = 2_000_000  # data.tar members


class DebReadError(Exception):
    """The .deb is not one dpkg would unpack, or is damaged: an unreadable-deb finding."""


# What a truncated, corrupt or oddly compressed .deb raises from tarfile and the decompressors.
READ_ERRORS = (
    DebReadError,
    CorruptStream,
    RecordTooLarge,
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


def open_regular(filename):
    """`filename` opened for reading if it is a regular file (a FIFO or a device would never end)."""
    descriptor = os.open(filename, os.O_RDONLY | os.O_NONBLOCK)
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        raise DebReadError("not a regular file")
    return os.fdopen(descriptor, "rb")


def file_sha256(filename):
    """The sha256 of a file, or None when it cannot be read (the scan then reports it)."""
    try:
        with open_regular(filename) as stream:
            return sha256_stream(stream)
    except (OSError, DebReadError):
        return None


# --- ar -------------------------------------------------------------------------------------------

_AR_MAGIC = b"!<arch>\n"
_AR_HEADER = 60
_MEMBER_NAME = re.compile(r"(?:control|data)\.tar(?:\.(?:gz|xz|bz2|lzma|zst))?\Z")


class Member:
    """One ar member: its name, the offset of its data in the .deb and its size."""

    def __init__(self, stream, name, offset, size, short=None):
        self.stream, self.name, self.offset, self.size = stream, name, offset, size
        self.short = short  # the DebReadError of a member the file holds only part of

    def reader(self):
        return _Region(self.stream, self.offset, self.size)


class _Region:
    """A read-only stream of `size` bytes at `offset` of `stream` (the .deb, shared)."""

    def __init__(self, stream, offset, size):
        self.stream, self.start, self.position, self.end = stream, offset, offset, offset + size

    def read(self, size=-1):
        left = self.end - self.position
        size = left if size is None or size < 0 else min(size, left)
        if size <= 0:
            return b""
        self.stream.seek(self.position)
        data = self.stream.read(size)
        self.position += len(data)
        return data

    def seek(self, offset, whence=0):
        base = {0: self.start, 1: self.position, 2: self.end}[whence]
        self.position = min(max(base + offset, self.start), self.end)
        return self.position - self.start

    def tell(self):
        return self.position - self.start

    def readable(self):
        return True

    def seekable(self):
        return True

    def close(self):
        pass


def ar_members(stream):
    """The control.tar and data.tar Members of a .deb, in dpkg's order; DebReadError otherwise."""
    size = os.fstat(stream.fileno()).st_size
    stream.seek(0)
    if stream.read(len(_AR_MAGIC)) != _AR_MAGIC:
        raise DebReadError("not a .deb (no ar archive magic)")
    position = len(_AR_MAGIC)
    found = {}
    while "data" not in found:
        header = stream.read(_AR_HEADER)
        if len(header) < _AR_HEADER:
            missing = (
                "debian-binary" if not found else "control.tar" if "control" not in found else "data.tar"
            )
            raise DebReadError(f"the .deb ends before its {missing} member (truncated?)")
        if header[58:60] != b"`\n" or not header[48:58].strip().isdigit():
            raise DebReadError(f"corrupt ar member header at byte {position}")
        name = header[:16].decode("ascii", "backslashreplace").rstrip().removesuffix("/")
        length = int(header[48:58])
        offset = position + _AR_HEADER
        if offset + length > size:
            short = DebReadError(
                f"member {name} claims {length} bytes, the file has {size - offset} left (truncated?)"
            )
            if name.startswith("data.tar") and "control" in found:
                found["data"] = Member(stream, name, offset, length, short)  # the control names the package
                break
            raise short
        position = offset + length + (length & 1)
        stream.seek(position)
        if not found:
            if name != "debian-binary":
                raise DebReadError(f"first member is {name!r}, not debian-binary")
            found["debian-binary"] = None
            continue
        if name.startswith("_"):
            continue
        kind = name.split(".", 1)[0]
        expected = "control" if "control" not in found else "data"
        if kind != expected or not _MEMBER_NAME.match(name):
            raise DebReadError(f"member {name!r} where dpkg expects {expected}.tar[.gz|.xz|.zst|...]")
        found[kind] = Member(stream, name, offset, length)
    return found["control"], found["data"]


# --- decompression --------------------------------------------------------------------------------


def decompressed(member):
    """A file object of the decompressed member (read, tell, forward seek); reading it to its end
    raises when the compressed stream ends early."""
    source = member.reader()
    extension = member.name.rpartition(".")[2]
    if extension == "gz":
        return gzip.GzipFile(fileobj=source, mode="rb")
    if extension in ("xz", "lzma"):
        return ChunkStream(_decompressed_chunks(source, lzma.LZMADecompressor, lzma.LZMAError))
    if extension == "bz2":
        return ChunkStream(_decompressed_chunks(source, bz2.BZ2Decompressor, OSError))
    if extension == "zst":
        try:
            import zstandard
        except ImportError:
            return _zstd_command(source)
        return zstd_stream(source, zstandard)
    return ChunkStream(functools.partial(source.read, READ_CHUNK))


def _decompressed_chunks(source, decompressor_type, trailing_error):
    """The chunks lzma.LZMAFile (bz2.BZ2File) reads, as the decompressor gives them, without their
    copy into a buffer: the loop of the standard library's _compression.DecompressReader.read(),
    with its reads of RAW_CHUNK compressed bytes, so that a stream that ends early raises the same
    EOFError and concatenated streams and trailing bytes are taken alike."""
    decompressor = decompressor_type()

    def next_chunk():
        nonlocal decompressor
        while True:
            if decompressor.eof:
                raw = decompressor.unused_data or source.read(RAW_CHUNK)
                if not raw:
                    return b""
                decompressor = decompressor_type()  # the next concatenated stream
                try:
                    data = decompressor.decompress(raw, READ_CHUNK)
                except trailing_error:
                    return b""  # trailing bytes that are no stream: ignored
            else:
                if decompressor.needs_input:
                    raw = source.read(RAW_CHUNK)
                    if not raw:
                        raise EOFError("Compressed file ended before the end-of-stream marker was reached")
                else:
                    raw = b""
                data = decompressor.decompress(raw, READ_CHUNK)
            if data:
                return data

    return next_chunk


def _zstd_command(source):
    """zstd without python3-zstandard: `zstd -dc` through pipes, fed and read a chunk at a time."""
    import fcntl

    import sh

    try:
        command = sh.Command("zstd")
    except sh.CommandNotFound:
        raise DebReadError(
            "a zstd-compressed member needs python3-zstandard (or the zstd command): "
            "apt-get install python3-zstandard"
        ) from None
    read_end, write_end = os.pipe()
    with contextlib.suppress(OSError, AttributeError):  # fewer, larger reads where Linux allows
        fcntl.fcntl(read_end, fcntl.F_SETPIPE_SZ, READ_CHUNK)
    errors = []
    try:
        process = command(
            "-dcq",
            _in=iter(functools.partial(source.read, 65536), b""),
            _out=write_end,
            _err=errors.append,
            _bg=True,
            _bg_exc=False,
            _tty_out=False,
            _in_bufsize=65536,
        )
    finally:
        os.close(write_end)

    def finish():
        try:
            process.wait()
        except sh.ErrorReturnCode as error:
            message = escaped("".join(str(part) for part in errors)).strip().replace("\n", " ")[:200]
            raise DebReadError(f"zstd -dc failed ({message or error.exit_code})") from None

    def close():
        os.close(read_end)
        if process.is_alive():
            process.kill()
        with contextlib.suppress(sh.ErrorReturnCode):
            process.wait()

    return Forward(functools.partial(os.read, read_end, READ_CHUNK), finish, close)


# --- tar ------------------------------------------------------------------------------------------


def tar_entries(reader):
    """The members of a TarReader (name, is_dir, is_regular, size, data offset), counted."""
    for count, member in enumerate(reader, 1):
        if count > MAX_MEMBERS:
            raise DebReadError(f"more than {MAX_MEMBERS} data.tar members")
        yield member


def drain(stream, limit=None, what=None):
    """Read a decompressed stream to its end (the decompressor then checks the stream is whole)."""
    while stream.read(READ_CHUNK):
        if limit is not None and stream.tell() > limit:
            raise DebReadError(f"{what} inflates to more than {limit} bytes")


# --- control and data -----------------------------------------------------------------------------


def read_deb_control(member):
    """The DebControl of a control.tar member, read within the caps."""
    from pyshared_tools.lazy import deb822

    Deb822 = deb822().Deb822

    if member.size > MAX_CONTROL_MEMBER_BYTES:
        raise DebReadError(f"{member.name} is {member.size} bytes, above {MAX_CONTROL_MEMBER_BYTES}")
    reader = TarReader(decompressed(member))
    try:
        text = None
        for entry in tar_entries(reader):
            name, _, is_regular, size, offset = entry
            is_control = text is None and is_regular and name in ("control", "./control")
            if is_control and size > MAX_CONTROL_BYTES:
                raise DebReadError(f"the control file is {size} bytes, above {MAX_CONTROL_BYTES}")
            if offset + size > MAX_CONTROL_TAR_BYTES:
                raise DebReadError(f"{member.name} inflates to more than {MAX_CONTROL_TAR_BYTES} bytes")
            if is_control:
                text = reader.read(entry, MAX_CONTROL_BYTES + 1)
        drain(reader.stream, MAX_CONTROL_TAR_BYTES, member.name)
    finally:
        reader.stream.close()
    if text is None:
        raise DebReadError(f"no control file in {member.name}")
    fields = Deb822(text.decode("utf-8"))
    return deb_control_of(fields)


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
    `hint` (a DebControl from the index) names the package when the .deb cannot be read.  A .deb that
    cannot be read whole is one unreadable-deb finding, nothing judged from a part of it."""
    control = sha = None
    try:
        with open_regular(filename) as stream:
            if digest or expected_sha256:
                sha = sha256_stream(stream)
                stream.seek(0)
            if expected_sha256 and sha != expected_sha256:
                return unreadable_record(
                    index, filename, None, hint, f"sha256 {sha} is not the Packages index's {expected_sha256}"
                )
            control_member, data_member = ar_members(stream)
            control = read_deb_control(control_member)
            if data_member.short is not None:
                raise data_member.short
            judge = Judge(control, filename, supported, max_member_bytes)
            reader = TarReader(decompressed(data_member))
            try:
                _judge_members(reader, judge)
                drain(reader.stream)
            finally:
                reader.stream.close()
    except READ_ERRORS as error:
        return unreadable_record(index, filename, sha, control or hint, error)
    judge.finish()
    return judge.record(index, filename, sha)


def _judge_members(reader, judge):
    for entry in tar_entries(reader):
        name, is_dir, is_regular, size, _ = entry
        path, unsafe = member_path(name)
        if unsafe:
            judge.unsafe(name, unsafe)
            continue
        judge.entry(path, is_dir, is_regular, size, functools.partial(reader.read, entry))
