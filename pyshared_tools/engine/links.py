"""Lexical symlink resolution inside a package tree.

The kernel is never asked to follow a link: every component is looked up
with lstat under the package root, links are expanded by hand (absolute
targets are taken relative to the package root, as dpkg would install them),
and a path that climbs above the root or runs through more than
MAXIMUM_LINK_DEPTH links is refused, as lintian does.
"""

import os
import stat
from collections import namedtuple

from pyshared_tools.errors import LinkError

MAXIMUM_LINK_DEPTH = 18


class Resolution(
    namedtuple(
        "Resolution",
        (
            "path",  # str: tree-relative, no leading slash ("" is the root)
            "mode",  # int | None: lstat st_mode of the final entry, None when missing
            "chain",  # tuple: the links followed, in order
            "problem",  # LinkError | None: why the link cannot be read through (it escapes or loops)
        ),
        defaults=(None,),
    )
):
    __slots__ = ()

    @property
    def exists(self):
        return self.mode is not None

    @property
    def is_file(self):
        return self.mode is not None and stat.S_ISREG(self.mode)

    @property
    def is_dir(self):
        return self.mode is not None and stat.S_ISDIR(self.mode)


def link_target_in_tree(link_rel, target):
    """Where a link's target text points, tree-relative, or None if it climbs out."""
    return _lexical(link_rel, target, clamp=False)


def named_path(link_rel, target):
    """The tree-relative path a link's text names once installed: like
    link_target_in_tree, but a ``..`` above the root stays at the root, as the
    kernel reads it."""
    return _lexical(link_rel, target, clamp=True)


def _lexical(link_rel, target, clamp):
    joined = target.lstrip("/") if target.startswith("/") else os.path.join(os.path.dirname(link_rel), target)
    parts = []
    for part in joined.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts and not clamp:
                return None
            if parts:
                parts.pop()
        else:
            parts.append(part)
    return "/".join(parts)


def resolve_lenient(root, rel, package=None, texts=None):
    """resolve(), but a link that escapes or loops gives a Resolution with its
    LinkError as `problem` (raised only where something must read through it)."""
    try:
        return resolve(root, rel, package, texts)
    except LinkError as problem:
        return Resolution(None, None, (), problem)


def resolve(root, rel, package=None, texts=None):
    """Follow every link on the way to ``rel`` (including the last component).
    `texts` ({link path: text}, the inventory's) spares a readlink of the links
    it holds.

    Raises LinkError when a link climbs out of the tree or links loop.
    """
    chain = []
    pending = [p for p in rel.split("/") if p not in ("", ".")]
    resolved = []
    mode = os.lstat(root).st_mode
    while pending:
        part = pending.pop(0)
        if part == "..":
            if not resolved:
                raise _escape(root, chain, package)
            resolved.pop()
            mode = os.lstat(os.path.join(root, *resolved)).st_mode if resolved else os.lstat(root).st_mode
            continue
        resolved.append(part)
        current = "/".join(resolved)
        try:
            mode = os.lstat(os.path.join(root, current)).st_mode
        except (FileNotFoundError, NotADirectoryError):
            missing = link_target_in_tree("", "/".join(resolved + pending))
            if missing is None:
                raise _escape(root, chain, package) from None
            return Resolution(missing, None, tuple(chain))
        if stat.S_ISLNK(mode):
            if len(chain) >= MAXIMUM_LINK_DEPTH:
                raise LinkError(
                    "symlink loop",
                    f"{' -> '.join([*chain, current])} in {_tree_name(root, package)}",
                    "make the links point at a real file or directory",
                )
            chain.append(current)
            target = texts.get(current) if texts else None
            if target is None:
                target = os.readlink(os.path.join(root, current))
            if target.startswith("/"):
                resolved = []
                mode = os.lstat(root).st_mode
            else:
                resolved.pop()
            pending = [p for p in target.split("/") if p not in ("", ".")] + pending
    final = os.path.join(root, *resolved) if resolved else root
    return Resolution("/".join(resolved), os.lstat(final).st_mode, tuple(chain))


def _tree_name(root, package):
    return package or root


def _escape(root, chain, package):
    link = chain[-1] if chain else "?"
    target = os.readlink(os.path.join(root, link)) if chain else "?"
    return LinkError(
        "link leaves the package tree",
        f"{link} -> {target} in {_tree_name(root, package)}",
        "point the link at a path inside the package (or ship the file itself)",
    )
