"""Placement: decide where every module goes.  Reads files, changes nothing.

Python 3 modules go to the shared directory, extensions under the tag their
interpreter imports; a top-level package whose pure files differ between
versions stays in each version's own dist-packages.  Python 2 modules go to
their version's dist-packages, untagged.  The result is a list of
Placements that engine/plan.py turns into ordered, validated actions.
"""

import os
import re
from collections import namedtuple

from pyshared_tools.engine.views import build_views
from pyshared_tools.errors import AbiError, CollisionError, TagError
from pyshared_tools.lazy import pattern
from pyshared_tools.rules import checks, layouts, tags
from pyshared_tools.rules.tags import version_text

_EGG_VERSION = re.compile(r"-py\d\.\d+(?=\.egg-info$)")
_BYTECODE = re.compile(r"(^|/)__pycache__(/|$)|\.py[co]$")
GENERATED_METADATA = frozenset(
    {"RECORD", "WHEEL", "INSTALLER", "REQUESTED", "direct_url.json", "SOURCES.txt", "installed-files.txt"}
)
_METADATA_DIR = pattern(r"[^/]+\.(?:egg|dist)-info")
_PYSUPPORT_FIELD = pattern(r"pyversions?=(?P<versions>.*)")
_PYCENTRAL_FIELD = pattern(r"python-version\s*=(?P<versions>.*)")
_VERSION_NUMBER = pattern(r"(?P<major>\d+)\.\d+")
PYSUPPORT_METADATA_LIMIT = 1 << 20


Extension = namedtuple(
    "Extension",
    (
        "version",  # tuple | None: None for abi3
        "name",  # str: final file name
        "facts",  # elf.ElfFacts | None: None for a file that is not ELF
    ),
    defaults=(None,),
)

Placement = namedtuple(
    "Placement",
    (
        "dest",  # str
        "module",  # views.ModuleFile or views.KeptLink
        "extension",  # Extension | None
        "duplicate_ok",  # bool: the planner already chose this dest's copy by rule
        "excluded",  # bool: -X: the file stays where it is, untouched
    ),
    defaults=(None, False, False),
)


class Context:
    __slots__ = (
        "default_version",
        "exclude",
        "fix_libpython",
        "host_arch",
        "inspect",
        "multi_arch",
        "package_architecture",
        "resolver",
        "shared_dir",
        "strict",
        "supported_versions",
    )

    def __init__(
        self,
        shared_dir,
        resolver,
        supported_versions,
        default_version,
        inspect,
        strict=False,
        host_arch=lambda: None,
        package_architecture=lambda package: None,
        fix_libpython=False,
        exclude=(),
        multi_arch=lambda package: None,
    ):
        self.shared_dir = shared_dir  # str
        self.resolver = resolver  # tags.SuffixResolver
        self.supported_versions = supported_versions  # callable -> list of versions
        self.default_version = default_version  # callable -> version
        self.inspect = inspect  # callable(path, stem, where) -> elf.ElfFacts | None
        self.strict = strict
        self.host_arch = host_arch  # callable -> DEB_HOST_ARCH
        self.package_architecture = package_architecture  # callable(package) -> Architecture field
        self.fix_libpython = fix_libpython
        self.multi_arch = multi_arch  # callable(package) -> Multi-Arch field, or None
        self.exclude = tuple(exclude)  # -X items: a path containing one is left alone

    def excluded(self, *paths):
        return any(item in path for item in self.exclude for path in paths if path)


class Decisions:
    __slots__ = ("bytecode", "placements", "unclaimed", "views", "warnings")

    def __init__(self, placements=None, bytecode=None, warnings=None, views=None):
        self.unclaimed = []  # tree-relative storage places left alone (unclaimed_storage)
        self.placements = [] if placements is None else placements
        self.bytecode = [] if bytecode is None else bytecode  # ModuleFile to delete
        self.warnings = [] if warnings is None else warnings
        self.views = views


def normalise_rel(rel, merged=frozenset()):
    """`rel` with the ``-pyX.Y`` of its egg-info name dropped when that name is
    in `merged` (two versions' copies that become one); otherwise as it is."""
    first, _, rest = rel.partition("/")
    if first in merged:
        first = _EGG_VERSION.sub("", first)
    return f"{first}/{rest}" if rest else first


def merged_metadata(rels):
    """The egg-info names among the top-level names of `rels` that must merge
    with another version's copy (``foo-1.0-py3.10.egg-info`` and
    ``foo-1.0-py3.11.egg-info``, or one of them and ``foo-1.0.egg-info``): only
    those lose their ``-pyX.Y``.  A lone ``foo-1.0-py3.11.egg-info`` keeps it."""
    names = {}
    for rel in rels:
        first = rel.partition("/")[0]
        if first.endswith(".egg-info"):
            names.setdefault(_EGG_VERSION.sub("", first), set()).add(first)
    return frozenset(name for group in names.values() if len(group) > 1 for name in group)


