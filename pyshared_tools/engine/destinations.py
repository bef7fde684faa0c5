"""The destinations of a plan: placements grouped by where they land, every
destination checked against the tree, the copies and moves that fill them,
the directories to make and the ones the plan leaves empty.

Reads the tree (lstat, listdir), changes nothing.
"""

import os
import stat
from collections import namedtuple

from pyshared_tools.engine.actions import Action
from pyshared_tools.engine.placement import same_content
from pyshared_tools.engine.views import KeptLink
from pyshared_tools.errors import CollisionError
from pyshared_tools.rules import layouts


def choose(inventory, placements):
    """(dest -> its placements, dest -> the one kept): two placements of one destination must
    be the same file (_check_duplicate)."""
    by_dest = {}
    for placement in placements:
        by_dest.setdefault(placement.dest, []).append(placement)
    chosen = {}
    for dest, dest_placements in by_dest.items():
        first = dest_placements[0]
        for other in dest_placements[1:]:
            _check_duplicate(inventory, first, other)
        chosen[dest] = first
    return by_dest, chosen


def _check_duplicate(inventory, first, other):
    if other.duplicate_ok or isinstance(first.module, KeptLink) or isinstance(other.module, KeptLink):
        if isinstance(first.module, KeptLink) != isinstance(other.module, KeptLink):
            _collision(inventory, first, other)
        return
    if not same_content(inventory.root, first.module.source, other.module.source):
        _collision(inventory, first, other)


def _collision(inventory, first, other):
    raise CollisionError(
        "two sources with different content would land on one destination",
        f"{first.module.origin} and {other.module.origin} -> {first.dest} in {inventory.package}",
        "make them identical, or remove one from the build",
    )


Sources = namedtuple(
    "Sources",
    (
        "staying",  # {dest}: files that stay where they are
        "replaced_links",  # {path}: links of the package a file replaces
        "moving",  # {source: [dest, ...]}: where each source is copied or moved to, sorted
    ),
)


def sources(chosen):
    """Where the kept files come from (Sources)."""
    files = {d: p.module for d, p in chosen.items() if not isinstance(p.module, KeptLink)}
    sources_staying = {d for d, module in files.items() if module.source == d}
    replaced_links = {module.origin for d, module in files.items() if module.origin == d != module.source}
    moving = {}
    for dest, placement in sorted(chosen.items()):
        module = placement.module
        if isinstance(module, KeptLink) or module.source == dest:
            continue
        moving.setdefault(module.source, []).append(dest)
    return Sources(sources_staying, replaced_links, moving)


def validate(inventory, chosen, sources, home_dir_links):
    """Every destination against the tree: no link on the way (but a directory link in a
    home, which goes first) or at it (but a link a file replaces), no directory or other
    file at it, a real directory wherever one is needed."""
    root = inventory.root
    # A parent directory already looked at: True (a real directory, go on) or
    # False (absent, or a link the move goes through: stop), so that the files
    # of one directory lstat it once.
    parents = {}
    for dest in chosen:
        parts = dest.split("/")
        for i in range(1, len(parts) + 1):
            partial = "/".join(parts[:i])
            last = i == len(parts)
            if not last and partial in parents:
                if parents[partial]:
                    continue
                break
            try:
                mode = os.lstat(os.path.join(root, partial)).st_mode
            except (FileNotFoundError, NotADirectoryError):
                if not last:
                    parents[partial] = False
                break
            if stat.S_ISLNK(mode):
                if partial in home_dir_links or (last and partial in sources.replaced_links):
                    if not last:
                        parents[partial] = False
                    break
                raise CollisionError(
                    "destination runs through or onto a symlink",
                    f"{partial} (for {dest}) in {inventory.package}",
                    "replace the link with a real directory or file in the build",
                )
            if last:
                if stat.S_ISDIR(mode):
                    raise CollisionError(
                        "a file would replace a directory",
                        f"{dest} in {inventory.package}",
                        "rename one of them in the build",
                    )
                if dest not in sources.staying:
                    raise CollisionError(
                        "destination already holds another file",
                        f"{dest} in {inventory.package}",
                        "remove one of them from the build",
                    )
            elif not stat.S_ISDIR(mode):
                raise CollisionError(
                    "a directory is needed where a file is",
                    f"{partial} (for {dest}) in {inventory.package}",
                    "rename one of them in the build",
                )
            else:
                parents[partial] = True


def directories_to_make(root, chosen, home_dir_links):
    needed = set()
    for dest in chosen:
        parent = os.path.dirname(dest)
        while parent and parent not in needed:
            needed.add(parent)
            parent = os.path.dirname(parent)
    missing = []
    for directory in sorted(needed, key=lambda d: (d.count("/"), d)):
        full = os.path.join(root, directory)
        if (
            os.path.dirname(directory) in missing
            or directory in home_dir_links
            or os.path.islink(full)
            or not os.path.isdir(full)
        ):
            missing.append(directory)
    return missing


def copies_and_moves(sources, removed):
    """A source going to several destinations is copied to all but the last, moved there
    (copied to every one when it also stays); a moved source joins `removed`."""
    actions = []
    for source, dests in sorted(sources.moving.items()):
        final = [] if source in sources.staying else dests[-1:]
        actions += [Action("copy", d, source=source) for d in dests if d not in final]
        actions += [Action("move", d, source=source) for d in final]
        if final:
            removed.add(source)
    return actions


def emptied_directories(inventory, removed, chosen, new_dirs):
    root = inventory.root
    # Each walk up stops at a directory an earlier walk reached: linear in the
    # number of directories, not quadratic in the depth of the tree.
    walked = set()
    for dest in chosen:
        parent = os.path.dirname(dest)
        while parent and parent not in walked:
            walked.add(parent)
            parent = os.path.dirname(parent)
    occupied = set(new_dirs) | walked
    candidates = set()
    for place in inventory.places:
        if not place.home:
            candidates.add(place.path)
    for entry in inventory.entries:
        if entry.kind == "dir" and (not entry.place.home or entry.rel.split("/")[-1] == "__pycache__"):
            candidates.add(entry.path)
    for path in removed:
        candidates.add(os.path.dirname(path))
    walked = set()
    for path in candidates:
        parent = os.path.dirname(path)
        while parent and parent not in layouts.KEEP_DIRECTORIES and parent not in walked:
            walked.add(parent)
            parent = os.path.dirname(parent)
    candidates |= walked
    home_paths = {p.path for p in inventory.places if p.home}
    candidates -= occupied | home_paths | layouts.KEEP_DIRECTORIES
    removable = set()
    for directory in sorted(candidates, key=lambda d: -d.count("/")):
        full = os.path.join(root, directory)
        if os.path.islink(full) or not os.path.isdir(full):
            continue
        children = [f"{directory}/{name}" for name in os.listdir(full)]
        if all(c in removed or c in removable for c in children):
            removable.add(directory)
    return sorted(removable, key=lambda d: (-d.count("/"), d))
