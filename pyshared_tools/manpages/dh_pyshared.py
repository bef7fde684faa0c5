"""dh_pyshared(1) in roff, from the option table that also builds --help.

The OPTIONS section is OPTION_TABLE, in its order and groups, so the man
page and ``dh_pyshared --help`` cannot disagree; the other sections are
fixed prose here.  The Debian package runs ``python3 -m pyshared_tools.manpages.dh_pyshared``
at build time (debian/rules); nothing generated is kept in the checkout.

The roff helpers it shares with pyshared-scan(1) are in manpages/roff.py.
"""

import sys

from pyshared_tools.debhelper.options import DEBHELPER_GROUP, OPTION_TABLE, PROG, TOOL_GROUP
from pyshared_tools.manpages.roff import (
    bold,
    definitions,
    examples,
    flag,
    header,
    inline,
    italic,
    option_tag,
    paragraphs,
    placeholder,
    see_also,
    write_page,
)
from pyshared_tools.rules.layouts import promise_paths

GROUP_TITLES = {
    DEBHELPER_GROUP: "Common debhelper options",
    TOOL_GROUP: "dh_pyshared options",
}

# (title, paragraphs); a paragraph is a list of lines of roff source, or a
# string of plain text (escaped, code-like words get a real minus sign).
DESCRIPTION = (
    "dh_pyshared is a debhelper program that moves the Python modules of binary packages into "
    "the one directory that every supported interpreter imports from, under the file names "
    "(PEP 3149 tags) those interpreters import.",
    "For every selected binary package whose tree (debian/PACKAGE) holds Python modules, it finds "
    "every module wherever the build or an old helper put it: upstream installs into "
    "/usr/lib/pythonX.Y/site-packages or dist-packages and under /usr/local, the PEP 3149 draft "
    "farm, python-support, python-central and the 2010-2014 dh_python2 layout.  Python 3 modules "
    "are moved into /usr/lib/python3/dist-packages (see --shared-dir); every real extension module "
    "(an ELF file that exports PyInit_NAME, never a ctypes library that merely ends in .so) is "
    "renamed to the suffix its interpreter imports, such as NAME.cpython-311-x86_64-linux-gnu.so. "
    "Old symlink farms and their helper metadata are dissolved.  A tree that is already correct is "
    "left byte for byte alone.",
    "Nothing is changed until the plan for every package has been computed and validated.  The "
    "plan is applied through a journal in debian/.debhelper/pyshared/, so a run that was killed "
    "and is run again ends in the same tree, and a second run changes nothing.",
    "dh_pyshared writes pyshared:Depends (and, with --contents or --dpkg-database, "
    "pyshared:Breaks, pyshared:Replaces and pyshared:Conflicts) to debian/PACKAGE.substvars, and "
    "maintainer-script snippets that byte-compile the modules and remove what the old helpers "
    "made at install time to debian/PACKAGE.SCRIPT.debhelper, for dh_installdeb.",
    "Errors are printed as 'dh_pyshared: error: what, where, what to do' and leave every "
    "package tree untouched; warnings as 'dh_pyshared: warning: ...'.  Under "
    "Rules-Requires-Root: no, dh runs dh_pyshared as the build user: a directory the run must "
    "change but that user cannot write (such as one of mode 0555) is such an error.",
)

SEQUENCE = (
    "The dh add-on pyshared, enabled with 'dh $@ --with pyshared' or with a build dependency on "
    "dh-sequence-pyshared, runs dh_pyshared right after dh_installinit: after dh_python3 (when "
    "that is in the sequence too), and before dh_usrlocal, dh_link, dh_strip, dh_shlibdeps, and "
    "dh_installdeb and dh_gencontrol, which read what it writes.  When dh_python3 already wrote "
    "its py3compile and py3clean calls for a package, dh_pyshared writes no byte-compile block "
    "of its own for it.",
    "dh skips dh_pyshared for packages whose tree has none of "
    + ", ".join(f"/{path}" for path in promise_paths()[:-1])
    + f" and /{promise_paths()[-1]}, unless dh itself was given options: the line "
    "'PROMISE: DH NOOP WITHOUT' in the command says so.",
)

