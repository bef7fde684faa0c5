"""What the old helpers' farm leaves for the maintainer scripts, in one pass
after the actions are known: storage files an old helper linked at install
time (the runtime farm), the .py files that leave a storage place (their
bytecode stays), the helpers whose metadata the tree held, and the directory
links that become real directories (dpkg keeps a link it once shipped).
Only outputs/ reads it; nothing here reads the tree.
"""

import posixpath
from collections import namedtuple

from pyshared_tools.engine.views import Places

Leftovers = namedtuple(
    "Leftovers",
    (
        # (storage rule name, storage place, rel) of files no shipped link
        # pointed at: an old helper linked them at install time.
        "runtime_farm",
        # (storage place, tree-relative .py file) moved out of a storage place:
        # the old package shipped it there, and root's imports wrote bytecode
        # next to it that dpkg will not remove.
        "storage_sources",
        "helpers",  # frozenset: old helpers whose metadata the tree held
        # (absolute path, link text) of the directory links the plan removes where
        # the final tree has a real directory
        "directory_links",
    ),
)


def leftovers(inventory, views, actions, final_paths):
    """The Leftovers of a plan of `actions` whose final tree holds `final_paths`."""
    runtime_farm, storage_sources = storage_files(inventory, views)
    return Leftovers(
        runtime_farm,
        storage_sources,
        frozenset(helper for _, helper in inventory.metadata),
        directory_links(inventory, actions, final_paths),
    )


def storage_files(inventory, views):
    """(runtime farm, storage sources) of the plan, in one pass over the modules:
    (rule name, place, rel) of storage files no shipped link pointed at (an old
    helper linked them at install time), and (place, path) of every .py file
    that leaves a storage place."""
    places = Places(inventory.places)
    farm, sources = set(), set()
    for module in views.modules:
        place = places.storage_containing(module.source)
        if place is None:
            continue
        if module.source.endswith(".py"):
            sources.add((place.path, module.source))
        linked = module.origin != module.source or module.source in views.consumed
        # bytecode was never linked, only compiled at install
        if not linked and not module.source.endswith((".pyc", ".pyo")):
            farm.add((place.rule.name, place.path, module.source[len(place.path) + 1 :]))
    return sorted(farm), sorted(sources)


def directory_links(inventory, actions, final_paths):
    """(absolute path, link text) of every directory link the plan removes
    where the final tree has a real directory: dpkg would keep the link.  Every
    link a plan removes is one the inventory found, its text read then."""
    final_directories = set()
    for path in final_paths:
        parent = posixpath.dirname(path)
        while parent and parent not in final_directories:
            final_directories.add(parent)
            parent = posixpath.dirname(parent)
    return [
        ("/" + action.path, inventory.link_texts[action.path])
        for action in actions
        if action.op == "unlink" and action.path in final_directories and action.path in inventory.link_texts
    ]
