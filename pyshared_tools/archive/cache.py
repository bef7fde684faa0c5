"""Per-.deb records kept across runs in SQLite, keyed by the .deb's sha256.

The key also holds what else decides a record: the tool version (any change
to a rule is a new version), the supported versions and --max-member-bytes.
One writer: the parent process.  The file is kept under a size limit by
dropping the records least recently used.
"""

import functools
import hashlib
import json
import os

from pyshared_tools import __version__
from pyshared_tools.errors import UsageError
from pyshared_tools.rules import tags

from .codes import PROGRAM
from .model import escaped

DEFAULT_MAX_MIB = 512
_COLUMNS = ("sha256", "key", "record", "used")


@functools.lru_cache(maxsize=1)
def tool_version():
    """The package version and a digest of the library's sources (every .py below pyshared_tools/)."""
    digest = hashlib.sha256()
    library = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for directory, subdirectories, names in os.walk(library):
        subdirectories[:] = sorted(name for name in subdirectories if name != "__pycache__")
        for name in sorted(names):
            if name.endswith(".py"):
                path = os.path.join(directory, name)
                with open(path, "rb") as source:
                    label = os.path.relpath(path, library).encode()
                    digest.update(label + b"\0" + source.read() + b"\0")
    return f"{__version__}+{digest.hexdigest()[:16]}"


def _sqlite_errors(method):
    """A damaged cache file met after it was opened is a usage error, not a traceback."""

    @functools.wraps(method)
    def wrapper(self, *args):
        import sqlite3

        try:
            return method(self, *args)
        except sqlite3.Error as error:
            raise UsageError(
                f"cannot use the cache {escaped(self.filename)} ({escaped(str(error))})",
                "on the command line",
                "delete the cache, give another --cache FILE, or --no-cache",
            ) from None

    return wrapper


def default_cache_path():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, PROGRAM, "cache.sqlite3")


class Cache:
    def __init__(self, connection, key, max_bytes, filename=""):
        self.connection = connection
        self.filename = filename
        self.key = key
        self.max_bytes = max_bytes
        self.run = connection.execute("SELECT COALESCE(MAX(used), 0) + 1 FROM records").fetchone()[0]

    @classmethod
    def open(cls, filename, supported, max_member_bytes, max_mib=DEFAULT_MAX_MIB):
        import sqlite3

        key = json.dumps(
            {
                "tool": tool_version(),
                "supported": [tags.version_text(tuple(v)) for v in supported],
                "max_member_bytes": max_member_bytes,
            },
            sort_keys=True,
        )
        try:
            os.makedirs(os.path.dirname(os.path.abspath(filename)), exist_ok=True)
            connection = sqlite3.connect(filename, timeout=60)
            connection.execute(
                "CREATE TABLE IF NOT EXISTS records ("
                " sha256 TEXT NOT NULL, key TEXT NOT NULL, record TEXT NOT NULL,"
                " used INTEGER NOT NULL DEFAULT 0,"
                " PRIMARY KEY (sha256, key))"
            )
            columns = [row[1] for row in connection.execute("PRAGMA table_info(records)")]
            if columns == ["sha256", "key", "record"]:  # a cache written by 0.1.0
                connection.execute("ALTER TABLE records ADD COLUMN used INTEGER NOT NULL DEFAULT 0")
            elif columns != list(_COLUMNS):
                connection.close()
                raise UsageError(
                    f"the cache {escaped(filename)} is not one {PROGRAM} writes "
                    f"(its records table has columns {escaped(', '.join(map(str, columns)))[:200]})",
                    "on the command line",
                    "give another --cache FILE, delete this one, or give --no-cache",
                )
            connection.commit()
            return cls(connection, key, max_mib * 1024 * 1024, filename)
        except (OSError, sqlite3.Error) as error:
            raise UsageError(
                f"cannot use the cache {filename} ({error})",
                "on the command line",
                "give a writable --cache FILE, or --no-cache",
            ) from None

    @_sqlite_errors
    def has(self, sha):
        query = "SELECT 1 FROM records WHERE sha256 = ? AND key = ?"
        return self.connection.execute(query, (sha, self.key)).fetchone() is not None

    @_sqlite_errors
    def get(self, sha):
        row = self.connection.execute(
            "SELECT record FROM records WHERE sha256 = ? AND key = ?", (sha, self.key)
        ).fetchone()
        if row is None:
            return None
        self.connection.execute(
            "UPDATE records SET used = ? WHERE sha256 = ? AND key = ?", (self.run, sha, self.key)
        )
        from .records import record_problem

        try:
            record = json.loads(row[0]) if isinstance(row[0], str) else None
            problem = (
                record_problem(dict(record, index=0, deb="")) if isinstance(record, dict) else "not a record"
            )
        except (ValueError, RecursionError) as error:
            problem = str(error)
        if problem:
            raise UsageError(
                f"the cache {escaped(self.filename)} holds a record this version does not write ({problem})",
                f"for sha256 {sha}",
                "delete the cache or give --no-cache",
            )
        return record

    @_sqlite_errors
    def put(self, record):
        # An unreadable .deb is read again next time: its error may not be the file's.
        if record.get("sha256") is None or any(f[4] == "unreadable-deb" for f in record["findings"]):
            return
        kept = {name: value for name, value in record.items() if name not in ("index", "deb")}
        self.connection.execute(
            "INSERT OR REPLACE INTO records (sha256, key, record, used) VALUES (?, ?, ?, ?)",
            (record["sha256"], self.key, json.dumps(kept, sort_keys=True), self.run),
        )

    def size(self):
        """Bytes the records take (SQLite pages in use)."""
        pages, free = (
            self.connection.execute(f"PRAGMA {name}").fetchone()[0]
            for name in ("page_count", "freelist_count")
        )
        return (pages - free) * self.connection.execute("PRAGMA page_size").fetchone()[0]

    @_sqlite_errors
    def trim(self):
        """Drop the least recently used records until the file is under the limit; this run's stay."""
        self.connection.commit()
        trimmed = False
        while self.size() > self.max_bytes:
            oldest = self.connection.execute("SELECT MIN(used) FROM records").fetchone()[0]
            if oldest is None or oldest >= self.run:
                break
            self.connection.execute("DELETE FROM records WHERE used = ?", (oldest,))
            self.connection.commit()
            trimmed = True
        if trimmed:
            self.connection.execute("VACUUM")

    def close(self):
        self.trim()
        self.connection.close()
