"""pyshared_tools/archive/tarstream.py against tarfile: the members, their data and the refusals
of real (pinned) .debs and of crafted tar streams must be tarfile's, read through
BoundedTarInfo as the scan read them before it had its own header parser."""

import bz2
import functools
import hashlib
import io
import lzma
import random
import tarfile

import pytest
from helpers.abi_packages import ABI3_PACKAGES, LIBPYTHON_PACKAGES
from helpers.archive import fetch_debs
from helpers.archive_trees import DEB_CACHE_NAME, PACKAGES
from helpers.scan_debs import ar_deb

from pyshared_tools.archive import deb as scan_deb
from pyshared_tools.archive.model import error_text
from pyshared_tools.archive.tarstream import MAX_HEADER_BYTES, BoundedTarInfo, ChunkStream, TarReader

CHUNK_SIZES = (1, 100, 512, 1000, 1 << 20)
# Bytes read of each regular member: all of it, as the scan reads them (a .so or the control file
# is read only when its size is below the limit; tarfile's buffered reader reads ahead otherwise).
LIMIT = 1 << 30


def by_tarfile(stream, limit=LIMIT, digest=False):
    """[((name, is_dir, is_regular, size, data offset), data read), ..., outcome] as tarfile
    reads `stream`: "end", or the finding detail of what it raised."""
    listing = []
    try:
        tar = tarfile.open(  # noqa: SIM115 - the reference: read as deb.py read it before tarstream
            fileobj=stream, mode="r:", tarinfo=BoundedTarInfo, encoding="utf-8", errors="surrogateescape"
        )
        while (info := tar.next()) is not None:
            tar.members.clear()
            data = None
            if info.isreg():
                with tar.extractfile(info) as member:
                    data = member.read(limit)
            listing.append(
                ((info.name, info.isdir(), info.isreg(), info.size, info.offset_data), shown(data, digest))
            )
        listing.append("end")
    except scan_deb.READ_ERRORS as error:
        listing.append(error_text(error))
    return listing


def by_reader(stream, limit=LIMIT, digest=False):
    """(the same listing as TarReader reads `stream`, whether tarfile took over)."""
    reader = TarReader(stream)
    listing = []
    try:
        for member in reader:
            data = reader.read(member, limit) if member[2] else None
            listing.append((member, shown(data, digest)))
        listing.append("end")
    except scan_deb.READ_ERRORS as error:
        listing.append(error_text(error))
    return listing, reader.by_tarfile


def shown(data, digest):
    return hashlib.sha256(data).hexdigest() if digest and data is not None else data


def chunked(data, size):
    """A ChunkStream of `data` in pieces of `size` bytes: headers and names straddle them."""
    pieces = iter([data[i : i + size] for i in range(0, len(data), size)])
    return ChunkStream(lambda: next(pieces, b""))


# --- real .debs -----------------------------------------------------------------------------


def test_real_debs_are_listed_as_tarfile_lists_them():
    """Every member of the control.tar and data.tar of the pinned .debs, and the whole data of
    every regular one, read by the fast path alone (GNU long names included), as tarfile reads
    them from lzma.LZMAFile."""
    debs = fetch_debs(PACKAGES, DEB_CACHE_NAME)
    abi_debs = fetch_debs(tuple(sorted(LIBPYTHON_PACKAGES) + sorted(ABI3_PACKAGES)), "abi-check-debs")
    long_names = 0
    for deb in sorted({*debs.values(), *abi_debs.values()}):
        with scan_deb.open_regular(deb) as stream:
            for member in scan_deb.ar_members(stream):
                assert member.name.endswith(".xz"), deb
                with lzma.LZMAFile(member.reader()) as reference:
                    expected = by_tarfile(reference, digest=True)
                listing, took_over = by_reader(scan_deb.decompressed(member), digest=True)
                assert listing == expected, (deb, member.name)
                assert not took_over and listing[-1] == "end" and len(listing) > 2, (deb, member.name)
                long_names += sum(len(entry[0].encode()) > 100 for entry, _ in listing[:-1])
    assert long_names >= 5  # python3-lxml's


# --- crafted tar streams ------------------------------------------------------------------------


def tar_of(members, format=tarfile.GNU_FORMAT, pax_headers=None):
    """A tar (bytes) of TarInfo fields {name: (type, data, extra attributes)} written by tarfile."""
    buffer = io.BytesIO()
    with tarfile.open(
        fileobj=buffer,
        mode="w",
        format=format,
        pax_headers=pax_headers,
        encoding="utf-8",
        errors="surrogateescape",
    ) as tar:
        for name, (kind, data, extra) in members.items():
            info = tarfile.TarInfo(name)
            info.type, info.size, info.mode = kind, len(data), 0o644
            for attribute, value in extra.items():
                setattr(info, attribute, value)
            tar.addfile(info, io.BytesIO(data) if kind in (tarfile.REGTYPE, tarfile.AREGTYPE) else None)
    return buffer.getvalue()


