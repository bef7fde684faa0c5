"""The members of a tar stream, one at a time, as tarfile lists them, at a fraction of its cost.

dpkg-deb writes GNU tar: 512-byte headers of regular files, directories and
links, a GNU long name ('L') or long link ('K') header before one whose name
does not fit.  Those headers are parsed here, each checked as tarfile checks
it (the checksum, every octal number field) and named as tarfile names it;
the data of a member is skipped in the decompressed stream, never copied,
unless the judge reads it.  Every other header (pax, sparse, base-256
numbers, a bad checksum, a short block, an unknown type, more than one long
header before a member) ends this fast path: from that header to the end of
the archive tarfile reads the stream, with BoundedTarInfo's caps, so what is
accepted or refused, and the words of a refusal, are tarfile's.

The fast path only ever looks ahead (ChunkStream.peek) before it takes a header,
so tarfile starts on the very header it was left: a long header, its name
and the header it names are looked at whole, at most 2 MiB and a block.
"""

import functools
import re
import tarfile

from pyshared_tools.indexes import READ_CHUNK

BLOCK = tarfile.BLOCKSIZE
MAX_HEADER_BYTES = 1024 * 1024  # one pax header or GNU long name

_ZEROS = bytes(BLOCK)
_REGULAR = frozenset((tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE))
# The other types tarfile's _proc_builtin handles, with no data after the header (whatever the size says).
_DATALESS = frozenset(
    (tarfile.LNKTYPE, tarfile.SYMTYPE, tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.DIRTYPE, tarfile.FIFOTYPE)
)
_LONG = (tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK)
# mode, uid, gid, mtime, devmajor, devminor: unused, but tarfile refuses the archive if one is invalid.
_OTHER_NUMBERS = ((100, 108), (108, 116), (116, 124), (136, 148), (329, 337), (337, 345))
# The number fields as GNU tar and tarfile write them: octal digits and a NUL (the checksum's: and a
# space), the device numbers of a file that is not a device NULs.
_USUAL_NUMBERS = re.compile(rb"(?:[0-7]{7}\0){3}[0-7]{11}\0[0-7]{11}\0[0-7]{6}\0 ")
_USUAL_DEVICES = re.compile(rb"(?:[0-7]{7}\0|\0{8}){2}")
_EXTENDED = (
    tarfile.GNUTYPE_LONGNAME,
    tarfile.GNUTYPE_LONGLINK,
    tarfile.XHDTYPE,
    tarfile.XGLTYPE,
    tarfile.SOLARIS_XHDTYPE,
)


class BoundedTarInfo(tarfile.TarInfo):
    """tarfile reads a pax header or GNU long name whole, and any number of sparse maps: capped,
    and sparse members (which dpkg-deb never writes) refused.  A corrupt or missing header after
    the first ends tarfile's listing silently: here it is an error, like a truncated archive."""

    @classmethod
    def fromtarfile(cls, tarfile_):
        try:
            return super().fromtarfile(tarfile_)
        except (tarfile.EmptyHeaderError, tarfile.TruncatedHeaderError, tarfile.InvalidHeaderError) as error:
            raise tarfile.HeaderError(f"corrupt or truncated tar archive ({error})") from None

    def _proc_member(self, tarfile_):
        if self.type in _EXTENDED:
            if self.size > MAX_HEADER_BYTES:
                raise tarfile.HeaderError(f"a tar extended header of {self.size} bytes")
        elif self.type == tarfile.GNUTYPE_SPARSE:
            raise tarfile.HeaderError("a sparse tar member")
        return super()._proc_member(tarfile_)

    def _proc_gnusparse_00(self, *args):
        raise tarfile.HeaderError("a sparse tar member")

    _proc_gnusparse_01 = _proc_gnusparse_10 = _proc_gnusparse_00


def _text(field):
    """tarfile's nts(): the bytes up to the first NUL, UTF-8 with surrogate escapes."""
    end = field.find(0)
    return (field if end < 0 else field[:end]).decode("utf-8", "surrogateescape")


