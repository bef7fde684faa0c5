"""pyshared-scan on hostile input (issue 12, the scan side): names that are not UTF-8 and trees
deeper than Python's recursion limit (6), memory and time bombs (9), damaged input (10) and
output injection (11).

Every case runs the real command as a subprocess under RLIMIT_AS (1 GiB: a normal run needs a
fraction, every bomb here needs several times more when read whole) and a timeout only a hang
reaches, and asserts no traceback, a one-line error or the right findings, and nothing changed
outside: $TMPDIR, the working directory and the inputs are compared before and after.  The
hostile .debs are built with dpkg-deb, then cut or patched, or assembled with tar, zstd, gzip and
ar; python3-zstandard is hidden from the scan (sys.modules) for the runs "without" it.
"""

import hashlib
import json
import lzma
import os
import re
import resource
import signal
import stat
import subprocess
import tarfile
import threading
from pathlib import Path

import pytest
from conftest import CHECKOUT
from helpers.scan_debs import SHARED, _add, ar_deb, build_deb, objects, private_cache

from pyshared_tools.archive.cache import tool_version

__all__ = ["objects", "private_cache"]  # fixtures from helpers/scan_debs.py

TOOL = CHECKOUT / "bin" / "pyshared-scan"
MEMORY = 1 << 30
TIMEOUT = 120
ERROR = re.compile(r"pyshared-scan: error: [^\n]+\n")
REBUILD_LINE = re.compile(r"[a-z0-9][a-z0-9+.-]+: [a-z0-9-]+(, [a-z0-9-]+)*")
LEGACY = "usr/lib/python3.11/dist-packages"
WITHOUT_ZSTANDARD = """\
import sys
sys.modules["zstandard"] = None
sys.path.insert(0, sys.argv[1])
from pyshared_tools.archive.cli import main
sys.exit(main(sys.argv[2:]))
"""


def _limited():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def tree_state(root):
    """Every entry under root (iteratively: some trees here are 1500 directories deep)."""
    state, stack = {}, [os.fsencode(root)]
    if not os.path.isdir(root):
        with open(root, "rb") as stream:
            return hashlib.file_digest(stream, "sha256").hexdigest()
    while stack:
        directory = stack.pop()
        for entry in os.scandir(directory):
            info = entry.stat(follow_symlinks=False)
            if stat.S_ISDIR(info.st_mode):
                stack.append(entry.path)
                state[entry.path] = "dir"
            elif stat.S_ISLNK(info.st_mode):
                state[entry.path] = os.readlink(entry.path)
            elif not stat.S_ISREG(info.st_mode):
                state[entry.path] = info.st_mode  # a FIFO: never opened here either
            else:
                with open(entry.path, "rb") as stream:
                    digest = hashlib.file_digest(stream, "sha256").hexdigest()
                state[entry.path] = (digest, info.st_mode)
    return state