def regular(data=b"", **extra):
    return (tarfile.REGTYPE, data, extra)


def other(kind, **extra):
    return (kind, b"", extra)


def patched(data, offset, start, field, checksum=True):
    """`data` with bytes start.. of the header at `offset` replaced by `field`, its checksum
    recomputed (unless not `checksum`)."""
    data = bytearray(data)
    data[offset + start : offset + start + len(field)] = field
    if checksum:
        data[offset + 148 : offset + 156] = b" " * 8
        data[offset + 148 : offset + 156] = b"%06o\0 " % sum(data[offset : offset + 512])
    return bytes(data)


def header_of(data, name):
    """The offset of the header whose name field is `name` (a plain tar: no long names)."""
    field = name.encode() + b"\0"
    offsets = [offset for offset in range(0, len(data), 512) if data[offset : offset + len(field)] == field]
    assert len(offsets) == 1, name
    return offsets[0]


LONG = "./usr/lib/python3/dist-packages/" + "long" * 40
PLAIN = tar_of(
    {
        "./usr/": other(tarfile.DIRTYPE),
        "./usr/lib/a.py": regular(b"a = 1\n" * 200),
        "./usr/lib/link": other(tarfile.SYMTYPE, linkname="a.py"),
        "./usr/lib/hard": other(tarfile.LNKTYPE, linkname="./usr/lib/a.py"),
        "./usr/lib/fifo": other(tarfile.FIFOTYPE),
        "./usr/lib/char": other(tarfile.CHRTYPE, devmajor=1, devminor=3),
        "./usr/lib/empty.so": regular(),
        "./usr/lib/b.so": regular(b"\x7fELF" + bytes(3000)),
    }
)
GNU_LONG = tar_of(
    {
        LONG + "/": other(tarfile.DIRTYPE),
        LONG + "/x.cpython-311-x86_64-linux-gnu.so": regular(b"\x7fELF" + bytes(1500)),
        LONG + "/link": other(tarfile.SYMTYPE, linkname="../target"),
        "./short": other(tarfile.SYMTYPE, linkname="../" + "target" * 30),
        "./after": regular(b"after\n"),
    }
)
NOT_UTF8 = tar_of({"./usr/lib/\udcff\udcfe.py": regular(b"x"), LONG + "\udcff": regular(b"y")})
USTAR = tar_of(
    {LONG[:150] + "/a.py": regular(b"a"), LONG[:150] + "/d": other(tarfile.DIRTYPE)}, tarfile.USTAR_FORMAT
)
PAX = tar_of(
    {
        "./short.py": regular(b"s"),
        LONG + "/a.py": regular(b"a" * 600),
        "./link": other(tarfile.SYMTYPE, linkname="../" + "target" * 30),
        "./usr/lib/\u00e9t\u00e9.py": regular(b"e"),
        "./sized.py": regular(b"z" * 10, pax_headers={"size": "10", "mtime": "1.5", "uid": "x"}),
    },
    tarfile.PAX_FORMAT,
)
PAX_GLOBAL = tar_of(
    {"./a.py": regular(b"a"), "./b.py": regular(b"b")}, tarfile.PAX_FORMAT, {"path": "global"}
)
PAX_SPARSE = tar_of(
    {
        "./a.py": regular(b"a"),
        "./hole": regular(b"h" * 10, pax_headers={"GNU.sparse.map": "0,10", "GNU.sparse.size": "10"}),
    },
    tarfile.PAX_FORMAT,
)


