"""Supported Python versions, checked against the real py3versions."""

import os
import subprocess
import sys
import textwrap

import pytest

from pyshared_tools.errors import ControlError, PysharedError
from pyshared_tools.rules.pyversions import DEFAULTS_PATH, default_version, supported_versions

PY3VERSIONS = "/usr/bin/py3versions"


@pytest.fixture
def defaults(tmp_path):
    path = tmp_path / "debian_defaults"
    path.write_text(
        textwrap.dedent(
            """\
            [DEFAULT]
            # the default python3 version
            default-version = python3.12

            # all supported python3 versions
            supported-versions = python3.13, python3.11,python3.12
            old-versions = python3.1, python3.10
            """
        )
    )
    return str(path)


def versions(x_python3_version, defaults_path, **environ):
    return supported_versions(x_python3_version, defaults_path, environ)


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        (None, [(3, 11), (3, 12), (3, 13)]),
        (">= 3.12", [(3, 12), (3, 13)]),
        (" >=3.12 ", [(3, 12), (3, 13)]),
        (">= 3.9, << 3.12", [(3, 11)]),
        ("<< 3.13, >= 3.12", [(3, 12)]),
        ("<= 3.12", [(3, 11), (3, 12)]),
        ("3.11", [(3, 11)]),
        ("= 3.13", [(3, 13)]),
        ("all, >= 3.13", [(3, 13)]),
        ("current, 3.12", [(3, 12)]),
        (">= 2.7, << 3.12", [(3, 11)]),
        ("3.11, >= 3.13", [(3, 11), (3, 13)]),
        ("3.11, 3.13", [(3, 11), (3, 13)]),
        ("3.9, >= 3.12", [(3, 12), (3, 13)]),
    ],
)
def test_requested_versions(defaults, field, expected):
    assert versions(field, defaults) == expected


@pytest.mark.parametrize(
    ("field", "what"),
    [
        ("all", "names no version"),
        ("current", "names no version"),
        ("all, current_ext", "names no version"),
        (">= 3.14", "selects none of the supported Python versions (3.11, 3.12, 3.13)"),
        ("3.9", "selects none"),
        (">= 2.7", "selects none"),
        ("<< 3.11", "selects none"),
        ("", "cannot be parsed at ''"),
        (">= 3.9,", "cannot be parsed at ''"),
        (">> 3.9", "cannot be parsed at '>> 3.9'"),
        (">= 3.11.1", "cannot be parsed"),
        ("== 3.11", "cannot be parsed"),
        (">= 3.9, << 3.12, 3.13", "has more than two entries"),
    ],
)
def test_impossible_requests_are_control_errors(defaults, field, what):
    with pytest.raises(ControlError) as caught:
        versions(field, defaults)
    assert caught.value.what.startswith(f"X-Python3-Version {field!r} {what}")
    assert "debian/control" in caught.value.where
    assert caught.value.todo


def test_debpython3_supported_overrides_the_file_like_py3versions(defaults):
    assert versions(None, defaults, DEBPYTHON3_SUPPORTED="3.12, 3.14") == [(3, 12), (3, 14)]
    assert versions(">= 3.13", defaults, DEBPYTHON3_SUPPORTED="3.12,3.14") == [(3, 14)]
    assert versions(None, defaults, DEBPYTHON3_SUPPORTED=" ") == [(3, 11), (3, 12), (3, 13)]


def test_default_version(defaults):
    assert default_version(defaults, {}) == (3, 12)
    assert default_version(defaults, {"DEBPYTHON3_DEFAULT": "3.13"}) == (3, 13)


def test_without_defaults_file_the_running_interpreter_is_used(tmp_path):
    missing = str(tmp_path / "no-such-file")
    assert supported_versions(None, missing, {}) == [sys.version_info[:2]]
    assert default_version(missing, {}) == sys.version_info[:2]
    running = "{}.{}".format(*sys.version_info[:2])
    assert supported_versions(f">= {running}", missing, {}) == [sys.version_info[:2]]
    with pytest.raises(ControlError, match="selects none"):
        supported_versions(f"<< {running}", missing, {})


@pytest.mark.parametrize(
    ("content", "what"),
    [
        ("[DEFAULT]\ndefault-version = python3.11\n", "supported-versions is missing"),
        ("[DEFAULT]\nsupported-versions = python3.x\n", "cannot parse the Python version list"),
        ("no section header\n", "cannot read the Python defaults"),
    ],
)
def test_broken_defaults_file(tmp_path, content, what):
    path = tmp_path / "debian_defaults"
    path.write_text(content)
    with pytest.raises(PysharedError, match=what) as caught:
        supported_versions(None, str(path), {})
    assert str(path) in str(caught.value)


# cross-check with the real py3versions on the real defaults file

