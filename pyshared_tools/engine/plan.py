"""Turn the planner's placements into an ordered, validated list of actions.

Order: directory farm links in a home go first (their paths become real
directories), then mkdir, copy, move, new library links, DT_NEEDED drops
(--fix-libpython) on extensions at their final paths, removals, and rmdir
deepest first.  Every check happens here, before engine/journal.py changes anything,
the extension ABI checks (rules/checks.py) included.
"""

import os
import stat
from collections import namedtuple

from pyshared_tools.engine.placement import decide, same_content
from pyshared_tools.engine.views import KeptLink, Places
from pyshared_tools.errors import (
    AbiError,
    AccessError,
    CollisionError,
    ExternalToolError,
    LeftoverError,
    TagError,
    TreeError,
)
from pyshared_tools.rules import checks, layouts
from pyshared_tools.rules.tags import parse_tag, split_module_filename, version_text

# The reason of the unlink actions that dissolve a directory farm, and the tool
# --fix-libpython runs (journal.py carries both out).
DIRECTORY_FARM_LINK = "directory-farm-link"
PATCHELF = "patchelf"


class Action(
    namedtuple(
        "Action",
        (
            "op",  # str: mkdir, copy, move, symlink, drop-needed, unlink, rmdir
            "path",  # str
            "source",  # str | None
            "target",  # str | None
            "keep",  # str | None
            "reason",  # str | None
            "needed",  # str | None: drop-needed: the DT_NEEDED entry to drop
            "content",  # str | None: rewrite-record: the new text, JSON-encoded (one line)
        ),
        defaults=(None, None, None, None, None, None),
    )
):
    __slots__ = ()

    def to_dict(self):
        return {k: v for k, v in self._asdict().items() if v is not None}

    def describe(self):
        """One line of the text plan, in the words of the JSON plan (docs/plan-schema.md): the op first."""
        if self.op in ("move", "copy"):
            return f"{self.op} {self.source} -> {self.path}"
        if self.op == "symlink":
            reason = f" ({self.reason})" if self.reason else ""
            return f"symlink {self.path} -> {self.target}{reason}"
        if self.op == "unlink":
            return f"unlink {self.path} ({self.reason})"
        if self.op == "drop-needed":
            return f"drop-needed {self.needed} from {self.path}"
        if self.op == "rewrite-record":
            return f"rewrite-record {self.path} (its files' new names)"
        return f"{self.op} {self.path}"


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
    by_dest, chosen = _choose(inventory, plan, decisions.placements)
    home_dir_links = set(views.home_dir_links)
    sources_staying, replaced_links, moving = _sources(chosen)

    # Directory farm links in a home go first: their paths become real directories.
    removed = set(home_dir_links)
    actions = [Action("unlink", p, reason=DIRECTORY_FARM_LINK) for p in sorted(home_dir_links)]
    _validate_destinations(inventory, chosen, sources_staying, replaced_links, home_dir_links, moving)
    new_dirs = _directories_to_make(inventory.root, chosen, home_dir_links)
    actions += [Action("mkdir", d) for d in new_dirs]
    actions += _copies_and_moves(moving, sources_staying, removed)
    moved_links_at = len(actions)  # their targets are known once every move is
    drop_records, record_actions = _records(inventory, context, chosen, decisions)
    actions += record_actions
    actions += _checked_extensions(inventory, context, chosen, plan)

    removals = [
        *_module_removals(views, decisions, by_dest, context, removed, sources_staying, moving),
        *_link_removals(inventory, views, context, chosen, replaced_links),
        *_metadata_removals(inventory, context, drop_records),
    ]
    actions += _first_removals(removals, chosen, removed)
    emptied = _emptied_directories(inventory, removed, chosen, new_dirs)
    left = tuple(f"{place}/" for place in decisions.unclaimed)
    actions += [Action("rmdir", d) for d in emptied if not f"{d}/".startswith(left)]
    _add_moved_links(inventory, context, views, chosen, actions, moved_links_at, plan.warnings)

    plan.actions = actions
    plan.final_paths = sorted(chosen)
    plan.helpers = frozenset(helper for _, helper in inventory.metadata)
    plan.runtime_farm, plan.storage_sources = _storage_files(inventory, views)
    _stale_tag_warnings(plan, context)
    _check_strict(plan, inventory, context)
    return plan


