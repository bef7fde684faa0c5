"""What to read, from the command line: .deb files, unpacked trees, and the .debs of Packages indexes.

Each becomes a Task numbered by its position in the whole input list, which
fixes the output order and the shards.
"""

import os
import posixpath
from collections import namedtuple

from pyshared_tools.errors import UsageError
from pyshared_tools.indexes import open_index

from .model import deb_control_of, error_text, escaped
from .tree import is_tree

# kind: "deb", "tree", or "missing" (problem says why); sha256: the Packages index's, else None;
# hint: a DebControl from the Packages index, else None.
Task = namedtuple(
    "Task", ("index", "kind", "location", "sha256", "hint", "problem"), defaults=(None, None, None)
)


def local_tasks(inputs):
    """(kind, path) for the command line's files and directories: a directory holding DEBIAN/control
    is an unpacked tree; any other directory is searched recursively (sorted) for *.deb and trees."""
    found = []
    for given in inputs:
        if os.path.isdir(given):
            if is_tree(given):
                found.append(("tree", given))
                continue
            before = len(found)
            found.extend(_search(given))
            if len(found) == before:
                raise UsageError(
                    f"nothing to scan in {escaped(given)}: "
                    "no .deb and no unpacked tree (DEBIAN/control) below it",
                    "on the command line",
                    "give the pool directory, .deb files or unpacked trees",
                )
        elif os.path.isfile(given):
            found.append(("deb", given))
        else:
            raise UsageError(
                f"no such file or directory: {escaped(given)}",
                "on the command line",
                "give .deb files, unpacked trees or directories holding them",
            )
    return found


def _search(top):
    """(kind, path) of the .debs and trees under `top`, in os.walk's sorted top-down order, with a
    stack (no recursion: a directory may be any number of levels deep); links are not followed."""
    stack = [top]
    while stack:
        directory = stack.pop()
        try:
            with os.scandir(directory) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError:  # as os.walk: an unreadable directory is skipped
            continue
        subdirectories = []
        for entry in entries:
            try:
                is_directory = entry.is_dir(follow_symlinks=False)
            except OSError:
                continue
            if is_directory:
                if is_tree(entry.path):
                    yield ("tree", entry.path)
                else:
                    subdirectories.append(entry.path)
        yield from (
            ("deb", entry.path) for entry in entries if entry.name.endswith(".deb") and _regular(entry)
        )
        stack.extend(reversed(subdirectories))


def _regular(entry):
    """A regular file, or a link to one: a FIFO or a device named *.deb would never end."""
    try:
        return entry.is_file()
    except OSError:
        return False


def default_mirror(index_filename):
    """The directory Filename: fields are relative to: the path before /dists/, else the index's directory."""
    absolute = os.path.abspath(index_filename)
    head, marker, _ = absolute.rpartition(f"{os.sep}dists{os.sep}")
    return head if marker else os.path.dirname(absolute)


def index_tasks(index_filename, mirror=None):
    """(kind, location, sha256, hint, problem) for every package of a Packages index."""
    mirror = mirror or default_mirror(index_filename)
    fields = ["Package", "Version", "Architecture", "Source", "Filename", "SHA256"]
    for paragraph in _paragraphs(index_filename, fields):
        yield _index_task(paragraph, mirror)


# A Packages index is text; these caps keep a hostile one (an inflated line or paragraph) bounded.
MAX_LINE_BYTES = 16 * 1024 * 1024
MAX_PARAGRAPH_BYTES = 64 * 1024 * 1024


class IndexReadError(Exception):
    """A Packages index that cannot be read to its end (python-debian takes EOFError for the end)."""


def _lines(stream):
    """The lines of an index as text, strictly UTF-8, within the caps; every read error raised."""
    from .deb import READ_ERRORS

    paragraph = 0
    while True:
        try:
            line = stream.readline(MAX_LINE_BYTES + 1)
        except (*READ_ERRORS, RuntimeError, MemoryError) as error:  # lz4 raises RuntimeError
            raise IndexReadError(error_text(error)) from None
        if not line:
            return
        if len(line) > MAX_LINE_BYTES:
            raise IndexReadError(f"a line longer than {MAX_LINE_BYTES} bytes")
        paragraph = 0 if not line.strip() else paragraph + len(line)
        if paragraph > MAX_PARAGRAPH_BYTES:
            raise IndexReadError(f"a paragraph longer than {MAX_PARAGRAPH_BYTES} bytes")
        try:
            yield line.decode("utf-8")
        except UnicodeDecodeError as error:
            raise IndexReadError(f"not UTF-8 text ({error})") from None


def _paragraphs(index_filename, fields):
    """The paragraphs of a Packages index (python-debian, only `fields` kept); a usage error when
    the index cannot be read whole (truncated, corrupt, not a Packages index)."""
    from debian.deb822 import Packages

    with open_index(index_filename, "Packages index") as stream:
        try:
            for paragraph in Packages.iter_paragraphs(_lines(stream), fields=fields, use_apt_pkg=False):
                if "Package" not in paragraph:
                    raise IndexReadError("a paragraph without Package field")
                yield paragraph
        except (IndexReadError, ValueError) as error:
            raise UsageError(
                f"cannot read the Packages index ({escaped(str(error))})",
                f"at {escaped(index_filename)}",
                "give a Packages file as apt downloads it (plain, gzip, xz, bzip2, lz4, zstd), whole",
            ) from None


def _index_task(paragraph, mirror):
    filename = paragraph.get("Filename", "")
    try:
        hint = deb_control_of(paragraph)
    except ValueError as error:
        return ("missing", escaped(filename), None, None, f"{error}: not read")
    parts = [part for part in filename.split("/") if part not in ("", ".")]
    if not filename or filename.startswith("/") or ".." in parts:
        problem = f"Filename {filename!r} is not a path inside the mirror: not read"
        return ("missing", filename, None, hint, problem)
    location = os.path.join(mirror, *posixpath.normpath(filename).split("/"))
    if not os.path.isfile(location):
        return ("missing", location, None, hint, f"{filename} is not in the mirror at {mirror}")
    return ("deb", location, paragraph.get("SHA256") or None, hint, None)


def all_tasks(inputs, indexes=(), mirror=None):
    """Every Task: the command line's files and trees first, then each index's packages."""
    rows = [(kind, location, None, None, None) for kind, location in local_tasks(inputs)]
    for index_filename in indexes:
        rows.extend(index_tasks(index_filename, mirror))
    return [Task(number, *row) for number, row in enumerate(rows)]


def index_owners(index_filename):
    """{package: DebControl} of a Packages index, for naming what a Contents index lists."""
    fields = ["Package", "Version", "Source", "Conflicts", "Replaces", "Provides"]
    owners = {}
    for paragraph in _paragraphs(index_filename, fields):
        try:
            control = deb_control_of(paragraph)
        except ValueError:  # a name no Contents index line can hold: not one to name
            continue
        owners[control.package] = control
    return owners
