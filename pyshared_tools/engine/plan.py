"""Turn the planner's placements into an ordered, validated list of actions.

Order: directory farm links in a home go first (their paths become real
directories), then mkdir, copy, move, new library links, DT_NEEDED drops
(--fix-libpython) on extensions at their final paths, removals, and rmdir
deepest first.  Every check happens here, before engine/journal.py changes anything,
the extension ABI checks (rules/checks.py) included.

The steps live in modules of their own: destinations (grouping, validation,
directories), placed_checks (the checks on what is placed), dist_info
(RECORD files), removals, retarget (links that move or point at what moves)
and farm (what the scripts need of the old farm); build_plan runs them in
order and makes the Plan from what they return.
"""

from pyshared_tools.engine import destinations, dist_info, farm, placed_checks, removals, retarget
from pyshared_tools.engine.actions import DIRECTORY_FARM_LINK, Action
from pyshared_tools.engine.placement import decide
from pyshared_tools.errors import LeftoverError
from pyshared_tools.rules import checks


class Plan:
    __slots__ = (
        "actions",
        "architecture_qualifier",
        "checks",
        "directory_links",
        "extensions",
        "final_paths",
        "helpers",
        "package",
        "python2_modules",
        "python3_modules",
        "python3_pure",
        "root",
        "runtime_farm",
        "stable_abi_needs",
        "storage_sources",
        "warnings",
    )

    def __init__(
        self,
        package,
        root,
        actions=None,
        warnings=None,
        extensions=None,
        python3_pure=False,
        python3_modules=False,
        python2_modules=False,
        *,
        architecture_qualifier="",
        stable_abi_needs=None,
        checks=None,
        final_paths=None,
        leftovers=None,
    ):
        self.package = package  # str
        # ":amd64" for a Multi-Arch: same package (its scripts name it so), else ""
        self.architecture_qualifier = architecture_qualifier
        self.root = root  # str
        self.actions = [] if actions is None else actions
        self.warnings = [] if warnings is None else warnings
        self.extensions = [] if extensions is None else extensions  # (path, version or None for abi3)
        # abi3 extension path -> checks.stable_abi_needs(): the version it loads from, or None
        self.stable_abi_needs = {} if stable_abi_needs is None else stable_abi_needs
        # extension path -> (checks.Result, ...), one per check in checks.CHECKS
        self.checks = {} if checks is None else checks
        self.python3_pure = python3_pure
        self.python3_modules = python3_modules
        self.python2_modules = python2_modules
        self.final_paths = [] if final_paths is None else final_paths  # tree-relative, sorted
        # What the old helpers' farm left, for the maintainer scripts (farm.Leftovers).
        leftovers = leftovers or farm.Leftovers([], [], frozenset(), [])
        self.runtime_farm = leftovers.runtime_farm
        self.storage_sources = leftovers.storage_sources
        self.helpers = leftovers.helpers
        self.directory_links = leftovers.directory_links


def build_plan(inventory, context):
    """The Plan of one package: its placements grouped by destination and validated, then
    the actions in apply order, each check raising before anything is changed."""
    decisions = decide(inventory, context)
    views = decisions.views
    by_dest, chosen = destinations.choose(inventory, decisions.placements)
    placed = _what_is_placed(chosen)
    home_dir_links = set(views.home_dir_links)
    sources = destinations.sources(chosen)

    # Directory farm links in a home go first: their paths become real directories.
    removed = set(home_dir_links)
    actions = [Action("unlink", p, reason=DIRECTORY_FARM_LINK) for p in sorted(home_dir_links)]
    destinations.validate(inventory, chosen, sources, home_dir_links)
    new_dirs = destinations.directories_to_make(inventory.root, chosen, home_dir_links)
    actions += [Action("mkdir", d) for d in new_dirs]
    actions += destinations.copies_and_moves(sources, removed)
    moved_links_at = len(actions)  # their targets are known once every move is
    drop_records, record_actions = dist_info.records(inventory, context, chosen, decisions)
    actions += record_actions
    checked = placed_checks.check_placed(inventory, context, chosen)
    actions += checked.fixes

    actions += removals.unlinks(
        inventory, decisions, by_dest, context, chosen, sources, drop_records, removed
    )
    emptied = destinations.emptied_directories(inventory, removed, chosen, new_dirs)
    left = tuple(f"{place}/" for place in decisions.unclaimed)
    actions += [Action("rmdir", d) for d in emptied if not f"{d}/".startswith(left)]
    moved_links, retargeted, link_warnings = retarget.moved_links(inventory, context, views, chosen, actions)
    actions[moved_links_at:moved_links_at] = moved_links
    actions += retargeted

    warnings = [
        *decisions.warnings,
        *checked.warnings,
        *link_warnings,
        *placed_checks.stale_tag_warnings(inventory.package, placed["extensions"], context),
    ]
    _check_strict(warnings, inventory, context)
    final_paths = sorted(chosen)
    return Plan(
        inventory.package,
        inventory.root,
        actions,
        warnings,
        architecture_qualifier=checked.architecture_qualifier,
        checks=checked.results,
        final_paths=final_paths,
        leftovers=farm.leftovers(inventory, views, actions, final_paths),
        **placed,
    )


def _what_is_placed(chosen):
    """The Plan's fields on what it places: its extensions (path, version or None
    for abi3), what each abi3 one needs, which Pythons it has modules for."""
    extensions, needs = [], {}
    python2 = python3 = pure = False
    for dest, placement in chosen.items():
        extension = placement.extension
        if extension:
            extensions.append((dest, extension.version))
            if extension.version is None:
                needs[dest] = checks.stable_abi_needs(extension.name, extension.facts)
        if dest.startswith("usr/lib/python2."):
            python2 = True
        else:
            python3 = True
            pure = pure or dest.endswith(".py")
    return {
        "extensions": extensions,
        "stable_abi_needs": needs,
        "python2_modules": python2,
        "python3_modules": python3,
        "python3_pure": pure,
    }


def _check_strict(warnings, inventory, context):
    if context.strict and warnings:
        raise LeftoverError(
            f"{len(warnings)} leftover(s) with --strict: " + "; ".join(warnings),
            f"in {inventory.package}",
            "fix the build, or drop --strict",
        )
