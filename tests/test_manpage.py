"""dh_pyshared(1) comes from the option table that builds --help, and
pyshared-scan(1) from the argparse parsers that build its --help: same
options, same sentences, and pages groff and man read without a warning.

The flags are read back from the two outputs (the roff source and the text
of `--help`), not from the table or the parsers, so an option that reaches
only one of them fails here.  test_debian_package.py checks the same on the
pages and the commands of the built .deb.
"""

import os

from helpers.manpage_checks import (
    SCAN_PARSERS,
    assert_same_options,
    assert_scan_page_matches,
    groff_warnings,
    help_options,
    help_text,
    man_options,
)

from pyshared_tools.archive import cli as scan_cli
from pyshared_tools.debhelper.options import OPTION_TABLE
from pyshared_tools.manpages import dh_pyshared as dh_pyshared_page
from pyshared_tools.manpages import pyshared_scan as pyshared_scan_page
from pyshared_tools.manpages import roff as roff_source


def test_man_page_and_help_list_the_same_options_with_the_same_sentences():
    assert_same_options(dh_pyshared_page.render(), help_text())


def test_an_option_added_to_the_table_reaches_both(monkeypatch):
    from pyshared_tools.debhelper import options

    extra = options.OptionSpec(
        flags=("--extra-option",),
        dest="extra",
        action="store_true",
        group=options.TOOL_GROUP,
        help="A new option.",
    )
    monkeypatch.setattr(options, "OPTION_TABLE", (*OPTION_TABLE, extra))
    monkeypatch.setattr(dh_pyshared_page, "OPTION_TABLE", options.OPTION_TABLE)
    help_output = options.build_parser().format_help()
    assert "--extra-option" in help_options(help_output)
    assert man_options(dh_pyshared_page.render())["--extra-option"] == "A new option."


def test_the_comparison_fails_for_an_option_in_only_one():
    roff = dh_pyshared_page.render()
    item = next(line for line in roff.splitlines() if line.startswith("\\fB\\-\\-strict"))
    try:
        assert_same_options(roff.replace(item, "\\fB\\-\\-stricter\\fR"), help_text())
    except AssertionError as error:
        assert "--stricter" in str(error) and "--strict" in str(error)
    else:
        raise AssertionError("a renamed option went unnoticed")


def test_the_page_has_every_section_and_no_groff_warning(tmp_path):
    roff = dh_pyshared_page.render("2026-11-21")
    for section in (
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "OPTIONS",
        "ENVIRONMENT",
        "FILES",
        "EXAMPLES",
        '"SEE ALSO"',
    ):
        assert f"\n.SH {section}\n" in roff, section
    assert roff.startswith('.TH DH_PYSHARED 1 "2026-11-21" "dh-pyshared ')
    assert '\n.SS "Common debhelper options"\n' in roff and '\n.SS "dh_pyshared options"\n' in roff
    path = tmp_path / "dh_pyshared.1"
    path.write_text(roff)
    assert groff_warnings(path) == ""


def test_the_date_comes_from_source_date_epoch_only():
    assert roff_source.build_date({"SOURCE_DATE_EPOCH": "1795255200"}) == "2026-11-21"
    assert roff_source.build_date({}) == ""
    assert dh_pyshared_page.render(roff_source.build_date({})) == dh_pyshared_page.render()


def test_the_generator_writes_the_file_it_is_given(tmp_path):
    path = tmp_path / "dh_pyshared.1"
    assert dh_pyshared_page.main([str(path)]) == 0
    assert path.read_text() == dh_pyshared_page.render(roff_source.build_date(os.environ))


def test_code_words_get_minus_signs_and_prose_keeps_hyphens():
    assert roff_source.inline("see --shared-dir and /usr/lib/python3/dist-packages") == (
        "see \\-\\-shared\\-dir and /usr/lib/python3/dist\\-packages"
    )
    assert roff_source.inline("an architecture-independent package") == "an architecture-independent package"
    assert roff_source.inline(".hidden request") == "\\&.hidden request"
    assert roff_source.inline("a \\ backslash") == "a \\e backslash"


