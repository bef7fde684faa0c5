"""Where Python modules live in a package tree: the table of locations.

Each rule is data: a regular expression over a tree-relative directory, what
kind of place it is, and for which Python.  ``home`` places are final (modules
stay there); every other place is dissolved: its modules are moved to a home
and the place is removed once empty.  Stdlib directories (lib-dynload and the
interpreter's own files) never match.
"""

import functools
import re
from collections import namedtuple

from pyshared_tools import SHARED_DIR
from pyshared_tools.lazy import pattern as lazy_pattern

Rule = namedtuple(
    "Rule",
    (
        "name",  # str: stable identifier, used in reports and --json
        "pattern",  # str: full match against a tree-relative directory
        "major",  # int | None: 2, 3, or None when the place served both
        "home",  # bool
        "storage",  # bool: not on any sys.path: only the farm links made it importable
        "description",  # str
    ),
    defaults=(False, False, ""),
)


# The order matters only for documentation; patterns do not overlap.
# fmt: off
RULES = (
    Rule("python3-shared", SHARED_DIR, 3, home=True,
         description="Debian's one directory for every Python 3 version"),
    Rule("python2-dist", r"usr/lib/python(?P<version>2\.\d+)/dist-packages", 2, home=True,
         description="Python 2 public modules (no PEP 3149 tags ever existed for 2.x)"),
    Rule("python2-site", r"usr/lib/python(?P<version>2\.\d+)/site-packages", 2,
         description="upstream install into site-packages"),
    Rule("python3-versioned", r"usr/lib/python(?P<version>3\.\d+)/(?:dist|site)-packages", 3,
         description="upstream or per-version install"),
    Rule("local", r"usr/local/lib/python(?P<version>[23]\.\d+)/(?:dist|site)-packages", None,
         description="upstream install under /usr/local (Policy 9.1.2 forbids shipping it)"),
    Rule("pyshared", r"usr/share/pyshared", None, storage=True,
         description="python-support, python-central and dh_python2 2010-2014: pure modules"),
    Rule("pyshared-ext", r"usr/lib/pyshared/python(?P<version>[23]\.\d+)", None, storage=True,
         description="python-support extensions (real) or dh_python2 conflict links"),
    Rule("pymodules", r"usr/lib/pymodules/python(?P<version>[23]\.\d+)", None,
         description="python-support's per-version tree"),
    Rule("python-support-var", r"var/lib/python-support/python(?P<version>[23]\.\d+)", None,
         description="python-support before 0.90"),
    Rule("python-support-legacy", r"usr/share/python-support/(?P<package>[^/]+)", 2, storage=True,
         description="python-support before 0.90: public modules of one package"),
    Rule("python-support-legacy-ext",
         r"usr/lib/python-support/python(?P<version>2\.\d+)/(?P<package>[^/]+)", 2, storage=True,
         description="python-support before 0.90: public extensions of one package"),
    Rule("pycentral-legacy", r"usr/share/pycentral/(?P<package>[^/]+)/site-packages", 2, storage=True,
         description="python-central before /usr/share/pyshared"),
)
# fmt: on

# Helper metadata that only the old helper read; removed with the farm.
METADATA_PATTERNS = (
    (r"usr/share/python-support/[^/]+\.(?:public|private|dirs)", "python-support"),
    (r"usr/share/pyshared-data/[^/]+", "python-central"),
)

# Storage places that only an old helper's farm links or metadata made Python's:
# without either, no helper made them and their files may be anything (engine/placement.py
# leaves them where they are, pyshared-scan reports unclaimed-pyshared).
UNCLAIMED_STORAGE_RULES = frozenset({"pyshared", "pyshared-ext"})

# Places whose files a Python 3 build installed for Python 3 (an upstream install, or
# Debian's directory itself): moving such a file to another Python 3 directory does not
# expose it to py3compile for the first time, so it is compiled before the move only
# with --strict.  Files from every other place (storage shared with Python 2, farm-era
# trees, unversioned places) are always compiled first.
PYTHON3_INSTALL_RULES = frozenset({"python3-shared", "python3-versioned", "local"})


def installed_for_python3(place):
    """Whether `place` (a Place or None) holds files a Python 3 build installed there."""
    return place is not None and place.rule.name in PYTHON3_INSTALL_RULES and place.major == 3


# Directories never removed even when emptied by the move.
KEEP_DIRECTORIES = frozenset({"", "usr", "usr/lib", "usr/share", "var", "var/lib"})

# Compiled when first tried: match_place stops at the first rule that matches, and
# a tree without farm-era metadata never asks for match_metadata's patterns.
_COMPILED = tuple((rule, lazy_pattern(rule.pattern)) for rule in RULES)
_METADATA = tuple((lazy_pattern(text), helper) for text, helper in METADATA_PATTERNS)