def _choose(inventory, plan, placements):
    """(dest -> its placements, dest -> the one kept): two placements of one destination must
    be the same file (_check_duplicate).  Notes on the plan what each kept module is."""
    by_dest = {}
    for placement in placements:
        by_dest.setdefault(placement.dest, []).append(placement)
    chosen = {}
    for dest, dest_placements in by_dest.items():
        first = dest_placements[0]
        for other in dest_placements[1:]:
            _check_duplicate(inventory, first, other)
        chosen[dest] = first
        _note_module(plan, dest, first)
    return by_dest, chosen


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


def _sources(chosen):
    """(files that stay where they are, package links a file replaces, source -> the
    destinations it is copied or moved to, sorted)."""
    files = {d: p.module for d, p in chosen.items() if not isinstance(p.module, KeptLink)}
    sources_staying = {d for d, module in files.items() if module.source == d}
    replaced_links = {module.origin for d, module in files.items() if module.origin == d != module.source}
    moving = {}
    for dest, placement in sorted(chosen.items()):
        module = placement.module
        if isinstance(module, KeptLink) or module.source == dest:
            continue
        moving.setdefault(module.source, []).append(dest)
    return sources_staying, replaced_links, moving


def _copies_and_moves(moving, sources_staying, removed):
    """A source going to several destinations is copied to all but the last, moved there
    (copied to every one when it also stays); a moved source joins `removed`."""
    actions = []
    for source, dests in sorted(moving.items()):
        final = [] if source in sources_staying else dests[-1:]
        actions += [Action("copy", d, source=source) for d in dests if d not in final]
        actions += [Action("move", d, source=source) for d in final]
        if final:
            removed.add(source)
    return actions


def _checked_extensions(inventory, context, chosen, plan):
    """The ABI checks (they raise or warn) and Multi-Arch: same checks; the --fix-libpython
    actions they call for."""
    _check_python3_sources(inventory, chosen, context.strict)
    checked = {d: p for d, p in chosen.items() if not p.excluded}
    plan.checks = _check_extensions(inventory, context, checked, plan.warnings)
    if (context.multi_arch(inventory.package) or "").strip() == "same":
        plan.architecture_qualifier = f":{context.host_arch()}"
        plan.warnings += _multi_arch_same_problems(inventory, context, chosen)
    return _libpython_fixes(chosen, plan.checks)


def _module_removals(views, decisions, by_dest, context, removed, sources_staying, moving):
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


def _link_removals(inventory, views, context, chosen, replaced_links):
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


def _add_moved_links(inventory, context, views, chosen, actions, moved_links_at, warnings):
    """Kept links that move are made at `moved_links_at` (after every move), pointing where
    their targets went; links of the package onto moved files are retargeted at the end."""
    moved = sorted((d, p.module) for d, p in chosen.items() if isinstance(p.module, KeptLink))
    relocation = _relocation(inventory, actions, moved)
    if relocation is None:
        return
    actions[moved_links_at:moved_links_at] = [
        Action("symlink", dest, target=_moved_target(relocation, link, dest)) for dest, link in moved
    ]
    actions += [
        action
        for action in _retargeted_links(inventory, views, relocation, warnings)
        if not context.excluded(action.path)
    ]


def _check_strict(plan, inventory, context):
    if context.strict and plan.warnings:
        raise LeftoverError(
            f"{len(plan.warnings)} leftover(s) with --strict: " + "; ".join(plan.warnings),
            f"in {inventory.package}",
            "fix the build, or drop --strict",
        )


def _relocation(inventory, actions, moved):
    """Where every moved file, moved link and dissolved directory goes
    (retarget.Relocation), or None when nothing moves."""
    if not moved and not any(action.op == "move" for action in actions):
        return None
    from pyshared_tools.engine.retarget import Relocation

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
    """symlink actions for the package's other links into what moves (engine/retarget.py)."""
    from pyshared_tools.engine.retarget import new_targets, package_links

    walked = {place.path for place in inventory.places}
    links = package_links(inventory.root, walked) + list(views.untouched_links)
    retargets, problems = new_targets(inventory.root, links, relocation, inventory.package)
    warnings.extend(problems)
    return [Action("symlink", link, target=text, reason="retarget") for link, text in retargets]


PYTHON_SOURCE_LIMIT = 64 << 20
RECORD_LIMIT = 64 << 20
# From this default Python 3 on (Debian unstable's dh_python3), a dist-info
# RECORD is dropped: its hashes differ between architectures, which a
# Multi-Arch: same package cannot ship.  Before it (bookworm's dh_python3),
# RECORD stays.
RECORD_DROPPED_FROM = (3, 14)


