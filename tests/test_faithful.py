"""Faithful on real archive packages (issue 13): metadata names, python-support
metadata, dist-info RECORD.  Each test fails on the code before its fix."""

import os

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
