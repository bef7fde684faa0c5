"""pyshared-scan's other inputs and its scale: unpacked trees, a Packages index with its pool
(made by the real dpkg-scanpackages), Contents indexes (made by the real apt-ftparchive, and
bookworm's own), the progress bar, the cache size limit and memory flat in packages."""

import gzip
import io
import json
import lzma
import os
import re
import subprocess
import sys
import tracemalloc
from pathlib import Path

import lz4.frame
import pytest
from helpers.abi_packages import ABI3_PACKAGES, LIBPYTHON_PACKAGES
from helpers.archive import fetch_debs
from helpers.archive_trees import DEB_CACHE_NAME, PACKAGES
from helpers.contents import bookworm_contents
from helpers.scan_debs import AUDITED, OLD, SHARED, TAGGED, build_deb, objects, private_cache, scan, stats
from helpers.scan_debs import TOOL as SCAN_TOOL

from pyshared_tools.archive import contents as scan_contents
from pyshared_tools.archive import report
from pyshared_tools.archive.model import Finding
from pyshared_tools.archive.store import Store
from pyshared_tools.indexes import decompressed_blocks

__all__ = ["objects", "private_cache"]  # fixtures from helpers/scan_debs.py

CHECKOUT = Path(__file__).resolve().parent.parent


def findings_of(*args, expect_rc=1):
    result = scan("--json", "--no-cache", "--supported", "3.11", *args)
    assert result.returncode == expect_rc, result.stderr
    return json.loads(result.stdout)["findings"]


def without_deb(findings, codes=None):
    return {
        (f["package"], f["version"], f["path"], f["code"], f["detail"])
        for f in findings
        if codes is None or f["code"] in codes
    }


def small_archive(directory, objects):
    """Built .debs covering every name-visible finding and a few that need the ELF."""
    directory.mkdir(parents=True, exist_ok=True)
    return [
        build_deb(directory, "python3-untagged", files={f"{SHARED}/fast.so": objects["fast"]}),
        build_deb(directory, "python3-old", files={f"{SHARED}/old/fast{OLD}": objects["fast"]}),
        build_deb(directory, "python3-ctypes", files={f"{SHARED}/libhelper.so": objects["library"]}),
        build_deb(
            directory,
            "python3-farm",
            arch="all",
            files={
                "usr/share/pyshared/farm/__init__.py": b"",
                "usr/share/python-support/python3-farm.public": b"pyversions=3.11\n",
            },
            links={
                "usr/lib/pymodules/python3.11/farm/__init__.py": "../../../../share/pyshared/farm/__init__.py"
            },
        ),
        build_deb(
            directory,
            "python3-a",
            source="src-a",
            files={
                f"{SHARED}/common/data.py": b"A = 1\n",
                f"{SHARED}/foo.so": objects["foo"],
            },
        ),
        build_deb(
            directory,
            "python3-b",
            version="2.0",
            files={
                f"{SHARED}/common/data.py": b"B = 2\n",
                f"{SHARED}/foo{TAGGED}": objects["foo"],
            },
        ),
    ]


# --- unpacked trees ---------------------------------------------------------------------------


def test_unpacked_trees_are_judged_like_their_debs(tmp_path, objects):
    """dpkg-deb -R of built and real archive .debs: the same findings as the .debs themselves."""
    debs = small_archive(tmp_path / "debs", objects)
    real = fetch_debs(PACKAGES, DEB_CACHE_NAME)
    abi = fetch_debs(tuple(sorted(LIBPYTHON_PACKAGES) + sorted(ABI3_PACKAGES)), "abi-check-debs")
    debs += [real["python3-numpy"], *(abi[package] for package in LIBPYTHON_PACKAGES)]
    trees = tmp_path / "trees"
    trees.mkdir()
    for deb in debs:
        subprocess.run(["dpkg-deb", "-R", str(deb), str(trees / deb.stem)], check=True)
    from_debs = findings_of(*debs)
    from_trees = findings_of(trees)
    assert without_deb(from_trees) == without_deb(from_debs)
    assert {f["code"] for f in from_trees} >= {
        "legacy-layout",
        "untagged-extension",
        "libpython",
        "stale-tag",
    }
    assert {Path(f["deb"]).parent for f in from_trees} == {trees}


