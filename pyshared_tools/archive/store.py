"""Findings and module paths of every package scanned, in a temporary SQLite file.

Python holds one package's record at a time; everything else is on disk, so
memory stays flat in the number of packages.  The cross-package checks run
here, once, as queries: path-collision (one path in two packages) and
module-clash (one module under two file names in two packages, with the
Conflicts + Replaces `relations` writes for it).
"""

import os
import sqlite3
import tempfile

from pyshared_tools.errors import PysharedError
from pyshared_tools.outputs import relations

from .codes import PROBLEM_CODES
from .model import Finding, ScannedPackage, declared_to_dpkg, finding_of

_SCHEMA = (
    "CREATE TABLE debs (idx INTEGER PRIMARY KEY, deb TEXT, package TEXT, version TEXT, source TEXT,"
    " declared TEXT, provides TEXT)",
    "CREATE TABLE paths (idx INTEGER, path TEXT, directory TEXT, module TEXT)",
    "CREATE TABLE findings (package TEXT, version TEXT, source TEXT, path TEXT, code TEXT, detail TEXT,"
    " deb TEXT)",
    "CREATE TABLE notes (note TEXT PRIMARY KEY, position INTEGER)",
)
_ORDER = "package, version, path, code, detail, deb"


class Store:
    def __init__(self, directory=None):
        descriptor, self.filename = tempfile.mkstemp(
            prefix="pyshared-scan-", suffix=".sqlite3", dir=directory
        )
        os.close(descriptor)
        self.connection = sqlite3.connect(self.filename)
        self.connection.execute("PRAGMA journal_mode = OFF")
        self.connection.execute("PRAGMA synchronous = OFF")
        for statement in _SCHEMA:
            self.connection.execute(statement)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        self.connection.close()
        os.unlink(self.filename)

    # --- filling --------------------------------------------------------------------------

    def add_record(self, record):
        """One package's record (judge.Judge.record), as read, cached or merged."""
        index, deb = record["index"], record["deb"]
        relations_of = (frozenset(record.get(name, ())) for name in ("declared", "provides"))
        self.add_package(
            index, ScannedPackage(record["package"], record["version"], record["source"], deb, *relations_of)
        )
        self.add_paths((index, path) for path in record["paths"])
        self.connection.executemany(
            "INSERT INTO findings VALUES (?, ?, ?, ?, ?, ?, ?)",
            ((*f, deb) for f in record["findings"]),
        )
        self.add_notes(record["notes"])

    def add_package(self, index, owner):
        self.connection.execute(
            "INSERT INTO debs VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                index,
                owner.deb,
                *owner[:3],
                " ".join(sorted(owner.declared)),
                " ".join(sorted(owner.provides)),
            ),
        )

    def add_paths(self, rows):
        """(package index, path in a module place) rows."""
        self.connection.executemany(
            "INSERT INTO paths VALUES (?, ?, ?, ?)",
            ((index, path, *(relations.module_key(path) or (None, None))) for index, path in rows),
        )

    def add_finding(self, finding):
        self.connection.execute("INSERT INTO findings VALUES (?, ?, ?, ?, ?, ?, ?)", tuple(finding))

    def add_notes(self, notes):
        self.connection.executemany(
            "INSERT OR IGNORE INTO notes VALUES (?, (SELECT COUNT(*) FROM notes))",
            ((note,) for note in notes),
        )

    # --- reading --------------------------------------------------------------------------

    def notes(self):
        return [row[0] for row in self.connection.execute("SELECT note FROM notes ORDER BY position")]

    def has_problems(self):
        """Any finding that is not informational."""
        query = f"SELECT 1 FROM findings WHERE code IN ({', '.join('?' * len(PROBLEM_CODES))}) LIMIT 1"
        return self.connection.execute(query, PROBLEM_CODES).fetchone() is not None

    def findings(self):
        """Every finding, each once, sorted; run cross_checks() first."""
        cursor = self.connection.execute(f"SELECT DISTINCT * FROM findings ORDER BY {_ORDER}")
        return (Finding(*row) for row in cursor)

    def cross_checks(self):
        """Add path-collision and module-clash findings."""
        self.connection.execute("CREATE INDEX paths_by_path ON paths (path)")
        self.connection.execute("CREATE INDEX paths_by_module ON paths (directory, module)")
        collisions = self.connection.execute(
            "SELECT path FROM paths JOIN debs USING (idx) GROUP BY path"
            " HAVING COUNT(DISTINCT package) > 1 ORDER BY path"
        )
        for (path,) in collisions:
            for owner, detail in collision_details(self._owners(path)):
                self._add(owner, path, "path-collision", detail)
        clashes = self.connection.execute(
            "SELECT directory, module FROM paths WHERE module IS NOT NULL GROUP BY directory, module"
            " HAVING COUNT(DISTINCT path) > 1 ORDER BY directory, module"
        )
        for directory, module in clashes:
            paths = [
                row[0]
                for row in self.connection.execute(
                    "SELECT DISTINCT path FROM paths WHERE directory = ? AND module = ? ORDER BY path",
                    (directory, module),
                )
            ]
            owners = {path: self._owners(path) for path in paths}
            for path in paths:
                for owner in owners[path]:
                    detail = clash_detail(module, owner, path, owners)
                    if detail:
                        self._add(owner, path, "module-clash", detail)

    def _owners(self, path):
        return [
            ScannedPackage(*row[:4], frozenset(row[4].split()), frozenset(row[5].split()))
            for row in self.connection.execute(
                "SELECT package, version, source, deb, declared, provides FROM paths JOIN debs USING (idx)"
                " WHERE path = ? ORDER BY idx",
                (path,),
            )
        ]

    def _add(self, owner, path, code, detail):
        self.add_finding(finding_of(owner, path, code, detail))


