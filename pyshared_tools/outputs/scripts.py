"""What each maintainer script of a package needs, from its plan: the data
the templates are rendered with, and the rendered snippets.

Nothing here touches or reads the package tree: the plan carries what the
scripts need of it (engine/farm.py), the directory links with their text.
"""

import os
import posixpath

from pyshared_tools import SHARED_DIR
from pyshared_tools.lazy import pattern

DEFAULT_SHARED_DIR = SHARED_DIR

# Which template goes into which script, in the order of the blocks in it.
SNIPPETS = {
    "preinst": ("maintscript-pyshared", "preinst-pyshared-farm"),
    "postinst": ("maintscript-pyshared", "postinst-pyshared-farm", "postinst-pyshared"),
    "prerm": ("prerm-pyshared", "maintscript-pyshared"),
    "postrm": ("postrm-pyshared-farm", "maintscript-pyshared"),
}

# Links an old helper made at install time (none shipped in its .deb), by the
# storage place the linked file lies in: (location kind in _farm-links, how
# the link target is spelled from the file's tree-relative path).
RUNTIME_LINKS = {
    "pyshared": ("python-support", "python-central"),
    "pyshared-ext": ("python-support",),
    "python-support-legacy": ("python-support-var",),
    "python-support-legacy-ext": ("python-support-var",),
    "pycentral-legacy": ("python-central",),
}
# Which helpers' metadata rules a location kind out (python-support's .public
# file means python-central never saw the package, and the reverse).
HELPER_OF_KIND = {
    "python-support": "python-support",
    "python-support-var": "python-support",
    "python-central": "python-central",
}

COMPILE_TOOLS = {3: ("py3compile", "py3clean"), 2: ("pycompile", "pyclean")}

# dh_python3 wraps what it adds to debian/<package>.<script>.debhelper in
# these markers (its own autoscript(), without a version).
DH_PYTHON3_BEGIN = "# Automatically added by dh_python3"
DH_PYTHON3_END = "# End automatically added section"
# Its public-directory calls: `py3compile -p PKG[:ARCH] [-V RANGE]` (no -p with
# --compile-all) and `py3clean -p PKG[:ARCH]`; a private directory is an
# argument starting with "/" and does not count.
_DH_PYTHON3_CALL = pattern(r"[ \t]*(py3compile|py3clean)(?:[ \t]+-p[ \t]+(\S+))?(?:[ \t]+-V[ \t]+\S+)?[ \t]*")


class FarmLink:
    __slots__ = ("name", "target")

    def __init__(self, name, target):
        self.name = name  # path below the version directory
        self.target = target  # absolute link text the old helper wrote


class FarmLocation:
    __slots__ = ("directories", "kind", "links")

    def __init__(self, kind, links, directories):
        self.kind = kind
        self.links = links
        self.directories = directories  # deepest first


def dh_python3_blocks(text):
    """The lines of every block dh_python3 added to a snippet file's text."""
    lines, inside = [], False
    for line in text.splitlines():
        if line == DH_PYTHON3_BEGIN:
            inside = True
        elif line == DH_PYTHON3_END:
            inside = False
        elif inside:
            lines.append(line)
    return lines


def dh_python3_compiles(package, postinst, prerm):
    """Whether dh_python3 already byte-compiles (postinst) and cleans (prerm)
    `package`'s public modules, from the text of its two snippet files."""

    def calls(text, tool):
        for line in dh_python3_blocks(text):
            match = _DH_PYTHON3_CALL.fullmatch(line)
            if match and match.group(1) == tool:
                named = match.group(2)
                if named is None or named == package or named.startswith(package + ":"):
                    return True
        return False

    return calls(postinst, "py3compile") and calls(prerm, "py3clean")


