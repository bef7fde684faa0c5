"""pyshared:Breaks/Replaces/Conflicts from the owner index."""

import gzip
import re
import subprocess

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyshared_tools.errors import CollisionError, UsageError
from pyshared_tools.outputs import relations
from pyshared_tools.outputs.relations import BREAKS, CONFLICTS, REPLACES, OwnerIndex

SHARED = "/usr/lib/python3/dist-packages"
TAGGED = f"{SHARED}/foo/_speed.cpython-311-x86_64-linux-gnu.so"


def contents(tmp_path, lines, compressed=True):
    path = tmp_path / ("Contents-amd64.gz" if compressed else "Contents-amd64")
    text = "".join(f"{name:<60} {owners}\n" for name, owners in lines)
    if compressed:
        with gzip.open(path, "wt") as handle:
            handle.write(text)
    else:
        path.write_text(text)
    return str(path)


def index_from_contents(path, directories, siblings=()):
    index = OwnerIndex()
    relations.read_contents(path, directories, set(siblings), index)
    return index


@pytest.mark.parametrize("compressed", [True, False])
def test_sibling_that_shipped_the_path_gets_versioned_breaks_and_replaces(tmp_path, compressed):
    path = contents(
        tmp_path, [("usr/lib/python3/dist-packages/foo/core.py", "python/python3-foo-common")], compressed
    )
    index = index_from_contents(path, [f"{SHARED}/foo"], siblings=["python3-foo-common"])
    found, warnings = relations.relations("python3-foo", "2.0-1", [f"{SHARED}/foo/core.py"], index)
    assert found == {BREAKS: ["python3-foo-common (<< 2.0-1)"], REPLACES: ["python3-foo-common (<< 2.0-1)"]}
    assert warnings == []


def test_archive_package_of_another_source_gets_a_warning_not_a_guessed_bound(tmp_path):
    path = contents(tmp_path, [("usr/lib/python3/dist-packages/foo/core.py", "python/python3-other")])
    index = index_from_contents(path, [f"{SHARED}/foo"])
    found, warnings = relations.relations("python3-foo", "2.0-1", [f"{SHARED}/foo/core.py"], index)
    assert found == {}
    assert len(warnings) == 1 and "python3-other" in warnings[0] and "by hand" in warnings[0]


def test_the_same_module_under_another_file_name_conflicts(tmp_path):
    """bookworm: python3-paraview's vtkmodules/vtkCommonCore.so against python3-vtk9's tagged file."""
    path = contents(
        tmp_path,
        [
            ("usr/lib/python3/dist-packages/foo/_speed.so", "python/python3-oldfoo,python/python3-foo"),
            ("usr/lib/python3/dist-packages/foo/_speedup.so", "python/python3-unrelated"),
            ("usr/lib/python3/dist-packages/bar/_speed.so", "python/python3-bar"),
        ],
    )
    index = index_from_contents(path, [f"{SHARED}/foo"])
    found, _ = relations.relations("python3-foo", "2.0-1", [TAGGED], index)
    assert found == {CONFLICTS: ["python3-oldfoo"], REPLACES: ["python3-oldfoo"]}


def test_installed_packages_are_bounded_by_their_installed_version(tmp_path):
    admindir = tmp_path / "dpkg"
    (admindir / "info").mkdir(parents=True)
    (admindir / "status").write_text(
        "Package: python3-old\nStatus: install ok installed\nVersion: 1:1.5-3\n\n"
        "Package: python3-foo\nStatus: install ok installed\nVersion: 1.0-1\n\n"
    )
    (admindir / "info" / "python3-old:amd64.list").write_text(f"/usr\n{SHARED}/foo\n{SHARED}/foo/core.py\n")
    (admindir / "info" / "python3-foo.list").write_text(f"{SHARED}/foo/_speed.so\n")
    index = OwnerIndex()
    relations.read_dpkg_database(str(admindir), [f"{SHARED}/foo"], set(), index)
    found, _ = relations.relations("python3-foo", "2.0-1", [f"{SHARED}/foo/core.py", TAGGED], index)
    assert found == {BREAKS: ["python3-old (<= 1:1.5-3)"], REPLACES: ["python3-old (<= 1:1.5-3)"]}


