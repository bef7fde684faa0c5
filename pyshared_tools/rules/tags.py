"""ABI tags: the library's single source of truth for extension file names.

A tag is the middle of ``foo.<tag>.so`` (PEP 3149, PEP 384).  Which suffixes
a Debian CPython X.Y imports comes either from the interpreter itself (one
batched query) or from ``_SUFFIX_RULES``, a table of what Debian shipped.
"""

import json
import math
import os
import posixpath
import re
from collections import namedtuple

from pyshared_tools.errors import ExternalToolError, TagError
from pyshared_tools.lazy import pattern

_MULTIARCH = r"[a-z0-9_]+(?:-[a-z0-9_]+)+"
# Compiled when first used: a run without --tag parses no tag text of this shape.
_CPYTHON_TAG = pattern(rf"cpython-(?P<digits>\d+)(?P<flags>t?d?m?u?)(?:-(?P<multiarch>{_MULTIARCH}))?")
# abi3t: the stable ABI of free-threaded builds (PEP 803), imported from 3.15 on.
_ABI3_TAG = re.compile(rf"abi3(?P<flags>t?)(?:-(?P<multiarch>{_MULTIARCH}))?")
_TAG_SHAPE = re.compile(r"[A-Za-z0-9_-]+")
# What an interpreter may answer as an import suffix: each becomes the end of a file name.
_SUFFIX_SHAPE = pattern(r"(?:\.[A-Za-z0-9_]+(?:-[A-Za-z0-9_]+)*)?\.so|module\.so")
_PYTHON2 = (2, 7)
_TAG_SYNTAX = "cpython-<major><minor>[flags][-<multiarch>], abi3 or abi3t, e.g. cpython-311-x86_64-linux-gnu"

# Debian CPython's importlib EXTENSION_SUFFIXES, in lookup order, per range of
# versions (first, last), each row measured on the real interpreter
# (tests/test_tags.py, tests/test_unstable.py): Debian disabled multiarch in
# 3.2; 3.3-3.7 carry the pymalloc 'm' flag; Debian 3.13 added
# '.abi3-<multiarch>.so' after '.abi3.so'; 3.15 looks it up before '.abi3.so'
# and adds abi3t, the stable ABI of free-threaded builds, after both.
_SUFFIX_RULES = (
    ((2, 7), (2, 7), (".{multiarch}.so", ".so", "module.so")),
    ((3, 2), (3, 2), (".cpython-{digits}mu.so", ".abi3.so", ".so")),
    ((3, 3), (3, 7), (".cpython-{digits}m-{multiarch}.so", ".abi3.so", ".so")),
    ((3, 8), (3, 12), (".cpython-{digits}-{multiarch}.so", ".abi3.so", ".so")),
    (
        (3, 13),
        (3, 14),
        (".cpython-{digits}-{multiarch}.so", ".abi3.so", ".abi3-{multiarch}.so", ".so"),
    ),
    (
        (3, 15),
        (3, math.inf),
        (
            ".cpython-{digits}-{multiarch}.so",
            ".abi3-{multiarch}.so",
            ".abi3.so",
            ".abi3t-{multiarch}.so",
            ".abi3t.so",
            ".so",
        ),
    ),
)

# Prints what the interpreter imports; must run on Python 2.7 and 3.2 too.
_QUERY_SCRIPT = """\
import json, sys, sysconfig
try:
    from importlib.machinery import EXTENSION_SUFFIXES as suffixes
except ImportError:
    import imp
    suffixes = [s for s, _mode, kind in imp.get_suffixes() if kind == imp.C_EXTENSION]
print(json.dumps({
    "version": list(sys.version_info[:2]),
    "EXTENSION_SUFFIXES": list(suffixes),
    "SOABI": sysconfig.get_config_var("SOABI"),
    "MULTIARCH": sysconfig.get_config_var("MULTIARCH"),
    "EXT_SUFFIX": sysconfig.get_config_var("EXT_SUFFIX"),
}))
"""