def scan(tmp_path, *args, zstandard=True, inputs=None):
    """The command under the memory cap; asserts no traceback and nothing changed outside."""
    sandbox = tmp_path / "sandbox"
    for name in ("tmp", "cwd", "cache"):
        (sandbox / name).mkdir(parents=True, exist_ok=True)
    watched = [sandbox / "tmp", sandbox / "cwd", *(inputs or [])]
    before = [tree_state(path) for path in watched]
    env = dict(os.environ, TMPDIR=str(sandbox / "tmp"), XDG_CACHE_HOME=str(sandbox / "cache"))
    command = ["/usr/bin/python3", str(TOOL)]
    if not zstandard:
        command = ["/usr/bin/python3", "-c", WITHOUT_ZSTANDARD, str(CHECKOUT)]
    arguments = [arg if isinstance(arg, bytes) else str(arg) for arg in args]
    process = subprocess.Popen(
        [*command, *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=sandbox / "cwd",
        env=env,
        preexec_fn=_limited,
        start_new_session=True,  # a hung run is killed with every process it started
    )
    try:
        stdout, stderr = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise AssertionError(f"pyshared-scan {arguments} still running after {TIMEOUT} s") from None
    result = subprocess.CompletedProcess(process.args, process.returncode, stdout.decode(), stderr.decode())
    assert "Traceback" not in result.stderr and "MemoryError" not in result.stderr, result.stderr[-3000:]
    assert result.returncode in (0, 1, 2), (result.returncode, result.stderr[-3000:])
    assert [tree_state(path) for path in watched] == before
    return result


def findings(tmp_path, *args, expect_rc=1, **kwargs):
    result = scan(tmp_path, "--json", "--no-cache", "--jobs", "1", "--supported", "3.11", *args, **kwargs)
    assert result.returncode == expect_rc, result.stderr
    return json.loads(result.stdout)["findings"]


def usage_error(tmp_path, *args, words, **kwargs):
    result = scan(tmp_path, *args, **kwargs)
    assert result.returncode == 2 and result.stdout == "", result.stderr
    assert ERROR.fullmatch(result.stderr) and words in result.stderr, result.stderr
    return result.stderr


def unreadable(found, deb, package=""):
    """The only finding of a .deb that cannot be read whole: unreadable-deb, nothing judged."""
    mine = [f for f in found if f["deb"] == str(deb)]
    assert [(f["code"], f["path"], f["package"]) for f in mine] == [("unreadable-deb", str(deb), package)], (
        mine
    )
    return mine[0]["detail"]


def compressed(command, chunks):
    """The output of a compressor fed `chunks` (a generator: nothing large is held here)."""
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    output = []
    reader = threading.Thread(target=lambda: output.append(process.stdout.read()))
    reader.start()
    for chunk in chunks:
        process.stdin.write(chunk)
    process.stdin.close()
    reader.join()
    assert process.wait() == 0
    return output[0]


def tar_with_zeros(name, size, before=(), kind=tarfile.REGTYPE, start=b""):
    """A tar stream: the small members `before` ({name: bytes}), then `name` of `size` bytes:
    `start`, then zeros."""
    for member, data in dict(before).items():
        info = tarfile.TarInfo(member)
        info.size = len(data)
        yield info.tobuf(format=tarfile.GNU_FORMAT) + data + bytes(-len(data) % 512)
    info = tarfile.TarInfo(name)
    info.size, info.type = size, kind
    yield info.tobuf(format=tarfile.GNU_FORMAT) + start
    block = bytes(1 << 20)
    left = size - len(start)
    while left:
        yield block if left >= len(block) else bytes(left)
        left -= min(left, len(block))
    yield bytes(-size % 512) + bytes(10240)


def small_tar(members):
    """A tar of {name: bytes} members, built by tarfile."""
    import io

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, data in members.items():
            _add(tar, name, data)
    return buffer.getvalue()


def assemble(path, members):
    """An ar archive of (name, bytes) members, in that order, made by ar."""
    work = path.parent / f"{path.name}.parts"
    work.mkdir()
    for name, data in members:
        (work / name).write_bytes(data)
    subprocess.run(["ar", "rc", str(path), *(name for name, _ in members)], cwd=work, check=True)
    subprocess.run(["rm", "-rf", str(work)], check=True)
    return path


def control_tar(text):
    return lzma.compress(small_tar({"./control": text.encode()}))


def dpkg_refuses(deb):
    """dpkg-deb itself cannot list the .deb: it is damaged, not merely odd."""
    listing = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True)
    assert listing.returncode != 0, deb


def good_deb(directory, package="python3-good"):
    return build_deb(directory, package, arch="all", files={f"{LEGACY}/{package}.py": b""})


# --- 6: names that are not UTF-8, trees deeper than the recursion limit ---------------------------


def test_member_names_that_are_not_utf8_are_findings_shown_escaped(tmp_path):
    inputs = tmp_path / "inputs"
    root = tmp_path / "tree"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        "Package: python3-latin\nVersion: 1\nArchitecture: all\nMaintainer: a <a@b.org>\nDescription: d\n d\n"
    )
    shared = os.fsencode(root / SHARED)
    os.makedirs(shared)
    for name in (b"caf\xe9.py", b"ok.py", b"\xff\xfe.so"):
        with open(os.path.join(shared, name), "wb") as stream:
            stream.write(b"")
    inputs.mkdir()
    deb = inputs / "latin.deb"
    subprocess.run(["dpkg-deb", "--build", "--root-owner-group", str(root), str(deb)], check=True)
    # The same names in an unpacked tree, and a .deb file name that is not UTF-8 either.
    os.rename(root, inputs / "tree")
    odd = os.path.join(os.fsencode(inputs), b"\xe9t\xe9.deb")
    with open(odd, "wb") as out:
        out.write(deb.read_bytes())
    found = findings(tmp_path, inputs, inputs=[inputs])
    unsafe = {(Path(f["deb"]).name, f["path"]) for f in found if f["code"] == "unsafe-member"}
    assert unsafe == {
        ("latin.deb", f"./{SHARED}/caf\\xe9.py"),
        ("latin.deb", f"./{SHARED}/\\xff\\xfe.so"),
        ("\\xe9t\\xe9.deb", f"./{SHARED}/caf\\xe9.py"),
        ("\\xe9t\\xe9.deb", f"./{SHARED}/\\xff\\xfe.so"),
        ("tree", f"{SHARED}/caf\\xe9.py"),
        ("tree", f"{SHARED}/\\xff\\xfe.so"),
    }
    assert all("not UTF-8" in f["detail"] for f in found if f["code"] == "unsafe-member")
    assert {f["code"] for f in found} == {"unsafe-member"}
    table = scan(tmp_path, "--no-cache", "--supported", "3.11", inputs, inputs=[inputs])
    assert table.returncode == 1 and len(table.stdout.splitlines()) == len(found) + 1