def test_the_build_systems_real_dpkg_database():
    """A package that would ship python-debian's deb822.py takes it over from the installed python3-debian."""
    version = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Version}", "python3-debian"], capture_output=True, text=True, check=True
    ).stdout
    index = OwnerIndex()
    relations.read_dpkg_database("/var/lib/dpkg", [f"{SHARED}/debian"], set(), index)
    found, _ = relations.relations("python3-mine", "1.0-1", [f"{SHARED}/debian/deb822.py"], index)
    assert found[BREAKS] == [f"python3-debian (<= {version})"]


def test_two_siblings_shipping_one_file_is_an_error():
    with pytest.raises(CollisionError, match="two binary packages of this source ship the same file"):
        relations.relations("python3-foo", "2.0-1", [TAGGED], OwnerIndex(), {"python3-foo-ext": [TAGGED]})


@pytest.mark.parametrize("package", ["bad,name", "bad name", "Bad", "bad\nname", "x"])
def test_a_name_that_would_break_the_control_file_is_refused(tmp_path, package):
    index = OwnerIndex()
    index.add(f"{SHARED}/foo/core.py", relations.Owner(package, "installed", "1.0"))
    with pytest.raises(UsageError, match="refusing to write the relation"):
        relations.relations("python3-foo", "2.0-1", [f"{SHARED}/foo/core.py"], index)


@pytest.mark.parametrize("version", ["1.0, evil", "1.0\n", "1 0", "1.0,"])
def test_a_version_that_would_break_the_control_file_is_refused(version):
    index = OwnerIndex()
    index.add(f"{SHARED}/foo/core.py", relations.Owner("python3-foo-common", "sibling"))
    with pytest.raises(UsageError, match="refusing to write the relation version"):
        relations.relations("python3-foo", version, [f"{SHARED}/foo/core.py"], index)


def test_unreadable_contents_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="cannot read the Contents index"):
        index_from_contents(str(tmp_path / "missing"), [SHARED])


T = "-x86_64-linux-gnu.so"


@pytest.mark.parametrize(
    ("ours", "theirs", "clash"),
    [
        ("f.py", "f.so", True),
        ("f.so", f"f.cpython-311{T}", True),
        ("f.py", f"f.cpython-311{T}", True),
        ("f.abi3.so", f"f.cpython-311{T}", True),
        (f"f.cpython-35m{T}", "f.so", True),
        (f"f.cpython-311d{T}", "f.cpython-311d.so", True),
        # One version never imports the other's file.
        (f"f.cpython-311{T}", f"f.cpython-312{T}", False),
        # A -dbg package's file only the debug build imports: it hides the release files by design.
        ("f.py", f"f.cpython-311d{T}", False),
        (f"f.cpython-311{T}", f"f.cpython-311d{T}", False),
        ("f.abi3.so", f"f.cpython-311d{T}", False),
    ],
)
def test_which_file_names_of_a_module_clash(ours, theirs, clash):
    assert relations.names_clash(f"{SHARED}/{ours}", f"{SHARED}/{theirs}") is clash
    assert relations.names_clash(f"{SHARED}/{theirs}", f"{SHARED}/{ours}") is clash


def test_a_debug_package_and_other_versions_get_no_conflicts(tmp_path):
    """bookworm: cython3-dbg ships Cython/Compiler/Scanning.cpython-311d-*.so next to cython3's
    Scanning.py and Scanning.cpython-311-*.so; the debug interpreter is meant to prefer it."""
    path = contents(
        tmp_path,
        [
            (f"usr/lib/python3/dist-packages/foo/_speed.cpython-311d{T}", "debug/python3-foo-dbg"),
            (f"usr/lib/python3/dist-packages/foo/_speed.cpython-312{T}", "python/python3-foo312"),
            ("usr/lib/python3/dist-packages/foo/_speed.py", "python/python3-foo-fallback"),
        ],
    )
    index = index_from_contents(path, [f"{SHARED}/foo"])
    found, _ = relations.relations("python3-foo", "2.0-1", [TAGGED], index)
    assert found == {CONFLICTS: ["python3-foo-fallback"], REPLACES: ["python3-foo-fallback"]}


MODULE_FILE = re.compile(r"(?P<module>[^./]+)(?:\.[^/]*)?\.(?:py|so)")


@given(st.text(alphabet="ab._/-y|ps0", max_size=12))
def test_module_of_is_the_module_file_pattern(name):
    match = MODULE_FILE.fullmatch(name)
    assert relations.module_of(name) == (match["module"] if match else None)


