"""pyshared-scan: find what dh_pyshared would fix in built .debs, archive-wide.

Each .deb is read with python-debian (control fields, then the data tar
streamed member by member; nothing is extracted, no member name is ever used
as a file system path, no symlink is followed).  The rules are the library's:
`layouts.match_place` says which directories hold modules, `tags` splits and
parses file names, `elf.extension_facts` reads an extension's facts from its
bytes, `checks` judges them and `relations` writes the Conflicts + Replaces
for a module shipped under two file names.  This module only adapts archive
members to them.

Memory: one .deb at a time per worker (--jobs); each .deb gives a small
record (its own findings and the paths it ships in module places), cached in
SQLite by the .deb's sha256 and written by --records for `merge`; across
packages only the owners of those paths are kept (for path-collision and
module-clash), in the parent process.
The output is documented in docs/scan-schema.md, whose code table must match
CODES below.
"""

import argparse
import functools
import hashlib
import json
import lzma
import os
import sqlite3
import struct
import sys
import tarfile
import zlib
from collections import namedtuple

from . import __version__, checks, elf, layouts, relations, tags
from .errors import PysharedError, TagError, TreeError, UsageError

PROGRAM = "pyshared-scan"
SCHEMA = 1
SEVERITIES = ("error", "warning", "info")
DEFAULT_MAX_MEMBER_BYTES = 256 * 1024 * 1024
RECORDS_KIND = "pyshared-scan-records"
RECORDS_SCHEMA = 1
HASH_CHUNK = 1024 * 1024

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
        "the same file path (not a directory) in a module place of two packages",
    ),
    "module-clash": (
        "error",
        True,
        "the same module under two file names in two packages; the detail gives "
        "the Conflicts + Replaces dh_pyshared writes",
    ),
    "unreadable-deb": (
        "error",
        False,
        "a truncated or corrupt .deb, or one with an unknown compression; "
        "the scan goes on with the other files",
    ),
    "unsafe-member": (
        "error",
        True,
        "a data.tar member name that is absolute or contains '..' (never used as a path)",
    ),
    "huge-member": ("warning", False, "a .so in a module place larger than --max-member-bytes: not read"),
}

Finding = namedtuple("Finding", ("package", "version", "source", "path", "code", "detail", "deb"))
# What the cross-package checks keep of one package.
Owner = namedtuple("Owner", ("package", "version", "source", "deb"))
Control = namedtuple("Control", ("package", "version", "architecture", "source"))


# --- command line ---------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message, "on the command line", f"see {PROGRAM} --help")


def _output_options(parser):
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print the findings as JSON (schema 1)")
    output.add_argument(
        "--rebuild-list",
        action="store_true",
        help="print 'source: code, ...' for every source package a rebuild would fix",
    )
    return output


def _parser():
    parser = _Parser(
        prog=PROGRAM,
        description="Scan built .debs for what dh_pyshared would fix (docs/scan-schema.md). "
        f"'{PROGRAM} merge RECORDS...' runs the cross-package checks on --records files.",
    )
    parser.add_argument(
        "inputs",
        nargs="*",
        metavar="DEB-OR-DIRECTORY",
        help=".deb files, and directories searched recursively for *.deb",
    )
    output = _output_options(parser)
    output.add_argument(
        "--records",
        metavar="OUT",
        help="write the per-.deb records (JSON lines) to OUT instead of printing findings",
    )
    parser.add_argument(
        "--supported",
        metavar="X.Y[,X.Y...]",
        help="supported Python 3 versions (default: this system's, as py3versions -s)",
    )
    parser.add_argument(
        "--max-member-bytes",
        type=int,
        default=DEFAULT_MAX_MEMBER_BYTES,
        metavar="N",
        help="largest .so member read (default 256 MiB)",
    )
    parser.add_argument(
        "--jobs",
        "-j",
        type=int,
        default=None,
        metavar="N",
        help="read N .debs at a time in worker processes (default: the number of cores)",
    )
    cache = parser.add_mutually_exclusive_group()
    cache.add_argument(
        "--cache",
        metavar="FILE",
        help="SQLite cache of per-.deb records, keyed by sha256 "
        "(default: $XDG_CACHE_HOME/pyshared-scan/cache.sqlite3)",
    )
    cache.add_argument("--no-cache", action="store_true", help="read every .deb, keep nothing")
    parser.add_argument(
        "--shard",
        metavar="I/N",
        help="read only the .debs whose position in the input list, modulo N, is I-1 (needs --records)",
    )
    parser.add_argument(
        "--stats",
        action="store_true",
        help=f"print '{PROGRAM}: D .debs, C from the cache' on standard error",
    )
    return parser