def test_a_contents_index_with_names_that_are_not_utf8(tmp_path):
    index = tmp_path / "Contents-amd64"
    index.write_bytes(
        f"{LEGACY}/caf\xe9.py".encode("latin-1")
        + b"    python/python3-caf\xe9\n"
        + f"{SHARED}/ok\xff.py".encode("latin-1")
        + b"    python/python3-a,python/python3-b\n"
    )
    found = findings(tmp_path, "--contents", index, inputs=[tmp_path / "Contents-amd64"])
    assert {(f["package"], f["path"], f["code"]) for f in found} == {
        ("python3-caf\\xe9", LEGACY, "legacy-layout"),
        ("python3-a", f"{SHARED}/ok\\xff.py", "path-collision"),
        ("python3-b", f"{SHARED}/ok\\xff.py", "path-collision"),
    }


@pytest.fixture
def deep_tmp_path(tmp_path):
    """tmp_path, emptied by GNU rm afterwards: pytest's own cleanup (shutil.rmtree) recurses per
    level and fails on the 1500-deep trees these tests make."""
    yield tmp_path
    subprocess.run(["rm", "-rf", "--", str(tmp_path)], check=True)


def deep_directories(top, depth):
    """top/d/d/.../d, `depth` levels, made one mkdir at a time (os.makedirs recurses)."""
    path = os.fspath(top)
    for _ in range(depth):
        path = os.path.join(path, "d")
        os.mkdir(path)
    return Path(path)


def test_a_tree_1500_directories_deep(deep_tmp_path):
    tmp_path = deep_tmp_path
    tree = tmp_path / "inputs" / "tree"
    (tree / "DEBIAN").mkdir(parents=True)
    (tree / "DEBIAN" / "control").write_text("Package: python3-deep\nVersion: 1\nArchitecture: all\n")
    (tree / LEGACY).mkdir(parents=True)
    bottom = deep_directories(tree / LEGACY, 1500)
    (bottom / "module.py").write_bytes(b"")
    found = findings(tmp_path, tree, inputs=[tmp_path / "inputs"])
    assert [(f["package"], f["path"], f["code"], f["detail"].split(" in ")[0]) for f in found] == [
        ("python3-deep", LEGACY, "legacy-layout", "1 file(s)")
    ]


def test_a_directory_1500_levels_deep_is_searched(deep_tmp_path):
    tmp_path = deep_tmp_path
    pool = tmp_path / "pool"
    pool.mkdir()
    bottom = deep_directories(pool, 1500)
    deb = good_deb(bottom)
    (bottom / "notes.txt").write_text("")
    found = findings(tmp_path, pool, inputs=[pool])
    assert [(f["deb"], f["code"]) for f in found] == [(str(deb), "legacy-layout")]


# --- 9: memory and time bombs ------------------------------------------------------------------


@pytest.fixture(scope="module")
def zstd_bomb(tmp_path_factory):
    """A .deb of about 70 KB whose data.tar.zst inflates to 2 GiB: one zero-filled .so."""
    directory = tmp_path_factory.mktemp("zstd-bomb")
    data = compressed(["zstd", "-q", "-c"], tar_with_zeros(f"./{SHARED}/bomb.so", 2 << 30))
    deb = ar_deb(
        directory / "bomb.deb",
        "data.tar.zst",
        data,
        control="Package: python3-bomb\nVersion: 1\nArchitecture: amd64\n",
    )
    assert deb.stat().st_size < 200_000
    return deb


@pytest.mark.parametrize("zstandard", [False, True], ids=["zstd-command", "python3-zstandard"])
def test_a_zstd_bomb_is_streamed(tmp_path, zstd_bomb, zstandard):
    """Without python3-zstandard python-debian held all 2 GiB (and more) in memory; streamed,
    the .so is larger than --max-member-bytes and not read."""
    found = findings(tmp_path, zstd_bomb, zstandard=zstandard, inputs=[zstd_bomb.parent])
    assert [(f["package"], f["path"], f["code"]) for f in found] == [
        ("python3-bomb", f"{SHARED}/bomb.so", "huge-member")
    ]