# --contents as apt-file keeps it, and what is not a Contents index

CONTENTS_TEXT = (
    f"{SHARED[1:]}/foo/core.py{' ' * 40}python/python3-other\n"
    f"{SHARED[1:]}/foo/util.py{' ' * 40}python/python3-other,contrib/python/python3-third\n"
    "usr/share/doc/foo/README   doc/foo-doc\n"
)


def compressed(tmp_path, name, data):
    import bz2
    import lzma

    import lz4.frame
    import zstandard

    packers = {
        "gz": gzip.compress,
        "xz": lzma.compress,
        "bz2": bz2.compress,
        "lz4": lz4.frame.compress,
        "zst": lambda d: zstandard.ZstdCompressor().compress(d),
        "plain": lambda d: d,
    }
    # Named without the usual suffix: the compression comes from the magic bytes.
    path = tmp_path / name
    path.write_bytes(packers[name.rsplit("_", 1)[-1]](data))
    return str(path)


@pytest.mark.parametrize("kind", ["gz", "xz", "bz2", "lz4", "zst", "plain"])
def test_contents_is_read_in_every_compression_pyshared_scan_reads(tmp_path, kind):
    path = compressed(
        tmp_path, f"deb.debian.org_debian_dists_bookworm_main_Contents-amd64_{kind}", CONTENTS_TEXT.encode()
    )
    index = index_from_contents(path, [f"{SHARED}/foo"])
    owners = {p: sorted(o.package for o in owners) for p, owners in index.by_path.items()}
    assert owners == {
        f"{SHARED}/foo/core.py": ["python3-other"],
        f"{SHARED}/foo/util.py": ["python3-other", "python3-third"],
    }


def test_the_header_of_old_contents_files_is_skipped(tmp_path):
    header = (
        "This file maps each file available in the Debian GNU/Linux system to\n"
        "the package from which it originates.\n\nFILE                                  LOCATION\n"
    )
    path = compressed(tmp_path, "Contents_gz", (header + CONTENTS_TEXT).encode())
    assert f"{SHARED}/foo/core.py" in index_from_contents(path, [f"{SHARED}/foo"]).by_path


@pytest.mark.parametrize(
    "text",
    [
        "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n",
        "Package: python3-foo\nVersion: 1.0\n",
        "usr/lib/python3/dist-packages/foo/core.py\n",
        CONTENTS_TEXT.replace("python/python3-other\n", "python3-other\n", 1),
    ],
    ids=["passwd", "packages", "no-location", "wanted-line-without-section"],
)
def test_a_file_that_is_not_a_contents_index_is_refused(tmp_path, text):
    path = compressed(tmp_path, "Contents_plain", text.encode())
    with pytest.raises(UsageError, match=r"is not a Contents index \(line \d+"):
        index_from_contents(path, [f"{SHARED}/foo"])


def test_corrupt_compressed_contents_is_a_usage_error(tmp_path):
    data = (CONTENTS_TEXT * 200).encode()
    packed = gzip.compress(data)
    path = tmp_path / "Contents-amd64.gz"
    path.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(UsageError, match="cannot read --contents"):
        index_from_contents(str(path), [f"{SHARED}/foo"])


def test_one_warning_per_archive_owner_listing_its_paths(tmp_path):
    names = [f"{SHARED}/foo/mod{i:02}.py" for i in range(23)]
    text = "".join(f"{name[1:]}    python/python3-other\n" for name in names)
    text += f"{names[0][1:]}    python/python3-third\n"
    index = index_from_contents(compressed(tmp_path, "Contents_lz4", text.encode()), [f"{SHARED}/foo"])
    _, warnings = relations.relations("python3-foo", "2.0-1", names, index)
    assert len(warnings) == 2, warnings
    other, third = warnings
    assert other.startswith("python3-other also ships 23 paths of python3-foo (Contents index), ")
    assert all(name in other for name in names)
    assert third.startswith("python3-third also ships 1 path of python3-foo (Contents index), ")


def test_the_real_bookworm_contents_index_is_accepted():
    from helpers.contents import bookworm_contents

    index = index_from_contents(str(bookworm_contents()), [f"{SHARED}/lxml"])
    owners = {owner.package for owners in index.by_path.values() for owner in owners}
    assert owners == {"python3-lxml"}
    assert f"{SHARED}/lxml/__init__.py" in index.by_path
