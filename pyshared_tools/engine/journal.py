"""Apply a plan through a journal: idempotent, and resumable after SIGKILL.

The whole action list is written to the journal (atomically) before the
first change; every action is safe to run again; the journal is removed only
after the last one.  A run that finds a journal replays it first, so a run
killed at any point and run again ends in the same tree, and no file is
lost: a file is removed only when its kept copy is in place.
"""

import os
import stat

from pyshared_tools import files, log
from pyshared_tools.engine.actions import DIRECTORY_FARM_LINK, PATCHELF
from pyshared_tools.errors import ExternalToolError, TreeError

JOURNAL_VERSION = 1
_TEMPORARY_SUFFIX = ".dh-pyshared-new"


def journal_path(package):
    return os.path.join("debian", ".debhelper", "pyshared", f"{package}.journal")


def write_journal(path, root, actions):
    import json

    files.check_directories(os.path.dirname(path), create=True)
    document = {"version": JOURNAL_VERSION, "root": root, "actions": [a.to_dict() for a in actions]}
    files.replace_text(path, json.dumps(document, ensure_ascii=False), durable=True)


def apply(root, actions, journal, verbose=False):
    if not actions:
        return
    write_journal(journal, root, actions)
    _run(root, [a.to_dict() for a in actions], verbose, [a.describe() for a in actions])
    os.unlink(journal)


def resume(journal, root, verbose=False):
    """Replay an interrupted run's journal for the package tree `root`; True
    when there was one.  The journal is data from disk: it is replayed only
    when it is exactly what write_journal() writes for `root`."""
    data = files.read_bytes(journal, limit=JOURNAL_LIMIT, missing_ok=True)
    if data is None:
        return False
    actions = validated_journal(journal, root, data)
    _run(root, actions, verbose, [f"{a['op']} {a['path']} (resumed)" for a in actions])
    os.unlink(journal)
    return True


# op -> (required fields, optional fields) besides "op"; every field a string.
JOURNAL_FIELDS = {
    "mkdir": ({"path"}, set()),
    "copy": ({"path", "source"}, set()),
    "move": ({"path", "source"}, set()),
    "symlink": ({"path", "target"}, {"reason"}),
    "drop-needed": ({"path", "needed"}, set()),
    "rewrite-record": ({"path", "content"}, set()),
    "unlink": ({"path"}, {"keep", "reason"}),
    "rmdir": ({"path"}, set()),
}
_TREE_PATH_FIELDS = ("path", "source", "keep")


def validated_journal(journal, root, data):
    """The actions of the journal text `data`, or a one-line refusal: the
    version, a root equal to the package tree, known operations with their
    fields, every path relative, normalised and inside the tree."""
    import json

    from pyshared_tools.rules.checks import LIBPYTHON

    def refuse(reason):
        return TreeError(
            f"{journal} is a journal this run did not write ({reason})",
            f"for {root}",
            "remove it, restore the package tree from a clean build and run dh_pyshared again",
        )

    try:
        document = json.loads(files.decode(journal, data))
    except (ValueError, RecursionError):
        raise refuse("not JSON") from None
    if not isinstance(document, dict) or set(document) != {"version", "root", "actions"}:
        raise refuse("not a journal object")
    if type(document["version"]) is not int or document["version"] != JOURNAL_VERSION:
        raise refuse(f"version {_shown(document['version'])}, not {JOURNAL_VERSION}")
    if document["root"] != root:
        raise refuse(f"root {_shown(document['root'])}, not {root!r}")
    actions = document["actions"]
    if not isinstance(actions, list) or not actions:
        raise refuse("no action list")
    for number, action in enumerate(actions, start=1):
        if not isinstance(action, dict) or action.get("op") not in JOURNAL_FIELDS:
            raise refuse(f"action {number} is not one dh_pyshared writes")
        required, optional = JOURNAL_FIELDS[action["op"]]
        fields = set(action) - {"op"}
        if not required <= fields <= required | optional:
            raise refuse(f"action {number} ({action['op']}) has the fields {sorted(fields)}")
        for name in fields:
            value = action[name]
            if not isinstance(value, str) or not value or _CONTROL.intersection(value):
                raise refuse(f"action {number} has a bad {name} {_shown(value)}")
            if name in _TREE_PATH_FIELDS and not _inside_tree(value):
                raise refuse(f"action {number} has a {name} outside the tree: {_shown(value)}")
        if action["op"] == "drop-needed" and not LIBPYTHON.fullmatch(action["needed"]):
            raise refuse(f"action {number} drops {_shown(action['needed'])}, not a libpython")
        if action["op"] == "rewrite-record" and not _json_string(action["content"]):
            raise refuse(f"action {number} has a content that is not one JSON string")
    return actions