def _merge_parser():
    parser = _Parser(
        prog=f"{PROGRAM} merge",
        description="Run the cross-package checks on the records of --records files and print the findings.",
    )
    parser.add_argument("records", nargs="+", metavar="RECORDS", help="files written by --records")
    _output_options(parser)
    return parser


def _supported(text):
    if text is None:
        from .pyversions import supported_versions

        return sorted(supported_versions(None))
    versions = set()
    for entry in text.split(","):
        major, dot, minor = entry.strip().partition(".")
        if not (dot and major == "3" and minor.isdigit()):
            raise UsageError(
                f"--supported {text!r} is not a list of Python 3 versions",
                f"at {entry!r}",
                "write --supported 3.11,3.12",
            )
        versions.add((3, int(minor)))
    return sorted(versions)


def _shard(text):
    """(I, N) from 'I/N', 1 <= I <= N."""
    index, slash, count = (text or "").partition("/")
    if slash and index.isdigit() and count.isdigit() and 1 <= int(index) <= int(count):
        return int(index), int(count)
    raise UsageError(
        f"--shard {text!r} is not I/N with 1 <= I <= N", "on the command line", "write --shard 2/3"
    )


def deb_files(inputs):
    """The .debs of the command line: files as given, directories searched recursively (sorted)."""
    found = []
    for given in inputs:
        if os.path.isdir(given):
            for directory, subdirectories, files in os.walk(given):
                subdirectories.sort()
                found.extend(os.path.join(directory, name) for name in sorted(files) if name.endswith(".deb"))
        elif os.path.isfile(given):
            found.append(given)
        else:
            raise UsageError(
                f"no such file or directory: {given}",
                "on the command line",
                "give .deb files or directories holding them",
            )
    return found


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    try:
        if argv[:1] == ["merge"]:
            return merge(argv[1:])
        return run(argv)
    except PysharedError as error:
        print(f"{PROGRAM}: error: {error}", file=sys.stderr)
        return error.exit_code
    except BrokenPipeError:
        return 1


def run(argv):
    options = _parser().parse_args(argv)
    if not options.inputs:
        raise UsageError(
            "no .deb or directory given",
            "on the command line",
            f"give .deb files or directories: {PROGRAM} pool/",
        )
    if options.max_member_bytes < 0:
        raise UsageError(
            "--max-member-bytes must not be negative", "on the command line", "give a size in bytes"
        )
    jobs = (os.cpu_count() or 1) if options.jobs is None else options.jobs
    if jobs < 1:
        raise UsageError("--jobs must be at least 1", "on the command line", "give --jobs 1 or more")
    shard = _shard(options.shard) if options.shard is not None else (1, 1)
    if options.shard is not None and options.records is None:
        raise UsageError(
            "--shard needs --records",
            "on the command line",
            f"write the shard's records with --records OUT, then run {PROGRAM} merge",
        )
    supported = _supported(options.supported)
    debs = deb_files(options.inputs)
    selected = [(index, deb) for index, deb in enumerate(debs) if index % shard[1] == shard[0] - 1]
    cache = None
    if not options.no_cache:
        cache = Cache.open(options.cache or default_cache_path(), supported, options.max_member_bytes)
    try:
        records, from_cache = read_debs(selected, supported, options.max_member_bytes, jobs, cache)
    finally:
        if cache is not None:
            cache.close()
    if options.stats:
        print(f"{PROGRAM}: {len(records)} .debs, {from_cache} from the cache", file=sys.stderr)
    if options.records is not None:
        header = records_header(supported, options.max_member_bytes, shard, len(debs))
        write_records(options.records, header, records)
        return 0
    return _report(records, options)


