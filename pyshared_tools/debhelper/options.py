"""The option table (data), the argparse parser built from it, and debhelper's
ways of passing options: ``DH_INTERNAL_OPTIONS``, ``DH_OPTIONS``, ``-O``,
``DH_VERBOSE`` and ``DH_NO_ACT``.

Sources are read in debhelper's order, later ones overriding earlier ones:
``DH_INTERNAL_OPTIONS``, then ``DH_OPTIONS``, then the command line; inside
each source the ``-O`` values are applied after the source's own options.
"""

import argparse
import posixpath
import re
from collections import namedtuple
from collections.abc import Mapping, Sequence

from pyshared_tools import SHARED_DIR, __version__
from pyshared_tools import TOOL_NAME as PROG
from pyshared_tools.errors import UsageError

DEBHELPER_GROUP = "debhelper"
TOOL_GROUP = "tool"
DEFAULT_SHARED_DIR = "/" + SHARED_DIR

# dh joins the entries of DH_INTERNAL_OPTIONS with an ASCII record separator.
INTERNAL_OPTIONS_SEPARATOR = "\x1e"

PERL_WHITESPACE = re.compile(r"[ \t\n\r\f\v]+")

SEE_HELP = "see dh_pyshared --help"


class OptionSpec(
    namedtuple(
        "OptionSpec",
        (
            "flags",  # tuple[str, ...]
            "dest",  # str
            "action",  # str
            "group",  # str
            "help",  # str
            "metavar",  # str | None
            "default",  # object
        ),
        defaults=(None, None),
    )
):
    """One row of the option table; ``help`` is a complete sentence for the man page."""

    __slots__ = ()


