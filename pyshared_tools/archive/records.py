"""--records files (JSON lines: a header, then one record per package) and the checks of `merge`.

A shard's records are written as they are read, to a temporary file renamed
at the end; `merge` streams every file into one store.  A missing, repeated
or truncated shard, or records of another tool or options, is an error: the
merge would otherwise print a short result.
"""

import json
import os

from pyshared_tools.errors import UsageError
from pyshared_tools.rules import tags

from .cache import tool_version
from .codes import CODES, PROGRAM
from .model import escaped

RECORDS_KIND = "pyshared-scan-records"
RECORDS_SCHEMA = 1


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
    """The header, then every record; written to a temporary file, then renamed."""
    temporary = f"{filename}.tmp{os.getpid()}"
    created = False
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        with open(os.open(temporary, flags, 0o666), "w", encoding="utf-8") as out:
            created = True
            out.write(json.dumps(header, sort_keys=True) + "\n")
            for record in records:
                out.write(json.dumps(record, sort_keys=True) + "\n")
        os.replace(temporary, filename)
        created = False
    except OSError as error:
        raise UsageError(
            f"cannot write the records ({error.strerror})", f"to {filename}", "give a writable --records OUT"
        ) from None
    finally:
        if created:
            os.unlink(temporary)


def _not_records(filename, what):
    return UsageError(what, f"in {filename}", f"give files written by {PROGRAM} --records")


# The longest line read: a record keeps at most judge.MAX_RECORD_BYTES of paths and findings.
MAX_LINE = 512 * 1024 * 1024


def _header(filename, stream):
    first = stream.readline(MAX_LINE)
    header = json.loads(first) if first else None
    if not isinstance(header, dict) or header.get("kind") != RECORDS_KIND:
        raise _not_records(filename, "not a records file")
    if header.get("schema") != RECORDS_SCHEMA:
        raise UsageError(
            f"records schema {_short(header.get('schema'))}, this {PROGRAM} reads {RECORDS_SCHEMA}",
            f"in {filename}",
            "write the records again with this version",
        )
    problem = header_problem(header)
    if problem:
        raise _not_records(filename, f"a records header whose {problem}")
    return header


# No archive comes near: a count above it is not one a scan wrote.
MAX_COUNT = 1 << 40


def _count(value):
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_COUNT


def header_problem(header):
    """What is wrong with the keys of a records header (docs/scan-schema.md), or None."""
    shard = header.get("shard")
    if not isinstance(header.get("tool"), str):
        return "tool is not a string"
    if not (
        isinstance(header.get("supported"), list) and all(isinstance(v, str) for v in header["supported"])
    ):
        return "supported is not a list of versions"
    if not _count(header.get("max_member_bytes")):
        return "max_member_bytes is not a size"
    if not _count(header.get("debs")):
        return "debs is not a number of .debs"
    if not (
        isinstance(shard, list) and len(shard) == 2 and all(map(_count, shard)) and 1 <= shard[0] <= shard[1]
    ):
        return "shard is not [I, N] with 1 <= I <= N"
    return None


def record_problem(record):
    """What is wrong with one record (as --records and the cache write it), or None."""
    if not isinstance(record, dict):
        return "a record is not an object"
    strings = ("deb", "package", "version", "source")
    if not all(isinstance(record.get(key), str) for key in strings) or not _count(record.get("index")):
        return "a record without index, deb, package, version or source"
    for key in ("declared", "provides", "paths", "notes"):
        if not (
            isinstance(record.get(key, []), list) and all(isinstance(v, str) for v in record.get(key, []))
        ):
            return f"a record whose {key} is not a list of strings"
    findings = record.get("findings")
    if not isinstance(findings, list):
        return "a record whose findings are not a list"
    for finding in findings:
        if not (
            isinstance(finding, list)
            and len(finding) == 6
            and all(isinstance(value, str) for value in finding)
            and finding[4] in CODES
        ):
            return "a finding that is not [package, version, source, path, code, detail] with a known code"
    return None


def read_header(filename):
    try:
        with open(filename, encoding="utf-8") as stream:
            return _header(filename, stream)
    except (OSError, ValueError, RecursionError) as error:
        raise _not_records(filename, f"cannot read the records ({escaped(str(error))})") from None


def load_records(filename, store):
    """Add the records of one file to `store` (check_shards first); its header."""
    try:
        with open(filename, encoding="utf-8") as stream:
            header = _header(filename, stream)
            count = 0
            limit = len(range(header["shard"][0] - 1, header["debs"], header["shard"][1]))
            while line := stream.readline(MAX_LINE + 1):
                if len(line) > MAX_LINE:
                    raise ValueError(f"a line longer than {MAX_LINE} characters, on line {count + 2}")
                record = json.loads(line)
                problem = record_problem(record)
                if problem:
                    raise ValueError(f"{problem}, on line {count + 2}")
                count += 1
                if count > limit:
                    break
                store.add_record(record)
    except (OSError, ValueError, KeyError, TypeError, RecursionError) as error:
        raise _not_records(filename, f"cannot read the records ({escaped(str(error))})") from None
    index, shards = header["shard"]
    expected = len(range(index - 1, header["debs"], shards))
    if count != expected:
        raise UsageError(
            f"{count} records where shard {index}/{shards} of {header['debs']} .debs has {expected}",
            f"in {filename}",
            "write the shard's records again",
        )
    return header


def _short(value):
    text = escaped(repr(value))
    return text if len(text) <= 80 else f"{text[:77]}..."


def check_shards(headers):
    """Every shard once, all written by the same tool with the same options: else the merge would lie."""
    first_name, first = headers[0]
    for filename, header in headers[1:]:
        for name in ("tool", "supported", "max_member_bytes", "debs"):
            if header[name] != first[name]:
                raise UsageError(
                    f"{name} {_short(header[name])} differs from {_short(first[name])} of {first_name}",
                    f"in {filename}",
                    "merge the records of one sharded run",
                )
        if header["shard"][1] != first["shard"][1]:
            raise UsageError(
                f"shard {header['shard'][0]}/{header['shard'][1]} mixed with shards of {first['shard'][1]}",
                f"in {filename}",
                "merge the records of one sharded run",
            )
    count = first["shard"][1]
    given = sorted(header["shard"][0] for _, header in headers)
    if given != list(range(1, len(given) + 1)) or len(given) != count:
        # N comes from a file: what is listed is bounded by the files given, not by N.
        present = set(given)
        missing = [i for i in range(1, min(count, len(given) + 10) + 1) if i not in present][:10]
        twice = sorted({index for index in given if given.count(index) > 1})
        more = " ..." if len(missing) == 10 and count > len(given) + 10 else ""
        problem = (
            f"shard(s) {', '.join(f'{i}/{count}' for i in missing)}{more} missing"
            if missing
            else f"shard(s) {', '.join(f'{i}/{count}' for i in twice)} given twice"
        )
        raise UsageError(problem, "on the command line", f"give each of the {count} records files once")
    if tool_version() != first["tool"]:
        raise UsageError(
            f"records written by {_short(first['tool'])}, this is {tool_version()}",
            f"in {first_name}",
            "merge with the version that wrote them",
        )