def compile_blocks(plan, shared_dir, dh_python3=False):
    """The byte-compile blocks of the package's postinst and prerm.

    `dh_python3`: dh_python3 already wrote `py3compile -p`/`py3clean -p` for
    the package; those cover the default shared directory, so no Python 3
    block of ours is added (a Python 2 one still is).
    """
    blocks = []
    if plan.python3_modules and not (dh_python3 and shared_dir == DEFAULT_SHARED_DIR):
        helper, cleaner = COMPILE_TOOLS[3]
        shared = "/" + shared_dir
        blocks.append(
            {
                "major": 3,
                "helper": helper,
                "cleaner": cleaner,
                "directories": [shared],
                # py3compile -p PKG compiles /usr/lib/python3*/dist-packages;
                # any other shared directory is passed to it as dh_python3
                # passes a private directory.
                "private_directories": [] if shared_dir == DEFAULT_SHARED_DIR else [shared],
            }
        )
    if plan.python2_modules:
        helper, cleaner = COMPILE_TOOLS[2]
        blocks.append(
            {"major": 2, "helper": helper, "cleaner": cleaner, "directories": [], "private_directories": []}
        )
    return blocks


def farm_locations(runtime_farm, helpers):
    """[FarmLocation] for the storage files no shipped link pointed at.

    `runtime_farm`: (storage rule name, storage place path, rel) per file;
    `helpers`: the old helpers whose metadata the tree held (may be empty).
    """
    by_kind = {}
    for rule_name, place_path, rel in runtime_farm:
        for kind in RUNTIME_LINKS.get(rule_name, ()):
            if helpers and HELPER_OF_KIND[kind] not in helpers:
                continue
            by_kind.setdefault(kind, {})[rel] = "/" + posixpath.join(place_path, rel)
    locations = []
    for kind, targets in sorted(by_kind.items()):
        links = [FarmLink(rel, target) for rel, target in sorted(targets.items())]
        directories = set()
        for rel in targets:
            parent = posixpath.dirname(rel)
            while parent:
                directories.add(parent)
                parent = posixpath.dirname(parent)
        ordered = sorted(directories, key=lambda d: (-d.count("/"), d))
        locations.append(FarmLocation(kind, links, ordered))
    return locations


class Legacy:
    """What a package's farm-era versions left that its scripts must handle.

    Saved in debian/.debhelper/pyshared/<package>.legacy.json and merged on
    every run: a rerun over the already-converted tree sees no farm any more
    but must write the same snippets (dh_clean removes the record).
    """

    __slots__ = ("directory_links", "helpers", "runtime_farm", "storage_sources")

    def __init__(self, runtime_farm=(), helpers=(), directory_links=(), storage_sources=()):
        self.runtime_farm = sorted({tuple(entry) for entry in runtime_farm})
        self.helpers = sorted(set(helpers))
        self.directory_links = sorted({tuple(entry) for entry in directory_links})
        self.storage_sources = sorted({tuple(entry) for entry in storage_sources})

    def merged(self, other):
        return Legacy(
            self.runtime_farm + other.runtime_farm,
            self.helpers + other.helpers,
            self.directory_links + other.directory_links,
            self.storage_sources + other.storage_sources,
        )

    def __bool__(self):
        return bool(self.runtime_farm or self.directory_links or self.storage_sources)

    def to_json(self):
        import json

        document = {name: getattr(self, name) for name in self.__slots__}
        return json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text):
        import json

        return cls(**json.loads(text))


def legacy_path(package):
    return os.path.join("debian", ".debhelper", "pyshared", f"{package}.legacy.json")


def load_legacy(package):
    """The saved record (a regular UTF-8 file holding exactly what to_json()
    writes), or an empty Legacy when there is none."""
    from pyshared_tools.files import read_text

    path = legacy_path(package)
    text = read_text(path, missing_ok=True)
    if text is None:
        return Legacy()
    try:
        return Legacy.from_json(_validated_record(text))
    except _BadRecord as error:
        from pyshared_tools.errors import SourceFileError

        raise SourceFileError(
            f"{path} is a record this tool did not write ({error})",
            f"for {package}",
            "remove it (dh_clean does) and run dh_pyshared again",
        ) from None