OPTION_TABLE = (
    OptionSpec(
        flags=("-p", "--package"),
        dest="packages",
        action="append",
        metavar="PACKAGE",
        group=DEBHELPER_GROUP,
        help="Act on the named binary package; repeat the option to act on several packages.",
    ),
    OptionSpec(
        flags=("-N", "--no-package"),
        dest="no_packages",
        action="append",
        metavar="PACKAGE",
        group=DEBHELPER_GROUP,
        help="Do not act on the named binary package, even if another option selects it.",
    ),
    OptionSpec(
        flags=("-a", "--arch"),
        dest="arch",
        action="store_true",
        group=DEBHELPER_GROUP,
        help="Act on every architecture-dependent package that builds on the host architecture.",
    ),
    OptionSpec(
        flags=("-i", "--indep"),
        dest="indep",
        action="store_true",
        group=DEBHELPER_GROUP,
        help="Act on every architecture-independent (Architecture: all) package.",
    ),
    OptionSpec(
        flags=("-s", "--same-arch"),
        dest="same_arch",
        action="store_true",
        group=DEBHELPER_GROUP,
        help=(
            "Deprecated alias of -a, which debhelper removed in compat 12: "
            "an error from compat 12 on, a warning before."
        ),
    ),
    OptionSpec(
        flags=("--remaining-packages",),
        dest="remaining_packages",
        action="store_true",
        group=DEBHELPER_GROUP,
        help=(
            "Do not act on the packages dh_pyshared has already acted on, those whose "
            "debian/PACKAGE.debhelper.log lists it (written when dh_pyshared runs from an override target)."
        ),
    ),
    OptionSpec(
        flags=("--mainpackage",),
        dest="mainpackage",
        action="store",
        metavar="PACKAGE",
        group=DEBHELPER_GROUP,
        help=(
            "Accepted as by every debhelper command; it changes nothing, as dh_pyshared "
            "reads no debian/PACKAGE.foo configuration files."
        ),
    ),
    OptionSpec(
        flags=("-X", "--exclude"),
        dest="exclude",
        action="append",
        metavar="ITEM",
        group=DEBHELPER_GROUP,
        help=(
            "Leave every file and link whose path in the package tree contains ITEM where it is, "
            "untouched (not moved, renamed, removed or fixed); an excluded extension still counts "
            "for pyshared:Depends; repeat the option to exclude several items."
        ),
    ),
    OptionSpec(
        flags=("-P", "--tmpdir"),
        dest="tmpdir",
        action="store",
        metavar="DIR",
        group=DEBHELPER_GROUP,
        help=(
            "Use DIR as the package build directory instead of debian/PACKAGE; "
            "this is only allowed when acting on a single package."
        ),
    ),
    OptionSpec(
        flags=("-v", "--verbose"),
        dest="verbose",
        action="store_true",
        group=DEBHELPER_GROUP,
        help="Print every change to the package tree as it is made.",
    ),
    OptionSpec(
        flags=("--no-act",),
        dest="no_act",
        action="store_true",
        group=DEBHELPER_GROUP,
        help="Print what would be done without changing anything.",
    ),
    OptionSpec(
        flags=("-n", "--no-scripts"),
        dest="no_scripts",
        action="store_true",
        group=DEBHELPER_GROUP,
        help="Do not write maintainer-script snippets (debian/PACKAGE.SCRIPT.debhelper).",
    ),
    OptionSpec(
        flags=("-O",),
        dest="deferred_options",
        action="append",
        metavar="OPTION",
        group=DEBHELPER_GROUP,
        help=(
            "Apply OPTION if dh_pyshared knows it and ignore it silently otherwise; "
            "dh passes its own options to every command this way."
        ),
    ),
    OptionSpec(
        flags=("--tag",),
        dest="tags",
        action="append",
        metavar="TAG",
        group=TOOL_GROUP,
        help=(
            "Use the ABI tag TAG (for example cpython-311-x86_64-linux-gnu, abi3, or abi3t from "
            "Python 3.15 on) instead of asking the installed interpreters which tags they import; "
            "repeat the option for several tags."
        ),
    ),
    OptionSpec(
        flags=("--shared-dir",),
        dest="shared_dir",
        action="store",
        metavar="DIR",
        default=DEFAULT_SHARED_DIR,
        group=TOOL_GROUP,
        help=(
            "Move modules into the absolute directory DIR inside each package tree "
            f"(default: {DEFAULT_SHARED_DIR})."
        ),
    ),
    OptionSpec(
        flags=("--contents",),
        dest="contents",
        action="append",
        metavar="FILE",
        group=TOOL_GROUP,
        help=(
            "Read which other packages ship files in the package's module directories from the "
            "Contents index FILE (as the mirror has it or apt-file keeps it in /var/lib/apt/lists: "
            "gzip, xz, bzip2, lz4, zstd or plain; a file that is not a Contents index is an error), for "
            "pyshared:Breaks, pyshared:Replaces and pyshared:Conflicts; repeat the option for several."
        ),
    ),
    OptionSpec(
        flags=("--dpkg-database",),
        dest="dpkg_database",
        action="store_true",
        group=TOOL_GROUP,
        help=(
            "Read the same from the dpkg database of the build system ($DPKG_ADMINDIR, "
            "default /var/lib/dpkg), bounding each relation by the installed version."
        ),
    ),
    OptionSpec(
        flags=("--fix-libpython",),
        dest="fix_libpython",
        action="store_true",
        group=TOOL_GROUP,
        help=(
            "Drop the DT_NEEDED entry for libpython3.X from every extension module linked against it "
            "(with patchelf), instead of warning about it."
        ),
    ),
    OptionSpec(
        flags=("--json",),
        dest="json",
        action="store_true",
        group=TOOL_GROUP,
        help="Print the plan as JSON on standard output instead of as text.",
    ),
    OptionSpec(
        flags=("--strict",),
        dest="strict",
        action="store_true",
        group=TOOL_GROUP,
        help="Treat every warning as an error, and compile every placed .py file as Python 3 "
        "before the move (by default only those from outside a Python 3 install).",
    ),
    OptionSpec(
        flags=("-h", "--help"),
        dest="help",
        action="help",
        group=TOOL_GROUP,
        help="Print a summary of the options and exit.",
    ),
    OptionSpec(
        flags=("--version",),
        dest="version",
        action="version",
        group=TOOL_GROUP,
        help="Print the version of dh_pyshared and exit.",
    ),
)

INFORMATIONAL_ACTIONS = ("help", "version")
VALUE_FLAGS = frozenset(
    flag for spec in OPTION_TABLE if spec.action in ("store", "append") for flag in spec.flags
)


class PackageSelection(
    namedtuple(
        "PackageSelection",
        (
            "packages",  # tuple[str, ...]
            "arch",  # bool
            "indep",  # bool
        ),
        defaults=((), False, False),
    )
):
    """The -p/-a/-i choice dh made for an override target (via DH_INTERNAL_OPTIONS).

    debhelper does not act on these packages because of it; it excludes every
    package outside the selection, so -p on the command line can narrow it.
    """

    __slots__ = ()

    def __bool__(self):
        return bool(self.packages) or self.arch or self.indep


