"""Faithful on real archive packages (issue 13): metadata names, python-support
metadata, dist-info RECORD.  Each test fails on the code before its fix."""

import json
import os
import subprocess

import pytest
from conftest import MULTIARCH, snapshot

SHARED = "usr/lib/python3/dist-packages"
TAG = f"cpython-311-{MULTIARCH}"


def mtimes(tree):
    return {str(p): os.lstat(p).st_mtime_ns for p in [tree, *tree.rglob("*")]}


# --- item 2: metadata renamed only where two versions' copies merge ---------------


def test_versioned_egg_info_in_the_shared_directory_is_left_alone(source):
    """python3-gpg ships usr/lib/python3/dist-packages/gpg-1.18.0-py3.11.egg-info."""
    source.write(f"{SHARED}/gpg-1.18.0-py3.11.egg-info", "Metadata-Version: 1.1\nName: gpg\n")
    source.write(f"{SHARED}/foo-1.0-py3.11.egg-info/PKG-INFO", "Name: foo\nVersion: 1.0\n")
    source.write(f"{SHARED}/gpg/__init__.py", "")
    source.extension(f"{SHARED}/gpg/_gpgme.{TAG}.so", module="_gpgme")
    tree = source.tree()
    before, times = snapshot(tree), mtimes(tree)
    result = source.run("-v")
    assert result.stdout == "" and result.stderr == ""
    assert snapshot(tree) == before
    assert mtimes(tree) == times


def test_lone_versioned_egg_info_keeps_its_name_when_moved(source):
    source.write("usr/lib/python3.11/site-packages/gpg-1.18.0-py3.11.egg-info", "Name: gpg\n")
    source.write("usr/lib/python3.11/site-packages/gpg/__init__.py", "")
    source.run()
    after = snapshot(source.tree())
    assert f"{SHARED}/gpg-1.18.0-py3.11.egg-info" in after
    assert f"{SHARED}/gpg-1.18.0.egg-info" not in after


def test_two_versions_egg_info_merge_into_one_unversioned_name(make_source):
    src = make_source(source_fields="X-Python3-Version: >= 3.10\n")
    for version in ("3.10", "3.11"):
        base = f"usr/lib/python{version}/dist-packages"
        src.write(f"{base}/foo-1.0-py{version}.egg-info/PKG-INFO", "Name: foo\nVersion: 1.0\n")
        src.write(f"{base}/foo/__init__.py", "")
    src.run()
    after = snapshot(src.tree())
    names = sorted(rel for rel in after if rel.startswith(f"{SHARED}/foo-"))
    assert names == [f"{SHARED}/foo-1.0.egg-info", f"{SHARED}/foo-1.0.egg-info/PKG-INFO"]


# --- item 5: python-support's pyversions= read, not guessed -----------------------


def python_support_tree(src, header):
    src.write("usr/share/pyshared/foo/__init__.py", "from foo._speed import variant\n")
    src.write("usr/share/pyshared/foo/core.py", "ANSWER = 42\n")
    src.write(
        "usr/share/python-support/python3-demo.public",
        f"{header}/usr/share/pyshared/foo/__init__.py\n/usr/share/pyshared/foo/core.py\n",
    )


def test_python_support_public_for_python3_goes_to_the_shared_directory(source):
    python_support_tree(source, "pyversions=3.11\n\n")
    source.extension("usr/lib/pyshared/python3.11/foo/_speed.so")
    source.run()
    after = snapshot(source.tree())
    assert f"{SHARED}/foo/core.py" in after
    assert f"{SHARED}/foo/_speed.{TAG}.so" in after
    assert not (source.tree() / "usr/lib/python2.7").exists()
    assert not (source.tree() / "usr/share/python-support").exists()
    assert "python3:any" in source.substvars()


def test_python_support_open_range_of_python2_stays_python2(source):
    python_support_tree(source, "pyversions=2.6-\n\n")
    source.run()
    after = snapshot(source.tree())
    assert "usr/lib/python2.7/dist-packages/foo/core.py" in after
    assert f"{SHARED}/foo/core.py" not in after