def merge(argv):
    options = _merge_parser().parse_args(argv)
    headers, records = [], []
    for filename in options.records:
        header, found = read_records(filename)
        headers.append((filename, header))
        records.extend(found)
    _check_shards(headers, records)
    records.sort(key=lambda record: record["index"])
    return _report(records, options)


def _report(records, options):
    scanner = Scanner.from_records(records)
    findings = scanner.finish()
    for note in scanner.notes:
        print(f"{PROGRAM}: note: {note}", file=sys.stderr)
    if options.json:
        print(json.dumps(json_document(findings), indent=2))
    elif options.rebuild_list:
        sys.stdout.write("".join(f"{line}\n" for line in rebuild_list(findings)))
    else:
        sys.stdout.write(table(findings))
    return 1 if any(CODES[f.code][0] != "info" for f in findings) else 0


# --- the per-.deb work, in parallel and cached ------------------------------------------------


@functools.lru_cache(maxsize=1)
def tool_version():
    """The package version and a digest of the library's sources: any change to a rule is a new version."""
    digest = hashlib.sha256()
    library = os.path.dirname(os.path.abspath(__file__))
    for name in sorted(os.listdir(library)):
        if name.endswith(".py"):
            with open(os.path.join(library, name), "rb") as source:
                digest.update(name.encode() + b"\0" + source.read() + b"\0")
    return f"{__version__}+{digest.hexdigest()[:16]}"


def file_sha256(filename):
    """The sha256 of a file, or None when it cannot be read (the scan then reports it)."""
    try:
        with open(filename, "rb") as stream:
            return _sha256_stream(stream)
    except OSError:
        return None


def _sha256_stream(stream):
    digest = hashlib.sha256()
    for chunk in iter(functools.partial(stream.read, HASH_CHUNK), b""):
        digest.update(chunk)
    return digest.hexdigest()


def _read_one(task, supported, max_member_bytes, digest):
    """Worker entry point (top level: spawn-safe): the record of one (index, .deb)."""
    index, filename = task
    return read_deb(filename, supported, max_member_bytes, index=index, digest=digest)


def _pool(jobs, work):
    if jobs <= 1 or work <= 1:
        return None
    import multiprocessing

    return multiprocessing.get_context("spawn").Pool(min(jobs, work))


def read_debs(selected, supported, max_member_bytes, jobs, cache=None):
    """([record] in the order of `selected`, how many came from the cache).

    Workers hash and read; only this process touches the cache."""
    supported = [tuple(version) for version in supported]
    pool = _pool(jobs, len(selected))
    mapper = functools.partial(pool.imap, chunksize=1) if pool else map
    try:
        records = {}
        misses = selected
        if cache is not None:
            misses = []
            hashes = mapper(file_sha256, [deb for _, deb in selected])
            for (index, deb), sha in zip(selected, hashes, strict=True):
                record = cache.get(sha) if sha else None
                if record is None:
                    misses.append((index, deb))
                else:
                    records[index] = dict(record, index=index, deb=deb)
        read = functools.partial(
            _read_one, supported=supported, max_member_bytes=max_member_bytes, digest=cache is not None
        )
        if pool and len(misses) < 2:
            mapper = map
        for record in mapper(read, misses):
            records[record["index"]] = record
            if cache is not None:
                cache.put(record)
        if cache is not None:
            cache.commit()
    finally:
        if pool:
            pool.close()
            pool.join()
    return [records[index] for index, _ in selected], len(selected) - len(misses)


def default_cache_path():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, PROGRAM, "cache.sqlite3")