def test_a_tree_never_follows_its_links(tmp_path, objects):
    """A link to an extension outside the tree is an entry, never read: were it followed, the
    bait would be an untagged-extension and opened."""
    bait = tmp_path / "bait.so"
    bait.write_bytes(objects["fast"].read_bytes())
    tree = tmp_path / "tree"
    (tree / "DEBIAN").mkdir(parents=True)
    (tree / "DEBIAN" / "control").write_text("Package: python3-links\nVersion: 1\nArchitecture: amd64\n")
    shared = tree / SHARED
    shared.mkdir(parents=True)
    (shared / "bait.so").symlink_to(bait)
    (shared / "up.so").symlink_to("../../../../../bait.so")
    (shared / "loop.so").symlink_to("loop.so")
    (shared / "sub").symlink_to(tmp_path)  # a directory link: not descended
    result = subprocess.run(
        [
            "/usr/bin/python3",
            "-c",
            AUDITED,
            str(CHECKOUT),
            "--json",
            "--no-cache",
            "--supported",
            "3.11",
            str(tree),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["findings"] == []
    opened = eval(result.stderr.rsplit("OPENED ", 1)[1])
    assert str(bait) not in opened and not [p for p in opened if p.endswith(".so")]


# --- a Packages index and its pool ------------------------------------------------------------


def scan_packages(mirror, binary):
    """dists/.../Packages for the pool, by dpkg-scanpackages; its text."""
    index = subprocess.run(
        ["dpkg-scanpackages", "--multiversion", "pool", "/dev/null"],
        cwd=mirror,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    (binary / "Packages").write_text(index)
    return index


def mirror_with_index(tmp_path, objects):
    """mirror/pool/main/*.deb, and dists/bookworm/main/binary-amd64/Packages{,.xz,.lz4} written by
    dpkg-scanpackages."""
    mirror = tmp_path / "mirror"
    debs = small_archive(mirror / "pool" / "main", objects)
    binary = mirror / "dists" / "bookworm" / "main" / "binary-amd64"
    binary.mkdir(parents=True)
    index = scan_packages(mirror, binary)
    (binary / "Packages.xz").write_bytes(lzma.compress(index.encode()))
    (binary / "Packages.lz4").write_bytes(lz4.frame.compress(index.encode()))
    return mirror, binary, debs


def test_a_packages_index_scans_its_pool(tmp_path, objects):
    mirror, binary, _debs = mirror_with_index(tmp_path, objects)
    expected = without_deb(findings_of(mirror / "pool"))
    outputs = set()
    for name in ("Packages", "Packages.xz", "Packages.lz4"):
        result = scan("--json", "--no-cache", "--supported", "3.11", "--packages", binary / name)
        assert result.returncode == 1, result.stderr
        outputs.add(result.stdout)
        assert without_deb(json.loads(result.stdout)["findings"]) == expected
    assert len(outputs) == 1
    # --mirror when the index is not under dists/.
    elsewhere = tmp_path / "Packages.gz"
    elsewhere.write_bytes(gzip.compress((binary / "Packages").read_bytes()))
    assert without_deb(findings_of("--packages", elsewhere, "--mirror", mirror)) == expected


def test_a_packages_index_names_what_it_cannot_read(tmp_path, objects):
    """Missing from the pool, a Filename leaving the mirror, a .deb changed since it was indexed:
    each an unreadable-deb finding named by the index; the scan goes on."""
    _mirror, binary, debs = mirror_with_index(tmp_path, objects)
    extra = (
        "Package: python3-gone\nVersion: 3\nArchitecture: amd64\nFilename: pool/main/gone.deb\nSHA256: 00\n\n"
        "Package: python3-escape\nVersion: 4\nArchitecture: amd64\nFilename: ../../etc/passwd\n\n"
    )
    (binary / "Packages").write_text((binary / "Packages").read_text() + "\n" + extra)
    changed = next(deb for deb in debs if deb.name.startswith("python3-ctypes"))
    changed.write_bytes(changed.read_bytes() + b"\n")  # still a readable .deb, but not the indexed one
    findings = findings_of("--packages", binary / "Packages")
    unreadable = {f["package"]: f["detail"] for f in findings if f["code"] == "unreadable-deb"}
    assert set(unreadable) == {"python3-gone", "python3-escape", "python3-ctypes"}
    assert "not in the mirror" in unreadable["python3-gone"]
    assert "not a path inside the mirror" in unreadable["python3-escape"]
    assert "is not the Packages index's" in unreadable["python3-ctypes"]
    assert {f["package"] for f in findings} >= {"python3-untagged", "python3-old", "python3-farm"}


def test_a_warm_packages_index_scan_opens_no_deb(tmp_path, objects, private_cache):
    """The index's SHA256 is the cache key: a rerun after a mirror update reads only what changed."""
    mirror, binary, debs = mirror_with_index(tmp_path, objects)
    # --jobs 1: the audit hook sees every file the scan opens.
    args = ["--json", "--stats", "--jobs", "1", "--supported", "3.11", "--packages", str(binary / "Packages")]
    first = scan(*args)
    assert stats(first) == (len(debs), 0)

    def audited():
        result = subprocess.run(
            ["/usr/bin/python3", "-c", AUDITED, str(CHECKOUT), *args], capture_output=True, text=True
        )
        assert result.returncode == 1, result.stderr
        return result, eval(result.stderr.rsplit("OPENED ", 1)[1])

    warm, opened = audited()
    assert warm.stdout == first.stdout and stats(warm) == (len(debs), len(debs))
    assert not [p for p in opened if p.endswith(".deb")]
    # A new upload: only it is read.
    build_deb(
        mirror / "pool" / "main",
        "python3-untagged",
        version="1.1",
        files={f"{SHARED}/fast.so": objects["fast"]},
    )
    scan_packages(mirror, binary)
    updated, opened = audited()
    assert stats(updated) == (len(debs) + 1, len(debs))
    assert [Path(p).name for p in opened if p.endswith(".deb")] == ["python3-untagged_1.1_amd64.deb"]


# --- Contents indexes -------------------------------------------------------------------------

NAME_CODES = {"legacy-layout", "stale-tag", "path-collision", "module-clash"}


def test_a_contents_index_agrees_with_the_debs(tmp_path, objects):
    """apt-ftparchive's Contents of a pool: every finding a name can tell is the one the .debs give."""
    mirror, binary, _debs = mirror_with_index(tmp_path, objects)
    from_debs = findings_of("--packages", binary / "Packages")
    text = subprocess.run(
        ["apt-ftparchive", "contents", "pool"], cwd=mirror, check=True, capture_output=True
    ).stdout
    plain = tmp_path / "Contents-amd64"
    plain.write_bytes(text)
    (tmp_path / "Contents-amd64.gz").write_bytes(gzip.compress(text))
    (tmp_path / "Contents-amd64.lz4").write_bytes(lz4.frame.compress(text))
    outputs = []
    for name in ("Contents-amd64", "Contents-amd64.gz", "Contents-amd64.lz4"):
        result = scan(
            "--json", "--supported", "3.11", "--contents", tmp_path / name, "--packages", binary / "Packages"
        )
        assert result.returncode == 1, result.stderr
        outputs.append(result.stdout.replace(str(tmp_path / name), "INDEX"))
    assert outputs[0] == outputs[1] == outputs[2]
    from_contents = json.loads(result.stdout)["findings"]
    assert without_deb(from_contents, NAME_CODES) == without_deb(from_debs, NAME_CODES)
    assert without_deb(from_contents, NAME_CODES) >= {
        (
            "python3-farm",
            "1.0",
            "usr/share/pyshared",
            "legacy-layout",
            "1 file(s) in layout rule pyshared: "
            "python-support, python-central and dh_python2 2010-2014: pure modules",
        ),
    }
    # A name cannot tell an extension from a library: both are untagged-so.
    untagged = {f["path"] for f in from_contents if f["code"] == "untagged-so"}
    assert untagged == {f"{SHARED}/fast.so", f"{SHARED}/libhelper.so", f"{SHARED}/foo.so"}
    assert {
        f["path"] for f in from_debs if f["code"] in ("untagged-extension", "not-an-extension")
    } == untagged
    assert {f["deb"] for f in from_contents} == {str(tmp_path / "Contents-amd64.lz4")}


def test_candidate_lines_across_block_boundaries():
    """bytes.find over blocks gives exactly the lines a line-by-line filter gives, wherever blocks end."""
    lines = [
        b"bin/ls  utils/coreutils",
        b"usr/lib/python3/dist-packages/a.so  python/python3-a",
        b"usr/lib/python3.11/dist-packages/b.py python/python3-b",
        b"usr/share/doc/usr/lib/python3/x  doc/decoy",
        b"usr/share/pyshared/c.py python/python-c",
        b"usr/local/lib/python3.11/site-packages/d.py python/python3-d",
        b"var/lib/python-support/python2.7/e.py python/python-e",
        b"xusr/lib/python3/f.py python/decoy",
    ] * 7
    data = b"\n".join(lines) + b"\n"
    expected = [
        line for line in lines if line.startswith(tuple(p[1:] for p in scan_contents.CANDIDATE_PREFIXES))
    ]
    for size in (1, 5, 7, 64, 4096):
        for text in (data, data[:-1]):
            blocks = [text[start : start + size] for start in range(0, len(text), size)]
            found = [line for _, lines in scan_contents.candidate_batches(blocks) for line in lines]
            assert found == expected, size


def test_gzip_blocks_span_members_and_refuse_a_truncated_file(tmp_path):
    """Inflated with zlib directly: a multi-member gzip file is read whole, a cut one is an error."""
    text = b"".join(b"usr/lib/python3/dist-packages/m%d.py python/python3-m\n" % n for n in range(20000))
    whole = tmp_path / "Contents-amd64.gz"
    whole.write_bytes(gzip.compress(text[:100000]) + gzip.compress(text[100000:]))
    assert b"".join(decompressed_blocks(whole, "Contents index", 4096)) == text
    cut = tmp_path / "cut.gz"
    cut.write_bytes(whole.read_bytes()[:-20])
    with pytest.raises(EOFError):
        b"".join(decompressed_blocks(cut, "Contents index", 4096))


# Lines for a package no archive has, merged into the real index at their sorted places, so that
# each kind of finding checked below is there whatever the point release: an untagged .so, a stale
# tag, a debug build next to its normal one (neither a stale tag nor a module clash), a legacy layout.
PROBE = "python3-dh-pyshared-probe"
PROBE_LINES = {
    f"{SHARED}/dh_pyshared_probe/_fast.so": f"python/{PROBE}",
    f"{SHARED}/dh_pyshared_probe/_old.cpython-310-x86_64-linux-gnu.so": f"python/{PROBE}",
    f"{SHARED}/dh_pyshared_probe/_speed.cpython-311-x86_64-linux-gnu.so": f"python/{PROBE}",
    f"{SHARED}/dh_pyshared_probe/_speed.cpython-311d-x86_64-linux-gnu.so": f"debug/{PROBE}-dbg",
    "usr/lib/python3.11/dist-packages/dh_pyshared_probe/__init__.py": f"python/{PROBE}",
}
VERSIONED = "usr/lib/python3.11/dist-packages"
LOOKED_AT = (f"{SHARED}/".encode(), f"{VERSIONED}/".encode())
CPYTHON_TAGGED = re.compile(r"[A-Za-z_]\w*\.cpython-3(?P<minor>\d+)(?P<debug>d?)-x86_64-linux-gnu\.so")


def with_probes(contents):
    """The lines of the index, bytes with their newline, and PROBE_LINES merged in by path."""
    probes = sorted(
        (path.encode(), f"{path} {location}\n".encode()) for path, location in PROBE_LINES.items()
    )
    with gzip.open(contents, "rb") as stream:
        for line in stream:
            # Comparing the whole line is comparing its path: no path is a prefix of a probe's.
            while probes and probes[0][0] < line:
                yield probes.pop(0)[1]
            yield line
    for _, line in probes:
        yield line


def test_the_real_bookworm_contents_index(tmp_path):
    """bookworm's 1.6 million lines (and a few probe lines): what the scan finds is what a plain
    line-by-line reading of the same bytes finds: every untagged .so and every stale cpython tag
    under /usr/lib/python3/dist-packages, no debug build (cpython-311d) flagged, every package
    with files in usr/lib/python3.11/dist-packages a legacy layout.  Nothing here names today's
    packages: a point release changes the expected sets and the findings alike."""
    index = tmp_path / "Contents-amd64.lz4"
    untagged, stale, debug, legacy = set(), set(), set(), set()
    with lz4.frame.open(index, "wb") as compressed, io.BufferedWriter(compressed, 1 << 20) as out:
        for line in with_probes(bookworm_contents()):
            out.write(line)
            if not line.startswith(LOOKED_AT):
                continue
            path, locations = line.decode("utf-8", "surrogateescape").rsplit(None, 1)
            packages = {location.rpartition("/")[2] for location in locations.split(",")}
            _directory, _, name = path.rpartition("/")
            if path.startswith(f"{VERSIONED}/"):
                legacy |= {(package, VERSIONED) for package in packages}
            if not (path.startswith(f"{SHARED}/") and name.endswith(".so")):
                continue
            tagged = CPYTHON_TAGGED.fullmatch(name)
            if name.removesuffix(".so").isidentifier():
                untagged |= {(package, path) for package in packages}
            elif tagged and tagged["minor"] != "11":
                stale |= {(package, path) for package in packages}
            elif tagged and tagged["debug"]:
                debug |= {(package, path) for package in packages}
    result = scan("--json", "--supported", "3.11", "--contents", index)
    index.unlink()
    assert result.returncode == 1, result.stderr
    findings = {}
    for finding in json.loads(result.stdout)["findings"]:
        findings.setdefault(finding["code"], set()).add((finding["package"], finding["path"]))
    probes = {(location.rpartition("/")[2], path) for path, location in PROBE_LINES.items()}
    in_shared = {item for item in findings["untagged-so"] if item[1].startswith(f"{SHARED}/")}
    assert in_shared == untagged and len(untagged & probes) == 1
    tagged_stale = {
        item
        for item in findings["stale-tag"]
        if item[1].startswith(f"{SHARED}/") and CPYTHON_TAGGED.fullmatch(item[1].rpartition("/")[2])
    }
    assert tagged_stale == stale and len(stale & probes) == 1
    assert not debug & (findings["stale-tag"] | findings.get("module-clash", set())), debug
    assert len(debug & probes) == 1
    assert {item for item in findings["legacy-layout"] if item[1] == VERSIONED} == legacy
    assert (PROBE, VERSIONED) in legacy
    assert "give --packages INDEX" in result.stderr


def test_contents_usage_errors(tmp_path, objects):
    deb = build_deb(tmp_path, "python3-untagged", files={f"{SHARED}/fast.so": objects["fast"]})
    index = tmp_path / "index.gz"
    index.write_bytes(gzip.compress(f"{SHARED}/fast.so python/python3-untagged\n".encode()))
    unsorted = tmp_path / "Contents-amd64"
    unsorted.write_text(f"{SHARED}/b.py python/python3-b\n{SHARED}/a.py python/python3-a\n")
    cut = tmp_path / "Contents-i386.gz"
    cut.write_bytes(gzip.compress(f"{SHARED}/a.py python/python3-a\n".encode() * 5000)[:-30])
    for args, words in (
        (("--contents", index, deb), "not combined with .debs"),
        (("--contents", index, "--records", tmp_path / "r"), "not combined with .debs"),
        (("--contents", index), "--contents-arch ARCH"),
        (("--contents", tmp_path / "Contents-amd64.gz"), "cannot read the Contents index"),
        # An index out of order would hide module clashes: refused, not a short result.
        (("--contents", unsorted), "not sorted by path"),
        # Read in the filtering process: its error reaches the command line.
        (("--contents", cut), "cannot read the Contents index (EOFError: compressed file ended"),
    ):
        result = scan("--supported", "3.11", *args)
        assert result.returncode == 2 and result.stdout == "" and words in result.stderr, (
            args,
            result.stderr,
        )
    named = scan("--json", "--supported", "3.11", "--contents", index, "--contents-arch", "amd64")
    assert named.returncode == 1 and json.loads(named.stdout)["findings"][0]["code"] == "untagged-so"


# --- progress, cache size, memory -------------------------------------------------------------


def test_progress_bar_goes_to_standard_error_only(tmp_path, objects):
    debs = small_archive(tmp_path, objects)
    quiet = scan("--json", "--no-cache", "--supported", "3.11", "--no-progress", *debs)
    bar = scan("--json", "--no-cache", "--supported", "3.11", "--progress", *debs)
    piped = scan("--json", "--no-cache", "--supported", "3.11", *debs)  # standard error is a pipe
    assert bar.stdout == quiet.stdout == piped.stdout
    assert f"0/{len(debs)} [" in bar.stderr and "deb/s]" in bar.stderr
    assert quiet.stderr == piped.stderr == ""


def test_cache_size_limit_drops_the_least_recently_used(tmp_path, objects):
    first = small_archive(tmp_path / "first", objects)
    second = [
        build_deb(tmp_path / "second", f"python3-x{n}", files={f"{SHARED}/x{n}.py": b"X\n" * 4000})
        for n in range(4)
    ]
    cache = tmp_path / "cache.sqlite3"

    def run(debs, *extra):
        return stats(scan("--stats", "--cache", cache, "--supported", "3.11", *extra, *debs))

    assert run(first) == (len(first), 0)
    assert run(second) == (len(second), 0)
    assert run(first) == (len(first), len(first))  # the default limit keeps both runs
    assert run(second, "--cache-max-mib", "0") == (len(second), len(second))  # this run's records stay
    assert run(second) == (len(second), len(second))
    assert run(first) == (len(first), 0)  # dropped: least recently used when the limit was hit


def synthetic_record(index):
    shared = "usr/lib/python3/dist-packages"
    return {
        "index": index,
        "deb": f"pool/p{index}.deb",
        "sha256": None,
        "package": f"python3-p{index}",
        "version": "1.0",
        "source": f"p{index}",
        "paths": [
            f"{shared}/p{index}/__init__.py",
            f"{shared}/p{index}/core.py",
            f"{shared}/common{index // 3}.py",
        ],
        "findings": [
            [
                f"python3-p{index}",
                "1.0",
                f"p{index}",
                f"{shared}/p{index}/_x.so",
                "untagged-extension",
                "extension _x has no ABI tag",
            ]
        ],
        "notes": [],
    }


def peak_memory(packages):
    """Peak Python memory to store, cross-check and print (as JSON) `packages` records."""
    tracemalloc.start()
    with Store() as store:
        for index in range(packages):
            store.add_record(synthetic_record(index))
        store.cross_checks()
        with open(os.devnull, "w") as out:
            report.write_json(store.findings, out)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def test_streamed_json_is_what_json_dumps_prints():
    findings = [
        Finding(
            "python3-é",
            "1:2.0~b1",
            "src",
            "usr/lib/python3/dist-packages/\u2603.py",
            "path-collision",
            'also "quoted"\tand\nnewline',
            "pool/a.deb",
        ),
        Finding("", "", "", "broken.deb", "unreadable-deb", "EOFError", "broken.deb"),
    ]
    for given in (findings, []):
        out = io.StringIO()
        report.write_json(lambda given=given: iter(given), out)
        document = {"schema": 1, "findings": [report.finding_object(f) for f in given]}
        assert out.getvalue() == json.dumps(document, indent=2) + "\n"


def test_memory_is_flat_in_the_number_of_packages():
    """Ten times the packages (in threes colliding on a file) in about the same Python memory."""
    small, large = peak_memory(300), peak_memory(3000)
    assert large < 1.5 * small, (small, large)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__]))


