"""Before the first change: may the user running dh_pyshared make every change planned?

Under ``Rules-Requires-Root: no`` dh runs dh_pyshared as the build user, an
ordinary account, which cannot change a directory the build installed without
write permission (mode 0555).  apply would meet it at the first entry it
creates, renames or removes there, with the tree already half changed.  This
names, before anything changes, every directory the run changes an entry of:
in the package trees (the parent of each path an action creates, replaces,
moves or removes; directories the run itself creates are its own) and in
debian/ (journal, records, substvars, snippets), and every file it copies
(read).  Root passes access(2)'s checks whatever the mode, except for writing
on a read-only file system.
"""

import os

from pyshared_tools.errors import AccessError
from pyshared_tools.files import read_problem, write_problem


def check_access(plans, outputs):
    """Raise AccessError for the first directory the run must change but cannot
    (or file it must copy but cannot read)."""
    checked = set()
    for kind, path, purpose, needed in _needs(plans, outputs):
        if (kind, path) in checked:
            continue
        problem = _PROBLEMS[kind](path)
        if problem is None:
            checked.add((kind, path))
        elif needed is None or needed():
            state, todo = problem
            raise AccessError(f"cannot {kind} {path} ({state})", f"needed to {purpose}", todo)


def _needs(plans, outputs):
    """("write", existing directory, what for, None or a callable: is the change
    really needed) and ("read", file, what for, None), in the order the run
    makes the changes."""
    from pyshared_tools.debhelper.substvars import substvars_path
    from pyshared_tools.engine.journal import journal_path

    for path in sorted(outputs.legacy_writes):
        yield "write", _existing_parent(path), f"write {path}", None
    for plan in plans:
        if not plan.actions:
            continue
        path = journal_path(plan.package)
        yield "write", _existing_parent(path), f"write {path}", None
        created = {action.path for action in plan.actions if action.op == "mkdir"}
        for action in plan.actions:
            if action.op == "copy":
                yield "read", os.path.join(plan.root, action.source), f"copy it to {action.path}", None
            for rel, purpose in _action_needs(action):
                parent = os.path.dirname(rel)
                if parent not in created:
                    yield "write", os.path.join(plan.root, parent) if parent else plan.root, purpose, None
    for package, values in sorted(outputs.substvars.items()):
        path = substvars_path(package)
        changes = lambda path=path, values=values: _changes(path, values)  # noqa: E731
        yield "write", _existing_parent(path), f"write {path}", changes
    for path, text in sorted(outputs.snippet_writes.items()):
        yield "write", _existing_parent(path), f"{'remove' if text is None else 'write'} {path}", None


def _action_needs(action):
    """(tree path, what for) of each entry the action changes."""
    name = os.path.basename(action.path)
    if action.op == "mkdir":
        return [(action.path, f"create its directory {name}")]
    if action.op == "move":
        return [
            (action.source, f"move its module {os.path.basename(action.source)} out"),
            (action.path, f"move the module {name} into it"),
        ]
    if action.op in ("copy", "symlink"):
        return [(action.path, f"add {name}")]
    if action.op == "drop-needed":
        return [(action.path, f"replace {name} by its copy without {action.needed} (--fix-libpython)")]
    return [(action.path, f"remove {name}")]  # unlink, rmdir


def _existing_parent(path):
    """The nearest existing directory above `path` (makedirs creates the rest)."""
    parent = os.path.dirname(path) or "."
    while parent not in ("", ".", "/") and not os.path.lexists(parent):
        parent = os.path.dirname(parent)
    return parent or "."


def _changes(path, values):
    """Whether substvars.write would rewrite `path` for {name: value}."""
    from debian.substvars import Substvars

    try:
        current = Substvars.load_from_path(path, missing_ok=True)
    except OSError:
        return True
    return any(
        (name in current) if not value else current.get(name) != value for name, value in values.items()
    )


_PROBLEMS = {"write": write_problem, "read": read_problem}