def test_zstd_without_python3_zstandard_or_the_command_is_unreadable(tmp_path, zstd_bomb):
    """Without the module and without the command on PATH: a finding that says what to install."""
    bin_directory = tmp_path / "bin"
    bin_directory.mkdir()
    for tool in ("python3",):
        (bin_directory / tool).symlink_to(f"/usr/bin/{tool}")
    saved = os.environ["PATH"]
    os.environ["PATH"] = str(bin_directory)
    try:
        found = findings(tmp_path, zstd_bomb, zstandard=False, inputs=[zstd_bomb.parent])
    finally:
        os.environ["PATH"] = saved
    assert "apt-get install python3-zstandard" in unreadable(found, zstd_bomb, "python3-bomb")


def test_a_control_file_that_inflates_is_refused(tmp_path):
    """A control file of 400 MB (fields, then zeros): python-debian read it whole, 4x over."""
    deb = tmp_path / "inputs" / "control-bomb.deb"
    deb.parent.mkdir()
    fields = b"Package: python3-cbomb\nVersion: 1\nArchitecture: all\n"
    chunks = tar_with_zeros("./control", 400 << 20, before={"./md5sums": b""}, start=fields)
    control = compressed(["gzip", "-1", "-c"], chunks)
    data = lzma.compress(small_tar({f"./{LEGACY}/x.py": b""}))
    assemble(deb, [("debian-binary", b"2.0\n"), ("control.tar.gz", control), ("data.tar.xz", data)])
    detail = unreadable(findings(tmp_path, deb, inputs=[deb.parent]), deb)
    assert "the control file is 419430400 bytes" in detail


def test_a_control_tar_that_inflates_is_refused(tmp_path):
    """A sane control file, then a member of 300 MB: control.tar is capped as a whole too."""
    deb = tmp_path / "inputs" / "control-tar-bomb.deb"
    deb.parent.mkdir()
    fields = {"./control": b"Package: python3-cbomb\nVersion: 1\nArchitecture: all\n"}
    control = compressed(["zstd", "-q", "-c"], tar_with_zeros("./md5sums", 300 << 20, before=fields))
    data = lzma.compress(small_tar({f"./{LEGACY}/x.py": b""}))
    assemble(deb, [("debian-binary", b"2.0\n"), ("control.tar.zst", control), ("data.tar.xz", data)])
    detail = unreadable(findings(tmp_path, deb, inputs=[deb.parent]), deb)
    assert "inflates to more than" in detail


def test_tar_headers_tarfile_reads_whole_are_capped(tmp_path):
    """A GNU long name of 900 MB (tarfile reads it into memory), and a sparse member (dpkg does
    not unpack them; here made by GNU tar --sparse)."""
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    control = control_tar("Package: python3-longname\nVersion: 1\nArchitecture: all\n")
    longname = compressed(
        ["zstd", "-q", "-c"], tar_with_zeros("././@LongLink", 900 << 20, kind=tarfile.GNUTYPE_LONGNAME)
    )
    assemble(
        inputs / "longname.deb",
        [("debian-binary", b"2.0\n"), ("control.tar.xz", control), ("data.tar.zst", longname)],
    )
    sparse_root = tmp_path / "sparse"
    (sparse_root / LEGACY).mkdir(parents=True)
    with open(sparse_root / LEGACY / "hole.py", "wb") as out:
        out.truncate(64 << 20)
        out.write(b"x = 1\n")
    sparse = subprocess.run(
        ["tar", "--format=gnu", "--sparse", "-C", str(sparse_root), "-cf", "-", "."],
        capture_output=True,
        check=True,
    ).stdout
    assemble(
        inputs / "sparse.deb",
        [
            ("debian-binary", b"2.0\n"),
            ("control.tar.xz", control_tar("Package: python3-sparse\nVersion: 1\nArchitecture: all\n")),
            ("data.tar.xz", lzma.compress(sparse)),
        ],
    )
    found = findings(tmp_path, inputs, inputs=[inputs])
    assert "extended header of 943718400 bytes" in unreadable(
        found, inputs / "longname.deb", "python3-longname"
    )
    assert "sparse" in unreadable(found, inputs / "sparse.deb", "python3-sparse")


def contents_owners(count):
    return ",".join(f"python/python3-p{number:05d}" for number in range(count))