def test_overlaps_declared_to_dpkg_are_not_findings(tmp_path, objects):
    """Conflicts or Replaces on the other package, or on a name it Provides, declare the overlap:
    neither path-collision nor module-clash, from the .debs or from Contents + Packages.  bookworm's
    python3-paraview/python3-vtk9 and python3-lldb-N are such pairs."""
    mirror = tmp_path / "mirror"
    pool = mirror / "pool"
    build_deb(
        pool, "python3-one", files={f"{SHARED}/common/data.py": b"1\n", f"{SHARED}/foo.so": objects["foo"]}
    )
    build_deb(
        pool,
        "python3-two",
        fields="Conflicts: python3-one (<< 2)\n",
        files={f"{SHARED}/common/data.py": b"2\n", f"{SHARED}/foo{TAGGED}": objects["foo"]},
    )
    build_deb(
        pool,
        "python3-three",
        fields="Provides: python3-common-data\nReplaces: python3-one\n",
        files={f"{SHARED}/common/data.py": b"3\n"},
    )
    build_deb(
        pool,
        "python3-four",
        fields="Replaces: python3-common-data, python3-one:any\n",
        files={f"{SHARED}/common/data.py": b"4\n"},
    )
    binary = mirror / "dists" / "bookworm" / "main" / "binary-amd64"
    binary.mkdir(parents=True)
    scan_packages(mirror, binary)
    contents = tmp_path / "Contents-amd64"
    contents.write_bytes(
        subprocess.run(
            ["apt-ftparchive", "contents", "pool"], cwd=mirror, check=True, capture_output=True
        ).stdout
    )
    # python3-one is declared by every other; python3-four Replaces what python3-three Provides;
    # python3-two declares nothing about three or four.
    data = f"{SHARED}/common/data.py"
    expected = {
        ("python3-two", data, "path-collision", "also shipped by python3-four 1.0, python3-three 1.0"),
        ("python3-three", data, "path-collision", "also shipped by python3-two 1.0"),
        ("python3-four", data, "path-collision", "also shipped by python3-two 1.0"),
    }
    for args in ((pool,), ("--contents", contents, "--packages", binary / "Packages")):
        findings = findings_of(*args)
        crossing = {
            (f["package"], f["path"], f["code"], f["detail"])
            for f in findings
            if f["code"] in ("path-collision", "module-clash")
        }
        assert crossing == expected, args


