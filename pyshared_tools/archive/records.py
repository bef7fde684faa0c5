"""--records files (JSON lines: a header, then one record per package) and the checks of `merge`.

A shard's records are written as they are read, to a temporary file renamed
at the end; `merge` streams every file into one store.  A missing, repeated
or truncated shard, or records of another tool or options, is an error: the
merge would otherwise print a short result.
"""

import json
import os

from .. import tags
from ..errors import UsageError
from .cache import tool_version
from .codes import PROGRAM

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
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def _not_records(filename, what):
    return UsageError(what, f"in {filename}", f"give files written by {PROGRAM} --records")


def _header(filename, stream):
    first = stream.readline()
    header = json.loads(first) if first else None
    if not isinstance(header, dict) or header.get("kind") != RECORDS_KIND:
        raise _not_records(filename, "not a records file")
    if header.get("schema") != RECORDS_SCHEMA:
        raise UsageError(
            f"records schema {header.get('schema')!r}, this {PROGRAM} reads {RECORDS_SCHEMA}",
            f"in {filename}",
            "write the records again with this version",
        )
    return header


def read_header(filename):
    try:
        with open(filename, encoding="utf-8") as stream:
            return _header(filename, stream)
    except (OSError, ValueError) as error:
        raise _not_records(filename, f"cannot read the records ({error})") from None


def load_records(filename, store):
    """Add the records of one file to `store` (check_shards first); its header."""
    try:
        with open(filename, encoding="utf-8") as stream:
            header = _header(filename, stream)
            count = 0
            for line in stream:
                store.add_record(json.loads(line))
                count += 1
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise _not_records(filename, f"cannot read the records ({error})") from None
    index, shards = header["shard"]
    expected = len(range(index - 1, header["debs"], shards))
    if count != expected:
        raise UsageError(
            f"{count} records where shard {index}/{shards} of {header['debs']} .debs has {expected}",
            f"in {filename}",
            "write the shard's records again",
        )
    return header


def check_shards(headers):
    """Every shard once, all written by the same tool with the same options: else the merge would lie."""
    first_name, first = headers[0]
    for filename, header in headers[1:]:
        for name in ("tool", "supported", "max_member_bytes", "debs"):
            if header[name] != first[name]:
                raise UsageError(
                    f"{name} {header[name]!r} differs from {first[name]!r} of {first_name}",
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
    if given != list(range(1, count + 1)):
        missing = sorted(set(range(1, count + 1)) - set(given))
        twice = sorted({index for index in given if given.count(index) > 1})
        problem = (
            f"shard(s) {', '.join(f'{i}/{count}' for i in missing)} missing"
            if missing
            else f"shard(s) {', '.join(f'{i}/{count}' for i in twice)} given twice"
        )
        raise UsageError(problem, "on the command line", f"give each of the {count} records files once")
    if tool_version() != first["tool"]:
        raise UsageError(
            f"records written by {first['tool']}, this is {tool_version()}",
            f"in {first_name}",
            "merge with the version that wrote them",
        )