@pytest.mark.parametrize("count", [3000, 10000])
def test_a_contents_path_with_thousands_of_owners(tmp_path, count):
    """Every owner gets a finding naming 20 others and counting the rest: linear, not quadratic
    (10 000 owners took over two minutes)."""
    index = tmp_path / "index" / "Contents-amd64"
    index.parent.mkdir()
    index.write_text(f"{SHARED}/shared.py    {contents_owners(count)}\n")
    found = findings(tmp_path, "--contents", index, inputs=[index.parent])
    assert len(found) == count and {f["code"] for f in found} == {"path-collision"}
    first = found[0]
    named = ", ".join(f"python3-p{number:05d}" for number in range(1, 21))
    assert first["package"] == "python3-p00000"
    assert first["detail"] == f"also shipped by {named} and {count - 21} more"
    assert all(f["detail"].endswith(f" and {count - 21} more") for f in found)


def test_a_module_with_thousands_of_owners(tmp_path):
    """One module under two file names, 3000 packages shipping one of them."""
    index = tmp_path / "index" / "Contents-amd64"
    index.parent.mkdir()
    tagged = f"{SHARED}/foo.cpython-311-x86_64-linux-gnu.so"
    index.write_text(f"{tagged}    python/python3-tagged\n{SHARED}/foo.so    {contents_owners(3000)}\n")
    found = findings(tmp_path, "--contents", index, inputs=[index.parent])
    clash = [f for f in found if f["code"] == "module-clash"]
    assert len(clash) == 3001
    lone = next(f for f in clash if f["package"] == "python3-tagged")
    assert lone["detail"].startswith(f"module foo is also {SHARED}/foo.so in python3-p00000, ")
    assert " and 2980 more; " in lone["detail"]


def test_a_contents_line_that_never_ends_is_refused(tmp_path):
    """100 MB without a newline (100 KB gzipped): it was carried, and copied, with every block."""
    index = tmp_path / "index" / "Contents-amd64.gz"
    index.parent.mkdir()
    line = (b"a" * (1 << 20) for _ in range(100))
    index.write_bytes(compressed(["gzip", "-1", "-c"], line))
    usage_error(tmp_path, "--contents", index, words="a line longer than", inputs=[index.parent])


def test_files_named_deb_that_never_end_are_not_read(tmp_path):
    """A FIFO and a link to /dev/zero named *.deb in a searched directory: reading or hashing
    them never ended.  Only regular files are .debs."""
    pool = tmp_path / "pool"
    pool.mkdir()
    deb = good_deb(pool)
    os.mkfifo(pool / "fifo.deb")
    (pool / "zero.deb").symlink_to("/dev/zero")
    result = scan(tmp_path, "--json", "--supported", "3.11", pool, inputs=[pool])
    found = json.loads(result.stdout)["findings"]
    assert result.returncode == 1 and [(f["deb"], f["code"]) for f in found] == [(str(deb), "legacy-layout")]


def records_file(path, records, header=None):
    header = header or {
        "kind": "pyshared-scan-records",
        "schema": 1,
        "tool": tool_version(),
        "supported": ["3.11"],
        "max_member_bytes": 256 * 1024 * 1024,
        "shard": [1, 1],
        "debs": len(records),
    }
    with open(path, "w") as out:
        out.write(json.dumps(header) + "\n")
        for record in records:
            out.write(json.dumps(record) + "\n")
    return path


def record(index, package, paths=(), findings=(), source=None):
    return {
        "index": index,
        "deb": f"/pool/{package}.deb",
        "sha256": None,
        "package": package,
        "version": "1",
        "source": source or package,
        "declared": [],
        "provides": [],
        "paths": list(paths),
        "findings": [list(finding) for finding in findings],
        "notes": [],
    }


def test_merge_of_a_path_with_thousands_of_owners(tmp_path):
    """The store's path-collision: as linear as the Contents scan's."""
    records = records_file(
        tmp_path / "all.jsonl", [record(i, f"python3-p{i:05d}", [f"{SHARED}/x.py"]) for i in range(10000)]
    )
    result = scan(tmp_path, "merge", "--json", records, inputs=[tmp_path / "all.jsonl"])
    found = json.loads(result.stdout)["findings"]
    assert result.returncode == 1 and len(found) == 10000
    assert all(f["detail"].endswith(" and 9979 more") for f in found)


