"""Links of the package inside its module trees (issue 13, item 1).

A link between two files of one install (python3-selinux's
``_selinux.so -> selinux/_selinux.so``) stays a link, renamed and retargeted
with its target, in every layout; a link to a path the package does not ship
(numpy's ``numpy/_core/include`` into its -dev package) is moved as a link
naming the same absolute path; only a farm link (into a storage place) is
read through, and one that is missing or escapes is refused, saying which.
"""

import pytest
from conftest import MULTIARCH, snapshot

SHARED = "usr/lib/python3/dist-packages"
SITE = "usr/lib/python3.11/site-packages"
TAG = f"cpython-311-{MULTIARCH}"
INCLUDE = f"../../../../{MULTIARCH}/python3-numpy/numpy/_core/include"


def shipped(tree):
    """The links and files of the tree below the shared directory."""
    return {
        rel[len(SHARED) + 1 :]: entry for rel, entry in snapshot(tree).items() if rel.startswith(f"{SHARED}/")
    }


def expect_selinux(tree):
    entries = shipped(tree)
    assert entries[f"_selinux.{TAG}.so"] == ("link", f"selinux/_selinux.{TAG}.so"), entries
    assert entries[f"selinux/_selinux.{TAG}.so"][0] == "file", entries
    assert entries["selinux/__init__.py"][0] == "file", entries
    files = [rel for rel, entry in entries.items() if entry[0] == "file" and rel.endswith(".so")]
    assert files == [f"selinux/_selinux.{TAG}.so"], entries


def upstream(src):
    src.write(f"{SITE}/selinux/__init__.py", "from selinux._selinux import *\n")
    src.extension(f"{SITE}/selinux/_selinux.so")
    src.link(f"{SITE}/_selinux.so", "selinux/_selinux.so")


def local(src):
    base = "usr/local/lib/python3.11/dist-packages"
    src.write(f"{base}/selinux/__init__.py", "from selinux._selinux import *\n")
    src.extension(f"{base}/selinux/_selinux.so")
    src.link(f"{base}/_selinux.so", "selinux/_selinux.so")


def draft_farm(src):
    """PEP 3149 draft farm: the package link lies in the storage place, the
    farm links of python3.11's dist-packages point at it and at the file."""
    src.write("usr/share/pyshared/selinux/__init__.py", "from selinux._selinux import *\n")
    src.extension("usr/lib/pyshared/python3.11/selinux/_selinux.so")
    src.link("usr/lib/pyshared/python3.11/_selinux.so", "selinux/_selinux.so")
    src.link(
        "usr/lib/python3.11/dist-packages/selinux/__init__.py",
        "../../../../share/pyshared/selinux/__init__.py",
    )
    src.link(
        "usr/lib/python3.11/dist-packages/selinux/_selinux.so",
        "../../../pyshared/python3.11/selinux/_selinux.so",
    )
    src.link("usr/lib/python3.11/dist-packages/_selinux.so", "../../pyshared/python3.11/_selinux.so")


def draft_farm_local_link(src):
    """The same farm, but the package link made in dist-packages, onto the farm link."""
    src.write("usr/share/pyshared/selinux/__init__.py", "from selinux._selinux import *\n")
    src.extension("usr/lib/pyshared/python3.11/selinux/_selinux.so")
    src.link(
        "usr/lib/python3.11/dist-packages/selinux/__init__.py", "/usr/share/pyshared/selinux/__init__.py"
    )
    src.link(
        "usr/lib/python3.11/dist-packages/selinux/_selinux.so",
        "/usr/lib/pyshared/python3.11/selinux/_selinux.so",
    )
    src.link("usr/lib/python3.11/dist-packages/_selinux.so", "selinux/_selinux.so")


def dh_python2_era(src):
    """dh_python2 2010-2014: pure files in /usr/share/pyshared linked from the
    version's dist-packages, the extension real there."""
    src.write("usr/share/pyshared/selinux/__init__.py", "from selinux._selinux import *\n")
    src.link(
        "usr/lib/python3.11/dist-packages/selinux/__init__.py",
        "../../../../share/pyshared/selinux/__init__.py",
    )
    src.extension("usr/lib/python3.11/dist-packages/selinux/_selinux.so")
    src.link("usr/lib/python3.11/dist-packages/_selinux.so", "selinux/_selinux.so")


