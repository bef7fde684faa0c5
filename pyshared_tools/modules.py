"""From an Inventory to what each interpreter sees: the module views.

A farm link is replaced by what it points at: a link in
``usr/lib/python2.7/dist-packages`` to ``usr/share/pyshared/foo.py`` becomes
the module ``foo.py`` of Python 2.7's view, with that file as its source.
Nothing here touches the tree.
"""

import os
import re
import stat
from collections import namedtuple

from .errors import LinkError, TreeError

_LIBRARY_NAME = re.compile(r"[^/]*\.so(\.[0-9]+)*")
_SYSTEM_LIBRARY_DIRS = ("usr/lib/", "lib/", "usr/lib64/", "lib64/", "usr/lib32/", "lib32/")


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
    """A library link (foo.so -> /usr/lib/<triplet>/libfoo.so.1): moved, never followed."""

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
        m for m in views.modules
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
        self.views.modules.append(
            ModuleFile(place.major, place.version, rel, source, origin, home_path)
        )

    def add_file(self, place, rel, source, origin):
        self._module(place, rel, source, origin)

    def add_link(self, place, rel, link_path):
        resolution = self.inventory.resolutions[link_path]
        target_place = self.places.containing(resolution.path) if resolution.exists else None
        if resolution.exists and target_place is not None and target_place.home and not place.home:
            self.views.removed_links.append((link_path, "conflict-link"))
            return
        if resolution.is_file:
            if place.home and (target_place is None or target_place.home):
                self.views.untouched_links.append(link_path)
                return
            self.views.consumed.add(resolution.path)
            self._module(place, rel, resolution.path, link_path)
            if not place.home:
                self.views.removed_links.append((link_path, "farm-link"))
        elif resolution.is_dir:
            if place.home and (target_place is None or target_place.home):
                self.views.untouched_links.append(link_path)
                return
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
            self._dangling(place, rel, link_path, resolution)

    def _add_directory(self, place, rel, target_dir, depth):
        """Every module below a linked directory, depth first in name order,
        without recursion; `depth` counts the directory links followed."""
        from .links import resolve

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
                    resolution = self.inventory.resolutions.get(child_path) or resolve(
                        self.root, child_path, self.inventory.package
                    )
                    if resolution.is_file:
                        self.views.consumed.add(resolution.path)
                        self._module(place, child_rel, resolution.path, child_path)
                    elif resolution.is_dir:
                        stack.append(self._directory_children(place, child_rel, resolution.path, depth + 1))
                        break
                    else:
                        self._dangling(place, child_rel, child_path, resolution)
                else:
                    raise TreeError(
                        "not a regular file, directory or symlink",
                        f"{child_path} in {self.inventory.package}",
                        "remove it from the package tree",
                    )
            else:
                stack.pop()

    def _directory_children(self, place, rel, target_dir, depth):
        if depth > 18:
            raise LinkError(
                "directory links nest too deeply",
                f"{place.path}/{rel} in {self.inventory.package}",
                "make the farm point at real directories",
            )
        with os.scandir(os.path.join(self.root, target_dir)) as it:
            children = sorted((child.name, child.stat(follow_symlinks=False).st_mode) for child in it)
        return iter([(f"{rel}/{name}", f"{target_dir}/{name}", mode, depth) for name, mode in children])

    def _dangling(self, place, rel, link_path, resolution):
        target = os.readlink(os.path.join(self.root, link_path))
        name = rel.rsplit("/", 1)[-1]
        if _LIBRARY_NAME.fullmatch(name) and resolution.path.startswith(_SYSTEM_LIBRARY_DIRS):
            if place.home:
                self.views.untouched_links.append(link_path)
            else:
                self.views.kept_links.append(
                    KeptLink(place.major, place.version, rel, target, link_path)
                )
            return
        if place.home:
            self.views.untouched_links.append(link_path)
            return
        raise LinkError(
            "link points outside the package tree",
            f"{link_path} -> {target} in {self.inventory.package}",
            "ship the file it points at in this package, or remove the link",
        )
