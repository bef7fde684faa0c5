"""The records pyshared-scan passes between its modules: one binary package's control
fields, a scanned package as the cross-package checks keep it, a finding; and the text of
names and errors as they are stored.

DebControl, ScannedPackage and Finding are namedtuples; the functions here build them
from control fields and compare two packages' relation fields.  The names are not
dh_pyshared's: control.Control is a source package's debian/control, relations.Owner
one entry of the owner index its relations are computed from.  Which finding codes
exist is codes.py's.
"""

import functools
import re
from collections import namedtuple

# One finding: `path` in the package, or the .deb's file name for unreadable-deb; `deb`: where
# the package was read (a .deb, a tree, a Contents index).
Finding = namedtuple("Finding", ("package", "version", "source", "path", "code", "detail", "deb"))
# A scanned package, who ships a path: what the cross-package checks keep of it.  `deb`: where
# it was read; `declared`: the names its Conflicts and Replaces fields name; `provides`: the
# names its Provides field gives.
ScannedPackage = namedtuple(
    "ScannedPackage",
    ("package", "version", "source", "deb", "declared", "provides"),
    defaults=(frozenset(), frozenset()),
)
# The control fields of one binary package (a .deb's control.tar, a tree's DEBIAN/control, a
# Packages paragraph), as deb_control_of checks and reduces them.
DebControl = namedtuple(
    "DebControl",
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


# Debian policy 5.6.1, 5.6.7, 5.6.12: what the names and versions written in the outputs may hold.
_PACKAGE_NAME = re.compile(r"[a-z0-9][a-z0-9+.-]+\Z")
_VERSION = re.compile(r"[A-Za-z0-9.+~:-]+\Z")


def deb_control_of(fields):
    """A DebControl from control fields (a .deb's, a tree's DEBIAN/control, a Packages paragraph):
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
    return DebControl(
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