LAYOUTS = {
    "upstream": upstream,
    "local": local,
    "draft-farm": draft_farm,
    "draft-farm-local-link": draft_farm_local_link,
    "dh-python2": dh_python2_era,
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_link_between_two_files_of_the_install_stays_a_link(make_source, layout):
    src = make_source(source_fields="X-Python3-Version: >= 3.11\n")
    LAYOUTS[layout](src)
    result = src.run()
    assert result.stderr == ""
    expect_selinux(src.tree())
    assert not (src.tree() / "usr/lib/python3.11").exists()
    assert not (src.tree() / "usr/share/pyshared").exists()
    again = snapshot(src.tree())
    src.run()
    assert snapshot(src.tree()) == again


def test_debians_selinux_tree_is_left_alone(source):
    source.write(f"{SHARED}/selinux/__init__.py", "")
    source.extension(f"{SHARED}/selinux/_selinux.{TAG}.so", module="_selinux")
    source.link(f"{SHARED}/_selinux.{TAG}.so", f"selinux/_selinux.{TAG}.so")
    before = snapshot(source.tree())
    assert source.run("-v").stdout == ""
    assert snapshot(source.tree()) == before


@pytest.mark.parametrize(
    "base, text",
    [
        (SITE, INCLUDE),
        (
            "usr/local/lib/python3.11/dist-packages",
            f"../../../../../../lib/{MULTIARCH}/python3-numpy/numpy/_core/include",
        ),
        (SITE, f"/usr/lib/{MULTIARCH}/python3-numpy/numpy/_core/include"),
    ],
)
def test_link_to_another_packages_path_is_moved_naming_the_same_path(source, base, text):
    source.write(f"{base}/numpy/__init__.py", "")
    source.write(f"{base}/numpy/_core/__init__.py", "")
    source.link(f"{base}/numpy/_core/include", text)
    source.run()
    expected = text if text.startswith("/") else INCLUDE
    assert shipped(source.tree())["numpy/_core/include"] == ("link", expected)


def test_link_climbing_above_the_root_is_moved_not_refused(source):
    """A relative link with more .. than directories names / at install time."""
    source.write(f"{SITE}/foo/__init__.py", "")
    source.link(f"{SITE}/foo/conf", "../../../../../../../../etc/foo.conf")
    source.run()
    assert shipped(source.tree())["foo/conf"] == ("link", "../../../../../etc/foo.conf")


def test_link_to_an_existing_file_outside_the_places_is_not_copied(source):
    source.write("usr/share/foo/data.json", "{}\n")
    source.write(f"{SITE}/foo/__init__.py", "")
    source.link(f"{SITE}/foo/data.json", "../../../../share/foo/data.json")
    source.run()
    assert shipped(source.tree())["foo/data.json"] == ("link", "../../../../share/foo/data.json")


@pytest.mark.parametrize(
    "target, what",
    [
        ("../../../../share/pyshared/foo/missing.py", "farm link points at a file the package does not ship"),
        ("../../../../share/pyshared/foo/etc/passwd", "farm link leaves the package tree"),
    ],
)
def test_farm_link_that_cannot_be_read_through_is_refused_saying_why(source, target, what):
    source.write("usr/share/pyshared/foo/__init__.py", "")
    source.link("usr/share/pyshared/foo/etc", "../../../../../../../etc")
    source.link(
        "usr/lib/python3.11/dist-packages/foo/__init__.py", "../../../../share/pyshared/foo/__init__.py"
    )
    source.link("usr/lib/python3.11/dist-packages/foo/bar.py", target)
    before = snapshot(source.tree())
    result = source.run(check=False)
    assert result.returncode != 0
    assert result.stderr.startswith(
        f"dh_pyshared: error: {what}, usr/lib/python3.11/dist-packages/foo/bar.py"
    )
    assert snapshot(source.tree()) == before