JOURNAL_LIMIT = 256 << 20
_CONTROL = frozenset(chr(c) for c in range(32)) | {"\x7f"}


def _inside_tree(rel):
    """A tree-relative path: not absolute, normalised, never climbing."""
    import posixpath

    return not rel.startswith("/") and posixpath.normpath(rel) == rel and ".." not in rel.split("/")


def _json_string(text):
    import json

    try:
        return isinstance(json.loads(text), str)
    except (ValueError, RecursionError):
        return False


def _shown(value):
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _run(root, actions, verbose, descriptions):
    guard = _TreeGuard(root)
    for action, description in zip(actions, descriptions, strict=True):
        if verbose:
            log.action(description)
        _OPERATIONS[action["op"]](guard, action)


class _TreeGuard:
    """Paths inside the tree whose every parent is a real directory."""

    def __init__(self, root):
        self.root = root
        self.checked = {""}
        info = _lstat(root)
        if info is None or not stat.S_ISDIR(info.st_mode):
            raise TreeError(
                "the package tree is not a real directory",
                root,
                "restore the package tree from a clean build",
            )

    def path(self, rel):
        """The full path, or None when a parent directory no longer exists
        (a replayed journal reaching what a later action already removed)."""
        parent = os.path.dirname(rel)
        missing = []
        while parent not in self.checked:
            missing.append(parent)
            parent = os.path.dirname(parent)
        for directory in reversed(missing):
            info = _lstat(os.path.join(self.root, directory))
            if info is None:
                return None
            if not stat.S_ISDIR(info.st_mode):
                raise TreeError(
                    "a parent directory was replaced by something else during the run",
                    f"{directory} in {self.root}",
                    "restore the package tree from a clean build",
                )
            self.checked.add(directory)
        return os.path.join(self.root, rel)

    def existing(self, rel):
        """lstat of rel, or None when it (or a parent) is gone."""
        path = self.path(rel)
        return None if path is None else _lstat(path)

    def forget(self, rel):
        self.checked.discard(rel)


def _lstat(path):
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None


def _mkdir(guard, action):
    path = guard.path(action["path"])
    if path is None:
        _inconsistent(action, "has lost its parent directory")
    info = _lstat(path)
    if info and stat.S_ISDIR(info.st_mode):
        return
    if info:
        _inconsistent(action, "is not a directory")
    os.mkdir(path, 0o755)


