"""Open an index file (Packages, Contents) whatever its compression: by its magic bytes.

gzip, xz, bzip2 and plain text are read with the standard library; lz4 (how
apt-file stores Contents files in /var/lib/apt/lists) with python3-lz4 and
zstd with python3-zstandard, imported only when such a file is given.
"""

import bz2
import gzip
import lzma
import zlib

from ..errors import UsageError

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

        return zstandard.ZstdDecompressor().stream_reader(raw, closefd=True)
    except ImportError:
        raw.close()
        module = "python3-lz4" if kind == "lz4" else "python3-zstandard"
        raise UsageError(
            f"the {what} is {kind}-compressed and {module} is not installed",
            f"at {filename}",
            f"apt-get install {module}, or decompress it first",
        ) from None
