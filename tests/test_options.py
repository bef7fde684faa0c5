"""Option table, argparse parser and debhelper's option passing (Dh_Getopt.pm)."""

import pytest

from pyshared_tools import __version__
from pyshared_tools.debhelper.options import (
    DEBHELPER_GROUP,
    OPTION_TABLE,
    TOOL_GROUP,
    Options,
    PackageSelection,
    build_parser,
    parse_command_line,
    split_internal_options,
    split_options_string,
)
from pyshared_tools.errors import UsageError

TAG = "cpython-311-x86_64-linux-gnu"

# Captured from debhelper 13.11.4: `dh clean --tag=cpython-311-x86_64-linux-gnu -O-v`
# running override_dh_auto_clean-arch, -indep and a plain override_dh_clean
# (test_control.py produces these again with the real dh).
INTERNAL_ARCH_OVERRIDE = f"-O--tag={TAG}\x1e-O-O-v\x1e-Ndemo-indep\x1e-a"
INTERNAL_INDEP_OVERRIDE = f"-O--tag={TAG}\x1e-O-O-v\x1e-i"
INTERNAL_PLAIN_OVERRIDE = f"-O--tag={TAG}\x1e-O-O-v"


def parse(*argv, **environ):
    return parse_command_line(list(argv), environ)


def test_no_options_give_the_defaults():
    options = parse()
    assert options == Options()
    assert options.shared_dir == "usr/lib/python3/dist-packages"


def test_every_option_of_the_table_reaches_options():
    options = parse(
        "-p", "one", "--package=two", "-N", "three", "--no-package", "four",
        "-a", "--indep", "-P", "debian/tmp", "-v", "--no-act",
        "--tag", TAG, "--tag=abi3", "--shared-dir", "/usr/share/demo", "--json", "--strict",
    )  # fmt: skip
    assert options == Options(
        packages=("one", "two"),
        no_packages=("three", "four"),
        arch=True,
        indep=True,
        tmpdir="debian/tmp",
        verbose=True,
        no_act=True,
        tags=(TAG, "abi3"),
        shared_dir="usr/share/demo",
        json=True,
        strict=True,
        explicit_packages=True,
    )


def test_short_options_bundle_like_getopt_bundling():
    options = parse("-vpfoo", "-ai", "-Nbar", "-Pdebian/x")
    assert (options.verbose, options.packages, options.arch, options.indep) == (True, ("foo",), True, True)
    assert (options.no_packages, options.tmpdir) == (("bar",), "debian/x")


def test_repeated_values_are_kept_once_in_order():
    options = parse("-pb", "-pa", "-pb", "--tag", "t2", "--tag", "t1", "--tag", "t2")
    assert options.packages == ("b", "a")
    assert options.tags == ("t2", "t1")


def test_long_options_are_not_abbreviated():
    with pytest.raises(UsageError, match="--pack"):
        parse("--pack", "foo")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([f"-O--tag={TAG}"], {"tags": (TAG,)}),
        (["-O=--strict"], {"strict": True}),
        (["-O", "--strict"], {"strict": True}),
        (["-O-O-v"], {"verbose": True}),
        (["-O-O-O--json"], {"json": True}),
        (["-O-pdemo"], {"packages": ("demo",), "explicit_packages": True}),
        (["-O--shared-dir=/opt/py"], {"shared_dir": "opt/py"}),
        (["-O--buildsystem=pybuild"], {}),
        (["-O-X.la"], {"exclude": (".la",)}),
        (["-O--ignore=debian/foo"], {}),
        (["-O--tag"], {}),
        (["-O--json=yes"], {}),
        (["-O--help"], {}),
        (["-O--version"], {}),
        (["-Ofoo"], {}),
    ],
)
def test_o_applies_known_options_and_silently_ignores_the_rest(argv, expected, capsys):
    options = parse(*argv)
    assert options == Options(**expected)
    assert capsys.readouterr() == ("", "")


def test_o_values_apply_after_the_direct_options_like_dh_getopt():
    assert parse("-O--shared-dir=/late", "--shared-dir=/early").shared_dir == "late"