# The other packages a path-collision or module-clash detail names; the rest are counted.  Every
# owner of a path gets a finding: listing all the others in each would make the output quadratic.
MAX_LISTED = 20


def listing(names, total):
    """'a, b, c' or 'a, b, c and N more' (`names`: the first MAX_LISTED of `total`)."""
    more = f" and {total - len(names)} more" if total > len(names) else ""
    return f"{', '.join(names)}{more}"


def collision_details(owners):
    """(owner, detail) for every owner of one path shipped by another package that their relations
    do not declare to dpkg (declared_to_dpkg); the detail names the first MAX_LISTED other
    'package version', sorted, and counts the rest.  Linear in the owners and their relations."""
    by_label = {}
    for number, owner in enumerate(owners):
        label = f"{owner.package} {owner.version}" if owner.version else owner.package
        by_label.setdefault(label, []).append(number)
    labels = sorted(by_label)
    package_of = {label: owners[by_label[label][0]].package for label in labels}
    ranges, counts = {}, {}  # package -> (first, last + 1) of its labels; number of its labels
    for position, label in enumerate(labels):
        package = package_of[label]
        ranges[package] = (ranges.get(package, (position,))[0], position + 1)
        counts[package] = counts.get(package, 0) + 1
    declaring, named = {}, {}
    for number, owner in enumerate(owners):
        for name in owner.declared:
            declaring.setdefault(name, []).append(number)
        for name in owner.provides | {owner.package}:
            named.setdefault(name, []).append(number)
    label_of = {number: label for label, numbers in by_label.items() for number in numbers}
    for owner in owners:
        excluded = set()  # the owners it declares its overlap with, either way
        for name in owner.declared:
            excluded.update(named.get(name, ()))
        for name in owner.provides | {owner.package}:
            excluded.update(declaring.get(name, ()))
        hidden = {
            label
            for label in {label_of[number] for number in excluded}
            if package_of[label] != owner.package and all(number in excluded for number in by_label[label])
        }
        total = len(labels) - counts[owner.package] - len(hidden)
        if total <= 0:
            continue
        first, last = ranges[owner.package]
        names = []
        for position in _around(first, last, len(labels)):
            label = labels[position]
            if label not in hidden and package_of[label] != owner.package:
                names.append(label)
                if len(names) == MAX_LISTED:
                    break
        yield owner, f"also shipped by {listing(names, total)}"


def _around(first, last, count):
    """Positions 0..count-1 but first..last-1, lazily."""
    yield from range(first)
    yield from range(last, count)


def clash_detail(module, owner, path, owners_by_path):
    """The module-clash detail for `owner` shipping `path`: the other file names of the module in
    other packages that one interpreter imports with it (relations.names_clash), and the relations
    dh_pyshared writes; None when there is none."""
    index = relations.OwnerIndex()
    others = []
    for other_path, owners in owners_by_path.items():
        if other_path == path or not relations.names_clash(path, other_path):
            continue
        for other in owners:
            if other.package != owner.package and not declared_to_dpkg(owner, other):
                index.add(f"/{other_path}", relations.Owner(other.package, "installed", other.version))
                others.append(f"{other_path} in {other.package}")
    if not others:
        return None
    others = sorted(set(others))
    try:
        found, _ = relations.relations(owner.package, owner.version, [f"/{path}"], index)
    except PysharedError as error:
        fields = f"no relation written ({error})"
    else:
        fields = "; ".join(f"{name}: {', '.join(values)}" for name, values in sorted(found.items()))
    return f"module {module} is also {listing(others[:MAX_LISTED], len(others))}; {fields}"