class Tag(
    namedtuple(
        "Tag",
        (
            "impl",  # str
            "version",  # tuple[int, int] | None
            "flags",  # str
            "multiarch",  # str | None
        ),
        defaults=("", None),
    )
):
    __slots__ = ()

    def __str__(self):
        if self.impl == "abi3":
            text = f"abi3{self.flags}"
        else:
            major, minor = self.version
            text = f"cpython-{major}{minor}{self.flags}"
        return f"{text}-{self.multiarch}" if self.multiarch else text

    @property
    def suffix(self):
        return f".{self}.so"


ModuleFileName = namedtuple(
    "ModuleFileName",
    (
        "stem",  # str
        "tag_text",  # str | None
        "suffix",  # str
    ),
)


def version_text(version):
    return ".".join(str(part) for part in version)


def parse_tag(text, origin="--tag"):
    """Parse an ABI tag as written in --tag or a file name; TagError if it is none."""
    if text.startswith(".") or text.endswith(".so"):
        suggestion = text.removesuffix(".so").rpartition(".")[2]
        raise _refusal(text, origin, "it is a file name suffix", f"write {origin} {suggestion}")
    if abi3 := _ABI3_TAG.fullmatch(text):
        return Tag("abi3", None, abi3["flags"], abi3["multiarch"])
    cpython = _CPYTHON_TAG.fullmatch(text)
    version, reason = _cpython_version(cpython["digits"]) if cpython else (None, None)
    if version is None:
        raise _refusal(text, origin, reason)
    return Tag("cpython", version, cpython["flags"], cpython["multiarch"])


def stable_abi_tag(tag_text):
    """The Tag of a stable-ABI name ('abi3', 'abi3t-x86_64-linux-gnu'), else None."""
    abi3 = _ABI3_TAG.fullmatch(tag_text or "")
    return Tag("abi3", None, abi3["flags"], abi3["multiarch"]) if abi3 else None


def stable_abi_since(tag):
    """The first Debian CPython version that imports the stable-ABI `tag`'s
    suffix, from the table: (3, 2) for abi3, (3, 13) for abi3-<multiarch>,
    (3, 15) for abi3t and abi3t-<multiarch>; None if no version does."""
    multiarch = tag.multiarch or ""  # the plain names do not contain it
    for first, _last, _templates in _SUFFIX_RULES:
        if first >= (3, 2) and tag.suffix in table_suffixes(first, multiarch):
            return first
    return None


def qualified_stable_abi_name(name, multiarch):
    """'foo.abi3-x86_64-linux-gnu.so' for 'foo.abi3.so' (abi3t likewise); None
    for any other name."""
    parsed = split_module_filename(name)
    tag = stable_abi_tag(parsed.tag_text) if parsed else None
    if tag is None or tag.multiarch:
        return None
    return parsed.stem + tag._replace(multiarch=multiarch).suffix


def _cpython_version(digits):
    """(3, 11) for '311', else (None, why '<digits>' names no tagged CPython)."""
    major, minor = digits[:1], digits[1:]
    if major == "2":
        return None, "CPython 2 never had ABI tags"
    if major != "3" or not minor or minor != str(int(minor)):
        return None, f"'{digits}' is no CPython 3 version"
    if int(minor) < 2:
        return None, "ABI tags start with Python 3.2 (PEP 3149)"
    return (3, int(minor)), None


def _refusal(text, origin, reason, todo=f"write {_TAG_SYNTAX}"):
    return TagError(f"{origin} {text} is not an ABI tag", reason, todo)


def split_module_filename(name):
    """Split 'foo.<tag>.so' into stem, tag and suffix; None unless a '*.so' module name."""
    name = posixpath.basename(name)
    if not name.endswith(".so"):
        return None
    stem, dot, tag_text = name.removesuffix(".so").partition(".")
    if not stem.isidentifier() or (dot and not _TAG_SHAPE.fullmatch(tag_text)):
        return None
    return ModuleFileName(stem, tag_text or None, name[len(stem) :])