class _BadRecord(Exception):
    pass


# Field -> (length of each entry, which of its items are paths: "rel" or "abs"); helpers are names.
_RECORD_SHAPES = {
    "runtime_farm": (3, (None, "rel", "rel")),
    "directory_links": (2, ("abs", None)),
    "storage_sources": (2, ("rel", "rel")),
}


def _validated_record(text):
    import json

    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        raise _BadRecord("not JSON") from None
    if not isinstance(document, dict) or not set(document) <= set(Legacy.__slots__):
        raise _BadRecord("not a record object")
    helpers = document.get("helpers", [])
    if not isinstance(helpers, list) or not set(helpers) <= set(HELPER_OF_KIND.values()):
        raise _BadRecord("unknown helpers")
    for name, (length, kinds) in _RECORD_SHAPES.items():
        entries = document.get(name, [])
        if not isinstance(entries, list):
            raise _BadRecord(f"{name} is not a list")
        for entry in entries:
            if not (isinstance(entry, list) and len(entry) == length and all(_clean(item) for item in entry)):
                raise _BadRecord(f"a bad entry in {name}")
            for item, kind in zip(entry, kinds, strict=True):
                if kind and not _normal_path(item, absolute=kind == "abs"):
                    raise _BadRecord(f"a bad path in {name}")
    return text


def _clean(item):
    return isinstance(item, str) and item and not any(ord(c) < 32 or c == "\x7f" for c in item)


def _normal_path(path, absolute):
    if path.startswith("/") != absolute:
        return False
    return posixpath.normpath(path) == path and ".." not in path.split("/")


def script_data(plan, shared_dir, version, legacy, dh_python3=False):
    """Everything the templates need for one package."""
    return {
        "package": plan.package,
        # What the scripts name the package by: a Multi-Arch: same package is
        # qualified (python3-foo:amd64), as dh_python3 writes it, or
        # dpkg-query and py3compile fail once two architectures are installed.
        "package_instance": plan.package + plan.architecture_qualifier,
        "multi_arch_same": bool(plan.architecture_qualifier),
        "compile_blocks": compile_blocks(plan, shared_dir, dh_python3),
        "switches": [
            {"path": path, "old_target": target, "prior_version": f"{version}~"}
            for path, target in legacy.directory_links
        ],
        "farm": {
            "before": version,
            "locations": farm_locations(legacy.runtime_farm, set(legacy.helpers)),
            "stale_sources": ["/" + path for _, path in legacy.storage_sources],
            "stale_directories": _storage_directories(legacy.storage_sources),
        },
    }


def _storage_directories(storage_sources):
    """The old storage directories, deepest first, down to each storage place."""
    directories = set()
    for place, path in storage_sources:
        parent = posixpath.dirname(path)
        while parent and (parent == place or parent.startswith(place + "/")):
            directories.add("/" + parent)
            parent = posixpath.dirname(parent)
    return sorted(directories, key=lambda d: (-d.count("/"), d))


def needed(template, data):
    if template == "maintscript-pyshared":
        return bool(data["switches"])
    if template == "postinst-pyshared-farm":
        return bool(data["farm"]["locations"] or data["farm"]["stale_sources"])
    if template.endswith("-farm"):
        return bool(data["farm"]["locations"])
    return bool(data["compile_blocks"])


def render_snippets(data):
    """{script: text of our block} for the scripts that need one: rendered in
    advance where the data has a shape known when the tool was built
    (outputs/prerender.py), else with Jinja2 now."""
    from pyshared_tools.outputs.prerender import fill

    def snippet(template):
        text = fill(template, data)
        if text is None:
            from pyshared_tools.outputs.render import render

            text = render(template, **data)
        return text

    bodies = {}
    for script, templates in SNIPPETS.items():
        parts = [snippet(template) for template in templates if needed(template, data)]
        if parts:
            bodies[script] = "".join(parts)
    return bodies
