"""Values from the environment or an interpreter's answer that become parts of file names
(a multiarch tuple in an extension's tag, an import suffix) are checked like --tag is: a
'../', a slash or a newline is one error line, with the tree and everything outside untouched."""

import json

import pytest
from conftest import HOST, SUFFIX_311, snapshot

from pyshared_tools.errors import ExternalToolError
from pyshared_tools.rules.tags import query_interpreters

SITE = "usr/lib/python3.11/site-packages"

HOSTILE_VALUES = {
    "DEB_HOST_MULTIARCH": ["../../../../escaped", "x86_64-linux-gnu/../..", "x86_64-linux-gnu\nfoo", "a b"],
    "DEB_HOST_ARCH": ["amd64/../x", "amd64\n", "-amd64"],
    "DEB_BUILD_MULTIARCH": ["../x"],
}


def assert_one_error_line(result):
    assert result.returncode != 0
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("dh_pyshared: error: "), result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("variable", "value"), [(v, value) for v, values in HOSTILE_VALUES.items() for value in values]
)
def test_a_hostile_architecture_variable_is_refused_with_the_tree_untouched(make_source, variable, value):
    source = make_source()
    source.write(f"{SITE}/foo/__init__.py", "")
    source.extension(f"{SITE}/foo/_speed.so")
    sentinel = source.root.parent / "escaped"
    before, outside = snapshot(source.root), snapshot(source.root.parent)
    result = source.run(env={variable: value}, check=False)
    assert_one_error_line(result)
    assert f"{variable}={value!r} is not a Debian" in result.stderr
    assert snapshot(source.root) == before
    assert snapshot(source.root.parent) == outside and not sentinel.exists()


def test_the_real_values_still_pass(make_source):
    source = make_source()
    source.write(f"{SITE}/foo/__init__.py", "")
    source.extension(f"{SITE}/foo/_speed.so")
    source.run(env=HOST)
    assert (source.tree() / f"usr/lib/python3/dist-packages/foo/_speed{SUFFIX_311}").is_file()


def interpreter_answering(tmp_path, answer):
    script = tmp_path / "python3.11"
    script.write_text(f"#!/bin/sh\ncat <<'EOF'\n{answer}\nEOF\n")
    script.chmod(0o755)
    return str(script)


@pytest.mark.parametrize(
    "answer",
    [
        {"version": [3, 11], "EXTENSION_SUFFIXES": ["/../../../evil.so", ".so"]},
        {"version": [3, 11], "EXTENSION_SUFFIXES": [".cpython-311-x86_64-linux-gnu/x.so"]},
        {"version": [3, 11], "EXTENSION_SUFFIXES": [".so\n"]},
        {"version": [3, 11], "EXTENSION_SUFFIXES": "not a list"},
        {"version": [3, 11]},
        {"version": "3.11", "EXTENSION_SUFFIXES": [".so"]},
        [1, 2, 3],
    ],
)
def test_an_interpreter_answer_that_is_no_file_name_ending_is_refused(tmp_path, answer):
    executable = interpreter_answering(tmp_path, json.dumps(answer))
    with pytest.raises(ExternalToolError) as raised:
        query_interpreters([(3, 11)], interpreter_path=lambda version: executable)
    assert "\n" not in str(raised.value)
