"""From an Inventory to what each interpreter sees: the module views.

A farm link (a link into another place that is not a home: a storage place
of an old helper, another version's directory) is replaced by what it points
at: a link in
``usr/lib/python2.7/dist-packages`` to ``usr/share/pyshared/foo.py`` becomes
the module ``foo.py`` of Python 2.7's view, with that file as its source.
Nothing here touches the tree.
"""

import os
import stat
from collections import namedtuple

from pyshared_tools.engine.links import MAXIMUM_LINK_DEPTH, link_target_in_tree
from pyshared_tools.errors import LinkError, TreeError

ModuleFile = namedtuple(
    "ModuleFile",
    (
        "major",  # int | None: None: decided later (unlinked /usr/share/pyshared files)
        "version",  # tuple | None: None: the file served every version of its major
        "rel",  # str: path inside the module directory, as imported
        "source",  # str: tree-relative real file
        "origin",  # str: tree-relative path where it was found (a link or the file)
        "home_path",  # str | None: where it sits now when that is already a home
    ),
    defaults=(None,),
)


class KeptLink(
    namedtuple(
        "KeptLink",
        (
            "major",  # int | None
            "version",  # tuple | None
            "rel",  # str
            "target",  # str: the link text, as found
            "origin",  # str
        ),
    )
):
    """A link of the package outside a home that is not a farm link (a library
    link foo.so -> /usr/lib/<triplet>/libfoo.so.1, _foo.so -> foo/_foo.so
    between two files of one install, a link to another package's path): moved
    as a link, renamed with its target, never followed."""

    __slots__ = ()


class Views:
    __slots__ = ("consumed", "home_dir_links", "kept_links", "modules", "removed_links", "untouched_links")

    def __init__(
        self,
        modules=None,
        kept_links=None,
        removed_links=None,
        home_dir_links=None,
        consumed=None,
        untouched_links=None,
    ):
        self.modules = [] if modules is None else modules
        self.kept_links = [] if kept_links is None else kept_links
        self.removed_links = [] if removed_links is None else removed_links  # (path, reason)
        # directory links inside a home
        self.home_dir_links = [] if home_dir_links is None else home_dir_links
        self.consumed = set() if consumed is None else consumed  # storage files reached through links
        self.untouched_links = [] if untouched_links is None else untouched_links


class Places:
    """The places of an inventory, for finding the one a path lies in."""

    def __init__(self, places):
        self.by_path = sorted(places, key=lambda p: len(p.path), reverse=True)

    def containing(self, path):
        for place in self.by_path:
            if path == place.path or path.startswith(place.path + "/"):
                return place
        return None

    def storage_containing(self, path):
        """The storage place (only farm links made it importable) `path` lies in, or None."""
        place = self.containing(path)
        return place if place is not None and place.rule.storage else None


def build_views(inventory):
    places = Places(inventory.places)
    views = Views()
    builder = _Builder(inventory, places, views)
    for entry in inventory.entries:
        if entry.kind == "file":
            builder.add_file(entry.place, entry.rel, entry.path, entry.path)
        elif entry.kind == "link":
            builder.add_link(entry.place, entry.rel, entry.path)
    views.modules = [
        m
        for m in views.modules
        if not (m.origin == m.source and m.source in views.consumed and places.storage_containing(m.source))
    ]
    return views


