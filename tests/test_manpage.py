"""dh_pyshared(1) comes from the option table that builds --help, and
pyshared-scan(1) from the argparse parsers that build its --help: same
options, same sentences, and pages groff and man read without a warning.

The flags are read back from the two outputs (the roff source and the text
of `--help`), not from the table or the parsers, so an option that reaches
only one of them fails here.  test_debian_package.py checks the same on the
pages and the commands of the built .deb.
"""

import os
import re
import subprocess

from conftest import TOOL

from pyshared_tools import manpage, scan_manpage
from pyshared_tools.archive import cli as scan_cli
from pyshared_tools.options import OPTION_TABLE

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
    end = next(i for i in range(start + 1, len(lines))
               if lines[i].startswith(".SH ") or (subsection is not None and lines[i].startswith(".SS ")))
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
    return subprocess.run([str(tool), *args, "--help"], capture_output=True, text=True, env=environment,
                          check=True).stdout


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
        ["man", "--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z", str(path)], capture_output=True, text=True,
        env={**os.environ, "LC_ALL": "C.UTF-8", "MANROFFSEQ": "", "MANWIDTH": "80"},
    )
    return (groff.stderr + man.stderr).strip()


def test_man_page_and_help_list_the_same_options_with_the_same_sentences():
    assert_same_options(manpage.render(), help_text())


def test_an_option_added_to_the_table_reaches_both(monkeypatch):
    from pyshared_tools import options

    extra = options.OptionSpec(flags=("--extra-option",), dest="extra", action="store_true",
                               group=options.TOOL_GROUP, help="A new option.")
    monkeypatch.setattr(options, "OPTION_TABLE", (*OPTION_TABLE, extra))
    monkeypatch.setattr(manpage, "OPTION_TABLE", options.OPTION_TABLE)
    help_output = options.build_parser().format_help()
    assert "--extra-option" in help_options(help_output)
    assert man_options(manpage.render())["--extra-option"] == "A new option."


def test_the_comparison_fails_for_an_option_in_only_one():
    roff = manpage.render()
    item = next(line for line in roff.splitlines() if line.startswith("\\fB\\-\\-strict"))
    try:
        assert_same_options(roff.replace(item, "\\fB\\-\\-stricter\\fR"), help_text())
    except AssertionError as error:
        assert "--stricter" in str(error) and "--strict" in str(error)
    else:
        raise AssertionError("a renamed option went unnoticed")


def test_the_page_has_every_section_and_no_groff_warning(tmp_path):
    roff = manpage.render("2026-11-21")
    for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "ENVIRONMENT", "FILES", "EXAMPLES",
                    '"SEE ALSO"'):
        assert f"\n.SH {section}\n" in roff, section
    assert roff.startswith('.TH DH_PYSHARED 1 "2026-11-21" "dh-pyshared ')
    assert "\n.SS \"Common debhelper options\"\n" in roff and "\n.SS \"dh_pyshared options\"\n" in roff
    path = tmp_path / "dh_pyshared.1"
    path.write_text(roff)
    assert groff_warnings(path) == ""


def test_the_date_comes_from_source_date_epoch_only():
    assert manpage.build_date({"SOURCE_DATE_EPOCH": "1795255200"}) == "2026-11-21"
    assert manpage.build_date({}) == ""
    assert manpage.render(manpage.build_date({})) == manpage.render()


def test_the_generator_writes_the_file_it_is_given(tmp_path):
    path = tmp_path / "dh_pyshared.1"
    assert manpage.main([str(path)]) == 0
    assert path.read_text() == manpage.render(manpage.build_date(os.environ))


def test_code_words_get_minus_signs_and_prose_keeps_hyphens():
    assert manpage.inline("see --shared-dir and /usr/lib/python3/dist-packages") == (
        "see \\-\\-shared\\-dir and /usr/lib/python3/dist\\-packages"
    )
    assert manpage.inline("an architecture-independent package") == "an architecture-independent package"
    assert manpage.inline(".hidden request") == "\\&.hidden request"
    assert manpage.inline("a \\ backslash") == "a \\e backslash"


