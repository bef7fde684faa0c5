"""Every layout a maintainer may hand the tool, each with a golden result tree.

The golden files (tests/golden/<case>.txt) list the tree after the run, each
file labelled with the input path its bytes came from, then stderr, substvars
and the maintainer-script snippets; a byte-compile snippet that many cases
share is a reference to its full text in tests/golden/snippets/ (see
tests/helpers/golden.py).  Regenerate them with PYSHARED_UPDATE_GOLDEN=1 and
read the diff before committing.
"""

import os
import re

import pytest
from conftest import MULTIARCH, provenance, snapshot
from helpers import golden
from helpers.layout_cases import CASES, PY311, REMOVED_ON_PURPOSE, SHARED, upstream_site


def snippet_files(src):
    paths = sorted((src.root / "debian").glob("?*.*.debhelper"))
    return {p.name: p.read_text() for p in paths if p.is_file()}


def snippets_report(src):
    """The snippets, with the tool's version in the marker masked."""
    report = ""
    for name, text in snippet_files(src).items():
        text = re.sub(r"(# Automatically added by dh_pyshared/)\S+", r"\1<VERSION>", text)
        report += f"--- {name}\n{text}"
    return report


@pytest.mark.parametrize("name", sorted(CASES))
def test_layout_golden_and_idempotent(make_source, name):
    build, args = CASES[name]
    src = make_source(source_fields="X-Python3-Version: >= 3.10\n")
    build(src)
    before = snapshot(src.tree())
    result = src.run(*args)
    after = snapshot(src.tree())
    report = provenance(before, after) + "--- stderr\n" + result.stderr.replace(str(src.root), "<SRC>")
    report += "--- substvars\n" + (src.substvars() or "")
    report += snippets_report(src)
    golden.check_golden(name, report)
    assert not list((src.root / "debian").glob(".debhelper/pyshared/*.journal")), "journal left behind"
    substvars = src.substvars()
    scripts = snippet_files(src)
    second = src.run(*args)
    assert snapshot(src.tree()) == after, "second run changed the tree"
    assert src.substvars() == substvars, "second run changed the substvars"
    assert snippet_files(src) == scripts, "second run changed the maintainer-script snippets"
    assert second.stdout == ""
    for rel, entry in before.items():
        if entry[0] == "file" and not rel.endswith(REMOVED_ON_PURPOSE):
            assert any(e[0] == "file" and e[1] == entry[1] for e in after.values()), f"lost {rel}"


def test_snippet_goldens_are_the_templates_rendered_and_each_is_used():
    """Fails when a template changed and the goldens were not regenerated, when
    a stored shape is one no case golden names, or when a case golden is not the
    form regenerating writes (so regenerating twice changes nothing)."""
    stored = golden.read_snippets()
    assert sorted(p.stem for p in golden.SNIPPETS.glob("*.txt")) == sorted(golden.SHAPES)
    assert stored == golden.rendered_shapes(), "templates changed: run with PYSHARED_UPDATE_GOLDEN=1"
    named = set()
    for name in sorted(CASES):
        text = (golden.GOLDEN / f"{name}.txt").read_text()
        assert golden.compress(golden.expand(text, stored), stored) == text, name
        named |= set(re.findall(r"(?m)^@@ (\S+) (\S+)$", text))
    assert named == set(stored)
    assert sorted(p.stem for p in golden.GOLDEN.glob("*.txt")) == sorted(CASES)


def test_already_correct_tree_is_byte_for_byte_unchanged(source):
    source.write(f"{SHARED}/foo/__init__.py", "")
    source.extension(f"{SHARED}/foo/_speed.cpython-311-{MULTIARCH}.so")
    source.extension(f"{SHARED}/foo/_helper.abi3.so", limited_api=0x030B0000)
    source.library(f"{SHARED}/foo/libhelper.so")
    source.link(f"{SHARED}/foo/static", "/usr/share/javascript/jquery")
    tree = source.tree()
    before = snapshot(tree)
    times = {p: os.lstat(p).st_mtime_ns for p in tree.rglob("*")}
    result = source.run("-v")
    assert result.stdout == ""
    assert snapshot(tree) == before
    assert {p: os.lstat(p).st_mtime_ns for p in tree.rglob("*")} == times
    assert source.substvars() == ("pyshared:Depends=python3 (>= 3.11~), python3 (<< 3.12), python3:any\n")


def test_verbose_prints_each_action(source):
    upstream_site(source)
    result = source.run("-v")
    renamed = f"{SHARED}/foo/_speed.cpython-311-{MULTIARCH}.so"
    assert f"\tmove usr/lib/python3.11/site-packages/foo/_speed.so -> {renamed}\n" in result.stdout
    assert "\trmdir usr/lib/python3.11\n" in result.stdout


def test_silent_without_verbose(source):
    upstream_site(source)
    result = source.run()
    assert result.stdout == "" and result.stderr == ""


def test_package_without_python_is_skipped_silently(source):
    source.write("usr/share/doc/python3-demo/README", "hello\n")
    before = snapshot(source.tree())
    result = source.run("-v")
    assert result.stdout == "" and result.stderr == ""
    assert snapshot(source.tree()) == before
    assert source.substvars() is None


def test_stdlib_lib_dynload_is_never_touched(source):
    source.extension(f"{PY311}/lib-dynload/_speed.so")
    source.write(f"{PY311}/site-packages/x.py", "")
    source.run()
    assert (source.tree() / f"{PY311}/lib-dynload/_speed.so").is_file()
