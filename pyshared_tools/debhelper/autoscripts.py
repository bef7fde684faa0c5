"""debian/<package>.<script>.debhelper: our snippet inside debhelper's markers.

As debhelper's autoscript(): postinst and preinst snippets are appended,
prerm and postrm prepended (teardown runs in reverse order), each wrapped in
``# Automatically added by dh_pyshared/<version>`` and ``# End automatically
added section``.  Unlike autoscript(), a rerun replaces our block where it
stands instead of adding a second one, and a block no longer needed is
removed, so the file is byte-identical after any number of runs.
"""

import os

from pyshared_tools import TOOL_NAME as TOOL
from pyshared_tools import __version__, files

SCRIPTS = ("preinst", "postinst", "prerm", "postrm")
PREPENDED = frozenset({"prerm", "postrm"})
_BEGIN_PREFIX = f"# Automatically added by {TOOL}/"
_END = "# End automatically added section\n"


def snippet_path(package, script):
    return os.path.join("debian", f"{package}.{script}.debhelper")


def block(body):
    return f"{_BEGIN_PREFIX}{__version__}\n{body}{_END}"


def merged(existing, script, body):
    """The file's new text: `existing` with our block set to `body` (None: removed)."""
    lines = existing.splitlines(keepends=True)
    kept, position, inside = [], None, False
    for line in lines:
        if not inside and line.startswith(_BEGIN_PREFIX):
            inside = True
            if position is None:
                position = len(kept)
            continue
        if inside:
            if line == _END or line == _END.rstrip("\n"):
                inside = False
            continue
        kept.append(line)
    if kept and not kept[-1].endswith("\n"):
        kept[-1] += "\n"
    if body is not None:
        if position is None:
            position = 0 if script in PREPENDED else len(kept)
        kept.insert(position, block(body))
    return "".join(kept)


def existing_text(package, script):
    """The text of debian/<package>.<script>.debhelper, "" when there is none; read
    as a regular UTF-8 file, never through a link (files.read_text)."""
    return files.read_text(snippet_path(package, script), missing_ok=True) or ""


def planned_writes(package, bodies):
    """{path: new text or None (delete)} for the files that change; nothing is written.

    Each existing snippet is read as a regular UTF-8 file, never through a link."""
    writes = {}
    for script in SCRIPTS:
        path = snippet_path(package, script)
        existing = files.read_text(path, missing_ok=True)
        text = merged(existing or "", script, bodies.get(script))
        if existing is None and not text:
            continue
        if text != existing:
            writes[path] = text or None
    return writes


def write(writes):
    for path, text in sorted(writes.items()):
        if text is None:
            files.unlink_file(path)
            continue
        files.replace_text(path, text)