# pyshared-scan(1), from the argparse parsers of bin/pyshared-scan.

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


def test_the_scan_page_has_every_option_of_both_parsers():
    roff = scan_manpage.render()
    options = roff[roff.index("\n.SH OPTIONS\n"):roff.index("\n.SH \"EXIT STATUS\"\n")]
    synopsis = roff[roff.index("\n.SH SYNOPSIS\n"):roff.index("\n.SH DESCRIPTION\n")]
    for _subsection, build, _args in SCAN_PARSERS:
        for action in build()._actions:
            for flag in action.option_strings:
                escaped = manpage.flag(flag)
                assert escaped in options, flag
                # Every option but --help, --version and the short -j is in a SYNOPSIS form.
                if flag not in ("-h", "--help", "--version", "-j"):
                    assert escaped in synopsis, flag
            if action.metavar:
                assert manpage.placeholder(action.metavar) in options, action.metavar
    assert "\n.SY pyshared\\-scan\n\\fBmerge\\fR " in synopsis
    assert synopsis.count("\n.SY pyshared\\-scan\n") == 3


def test_the_scan_page_and_both_helps_list_the_same_options_with_the_same_sentences():
    assert_scan_page_matches(scan_manpage.render())


def test_an_option_added_to_the_scan_parser_reaches_the_page(monkeypatch):
    build = scan_cli.build_parser

    def with_extra():
        parser = build()
        parser.add_argument("--extra-option", metavar="X", help="A new option, at 100%%.")
        return parser

    monkeypatch.setattr(scan_cli, "build_parser", with_extra)
    roff = scan_manpage.render()
    assert man_options(roff, "pyshared\\-scan")["--extra-option"] == "A new option, at 100%."
    assert "\\fB\\-\\-extra\\-option\\fR \\fIX\\fR" in roff


def test_the_scan_page_has_every_section_and_no_groff_warning(tmp_path):
    roff = scan_manpage.render("2026-11-21")
    assert roff.startswith('.TH PYSHARED\\-SCAN 1 "2026-11-21" "dh-pyshared ')
    for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", '"EXIT STATUS"', "ENVIRONMENT", "FILES",
                    "EXAMPLES", '"SEE ALSO"'):
        assert f"\n.SH {section}\n" in roff, section
    assert "\n.BR dh_pyshared (1)" in roff
    for words in ("$XDG_CACHE_HOME/pyshared\\-scan/cache.sqlite3", "\\fBTMPDIR\\fR", "\\fBXDG_CACHE_HOME\\fR",
                  "_Contents\\-amd64.lz4", "\\-\\-sshlogin", "\\-\\-return", "pyshared\\-scan merge shard"):
        assert words in roff, words
    for code in scan_manpage.CODES:
        assert manpage.flag(code) in roff, code
    path = tmp_path / "pyshared-scan.1"
    path.write_text(roff)
    assert groff_warnings(path) == ""


def test_the_scan_page_is_dated_from_source_date_epoch(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1795255200")
    assert scan_manpage.main([str(tmp_path / "pyshared-scan.1")]) == 0
    assert (tmp_path / "pyshared-scan.1").read_text() == scan_manpage.render("2026-11-21")
    assert scan_manpage.render(manpage.build_date({})) == scan_manpage.render()


def test_roff_escapes_in_code_lines_and_placeholders():
    assert manpage.code(".hidden --opt a\\b") == "\\&.hidden \\-\\-opt a\\eb"
    assert manpage.code("'quoted") == "\\&'quoted"
    assert manpage.placeholder("X-Y") == "\\fIX\\-Y\\fR"
    assert manpage.flag("--a\\b") == "\\fB\\-\\-a\\eb\\fR"
    assert manpage.inline("(--jobs N) with legacy-layout", ("legacy-layout",)) == (
        "(\\-\\-jobs N) with legacy\\-layout"
    )
