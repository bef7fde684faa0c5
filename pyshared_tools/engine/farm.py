"""What the old helpers' farm leaves for the maintainer scripts, read from
the views: storage files an old helper linked at install time (the runtime
farm), and the .py files that leave a storage place (their bytecode stays).
Only outputs/scripts.py reads it.
"""

from pyshared_tools.engine.views import Places


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