def _records(inventory, context, chosen, decisions):
    """(RECORD files to remove, rewrite-record actions): every placed
    ``*.dist-info/RECORD`` of Python 3 is dropped when the target release's
    dh_python3 drops it (RECORD_DROPPED_FROM), else kept, rewritten when the
    plan renames, moves or removes a file it names (the path column follows
    the file; a removed file's line goes), left byte for byte otherwise."""
    records = sorted(
        (dest, placement.module)
        for dest, placement in chosen.items()
        if dest.endswith(".dist-info/RECORD")
        and not dest.startswith("usr/lib/python2.")
        and not isinstance(placement.module, KeptLink)
    )
    if not records:
        return [], []
    if context.default_version() >= RECORD_DROPPED_FROM:
        return [dest for dest, _ in records], []
    new_paths = {}
    for dest, placement in chosen.items():
        module = placement.module
        new_paths[module.origin] = dest
        if not isinstance(module, KeptLink):
            new_paths.setdefault(module.source, dest)
    for module in decisions.bytecode:
        new_paths.setdefault(module.origin, None)
    actions = []
    for dest, module in records:
        text = _rewritten_record(inventory, module, dest, new_paths)
        if text is not None:
            import json

            actions.append(Action("rewrite-record", dest, content=json.dumps(text, ensure_ascii=False)))
    return [], actions


def _rewritten_record(inventory, module, dest, new_paths):
    """The new text of the RECORD at `dest` (found at module.origin), or None
    when every path it names stays where it is."""
    import csv
    import io

    from pyshared_tools import files
    from pyshared_tools.engine.links import named_path

    text = files.read_text(os.path.join(inventory.root, module.source), limit=RECORD_LIMIT)
    old_base = os.path.dirname(os.path.dirname(module.origin))
    new_base = os.path.dirname(os.path.dirname(dest))
    rows = list(csv.reader(io.StringIO(text)))
    changed, kept = False, []
    for row in rows:
        if not row:
            continue
        old = named_path(f"{old_base}/x", row[0])
        new = new_paths.get(old, old)
        if new is None:
            changed = True
            continue
        if new == old and (old_base == new_base or old.startswith(old_base + "/")):
            name = row[0]  # not a file of the tree: stays a name inside the install
        elif row[0].startswith("/"):
            name = "/" + new
        else:
            name = os.path.relpath(new, new_base)
        changed |= name != row[0]
        kept.append([name, *row[1:]])
    if not changed:
        return None
    output = io.StringIO()
    csv.writer(output, lineterminator="\n").writerows(kept)
    return output.getvalue()


def _check_python3_sources(inventory, chosen, strict=False):
    """Every .py file the plan places where Python 3 byte-compiles it (at
    install time, py3compile) for the first time is compiled first here, in
    this interpreter, with compile() (no spawn): one that is not Python 3 is an
    error naming it.  A file a Python 3 build installed for Python 3
    (layouts.installed_for_python3) is compiled only with --strict: compiling
    every file of a large tree costs several times a whole dh_python3 run."""
    import warnings

    places = Places(inventory.places)
    known_directories = set()  # each directory of the tree checked once, not once per file
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for dest, placement in sorted(chosen.items()):
            module = placement.module
            if not dest.endswith(".py") or isinstance(module, KeptLink) or module.source == dest:
                continue
            if dest.startswith("usr/lib/python2."):
                continue
            if not strict and layouts.installed_for_python3(places.containing(module.source)):
                continue
            _compile_python3_source(inventory, module, dest, known_directories)