_OPTION_DEFAULTS = {
    "packages": (),  # tuple[str, ...]
    "no_packages": (),  # tuple[str, ...]
    "arch": False,
    "indep": False,
    "same_arch": False,
    "remaining_packages": False,
    "mainpackage": None,  # str | None
    "exclude": (),  # tuple[str, ...]
    "tmpdir": None,  # str | None
    "verbose": False,
    "no_act": False,
    "tags": (),  # tuple[str, ...]
    "shared_dir": SHARED_DIR,
    "json": False,
    "no_scripts": False,
    "contents": (),  # tuple[str, ...]
    "dpkg_database": False,
    "strict": False,
    "fix_libpython": False,
    "explicit_packages": False,
    "internal_selection": PackageSelection(),
    "warnings": (),  # tuple[str, ...]
}


Options = namedtuple("Options", tuple(_OPTION_DEFAULTS), defaults=tuple(_OPTION_DEFAULTS.values()))


class _ParserError(Exception):
    pass


class _RaisingArgumentParser(argparse.ArgumentParser):
    def error(self, message):
        raise _ParserError(message)


def build_parser(*, informational=True):
    """Build the argparse parser from OPTION_TABLE.

    With ``informational=False`` the parser has no --help/--version, so that
    ``-O--help`` or ``DH_OPTIONS=--help`` cannot print and exit.
    """
    parser = _RaisingArgumentParser(
        prog=PROG,
        description="Move Python modules of Debian packages into one shared directory.",
        add_help=False,
        allow_abbrev=False,
    )
    groups = {
        DEBHELPER_GROUP: parser.add_argument_group("common debhelper options"),
        TOOL_GROUP: parser.add_argument_group("dh_pyshared options"),
    }
    for spec in OPTION_TABLE:
        if spec.action in INFORMATIONAL_ACTIONS and not informational:
            continue
        arguments = {"action": spec.action, "help": spec.help}
        if spec.action == "version":
            arguments["version"] = f"{PROG} {__version__}"
        else:
            arguments["dest"] = spec.dest
        if spec.metavar:
            arguments["metavar"] = spec.metavar
        if spec.default is not None:
            arguments["default"] = spec.default
        groups[spec.group].add_argument(*spec.flags, **arguments)
    return parser


def split_internal_options(value):
    """Split DH_INTERNAL_OPTIONS like Dh_Getopt (on \\x1e); empty entries carry nothing."""
    return [entry for entry in value.split(INTERNAL_OPTIONS_SEPARATOR) if entry]


def split_options_string(value):
    """Split DH_OPTIONS on Perl's whitespace; str.split() would also split on \\x1c-\\x1f."""
    return [word for word in PERL_WHITESPACE.split(value) if word]


def _attach_separate_values(args):
    """Join ``-O --strict`` into ``-O--strict``: Getopt::Long takes the next
    word as the value even when it starts with a dash, argparse refuses it."""
    joined = []
    position = 0
    while position < len(args):
        arg = args[position]
        if arg == "--":
            joined.extend(args[position:])
            break
        following = args[position + 1] if position + 1 < len(args) else None
        if arg in VALUE_FLAGS and following is not None and following.startswith("-"):
            separator = "=" if arg.startswith("--") else ""
            joined.append(arg + separator + following)
            position += 2
        else:
            joined.append(arg)
            position += 1
    return joined


def _apply_deferred(parser, value, namespace):
    """Apply one -O value if it parses as known options, else leave namespace
    unchanged; the -O values inside it after it, depth first, without recursion
    (DH_OPTIONS may nest -O=-O=... thousands deep)."""
    pending = [value]
    while pending:
        trial = argparse.Namespace(**vars(namespace))
        trial.deferred_options = []
        try:
            trial, unknown = parser.parse_known_args([pending.pop()], trial)
        except _ParserError:
            continue
        if unknown:
            continue
        nested, trial.deferred_options = trial.deferred_options, []
        namespace = trial
        pending.extend(reversed(nested))
    return namespace


def _parse_source(parser, deferred_parser, args, namespace, where):
    """Parse one option source into namespace; return (namespace, unknown words)."""
    namespace.deferred_options = []
    try:
        namespace, unknown = parser.parse_known_args(_attach_separate_values(args), namespace)
    except _ParserError as error:
        raise UsageError(str(error), where, SEE_HELP) from None
    deferred, namespace.deferred_options = namespace.deferred_options, []
    for value in deferred:
        namespace = _apply_deferred(deferred_parser, value, namespace)
    return namespace, unknown


def _unique(values):
    return tuple(dict.fromkeys(values or ()))