class Cache:
    """Per-.deb records in SQLite, keyed by the .deb's sha256 and by what else decides them: the
    tool version, the supported versions and --max-member-bytes.  One writer: the parent process."""

    def __init__(self, connection, key):
        self.connection = connection
        self.key = key

    @classmethod
    def open(cls, filename, supported, max_member_bytes):
        key = json.dumps(
            {
                "tool": tool_version(),
                "supported": [tags.version_text(tuple(v)) for v in supported],
                "max_member_bytes": max_member_bytes,
            },
            sort_keys=True,
        )
        try:
            directory = os.path.dirname(os.path.abspath(filename))
            os.makedirs(directory, exist_ok=True)
            connection = sqlite3.connect(filename, timeout=60)
            connection.execute(
                "CREATE TABLE IF NOT EXISTS records ("
                " sha256 TEXT NOT NULL, key TEXT NOT NULL, record TEXT NOT NULL,"
                " PRIMARY KEY (sha256, key))"
            )
            connection.commit()
        except (OSError, sqlite3.Error) as error:
            raise UsageError(
                f"cannot use the cache {filename} ({error})",
                "on the command line",
                "give a writable --cache FILE, or --no-cache",
            ) from None
        return cls(connection, key)

    def get(self, sha):
        row = self.connection.execute(
            "SELECT record FROM records WHERE sha256 = ? AND key = ?", (sha, self.key)
        ).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, record):
        # An unreadable .deb is read again next time: its error may not be the file's.
        if record.get("sha256") is None or any(f[4] == "unreadable-deb" for f in record["findings"]):
            return
        kept = {name: value for name, value in record.items() if name not in ("index", "deb")}
        self.connection.execute(
            "INSERT OR REPLACE INTO records (sha256, key, record) VALUES (?, ?, ?)",
            (record["sha256"], self.key, json.dumps(kept, sort_keys=True)),
        )

    def commit(self):
        self.connection.commit()

    def close(self):
        self.connection.close()


# --- records files (--records, merge) ---------------------------------------------------------


def records_header(supported, max_member_bytes, shard, debs):
    return {
        "kind": RECORDS_KIND,
        "schema": RECORDS_SCHEMA,
        "tool": tool_version(),
        "supported": [tags.version_text(tuple(v)) for v in supported],
        "max_member_bytes": max_member_bytes,
        "shard": list(shard),
        "debs": debs,
    }


def write_records(filename, header, records):
    """JSON lines: the header, then one record per .deb; written to a temporary file, then renamed."""
    temporary = f"{filename}.tmp{os.getpid()}"
    try:
        with open(temporary, "w", encoding="utf-8") as out:
            out.write(json.dumps(header, sort_keys=True) + "\n")
            for record in records:
                out.write(json.dumps(record, sort_keys=True) + "\n")
        os.replace(temporary, filename)
    except OSError as error:
        raise UsageError(
            f"cannot write the records ({error.strerror})", f"to {filename}", "give a writable --records OUT"
        ) from None


def read_records(filename):
    try:
        with open(filename, encoding="utf-8") as stream:
            lines = stream.read().splitlines()
        header = json.loads(lines[0]) if lines else None
        records = [json.loads(line) for line in lines[1:]]
    except (OSError, ValueError) as error:
        raise UsageError(
            f"cannot read the records ({error})",
            f"in {filename}",
            f"give files written by {PROGRAM} --records",
        ) from None
    if not isinstance(header, dict) or header.get("kind") != RECORDS_KIND:
        raise UsageError(
            "not a records file", f"in {filename}", f"give files written by {PROGRAM} --records"
        )
    if header.get("schema") != RECORDS_SCHEMA:
        raise UsageError(
            f"records schema {header.get('schema')!r}, this {PROGRAM} reads {RECORDS_SCHEMA}",
            f"in {filename}",
            "write the records again with this version",
        )
    index, count = header["shard"]
    expected = len(range(index - 1, header["debs"], count))
    if len(records) != expected:
        raise UsageError(
            f"{len(records)} records where shard {index}/{count} of {header['debs']} .debs has {expected}",
            f"in {filename}",
            "write the shard's records again",
        )
    return header, records


def _check_shards(headers, records):
    """Every shard once, all written by the same tool with the same options: else the merge would lie."""
    first_name, first = headers[0]
    same = ("tool", "supported", "max_member_bytes", "debs")
    for filename, header in headers[1:]:
        for name in same:
            if header[name] != first[name]:
                raise UsageError(
                    f"{name} {header[name]!r} differs from {first[name]!r} of {first_name}",
                    f"in {filename}",
                    "merge the records of one sharded run",
                )
        if header["shard"][1] != first["shard"][1]:
            raise UsageError(
                f"shard {header['shard'][0]}/{header['shard'][1]} mixed with shards of "
                f"{first['shard'][1]}",
                f"in {filename}",
                "merge the records of one sharded run",
            )
    count = first["shard"][1]
    given = sorted(header["shard"][0] for _, header in headers)
    if given != list(range(1, count + 1)):
        missing = sorted(set(range(1, count + 1)) - set(given))
        twice = sorted({index for index in given if given.count(index) > 1})
        problem = f"shard(s) {', '.join(f'{i}/{count}' for i in missing)} missing" if missing else (
            f"shard(s) {', '.join(f'{i}/{count}' for i in twice)} given twice"
        )
        raise UsageError(problem, "on the command line", f"give each of the {count} records files once")
    if tool_version() != first["tool"]:
        raise UsageError(
            f"records written by {first['tool']}, this is {tool_version()}",
            f"in {first_name}",
            "merge with the version that wrote them",
        )