CROSS_CHECK_FIELDS = [
    ">= 3.9", ">= 3.10", ">= 3.12", "<< 3.11", "<= 3.11", ">= 3.9, << 3.12", ">= 3.11, << 3.11",
    "3.10", "3.11", "= 3.12", "3.10, 3.12", "3.10, >= 3.12", "all, >= 3.11", "current, 3.10",
    ">= 2.7", ">= 2.7, << 3.11", "all", "current", ">= 3.13", "",  ">= 3.9,", ">> 3.9", "3.10.1",
    "3.10, 3.11, 3.12",
]  # fmt: skip
SUPPORTED_OVERRIDE = "3.10, 3.11, 3.12"


def py3versions(field):
    environ = {key: value for key, value in os.environ.items() if not key.startswith("DEBPYTHON")}
    environ["DEBPYTHON3_SUPPORTED"] = SUPPORTED_OVERRIDE
    result = subprocess.run([PY3VERSIONS, "-v", "-r", field], env=environ, capture_output=True, text=True)
    if result.returncode != 0:
        return None
    return sorted(tuple(int(part) for part in word.split(".")) for word in result.stdout.split())


@pytest.mark.parametrize("field", CROSS_CHECK_FIELDS)
def test_supported_versions_agree_with_py3versions(field):
    theirs = py3versions(field)
    try:
        ours = supported_versions(field, DEFAULTS_PATH, {"DEBPYTHON3_SUPPORTED": SUPPORTED_OVERRIDE})
    except ControlError:
        ours = None
    assert ours == theirs


def test_real_defaults_agree_with_py3versions():
    environ = {key: value for key, value in os.environ.items() if not key.startswith("DEBPYTHON")}
    supported = subprocess.run(
        [PY3VERSIONS, "-v", "-s"], env=environ, capture_output=True, text=True, check=True
    ).stdout.split()
    default = subprocess.run(
        [PY3VERSIONS, "-v", "-d"], env=environ, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert supported_versions(None, DEFAULTS_PATH, {}) == sorted(
        tuple(int(part) for part in word.split(".")) for word in supported
    )
    assert default_version(DEFAULTS_PATH, {}) == tuple(int(part) for part in default.split("."))


# debian_defaults read without configparser when it has the plain shape

DEFAULTS_SHAPES = [
    "[DEFAULT]\ndefault-version = python3.11\nsupported-versions = python3.11, python3.12\n",
    "# head\n\n[DEFAULT]\n; c\nDefault-Version=python3.12  \n\n\nsupported-versions :  python3.12\n",
    "[DEFAULT]\nsupported-versions = a = b : c\nx: y = z\nempty =\n",
    "[DEFAULT]\nsupported-versions = python3.11,\n  python3.12\n",
    "[DEFAULT]\nsupported-versions = python3.11\n\n   continued after a blank line\n",
    "[DEFAULT]\nsupported-versions = python3.11\n   # an indented comment\nold-versions = python3.9\n",
    "[DEFAULT]\nsupported-versions = python3.11\nSUPPORTED-versions = python3.12\n",
    "[DEFAULT]\nsupported-versions = python3.11\n[other]\nx = 1\n",
    "[DEFAULT] \nsupported-versions = python3.11\n",
    "[DEFAULT]\n= python3.11\n",
    "[DEFAULT]\nsupported-versions\n",
    "supported-versions = python3.11\n",
    "\n# only comments\n",
    "[DEFAULT]\nsupported-versions = python3.11\x0cpython3.12\r\n",
    "[DEFAULT]\nsupported-versions = python3.11 # not a comment\n",
]


def configparser_reading(path):
    from configparser import ConfigParser, Error

    parser = ConfigParser(interpolation=None)
    try:
        with open(path, encoding="utf-8") as handle:
            parser.read_file(handle)
    except Error as error:
        return f"cannot read the Python defaults: {error}"
    return dict(parser["DEFAULT"])


@pytest.mark.parametrize("content", DEFAULTS_SHAPES)
def test_defaults_are_read_as_configparser_reads_them(tmp_path, content):
    from pyshared_tools.rules import pyversions

    path = tmp_path / "debian_defaults"
    path.write_bytes(content.encode())
    expected = configparser_reading(path)
    try:
        ours = pyversions._read_defaults(str(path))
    except PysharedError as error:
        ours = error.what
    assert ours == expected


def test_the_plain_defaults_file_is_read_without_importing_configparser(defaults):
    code = (
        "import sys\n"
        "from pyshared_tools.rules.pyversions import default_version, supported_versions\n"
        f"print(default_version({defaults!r}, {{}}), supported_versions(None, {defaults!r}, {{}}),\n"
        "      'configparser' in sys.modules)\n"
    )
    checkout = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=checkout, capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["(3,", "12)", "[(3,", "11),", "(3,", "12),", "(3,", "13)]", "False"]