def test_unknown_o_value_does_not_undo_a_known_one():
    options = parse("-O--strict", "-O--bogus", "-O-v")
    assert (options.strict, options.verbose, options.warnings) == (True, True, ())


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--bogus"], "unknown option --bogus"),
        (["--ignore=debian/foo"], "unknown option --ignore=debian/foo"),
        (["debian/foo"], "unexpected argument debian/foo"),
        (["-p"], "expected one argument"),
        (["--arch=yes"], "ignored explicit argument"),
        (["-vZ"], "ignored explicit argument 'Z'"),
    ],
)
def test_command_line_errors_raise_usage_error_without_printing(argv, fragment, capsys):
    with pytest.raises(UsageError) as caught:
        parse(*argv)
    assert fragment in caught.value.what
    assert caught.value.where == "on the command line"
    assert caught.value.todo == "see dh_pyshared --help"
    assert caught.value.exit_code == 2
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize(
    ("given", "normalised"),
    [
        ("/usr/lib/python3/dist-packages/", "usr/lib/python3/dist-packages"),
        ("//usr/lib/./python3//dist-packages", "usr/lib/python3/dist-packages"),
        ("/usr/share/demo/../python3-demo", "usr/share/python3-demo"),
    ],
)
def test_shared_dir_is_normalised_to_a_tree_relative_path(given, normalised):
    assert parse(f"--shared-dir={given}").shared_dir == normalised


@pytest.mark.parametrize(
    "given",
    [
        "/usr/lib/python3/../python3.11",
        "/usr/lib",
        "/usr/lib/python3/dist-packages/vendor",
        "/usr/share/pyshared",
    ],
)
def test_shared_dir_must_not_overlap_a_place_the_tool_reads(given):
    with pytest.raises(UsageError, match="the place"):
        parse(f"--shared-dir={given}")


@pytest.mark.parametrize("given", ["usr/lib/python3/dist-packages", "./x", "", "/", "/usr/.."])
def test_shared_dir_must_be_an_absolute_directory_below_the_root(given):
    with pytest.raises(UsageError, match="--shared-dir"):
        parse(f"--shared-dir={given}")


def test_help_prints_the_table_and_exits_zero(capsys):
    with pytest.raises(SystemExit) as caught:
        parse("--help")
    assert caught.value.code == 0
    out = capsys.readouterr().out
    for spec in OPTION_TABLE:
        for flag in spec.flags:
            assert flag in out
    assert "common debhelper options" in out and "dh_pyshared options" in out


def test_version_prints_the_package_version(capsys):
    with pytest.raises(SystemExit) as caught:
        parse("--version")
    assert caught.value.code == 0
    assert capsys.readouterr().out.strip() == f"dh_pyshared {__version__}"


def test_table_rows_are_man_page_ready():
    destinations = [spec.dest for spec in OPTION_TABLE]
    assert len(destinations) == len(set(destinations))
    for spec in OPTION_TABLE:
        assert spec.group in (DEBHELPER_GROUP, TOOL_GROUP)
        assert spec.help[0].isupper() and spec.help.endswith("."), spec
        assert (spec.metavar is not None) == (spec.action in ("store", "append")), spec


def flags_of(parser):
    return {flag for action in parser._actions for flag in action.option_strings}


def test_parser_is_built_from_the_table():
    flags = {flag for spec in OPTION_TABLE for flag in spec.flags}
    assert flags_of(build_parser()) == flags
    assert flags - flags_of(build_parser(informational=False)) == {"-h", "--help", "--version"}


# DH_OPTIONS


def test_dh_options_are_parsed_before_the_command_line():
    options = parse("--shared-dir=/cli", DH_OPTIONS="  -a\t-Nfoo\n--shared-dir=/env -O--strict ")
    assert (options.arch, options.no_packages, options.strict) == (True, ("foo",), True)
    assert options.shared_dir == "cli"


def test_dh_options_values_accumulate_with_the_command_line():
    options = parse("-pcli", "--tag=t-cli", DH_OPTIONS="-penv --tag=t-env")
    assert options.packages == ("env", "cli")
    assert options.tags == ("t-env", "t-cli")
    assert options.explicit_packages


def test_unknown_dh_options_are_a_warning_not_an_error():
    options = parse(DH_OPTIONS="--list-missing -v --ignore=x")
    assert options.verbose
    assert options.warnings == ("ignored unknown options in DH_OPTIONS: --list-missing --ignore=x",)


