"""Links of the package that point into what the plan moves.

A ``usr/bin/foo -> ../lib/python3.11/site-packages/foo/cli.py`` would dangle
once ``cli.py`` moved to the shared directory.  Every link of the package
outside the module places (and every link inside them the plan leaves alone)
whose target lies in a moved file or a dissolved directory is pointed at the
new place: a relative link stays relative, an absolute one absolute.  Targets
are read lexically (links.link_target_in_tree); nothing is followed.

A link of the package that moves itself (views.KeptLink) is made again at
its destination, naming where its target went (moved_links).
"""

import os
import stat

from pyshared_tools.engine.actions import Action
from pyshared_tools.engine.links import MAXIMUM_LINK_DEPTH
from pyshared_tools.engine.views import KeptLink


def package_links(root, skipped_directories):
    """Tree-relative paths of every symlink under `root`, outside `skipped_directories`
    (the places the inventory already walked).  Iterative: depth costs no recursion."""
    found = []
    pending = [""]
    while pending:
        directory = pending.pop()
        with os.scandir(os.path.join(root, directory) if directory else root) as entries:
            children = sorted(entries, key=lambda entry: entry.name)
        for child in reversed(children):
            rel = f"{directory}/{child.name}" if directory else child.name
            mode = child.stat(follow_symlinks=False).st_mode
            if stat.S_ISLNK(mode):
                found.append(rel)
            elif stat.S_ISDIR(mode) and rel not in skipped_directories:
                pending.append(rel)
    return sorted(found)


class Relocation:
    """Where a tree path ends up once the plan has run (None: it does not move)."""

    def __init__(self, actions, resolutions):
        self.files = {}  # source -> destination of a moved file, or None when it went to several
        self.several = {}  # source -> every destination of a file that went to several
        self.directories = {}  # dissolved directory -> its new directory, or None when ambiguous
        self.resolutions = resolutions  # link path -> links.Resolution (the inventory's)
        removed_links = set()
        dissolved = set()
        copies = {}
        for action in actions:
            if action.op == "copy":
                copies.setdefault(action.source, set()).add(action.path)
            elif action.op == "move":
                several = copies.get(action.source)
                self.files[action.source] = None if several else action.path
                if several:
                    self.several[action.source] = sorted({*several, action.path})
            elif action.op == "unlink":
                if action.keep:
                    self.files.setdefault(action.path, action.keep)
                elif action.path in resolutions:
                    removed_links.add(action.path)
            elif action.op == "rmdir":
                dissolved.add(action.path)
        self.removed_links = removed_links
        walked = set()  # (source dir, destination dir) pairs whose walk up is done
        for source, destination in list(self.files.items()):
            if destination is not None:
                self._map_parents(source, destination, dissolved, walked)

    def _map_parents(self, source, destination, dissolved, walked):
        source_dir, destination_dir = os.path.dirname(source), os.path.dirname(destination)
        while source_dir in dissolved and source_dir != destination_dir:
            # The same pair gives the same steps up as before: the files of one
            # directory walk it once, not once each.
            if (source_dir, destination_dir) in walked:
                break
            walked.add((source_dir, destination_dir))
            known = self.directories.get(source_dir, destination_dir)
            self.directories[source_dir] = destination_dir if known == destination_dir else None
            if os.path.basename(source_dir) != os.path.basename(destination_dir):
                break
            source_dir, destination_dir = os.path.dirname(source_dir), os.path.dirname(destination_dir)

    def add_moved_link(self, origin, destination):
        """A link the plan moves (modules.KeptLink) from `origin` to `destination`."""
        if origin in self.files and self.files[origin] != destination:
            self.several[origin] = sorted({*self.several.get(origin, [self.files[origin]]), destination})
            self.files[origin] = None
        else:
            self.files[origin] = destination

    def new_path(self, path, near=None):
        """(new path, ambiguous): the final place of `path`, or (None, False) when it stays.
        A file that went to several places is ambiguous, unless `near` is given:
        then the one sharing the longest leading directories with `near`."""
        for _ in range(MAXIMUM_LINK_DEPTH):
            if path in self.files:
                if self.files[path] is None and near is not None and path in self.several:
                    return max(self.several[path], key=lambda d: _shared_depth(d, near)), False
                return self.files[path], self.files[path] is None
            if path in self.removed_links:
                resolution = self.resolutions[path]
                if not resolution.exists:
                    return None, False
                path = resolution.path
                if path not in self.files and not self._in_directory(path):
                    return path, False
                continue
            prefix = self._in_directory(path)
            if prefix is None:
                return None, False
            directory = self.directories[prefix]
            if directory is None:
                return None, True
            return directory + path[len(prefix) :], False
        return None, True

    def _in_directory(self, path):
        candidate = path
        while candidate:
            if candidate in self.directories:
                return candidate
            candidate = os.path.dirname(candidate)
        return None


