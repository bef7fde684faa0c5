"""The findings pyshared-scan reports: their codes as data, and the records they travel in."""

import functools
import re
from collections import namedtuple

PROGRAM = "pyshared-scan"
SCHEMA = 1
SEVERITIES = ("error", "warning", "info")
DEFAULT_MAX_MEMBER_BYTES = 256 * 1024 * 1024

# code -> (severity, a rebuild of the source fixes it, meaning).  docs/scan-schema.md repeats this table.
CODES = {
    "legacy-layout": (
        "warning",
        True,
        "modules in a place that is not a home (the path is the place; the detail names the layout rule)",
    ),
    "untagged-extension": (
        "warning",
        True,
        "an extension (exports PyInit_<stem>) whose file name has no ABI tag",
    ),
    "untagged-so": (
        "warning",
        False,
        "Contents index only: a .so without ABI tag in a module place; only its .deb tells "
        "whether it is an untagged extension or a library that keeps its name",
    ),
    "not-an-extension": (
        "info",
        False,
        "a .so in a module place without PyInit_ function: dh_pyshared keeps its name",
    ),
    "stale-tag": ("warning", True, "an ABI tag no supported Python version imports"),
    "wrong-arch": (
        "error",
        True,
        "extension code for another architecture than the package's, or an "
        "extension in an Architecture: all package",
    ),
    "libpython": ("warning", True, "an extension with a DT_NEEDED entry on libpython"),
    "abi3-violation": (
        "error",
        True,
        "an abi3 extension importing symbols outside the stable ABI of the lowest supported version",
    ),
    "init-mismatch": ("error", True, "an extension exporting PyInit_<other> but not PyInit_<stem>"),
    "corrupt-elf": ("error", True, "a .so in a module place whose ELF tables are truncated or corrupt"),
    "path-collision": (
        "error",
        True,
        "the same file path (not a directory) in a module place of two packages that do not declare it "
        "(Conflicts or Replaces on the other, or on a name it Provides)",
    ),
    "module-clash": (
        "error",
        True,
        "the same module under two file names one interpreter imports, in two packages that do not "
        "declare it; the detail gives the Conflicts + Replaces dh_pyshared writes",
    ),
    "unreadable-deb": (
        "error",
        False,
        "a truncated or corrupt .deb (every compressed stream is read to its end), one with an unknown "
        "compression, one beyond the limits of a sane .deb or with control fields Debian does not allow, "
        "one missing from the pool or differing from its Packages index; nothing else is judged from it, "
        "and the scan goes on with the other files",
    ),
    "unsafe-member": (
        "error",
        True,
        "a data.tar member name (or a tree's file name) that is absolute, contains '..' or is not UTF-8 "
        "(never used as a path; shown with its bytes escaped)",
    ),
    "huge-member": ("warning", False, "a .so in a module place larger than --max-member-bytes: not read"),
    "unclaimed-pyshared": (
        "info",
        False,
        "files in /usr/share/pyshared or /usr/lib/pyshared/pythonX.Y without a farm link or helper "
        "metadata: no Python helper made them, dh_pyshared leaves them where they are (the path is "
        "the place)",
    ),
}

Finding = namedtuple("Finding", ("package", "version", "source", "path", "code", "detail", "deb"))
# Who ships a path: what the cross-package checks keep of one package.  `declared`: the names
# its Conflicts and Replaces fields name; `provides`: the names its Provides field gives.
Owner = namedtuple(
    "Owner",
    ("package", "version", "source", "deb", "declared", "provides"),
    defaults=(frozenset(), frozenset()),
)
Control = namedtuple(
    "Control",
    ("package", "version", "architecture", "source", "declared", "provides"),
    defaults=(frozenset(), frozenset()),
)


def finding_of(owner, path, code, detail):
    return Finding(owner.package, owner.version, owner.source, path, code, detail, owner.deb)


def error_text(error):
    """An exception as a finding's detail: 'Type: message', on one line."""
    return escaped(f"{type(error).__name__}: {error}").replace("\n", " ")


def escaped(text):
    """`text` as it can be stored and printed: bytes that were not UTF-8 (surrogate escapes, as
    tarfile, os.scandir and the command line give them) shown as \\xNN."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        try:
            return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        except UnicodeEncodeError:
            return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def unclaimed_detail(rule, count):
    """The detail of a storage place no helper made (unclaimed-pyshared)."""
    return f"{count} file(s) in {rule.name} without farm links or helper metadata: left where they are"


def legacy_detail(rule, count):
    """The detail of a place's legacy-layout finding."""
    return f"{count} file(s) in layout rule {rule.name}: {rule.description}"


# The codes that make the exit status 1.
PROBLEM_CODES = tuple(code for code, (severity, _, _) in CODES.items() if severity != "info")


# Debian policy 5.6.1, 5.6.7, 5.6.12: what the names and versions written in the outputs may hold.
_PACKAGE_NAME = re.compile(r"[a-z0-9][a-z0-9+.-]+\Z")
_VERSION = re.compile(r"[A-Za-z0-9.+~:-]+\Z")


def control_of(fields):
    """A Control from control fields (a .deb's, a tree's DEBIAN/control, a Packages paragraph):
    the source is Source without its '(version)', else the package.  ValueError when Package,
    Source or Version is not one Debian allows (they are written in line-oriented outputs)."""
    package = fields.get("Package", "")
    source_field = fields.get("Source", package)
    source, _, source_version = source_field.partition(" ")
    in_parentheses = source_version[1:-1] if source_version[:1] + source_version[-1:] == "()" else ""
    if source_version and not _VERSION.match(in_parentheses):
        raise ValueError(f"the Source field {escaped(source_field)!r} is not 'source' or 'source (version)'")
    for name, value, pattern in (
        ("Package", package, _PACKAGE_NAME),
        ("Source", source, _PACKAGE_NAME),
        ("Version", fields.get("Version", ""), _VERSION),
    ):
        if not pattern.match(value):
            raise ValueError(f"the {name} field {escaped(value)!r} is not a Debian {name.lower()}")
    declared = relation_names(fields.get("Conflicts", "")) | relation_names(fields.get("Replaces", ""))
    provides = relation_names(fields.get("Provides", ""))
    return Control(
        package, fields.get("Version", ""), fields.get("Architecture", ""), source, declared, provides
    )


def relation_names(text):
    """The package names a relation field names: 'a (<< 1), b | c:any' -> {a, b, c}, by
    python-debian's PkgRelation (a part it cannot parse is named as it is)."""
    if not text.strip():  # most fields: no python-debian call, and no warning for ""
        return frozenset()
    return frozenset(
        relation["name"]
        for alternatives in _parse_relations()(text)
        for relation in alternatives
        if relation["name"].strip()
    )


@functools.cache
def _parse_relations():
    """PkgRelation.parse_relations, its warnings about unparsable parts silenced (they went
    nowhere before either; a NullHandler keeps logging's last resort off stderr)."""
    import logging

    from pyshared_tools.lazy import deb822

    logging.getLogger("debian.deb822").addHandler(logging.NullHandler())
    return deb822().PkgRelation.parse_relations


def declared_to_dpkg(one, other):
    """Whether two owners declare their overlap: one Conflicts with or Replaces the other (by
    name or a name it Provides).  dpkg then never lets both own one path, or hands it over;
    the versions are not compared."""
    return bool(
        one.declared & (other.provides | {other.package}) or other.declared & (one.provides | {one.package})
    )