def test_a_records_header_is_checked_against_what_it_holds(tmp_path):
    """171 bytes claiming 10^8 shards took 11.5 GB in merge."""
    header = {
        "kind": "pyshared-scan-records",
        "schema": 1,
        "tool": tool_version(),
        "supported": ["3.11"],
        "max_member_bytes": 268435456,
        "shard": [1, 100000000],
        "debs": 100000000,
    }
    many = records_file(tmp_path / "many.jsonl", [], header)
    assert many.stat().st_size < 200
    usage_error(tmp_path, "merge", many, words="shard(s) 2/100000000, 3/100000000")
    for name, value, words in (
        ("shard", [1, 10**30], "shard is not [I, N]"),
        ("shard", [2, 1], "shard is not [I, N]"),
        ("debs", -1, "debs is not"),
        ("debs", 10**30, "debs is not"),
        ("supported", "3.11", "supported is not"),
        ("max_member_bytes", "big", "max_member_bytes is not"),
    ):
        bad = records_file(tmp_path / "bad.jsonl", [], {**header, "shard": [1, 1], "debs": 0, name: value})
        usage_error(tmp_path, "merge", bad, words=words)
    nested = tmp_path / "nested.jsonl"
    nested.write_text("[" * 100000 + "]" * 100000 + "\n")
    usage_error(tmp_path, "merge", nested, words="cannot read the records")
    good = record(0, "python3-a")
    for broken, words in (
        ({**good, "findings": [["python3-a", "1", "a", "p", "no-such-code", "d"]]}, "known code"),
        ({**good, "findings": [["python3-a", "1"]]}, "known code"),
        ({**good, "paths": "usr/lib"}, "paths is not a list"),
        ([1, 2], "not an object"),
        ({**good, "package": 7}, "without index"),
    ):
        records = records_file(tmp_path / "broken.jsonl", [broken])
        usage_error(tmp_path, "merge", records, words=words)
    extra = records_file(
        tmp_path / "extra.jsonl", [good, record(1, "python3-b")], {**header, "shard": [1, 1], "debs": 1}
    )
    usage_error(tmp_path, "merge", extra, words="records where shard 1/1 of 1 .debs has 1")


# --- 10: damaged input --------------------------------------------------------------------------


def build_compressed(directory, package, files, compression):
    """A .deb from dpkg-deb --build -Z`compression`: files {path: bytes | compiled Path}."""
    root = Path(directory) / f"{package}-{compression}-tree"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        f"Package: {package}\nVersion: 1\nArchitecture: amd64\nMaintainer: a <a@b.org>\nDescription: d\n d\n"
    )
    for path, content in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(content.read_bytes() if isinstance(content, Path) else content)
    deb = Path(directory) / f"{package}-{compression}.deb"
    subprocess.run(
        ["dpkg-deb", "--build", "--root-owner-group", f"-Z{compression}", str(root), str(deb)],
        check=True,
        capture_output=True,
    )
    return deb


@pytest.mark.parametrize("compression", ["xz", "gzip", "zstd", "zstd-command", "none"])
def test_a_deb_missing_its_last_bytes_is_unreadable(tmp_path, objects, compression):
    """Cut inside the compressed stream (the ar member made consistent again, so only the
    decompressor can tell) and cut at the end of the file: dpkg-deb -c fails on both; the scan
    judged them from what it could read."""
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    tool = compression.split("-")[0]
    files = {f"{LEGACY}/big.py": os.urandom(300_000), f"{SHARED}/fast.so": objects["fast"]}
    whole = build_compressed(tmp_path, "python3-cut", files, tool)
    members = subprocess.run(
        ["ar", "t", str(whole)], capture_output=True, text=True, check=True
    ).stdout.split()
    parts = {
        name: subprocess.run(["ar", "p", str(whole), name], capture_output=True, check=True).stdout
        for name in members
    }
    (data_name,) = [name for name in members if name.startswith("data.tar")]
    cut_parts = [
        (name, parts[name][: -16 if tool != "none" else -20000] if name == data_name else parts[name])
        for name in members
    ]
    cut = assemble(inputs / "cut-stream.deb", cut_parts)
    short = inputs / "cut-file.deb"
    short.write_bytes(whole.read_bytes()[:-16])
    for deb in (cut, short):
        dpkg_refuses(deb)
    found = findings(tmp_path, inputs, whole, zstandard=compression != "zstd-command", inputs=[inputs])
    assert "truncated" in unreadable(found, short, "python3-cut")
    unreadable(found, cut, "python3-cut")
    # The whole .deb, read the same way, is judged.
    assert {f["code"] for f in found if f["deb"] == str(whole)} == {"legacy-layout", "untagged-extension"}