def _number(field):
    """tarfile's nti() of an octal field, or None for a field this parser leaves to tarfile (a
    base-256 number, or one that nti() refuses).  int() of the bytes accepts a subset of what nti()
    accepts (only ASCII spaces around the digits, not an empty field, no byte above 127: not the
    0o200 or 0o377 of base-256), with the same value."""
    end = field.find(0)
    if end >= 0:
        field = field[:end]
    if not field:
        return 0
    try:
        return int(field, 8)
    except ValueError:
        return None


def _header(block):
    """(type, size) of a 512-byte header that tarfile's frombuf() reads without error and that has
    its unsigned checksum, or None (tarfile then reads it)."""
    if _USUAL_NUMBERS.match(block, 100, 156) and _USUAL_DEVICES.match(block, 329, 345):
        checksum, size = int(block[148:154], 8), int(block[124:135], 8)
    else:
        checksum, size = _number(block[148:156]), _number(block[124:136])
        if checksum is None or size is None or size < 0:
            return None
        for start, end in _OTHER_NUMBERS:
            if _number(block[start:end]) is None:
                return None
    if checksum != sum(block) - sum(block[148:156]) + 256:
        return None
    return block[156:157], size


def _padded(size):
    """`size` rounded up to whole blocks (tarfile's _block)."""
    return -(-size // BLOCK) * BLOCK


def _bounded_recursion(function, *args, **kwargs):
    """tarfile reads a long name or pax header and the header after it by recursion: a few hundred
    in a row (dpkg-deb lists them) exhaust Python's stack.  Refused as a tar error, not a crash."""
    try:
        return function(*args, **kwargs)
    except RecursionError:
        raise tarfile.HeaderError(
            "tar headers nested too deep (a chain of long name or pax headers)"
        ) from None


class ChunkStream:
    """A forward-only stream of the chunks next_chunk() returns (b"" at the end): read, peek, tell,
    forward seek, what tarfile and TarReader need.  The chunks are kept as they come, sliced, never
    joined into a buffer; a skip drops them whole.  At most the current chunk and what one peek
    asks for are held."""

    def __init__(self, next_chunk, close=None):
        self._next_chunk, self._close = next_chunk, close
        self._chunk = b""
        self._offset = 0  # in _chunk
        self._start = 0  # stream position of _chunk[0]
        self._ended = False

    def _another(self):
        """The next chunk in place of the current one; False at the end."""
        if self._ended:
            return False
        chunk = self._next_chunk()
        if not chunk:
            self._ended = True
            return False
        self._start += len(self._chunk)
        self._chunk, self._offset = chunk, 0
        return True

    def peek(self, size):
        """The next `size` bytes (fewer only at the end of the stream), left to be read."""
        end = self._offset + size
        if end > len(self._chunk) and not self._ended:
            # Joined once with the chunks it needs (a header across two chunks, a long name).
            parts, held = [self._chunk[self._offset :]], len(self._chunk) - self._offset
            self._start += self._offset
            while held < size and (chunk := self._next_chunk()):
                parts.append(chunk)
                held += len(chunk)
            self._ended = held < size
            self._chunk, self._offset, end = b"".join(parts), 0, size
        return self._chunk[self._offset : end]

    def read(self, size=-1):
        parts = []
        left = size if size is not None and size >= 0 else float("inf")
        while left > 0:
            available = len(self._chunk) - self._offset
            if not available:
                if not self._another():
                    break
                continue
            take = min(available, left)
            parts.append(self._chunk[self._offset : self._offset + take])
            self._offset += take
            left -= take
        return b"".join(parts)

    def tell(self):
        return self._start + self._offset

    def seek(self, offset, whence=0):
        target = offset if whence == 0 else self.tell() + offset
        if whence not in (0, 1) or target < self.tell():
            raise OSError("cannot seek backwards in a compressed stream")
        while target - self._start > len(self._chunk) and self._another():
            pass
        self._offset = min(target - self._start, len(self._chunk))
        return self.tell()

    def readable(self):
        return True

    def seekable(self):
        return True

    def close(self):
        if self._close is not None:
            self._close()
            self._close = None


class TarReader:
    """The members of the tar archive `stream` holds from its current position, as tuples
    (name, is_dir, is_regular, size, data_offset), in archive order; read(member, limit) returns
    the first `limit` bytes of a regular member's data (before the next member is asked for)."""

    def __init__(self, stream):
        if not isinstance(stream, ChunkStream):
            stream = ChunkStream(functools.partial(stream.read, READ_CHUNK), stream.close)
        self.stream = stream
        self._next = stream.tell()  # where the next header starts (tarfile's TarFile.offset)
        self._tar = None  # tarfile, once it reads the rest
        self.by_tarfile = False  # whether tarfile was given the rest (at a header not read here)

    def __iter__(self):
        while self._tar is None:
            member = self._fast_member()
            if member is _END:
                return
            if member is None:
                self.by_tarfile = True
                self._tar = _bounded_recursion(
                    tarfile.open,
                    fileobj=self.stream,
                    mode="r:",
                    tarinfo=BoundedTarInfo,
                    encoding="utf-8",
                    errors="surrogateescape",
                )
                break
            yield member
        while (info := _bounded_recursion(self._tar.next)) is not None:
            self._tar.members.clear()
            if info.sparse is not None:  # BoundedTarInfo refuses them all; read() ignores maps
                raise tarfile.HeaderError("a sparse tar member")
            yield info.name, info.isdir(), info.isreg(), info.size, info.offset_data

    def read(self, member, limit):
        """tarfile's extractfile(member).read(limit) of a regular member, where limit > its size
        (as the scan reads: below it, tarfile's buffered reader reads on, and may fail, past it)."""
        _, _, _, size, offset = member
        length = min(limit, size)
        if length <= 0:
            return b""
        self.stream.seek(offset)
        data = self.stream.read(length)
        if len(data) != length:
            raise tarfile.ReadError("unexpected end of data")
        return data

    def _fast_member(self):
        """The next member, _END at the end-of-archive block, or None: tarfile reads from here."""
        stream = self.stream
        if stream.tell() != self._next and stream.seek(self._next) != self._next:
            raise tarfile.ReadError("unexpected end of data")  # tarfile's words: the data ends early
        block = stream.peek(BLOCK)
        if len(block) < BLOCK:
            return None
        if block == _ZEROS:
            return _END
        parsed = _header(block)
        if parsed is None:
            return None
        kind, size = parsed
        used = BLOCK
        long_name = None
        if kind in _LONG:
            # One long name or link, then the header it is for (not another long one: tarfile
            # nests the patching of several, in an order that changes the name, and reads them).
            if size > MAX_HEADER_BYTES:
                return None
            group = stream.peek(used + _padded(size) + BLOCK)
            if len(group) != used + _padded(size) + BLOCK:
                return None
            if kind == tarfile.GNUTYPE_LONGNAME:
                long_name = _text(group[used : used + _padded(size)])
            used += _padded(size)
            block = group[used:]
            used += BLOCK
            parsed = _header(block)
            if parsed is None:
                return None
            kind, size = parsed
        regular = kind in _REGULAR
        if not regular and kind not in _DATALESS:
            return None
        name = _text(block[:100])
        if kind == tarfile.AREGTYPE and name.endswith("/"):
            if used > BLOCK:
                return None  # after a long header, tarfile's versions differ on this (dircheck)
            kind, regular = tarfile.DIRTYPE, False  # the old V7 way to write a directory
        is_dir = kind == tarfile.DIRTYPE
        if is_dir:
            name = name.rstrip("/")
        prefix = _text(block[345:500])  # ustar's; GNU's atime and ctime where dpkg-deb writes NULs
        if prefix:
            name = prefix + "/" + name
            if is_dir:
                name = name.rstrip("/")
        if long_name is not None:
            name = long_name.removesuffix("/") if is_dir else long_name
        offset = self._next + used
        self._next = offset + _padded(size) if regular else offset
        stream.seek(offset)
        return name, is_dir, regular, size, offset


_END = object()