# --- small gaps: nothing to scan, --version, the compressions named -------------------------------


def test_a_directory_with_nothing_to_scan_is_a_usage_error(tmp_path, objects):
    empty = tmp_path / "pool"
    (empty / "main/p").mkdir(parents=True)
    (empty / "main/p/README").write_text("no packages here\n")
    result = scan("--no-cache", "--supported", "3.11", empty)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        f"pyshared-scan: error: nothing to scan in {empty}: no .deb and no unpacked tree (DEBIAN/control) "
        "below it, on the command line, give the pool directory, .deb files or unpacked trees\n"
    )
    deb = build_deb(tmp_path, "python3-untagged", files={f"{SHARED}/fast.so": objects["fast"]})
    assert scan("--no-cache", "--supported", "3.11", deb, empty).returncode == 2
    assert scan("--no-cache", "--supported", "3.11", deb).returncode == 1


def test_version_is_the_one_records_carry(tmp_path, objects):
    deb = build_deb(tmp_path, "python3-untagged", files={f"{SHARED}/fast.so": objects["fast"]})
    result = scan("--version")
    assert result.returncode == 0 and result.stderr == ""
    name, version = result.stdout.split()
    records = tmp_path / "records.jsonl"
    assert scan("--no-cache", "--supported", "3.11", "--records", records, deb).returncode == 0
    header = json.loads(records.read_text().splitlines()[0])
    assert (name, version) == ("pyshared-scan", header["tool"])


