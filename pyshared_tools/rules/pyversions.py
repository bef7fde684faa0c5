"""Supported Python 3 versions: X-Python3-Version intersected with
/usr/share/python3/debian_defaults, with the semantics of ``py3versions -r``."""

import operator
import os
import re
import sys
from collections.abc import Mapping

from pyshared_tools.errors import ControlError, PysharedError

DEFAULTS_PATH = "/usr/share/python3/debian_defaults"
IGNORED_VERSION_ENTRIES = ("all", "current", "current_ext")
VERSION_ENTRY = re.compile(r"(>=|<=|<<|=)? *(\d\.\d+)")
VERSION_TEXT = re.compile(r"(?:python)?(\d+)\.(\d+)")
RANGE_OPERATORS = {">=": operator.ge, "<=": operator.le, "<<": operator.lt}
FIELD_WHERE = "in X-Python3-Version of the Source paragraph of debian/control"

Version = tuple[int, int]


def parse_version(text: str) -> Version:
    """(3, 11) of '3.11' or 'python3.11' (spaces around allowed); ValueError otherwise."""
    match = VERSION_TEXT.fullmatch(text.strip())
    if not match:
        raise ValueError(f"not a Python version: {text!r}")
    return int(match[1]), int(match[2])


def _read_defaults(defaults_path: str) -> dict[str, str] | None:
    try:
        with open(defaults_path, encoding="utf-8") as defaults_file:
            text = defaults_file.read()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise PysharedError(
            f"cannot read the Python defaults: {error}", defaults_path, "reinstall the python3 package"
        ) from None
    defaults = _plain_defaults(text)
    if defaults is not None:
        return defaults
    from configparser import ConfigParser, Error

    parser = ConfigParser(interpolation=None)
    try:
        parser.read_string(text, defaults_path)
    except Error as error:
        raise PysharedError(
            f"cannot read the Python defaults: {error}", defaults_path, "reinstall the python3 package"
        ) from None
    return dict(parser["DEFAULT"])


def _plain_defaults(text):
    """The DEFAULT section as ConfigParser(interpolation=None) reads it, for the
    shape python3's debian_defaults has: `[DEFAULT]` first, then only blank
    lines, whole-line comments and unindented `key = value` lines with distinct
    keys.  None for anything else (continuation lines, other sections, a line
    without a delimiter...), which configparser then reads, and judges (saves
    importing it, ~1 ms, on every run)."""
    lines = text.split("\n")  # as configparser iterates them (not str.splitlines)
    header = next((i for i, line in enumerate(lines) if line.strip() and line.strip()[0] not in "#;"), None)
    if header is None or lines[header] != "[DEFAULT]":
        return None
    defaults = {}
    for line in lines[header + 1 :]:
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        if line[0].isspace() or stripped[0] == "[":
            return None
        delimiter = min((i for i in (line.find("="), line.find(":")) if i >= 0), default=-1)
        key = line[:delimiter].strip().lower()
        if delimiter <= 0 or not key or key in defaults:
            return None
        defaults[key] = line[delimiter + 1 :].strip()
    return defaults


def _defaults_value(defaults_path, key, environ, override_variable):
    """One version list from the environment override or the defaults file.

    Returns None when neither exists (not a Debian system).
    """
    override = (environ if environ is not None else os.environ).get(override_variable, "")
    if override.strip():
        return override, override_variable
    defaults = _read_defaults(defaults_path)
    if defaults is None:
        return None
    if key not in defaults:
        raise PysharedError(
            f"{key} is missing from the Python defaults", defaults_path, "reinstall the python3 package"
        )
    return defaults[key], defaults_path


def _parse_version_list(text, where):
    try:
        return [parse_version(entry) for entry in text.split(",") if entry.strip()]
    except ValueError:
        raise PysharedError(
            f"cannot parse the Python version list {text!r}",
            where,
            "write versions like python3.11, python3.12",
        ) from None


def default_version(defaults_path: str = DEFAULTS_PATH, environ: Mapping[str, str] | None = None) -> Version:
    """The default Python 3 version (DEBPYTHON3_DEFAULT, as dh_python3 honours it,
    else default-version of the defaults file).

    Without a defaults file (not a Debian system) this is the version of the
    running interpreter.
    """
    found = _defaults_value(defaults_path, "default-version", environ, "DEBPYTHON3_DEFAULT")
    if found is None:
        return sys.version_info[:2]
    text, where = found
    versions = _parse_version_list(text, where)
    if len(versions) != 1:
        raise PysharedError(
            f"expected one default Python version, got {text!r}", where, "name exactly one version"
        )
    return versions[0]


def _all_supported(defaults_path, environ):
    found = _defaults_value(defaults_path, "supported-versions", environ, "DEBPYTHON3_SUPPORTED")
    if found is None:
        return [sys.version_info[:2]]
    return sorted(set(_parse_version_list(*found)))


def _field_error(what, value, todo):
    return ControlError(f"X-Python3-Version {value!r} {what}", FIELD_WHERE, todo)


def supported_versions(
    x_python3_version: str | None,
    defaults_path: str = DEFAULTS_PATH,
    environ: Mapping[str, str] | None = None,
) -> list[Version]:
    """The versions to build for, ascending, as ``py3versions -r`` computes them.

    Supported versions come from DEBPYTHON3_SUPPORTED if set, else from the
    defaults file; without a defaults file (not a Debian system) the running
    interpreter's version is the only supported one.  ``all``, ``current``
    and ``current_ext`` entries are skipped, Python 2 versions are ignored,
    exact versions are added to the range given by the operators.
    """
    supported = _all_supported(defaults_path, environ)
    if x_python3_version is None:
        return supported
    entries = x_python3_version.split(",")
    if len(entries) > 2:
        raise _field_error(
            "has more than two entries",
            x_python3_version,
            "give at most a minimum and a maximum, for example '>= 3.9, << 3.13'",
        )
    exact = set()
    in_range = set(supported)
    range_given = False
    version_given = False
    for entry in entries:
        entry = entry.strip()
        if entry in IGNORED_VERSION_ENTRIES:
            continue
        version_given = True
        match = VERSION_ENTRY.fullmatch(entry)
        if match is None:
            raise _field_error(
                f"cannot be parsed at {entry!r}",
                x_python3_version,
                "write entries like '>= 3.9', '<< 3.13' or '3.11'",
            )
        relation, version_text = match.groups()
        version = parse_version(version_text)
        if version[0] < 3:
            continue
        if relation in (None, "="):
            exact.add(version)
        else:
            range_given = True
            in_range = {candidate for candidate in in_range if RANGE_OPERATORS[relation](candidate, version)}
    if not version_given:
        raise _field_error(
            "names no version",
            x_python3_version,
            "give a version range such as '>= 3.9' or remove the field",
        )
    requested = (exact | in_range) if range_given else exact
    selected = sorted(requested.intersection(supported))
    if not selected:
        supported_text = ", ".join(f"{major}.{minor}" for major, minor in supported)
        raise _field_error(
            f"selects none of the supported Python versions ({supported_text})",
            x_python3_version,
            "widen the range or remove the field",
        )
    return selected
