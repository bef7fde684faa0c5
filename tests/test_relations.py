"""pyshared:Breaks/Replaces/Conflicts from the owner index."""

import gzip
import re
import subprocess

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyshared_tools import relations
from pyshared_tools.errors import CollisionError, UsageError
from pyshared_tools.relations import BREAKS, CONFLICTS, REPLACES, OwnerIndex

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
    path = contents(tmp_path, [("usr/lib/python3/dist-packages/foo/core.py", "python/python3-foo-common")],
                    compressed)
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
    path = contents(tmp_path, [
        ("usr/lib/python3/dist-packages/foo/_speed.so", "python/python3-oldfoo,python/python3-foo"),
        ("usr/lib/python3/dist-packages/foo/_speedup.so", "python/python3-unrelated"),
        ("usr/lib/python3/dist-packages/bar/_speed.so", "python/python3-bar"),
    ])
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
    version = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "python3-debian"], capture_output=True,
                             text=True, check=True).stdout
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
    with pytest.raises(UsageError, match="cannot read --contents"):
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
    path = contents(tmp_path, [
        (f"usr/lib/python3/dist-packages/foo/_speed.cpython-311d{T}", "debug/python3-foo-dbg"),
        (f"usr/lib/python3/dist-packages/foo/_speed.cpython-312{T}", "python/python3-foo312"),
        ("usr/lib/python3/dist-packages/foo/_speed.py", "python/python3-foo-fallback"),
    ])
    index = index_from_contents(path, [f"{SHARED}/foo"])
    found, _ = relations.relations("python3-foo", "2.0-1", [TAGGED], index)
    assert found == {CONFLICTS: ["python3-foo-fallback"], REPLACES: ["python3-foo-fallback"]}


MODULE_FILE = re.compile(r"(?P<module>[^./]+)(?:\.[^/]*)?\.(?:py|so)")


@given(st.text(alphabet="ab._/-y|ps0", max_size=12))
def test_module_of_is_the_module_file_pattern(name):
    match = MODULE_FILE.fullmatch(name)
    assert relations.module_of(name) == (match["module"] if match else None)