def test_python_support_without_the_field_is_python2(source):
    python_support_tree(source, "")
    source.run()
    assert "usr/lib/python2.7/dist-packages/foo/core.py" in snapshot(source.tree())


def test_python_support_files_follow_the_public_that_lists_them(source):
    python_support_tree(source, "pyversions=3.11\n\n")
    source.write("usr/share/pyshared/old2/__init__.py", "")
    source.write(
        "usr/share/python-support/python-old.public",
        "pyversions=2.7\n\n/usr/share/pyshared/old2/__init__.py\n",
    )
    source.run()
    after = snapshot(source.tree())
    assert f"{SHARED}/foo/core.py" in after
    assert "usr/lib/python2.7/dist-packages/old2/__init__.py" in after


# --- item 8: a /usr/share/pyshared that no helper made ----------------------------

CHEWING = "class Chewing:\n    def __getattr__(self, name):\n        raise AttributeError, name\n"


def test_pyshared_without_farm_or_metadata_is_left_alone_with_a_warning(source):
    """bookworm's libchewing3: Python 2 code in /usr/share/pyshared, no links, no metadata."""
    source.write("usr/share/pyshared/chewing.py", CHEWING)
    source.write("usr/share/pyshared/make-plugin-reg.py", "import sys\n")
    source.write("usr/lib/x86_64-linux-gnu/libchewing.so.3", b"\x7fELF not really")
    before = snapshot(source.tree())
    result = source.run()
    assert snapshot(source.tree()) == before
    assert result.stderr.startswith(
        "dh_pyshared: warning: usr/share/pyshared holds files no Python helper made"
    )
    assert "left where they are" in result.stderr
    assert not (source.substvars() or "").count("python3")
    assert not list((source.root / "debian").glob("*.postinst.debhelper"))


def test_pyshared_without_farm_or_metadata_is_an_error_with_strict(source):
    source.write("usr/share/pyshared/chewing.py", CHEWING)
    before = snapshot(source.tree())
    result = source.run("--strict", check=False)
    assert result.returncode != 0
    assert result.stderr.startswith(
        "dh_pyshared: error: 1 leftover(s) with --strict: usr/share/pyshared holds"
    )
    assert snapshot(source.tree()) == before


def test_python2_code_from_shared_storage_is_never_placed_where_python3_compiles_it(source):
    """python-central's storage serves Python 2 and 3: its files are compiled before they
    are placed for Python 3, --strict or not."""
    source.write("usr/share/pyshared/chewing/__init__.py", CHEWING)
    source.write("usr/share/pyshared-data/python3-demo", "[python-package]\npython-version=3.11\n")
    before = snapshot(source.tree())
    result = source.run(check=False)
    assert result.returncode != 0
    assert result.stderr.startswith("dh_pyshared: error: not Python 3 code (SyntaxError line 3: "), (
        result.stderr
    )
    assert "usr/share/pyshared/chewing/__init__.py (for usr/lib/python3/dist-packages/chewing/" in (
        result.stderr
    )
    assert len(result.stderr.splitlines()) == 1
    assert snapshot(source.tree()) == before


def test_a_python3_install_is_compiled_before_the_move_only_with_strict(source):
    """A file a Python 3 build installed into python3.X/site-packages moves between Python 3
    directories, as dh_python3 moves it: compiled first (an error naming it) with --strict."""
    source.write("usr/lib/python3.11/site-packages/chewing/__init__.py", CHEWING)
    before = snapshot(source.tree())
    result = source.run("--strict", check=False)
    assert result.returncode != 0
    assert result.stderr.startswith("dh_pyshared: error: not Python 3 code (SyntaxError line 3: "), (
        result.stderr
    )
    assert (
        "usr/lib/python3.11/site-packages/chewing/__init__.py (for usr/lib/python3/dist-packages/chewing/"
        in (result.stderr)
    )
    assert snapshot(source.tree()) == before
    source.run()
    assert f"{SHARED}/chewing/__init__.py" in snapshot(source.tree())


