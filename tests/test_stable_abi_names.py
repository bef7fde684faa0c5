"""Stable-ABI file names for the interpreters of each Debian release (issue 14).

Where every supported version imports `.abi3-<multiarch>.so` (Debian 3.13 and
later), foo.abi3.so becomes foo.abi3-<multiarch>.so, as unstable's dh_python3
renames it, and pyshared:Depends gets that first version as its lower bound;
`--tag abi3` keeps the plain name; `--tag abi3t` names a suffix only 3.15 and
later import.  The supported versions come from DEBPYTHON3_SUPPORTED (as
dh-python reads it); no 3.13 or later is installed on the build machine, so
the tool answers from its table, which tests/test_tags.py, tests/test_trixie.py
and tests/test_unstable.py compare with the real interpreters.
"""

import pytest
from conftest import MULTIARCH

SHARED = "usr/lib/python3/dist-packages"
LIMITED_32 = 0x03020000


def releases(supported, default=None):
    return {
        "DEBPYTHON3_SUPPORTED": ", ".join(supported),
        "DEBPYTHON3_DEFAULT": default or supported[0],
    }


def shared_names(src):
    return sorted(path.name for path in (src.tree() / SHARED / "foo").iterdir())


@pytest.mark.parametrize(
    ("supported", "name", "depends"),
    [
        # bookworm: 3.11 does not import the qualified name.
        (["3.11"], "_speed.abi3.so", "python3 (>= 3.2~), python3:any"),
        # a package built for 3.11 and 3.13: 3.11 still needs the plain name.
        (["3.11", "3.13"], "_speed.abi3.so", "python3 (>= 3.2~), python3:any"),
        # trixie, and unstable's two versions: qualified, bounded by 3.13.
        (["3.13"], f"_speed.abi3-{MULTIARCH}.so", "python3 (>= 3.13~), python3:any"),
        (["3.14", "3.15"], f"_speed.abi3-{MULTIARCH}.so", "python3 (>= 3.13~), python3:any"),
    ],
)
def test_abi3_gets_the_multiarch_name_where_every_version_imports_it(make_source, supported, name, depends):
    src = make_source()
    src.extension(f"{SHARED}/foo/_speed.abi3.so", limited_api=LIMITED_32)
    src.write(f"{SHARED}/foo/__init__.py")
    src.run("--strict", env=releases(supported))
    assert shared_names(src) == ["__init__.py", name]
    assert src.substvars() == f"pyshared:Depends={depends}\n"


def test_abi3_from_each_versions_install_is_renamed_once(make_source):
    """One upstream install per unstable version, the abi3 module built once."""
    src = make_source()
    for version in ("3.14", "3.15"):
        site = f"usr/lib/python{version}/site-packages/foo"
        src.write(f"{site}/__init__.py")
        src.extension(f"{site}/_speed.so", module="_speed", value=version)
    src.extension("usr/lib/python3.14/site-packages/foo/_stable.abi3.so", limited_api=LIMITED_32)
    (src.tree() / "usr/lib/python3.15/site-packages/foo/_stable.abi3.so").write_bytes(
        (src.tree() / "usr/lib/python3.14/site-packages/foo/_stable.abi3.so").read_bytes()
    )
    src.run("--strict", env=releases(["3.14", "3.15"]))
    assert shared_names(src) == [
        "__init__.py",
        f"_speed.cpython-314-{MULTIARCH}.so",
        f"_speed.cpython-315-{MULTIARCH}.so",
        f"_stable.abi3-{MULTIARCH}.so",
    ]
    assert src.substvars() == "pyshared:Depends=python3 (>= 3.14~), python3 (<< 3.16), python3:any\n"


def test_tag_abi3_keeps_the_plain_name(make_source):
    src = make_source()
    src.extension(f"{SHARED}/foo/_speed.so", limited_api=LIMITED_32)
    src.write(f"{SHARED}/foo/__init__.py")
    src.run("--strict", "--tag", "abi3", env=releases(["3.14", "3.15"]))
    assert shared_names(src) == ["__init__.py", "_speed.abi3.so"]
    assert src.substvars() == "pyshared:Depends=python3 (>= 3.2~), python3:any\n"


def test_tag_abi3t_for_versions_that_import_it(make_source):
    src = make_source()
    src.extension(f"{SHARED}/foo/_speed.so", limited_api=LIMITED_32)
    src.write(f"{SHARED}/foo/__init__.py")
    src.run("--strict", "--tag", "abi3t", env=releases(["3.15"]))
    assert shared_names(src) == ["__init__.py", "_speed.abi3t.so"]
    assert src.substvars() == "pyshared:Depends=python3 (>= 3.15~), python3:any\n"


def test_tag_abi3t_is_refused_for_a_version_that_does_not_import_it(make_source):
    src = make_source()
    src.extension(f"{SHARED}/foo/_speed.so", limited_api=LIMITED_32)
    src.write(f"{SHARED}/foo/__init__.py")
    from conftest import snapshot

    before = snapshot(src.tree())
    result = src.run("--tag", "abi3t", env=releases(["3.14", "3.15"]), check=False)
    assert result.returncode != 0
    assert result.stderr == (
        "dh_pyshared: error: --tag abi3t names no suffix Python 3.14 imports, it imports "
        f".cpython-314-{MULTIARCH}.so, .abi3.so, .abi3-{MULTIARCH}.so, .so, write --tag abi3, "
        "or build only for Python 3.15 and later (X-Python3-Version)\n"
    )
    assert snapshot(src.tree()) == before


def test_abi3t_in_the_tree_gets_the_multiarch_name_and_the_315_bound(make_source):
    src = make_source()
    src.extension(f"{SHARED}/foo/_speed.abi3t.so", limited_api=LIMITED_32)
    src.write(f"{SHARED}/foo/__init__.py")
    src.run("--strict", env=releases(["3.15"]))
    assert shared_names(src) == ["__init__.py", f"_speed.abi3t-{MULTIARCH}.so"]
    assert src.substvars() == "pyshared:Depends=python3 (>= 3.15~), python3:any\n"


def test_an_already_qualified_name_bounds_depends_at_313(make_source):
    """unstable's dh_python3 wrote no bound at all for it; 3.11 would not find the file."""
    src = make_source()
    src.extension(f"{SHARED}/foo/_speed.abi3-{MULTIARCH}.so", limited_api=LIMITED_32)
    src.write(f"{SHARED}/foo/__init__.py")
    src.run(env=releases(["3.13", "3.14"]))
    assert shared_names(src) == ["__init__.py", f"_speed.abi3-{MULTIARCH}.so"]
    assert src.substvars() == "pyshared:Depends=python3 (>= 3.13~), python3:any\n"
