"""layouts.RULES is the one table of module places: the scan's search, the Contents
prefixes of pyshared-scan, the PROMISE line of bin/dh_pyshared and the man page all
follow from it, and these tests fail when one of them disagrees with it."""

import re

import pytest
from conftest import CHECKOUT

from pyshared_tools.archive import contents
from pyshared_tools.engine.inventory import take_inventory
from pyshared_tools.manpages import dh_pyshared as dh_pyshared_page
from pyshared_tools.rules import layouts

# Names that stand for a regex component of a pattern: the first that matches it is used.
NAMES = ("python2.7", "python3.11", "site-packages", "dist-packages", "demo.public", "demo")


def sample(pattern):
    """One concrete tree path that the layout pattern matches."""
    parts = []
    for part in layouts._components(pattern):
        if layouts._is_literal(part):
            parts.append(part)
        else:
            parts.append(next(name for name in NAMES if re.fullmatch(part, name)))
    path = "/".join(parts)
    assert re.fullmatch(pattern, path), (pattern, path)
    return path


def places():
    return [sample(rule.pattern) for rule in layouts.RULES]


def metadata():
    return [sample(pattern) for pattern, _helper in layouts.METADATA_PATTERNS]


def test_the_promise_line_of_dh_pyshared_is_the_one_layouts_derives():
    text = (CHECKOUT / "bin" / "dh_pyshared").read_text()
    lines = [line for line in text.splitlines() if line.startswith("# PROMISE:")]
    assert lines == [layouts.promise_line()], (
        "bin/dh_pyshared's PROMISE line disagrees with layouts.RULES: replace it with the output of "
        "python3 -c 'from pyshared_tools.rules import layouts; print(layouts.promise_line())'"
    )


@pytest.mark.parametrize("path", places() + metadata())
def test_every_place_and_metadata_file_is_under_a_promised_path(path):
    assert any(path == p or path.startswith(p + "/") for p in layouts.promise_paths()), path


def test_the_man_page_names_every_promised_path():
    roff = dh_pyshared_page.render("2026-11-21").replace("\\-", "-")
    sentence = next(line for line in roff.splitlines() if line.startswith("dh skips dh_pyshared"))
    named = re.findall(r"/[\w/-]+", sentence.split("none of ")[1].split(", unless")[0])
    assert named == [f"/{path}" for path in layouts.promise_paths()]


@pytest.mark.parametrize("path", places() + metadata())
def test_every_contents_line_of_a_place_or_metadata_file_is_a_candidate(path):
    line = f"{path}/demo.py"
    assert (b"\n" + line.encode()).startswith(contents.CANDIDATE_PREFIXES), line
    data = b"\n".join([b"usr/bin/x", line.encode(), b"etc/y"]) + b"\n"
    lines = [batch for _size, batch in contents.candidate_batches([data])]
    assert [b for batch in lines for b in batch] == [line.encode()]


def test_the_scan_finds_a_place_of_every_rule(tmp_path):
    for path in places():
        (tmp_path / path).mkdir(parents=True)
        (tmp_path / path / "demo.py").write_text("")
    inventory = take_inventory(str(tmp_path), "python3-demo")
    assert sorted(place.rule.name for place in inventory.places) == sorted(
        rule.name for rule in layouts.RULES
    )


@pytest.fixture
def new_rule(monkeypatch):
    """A place added to the table only: everything else must follow it."""
    rule = layouts.Rule("new-helper", r"opt/newhelper/python(?P<version>3\.\d+)", 3, description="new")
    monkeypatch.setattr(layouts, "RULES", (*layouts.RULES, rule))
    monkeypatch.setattr(layouts, "_COMPILED", (*layouts._COMPILED, (rule, re.compile(rule.pattern))))
    layouts.search_components.cache_clear()
    yield rule
    layouts.search_components.cache_clear()


def test_a_rule_added_to_the_table_alone_is_scanned_and_promised(new_rule, tmp_path):
    (tmp_path / "opt/newhelper/python3.11").mkdir(parents=True)
    (tmp_path / "opt/newhelper/python3.11/demo.py").write_text("")
    inventory = take_inventory(str(tmp_path), "python3-demo")
    assert [place.rule.name for place in inventory.places] == ["new-helper"]
    assert "opt/newhelper" in layouts.promise_paths()
    assert b"\nopt/newhelper/py" in layouts.candidate_prefixes()
    # ...and the literal PROMISE line, which dh reads as text, is caught out of date.
    with pytest.raises(AssertionError, match="PROMISE line disagrees"):
        test_the_promise_line_of_dh_pyshared_is_the_one_layouts_derives()