# --- reading one .deb -----------------------------------------------------------------------


def member_path(name):
    """(tree-relative path, None), or (None, why the name is unsafe); ('', None) for the root."""
    if name.startswith("/"):
        return None, "absolute member name"
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts:
        return None, "member name contains '..'"
    return "/".join(parts), None


@functools.lru_cache(maxsize=8192)
def place_of(directory):
    """The layouts.Place holding files of `directory` (the outermost matching ancestor), or None."""
    parts = directory.split("/")
    for length in range(1, len(parts) + 1):
        place = layouts.match_place("/".join(parts[:length]))
        if place is not None:
            return place
    return None


def read_control(deb):
    fields = deb.debcontrol()
    package = fields.get("Package", "")
    version = fields.get("Version", "")
    source = fields.get("Source", package).split(" ")[0] or package
    return Control(package, version, fields.get("Architecture", ""), source)


def read_deb(filename, supported, max_member_bytes=DEFAULT_MAX_MEMBER_BYTES, index=0, digest=False):
    """The record of one .deb: what the cross-package checks need of it, and its own findings.

    {"index", "deb", "sha256" (with digest, else None), "package", "version", "source",
    "paths": [paths in module places], "findings": [[package, version, source, path, code, detail]],
    "notes": [...]}; docs/scan-schema.md describes it."""
    reader = DebReader(supported, max_member_bytes)
    sha = reader.scan_deb(filename, digest)
    owner = reader.owner
    return {
        "index": index,
        "deb": filename,
        "sha256": sha,
        "package": owner.package if owner else "",
        "version": owner.version if owner else "",
        "source": owner.source if owner else "",
        "paths": reader.paths,
        "findings": [list(finding[:6]) for finding in reader.findings],
        "notes": reader.notes,
    }


class Scanner:
    """Findings of the .debs given to scan_deb() one at a time (or of their records, add_record());
    finish() adds the cross-package ones."""

    def __init__(self, supported=(), max_member_bytes=DEFAULT_MAX_MEMBER_BYTES):
        self.supported = [tuple(version) for version in supported]
        self.max_member_bytes = max_member_bytes
        self.findings = []
        self.notes = []
        self.owners = {}  # path in a module place -> [Owner]

    @classmethod
    def from_records(cls, records):
        scanner = cls()
        for record in records:
            scanner.add_record(record)
        return scanner

    def scan_deb(self, filename):
        self.add_record(read_deb(filename, self.supported, self.max_member_bytes))

    def add_record(self, record):
        deb = record["deb"]
        self.findings.extend(Finding(*finding, deb) for finding in record["findings"])
        owner = Owner(record["package"], record["version"], record["source"], deb)
        for path in record["paths"]:
            self.owners.setdefault(path, []).append(owner)
        self.notes.extend(note for note in record["notes"] if note not in self.notes)

    def _add(self, owner, path, code, detail):
        self.findings.append(
            Finding(owner.package, owner.version, owner.source, path, code, detail, owner.deb)
        )

    # --- across packages ------------------------------------------------------------------

    def finish(self):
        """All findings, sorted, with path-collision and module-clash added."""
        by_key = {}
        for path, owners in sorted(self.owners.items()):
            packages = {owner.package for owner in owners}
            if len(packages) > 1:
                for owner in owners:
                    others = sorted(
                        {f"{o.package} {o.version}" for o in owners if o.package != owner.package}
                    )
                    self._add(owner, path, "path-collision", f"also shipped by {', '.join(others)}")
            key = relations.module_key(path)
            if key is not None:
                by_key.setdefault(key, []).append(path)
        for key, paths in sorted(by_key.items()):
            if len(paths) > 1:
                self._module_clash(key, paths)
        return sorted(
            set(self.findings), key=lambda f: (f.package, f.version, f.path, f.code, f.detail, f.deb)
        )

    def _module_clash(self, key, paths):
        for path in paths:
            for owner in self.owners[path]:
                index = relations.OwnerIndex()
                others = []
                for other_path in paths:
                    for other in self.owners[other_path]:
                        if other_path != path and other.package != owner.package:
                            index.add(
                                f"/{other_path}", relations.Owner(other.package, "installed", other.version)
                            )
                            others.append(f"{other_path} in {other.package}")
                if not others:
                    continue
                try:
                    found, _ = relations.relations(owner.package, owner.version, [f"/{path}"], index)
                except PysharedError as error:
                    fields = f"no relation written ({error})"
                else:
                    fields = "; ".join(
                        f"{name}: {', '.join(values)}" for name, values in sorted(found.items())
                    )
                self._add(
                    owner,
                    path,
                    "module-clash",
                    f"module {key[1]} is also {', '.join(sorted(set(others)))}; {fields}",
                )