ENVIRONMENT = (
    ("DH_VERBOSE", "When set to a non-empty value, the same as --verbose."),
    ("DH_NO_ACT", "When set to a non-empty value, the same as --no-act."),
    ("DH_OPTIONS", "Options read before the command line, as by every debhelper command."),
    (
        "DH_INTERNAL_OPTIONS",
        "Options dh passes to the commands of an override target; an unknown one is a warning.",
    ),
    (
        "DEB_HOST_*, DEB_BUILD_*",
        "The build architecture as dpkg-buildpackage exports it; when one is missing, dh_pyshared runs "
        "dpkg-architecture once.  Without --tag, a DEB_HOST_MULTIARCH that differs from the build "
        "architecture's (a cross build) makes the suffixes come from a built-in per-version table "
        "instead of the installed interpreters.",
    ),
    ("DPKG_ADMINDIR", "The dpkg database read by --dpkg-database (default /var/lib/dpkg)."),
)

FILES = (
    ("debian/PACKAGE.substvars", "pyshared:Depends and, on request, the relation substitution variables."),
    (
        "debian/PACKAGE.preinst.debhelper, .postinst.debhelper, .prerm.debhelper, .postrm.debhelper",
        "The maintainer-script snippets, between debhelper's 'Automatically added by' markers.",
    ),
    ("debian/.debhelper/pyshared/", "The journal of a run in progress and the record of dissolved farms."),
    ("/usr/share/dh-pyshared/templates/", "The Jinja2 templates of the maintainer-script snippets."),
    ("/usr/share/perl5/Debian/Debhelper/Sequence/pyshared.pm", "The dh add-on."),
)

EXIT_STATUS = (
    ("0", "Success, including when there was nothing to do."),
    ("1", "An error in the package trees, debian/control, the file system or an external command."),
    ("2", "A wrong option."),
)

EXAMPLES = (
    ("With dh, in debian/rules:", ["%:", "\tdh $@ \\-\\-with pyshared"]),
    (
        "or with Build-Depends: dh-sequence-pyshared and a plain dh $@; in debian/control:",
        [
            "Depends: ${pyshared:Depends}, ${shlibs:Depends}, ${misc:Depends}",
        ],
    ),
    (
        "To give the tags instead of asking the installed interpreters:",
        [
            "override_dh_pyshared:",
            "\tdh_pyshared \\-\\-tag=cpython\\-311\\-x86_64\\-linux\\-gnu",
        ],
    ),
    ("To see the plan without changing anything:", ["dh_pyshared \\-\\-no\\-act \\-v"]),
)

SEE_ALSO = (("debhelper", 7), ("dh", 1), ("dh_python3", 1), ("dh_installdeb", 1), ("deb-substvars", 5))


def option_item(spec):
    """The .TP tag line of one option of OPTION_TABLE: -p PACKAGE, --package=PACKAGE."""
    return option_tag(spec.flags, spec.metavar)


def synopsis():
    parts = [bold(PROG), f"[{italic('debhelper options')}]"]
    for spec in OPTION_TABLE:
        if spec.group != TOOL_GROUP or spec.action in ("help", "version"):
            continue
        name = spec.flags[-1]
        item = f"{flag(name + '=')}{placeholder(spec.metavar)}" if spec.metavar else flag(name)
        parts.append(f"[{item}]" + ("\\&..." if spec.action == "append" else ""))
    return " ".join(parts)


def render(date=None):
    """The whole man page as roff source."""
    if date is None:
        date = ""
    lines = [
        *header("DH_PYSHARED", 1, date, "Debhelper"),
        ".SH NAME",
        f"{PROG} \\- move Python modules of Debian packages into one shared directory",
        ".SH SYNOPSIS",
        synopsis(),
        ".SH DESCRIPTION",
        *paragraphs(DESCRIPTION),
        '.SS "The dh sequence"',
        *paragraphs(SEQUENCE),
        ".SH OPTIONS",
    ]
    for group in (DEBHELPER_GROUP, TOOL_GROUP):
        lines.append(f'.SS "{GROUP_TITLES[group]}"')
        for spec in OPTION_TABLE:
            if spec.group == group:
                lines += [".TP", option_item(spec), inline(spec.help)]
    lines += [".SH ENVIRONMENT", *definitions(ENVIRONMENT)]
    lines += [".SH FILES", *definitions(FILES)]
    lines += ['.SH "EXIT STATUS"', *definitions(EXIT_STATUS)]
    lines += [".SH EXAMPLES", *examples(EXAMPLES)]
    lines += see_also(SEE_ALSO)
    return "\n".join(lines) + "\n"


def main(argv=None):
    return write_page(render, argv)


if __name__ == "__main__":
    sys.exit(main())