# pyshared-scan(1), from the argparse parsers of bin/pyshared-scan.


def test_the_scan_page_has_every_option_of_both_parsers():
    roff = pyshared_scan_page.render()
    options = roff[roff.index("\n.SH OPTIONS\n") : roff.index('\n.SH "EXIT STATUS"\n')]
    synopsis = roff[roff.index("\n.SH SYNOPSIS\n") : roff.index("\n.SH DESCRIPTION\n")]
    for _subsection, build, _args in SCAN_PARSERS:
        for action in build()._actions:
            for flag in action.option_strings:
                escaped = roff_source.flag(flag)
                assert escaped in options, flag
                # Every option but --help, --version and the short -j is in a SYNOPSIS form.
                if flag not in ("-h", "--help", "--version", "-j"):
                    assert escaped in synopsis, flag
            if action.metavar:
                assert roff_source.placeholder(action.metavar) in options, action.metavar
    assert "\n.SY pyshared\\-scan\n\\fBmerge\\fR " in synopsis
    assert synopsis.count("\n.SY pyshared\\-scan\n") == 3


def test_the_scan_page_and_both_helps_list_the_same_options_with_the_same_sentences():
    assert_scan_page_matches(pyshared_scan_page.render())


def test_an_option_added_to_the_scan_parser_reaches_the_page(monkeypatch):
    build = scan_cli.build_parser

    def with_extra():
        parser = build()
        parser.add_argument("--extra-option", metavar="X", help="A new option, at 100%%.")
        return parser

    monkeypatch.setattr(scan_cli, "build_parser", with_extra)
    roff = pyshared_scan_page.render()
    assert man_options(roff, "pyshared\\-scan")["--extra-option"] == "A new option, at 100%."
    assert "\\fB\\-\\-extra\\-option\\fR \\fIX\\fR" in roff


def test_the_scan_page_has_every_section_and_no_groff_warning(tmp_path):
    roff = pyshared_scan_page.render("2026-11-21")
    assert roff.startswith('.TH PYSHARED\\-SCAN 1 "2026-11-21" "dh-pyshared ')
    for section in (
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "OPTIONS",
        '"EXIT STATUS"',
        "ENVIRONMENT",
        "FILES",
        "EXAMPLES",
        '"SEE ALSO"',
    ):
        assert f"\n.SH {section}\n" in roff, section
    assert "\n.BR dh_pyshared (1)" in roff
    for words in (
        "$XDG_CACHE_HOME/pyshared\\-scan/cache.sqlite3",
        "\\fBTMPDIR\\fR",
        "\\fBXDG_CACHE_HOME\\fR",
        "_Contents\\-amd64.lz4",
        "\\-\\-sshlogin",
        "\\-\\-return",
        "pyshared\\-scan merge shard",
    ):
        assert words in roff, words
    for code in pyshared_scan_page.CODES:
        assert roff_source.flag(code) in roff, code
    path = tmp_path / "pyshared-scan.1"
    path.write_text(roff)
    assert groff_warnings(path) == ""


def test_the_scan_page_is_dated_from_source_date_epoch(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1795255200")
    assert pyshared_scan_page.main([str(tmp_path / "pyshared-scan.1")]) == 0
    assert (tmp_path / "pyshared-scan.1").read_text() == pyshared_scan_page.render("2026-11-21")
    assert pyshared_scan_page.render(roff_source.build_date({})) == pyshared_scan_page.render()


def test_roff_escapes_in_code_lines_and_placeholders():
    assert roff_source.code(".hidden --opt a\\b") == "\\&.hidden \\-\\-opt a\\eb"
    assert roff_source.code("'quoted") == "\\&'quoted"
    assert roff_source.placeholder("X-Y") == "\\fIX\\-Y\\fR"
    assert roff_source.flag("--a\\b") == "\\fB\\-\\-a\\eb\\fR"
    assert roff_source.inline("(--jobs N) with legacy-layout", ("legacy-layout",)) == (
        "(\\-\\-jobs N) with legacy\\-layout"
    )
