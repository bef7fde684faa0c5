"""What a plan removes, from four sources: module files neither kept nor
moved (bytecode, duplicates), links (dropped by the views, farm links to
dissolved places, kept links that move), old helpers' metadata, and RECORD
files of another architecture; each path removed once.
"""

from pyshared_tools.engine.actions import Action


def unlinks(inventory, decisions, by_dest, context, chosen, sources, drop_records, removed):
    """The unlink actions of the plan, in order: module files, links, metadata and
    records, each path's first removal (_first_removals); every one joins `removed`.
    `sources` is destinations.sources()."""
    views = decisions.views
    modules, farm_links = _module_and_farm_link_removals(
        inventory, decisions, by_dest, context, chosen, sources, removed
    )
    found = [
        *modules,
        *(
            Action("unlink", link_path, reason=reason)
            for link_path, reason in views.removed_links
            if not context.excluded(link_path)
        ),
        *farm_links,
        *(
            Action("unlink", link.origin, reason="link-moved")
            for link in views.kept_links
            if not context.excluded(link.origin)
        ),
        *_metadata_removals(inventory, context, drop_records),
    ]
    return _first_removals(found, chosen, removed)


def _module_and_farm_link_removals(inventory, decisions, by_dest, context, chosen, sources, removed):
    """In one walk over the modules: the module files neither kept nor moved
    (bytecode, or a duplicate of a kept one; each joins `removed`), and the farm
    links they were found through that nothing else removes or replaces."""
    views = decisions.views
    bytecode = {id(m) for m in decisions.bytecode}
    dest_of = {id(p.module): d for d, ps in by_dest.items() for p in ps}
    removed_links = {p for p, _ in views.removed_links}
    modules, farm_links = [], []
    for module in views.modules:
        origin = module.origin
        if (
            origin in inventory.resolutions
            and origin not in sources.replaced_links
            and origin not in chosen
            and origin not in removed_links
            and not context.excluded(origin)
        ):
            farm_links.append(Action("unlink", origin, reason="farm-link"))
        if module.source in removed or module.source in sources.staying or module.source in sources.moving:
            continue
        if context.excluded(module.source, module.origin):
            continue
        if id(module) in bytecode:
            modules.append(Action("unlink", module.source, reason="bytecode"))
        else:
            modules.append(Action("unlink", module.source, keep=dest_of[id(module)], reason="duplicate"))
        removed.add(module.source)
    return modules, farm_links


def _metadata_removals(inventory, context, drop_records):
    """Old helpers' metadata files, and records of another architecture (record-multiarch)."""
    removals = [
        Action("unlink", path, reason=f"{helper}-metadata")
        for path, helper in inventory.metadata
        if not context.excluded(path)
    ]
    removals += [Action("unlink", dest, reason="record-multiarch") for dest in drop_records]
    return removals


def _first_removals(removals, chosen, removed):
    """Each path's first removal, unless the path is a destination (a record of another
    architecture is removed even then); every one joins `removed`."""
    actions = []
    seen = set()
    for action in removals:
        if action.path not in seen and (action.path not in chosen or action.reason == "record-multiarch"):
            seen.add(action.path)
            actions.append(action)
            removed.add(action.path)
    return actions
