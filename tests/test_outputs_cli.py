"""Snippets and relation substvars through the command line."""

import gzip

from conftest import SUFFIX_311

SHARED = "usr/lib/python3/dist-packages"
PYSHARED = "usr/share/pyshared"


def python_support_tree(src):
    src.write(f"{PYSHARED}/demo/__init__.py", "")
    src.write(f"{PYSHARED}/demo/core.py", "VALUE = 1\n")
    src.write("usr/share/python-support/python3-demo.public", "pyversions=3.11-\n")


def debhelper_files(src):
    return sorted(p.name for p in (src.root / "debian").glob("?*.*.debhelper"))


def test_no_scripts_writes_no_snippet_but_still_converts(make_source):
    src = make_source()
    python_support_tree(src)
    src.run("-n")
    assert debhelper_files(src) == []
    # the .public's pyversions=3.11- names Python 3 (issue 13, item 5)
    assert (src.tree() / "usr/lib/python3/dist-packages/demo/core.py").exists()
    src.run()
    scripts = ("postinst", "postrm", "preinst", "prerm")
    assert debhelper_files(src) == [f"python3-demo.{script}.debhelper" for script in scripts]


def test_a_rerun_over_the_converted_tree_keeps_the_farm_snippets(make_source):
    src = make_source()
    python_support_tree(src)
    src.run()
    first = {name: (src.root / "debian" / name).read_bytes() for name in debhelper_files(src)}
    assert b"/usr/lib/pymodules/python" in first["python3-demo.preinst.debhelper"]
    src.run()
    assert {name: (src.root / "debian" / name).read_bytes() for name in debhelper_files(src)} == first


def test_contents_index_gives_breaks_and_replaces_against_a_sibling(make_source, tmp_path):
    src = make_source(packages=(("python3-demo", "any"), ("python3-demo-common", "all")))
    src.write("usr/lib/python3.11/site-packages/demo/core.py", "VALUE = 1\n")
    contents = tmp_path / "Contents-amd64.gz"
    with gzip.open(contents, "wt") as handle:
        handle.write(f"{SHARED}/demo/core.py    python/python3-demo-common\n")
        handle.write(f"{SHARED}/demo/_speed{SUFFIX_311}    python/python3-demo\n")
    src.run("-p", "python3-demo", "--contents", str(contents))
    substvars = src.substvars()
    assert "pyshared:Breaks=python3-demo-common (<< 2.0-1)" in substvars
    assert "pyshared:Replaces=python3-demo-common (<< 2.0-1)" in substvars


def test_archive_owner_is_a_warning_and_an_error_with_strict(make_source, tmp_path):
    src = make_source()
    src.write("usr/lib/python3.11/site-packages/demo/core.py", "VALUE = 1\n")
    contents = tmp_path / "Contents"
    contents.write_text(f"{SHARED}/demo/core.py  python/python3-elsewhere\n")
    strict = src.run("--strict", "--contents", str(contents), check=False)
    assert strict.returncode == 1
    assert "dh_pyshared: error: " in strict.stderr and "python3-elsewhere" in strict.stderr
    assert (src.tree() / "usr/lib/python3.11/site-packages/demo/core.py").exists()
    result = src.run("--contents", str(contents))
    assert "dh_pyshared: warning: " in result.stderr and "by hand" in result.stderr
    assert "pyshared:Breaks" not in (src.substvars() or "")


def test_a_hostile_owner_name_is_refused_with_the_tree_untouched(make_source, tmp_path):
    src = make_source()
    src.write("usr/lib/python3.11/site-packages/demo/core.py", "VALUE = 1\n")
    admindir = tmp_path / "dpkg"
    (admindir / "info").mkdir(parents=True)
    (admindir / "status").write_text("Package: evil,pkg\nVersion: 1.0\n\n")
    (admindir / "info" / "evil,pkg.list").write_text(f"/{SHARED}/demo\n/{SHARED}/demo/core.py\n")
    result = src.run("--dpkg-database", env={"DPKG_ADMINDIR": str(admindir)}, check=False)
    assert result.returncode != 0
    assert "refusing to write the relation 'evil,pkg'" in result.stderr
    assert (src.tree() / "usr/lib/python3.11/site-packages/demo/core.py").exists()
    assert src.substvars() is None