def test_damaged_tar_and_ar_structure_is_unreadable(tmp_path):
    """A corrupt tar header after the first (tarfile stops there silently), an ar archive whose
    data.tar comes before control.tar, one that ends after control.tar, one not a .deb at all."""
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    plain = build_deb(tmp_path, "python3-plain", arch="all", files={f"{LEGACY}/a.py": b"a = 1\n"})
    control = subprocess.run(["ar", "p", str(plain), "control.tar.xz"], capture_output=True).stdout
    data = bytearray(
        small_tar(
            {f"./{LEGACY}/a.py": b"a = 1\n", f"./{LEGACY}/b.py": b"b = 2\n", f"./{LEGACY}/c.py": b"c = 3\n"}
        )
    )
    second = data.index(f"./{LEGACY}/b.py".encode())
    data[second + 148 : second + 150] = b"99"  # the header's checksum
    corrupt = assemble(
        inputs / "corrupt-header.deb",
        [("debian-binary", b"2.0\n"), ("control.tar.xz", control), ("data.tar", bytes(data))],
    )
    good_data = lzma.compress(small_tar({f"./{LEGACY}/a.py": b""}))
    swapped = assemble(
        inputs / "swapped.deb",
        [("debian-binary", b"2.0\n"), ("data.tar.xz", good_data), ("control.tar.xz", control)],
    )
    no_data = assemble(inputs / "no-data.deb", [("debian-binary", b"2.0\n"), ("control.tar.xz", control)])
    other = assemble(inputs / "other.deb", [("hello.txt", b"hello\n")])
    for deb in (corrupt, swapped, no_data, other):
        dpkg_refuses(deb)
    found = findings(tmp_path, inputs, inputs=[inputs])
    assert "corrupt or truncated tar" in unreadable(found, corrupt, "python3-plain")
    unreadable(found, swapped)
    unreadable(found, no_data)
    unreadable(found, other)


def packages_paragraphs(count=2000):
    return "".join(
        f"Package: python3-p{i}\nVersion: 1\nArchitecture: all\nFilename: pool/p{i}.deb\n\n"
        for i in range(count)
    ).encode()


def test_damaged_packages_indexes_are_usage_errors(tmp_path):
    """Truncated xz (python-debian took the decompressor's EOFError for the end), random bytes,
    lz4 magic before garbage, truncated zstd (its stream reader stops silently), a line that is
    not UTF-8: a one-line error each, never a short list of packages."""
    import lz4.frame
    import zstandard

    indexes = tmp_path / "indexes"
    indexes.mkdir()
    text = packages_paragraphs()
    cases = {
        "Packages.xz": lzma.compress(text)[:-40],
        "random": os.urandom(60_000),
        "lz4-garbage": b"\x04\x22\x4d\x18" + os.urandom(6000),
        "Packages.lz4": lz4.frame.compress(text)[:-40],
        "Packages.zst": zstandard.ZstdCompressor().compress(text)[:-40],
        "latin-1": text + b"Package: caf\xe9\nVersion: 1\n",
        "no-package": b"Version: 1\nFilename: pool/x.deb\n",
    }
    for name, data in cases.items():
        (indexes / name).write_bytes(data)
        usage_error(
            tmp_path,
            "--no-cache",
            "--packages",
            indexes / name,
            words="cannot read the Packages index",
            inputs=[indexes],
        )
    # The same indexes naming a Contents index's packages.
    (indexes / "Contents-amd64").write_text(f"{SHARED}/x.py    python/python3-p1\n")
    for name in cases:
        usage_error(
            tmp_path,
            "--contents",
            indexes / "Contents-amd64",
            "--packages",
            indexes / name,
            words="cannot read the Packages index",
            inputs=[indexes],
        )


def test_a_truncated_contents_index_is_a_usage_error(tmp_path):
    import zstandard

    index = tmp_path / "index" / "Contents-amd64.zst"
    index.parent.mkdir()
    lines = "".join(f"{SHARED}/m{i:05d}.py    python/python3-p{i}\n" for i in range(20000)).encode()
    index.write_bytes(zstandard.ZstdCompressor().compress(lines)[:-30])
    usage_error(tmp_path, "--contents", index, words="cannot read the Contents index", inputs=[index.parent])


def test_a_packages_paragraph_with_bad_names_is_not_read(tmp_path):
    """A paragraph whose Package or Source no Debian name is: unreadable-deb, named by nothing."""
    mirror = tmp_path / "mirror"
    (mirror / "pool").mkdir(parents=True)
    good = good_deb(mirror / "pool")
    index = mirror / "Packages"
    index.write_text(
        f"Package: python3-good\nVersion: 1.0\nArchitecture: all\nFilename: pool/{good.name}\n\n"
        "Package: python3-evil\nSource: evil\n : legacy-layout\nVersion: 1\nArchitecture: all\n"
        f"Filename: pool/{good.name}\n\n"
    )
    found = findings(tmp_path, "--packages", index, inputs=[mirror])
    evil = [f for f in found if f["code"] == "unreadable-deb"]
    assert len(evil) == 1 and evil[0]["package"] == "" and "Source field" in evil[0]["detail"]
    assert {(f["package"], f["code"]) for f in found} == {
        ("python3-good", "legacy-layout"),
        ("", "unreadable-deb"),
    }