def _tree_relative_shared_dir(shared_dir):
    if not shared_dir.startswith("/"):
        raise UsageError(
            f"--shared-dir {shared_dir!r} is not an absolute path",
            "in the options",
            f"give the directory as installed, for example --shared-dir={DEFAULT_SHARED_DIR}",
        )
    relative = posixpath.normpath(shared_dir).lstrip("/")
    if relative in ("", "."):
        raise UsageError(
            "--shared-dir must not be the root directory",
            "in the options",
            f"give a directory such as {DEFAULT_SHARED_DIR}",
        )
    from pyshared_tools.rules import layouts

    overlap = None if relative == SHARED_DIR else layouts.overlapping_place(relative)
    if overlap is not None:
        depth, place_depth = relative.count("/"), overlap.count("/")
        how = "contains" if depth < place_depth else "is" if depth == place_depth else "lies inside"
        raise UsageError(
            f"--shared-dir {shared_dir} {how} the place {overlap} that dh_pyshared dissolves or reads",
            "in the options",
            f"give a directory apart from every old module place, such as {DEFAULT_SHARED_DIR}",
        )
    return relative


_CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f]")


def _refuse_control_characters(values):
    """Option values reach file names and the one-line messages: no control characters."""
    for flag, items in values:
        for item in items:
            if isinstance(item, str) and _CONTROL_CHARACTER.search(item):
                raise UsageError(
                    f"{flag} {item!r} contains a control character",
                    "in the options",
                    f"give {flag} without it",
                )


def _is_set(environ, name):
    return environ.get(name, "") != ""


def parse_command_line(argv: Sequence[str], environ: Mapping[str, str]) -> Options:
    """Parse ``argv`` (without the program name) together with debhelper's variables.

    Unknown options are an error on the command line, a warning in
    DH_OPTIONS and DH_INTERNAL_OPTIONS (returned in ``Options.warnings``, as
    debhelper only warns there) and silently ignored inside -O.
    """
    environment_parser = build_parser(informational=False)
    warnings = []

    internal_words = split_internal_options(environ.get("DH_INTERNAL_OPTIONS", ""))
    namespace, unknown = _parse_source(
        environment_parser, environment_parser, internal_words, argparse.Namespace(), "in DH_INTERNAL_OPTIONS"
    )
    if unknown:
        warnings.append("ignored unknown options in DH_INTERNAL_OPTIONS: " + " ".join(unknown))
    internal_selection = PackageSelection(_unique(namespace.packages), namespace.arch, namespace.indep)
    namespace.packages, namespace.arch, namespace.indep = None, False, False

    namespace, unknown = _parse_source(
        environment_parser,
        environment_parser,
        split_options_string(environ.get("DH_OPTIONS", "")),
        namespace,
        "in DH_OPTIONS",
    )
    if unknown:
        warnings.append("ignored unknown options in DH_OPTIONS: " + " ".join(unknown))

    namespace, unknown = _parse_source(
        build_parser(), environment_parser, list(argv), namespace, "on the command line"
    )
    if unknown:
        kind = "unknown option" if unknown[0].startswith("-") else "unexpected argument"
        raise UsageError(f"{kind} {unknown[0]}", "on the command line", SEE_HELP)

    packages = _unique(namespace.packages)
    _refuse_control_characters(
        (
            ("--tag", namespace.tags or ()),
            ("--shared-dir", (namespace.shared_dir,)),
            ("-P/--tmpdir", (namespace.tmpdir,)),
            ("-p/--package", packages + internal_selection.packages),
            ("-N/--no-package", namespace.no_packages or ()),
            ("--contents", namespace.contents or ()),
        )
    )
    return Options(
        packages=packages,
        no_packages=_unique(namespace.no_packages),
        arch=namespace.arch,
        indep=namespace.indep,
        same_arch=namespace.same_arch,
        remaining_packages=namespace.remaining_packages,
        mainpackage=namespace.mainpackage or None,
        exclude=tuple(item for item in _unique(namespace.exclude) if item),
        tmpdir=namespace.tmpdir or None,
        verbose=namespace.verbose or _is_set(environ, "DH_VERBOSE"),
        no_act=namespace.no_act or _is_set(environ, "DH_NO_ACT"),
        tags=_unique(namespace.tags),
        shared_dir=_tree_relative_shared_dir(namespace.shared_dir),
        json=namespace.json,
        no_scripts=namespace.no_scripts,
        contents=_unique(namespace.contents),
        dpkg_database=namespace.dpkg_database,
        strict=namespace.strict,
        fix_libpython=namespace.fix_libpython,
        explicit_packages=bool(packages),
        internal_selection=internal_selection,
        warnings=tuple(warnings),
    )
