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

from .. import relations
from ..errors import PysharedError
from .codes import PROBLEM_CODES, Finding, Owner, declared_to_dpkg, finding_of

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
            index, Owner(record["package"], record["version"], record["source"], deb, *relations_of)
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
            owners = self._owners(path)
            for owner in owners:
                detail = collision_detail(owner, owners)
                if detail:
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
            Owner(*row[:4], frozenset(row[4].split()), frozenset(row[5].split()))
            for row in self.connection.execute(
                "SELECT package, version, source, deb, declared, provides FROM paths JOIN debs USING (idx)"
                " WHERE path = ? ORDER BY idx",
                (path,),
            )
        ]

    def _add(self, owner, path, code, detail):
        self.add_finding(finding_of(owner, path, code, detail))


def collision_detail(owner, owners):
    """The path-collision detail for `owner` among the owners of one path, or None when every
    other package is one its relations already declare to dpkg."""
    others = sorted(
        {
            f"{other.package} {other.version}"
            for other in owners
            if other.package != owner.package and not declared_to_dpkg(owner, other)
        }
    )
    return f"also shipped by {', '.join(others)}" if others else None


def clash_detail(module, owner, path, owners_by_path):
    """The module-clash detail for `owner` shipping `path`: the other file names of the module in
    other packages that one interpreter imports with it (relations.names_clash), and the relations
    dh_pyshared writes; None when there is none."""
    index = relations.OwnerIndex()
    others = []
    for other_path, owners in owners_by_path.items():
        if not relations.names_clash(path, other_path):
            continue
        for other in owners:
            if other_path != path and other.package != owner.package and not declared_to_dpkg(owner, other):
                index.add(f"/{other_path}", relations.Owner(other.package, "installed", other.version))
                others.append(f"{other_path} in {other.package}")
    if not others:
        return None
    try:
        found, _ = relations.relations(owner.package, owner.version, [f"/{path}"], index)
    except PysharedError as error:
        fields = f"no relation written ({error})"
    else:
        fields = "; ".join(f"{name}: {', '.join(values)}" for name, values in sorted(found.items()))
    return f"module {module} is also {', '.join(sorted(set(others)))}; {fields}"