def test_a_cache_of_another_schema_is_a_usage_error(tmp_path, objects):
    import sqlite3

    inputs = tmp_path / "inputs"
    inputs.mkdir()
    deb = good_deb(inputs)
    other = tmp_path / "caches" / "other.sqlite3"
    other.parent.mkdir()
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE records (sha256 TEXT, payload BLOB)")
    usage_error(
        tmp_path,
        "--cache",
        other,
        "--supported",
        "3.11",
        deb,
        words="is not one pyshared-scan writes",
        inputs=[inputs],
    )
    garbage = tmp_path / "caches" / "garbage.sqlite3"
    garbage.write_bytes(os.urandom(8192))
    usage_error(
        tmp_path,
        "--cache",
        garbage,
        "--supported",
        "3.11",
        deb,
        words="cannot use the cache",
        inputs=[inputs],
    )
    # A cache this version wrote, whose record was then damaged.
    cache = tmp_path / "caches" / "damaged.sqlite3"
    assert scan(tmp_path, "--cache", cache, "--supported", "3.11", deb).returncode == 1
    with sqlite3.connect(cache) as connection:
        assert connection.execute("UPDATE records SET record = ?", ('{"findings": 7}',)).rowcount == 1
    usage_error(
        tmp_path, "--cache", cache, "--supported", "3.11", deb, words="holds a record", inputs=[inputs]
    )


# --- 11: output injection ------------------------------------------------------------------------


def test_control_fields_cannot_split_rebuild_list_lines(tmp_path):
    """A newline in Source made a rebuild script read a package named ': legacy-layout'."""
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    data = lzma.compress(small_tar({f"./{LEGACY}/m.py": b""}))
    fields = {
        "source": "Package: python3-evil\nSource: evil\n : legacy-layout\nVersion: 1\nArchitecture: all\n",
        "package": "Package: python3-evil\n : legacy-layout\nVersion: 1\nArchitecture: all\n",
        "version": "Package: python3-evil\nVersion: 1\n 2: x\nArchitecture: all\n",
        "colon": "Package: python3-evil\nSource: evil: legacy-layout, x\nVersion: 1\nArchitecture: all\n",
    }
    for name, control in fields.items():
        ar_deb(inputs / f"{name}.deb", "data.tar.xz", data, control=control)
    good_deb(inputs)
    listing = scan(tmp_path, "--rebuild-list", "--no-cache", "--supported", "3.11", inputs, inputs=[inputs])
    assert listing.returncode == 1 and listing.stdout == "python3-good: legacy-layout\n", listing.stdout
    found = findings(tmp_path, inputs, inputs=[inputs])
    for name in fields:
        assert "is not" in unreadable(found, inputs / f"{name}.deb")


def test_merged_records_cannot_split_rebuild_list_lines(tmp_path):
    """Records are JSON: any string survives them, so the list escapes what a name cannot hold."""
    sources = ["evil\n: legacy-layout", "ok: stale-tag, x\\y"]
    records = records_file(
        tmp_path / "r.jsonl",
        [
            record(number, f"python3-{number}", findings=[["p", "1", source, LEGACY, "legacy-layout", "1"]])
            for number, source in enumerate(sources)
        ],
    )
    listing = scan(tmp_path, "merge", "--rebuild-list", records, inputs=[tmp_path / "r.jsonl"])
    assert listing.stdout.splitlines() == [
        "evil\\x0a\\x3a\\x20legacy-layout: legacy-layout",
        "ok\\x3a\\x20stale-tag\\x2c\\x20x\\x5cy: legacy-layout",
    ]


def test_member_names_with_newlines_stay_on_their_table_line(tmp_path):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    data = lzma.compress(small_tar({f"./{LEGACY}/a\nb.py": b"", "../\n\x1b[2Jevil": b""}))
    ar_deb(
        inputs / "newline.deb",
        "data.tar.xz",
        data,
        control="Package: python3-nl\nVersion: 1\nArchitecture: all\n",
    )
    found = findings(tmp_path, inputs, inputs=[inputs])
    assert {(f["path"], f["code"]) for f in found} == {
        (LEGACY, "legacy-layout"),
        ("../\n\x1b[2Jevil", "unsafe-member"),
    }
    table = scan(tmp_path, "--no-cache", "--supported", "3.11", inputs, inputs=[inputs])
    assert len(table.stdout.splitlines()) == len(found) + 1 and "\x1b" not in table.stdout


def test_error_lines_stay_one_line(tmp_path):
    usage_error(tmp_path, "--no-cache", b"/no/such\n\x1b[31mfile.deb", words="no such file or directory")
