"""pyshared:Breaks, pyshared:Replaces and pyshared:Conflicts.

Who else ships, or shipped, a path comes from an owner index: the siblings
planned in this run (debian/control), a Contents index (``--contents``, the
format apt-file downloads) and the build system's dpkg database
(``--dpkg-database``).  Two rules, as data in RULES:

* takeover: a path this package ships is another package's.  Versioned
  Breaks + Replaces (Policy 7.6.1): a sibling of this source ``(<< V)`` with V
  this source version; an installed package ``(<= W)`` with W its version.
  An archive package of another source that Contents names without a version
  cannot get a correct bound: a warning says what to add by hand.
* another name: another package ships one of our modules under another file
  name (foo.so against foo.cpython-311-x86_64-linux-gnu.so), which dpkg cannot
  see: Conflicts + Replaces (Policy 7.6.2), versioned as above, unversioned for
  an archive package.

A relation that could break the control file (a name or version outside
Debian's syntax: commas, newlines, spaces) is refused, never written.
"""

import os
import posixpath

from pyshared_tools.debhelper.control import PACKAGE_NAME
from pyshared_tools.errors import CollisionError, PysharedError, UsageError
from pyshared_tools.lazy import pattern

BREAKS = "pyshared:Breaks"
REPLACES = "pyshared:Replaces"
CONFLICTS = "pyshared:Conflicts"

VERSION_TAG = pattern(r"\.cpython-(?P<digits>\d+)(?P<debug>d?)[a-z]*(?:-[^./]+)?\.so$")

# rule -> (substvars it writes, how an owner of each kind is bounded)
RULES = {
    "takeover": ((BREAKS, REPLACES), {"sibling": "<<", "installed": "<=", "archive": None}),
    "another-name": ((CONFLICTS, REPLACES), {"sibling": "<<", "installed": "<=", "archive": ""}),
}


class Owner:
    __slots__ = ("kind", "package", "version")

    def __init__(self, package, kind, version=None):
        self.package = package
        self.kind = kind  # sibling (same source), installed (dpkg database), archive (Contents)
        self.version = version


class OwnerIndex:
    """Absolute path -> owners, limited to the directories asked about."""

    def __init__(self):
        self.by_path = {}

    def add(self, path, owner):
        self.by_path.setdefault(path, []).append(owner)

    def in_directory(self, directory):
        prefix = directory.rstrip("/") + "/"
        for path, owners in self.by_path.items():
            if path.startswith(prefix) and "/" not in path[len(prefix) :]:
                yield path, owners


# A Contents line: the path, whitespace, then [AREA/]SECTION/PACKAGE[,...].
_LOCATION = r"[^\s,/]+(?:/[^\s,/]+)+"
CONTENTS_LINE = pattern(rf"\S.*?[ \t]+{_LOCATION}(?:,{_LOCATION})*")
# Old Contents files began with free text up to this line.
CONTENTS_HEADER_END = pattern(r"FILE[ \t]+LOCATION")
CONTENTS_HEADER_LINES = 64


def read_contents(path, directories, siblings, index):
    """Add the owners a Contents index gives for files in `directories`.

    Any compression pyshared-scan reads (archive.compression: gzip, xz, bzip2,
    lz4 as apt-file keeps it, zstd, plain).  A file that is not a Contents
    index is refused: its first line after the optional header of old
    Contents files, and every line naming a wanted directory, must read
    ``path<whitespace>[area/]section/package[,...]``.
    """
    import io

    from pyshared_tools.indexes import open_index

    wanted = {d.lstrip("/") for d in directories}
    what = "Contents index"
    try:
        with open_index(path, what) as stream:
            handle = io.TextIOWrapper(stream, encoding="utf-8", errors="surrogateescape", newline="\n")
            head = []
            checked = False
            for number, line in enumerate(handle, 1):
                line = line.rstrip("\n")
                if not checked:
                    if CONTENTS_HEADER_END.fullmatch(line.rstrip()) and number <= CONTENTS_HEADER_LINES:
                        head = []
                        continue
                    head.append((number, line))
                    if CONTENTS_LINE.fullmatch(line):
                        if len(head) > 1:
                            _not_contents(path, *head[0])
                        checked = True
                    elif number >= CONTENTS_HEADER_LINES:
                        _not_contents(path, *head[0])
                    else:
                        continue
                name, _, locations = line.rpartition(" ")
                name = name.rstrip(" \t")
                if not name or posixpath.dirname(name.lstrip("/")) not in wanted:
                    continue
                if not CONTENTS_LINE.fullmatch(line):
                    _not_contents(path, number, line)
                for location in locations.split(","):
                    package = location.rsplit("/", 1)[-1]
                    kind = "sibling" if package in siblings else "archive"
                    index.add("/" + name.lstrip("/"), Owner(package, kind))
            if head and not checked:
                _not_contents(path, *head[0])
    except PysharedError:
        raise
    except Exception as error:  # corrupt data: each decompressor raises its own (OSError, EOFError,
        # lzma.LZMAError, RuntimeError from lz4, zstandard.ZstdError)
        reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
        raise UsageError(
            f"cannot read --contents {path}: {reason}", path, "give a readable Contents index"
        ) from None


def _not_contents(path, number, line):
    shown = line if len(line) <= 60 else line[:57] + "..."
    raise UsageError(
        f"--contents {path} is not a Contents index (line {number}: {shown!r})",
        f"{path} line {number}",
        "give a Contents-ARCH file as the mirror or apt-file (/var/lib/apt/lists) has it",
    )