def test_malformed_known_dh_option_names_dh_options():
    with pytest.raises(UsageError) as caught:
        parse(DH_OPTIONS="-v --tag")
    assert caught.value.where == "in DH_OPTIONS"


def test_dh_options_split_on_perl_whitespace_only():
    assert split_options_string(" -a\t-i\n -v ") == ["-a", "-i", "-v"]
    assert split_options_string("-a\x1e-i") == ["-a\x1e-i"]
    assert split_options_string("") == []


# DH_INTERNAL_OPTIONS


def test_internal_options_split_on_record_separator_only():
    assert split_internal_options(INTERNAL_ARCH_OVERRIDE) == [
        f"-O--tag={TAG}", "-O-O-v", "-Ndemo-indep", "-a",
    ]  # fmt: skip
    assert split_internal_options("-a b\x1e\x1e-v") == ["-a b", "-v"]
    assert split_internal_options("") == []


def test_arch_override_selection_becomes_an_exclusion_not_a_request():
    options = parse(DH_INTERNAL_OPTIONS=INTERNAL_ARCH_OVERRIDE)
    assert options.internal_selection == PackageSelection(arch=True)
    assert (options.arch, options.indep, options.packages, options.explicit_packages) == (
        False, False, (), False,
    )  # fmt: skip
    assert options.no_packages == ("demo-indep",)
    assert options.tags == (TAG,)
    assert options.verbose


def test_indep_override_selection():
    options = parse(DH_INTERNAL_OPTIONS=INTERNAL_INDEP_OVERRIDE)
    assert options.internal_selection == PackageSelection(indep=True)
    assert not options.indep


def test_plain_override_carries_only_the_o_options():
    options = parse(DH_INTERNAL_OPTIONS=INTERNAL_PLAIN_OVERRIDE)
    assert not options.internal_selection
    assert (options.tags, options.verbose, options.no_packages) == ((TAG,), True, ())


def test_internal_packages_stay_apart_from_command_line_packages():
    options = parse("-pdemo-arch", DH_INTERNAL_OPTIONS="-pdemo-indep\x1e-pdemo-arch")
    assert options.internal_selection == PackageSelection(packages=("demo-indep", "demo-arch"))
    assert options.packages == ("demo-arch",)


def test_internal_options_are_overridden_by_dh_options_and_the_command_line():
    options = parse(
        "--shared-dir=/cli",
        DH_INTERNAL_OPTIONS="--shared-dir=/internal\x1e-P\x1edebian/internal",
        DH_OPTIONS="--shared-dir=/env",
    )
    assert options.shared_dir == "cli"
    assert options.tmpdir == "debian/internal"


def test_unknown_internal_options_are_a_warning():
    options = parse(DH_INTERNAL_OPTIONS="--list-missing\x1e-v")
    assert options.verbose
    assert options.warnings == ("ignored unknown options in DH_INTERNAL_OPTIONS: --list-missing",)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["-X.la", "--exclude=_debug", "-X", "tests/"], {"exclude": (".la", "_debug", "tests/")}),
        (["--remaining-packages"], {"remaining_packages": True}),
        (["--mainpackage=python3-demo"], {"mainpackage": "python3-demo"}),
        (["-s"], {"same_arch": True}),
        (["--same-arch"], {"same_arch": True}),
    ],
)
def test_debhelpers_common_options_are_known(argv, expected):
    assert parse(*argv) == Options(**expected)
    assert parse(DH_OPTIONS=" ".join(argv)) == Options(**expected)


# DH_VERBOSE, DH_NO_ACT


@pytest.mark.parametrize(
    ("value", "verbose"),
    [("1", True), ("yes", True), ("0", True), ("", False), (None, False)],
)
def test_dh_verbose_is_any_non_empty_value_like_dh_lib(value, verbose):
    environ = {} if value is None else {"DH_VERBOSE": value}
    assert parse_command_line([], environ).verbose is verbose


@pytest.mark.parametrize(("value", "no_act"), [("1", True), ("0", True), ("", False), (None, False)])
def test_dh_no_act_is_any_non_empty_value_like_dh_lib(value, no_act):
    environ = {} if value is None else {"DH_NO_ACT": value}
    assert parse_command_line([], environ).no_act is no_act


def test_empty_tmpdir_means_the_default_like_dh_lib():
    assert parse("-P", "").tmpdir is None
