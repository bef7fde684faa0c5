"""Links elsewhere in the package (usr/bin, usr/share, another library directory) that point into
moved modules follow them: none is left dangling, each keeps its style (relative or absolute),
a rerun changes nothing, and links to what does not move are left byte for byte alone."""

import os
import signal

from conftest import HOST, SUFFIX_311, snapshot
from helpers import killpoint

from pyshared_tools.engine.links import resolve

SITE = "usr/lib/python3.11/site-packages"
SHARED = "usr/lib/python3/dist-packages"


def final(source, rel):
    """(link text, what it resolves to inside the tree) after the run."""
    root = str(source.tree())
    return os.readlink(os.path.join(root, rel)), resolve(root, rel, source.package)


def test_a_relative_link_to_a_moved_script_follows_it(source):
    source.write(f"{SITE}/foo/__init__.py", "")
    source.write(f"{SITE}/foo/cli.py", "print('hi')\n")
    source.link("usr/bin/foo", "../lib/python3.11/site-packages/foo/cli.py")
    source.run()
    text, where = final(source, "usr/bin/foo")
    assert text == "../lib/python3/dist-packages/foo/cli.py"
    assert where.is_file and where.path == f"{SHARED}/foo/cli.py"


def test_an_absolute_link_to_a_dissolved_directory_stays_absolute(source):
    source.write(f"{SITE}/foo/__init__.py", "")
    source.write(f"{SITE}/foo/data/table.txt", "1\n")
    source.link("usr/share/foo/data", f"/{SITE}/foo/data")
    source.link("usr/share/foo/package", f"/{SITE}/foo")
    source.run()
    assert final(source, "usr/share/foo/data")[0] == f"/{SHARED}/foo/data"
    text, where = final(source, "usr/share/foo/package")
    assert text == f"/{SHARED}/foo" and where.is_dir


def test_a_link_to_a_renamed_extension_names_the_new_file(source):
    source.write(f"{SITE}/foo/__init__.py", "")
    source.extension(f"{SITE}/foo/_speed.so")
    source.link("usr/lib/foo/_speed.so", "../python3.11/site-packages/foo/_speed.so")
    source.run()
    text, where = final(source, "usr/lib/foo/_speed.so")
    assert text == f"../python3/dist-packages/foo/_speed{SUFFIX_311}"
    assert where.is_file


def test_a_link_into_the_pyshared_store_follows_the_module(make_source):
    source = make_source(packages=(("python-foo", "all"),))
    source.write("usr/share/pyshared/foo/__init__.py", "")
    source.write("usr/share/pyshared/foo/cli.py", "print('hi')\n")
    source.link("usr/lib/python3/dist-packages/foo", "../../../share/pyshared/foo")
    source.link("usr/bin/foo", "../share/pyshared/foo/cli.py")
    source.run("--tag", "cpython-311-x86_64-linux-gnu")
    text, where = final(source, "usr/bin/foo")
    assert where.is_file and where.path == f"{SHARED}/foo/cli.py", text


def test_links_to_what_stays_are_left_alone_and_a_rerun_changes_nothing(source):
    source.write(f"{SITE}/foo/__init__.py", "")
    source.write(f"{SITE}/foo/cli.py", "")
    source.write("usr/share/doc/foo/README", "")
    source.link("usr/bin/foo", "../lib/python3.11/site-packages/foo/cli.py")
    source.link("usr/share/doc/foo/README.link", "README")
    source.link("usr/bin/sh-link", "/bin/sh")
    source.run()
    assert final(source, "usr/share/doc/foo/README.link")[0] == "README"
    assert final(source, "usr/bin/sh-link")[0] == "/bin/sh"
    first = snapshot(source.root)
    second = source.run("-v")
    assert snapshot(source.root) == first
    assert second.stdout == ""


def test_the_plan_shows_each_retarget(source):
    source.write(f"{SITE}/foo.py", "")
    source.link("usr/bin/foo", "../lib/python3.11/site-packages/foo.py")
    planned = source.run("--no-act").stdout
    assert "\tsymlink usr/bin/foo -> ../lib/python3/dist-packages/foo.py (retarget)\n" in planned


def test_a_link_to_a_file_that_goes_to_two_places_is_reported(make_source):
    source = make_source(packages=(("python-foo", "all"),))
    source.write("usr/share/pyshared/foo.py", "")
    source.link("usr/lib/python2.7/dist-packages/foo.py", "../../../share/pyshared/foo.py")
    source.link("usr/lib/python3/dist-packages/foo.py", "../../../share/pyshared/foo.py")
    source.link("usr/bin/foo", "../share/pyshared/foo.py")
    result = source.run("--tag", "cpython-311-x86_64-linux-gnu")
    assert "warning: link points at a file that goes to several places, usr/bin/foo" in result.stderr
    strict = make_source("strict", packages=(("python-foo", "all"),))
    for rel in ("usr/share/pyshared/foo.py",):
        strict.write(rel, "")
    strict.link("usr/lib/python2.7/dist-packages/foo.py", "../../../share/pyshared/foo.py")
    strict.link("usr/lib/python3/dist-packages/foo.py", "../../../share/pyshared/foo.py")
    strict.link("usr/bin/foo", "../share/pyshared/foo.py")
    before = snapshot(strict.root)
    refused = strict.run("--strict", "--tag", "cpython-311-x86_64-linux-gnu", check=False)
    assert refused.returncode == 1 and "usr/bin/foo" in refused.stderr
    assert snapshot(strict.root) == before


def test_a_retarget_survives_a_kill_and_the_journal_replay(source):
    source.write(f"{SITE}/foo/__init__.py", "")
    source.write(f"{SITE}/foo/cli.py", "")
    source.link("usr/bin/foo", "../lib/python3.11/site-packages/foo/cli.py")
    killed, landed = killpoint.killed_run(source.root, "apply:0", (), HOST)
    assert killed.returncode == -signal.SIGKILL and landed[:2] == ("apply", 0), killed.stderr
    journal = source.root / "debian/.debhelper/pyshared/python3-demo.journal"
    assert '"reason": "retarget"' in journal.read_text()
    source.run()
    assert not journal.exists()
    text, where = final(source, "usr/bin/foo")
    assert text == "../lib/python3/dist-packages/foo/cli.py" and where.is_file