def table_suffixes(version, multiarch, debug=False):
    """EXTENSION_SUFFIXES of Debian's CPython `version` (its debug build, pythonX.Y-dbg, with
    `debug`), from the built-in table.  A debug build imports its 'd'-flagged name first; from 3.8
    on (one ABI for both builds) it then imports what the release build imports."""
    for first, last, templates in _SUFFIX_RULES:
        if first <= version <= last:
            digits = f"{version[0]}{version[1]}"
            suffixes = [template.format(digits=digits, multiarch=multiarch) for template in templates]
            if debug and version >= (3, 8):
                return [suffixes[0].replace(f"-{digits}-", f"-{digits}d-", 1), *suffixes]
            if debug and version >= (3, 2):
                return [suffixes[0].replace(f"-{digits}m", f"-{digits}dm", 1), *suffixes[1:]]
            return suffixes
    raise TagError(
        f"Python {version_text(version)} has no known extension suffixes",
        "Debian Python 2.7 and 3.2 or later have them",
        "build for a supported Python version",
    )


def default_interpreter_path(version):
    return f"/usr/bin/python{version_text(version)}"


def _isolation_flags(version):
    # -I (no user site, no PYTHON* variables) appeared in Python 3.4.
    return ["-I", "-S"] if version >= (3, 4) else ["-E", "-s", "-S"]


def query_interpreters(versions, interpreter_path=default_interpreter_path):
    """Ask each installed interpreter, once, which suffixes it imports: {version: [suffix, ...]}.

    The interpreter running dh_pyshared answers without a spawn: its
    EXTENSION_SUFFIXES are built into the executable, so the answer is the one a
    child would print."""
    answers = {}
    for version in versions:
        executable = interpreter_path(version)
        if not os.access(executable, os.X_OK):
            continue
        if _is_running_interpreter(executable, version):
            from importlib.machinery import EXTENSION_SUFFIXES

            answers[version] = list(EXTENSION_SUFFIXES)
            continue
        from pyshared_tools.commands import output_text, run

        where = f"while asking {executable} which extension suffixes it imports"
        todo = f"check that {executable} runs, or name the tags with --tag"
        flags = _isolation_flags(version)
        shown = " ".join([executable, *flags, "-c", "<query>"])
        completed = run(executable, [*flags, "-c", _QUERY_SCRIPT], where=where, todo=todo, shown=shown)
        answers[version] = _suffixes_from_answer(
            output_text(completed, where, todo), version, executable, where
        )
    return answers


def _is_running_interpreter(executable, version):
    import sys

    if tuple(sys.version_info[:2]) != tuple(version) or not sys.executable:
        return False
    try:
        return os.path.samefile(sys.executable, executable)
    except OSError:
        return False


def _suffixes_from_answer(output, version, executable, where):
    """The suffixes in an interpreter's JSON answer, every byte of which is checked."""
    todo = f"check that {executable} runs"
    try:
        facts = json.loads(output)
    except ValueError:
        facts = None
    reported = facts.get("version") if isinstance(facts, dict) else None
    suffixes = facts.get("EXTENSION_SUFFIXES") if isinstance(facts, dict) else None
    if not (
        isinstance(reported, list)
        and len(reported) == 2
        and all(type(part) is int for part in reported)
        and isinstance(suffixes, list)
        and suffixes
        and all(isinstance(suffix, str) and _SUFFIX_SHAPE.fullmatch(suffix) for suffix in suffixes)
    ):
        raise ExternalToolError(
            f"{executable} printed no answer about its extension suffixes but {_shown(output)}", where, todo
        )
    if tuple(reported) != tuple(version):
        raise ExternalToolError(
            f"{executable} is Python {version_text(reported)}",
            f"not {version_text(version)}",
            f"repair the installation of {executable}",
        )
    return list(suffixes)


def _shown(output):
    text = output.strip()
    return repr(text[:200] + ("..." if len(text) > 200 else ""))