def _shared_depth(a, b):
    depth = 0
    for x, y in zip(a.split("/"), b.split("/"), strict=False):
        if x != y:
            break
        depth += 1
    return depth


def new_targets(root, links, relocation, package):
    """([(link, new link text)], warnings) for `links` whose targets move."""
    from pyshared_tools.engine.links import link_target_in_tree

    retargets, warnings = [], []
    for link in links:
        text = os.readlink(os.path.join(root, link))
        target = link_target_in_tree(link, text)
        if target is None:
            continue
        new, ambiguous = relocation.new_path(target)
        if ambiguous:
            warnings.append(
                f"link points at a file that goes to several places, {link} -> {text} in {package}, "
                "point the link at one of them in the build"
            )
            continue
        if new is None or new == target:
            continue
        new_text = "/" + new if text.startswith("/") else os.path.relpath(new, os.path.dirname(link) or ".")
        retargets.append((link, new_text))
    return retargets, warnings


def moved_links(inventory, context, views, chosen, actions):
    """(symlink actions of the kept links that move, pointing where their targets
    went; symlink actions retargeting the package's links onto what moves; the
    warnings of links that cannot follow), once `actions` hold every move."""
    moved = sorted((d, p.module) for d, p in chosen.items() if isinstance(p.module, KeptLink))
    relocation = _relocation(inventory, actions, moved)
    if relocation is None:
        return [], [], []
    made = [Action("symlink", dest, target=_moved_target(relocation, link, dest)) for dest, link in moved]
    warnings = []
    retargeted = [
        action
        for action in _retargeted_links(inventory, views, relocation, warnings)
        if not context.excluded(action.path)
    ]
    return made, retargeted, warnings


def _relocation(inventory, actions, moved):
    """Where every moved file, moved link and dissolved directory goes
    (Relocation), or None when nothing moves."""
    if not moved and not any(action.op == "move" for action in actions):
        return None
    relocation = Relocation(actions, inventory.resolutions)
    for dest, link in moved:
        relocation.add_moved_link(link.origin, dest)
    return relocation


def _moved_target(relocation, link, dest):
    """The text of a moved link at `dest`: it names where its target went, or,
    when the target does not move (another package's path, a missing file), the
    same absolute path as before; relative or absolute as it was."""
    from pyshared_tools.engine.links import named_path

    target = named_path(link.origin, link.target)
    new, _ = relocation.new_path(target, near=dest)
    new = target if new is None else new
    if new == target and os.path.dirname(dest) == os.path.dirname(link.origin):
        return link.target
    if link.target.startswith("/"):
        return "/" + new
    return os.path.relpath(new or ".", os.path.dirname(dest) or ".")


def _retargeted_links(inventory, views, relocation, warnings):
    """symlink actions for the package's other links into what moves (new_targets)."""
    walked = {place.path for place in inventory.places}
    links = package_links(inventory.root, walked) + list(views.untouched_links)
    retargets, problems = new_targets(inventory.root, links, relocation, inventory.package)
    warnings.extend(problems)
    return [Action("symlink", link, target=text, reason="retarget") for link, text in retargets]
