"""The dist-info RECORD files a plan places: dropped where the target
release's dh_python3 drops them, else rewritten to name the files where the
plan puts them.
"""

import os

from pyshared_tools.engine.actions import Action
from pyshared_tools.engine.views import KeptLink

RECORD_LIMIT = 64 << 20
# From this default Python 3 on (Debian unstable's dh_python3), a dist-info
# RECORD is dropped: its hashes differ between architectures, which a
# Multi-Arch: same package cannot ship.  Before it (bookworm's dh_python3),
# RECORD stays.
RECORD_DROPPED_FROM = (3, 14)


def records(inventory, context, chosen, decisions):
    """(RECORD files to remove, rewrite-record actions): every placed
    ``*.dist-info/RECORD`` of Python 3 is dropped when the target release's
    dh_python3 drops it (RECORD_DROPPED_FROM), else kept, rewritten when the
    plan renames, moves or removes a file it names (the path column follows
    the file; a removed file's line goes), left byte for byte otherwise."""
    records = sorted(
        (dest, placement.module)
        for dest, placement in chosen.items()
        if dest.endswith(".dist-info/RECORD")
        and not dest.startswith("usr/lib/python2.")
        and not isinstance(placement.module, KeptLink)
    )
    if not records:
        return [], []
    if context.default_version() >= RECORD_DROPPED_FROM:
        return [dest for dest, _ in records], []
    new_paths = {}
    for dest, placement in chosen.items():
        module = placement.module
        new_paths[module.origin] = dest
        if not isinstance(module, KeptLink):
            new_paths.setdefault(module.source, dest)
    for module in decisions.bytecode:
        new_paths.setdefault(module.origin, None)
    actions = []
    for dest, module in records:
        text = _rewritten_record(inventory, module, dest, new_paths)
        if text is not None:
            import json

            actions.append(Action("rewrite-record", dest, content=json.dumps(text, ensure_ascii=False)))
    return [], actions


def _rewritten_record(inventory, module, dest, new_paths):
    """The new text of the RECORD at `dest` (found at module.origin), or None
    when every path it names stays where it is."""
    import csv
    import io

    from pyshared_tools import files
    from pyshared_tools.engine.links import named_path

    text = files.read_text(os.path.join(inventory.root, module.source), limit=RECORD_LIMIT)
    old_base = os.path.dirname(os.path.dirname(module.origin))
    new_base = os.path.dirname(os.path.dirname(dest))
    rows = list(csv.reader(io.StringIO(text)))
    changed, kept = False, []
    for row in rows:
        if not row:
            continue
        old = named_path(f"{old_base}/x", row[0])
        new = new_paths.get(old, old)
        if new is None:
            changed = True
            continue
        if new == old and (old_base == new_base or old.startswith(old_base + "/")):
            name = row[0]  # not a file of the tree: stays a name inside the install
        elif row[0].startswith("/"):
            name = "/" + new
        else:
            name = os.path.relpath(new, new_base)
        changed |= name != row[0]
        kept.append([name, *row[1:]])
    if not changed:
        return None
    output = io.StringIO()
    csv.writer(output, lineterminator="\n").writerows(kept)
    return output.getvalue()
