"""Comparisons of the man pages with --help and the option tables (tests/test_manpage.py,
tests/test_debian_package.py)."""

import os
import re
import subprocess

from conftest import TOOL

from pyshared_tools.archive import cli as scan_cli
from pyshared_tools.debhelper.options import OPTION_TABLE

TABLE_FLAGS = {flag for spec in OPTION_TABLE for flag in spec.flags}


SCAN_TOOL = TOOL.parent / "pyshared-scan"


FLAG = re.compile(r"(?:^|, )(--?[A-Za-z][\w-]*)")


HELP_LINE = re.compile(r"^  (-\S.*?)(?: {2,}(.*))?$")


def roff_to_text(line):
    for escape, text in (("\\fB", ""), ("\\fI", ""), ("\\fR", ""), ("\\&", ""), ("\\-", "-"), ("\\e", "\\")):
        line = line.replace(escape, text)
    return line


def man_options(roff, subsection=None):
    """{flag: description} from the .TP items of the OPTIONS section, or of one .SS "subsection" of it."""
    lines = roff.splitlines()
    start = lines.index(".SH OPTIONS")
    if subsection is not None:
        start = lines.index(f'.SS "{subsection}"', start)
    end = next(
        i
        for i in range(start + 1, len(lines))
        if lines[i].startswith(".SH ") or (subsection is not None and lines[i].startswith(".SS "))
    )
    options = {}
    for number in range(start, end):
        if lines[number] == ".TP":
            item, description = roff_to_text(lines[number + 1]), roff_to_text(lines[number + 2])
            for flag in FLAG.findall(item):
                options[flag] = description
    return options


def help_options(text):
    """{flag: description} from the option lines of --help (printed with COLUMNS=1000: no wrapping)."""
    options, pending = {}, ()
    for line in text.splitlines():
        match = HELP_LINE.match(line)
        if match:
            pending = FLAG.findall(match.group(1))
            for flag in pending:
                options[flag] = match.group(2) or ""
        elif pending and line.startswith("    ") and line.strip():
            # argparse puts the sentence on the next line after a long invocation.
            for flag in pending:
                options[flag] = (options[flag] + " " + line.strip()).strip()
        else:
            pending = ()
    return options


def help_text(tool=TOOL, env=None, args=()):
    environment = {**os.environ, **(env or {}), "COLUMNS": "1000"}
    return subprocess.run(
        [str(tool), *args, "--help"], capture_output=True, text=True, env=environment, check=True
    ).stdout


def assert_same_options(roff, help_output, flags=TABLE_FLAGS, subsection=None):
    in_man, in_help = man_options(roff, subsection), help_options(help_output)
    assert set(in_man) == set(in_help), (
        f"only in the man page: {sorted(set(in_man) - set(in_help))}, "
        f"only in --help: {sorted(set(in_help) - set(in_man))}"
    )
    assert set(in_man) == flags
    for flag in in_man:
        assert in_man[flag] == in_help[flag], flag


def groff_warnings(path):
    """What groff -ww and man --warnings (as lintian runs it) print about the page."""
    groff = subprocess.run(["groff", "-man", "-ww", "-z", str(path)], capture_output=True, text=True)
    man = subprocess.run(
        ["man", "--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z", str(path)],
        capture_output=True,
        text=True,
        env={**os.environ, "LC_ALL": "C.UTF-8", "MANROFFSEQ": "", "MANWIDTH": "80"},
    )
    return (groff.stderr + man.stderr).strip()


# (OPTIONS subsection, parser, arguments before --help)
SCAN_PARSERS = (
    ("pyshared\\-scan", scan_cli.build_parser, ()),
    ("pyshared\\-scan merge", scan_cli.build_merge_parser, ("merge",)),
)


def parser_flags(build):
    return {flag for action in build()._actions for flag in action.option_strings}


def man_arguments(roff, subsection):
    """{METAVAR: description} of the positional arguments (.TP items in italics) of one subsection."""
    lines = roff.splitlines()
    start = lines.index(f'.SS "{subsection}"', lines.index(".SH OPTIONS"))
    arguments = {}
    for number in range(start + 1, len(lines)):
        if lines[number].startswith((".SS ", ".SH ")):
            break
        if lines[number] == ".TP" and lines[number + 1].startswith("\\fI"):
            name = roff_to_text(lines[number + 1]).rstrip(".")
            arguments[name] = roff_to_text(lines[number + 2])
    return arguments


def help_arguments(text, names):
    """{METAVAR: description} of the positional arguments listed in --help."""
    arguments, pending = {}, None
    for line in text.splitlines():
        match = re.match(r"^  (\S+)(?: {2,}(.*))?$", line)
        if match and match.group(1) in names:
            pending = match.group(1)
            arguments[pending] = match.group(2) or ""
        elif pending and line.startswith("    ") and line.strip():
            arguments[pending] = (arguments[pending] + " " + line.strip()).strip()
        else:
            pending = None
    return arguments


def assert_scan_page_matches(roff, tool=SCAN_TOOL, env=None):
    """Both parsers' options and arguments, in their subsections, with the sentences of
    `pyshared-scan [merge] --help`."""
    for subsection, build, args in SCAN_PARSERS:
        help_output = help_text(tool, env, args)
        assert_same_options(roff, help_output, parser_flags(build), subsection)
        names = {action.metavar for action in build()._actions if not action.option_strings}
        assert man_arguments(roff, subsection) == help_arguments(help_output, names)
        assert set(man_arguments(roff, subsection)) == names