class _Builder:
    def __init__(self, inventory, places, views):
        self.inventory = inventory
        self.root = inventory.root
        self.places = places
        self.views = views

    def _module(self, place, rel, source, origin):
        home_path = origin if (place.home and origin == source) else None
        self.views.modules.append(ModuleFile(place.major, place.version, rel, source, origin, home_path))

    def add_file(self, place, rel, source, origin):
        self._module(place, rel, source, origin)

    def link_kind(self, place, link_path):
        """ "farm" (a link into another, non-home place: followed and dissolved),
        "conflict" (a link outside a home onto a file in one: dropped), "kept"
        (a link in a home that stays as it is) or "moved" (a link of the
        package: moved as a link, never followed)."""
        resolution = self.inventory.resolutions[link_path]
        final = self.places.containing(resolution.path) if resolution.exists else None
        if final is not None and final.home and not place.home:
            return "conflict"
        target = link_target_in_tree(link_path, self._text(link_path))
        target_place = self.places.containing(target) if target is not None else None
        if target_place is not None and target_place.path != place.path and not target_place.home:
            return "farm"
        return "kept" if place.home else "moved"

    def add_link(self, place, rel, link_path):
        kind = self.link_kind(place, link_path)
        if kind == "conflict":
            self.views.removed_links.append((link_path, "conflict-link"))
            return
        if kind == "kept":
            self.views.untouched_links.append(link_path)
            return
        if kind == "moved":
            self._moved(place, rel, link_path)
            return
        resolution = self.inventory.resolutions[link_path]
        first_hop = link_target_in_tree(link_path, self._text(link_path))
        hop_place = self.places.containing(first_hop)
        if (
            not place.home
            and first_hop in self.inventory.resolutions
            and self.link_kind(hop_place, first_hop) == "moved"
        ):
            # A farm link onto a link of the package: that link is moved itself.
            self.views.removed_links.append((link_path, "farm-link"))
            return
        if resolution.is_file:
            self.views.consumed.add(resolution.path)
            self._module(place, rel, resolution.path, link_path)
            if not place.home:
                self.views.removed_links.append((link_path, "farm-link"))
        elif resolution.is_dir:
            if place.home:
                self.views.home_dir_links.append(link_path)
            else:
                self.views.removed_links.append((link_path, "farm-link"))
            self._add_directory(place, rel, resolution.path, depth=0)
        elif resolution.exists:
            raise TreeError(
                "link points at something that is not a file or directory",
                f"{link_path} in {self.inventory.package}",
                "ship a regular file instead",
            )
        else:
            self._unreadable_farm_link(link_path, resolution)

    def _add_directory(self, place, rel, target_dir, depth):
        """Every module below a linked directory, depth first in name order,
        without recursion; `depth` counts the directory links followed."""
        from pyshared_tools.engine.links import resolve_lenient

        stack = [self._directory_children(place, rel, target_dir, depth)]
        while stack:
            for child_rel, child_path, mode, depth in stack[-1]:
                if stat.S_ISREG(mode):
                    self.views.consumed.add(child_path)
                    self._module(place, child_rel, child_path, f"{place.path}/{child_rel}")
                elif stat.S_ISDIR(mode):
                    stack.append(self._directory_children(place, child_rel, child_path, depth))
                    break
                elif stat.S_ISLNK(mode):
                    resolution = self.inventory.resolutions.get(child_path) or resolve_lenient(
                        self.root, child_path, self.inventory.package, self.inventory.link_texts
                    )
                    storage = self.places.containing(child_path)
                    if (
                        storage is not None
                        and child_path in self.inventory.resolutions
                        and self.link_kind(storage, child_path) == "moved"
                    ):
                        self._moved(place, child_rel, child_path)
                    elif resolution.is_file:
                        self.views.consumed.add(resolution.path)
                        self._module(place, child_rel, resolution.path, child_path)
                    elif resolution.is_dir:
                        stack.append(self._directory_children(place, child_rel, resolution.path, depth + 1))
                        break
                    else:
                        self._unreadable_farm_link(child_path, resolution)
                else:
                    raise TreeError(
                        "not a regular file, directory or symlink",
                        f"{child_path} in {self.inventory.package}",
                        "remove it from the package tree",
                    )
            else:
                stack.pop()

    def _directory_children(self, place, rel, target_dir, depth):
        if depth > MAXIMUM_LINK_DEPTH:
            raise LinkError(
                "directory links nest too deeply",
                f"{place.path}/{rel} in {self.inventory.package}",
                "make the farm point at real directories",
            )
        with os.scandir(os.path.join(self.root, target_dir)) as it:
            children = sorted((child.name, child.stat(follow_symlinks=False).st_mode) for child in it)
        return iter([(f"{rel}/{name}", f"{target_dir}/{name}", mode, depth) for name, mode in children])

    def _text(self, link_path):
        """The link's text: as the inventory read it, or read now for a link below a
        linked directory that lies in no place."""
        text = self.inventory.link_texts.get(link_path)
        return os.readlink(os.path.join(self.root, link_path)) if text is None else text

    def _moved(self, place, rel, link_path):
        target = self._text(link_path)
        self.views.kept_links.append(KeptLink(place.major, place.version, rel, target, link_path))

    def _unreadable_farm_link(self, link_path, resolution):
        target = self._text(link_path)
        if resolution.problem is not None and resolution.problem.what == "symlink loop":
            raise resolution.problem
        if resolution.problem is not None:
            raise LinkError(
                "farm link leaves the package tree",
                f"{link_path} -> {target} in {self.inventory.package}",
                "point the link at the file inside the package, or ship the file itself",
            )
        raise LinkError(
            "farm link points at a file the package does not ship",
            f"{link_path} -> {target} in {self.inventory.package}",
            "ship the file it points at in this package, or remove the link",
        )
