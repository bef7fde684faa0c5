"""What tests/test_bad_input.py and the tests of refusals elsewhere share: the refusal
check, an upstream tree, a run as the build user."""

import os
import re

from conftest import HOST, TOOL, snapshot

from helpers import builduser

PY311 = "usr/lib/python3.11"


SITE = f"{PY311}/site-packages"


ERROR_LINE = re.compile(r"dh_pyshared: error: (?P<what>[^\n]+?), (?P<where>[^\n]+), (?P<todo>[^\n]+)\n")


def journal_dir(src):
    return src.root / "debian" / ".debhelper" / "pyshared"


def assert_refused(src, *args, expect=(), expect_re=None, runner=None, snap=snapshot):
    """Run the tool, expect a one-line refusal mentioning every string in expect."""
    before = snap(src.root)
    result = (runner or src.run)(*args, check=False)
    assert result.returncode != 0, result
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stdout == "", result.stdout
    lines = result.stderr.splitlines(keepends=True)
    assert len(lines) == 1, result.stderr
    match = ERROR_LINE.fullmatch(lines[0])
    assert match, f"not '<what>, <where>, <what to do>': {lines[0]!r}"
    for text in expect:
        assert text in lines[0], f"{text!r} not in {lines[0]!r}"
    if expect_re:
        assert re.search(expect_re, match["what"]), f"{expect_re!r} does not describe {lines[0]!r}"
    assert snap(src.root) == before, "the refused run changed the source directory"
    assert src.substvars() is None
    assert not journal_dir(src).exists()
    return match


def run_as_build_user(src):
    def run(*args, check=False):
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("DH_", "DEB_"))}
        environment.update(HOST, HOME="/nonexistent")
        return builduser.run(
            [str(TOOL), *args], cwd=src.root, env=environment, capture_output=True, text=True, check=check
        )

    return run


def upstream_tree(src):
    src.write(f"{SITE}/foo/__init__.py", "")
    src.write(f"{SITE}/foo/core.py", "ANSWER = 42\n")
    src.extension(f"{SITE}/foo/_speed.so")