class SuffixResolver:
    """Answers which suffix a new extension gets and which suffixes Python X.Y imports.

    With any --tag, with `query` false, or in a cross build, facts come from
    the table and the host multiarch; otherwise from the installed
    interpreters, asked once for all of `versions` (and any other version on
    first need) and cached.  `build_multiarch` defaults to `host_multiarch`.
    """

    def __init__(
        self,
        tags,
        host_multiarch,
        build_multiarch=None,
        query=True,
        versions=(),
        interpreter_path=default_interpreter_path,
    ):
        self._tags = _unique(tag if isinstance(tag, Tag) else parse_tag(tag) for tag in tags)
        self._host_multiarch_source = host_multiarch
        self._build_multiarch_source = build_multiarch or host_multiarch
        self._query = query
        self._versions = [tuple(version) for version in versions]
        self._interpreter_path = interpreter_path
        self._host_multiarch = None
        self._interpreters_usable = None
        self._answers = {}
        self._tag_by_version = _tags_by_version(self._tags)
        for tag in self._tags:
            self._check_tag(tag)

    @property
    def abi3_requested(self):
        return self.stable_abi_tag is not None

    @property
    def stable_abi_tag(self):
        """The --tag abi3 or --tag abi3t given, else None."""
        return next((tag for tag in self._tags if tag.impl == "abi3"), None)

    def tagged_versions(self):
        return sorted(self._tag_by_version)

    def version_of_tag(self, tag_text):
        """(3, 9) for 'cpython-39-x86_64-linux-gnu', None for 'abi3', (2, 7) for the host multiarch."""
        try:
            return parse_tag(tag_text, origin="tag").version
        except TagError:
            if f".{tag_text}.so" in table_suffixes(_PYTHON2, self.host_multiarch()):
                return _PYTHON2
            raise

    def suffix_for(self, version):
        tag = self._tag_by_version.get(tuple(version))
        return tag.suffix if tag else self.imported_suffixes(version)[0]

    def imported_suffixes(self, version):
        version = tuple(version)
        if self._may_ask_interpreters():
            if version not in self._answers:
                self._ask_interpreters(version)
            if self._answers[version] is not None:
                return list(self._answers[version])
        return table_suffixes(version, self.host_multiarch())

    def host_multiarch(self):
        if self._host_multiarch is None:
            self._host_multiarch = self._host_multiarch_source()
        return self._host_multiarch

    def _may_ask_interpreters(self):
        if self._interpreters_usable is None:
            self._interpreters_usable = (
                not self._tags and self._query and self.host_multiarch() == self._build_multiarch_source()
            )
        return self._interpreters_usable

    def _ask_interpreters(self, version):
        wanted = [v for v in _unique([*self._versions, version]) if v not in self._answers]
        self._answers.update(query_interpreters(wanted, self._interpreter_path))
        for uninstalled in wanted:
            self._answers.setdefault(uninstalled, None)

    def _check_tag(self, tag):
        if tag.impl == "abi3":
            if tag.multiarch:
                raise TagError(
                    f"--tag {tag} names a suffix only Python {version_text(stable_abi_since(tag))} "
                    "and later import, which dh_pyshared gives a stable-ABI extension by itself "
                    "where every supported version imports it",
                    None,
                    f"write --tag abi3{tag.flags}, or drop --tag",
                )
            return
        imported = table_suffixes(tag.version, self.host_multiarch())
        if tag.suffix not in imported:
            raise TagError(
                f"--tag {tag} names no suffix Python {version_text(tag.version)} imports",
                f"it imports {', '.join(imported)}",
                f"write --tag {imported[0][1:].removesuffix('.so')}",
            )


def _unique(items):
    return list(dict.fromkeys(items))


def check_stable_abi_tag(tag, versions, imported_suffixes):
    """TagError unless every one of `versions` imports the --tag `tag` (abi3t
    names a suffix only 3.15 and later import)."""
    for version in versions:
        imported = imported_suffixes(version)
        if tag.suffix not in imported:
            raise TagError(
                f"--tag {tag} names no suffix Python {version_text(version)} imports",
                f"it imports {', '.join(imported)}",
                f"write --tag abi3, or build only for Python {version_text(stable_abi_since(tag))} "
                "and later (X-Python3-Version)",
            )


def _tags_by_version(tags):
    by_version = {}
    for tag in tags:
        if tag.version is None:
            continue
        if tag.version in by_version:
            earlier = by_version[tag.version]
            raise TagError(
                f"--tag {earlier} and --tag {tag} both name Python {version_text(tag.version)}",
                None,
                "keep one of them",
            )
        by_version[tag.version] = tag
    return by_version
