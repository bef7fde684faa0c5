"""Inventory: list the Python places of one package tree and everything in them.

Nothing here follows a symlink or changes the tree.  Links are recorded with
their text and their lexical resolution (links.resolve), so later stages
never need to ask the kernel to follow or read one.
"""

import os
import stat
from collections import namedtuple

from pyshared_tools import SHARED_DIR
from pyshared_tools.engine.links import resolve_lenient
from pyshared_tools.errors import TreeError
from pyshared_tools.rules import layouts


class Entry(
    namedtuple(
        "Entry",
        (
            "place",  # layouts.Place
            "rel",  # str: relative to the place
            "kind",  # str: "file", "link", "dir"
            "mode",  # int
        ),
    )
):
    __slots__ = ()

    @property
    def path(self):
        return f"{self.place.path}/{self.rel}"


class Inventory:
    __slots__ = ("entries", "link_texts", "metadata", "package", "places", "resolutions", "root")

    def __init__(
        self, root, package, places=None, entries=None, metadata=None, resolutions=None, link_texts=None
    ):
        self.root = root  # str
        self.package = package  # str
        self.places = [] if places is None else places
        self.entries = [] if entries is None else entries  # files and links (and dirs, for emptiness)
        self.metadata = [] if metadata is None else metadata  # (path, helper)
        self.resolutions = {} if resolutions is None else resolutions  # link path -> links.Resolution
        # link path -> its text (os.readlink), read once here for every later stage
        self.link_texts = {} if link_texts is None else link_texts

    @property
    def has_python(self):
        return bool(self.places or self.metadata)


def _list_dirs(root, rel, pattern=None):
    try:
        with os.scandir(os.path.join(root, rel)) as it:
            names = sorted(e.name for e in it if e.is_dir(follow_symlinks=False))
    except (FileNotFoundError, NotADirectoryError):
        return []
    return [f"{rel}/{n}" for n in names if pattern is None or pattern.fullmatch(n)]


def _list_files(root, rel):
    try:
        with os.scandir(os.path.join(root, rel)) as it:
            return sorted(f"{rel}/{e.name}" for e in it if not e.is_dir(follow_symlinks=False))
    except (FileNotFoundError, NotADirectoryError):
        return []


def candidate_directories(root, shared_dir):
    """Every directory that the layout table might classify, in a stable order: the rules'
    literal components joined, their regex components matched against the directories
    there (never through a symlink).  Rules under one search parent (the literal part
    before the first regex) come out together, in name order, where the first of them
    stands in RULES."""
    yield shared_dir
    groups = {}
    for components in layouts.search_components():
        literal = 0
        while literal < len(components) and isinstance(components[literal], str):
            literal += 1
        parent = "/".join(components[:literal])
        paths = [parent]
        for component in components[literal:]:
            if isinstance(component, str):
                paths = [f"{path}/{component}" for path in paths]
            else:
                paths = [child for path in paths for child in _list_dirs(root, path, component)]
        groups.setdefault(parent, set()).update(paths)
    for paths in groups.values():
        yield from sorted(paths, key=lambda path: path.split("/"))


def candidate_metadata(root):
    yield from _list_files(root, "usr/share/python-support")
    yield from _list_files(root, "usr/share/pyshared-data")


def check_name(path, package):
    if "\n" in path or "\r" in path:
        raise TreeError(
            "file name contains a line break",
            f"{path!r} in {package}",
            "rename it in the upstream build: dpkg-deb refuses such names",
        )
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        raise TreeError(
            "file name is not valid UTF-8",
            f"{path.encode('utf-8', 'surrogateescape')!r} in {package}",
            "rename it to UTF-8 in the upstream build",
        ) from None


def take_inventory(root, package, shared_dir=SHARED_DIR):
    if not os.path.isdir(root) or os.path.islink(root):
        raise TreeError(
            "package tree does not exist",
            f"{root} for {package}",
            "run dh_auto_install first, or pass -P with the right directory",
        )
    inventory = Inventory(root=root, package=package)
    seen = set()
    for path in candidate_directories(root, shared_dir):
        if path in seen:
            continue
        seen.add(path)
        # A literal place (usr/share/pyshared...) is a candidate whether it exists or
        # not: looked up first, so that match_place compiles no rule for a missing one.
        try:
            mode = os.lstat(os.path.join(root, path)).st_mode
        except (FileNotFoundError, NotADirectoryError):
            continue
        if not stat.S_ISDIR(mode):
            continue
        place = layouts.match_place(path, shared_dir)
        if place is None:
            continue
        if not _parents_are_directories(root, path):
            continue
        inventory.places.append(place)
        _walk(inventory, place, "")
    for path in candidate_metadata(root):
        helper = layouts.match_metadata(path)
        if helper and stat.S_ISREG(os.lstat(os.path.join(root, path)).st_mode):
            check_name(path, package)
            inventory.metadata.append((path, helper))
    links = [entry.path for entry in inventory.entries if entry.kind == "link"]
    texts = inventory.link_texts
    for path in links:
        texts[path] = os.readlink(os.path.join(root, path))
    for path in links:  # each hop through a link of the tree reads its text from `texts`
        inventory.resolutions[path] = resolve_lenient(root, path, package, texts)
    return inventory


def _parents_are_directories(root, path):
    parts = path.split("/")
    return all(stat.S_ISDIR(os.lstat(os.path.join(root, *parts[:i])).st_mode) for i in range(1, len(parts)))


def _walk(inventory, place, rel):
    """Every entry below the place, depth first in name order, without recursion
    (a tree thousands of directories deep is walked like a flat one)."""
    stack = [_children(inventory, place, rel)]
    while stack:
        for child_rel, mode in stack[-1]:
            check_name(f"{place.path}/{child_rel}", inventory.package)
            if stat.S_ISLNK(mode):
                inventory.entries.append(Entry(place, child_rel, "link", mode))
            elif stat.S_ISDIR(mode):
                inventory.entries.append(Entry(place, child_rel, "dir", mode))
                stack.append(_children(inventory, place, child_rel))
                break
            elif stat.S_ISREG(mode):
                inventory.entries.append(Entry(place, child_rel, "file", mode))
            else:
                raise TreeError(
                    "not a regular file, directory or symlink",
                    f"{place.path}/{child_rel} in {inventory.package}",
                    "remove the device, socket or FIFO from the package tree",
                )
        else:
            stack.pop()


def _children(inventory, place, rel):
    """An iterator over (rel, lstat mode) of a directory's entries, in name order."""
    directory = os.path.join(inventory.root, place.path, rel)
    with os.scandir(directory) as it:
        children = sorted((child.name, child.stat(follow_symlinks=False).st_mode) for child in it)
    return iter([(f"{rel}/{name}" if rel else name, mode) for name, mode in children])