def crafted():
    """{case: tar bytes}: each a header the fast path must read as tarfile does, or hand to it."""
    cases = {"plain": PLAIN, "gnu long names": GNU_LONG, "not utf-8": NOT_UTF8, "ustar prefix": USTAR}
    cases.update({"pax path, linkpath, size": PAX, "pax global": PAX_GLOBAL, "pax sparse": PAX_SPARSE})
    second = header_of(PLAIN, "./usr/lib/a.py")
    last = header_of(PLAIN, "./usr/lib/b.so")
    cases["bad checksum, first header"] = patched(PLAIN, 0, 148, b"77", checksum=False)
    cases["bad checksum, second header"] = patched(PLAIN, second, 148, b"77", checksum=False)
    cases["bad checksum after a long name"] = patched(GNU_LONG, 1024, 148, b"77", checksum=False)
    cases["bad checksum of a long name"] = patched(GNU_LONG, 0, 148, b"77", checksum=False)
    # A signed checksum (Sun and NeXT tar): a name byte above 127, the checksum of signed chars.
    signed = bytearray(patched(PLAIN, second, 20, b"\xe9"))
    signed[second + 148 : second + 156] = b"%06o\0 " % (
        256
        + sum(
            b - 256 if b > 127 else b
            for b in signed[second : second + 148] + signed[second + 156 : second + 512]
        )
    )
    cases["signed checksum"] = bytes(signed)
    # Number fields: base-256, spaces, no NUL, a sign, empty, not octal.
    cases["base-256 size"] = patched(PLAIN, second, 124, b"\x80" + (1200).to_bytes(11, "big"))
    cases["base-256 negative size"] = patched(PLAIN, last, 124, b"\xff" * 12)
    cases["base-256 mtime"] = patched(PLAIN, second, 136, b"\x80" + (5).to_bytes(11, "big"))
    cases["size with spaces"] = patched(PLAIN, second, 124, b"    2260    ")
    cases["size without NUL"] = patched(PLAIN, second, 124, b"000000002260")
    cases["size with a sign"] = patched(PLAIN, second, 124, b"+0000002260\0")
    cases["negative size"] = patched(PLAIN, second, 124, b"-0000000001\0")
    cases["negative size of a link"] = patched(PLAIN, header_of(PLAIN, "./usr/lib/link"), 124, b"-1\0")
    cases["size of a link"] = patched(PLAIN, header_of(PLAIN, "./usr/lib/link"), 124, b"00000001000\0")
    cases["empty size"] = patched(PLAIN, second, 124, bytes(12))
    cases["size not octal"] = patched(PLAIN, second, 124, b"0000000009\0\0")
    cases["size, junk after the NUL"] = patched(PLAIN, second, 124, b"2260\0junk!!\0")
    cases["mode not octal"] = patched(PLAIN, second, 100, b"0000x44\0")
    cases["mode with a tab"] = patched(PLAIN, second, 100, b"\t000644\0")
    cases["uid empty"] = patched(PLAIN, second, 108, bytes(8))
    cases["uid not ASCII"] = patched(PLAIN, second, 108, b"\xe90644\0\0\0")
    cases["devmajor not octal"] = patched(PLAIN, second, 329, b"zzzzzzz\0")
    cases["checksum with a space"] = patched(PLAIN, second, 148, b" ", checksum=False)  # for its leading 0
    # Types: the old V7 directory, contiguous, unknown ones, sparse.
    cases["V7 directory"] = patched(PLAIN, 0, 156, b"\0")
    cases["V7 directory after a long name"] = patched(patched(GNU_LONG, 1024, 156, b"\0"), 1024, 99, b"/")
    cases["regular named with a slash"] = patched(PLAIN, second, 0, b"./usr/lib/a.py/\0")
    cases["contiguous file"] = patched(PLAIN, second, 156, b"7")
    cases["unknown type"] = patched(PLAIN, second, 156, b"V")
    cases["GNU sparse"] = patched(PLAIN, second, 156, b"S")
    cases["GNU volume header"] = patched(PLAIN, 0, 156, b"V")
    # Long name headers: too large, several, not followed by a header.
    cases["long name above the cap"] = patched(GNU_LONG, 0, 124, b"%011o\0" % (MAX_HEADER_BYTES + 1))
    cases["long name at the cap"] = long_name_of_size(MAX_HEADER_BYTES)
    cases["long name above the cap, whole"] = long_name_of_size(MAX_HEADER_BYTES + 1)
    cases["long name of a NUL-less block"] = patched(GNU_LONG, 0, 124, b"%011o\0" % 90)
    cases["two long names"] = GNU_LONG[:1024] + GNU_LONG
    cases["long link, then long name"] = LINKED_DIRECTORY  # tarfile's order, and GNU tar's
    cases["long name, then long link"] = swapped_long_headers(LINKED_DIRECTORY)
    cases["long name, then end of archive"] = GNU_LONG[:1024] + bytes(1024)
    cases["long name, then pax"] = GNU_LONG[:1024] + PAX
    # Where the archive ends.
    cases["no end-of-archive blocks"] = PLAIN[: header_of(PLAIN, "./usr/lib/b.so") + 512 + 3072]
    cases["junk after the end"] = PLAIN + b"junk" * 300
    cases["empty"] = b""
    cases["one zero block"] = bytes(512)
    cases["a short block"] = PLAIN[:300]
    return cases