def top_level_name(rel):
    first, slash, _ = rel.partition("/")
    if slash:
        return first
    if first.endswith((".py", ".so")):
        return first.split(".", 1)[0]
    return first


def same_content(root, a, b):
    if a == b:
        return True
    path_a, path_b = os.path.join(root, a), os.path.join(root, b)
    if os.lstat(path_a).st_size != os.lstat(path_b).st_size:
        return False
    with open(path_a, "rb") as fa, open(path_b, "rb") as fb:
        while True:
            chunk_a, chunk_b = fa.read(1 << 20), fb.read(1 << 20)
            if chunk_a != chunk_b:
                return False
            if not chunk_a:
                return True


def unclaimed_storage(inventory):
    """The storage places of layouts.UNCLAIMED_STORAGE_RULES that no helper made: no
    helper metadata in the tree and no link into or inside them (bookworm's
    libchewing3 ships Python 2 code in /usr/share/pyshared, wireshark-dev
    helper scripts)."""
    if inventory.metadata:
        return []
    from pyshared_tools.engine.links import link_target_in_tree

    candidates = [p for p in inventory.places if p.rule.name in layouts.UNCLAIMED_STORAGE_RULES]
    if not candidates:
        return []
    touched = set()
    for link, resolution in inventory.resolutions.items():
        for path in (link, link_target_in_tree(link, inventory.link_texts[link]), resolution.path):
            for place in candidates:
                if path is not None and (path == place.path or path.startswith(place.path + "/")):
                    touched.add(place.path)
    return [p for p in candidates if p.path not in touched]


def decide(inventory, context):
    views = build_views(inventory)
    decisions = Decisions(views=views)
    for place in unclaimed_storage(inventory):
        decisions.unclaimed.append(place.path)
        prefix = place.path + "/"
        views.modules = [m for m in views.modules if not m.source.startswith(prefix)]
        decisions.warnings.append(
            f"{place.path} holds files no Python helper made (no farm link, no helper metadata), "
            f"{place.path} in {inventory.package}, left where they are: install them where they belong"
        )
    python2_versions = _python2_targets(inventory)
    listed_majors, field_major = _python_support_majors(inventory)
    default_major = _unlinked_storage_major(inventory, views, field_major)

    def major_of(item):
        return item.major or listed_majors.get(getattr(item, "source", item.origin), default_major)

    merged = {
        major: merged_metadata(m.rel for m in [*views.modules, *views.kept_links] if major_of(m) == major)
        for major in (2, 3)
    }
    python3 = []
    for module in views.modules:
        if context.excluded(module.source, module.origin):
            # -X: left where it is, untouched; an extension still counts for Depends.
            if not _BYTECODE.search(module.rel):
                extension = _extension(inventory, context, module, excluded=True)
                if extension:
                    extension = extension._replace(name=module.source.rsplit("/", 1)[-1])
                decisions.placements.append(Placement(module.source, module, extension, excluded=True))
            continue
        if _BYTECODE.search(module.rel):
            decisions.bytecode.append(module)
            continue
        major = major_of(module)
        if major == 2:
            for version in [module.version] if module.version else python2_versions:
                base = f"usr/lib/python{version_text(version)}/dist-packages"
                dest = f"{base}/{normalise_rel(module.rel, merged[2])}"
                decisions.placements.append(Placement(dest, module))
        else:
            python3.append(module)
    _decide_python3(inventory, context, python3, decisions, merged[3])
    extensions = {}
    for placement in decisions.placements:
        if placement.extension is not None:
            extensions.setdefault(placement.module.source, placement.extension)
    for link in views.kept_links:
        if context.excluded(link.origin):
            continue
        major = major_of(link)
        rel = normalise_rel(link.rel, merged[2 if major == 2 else 3])
        if major == 2:
            base = f"usr/lib/python{version_text(link.version or python2_versions[-1])}/dist-packages"
        else:
            base = context.shared_dir
            rel = _renamed_with_target(inventory, link, rel, extensions)
        decisions.placements.append(Placement(f"{base}/{rel}", link))
    return decisions


def _renamed_with_target(inventory, link, rel, extensions):
    """A moved link named like the extension it reaches is renamed as that
    extension is: ``_foo.so -> foo/_foo.so`` becomes
    ``_foo.cpython-311-<multiarch>.so`` (its target is retargeted in engine/retarget.py)."""
    resolution = inventory.resolutions.get(link.origin)
    if resolution is None or not resolution.is_file or resolution.path not in extensions:
        return rel
    directory, _, name = rel.rpartition("/")
    parsed = tags.split_module_filename(name)
    if parsed is None:
        return rel
    target_name = extensions[resolution.path].name
    renamed = parsed.stem + target_name[len(target_name.split(".", 1)[0]) :]
    return f"{directory}/{renamed}" if directory else renamed