LSTATS_DURING_THE_COMPILE_CHECK = """
import json, os, sys
from collections import Counter
sys.path.insert(0, sys.argv[1])
from pyshared_tools import cli
from pyshared_tools.engine import placed_checks
counts, active, real_lstat, real_check = Counter(), [], os.lstat, placed_checks.check_python3_sources
def lstat(path, *args, **kwargs):
    if active:
        counts[os.fspath(path)] += 1
    return real_lstat(path, *args, **kwargs)
def check(*args, **kwargs):
    active.append(True)
    try:
        return real_check(*args, **kwargs)
    finally:
        active.pop()
os.lstat, placed_checks.check_python3_sources = lstat, check
status = cli.main([])
print(json.dumps([status, counts]))
"""


def test_the_compile_check_looks_each_directory_of_the_tree_up_once(source):
    """Files compiled before the move are read never through a link in their
    directories, each directory checked once for all its files, not once per file."""
    from conftest import CHECKOUT, HOST

    for name in ("a", "b", "c", "d"):
        source.write(f"usr/share/pyshared/foo/sub/{name}.py", f"{name.upper()} = 1\n")
        source.write(f"usr/share/pyshared/foo/{name}.py", "")
    source.write("usr/share/pyshared-data/python3-demo", "[python-package]\npython-version=3.11\n")
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DH_", "DEB_"))}
    environment.update(HOST)
    result = subprocess.run(
        ["/usr/bin/python3", "-c", LSTATS_DURING_THE_COMPILE_CHECK, str(CHECKOUT)],
        cwd=source.root,
        env=environment,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    status, counts = json.loads(result.stdout)
    assert status == 0
    tree = "debian/python3-demo"
    directories = [f"{tree}/usr/share/pyshared/foo", f"{tree}/usr/share/pyshared/foo/sub", "debian"]
    assert {path: counts.get(path) for path in directories} == dict.fromkeys(directories, 1)
    assert f"{SHARED}/foo/sub/a.py" in snapshot(source.tree())


def test_a_directory_found_real_once_does_not_excuse_a_link_beside_it(tmp_path, monkeypatch):
    from pyshared_tools import files
    from pyshared_tools.errors import SourceFileError

    monkeypatch.chdir(tmp_path)
    (tmp_path / "tree/real").mkdir(parents=True)
    (tmp_path / "tree/real/x.py").write_text("X = 1\n")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside/y.py").write_text("secret\n")
    (tmp_path / "tree/link").symlink_to("../outside")
    known = set()
    assert files.read_bytes("tree/real/x.py", known_directories=known) == b"X = 1\n"
    assert known == {"tree", "tree/real"}
    with pytest.raises(SourceFileError, match="tree/link is a symbolic link"):
        files.read_bytes("tree/link/y.py", known_directories=known)


def test_python2_code_of_a_python2_farm_stays_python2(source):
    """A farm linked from python2.7 is Python 2's: not compiled as Python 3."""
    source.write("usr/share/pyshared/chewing.py", CHEWING)
    source.link("usr/lib/python2.7/dist-packages/chewing.py", "../../../share/pyshared/chewing.py")
    source.run()
    assert snapshot(source.tree())["usr/lib/python2.7/dist-packages/chewing.py"][0] == "file"


def test_python_central_metadata_for_python3_goes_to_the_shared_directory(source):
    source.write("usr/share/pyshared/foo/__init__.py", "")
    source.extension("usr/lib/python3.11/dist-packages/foo/_speed.so")
    source.write("usr/share/pyshared-data/python3-demo", "[python-package]\npython-version=3.11\n")
    source.run()
    after = snapshot(source.tree())
    assert f"{SHARED}/foo/__init__.py" in after and f"{SHARED}/foo/_speed.{TAG}.so" in after
    assert not (source.tree() / "usr/lib/python2.7").exists()


# --- item 12: dist-info RECORD after a rename --------------------------------------

RECORD = (
    "foo/__init__.py,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0\n"
    "foo/_speed.so,sha256=abc,1234\n"
    "foo/__pycache__/__init__.cpython-311.pyc,,\n"
    "foo-1.0.dist-info/METADATA,sha256=def,30\n"
    "foo-1.0.dist-info/RECORD,,\n"
    "../../../bin/foo,sha256=ghi,10\n"
)
FILES_SCRIPT = """\
import importlib.metadata, json, sys
sys.path[:] = [sys.argv[1]]
files = importlib.metadata.files("foo")
print(json.dumps({str(f): f.locate().exists() for f in files}))
"""


def dist_info_install(src):
    base = "usr/lib/python3.11/site-packages"
    src.write(f"{base}/foo/__init__.py", "")
    src.extension(f"{base}/foo/_speed.so")
    src.write(f"{base}/foo/__pycache__/__init__.cpython-311.pyc", b"\x00bytecode")
    src.write(f"{base}/foo-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: foo\nVersion: 1.0\n")
    src.write(f"{base}/foo-1.0.dist-info/RECORD", RECORD)
    src.write("usr/bin/foo", "#!/usr/bin/python3\n", mode=0o755)


def test_record_follows_the_renamed_extension_on_bookworm(source):
    import json
    import subprocess

    dist_info_install(source)
    source.run()
    record = source.tree() / f"{SHARED}/foo-1.0.dist-info/RECORD"
    assert record.read_text() == (
        "foo/__init__.py,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0\n"
        f"foo/_speed.{TAG}.so,sha256=abc,1234\n"
        "foo-1.0.dist-info/METADATA,sha256=def,30\n"
        "foo-1.0.dist-info/RECORD,,\n"
        "../../../bin/foo,sha256=ghi,10\n"
    )
    assert oct(record.stat().st_mode & 0o777) == "0o644"
    listed = subprocess.run(
        ["/usr/bin/python3", "-I", "-S", "-c", FILES_SCRIPT, str(source.tree() / SHARED)],
        capture_output=True,
        text=True,
        check=True,
    )
    found = json.loads(listed.stdout)
    assert found and all(found.values()), found
    again = snapshot(source.tree())
    times = mtimes(source.tree())
    assert source.run("-v").stdout == ""
    assert snapshot(source.tree()) == again and mtimes(source.tree()) == times


def test_record_that_names_the_right_files_is_left_byte_for_byte(source):
    source.write(f"{SHARED}/foo/__init__.py", "")
    source.write(f"{SHARED}/foo-1.0.dist-info/RECORD", "foo/__init__.py,,\nfoo-1.0.dist-info/RECORD,,\n")
    before, times = snapshot(source.tree()), mtimes(source.tree())
    assert source.run("-v").stdout == ""
    assert snapshot(source.tree()) == before and mtimes(source.tree()) == times


def test_record_is_dropped_where_dh_python3_drops_it(make_source):
    src = make_source(source_fields="X-Python3-Version: >= 3.14\n")
    base = "usr/lib/python3.14/site-packages"
    src.write(f"{base}/foo/__init__.py", "")
    src.write(f"{base}/foo-1.0.dist-info/METADATA", "Name: foo\n")
    src.write(f"{base}/foo-1.0.dist-info/RECORD", "foo/__init__.py,,\nfoo-1.0.dist-info/RECORD,,\n")
    unstable = {"DEBPYTHON3_DEFAULT": "3.14", "DEBPYTHON3_SUPPORTED": "3.14, 3.15"}
    result = src.run("-v", env=unstable)
    assert f"unlink {SHARED}/foo-1.0.dist-info/RECORD (record-multiarch)" in result.stdout
    after = snapshot(src.tree())
    assert f"{SHARED}/foo-1.0.dist-info/METADATA" in after
    assert f"{SHARED}/foo-1.0.dist-info/RECORD" not in after
