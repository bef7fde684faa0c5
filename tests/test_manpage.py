"""dh_pyshared(1) comes from the option table that builds --help: same options,
same sentences, and a page groff and man read without a warning.

The flags are read back from the two outputs (the roff source and the text
of `dh_pyshared --help`), not from the table, so an option that reaches only
one of them fails here.  test_debian_package.py checks the same on the page
and the command of the built .deb.
"""

import os
import re
import subprocess

from conftest import TOOL

from pyshared_tools import manpage
from pyshared_tools.options import OPTION_TABLE

TABLE_FLAGS = {flag for spec in OPTION_TABLE for flag in spec.flags}
FLAG = re.compile(r"(?:^|, )(--?[A-Za-z][\w-]*)")
HELP_LINE = re.compile(r"^  (-\S.*?)(?: {2,}(.*))?$")


def roff_to_text(line):
    for escape, text in (("\\fB", ""), ("\\fI", ""), ("\\fR", ""), ("\\&", ""), ("\\-", "-"), ("\\e", "\\")):
        line = line.replace(escape, text)
    return line


def man_options(roff):
    """{flag: description} from the .TP items of the OPTIONS section."""
    lines = roff.splitlines()
    start = lines.index(".SH OPTIONS")
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith(".SH "))
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


def help_text(tool=TOOL, env=None):
    environment = {**os.environ, **(env or {}), "COLUMNS": "1000"}
    return subprocess.run([str(tool), "--help"], capture_output=True, text=True, env=environment,
                          check=True).stdout


def assert_same_options(roff, help_output):
    in_man, in_help = man_options(roff), help_options(help_output)
    assert set(in_man) == set(in_help), (
        f"only in the man page: {sorted(set(in_man) - set(in_help))}, "
        f"only in --help: {sorted(set(in_help) - set(in_man))}"
    )
    assert set(in_man) == TABLE_FLAGS
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