def _python2_targets(inventory):
    versions = sorted({p.version for p in inventory.places if p.version and p.version[0] == 2})
    return versions or [(2, 7)]


def _python_support_majors(inventory):
    """({listed tree-relative path: major}, major of every header or None) from
    python-support's .public/.private files: their ``pyversions=`` (``pyversion=``)
    header names the versions its files are for (``2.6-``, ``3.11``); without
    one they were for Python 2, the only one python-support served.  A
    python-central usr/share/pyshared-data file's ``python-version=`` is read alike."""
    from pyshared_tools import files

    listed, majors = {}, set()
    for path, helper in inventory.metadata:
        if path.endswith(".dirs"):
            continue
        text = files.read_text(os.path.join(inventory.root, path), limit=PYSUPPORT_METADATA_LIMIT)
        lines = text.splitlines()
        if helper == "python-central":
            fields = [_PYCENTRAL_FIELD.fullmatch(line.strip()) for line in lines]
            numbers = {int(m["major"]) for f in fields if f for m in _VERSION_NUMBER.finditer(f["versions"])}
            majors.add(3 if 3 in numbers else 2)
            continue
        field = _PYSUPPORT_FIELD.fullmatch(lines[0].strip()) if lines else None
        numbers = {int(m["major"]) for m in _VERSION_NUMBER.finditer(field["versions"])} if field else set()
        major = 3 if 3 in numbers else 2
        majors.add(major)
        for line in lines[1 if field else 0 :]:
            line = line.strip()
            if line.startswith("/"):
                listed[line.lstrip("/")] = major
    return listed, (majors.pop() if len(majors) == 1 else None)


def _unlinked_storage_major(inventory, views, field_major=None):
    """Which Python an unlinked /usr/share/pyshared file was for."""
    linked = {m.major for m in views.modules if m.origin != m.source and m.major}
    if len(linked) == 1:
        return linked.pop()
    if field_major is not None:
        return field_major  # python-support's pyversions= header
    if inventory.metadata:
        return 2  # python-support and python-central served Python 2 only
    majors = {p.major for p in inventory.places if p.major and not p.rule.storage}
    if len(majors) == 1:
        return majors.pop()
    return 3 if inventory.package.startswith("python3-") or not inventory.package.startswith("python-") else 2


def _decide_python3(inventory, context, modules, decisions, merged):
    groups = {}
    for module in modules:
        extension = _extension(inventory, context, module)
        rel = normalise_rel(module.rel, merged)
        if extension:
            rel = f"{os.path.dirname(rel)}/{extension.name}".lstrip("/")
        groups.setdefault(top_level_name(rel), []).append((rel, module, extension))
    for name in sorted(groups):
        _decide_group(inventory, context, name, groups[name], decisions)


def _extension(inventory, context, module, excluded=False):
    name = module.rel.rsplit("/", 1)[-1]
    parsed = tags.split_module_filename(name)
    if parsed is None:
        return None
    where = f"{module.origin} in {inventory.package}"
    # The one read of the file: every later check uses these facts.
    facts = context.inspect(os.path.join(inventory.root, module.source), parsed.stem, where)
    init = checks.init_function(parsed.stem, facts)
    if init.outcome == "error" and not excluded:
        raise AbiError(init.what, where, init.todo)
    tag_text = parsed.tag_text
    resolver = context.resolver
    if tags.stable_abi_tag(tag_text):
        return Extension(None, _stable_abi_name(context, name), facts)
    if tag_text and tag_text.startswith("cpython-"):
        version = resolver.version_of_tag(tag_text)
        if f".{tag_text}.so" in resolver.imported_suffixes(version):
            return Extension(version, name, facts)
    module_name = facts.module if facts else None
    if module_name is None:
        return None
    if tag_text and tag_text.startswith("cpython-"):
        version = resolver.version_of_tag(tag_text)
    else:
        version = module.version or _untagged_version(context, module, inventory)
    if version == "abi3":
        # --tag abi3 (abi3t): the name the maintainer asked for, which every version must import.
        tag = resolver.stable_abi_tag
        tags.check_stable_abi_tag(tag, context.supported_versions(), resolver.imported_suffixes)
        return Extension(None, module_name + tag.suffix, facts)
    return Extension(version, module_name + resolver.suffix_for(version), facts)


def _stable_abi_name(context, name):
    """foo.abi3.so becomes foo.abi3-<multiarch>.so (abi3t likewise) where every
    supported version imports that name (Debian 3.13 and later, as unstable's
    dh_python3 renames it): the file then carries the architecture, as
    Multi-Arch: same needs; substvars raises the Depends lower bound to the
    first version importing it (checks.stable_abi_needs)."""
    resolver = context.resolver
    qualified = tags.qualified_stable_abi_name(name, resolver.host_multiarch())
    if qualified is None:
        return name
    suffix = qualified[qualified.index(".") :]
    versions = context.supported_versions()
    if versions and all(suffix in resolver.imported_suffixes(version) for version in versions):
        return qualified
    return name