def read_dpkg_database(admindir, directories, siblings, index):
    """Add the owners the dpkg database gives for files in `directories`."""
    versions = _installed_versions(os.path.join(admindir, "status"))
    wanted = {d.rstrip("/") for d in directories}
    info = os.path.join(admindir, "info")
    for entry in sorted(os.listdir(info)):
        if not entry.endswith(".list"):
            continue
        package = entry[: -len(".list")].split(":", 1)[0]
        with open(os.path.join(info, entry), encoding="utf-8", errors="surrogateescape") as handle:
            for line in handle:
                path = line.rstrip("\n")
                if posixpath.dirname(path) in wanted:
                    kind = "sibling" if package in siblings else "installed"
                    index.add(path, Owner(package, kind, versions.get(package)))


def _installed_versions(status_path):
    """Package -> Version of a dpkg status file, read by python-debian (imported here only:
    --dpkg-database is not the common path)."""
    from pyshared_tools.lazy import deb822

    Deb822 = deb822().Deb822
    versions = {}
    with open(status_path, encoding="utf-8", errors="surrogateescape") as handle:
        for paragraph in Deb822.iter_paragraphs(handle, use_apt_pkg=False):
            package, version = paragraph.get("Package"), paragraph.get("Version")
            if package and version:
                versions[package] = version
    return versions


def module_of(name):
    """The module a file name is ('foo' of foo.py, foo.so, foo.cpython-311-x86_64-linux-gnu.so),
    or None.  No regular expression: pyshared-scan asks it of every line of a Contents index."""
    if not name.endswith((".py", ".so")) or "/" in name:
        return None
    module = name.partition(".")[0]
    return module or None


def module_key(path):
    directory, name = posixpath.split(path)
    module = module_of(name)
    return (directory, module) if module else None


def _importers(path):
    """Which interpreters import a module file: None for every one (.py, untagged .so, abi3),
    else (version digits, debug build)."""
    match = VERSION_TAG.search(posixpath.basename(path))
    return (match["digits"], bool(match["debug"])) if match else None


def names_clash(path, other):
    """Whether two file names of one module are imported by one interpreter, so that one hides the
    other.  A file only a debug build imports (a -dbg package's '.cpython-311d-*.so') hides the
    release files by design, and files for two different versions never meet."""
    ours, theirs = _importers(path), _importers(other)
    if ours is None and theirs is None:
        return True
    if ours is None or theirs is None:
        _, debug_only = ours or theirs
        return not debug_only
    return ours == theirs


def relations(package, version, shipped, index, sibling_paths=None):
    """({substvar: [relation]}, [warning]) for a package shipping `shipped`
    (absolute module paths in its final tree)."""
    found = {}
    by_hand = {}  # archive owner -> paths of ours it ships: one warning per owner
    sibling_paths = sibling_paths or {}
    for sibling, paths in sorted(sibling_paths.items()):
        both = sorted(set(paths) & set(shipped))
        if both:
            raise CollisionError(
                "two binary packages of this source ship the same file",
                f"{both[0]} in {package} and {sibling}",
                "install it into only one of them",
            )
    by_key = {}
    for path in shipped:
        key = module_key(path)
        if key:
            by_key.setdefault(key, set()).add(path)
    for path in sorted(shipped):
        for owner in index.by_path.get(path, ()):
            if owner.package != package:
                _relate(found, by_hand, "takeover", owner, version, path)
    for directory in sorted({key[0] for key in by_key}):
        for path, owners in index.in_directory(directory):
            key = module_key(path)
            if key not in by_key or path in by_key[key]:
                continue
            hidden = sorted(ours for ours in by_key[key] if names_clash(ours, path))
            for owner in owners if hidden else ():
                if owner.package != package:
                    _relate(found, by_hand, "another-name", owner, version, path, hidden[0])
    warnings = [_by_hand_warning(package, owner, paths) for owner, paths in sorted(by_hand.items())]
    return {name: sorted(values) for name, values in found.items()}, warnings


def _by_hand_warning(package, owner, paths):
    """One warning per archive owner, listing every path of ours it ships."""
    paths = sorted(set(paths))
    count = "1 path" if len(paths) == 1 else f"{len(paths)} paths"
    return (
        f"{owner} also ships {count} of {package} (Contents index), {' '.join(paths)}, "
        f"add 'Breaks: {owner} (<< V), Replaces: {owner} (<< V)' by hand, "
        f"V being the first version of {owner} without them"
    )


def _relate(found, by_hand, rule, owner, version, path, ours=None):
    substvars, bounds = RULES[rule]
    operator = bounds[owner.kind]
    bound = version if owner.kind == "sibling" else owner.version
    if operator is None:
        by_hand.setdefault(owner.package, []).append(path)
        return
    _check_name(owner.package, path)
    if operator and bound:
        _check_version(bound, owner.package)
        relation = f"{owner.package} ({operator} {bound})"
    else:
        relation = owner.package
    for substvar in substvars:
        found.setdefault(substvar, set()).add(relation)


def _check_name(package, path):
    if not PACKAGE_NAME.fullmatch(package):
        raise UsageError(
            f"refusing to write the relation {package!r}: not a valid package name",
            f"owner of {path}",
            "fix the Contents index or dpkg database it came from",
        )


def _valid_version(version):
    """Whether python-debian's Version parses it (its pattern ends in $, which a final newline
    passes), and its upstream part starts with a digit (Policy 5.6.12)."""
    from pyshared_tools.lazy import import_deferring

    debian_support = import_deferring("debian.debian_support", missing=("apt_pkg",))
    if "\n" in version:
        return False
    try:
        parsed = debian_support.Version(version)
    except ValueError:
        return False
    return parsed.upstream_version[:1].isdigit()


def _check_version(version, package):
    if not _valid_version(version):
        raise UsageError(
            f"refusing to write the relation version {version!r}: not a valid Debian version",
            f"for {package}",
            "fix debian/changelog or the dpkg database it came from",
        )