def test_the_packages_help_names_every_compression_the_reader_reads():
    from pyshared_tools import indexes as compression
    from pyshared_tools.archive import cli

    (action,) = [a for a in cli.build_parser()._actions if "--packages" in a.option_strings]
    for _magic, name in compression._MAGIC:
        assert name in action.help, name


def test_pool_workers_start_from_the_parents_imports(tmp_path, objects):
    """With --jobs 2 the reading processes are forked from one that has already
    imported python-debian (spawned workers import it again, each), and none
    of them imports chardet, which reading a .deb never uses."""
    for n in range(4):
        build_deb(tmp_path, f"python3-x{n}", files={f"{SHARED}/x{n}.py": b"X = 1\n"})
    command = ["/usr/bin/python3", str(SCAN_TOOL), "--no-cache", "--stats", "--jobs", "2", "--supported=3.11"]
    result = subprocess.run(
        [*command, tmp_path],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPROFILEIMPORTTIME="1"),
        check=False,
    )
    assert result.returncode == 0, result.stderr
    imported = [line.split("|")[-1].strip() for line in result.stderr.splitlines() if "|" in line]
    assert stats(result, readers=True)[2] == 2
    # deb822 itself is imported through importlib (pyshared_tools/lazy.py), which -X importtime
    # does not list; debian._util, which it imports with an import statement, stands for it.
    assert imported.count("debian._util") == 1
    assert "debian.debian_support" not in imported
    assert "chardet" not in imported