def _untagged_version(context, module, inventory):
    tagged = sorted(context.resolver.tagged_versions())
    if len(tagged) == 1:
        return tagged[0]
    if not tagged and context.resolver.abi3_requested:
        return "abi3"
    where = f"{module.origin} in {inventory.package}"
    if len(tagged) > 1:
        raise TagError(
            "untagged extension outside a pythonX.Y directory but several --tag versions given",
            where,
            "install each version's build into /usr/lib/pythonX.Y/dist-packages, or give one --tag",
        )
    supported = context.supported_versions()
    if len(supported) == 1:
        return supported[0]
    default = context.default_version()
    if default in supported:
        return default
    raise TagError(
        "cannot tell which Python 3 version an untagged extension was built for",
        where,
        "pass --tag for it, or install it into /usr/lib/pythonX.Y/dist-packages",
    )


def _decide_group(inventory, context, name, members, decisions):
    by_rel = {}
    for rel, module, extension in members:
        by_rel.setdefault(rel, []).append((module, extension))
    split_versions = set()
    chosen = {}
    for rel, copies in sorted(by_rel.items()):
        chosen[rel], differs = _choose_copy(inventory, context, rel, copies, decisions)
        if differs:
            split_versions.add(rel)
    if split_versions:
        _place_per_version(inventory, context, name, members, split_versions, decisions)
        return
    for rel, (module, extension) in sorted(chosen.items()):
        decisions.placements.append(Placement(f"{context.shared_dir}/{rel}", module, extension))
        for other, _ in by_rel[rel]:
            if other is not module:
                decisions.placements.append(
                    Placement(f"{context.shared_dir}/{rel}", other, extension, duplicate_ok=True)
                )


def _order(copy):
    module = copy[0]
    return (module.home_path is None, tuple(-v for v in (module.version or (99, 99))))


def _choose_copy(inventory, context, rel, copies, decisions):
    """The copy that lands on ``rel``; whether the versions' copies differ for real."""
    copies = sorted(copies, key=_order)
    first = copies[0][0]
    different = [m for m, _ in copies[1:] if not same_content(inventory.root, first.source, m.source)]
    if not different:
        return copies[0], False
    versions = ", ".join(sorted({version_text(m.version) for m, _ in copies if m.version}))
    where = f"{rel} ({versions}) in {inventory.package}"
    extension = copies[0][1]
    if extension is not None and extension.version is None:
        lowest = sorted(copies, key=lambda c: c[0].version or (0, 0))[0]
        decisions.warnings.append(
            f"stable-ABI extension differs between versions, {where}, kept the copy built for "
            f"{version_text(lowest[0].version) if lowest[0].version else 'the shared directory'}"
        )
        return lowest, False
    if extension is not None:
        raise CollisionError(
            "two different builds would land on one file name",
            f"{first.origin} and {different[0].origin} -> {rel} in {inventory.package}",
            "remove one of them from the build",
        )
    if rel.rsplit("/", 1)[-1] in GENERATED_METADATA and _METADATA_DIR.match(rel):
        decisions.warnings.append(
            f"generated packaging metadata differs between versions, {where}, kept the copy of "
            f"Python {version_text(first.version) if first.version else '3'}"
        )
        return copies[0], False
    if any(m.version is None for m, _ in copies):
        sources = sorted({m.origin for m, _ in copies})
        raise CollisionError(
            "two sources with different content would land on one destination",
            f"{sources[0]} and {sources[1]} -> {rel} in {inventory.package}",
            "make the copies identical or remove one from the build",
        )
    return copies[0], True


def _place_per_version(inventory, context, name, members, split_rels, decisions):
    shared = [m for _, m, _ in members if m.version is None]
    if shared:
        raise CollisionError(
            "pure files differ between Python versions but the package is also in the shared directory",
            f"{', '.join(sorted(split_rels))} and {shared[0].origin} in {inventory.package}",
            "make the versions' copies identical, or drop the shared copy",
        )
    versions = sorted({m.version for _, m, _ in members})
    decisions.warnings.append(
        f"pure files differ between Python versions, {', '.join(sorted(split_rels))} "
        f"({', '.join(version_text(v) for v in versions)}) in {inventory.package}, "
        f"kept {name} in each version's /usr/lib/python3.X/dist-packages"
    )
    for rel, module, extension in members:
        dest = f"usr/lib/python{version_text(module.version)}/dist-packages/{rel}"
        decisions.placements.append(Placement(dest, module, extension))