def long_name_of_size(size):
    name = (LONG + "/" + "n" * size)[: size - 1]
    return tar_of({name: regular(b"data")})


# A directory (named with two slashes) with a long name and a long link: a K, then an L header.
LINKED_DIRECTORY = tar_of({LONG + "//": other(tarfile.DIRTYPE, linkname="t" * 300)})


def swapped_long_headers(data):
    """`data` with its first two long headers (of one block of data each) swapped."""
    return data[1024:2048] + data[:1024] + data[2048:]


def truncations():
    """{case: tar bytes} of GNU_LONG and PLAIN cut in every block, at and around each boundary."""
    cases = {}
    for label, data in (("long", GNU_LONG), ("plain", PLAIN)):
        for cut in range(0, len(data), 512):
            for at in (cut, cut + 1, cut + 300):
                if at < len(data):
                    cases[f"{label} cut at {at}"] = data[:at]
    return cases


@pytest.mark.parametrize("case", sorted(crafted()))
def test_crafted_headers_are_read_as_tarfile_reads_them(case):
    data = crafted()[case]
    expected = by_tarfile(io.BytesIO(data))
    for size in CHUNK_SIZES:
        listing, took_over = by_reader(chunked(data, size))
        assert listing == expected, size
        assert took_over == (case in TARFILE_READS), "handed to tarfile" if took_over else "read alone"


# The cases the fast path hands to tarfile at some header (all others it reads alone).
TARFILE_READS = {
    "pax path, linkpath, size",
    "pax global",
    "pax sparse",
    "bad checksum, first header",
    "bad checksum, second header",
    "bad checksum after a long name",
    "bad checksum of a long name",
    "signed checksum",
    "base-256 size",
    "base-256 negative size",
    "base-256 mtime",
    "negative size",
    "negative size of a link",
    "size not octal",
    "mode not octal",
    "uid not ASCII",
    "devmajor not octal",
    "V7 directory after a long name",
    "unknown type",
    "GNU sparse",
    "GNU volume header",
    "long name above the cap",
    "long name above the cap, whole",
    "two long names",
    "long link, then long name",
    "long name, then long link",
    "empty size",
    "long name, then end of archive",
    "long name, then pax",
    "no end-of-archive blocks",
    "empty",
    "a short block",
}


def test_crafted_cases_cover_what_they_name():
    """The crafted cases are the ones they say: tarfile reads or refuses them as named."""
    results = {case: by_tarfile(io.BytesIO(data)) for case, data in crafted().items()}
    assert "bad checksum" in results["bad checksum, second header"][-1]
    assert "bad checksum" in results["bad checksum after a long name"][-1]
    assert "sparse" in results["GNU sparse"][-1] and "sparse" in results["pax sparse"][-1]
    for case in ("long name above the cap", "long name above the cap, whole"):
        assert f"extended header of {MAX_HEADER_BYTES + 1} bytes" in results[case][-1]
    assert results["base-256 size"][1][0][3] == 1200 and results["base-256 size"][-1] == "end"
    assert results["size with spaces"][-1] == results["signed checksum"][-1] == "end"
    assert results["pax path, linkpath, size"][1][0][0] == LONG + "/a.py"
    assert results["pax global"][1][0][0] == "global"
    assert [entry[0][1] for entry in results["V7 directory"][:1]] == [True]
    # Each level of tarfile's nested long headers strips a slash: the fast path leaves them to it.
    assert results["long link, then long name"][0][0][0] == LONG
    assert results["long name, then long link"][0][0][0] == LONG + "/"
    assert results["no end-of-archive blocks"][-1].endswith("(empty header)")
    for case in ("plain", "gnu long names", "not utf-8", "ustar prefix", "long name at the cap"):
        assert results[case][-1] == "end" and len(results[case]) >= 2, case


@pytest.mark.parametrize("case", sorted(truncations()))
def test_truncated_tars_are_refused_as_tarfile_refuses_them(case):
    data = truncations()[case]
    expected = by_tarfile(io.BytesIO(data))
    for size in (100, 1 << 20):
        assert by_reader(chunked(data, size))[0] == expected, size


def test_a_chain_of_long_names_is_refused_not_a_crash(tmp_path):
    """Four hundred GNU long names in a row: tarfile nests a call per header and raises
    RecursionError (which the scan would not catch); here a tar error, and an unreadable .deb."""
    data = GNU_LONG[:1024] * 400 + GNU_LONG
    with pytest.raises(RecursionError):
        by_tarfile(io.BytesIO(data))
    listing, took_over = by_reader(chunked(data, 1 << 20))
    assert took_over and listing == [
        "HeaderError: tar headers nested too deep (a chain of long name or pax headers)"
    ]
    deb = ar_deb(tmp_path / "chain.deb", "data.tar.xz", lzma.compress(data))
    record = scan_deb.read_deb(str(deb), [(3, 11)])
    assert [finding[4:] for finding in record["findings"]] == [["unreadable-deb", listing[0]]]


