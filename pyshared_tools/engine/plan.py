"""Turn the planner's placements into an ordered, validated list of actions.

Order: directory farm links in a home go first (their paths become real
directories), then mkdir, copy, move, new library links, DT_NEEDED drops
(--fix-libpython) on extensions at their final paths, removals, and rmdir
deepest first.  Every check happens here, before engine/journal.py changes anything,
the extension ABI checks (rules/checks.py) included.

The steps live in modules of their own: destinations (grouping, validation,
directories), placed_checks (the checks on what is placed), dist_info
(RECORD files), removals, retarget (links that move or point at what moves)
and farm (what the scripts need of the old farm).
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
    ):
        self.package = package  # str
        # ":amd64" for a Multi-Arch: same package (its scripts name it so), else ""
        self.architecture_qualifier = ""
        self.root = root  # str
        self.actions = [] if actions is None else actions
        self.warnings = [] if warnings is None else warnings
        self.extensions = [] if extensions is None else extensions  # (path, version or None for abi3)
        # abi3 extension path -> checks.stable_abi_needs(): the version it loads from, or None
        self.stable_abi_needs = {}
        self.checks = {}  # extension path -> (checks.Result, ...), one per check in checks.CHECKS
        self.python3_pure = python3_pure
        self.python3_modules = python3_modules
        self.python2_modules = python2_modules
        self.final_paths = []  # tree-relative module paths of the final tree, sorted
        # (storage rule name, storage place, rel) of files no shipped link
        # pointed at: an old helper linked them at install time.
        self.runtime_farm = []
        self.helpers = frozenset()  # old helpers whose metadata the tree held
        # (storage place, tree-relative .py file) moved out of a storage place:
        # the old package shipped it there, and root's imports wrote bytecode
        # next to it that dpkg will not remove.
        self.storage_sources = []


def build_plan(inventory, context):
    """The Plan of one package: its placements grouped by destination and validated, then
    the actions in apply order, each check raising before anything is changed."""
    decisions = decide(inventory, context)
    plan = Plan(inventory.package, inventory.root, warnings=list(decisions.warnings))
    views = decisions.views
    by_dest, chosen = destinations.choose(inventory, decisions.placements)
    for dest, placement in chosen.items():
        _note_module(plan, dest, placement)
    home_dir_links = set(views.home_dir_links)
    sources_staying, replaced_links, moving = destinations.sources(chosen)

    # Directory farm links in a home go first: their paths become real directories.
    removed = set(home_dir_links)
    actions = [Action("unlink", p, reason=DIRECTORY_FARM_LINK) for p in sorted(home_dir_links)]
    destinations.validate(inventory, chosen, sources_staying, replaced_links, home_dir_links, moving)
    new_dirs = destinations.directories_to_make(inventory.root, chosen, home_dir_links)
    actions += [Action("mkdir", d) for d in new_dirs]
    actions += destinations.copies_and_moves(moving, sources_staying, removed)
    moved_links_at = len(actions)  # their targets are known once every move is
    drop_records, record_actions = dist_info.records(inventory, context, chosen, decisions)
    actions += record_actions
    actions += _checked_extensions(inventory, context, chosen, plan)

    unlinks = [
        *removals.module_removals(views, decisions, by_dest, context, removed, sources_staying, moving),
        *removals.link_removals(inventory, views, context, chosen, replaced_links),
        *removals.metadata_removals(inventory, context, drop_records),
    ]
    actions += removals.first_removals(unlinks, chosen, removed)
    emptied = destinations.emptied_directories(inventory, removed, chosen, new_dirs)
    left = tuple(f"{place}/" for place in decisions.unclaimed)
    actions += [Action("rmdir", d) for d in emptied if not f"{d}/".startswith(left)]
    retarget.moved_links(inventory, context, views, chosen, actions, moved_links_at, plan.warnings)

    plan.actions = actions
    plan.final_paths = sorted(chosen)
    plan.helpers = frozenset(helper for _, helper in inventory.metadata)
    plan.runtime_farm, plan.storage_sources = farm.storage_files(inventory, views)
    placed_checks.stale_tag_warnings(plan, context)
    _check_strict(plan, inventory, context)
    return plan


def _note_module(plan, dest, placement):
    """The plan's extensions (and abi3 needs) and which Pythons it has modules for."""
    if placement.extension:
        plan.extensions.append((dest, placement.extension.version))
        if placement.extension.version is None:
            plan.stable_abi_needs[dest] = checks.stable_abi_needs(
                placement.extension.name, placement.extension.facts
            )
    if dest.startswith("usr/lib/python2."):
        plan.python2_modules = True
    else:
        plan.python3_modules = True
        if dest.endswith(".py"):
            plan.python3_pure = True


def _checked_extensions(inventory, context, chosen, plan):
    """The ABI checks (they raise or warn) and Multi-Arch: same checks; the --fix-libpython
    actions they call for."""
    placed_checks.check_python3_sources(inventory, chosen, context.strict)
    checked = {d: p for d, p in chosen.items() if not p.excluded}
    plan.checks = placed_checks.check_extensions(inventory, context, checked, plan.warnings)
    if (context.multi_arch(inventory.package) or "").strip() == "same":
        plan.architecture_qualifier = f":{context.host_arch()}"
        plan.warnings += placed_checks.multi_arch_same_problems(inventory, context, chosen)
    return placed_checks.libpython_fixes(chosen, plan.checks)


def _check_strict(plan, inventory, context):
    if context.strict and plan.warnings:
        raise LeftoverError(
            f"{len(plan.warnings)} leftover(s) with --strict: " + "; ".join(plan.warnings),
            f"in {inventory.package}",
            "fix the build, or drop --strict",
        )
