"""The three outputs: a table for people, --json (docs/scan-schema.md) and --rebuild-list for scripts.

Each takes a function returning a fresh iterator of sorted findings (the
store re-runs its query), so no output holds every finding in memory; only
--rebuild-list keeps one line per source package.
"""

import json

from .codes import CODES, SCHEMA


def finding_object(f):
    return {
        "package": f.package,
        "version": f.version,
        "source": f.source,
        "path": f.path,
        "code": f.code,
        "severity": CODES[f.code][0],
        "detail": f.detail,
        "deb": f.deb,
    }


def write_json(findings, out):
    """What json.dumps({"schema", "findings"}, indent=2) prints, one finding at a time."""
    out.write(f'{{\n  "schema": {SCHEMA},\n  "findings": [')
    separator = "\n"
    for finding in findings():
        # json.dumps(indent=...) leaves reference cycles for the garbage collector at every call.
        fields = ",\n".join(
            f"      {json.dumps(key)}: {json.dumps(value)}" for key, value in finding_object(finding).items()
        )
        out.write(f"{separator}    {{\n{fields}\n    }}")
        separator = ",\n"
    out.write("\n  ]\n}\n" if separator != "\n" else "]\n}\n")


_NAME_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789+.-")


def source_name(text):
    """A source name as --rebuild-list writes it: every character a Debian name cannot hold (a
    newline, ':', ',', a space, a backslash...) as \\xNN or \\uNNNN, so a line stays one package."""
    if _NAME_CHARACTERS.issuperset(text):
        return text
    return "".join(
        c if c in _NAME_CHARACTERS else f"\\x{ord(c):02x}" if ord(c) < 256 else f"\\u{ord(c):04x}"
        for c in text
    )


def rebuild_list(findings):
    """'source: code, code' lines, sorted, for the findings a rebuild of the source fixes."""
    codes = {}
    for finding in findings():
        if CODES[finding.code][1] and finding.source:
            codes.setdefault(source_name(finding.source), set()).add(finding.code)
    return [f"{source}: {', '.join(sorted(found))}" for source, found in sorted(codes.items())]


def write_rebuild_list(findings, out):
    out.write("".join(f"{line}\n" for line in rebuild_list(findings)))


def printable(text):
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _row(f):
    return tuple(printable(value) for value in (f.package or "-", f.version or "-", f.code, f.path, f.detail))


HEADER = ("PACKAGE", "VERSION", "CODE", "PATH", "DETAIL")


def write_table(findings, out):
    """PACKAGE, VERSION and CODE padded to their widest value (a first pass); PATH and DETAIL as they are."""
    widths = [len(title) for title in HEADER[:3]]
    for finding in findings():
        widths = [max(width, len(value)) for width, value in zip(widths, _row(finding)[:3], strict=True)]
    out.write(_line(HEADER, widths))
    for finding in findings():
        out.write(_line(_row(finding), widths))


def _line(row, widths):
    return "  ".join([*(row[c].ljust(widths[c]) for c in range(3)), row[3], row[4]]) + "\n"


WRITERS = {"json": write_json, "rebuild_list": write_rebuild_list, "table": write_table}