class Place(
    namedtuple(
        "Place",
        (
            "path",  # str: tree-relative directory
            "rule",  # Rule
            "version",  # tuple | None: (3, 11) when the place belongs to one interpreter
        ),
    )
):
    __slots__ = ()

    @property
    def major(self):
        if self.version:
            return self.version[0]
        return self.rule.major

    @property
    def home(self):
        return self.rule.home


def match_place(path, shared_dir=SHARED_DIR):
    """The Place a tree-relative directory is, or None."""
    if path == shared_dir:
        return Place(path, RULES[0], None)
    for rule, regex in _COMPILED:
        match = regex.fullmatch(path)
        if match:
            version_text = match.groupdict().get("version")
            version = tuple(int(p) for p in version_text.split(".")) if version_text else None
            return Place(path, rule, version)
    return None


def match_metadata(path):
    """The helper a farm metadata file belonged to, or None."""
    for regex, helper in _METADATA:
        if regex.fullmatch(path):
            return helper
    return None


def _components(pattern):
    """A path pattern split at the slashes outside brackets and groups."""
    parts, depth, current = [], 0, ""
    for char in pattern:
        depth += (char in "([") - (char in ")]")
        if char == "/" and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return (*parts, current)


def _readable(components):
    text = "/".join(components).replace("(?:dist|site)", "{dist,site}").replace("\\.", ".")
    return re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: "X.Y" if m[1] == "version" else m[1].upper(), text)


@functools.cache
def _place_components():
    """(component regexes, readable path) of every place and metadata directory:
    compiled on first use (only a --shared-dir other than the default needs them)."""
    return tuple(
        (tuple(re.compile(part) for part in parts), _readable(parts))
        for parts in (
            *(_components(rule.pattern) for rule in RULES),
            *(_components(pattern)[:-1] for pattern, _ in METADATA_PATTERNS),
        )
    )


def overlapping_place(path):
    """The readable place pattern that the directory `path` contains, is or
    lies inside, or None: a shared directory there would nest in the inventory."""
    parts = path.split("/")
    for regexes, readable in _place_components():
        common = min(len(parts), len(regexes))
        if all(regex.fullmatch(part) for regex, part in zip(regexes[:common], parts[:common], strict=True)):
            return readable
    return None


_REGEX_CHARACTERS = frozenset("\\()[]{}?*+|^$.")


def _is_literal(component):
    return not _REGEX_CHARACTERS.intersection(component)


@functools.cache
def search_components():
    """For every rule, in RULES order: its path split into components, each a str when
    literal or a compiled regex to match directory names against.  The inventory lists only
    the directories these name (inventory.candidate_directories)."""
    return tuple(
        tuple(part if _is_literal(part) else re.compile(part) for part in _components(rule.pattern))
        for rule in RULES
    )


def _literal_parents():
    """The literal leading components of every place and metadata pattern."""
    for pattern in (*(rule.pattern for rule in RULES), *(pattern for pattern, _ in METADATA_PATTERNS)):
        parts = _components(pattern)
        literal = []
        for part in parts:
            if not _is_literal(part):
                break
            literal.append(part)
        yield literal, parts


def candidate_prefixes():
    """Line prefixes (bytes, with the newline before them) that every place and metadata
    path of a Contents index starts with: the directory above the first component that
    begins with "py", and that "py" (archive/contents.py looks only at such lines)."""
    prefixes = []
    for literal, parts in _literal_parents():
        index = next((i for i, part in enumerate(parts) if part.startswith("py")), None)
        if index is None or index > len(literal):  # no literal way to the "py": the whole literal part
            prefix = "/".join(literal) + "/"
        else:
            prefix = "/".join(parts[:index]) + "/py"
        encoded = b"\n" + prefix.encode()
        if encoded not in prefixes:
            prefixes.append(encoded)
    return tuple(prefixes)


def promise_paths():
    """The directories whose absence from a package tree means dh_pyshared has nothing to do:
    for every pattern, its literal directories up to the first one that begins with "py"
    (that one too when it is literal), without those that lie inside another.  bin/dh_pyshared's
    PROMISE line lists them (promise_line), and the man page."""
    paths = set()
    for literal, parts in _literal_parents():
        index = next((i for i, part in enumerate(parts) if part.startswith("py")), len(parts))
        paths.add("/".join(literal[: min(index + 1, len(literal))]))
    return tuple(
        sorted(p for p in paths if not any(p.startswith(other + "/") for other in paths if other != p))
    )


def promise_line():
    """The PROMISE comment bin/dh_pyshared must carry, as dh reads it.  Regenerate with
    python3 -c 'from pyshared_tools.rules import layouts; print(layouts.promise_line())'"""
    return "# PROMISE: DH NOOP WITHOUT " + " ".join(f"tmp({path})" for path in promise_paths())