class DebReader:
    """The findings of one .deb and the paths it ships in module places."""

    def __init__(self, supported, max_member_bytes=DEFAULT_MAX_MEMBER_BYTES):
        self.supported = [tuple(version) for version in supported]
        self.max_member_bytes = max_member_bytes
        self.findings = []
        self.notes = []
        self.paths = []
        self.owner = None

    def scan_deb(self, filename, digest=False):
        """The file's sha256 when `digest` (hashed from the descriptor that is then read), else None."""
        from debian.arfile import ArError

        control = None
        sha = None
        try:
            with open(filename, "rb") as stream:
                from debian.debfile import DebFile

                if digest:
                    sha = _sha256_stream(stream)
                    stream.seek(0)
                deb = DebFile(fileobj=stream)
                control = read_control(deb)
                self._scan_data(deb.data.tgz(), control, filename)
        except (
            ArError,
            tarfile.TarError,
            EOFError,
            OSError,
            ValueError,
            LookupError,
            lzma.LZMAError,
            zlib.error,
            struct.error,
        ) as error:
            self._unreadable(filename, control, error)
        return sha

    def _unreadable(self, filename, control, error):
        package, version, source = (
            (control.package, control.version, control.source) if control else ("", "", "")
        )
        detail = f"{type(error).__name__}: {error}".replace("\n", " ")
        self.findings.append(Finding(package, version, source, filename, "unreadable-deb", detail, filename))

    def _scan_data(self, tar, control, deb):
        owner = self.owner = Owner(control.package, control.version, control.source, deb)
        legacy = {}  # place path -> (rule, number of files)
        for info in tar:
            path, unsafe = member_path(info.name)
            if unsafe:
                self._add(owner, info.name, "unsafe-member", f"{unsafe}; never used as a path")
                continue
            if not path or info.isdir():
                continue
            helper = layouts.match_metadata(path)
            if helper:
                self._add(owner, path, "legacy-layout", f"metadata file of {helper}")
            directory, _, name = path.rpartition("/")
            place = place_of(directory)
            if place is None:
                continue
            self.paths.append(path)
            if not place.home:
                rule, count = legacy.get(place.path, (place.rule, 0))
                legacy[place.path] = (rule, count + 1)
            if info.isreg() and name.endswith(".so") and place.major != 2:
                self._shared_object(tar, info, path, place, control, owner)
        for place_path, (rule, count) in sorted(legacy.items()):
            self._add(
                owner,
                place_path,
                "legacy-layout",
                f"{count} file(s) in layout rule {rule.name}: {rule.description}",
            )

    def _add(self, owner, path, code, detail):
        self.findings.append(
            Finding(owner.package, owner.version, owner.source, path, code, detail, owner.deb)
        )

    def _shared_object(self, tar, info, path, place, control, owner):
        parsed = tags.split_module_filename(path)
        if parsed is None:
            return
        if info.size > self.max_member_bytes:
            self._add(
                owner, path, "huge-member", f"{info.size} bytes, above {self.max_member_bytes}: not read"
            )
            return
        with tar.extractfile(info) as member:
            data = member.read(self.max_member_bytes + 1)
        where = f"{path} in {control.package}"
        try:
            facts = elf.extension_facts(data, parsed.stem, where)
        except TreeError as error:
            self._add(owner, path, "corrupt-elf", error.what)
            return
        if facts is None:
            self._add(owner, path, "not-an-extension", "not an ELF file: kept as it is")
            return
        init = checks.init_function(parsed.stem, facts)
        if init.outcome == "error":
            self._add(owner, path, "init-mismatch", init.what)
            return
        if facts.module is None:
            self._add(
                owner, path, "not-an-extension", "shared library without PyInit_ function: keeps its name"
            )
            return
        self._extension(path, parsed, facts, control, owner)

    def _extension(self, path, parsed, facts, control, owner):
        tag = None
        if parsed.tag_text is None:
            self._add(
                owner,
                path,
                "untagged-extension",
                f"extension {facts.module} has no ABI tag: every Python 3 version would import it",
            )
        else:
            try:
                tag = tags.parse_tag(parsed.tag_text, origin="file name tag")
            except TagError as error:
                self._add(owner, path, "stale-tag", f"{error.what}: {error.where}")
        all_arch = checks.package_architecture(control.architecture)
        arch = (
            all_arch
            if all_arch.outcome == "error"
            else checks.architecture(facts, control.architecture, tag.multiarch if tag else None)
        )
        if arch.outcome == "error":
            self._add(owner, path, "wrong-arch", arch.what)
        linked = checks.libpython(facts)
        if linked.outcome == "warning":
            self._add(owner, path, "libpython", f"linked against {', '.join(checks.linked_libpython(facts))}")
        if tag is None:
            return
        if tag.impl == "abi3":
            stable = checks.stable_abi(facts, self.supported[0])
            if stable.outcome == "error":
                self._add(owner, path, "abi3-violation", stable.what)
            elif stable.outcome == "warning" and stable.what not in self.notes:
                self.notes.append(f"{stable.what}: abi3 extensions were not checked")
            return
        self._version_tag(path, tag, control, owner)

    def _version_tag(self, path, tag, control, owner):
        supported = ", ".join(tags.version_text(version) for version in self.supported)
        if tag.version not in self.supported:
            self._add(
                owner,
                path,
                "stale-tag",
                f"tag {tag} is for Python {tags.version_text(tag.version)}; supported: {supported}",
            )
            return
        multiarch = tag.multiarch or checks.ARCHITECTURES.get(control.architecture, (None,))[0]
        if multiarch is None:
            return
        imported = tags.table_suffixes(tag.version, multiarch)
        if tag.suffix not in imported:
            self._add(
                owner,
                path,
                "stale-tag",
                f"Python {tags.version_text(tag.version)} does not import "
                f"{tag.suffix}; it imports {', '.join(imported)}",
            )

# --- output ---------------------------------------------------------------------------------


def json_document(findings):
    return {
        "schema": SCHEMA,
        "findings": [
            {
                "package": f.package,
                "version": f.version,
                "source": f.source,
                "path": f.path,
                "code": f.code,
                "severity": CODES[f.code][0],
                "detail": f.detail,
                "deb": f.deb,
            }
            for f in findings
        ],
    }


def rebuild_list(findings):
    """'source: code, code' lines, sorted, for the findings a rebuild of the source fixes."""
    codes = {}
    for finding in findings:
        if CODES[finding.code][1] and finding.source:
            codes.setdefault(finding.source, set()).add(finding.code)
    return [f"{source}: {', '.join(sorted(found))}" for source, found in sorted(codes.items())]


def _printable(text):
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def table(findings):
    header = ("PACKAGE", "VERSION", "CODE", "PATH", "DETAIL")
    rows = [header] + [
        tuple(_printable(value) for value in (f.package or "-", f.version or "-", f.code, f.path, f.detail))
        for f in findings
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    return "".join(
        "  ".join([*(row[c].ljust(widths[c]) for c in range(3)), row[3], row[4]]) + "\n" for row in rows
    )
