"""Open an index file (Packages, Contents) whatever its compression: by its magic bytes.

open_index gives the stream, decompressed_blocks large blocks of it; dh_pyshared's
--contents reads through here too.  The forward-only stream (Forward) and the
zstd decoder (zstd_stream) are shared with deb.py, which picks a member's
decompressor by its name, as dpkg does.

gzip, xz, bzip2 and plain text are read with the standard library; lz4 (how
apt-file stores Contents files in /var/lib/apt/lists) with python3-lz4 and
zstd with python3-zstandard, imported only when such a file is given.
"""

import bz2
import gzip
import lzma
import zlib

from pyshared_tools.errors import UsageError

READ_CHUNK = 1024 * 1024
# zstd input fed to the decompressor at a time: a zstd block of 4 bytes can inflate to 128 KiB, so
# one call yields at most 32 KiB per input byte (64 MiB here).
ZSTD_INPUT_CHUNK = 2048


class CorruptStream(ValueError):
    """A compressed stream that is not one."""


# magic -> (name, opener of a binary stream, Debian package providing the module)
_MAGIC = (
    (b"\x1f\x8b", "gzip"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"BZh", "bzip2"),
    (b"\x04\x22\x4d\x18", "lz4"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
)


def compression_of(head):
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    return None


def decompressed_blocks(filename, what, size):
    """The decompressed contents of `filename` in blocks of about `size` bytes.  gzip is inflated
    with zlib directly, in large calls that release the GIL (GzipFile reads 8 KiB at a time)."""
    with open_index(filename, what) as stream:
        if not isinstance(stream, gzip.GzipFile):
            while block := stream.read(size):
                yield block
            return
        raw = stream.fileobj
        raw.seek(0)
        inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        while chunk := raw.read(size // 8):
            while chunk:
                if block := inflate.decompress(chunk):
                    yield block
                chunk = inflate.unused_data  # the next member of a multi-member file
                if chunk:
                    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        if not inflate.eof:
            raise EOFError("compressed file ended before the end-of-stream marker was reached")


class _Source:
    """A file read from its start, with the `position` zstd_stream moves back."""

    def __init__(self, raw):
        self.raw, self.position = raw, 0

    def read(self, size):
        self.raw.seek(self.position)
        data = self.raw.read(size)
        self.position += len(data)
        return data

    def close(self):
        self.raw.close()


def open_index(filename, what):
    """A binary stream of the decompressed contents of `filename`."""
    try:
        raw = open(filename, "rb")  # noqa: SIM115 - returned open, wrapped by a decompressor
    except OSError as error:
        raise UsageError(
            f"cannot read the {what} ({error.strerror})", f"at {filename}", f"give a readable {what} file"
        ) from None
    kind = compression_of(raw.read(6))
    raw.seek(0)
    if kind is None:
        return raw
    if kind == "gzip":
        return gzip.GzipFile(fileobj=raw)
    if kind == "xz":
        return lzma.LZMAFile(raw)
    if kind == "bzip2":
        return bz2.BZ2File(raw)
    try:
        if kind == "lz4":
            import lz4.frame

            return lz4.frame.LZ4FrameFile(raw)
        import zstandard

        return zstd_stream(_Source(raw), zstandard)
    except ImportError:
        raw.close()
        module = "python3-lz4" if kind == "lz4" else "python3-zstandard"
        raise UsageError(
            f"the {what} is {kind}-compressed and {module} is not installed",
            f"at {filename}",
            f"apt-get install {module}, or decompress it first",
        ) from None


class Forward:
    """A read-only stream from a function returning chunks (b"" at the end), with tell(), forward
    seek() and readline(limit): what tarfile and the index readers need.  `finish` runs once the
    chunks end (it may raise: a stream that ends early), `close` at close()."""

    def __init__(self, next_chunk, finish=None, close=None):
        self._next_chunk, self._finish, self._close = next_chunk, finish, close
        self._buffer = bytearray()
        self._position = 0
        self._ended = False
        self._closed = False

    def _fill(self):
        if self._ended:
            return False
        chunk = self._next_chunk()
        if not chunk:
            self._ended = True
            if self._finish is not None:
                self._finish()
            return False
        self._buffer += chunk
        return True

    def read(self, size=-1):
        if size is None or size < 0:
            parts = []
            while part := self.read(READ_CHUNK):
                parts.append(part)
            return b"".join(parts)
        while len(self._buffer) < size and self._fill():
            pass
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        self._position += len(data)
        return data

    def tell(self):
        return self._position

    def seek(self, offset, whence=0):
        target = offset if whence == 0 else self._position + offset
        if whence not in (0, 1) or target < self._position:
            raise OSError("cannot seek backwards in a compressed stream")
        while target > self._position and (self._buffer or self._fill()):
            step = min(target - self._position, len(self._buffer))
            del self._buffer[:step]  # skipped, never copied
            self._position += step
        return self._position

    def readline(self, limit=-1):
        """A line (with its newline), of at most `limit` bytes when limit >= 0."""
        searched = 0
        while True:
            end = self._buffer.find(b"\n", searched)
            if end != -1:
                size = end + 1
                break
            searched = len(self._buffer)
            if 0 <= limit <= searched or not self._fill():
                size = searched
                break
        return self.read(size if limit < 0 else min(size, limit))

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def readable(self):
        return True

    def writable(self):
        return False

    def seekable(self):
        return True

    @property
    def closed(self):
        return self._closed

    def read1(self, size=-1):
        return self.read(size if size is not None and size >= 0 else READ_CHUNK)

    def flush(self):
        pass

    def close(self):
        self._closed = True
        if self._close is not None:
            self._close()
            self._close = None


def zstd_stream(source, zstandard):
    """A Forward of the zstd frames read from `source` (a stream with read(n) and a `position`),
    decompressed ZSTD_INPUT_CHUNK bytes of input at a time; the end of a frame is checked."""
    decompressor = zstandard.ZstdDecompressor()
    state = {"object": decompressor.decompressobj(), "fed": False}

    def next_chunk():
        while True:
            data = source.read(ZSTD_INPUT_CHUNK)
            if not data:
                return b""
            while data:
                if state["object"].eof:  # a frame ended: the next one starts
                    state["object"], state["fed"] = decompressor.decompressobj(), False
                state["fed"] = True
                try:
                    out = state["object"].decompress(data)
                except zstandard.ZstdError as error:
                    raise CorruptStream(f"zstd: {error}") from None
                data = state["object"].unused_data if state["object"].eof else b""
                if out:
                    if data:  # more frames in this chunk: keep their input for the next call
                        source.position -= len(data)
                    return out

    def finish():
        if state["fed"] and not state["object"].eof:
            raise EOFError("the zstd stream ends before its end of frame (truncated?)")

    return Forward(next_chunk, finish, getattr(source, "close", None))