def _compile_python3_source(inventory, module, dest, known_directories):
    """Compile the .py file of `module` as Python 3 (warnings are the caller's to silence)."""
    from pyshared_tools import files
    from pyshared_tools.files import read_problem

    path = os.path.join(inventory.root, module.source)
    problem = read_problem(path)
    if problem is not None:
        state, todo = problem
        why = f"needed to compile it as Python 3 for {dest}"
        raise AccessError(f"cannot read {path} ({state})", why, todo)
    data = files.read_bytes(path, limit=PYTHON_SOURCE_LIMIT, known_directories=known_directories)
    try:
        compile(data, module.source, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as error:
        line = f" line {error.lineno}" if getattr(error, "lineno", None) else ""
        what = getattr(error, "msg", None) or str(error)
        raise TreeError(
            f"not Python 3 code ({type(error).__name__}{line}: {what}), py3compile would fail at install",
            f"{module.origin} (for {dest}) in {inventory.package}",
            "install it for the Python it is written for, or out of the module directories",
        ) from None


def _check_extensions(inventory, context, chosen, warnings):
    """Every check of rules/checks.py on every placed extension: {dest: results}.
    The first error is raised; warnings are appended to `warnings`."""
    results = {}
    extensions = sorted((d, p) for d, p in chosen.items() if p.extension)
    if not extensions:
        return results
    package_arch = context.package_architecture(inventory.package) or ""
    host_arch = None
    for dest, placement in extensions:
        extension, module = placement.extension, placement.module
        facts = extension.facts
        if package_arch.split() == ["all"]:
            arch = checks.package_architecture(package_arch)
        else:
            if host_arch is None and facts is not None:
                host_arch = context.host_arch()
            arch = checks.architecture(facts, host_arch, _tag_multiarch(extension.name))
        stem = extension.name.split(".", 1)[0]
        if extension.version is None:
            abi = checks.stable_abi(facts, min(context.supported_versions()))
        else:
            abi = checks.Result("stable-abi", "not-applicable")
        found = (arch, checks.init_function(stem, facts), checks.libpython(facts, context.fix_libpython), abi)
        where = f"{module.origin} in {inventory.package}"
        for result in found:
            if result.outcome == "error":
                raise AbiError(result.what, where, result.todo)
            if result.outcome == "warning":
                warnings.append(f"{result.what}, {where}, {result.todo}")
        results[dest] = found
    return results


def _multi_arch_same_problems(inventory, context, chosen):
    """Multi-Arch: same: every architecture's build installs the same paths, so
    each architecture-dependent file placed must carry the triplet in its name:
    an extension without it (untagged, plain abi3, a tag without the triplet)
    or any other ELF file collides with another architecture's."""
    multiarch = context.resolver.host_multiarch()
    problems = []
    for dest, placement in sorted(chosen.items()):
        module = placement.module
        if isinstance(module, KeptLink):
            continue
        where = f"/{dest} in {inventory.package}"
        if placement.extension is not None:
            parsed = split_module_filename(placement.extension.name)
            tag_text = parsed.tag_text if parsed else None
            if tag_text == multiarch or (tag_text or "").endswith(f"-{multiarch}"):
                continue
            problems.append(
                f"extension without the architecture triplet {multiarch} in its name in a "
                f"Multi-Arch: same package, {where}, let dh_pyshared name it (no --tag abi3, or a "
                "--tag with the triplet) or drop Multi-Arch: same"
            )
        elif not dest.endswith(".py") and _is_elf(os.path.join(inventory.root, module.source)):
            problems.append(
                f"ELF file in a path without the architecture in a Multi-Arch: same package, {where}, "
                f"install it below /usr/lib/{multiarch} or drop Multi-Arch: same"
            )
    return problems


def _is_elf(path):
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            return False
        return os.read(descriptor, 4) == b"\x7fELF"
    finally:
        os.close(descriptor)


def _tag_multiarch(name):
    parsed = split_module_filename(name)
    if parsed is None or parsed.tag_text is None:
        return None
    try:
        return parse_tag(parsed.tag_text, origin="tag").multiarch
    except TagError:
        return None


def _libpython_fixes(chosen, results):
    """drop-needed actions for the libpython entries --fix-libpython drops."""
    fixes = []
    for dest, found in sorted(results.items()):
        if any(result.check == "libpython" and result.outcome == "fixed" for result in found):
            fixes += [
                Action("drop-needed", dest, needed=name)
                for name in checks.linked_libpython(chosen[dest].extension.facts)
            ]
    if fixes:
        import shutil

        if shutil.which(PATCHELF) is None:
            raise ExternalToolError(
                f"{PATCHELF} is not installed",
                f"needed by --fix-libpython for {fixes[0].path}",
                f"install {PATCHELF}, or drop --fix-libpython",
            )
    return fixes


def _storage_files(inventory, views):
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


def _check_duplicate(inventory, first, other):
    if other.duplicate_ok or isinstance(first.module, KeptLink) or isinstance(other.module, KeptLink):
        if isinstance(first.module, KeptLink) != isinstance(other.module, KeptLink):
            _collision(inventory, first, other)
        return
    if not same_content(inventory.root, first.module.source, other.module.source):
        _collision(inventory, first, other)


def _collision(inventory, first, other):
    raise CollisionError(
        "two sources with different content would land on one destination",
        f"{first.module.origin} and {other.module.origin} -> {first.dest} in {inventory.package}",
        "make them identical, or remove one from the build",
    )


def _validate_destinations(inventory, chosen, staying, replaced_links, home_dir_links, moving):
    root = inventory.root
    # A parent directory already looked at: True (a real directory, go on) or
    # False (absent, or a link the move goes through: stop), so that the files
    # of one directory lstat it once.
    parents = {}
    for dest in chosen:
        parts = dest.split("/")
        for i in range(1, len(parts) + 1):
            partial = "/".join(parts[:i])
            last = i == len(parts)
            if not last and partial in parents:
                if parents[partial]:
                    continue
                break
            try:
                mode = os.lstat(os.path.join(root, partial)).st_mode
            except (FileNotFoundError, NotADirectoryError):
                if not last:
                    parents[partial] = False
                break
            if stat.S_ISLNK(mode):
                if partial in home_dir_links or (last and partial in replaced_links):
                    if not last:
                        parents[partial] = False
                    break
                raise CollisionError(
                    "destination runs through or onto a symlink",
                    f"{partial} (for {dest}) in {inventory.package}",
                    "replace the link with a real directory or file in the build",
                )
            if last:
                if stat.S_ISDIR(mode):
                    raise CollisionError(
                        "a file would replace a directory",
                        f"{dest} in {inventory.package}",
                        "rename one of them in the build",
                    )
                if dest not in staying:
                    raise CollisionError(
                        "destination already holds another file",
                        f"{dest} in {inventory.package}",
                        "remove one of them from the build",
                    )
            elif not stat.S_ISDIR(mode):
                raise CollisionError(
                    "a directory is needed where a file is",
                    f"{partial} (for {dest}) in {inventory.package}",
                    "rename one of them in the build",
                )
            else:
                parents[partial] = True


def _directories_to_make(root, chosen, home_dir_links):
    needed = set()
    for dest in chosen:
        parent = os.path.dirname(dest)
        while parent and parent not in needed:
            needed.add(parent)
            parent = os.path.dirname(parent)
    missing = []
    for directory in sorted(needed, key=lambda d: (d.count("/"), d)):
        full = os.path.join(root, directory)
        if (
            os.path.dirname(directory) in missing
            or directory in home_dir_links
            or os.path.islink(full)
            or not os.path.isdir(full)
        ):
            missing.append(directory)
    return missing


def _emptied_directories(inventory, removed, chosen, new_dirs):
    root = inventory.root
    # Each walk up stops at a directory an earlier walk reached: linear in the
    # number of directories, not quadratic in the depth of the tree.
    walked = set()
    for dest in chosen:
        parent = os.path.dirname(dest)
        while parent and parent not in walked:
            walked.add(parent)
            parent = os.path.dirname(parent)
    occupied = set(new_dirs) | walked
    candidates = set()
    for place in inventory.places:
        if not place.home:
            candidates.add(place.path)
    for entry in inventory.entries:
        if entry.kind == "dir" and (not entry.place.home or entry.rel.split("/")[-1] == "__pycache__"):
            candidates.add(entry.path)
    for path in removed:
        candidates.add(os.path.dirname(path))
    walked = set()
    for path in candidates:
        parent = os.path.dirname(path)
        while parent and parent not in layouts.KEEP_DIRECTORIES and parent not in walked:
            walked.add(parent)
            parent = os.path.dirname(parent)
    candidates |= walked
    home_paths = {p.path for p in inventory.places if p.home}
    candidates -= occupied | home_paths | layouts.KEEP_DIRECTORIES
    removable = set()
    for directory in sorted(candidates, key=lambda d: -d.count("/")):
        full = os.path.join(root, directory)
        if os.path.islink(full) or not os.path.isdir(full):
            continue
        children = [f"{directory}/{name}" for name in os.listdir(full)]
        if all(c in removed or c in removable for c in children):
            removable.add(directory)
    return sorted(removable, key=lambda d: (-d.count("/"), d))


def _stale_tag_warnings(plan, context):
    versions = [v for _, v in plan.extensions if v is not None]
    if not versions:
        return
    supported = set(context.supported_versions())
    supported_text = ", ".join(version_text(v) for v in sorted(supported))
    for version in sorted(set(context.resolver.tagged_versions()) - supported):
        plan.warnings.append(
            f"--tag for Python {version_text(version)}, which the package does not support "
            f"({supported_text}), in {plan.package}, "
            "drop that --tag or widen X-Python3-Version"
        )
    for path, version in sorted(plan.extensions, key=lambda e: e[0]):
        if version is not None and version not in supported:
            plan.warnings.append(
                f"stale tag: extension for Python {version_text(version)}, which the package does not "
                f"support ({supported_text}), {path} in {plan.package}, "
                "drop it from the build or widen X-Python3-Version"
            )
