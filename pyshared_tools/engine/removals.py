"""What a plan removes, from four sources: module files neither kept nor
moved (bytecode, duplicates), links (dropped by the views, farm links to
dissolved places, kept links that move), old helpers' metadata, and RECORD
files of another architecture; each path removed once.
"""

from pyshared_tools.engine.actions import Action


def module_removals(views, decisions, by_dest, context, removed, sources_staying, moving):
    """Module files neither kept nor moved: bytecode, or a duplicate of a kept one."""
    bytecode = {id(m) for m in decisions.bytecode}
    dest_of = {id(p.module): d for d, ps in by_dest.items() for p in ps}
    removals = []
    for module in views.modules:
        if module.source in removed or module.source in sources_staying or module.source in moving:
            continue
        if context.excluded(module.source, module.origin):
            continue
        if id(module) in bytecode:
            removals.append(Action("unlink", module.source, reason="bytecode"))
        else:
            removals.append(Action("unlink", module.source, keep=dest_of[id(module)], reason="duplicate"))
        removed.add(module.source)
    return removals


def link_removals(inventory, views, context, chosen, replaced_links):
    """Links the planner dropped, farm links to dissolved places, and kept links that move."""
    removals = [
        Action("unlink", link_path, reason=reason)
        for link_path, reason in views.removed_links
        if not context.excluded(link_path)
    ]
    removed_links = {p for p, _ in views.removed_links}
    for module in views.modules:
        origin = module.origin
        if (
            origin in inventory.resolutions
            and origin not in replaced_links
            and origin not in chosen
            and origin not in removed_links
            and not context.excluded(origin)
        ):
            removals.append(Action("unlink", origin, reason="farm-link"))
    for link in views.kept_links:
        if not context.excluded(link.origin):
            removals.append(Action("unlink", link.origin, reason="link-moved"))
    return removals


def metadata_removals(inventory, context, drop_records):
    """Old helpers' metadata files, and records of another architecture (record-multiarch)."""
    removals = [
        Action("unlink", path, reason=f"{helper}-metadata")
        for path, helper in inventory.metadata
        if not context.excluded(path)
    ]
    removals += [Action("unlink", dest, reason="record-multiarch") for dest in drop_records]
    return removals


def first_removals(removals, chosen, removed):
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
