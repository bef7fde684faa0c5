"""What to read, from the command line: .deb files, unpacked trees, and the .debs of Packages indexes.

Each becomes a Task numbered by its position in the whole input list, which
fixes the output order and the shards.
"""

import os
import posixpath
from collections import namedtuple

from ..errors import UsageError
from .codes import control_of
from .compression import open_index
from .tree import is_tree

# kind: "deb", "tree", or "missing" (problem says why); sha256: the Packages index's, else None;
# hint: a Control from the Packages index, else None.
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
            for directory, subdirectories, files in os.walk(given):
                subdirectories.sort()
                for name in list(subdirectories):
                    if is_tree(os.path.join(directory, name)):
                        subdirectories.remove(name)
                        found.append(("tree", os.path.join(directory, name)))
                found.extend(
                    ("deb", os.path.join(directory, name)) for name in sorted(files) if name.endswith(".deb")
                )
            if len(found) == before:
                raise UsageError(
                    f"nothing to scan in {given}: no .deb and no unpacked tree (DEBIAN/control) below it",
                    "on the command line",
                    "give the pool directory, .deb files or unpacked trees",
                )
        elif os.path.isfile(given):
            found.append(("deb", given))
        else:
            raise UsageError(
                f"no such file or directory: {given}",
                "on the command line",
                "give .deb files, unpacked trees or directories holding them",
            )
    return found


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


def _paragraphs(index_filename, fields):
    """The paragraphs of a Packages index (python-debian, only `fields` kept)."""
    from debian.deb822 import Packages

    with open_index(index_filename, "Packages index") as stream:
        try:
            yield from Packages.iter_paragraphs(stream, fields=fields, use_apt_pkg=False)
        except (UnicodeDecodeError, ValueError, EOFError, OSError) as error:
            raise UsageError(
                f"cannot read the Packages index ({error})",
                f"at {index_filename}",
                "give a Packages file as apt downloads it (plain, gzip, xz, bzip2, lz4, zstd)",
            ) from None


def _index_task(paragraph, mirror):
    hint = control_of(paragraph)
    filename = paragraph.get("Filename", "")
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
    """{package: Control} of a Packages index, for naming what a Contents index lists."""
    fields = ["Package", "Version", "Source", "Conflicts", "Replaces", "Provides"]
    return {control.package: control for control in map(control_of, _paragraphs(index_filename, fields))}