def _copy(guard, action):
    source_info, dest_info = guard.existing(action["source"]), guard.existing(action["path"])
    if source_info is None:
        if dest_info and stat.S_ISREG(dest_info.st_mode):
            return
        _inconsistent(action, "has lost its source")
    if not stat.S_ISREG(source_info.st_mode):
        _inconsistent(action, "has a source that is no longer a regular file")
    source, dest = guard.path(action["source"]), guard.path(action["path"])
    if dest is None:
        _inconsistent(action, "has lost its parent directory")
    if dest_info and stat.S_ISREG(dest_info.st_mode) and _equal(source, dest):
        return
    temporary = dest + _TEMPORARY_SUFFIX
    if _lstat(temporary):
        os.unlink(temporary)  # left by a run killed here; never written through
    fd = os.open(source, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            _inconsistent(action, "has a source that is no longer a regular file")
        files.copy_exclusive(fd, temporary, stat.S_IMODE(source_info.st_mode))
    finally:
        os.close(fd)
    os.replace(temporary, dest)


def _move(guard, action):
    source_info = guard.existing(action["source"])
    if source_info and stat.S_ISREG(source_info.st_mode):
        dest = guard.path(action["path"])
        if dest is None:
            _inconsistent(action, "has lost its parent directory")
        os.replace(guard.path(action["source"]), dest)
        return
    dest_info = guard.existing(action["path"])
    if dest_info and stat.S_ISREG(dest_info.st_mode):
        return
    _inconsistent(action, "has lost its source")


def _symlink(guard, action):
    dest = guard.path(action["path"])
    if dest is None:
        _inconsistent(action, "has lost its parent directory")
    info = _lstat(dest)
    if info and stat.S_ISLNK(info.st_mode) and os.readlink(dest) == action["target"]:
        return
    temporary = dest + _TEMPORARY_SUFFIX
    if _lstat(temporary):
        os.unlink(temporary)
    os.symlink(action["target"], temporary)
    os.replace(temporary, dest)


def _drop_needed(guard, action):
    """Drop one DT_NEEDED entry: patchelf edits a copy, which then replaces the
    file, so a kill leaves the old or the new file, never a half-written one;
    a file without the entry is already done."""
    from pyshared_tools.rules import elf

    info = guard.existing(action["path"])
    if info is None or not stat.S_ISREG(info.st_mode):
        _inconsistent(action, "is no longer a regular file")
    path = guard.path(action["path"])
    soname = action["needed"]
    if soname not in elf.needed_sonames(elf.read_candidate(path), action["path"]):
        return
    import shutil

    from pyshared_tools.commands import run

    temporary = path + _TEMPORARY_SUFFIX
    if _lstat(temporary):
        os.unlink(temporary)  # left by a run killed here; never write through a link
    shutil.copyfile(path, temporary, follow_symlinks=False)
    os.chmod(temporary, stat.S_IMODE(info.st_mode))
    where = f"on {action['path']} in {guard.root}"
    todo = f"install a working {PATCHELF}, or drop --fix-libpython"
    try:
        shown = f"{PATCHELF} --remove-needed {soname}"
        run(PATCHELF, ["--remove-needed", soname, temporary], where=where, todo=todo, shown=shown)
    except ExternalToolError:
        os.unlink(temporary)
        raise
    if soname in elf.needed_sonames(elf.read_candidate(temporary)):
        os.unlink(temporary)
        raise ExternalToolError(f"{PATCHELF} --remove-needed {soname} kept it", where, todo)
    os.replace(temporary, path)


def _rewrite_record(guard, action):
    """Write a RECORD's new text (its files' new names): atomic, and a replay
    over the written text does nothing."""
    import json

    info = guard.existing(action["path"])
    if info is None or not stat.S_ISREG(info.st_mode):
        _inconsistent(action, "is no longer a regular file")
    path = guard.path(action["path"])
    text = json.loads(action["content"])
    if files.read_bytes(path, limit=len(text.encode("utf-8")) + 1, head=True) == text.encode("utf-8"):
        return
    files.replace_text(path, text)
    os.chmod(path, stat.S_IMODE(info.st_mode))


def _unlink(guard, action):
    info = guard.existing(action["path"])
    if info is None:
        return
    if stat.S_ISDIR(info.st_mode):
        if action.get("reason") == DIRECTORY_FARM_LINK:
            return  # replaced by the real directory a later action made
        _inconsistent(action, "is a directory")
    keep = action.get("keep")
    if keep:
        kept = guard.existing(keep)
        if kept is None or not stat.S_ISREG(kept.st_mode):
            _inconsistent(action, f"would be removed but its kept copy {keep} is missing")
    os.unlink(guard.path(action["path"]))
    guard.forget(action["path"])


def _rmdir(guard, action):
    if guard.existing(action["path"]) is None:
        return
    try:
        os.rmdir(guard.path(action["path"]))
    except OSError as error:
        _inconsistent(action, f"cannot be removed ({error.strerror})")
    guard.forget(action["path"])


def _equal(a, b):
    from pyshared_tools.engine.placement import same_content

    return same_content("", a, b)


def _inconsistent(action, problem):
    raise TreeError(
        f"{action['path']} {problem}",
        f"while applying {action['op']}",
        "the tree changed during the run; restore it from a clean build and run again",
    )


_OPERATIONS = {
    "mkdir": _mkdir,
    "copy": _copy,
    "move": _move,
    "symlink": _symlink,
    "drop-needed": _drop_needed,
    "rewrite-record": _rewrite_record,
    "unlink": _unlink,
    "rmdir": _rmdir,
}