def test_a_member_read_past_the_end_of_the_stream_is_tarfiles_error():
    data = PLAIN[: header_of(PLAIN, "./usr/lib/b.so") + 512 + 100]
    listing, _ = by_reader(chunked(data, 512))
    assert listing[-1] == "ReadError: unexpected end of data" == by_tarfile(io.BytesIO(data))[-1]


# --- the streams ------------------------------------------------------------------------


def test_chunk_stream_reads_peeks_and_skips_like_a_file():
    """Random reads, peeks and forward seeks over chunks of random sizes give a BytesIO's bytes."""
    rng = random.Random(15)
    data = rng.randbytes(300_000)
    for _ in range(20):
        sizes = iter(rng.choice((1, 7, 512, 4096, 65536)) for _ in range(10**6))
        position, ended = 0, False

        def next_chunk(sizes=sizes):
            nonlocal position, ended
            assert not ended, "asked for a chunk after the end"
            chunk = data[position : position + next(sizes)]
            position, ended = position + len(chunk), not chunk
            return chunk

        stream, reference = ChunkStream(next_chunk), io.BytesIO(data)
        while reference.tell() < len(data):
            operation, size = rng.choice(("read", "peek", "seek")), rng.choice((0, 1, 511, 512, 3000, 70000))
            if operation == "read":
                assert stream.read(size) == reference.read(size)
            elif operation == "peek":
                assert stream.peek(size) == data[reference.tell() : reference.tell() + size]
            else:
                target = min(reference.tell() + size, len(data) + 5)
                assert stream.seek(target) == reference.seek(min(target, len(data)))
            assert stream.tell() == reference.tell()
        assert stream.read() == b"" and stream.peek(10) == b""
        with pytest.raises(OSError):
            stream.seek(0)


def compressed_cases(compress, magic_garbage, padding):
    one, two = compress(b"first " * 5000), compress(b"second " * 3000)
    # Streams ending `padding` bytes before a read of the compressed stream ends: the garbage
    # after them is refused with the next read (not ignored, as it is when it comes whole).
    noise = random.Random(15).randbytes(20000)
    first = compress(noise[:7600])
    before_boundary = next(
        first + second
        for n in range(1, 3000)
        if (len(first) + len(second := compress(noise[7600 : 7600 + n]))) % 8192 == 8192 - padding
    )
    return {
        "one stream": one,
        "two streams": one + two,
        "trailing garbage": one + b"garbage!" * 2000,
        "trailing garbage that starts like a stream": one + magic_garbage,
        "trailing NULs": one + bytes(12),
        "cut": one[:-10],
        "cut in the second stream": one + two[: len(two) // 2],
        "empty": b"",
        "not compressed": b"plain text" * 100,
        "garbage across a read boundary": before_boundary + magic_garbage,
    }


@pytest.mark.parametrize(
    ("kind", "opener", "cases"),
    [
        ("xz", lzma.LZMAFile, compressed_cases(lzma.compress, b"\xfd7zXY" + b"x" * 100, 4)),
        (
            "lzma",
            lzma.LZMAFile,
            compressed_cases(
                functools.partial(lzma.compress, format=lzma.FORMAT_ALONE), b"]\0\0\x80" + b"x" * 100, 2
            ),
        ),
        ("bz2", bz2.BZ2File, compressed_cases(bz2.compress, b"BZh" + b"x" * 100, 1)),
    ],
)
def test_decompressed_chunks_are_what_the_standard_library_reads(tmp_path, kind, opener, cases):
    """The same bytes, or the same exception, as lzma.LZMAFile and bz2.BZ2File: concatenated
    streams, trailing garbage, cut streams."""
    for case, compressed in cases.items():
        deb = tmp_path / f"{kind}.bin"
        deb.write_bytes(compressed)
        try:
            expected = opener(io.BytesIO(compressed)).read()
        except (EOFError, OSError, lzma.LZMAError) as error:
            expected = error_text(error)
        with open(deb, "rb") as stream:
            member = scan_deb.Member(stream, f"data.tar.{kind}", 0, len(compressed))
            try:
                got = scan_deb.decompressed(member).read()
            except (EOFError, OSError, lzma.LZMAError) as error:
                got = error_text(error)
        assert got == expected, case
