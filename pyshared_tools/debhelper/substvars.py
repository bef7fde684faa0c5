"""pyshared:Depends, computed from the planned final tree, written with python-debian."""

import os

from pyshared_tools import files
from pyshared_tools.errors import TreeError
from pyshared_tools.rules.tags import version_text

DEPENDS = "pyshared:Depends"


def python3_depends(plan, lowest_supported):
    """``python3 (>= X.Y~), python3 (<< X.Z)`` from the extensions, and
    ``python3:any`` for pure modules.

    The clauses allow exactly the versions on which every extension loads: a
    tagged extension loads on its version only, so the tagged versions give
    the range, from the lowest to the highest; a stable-ABI (abi3) one loads
    on every version from the one it needs (plan.stable_abi_needs, from
    checks.stable_abi_needs; `lowest_supported()` when its symbols could not
    be read) on, which raises the lower bound when it is higher, and adds no
    upper bound.  With only abi3 extensions the bound is the highest they
    need, which may lie below the lowest supported version (python3-bcrypt:
    3.2).  When every tagged version lies below what an abi3 extension needs
    (stale tags only, each a warning) no version loads them all, and the two
    clauses say so.
    """
    tagged = sorted({v for _, v in plan.extensions if v is not None})
    needs = [
        plan.stable_abi_needs.get(path) or tuple(lowest_supported())
        for path, v in plan.extensions
        if v is None
    ]
    clauses = []
    if tagged or needs:
        lowest = max(tagged[:1] + needs)
        clauses.append(f"python3 (>= {version_text(lowest)}~)")
        if tagged:
            highest = tagged[-1]
            clauses.append(f"python3 (<< {version_text((highest[0], highest[1] + 1))})")
    if plan.python3_pure or (plan.python3_modules and not clauses):
        clauses.append("python3:any")
    return ", ".join(clauses)


def substvars_path(package):
    return os.path.join("debian", f"{package}.substvars")


def updated_text(path, values):
    """The new text of the substvars file `path` with each of `values` set
    ("" removes it), or None when it would not change.  The file is read (a
    regular UTF-8 file, never through a link) and nothing is written."""
    for name, value in values.items():
        if any(c in value for c in "\n\r"):
            raise TreeError(
                "substvar value contains a line break",
                f"{name} for {path}",
                "report this as a bug in dh_pyshared",
            )
    existing = files.read_text(path, missing_ok=True)
    from debian.substvars import Substvars

    substvars = Substvars()
    if existing is not None:
        substvars.read_substvars(existing.splitlines())
    changed = False
    for name, value in values.items():
        if not value:
            if name in substvars:
                del substvars[name]
                changed = True
        elif name not in substvars or substvars[name] != value:
            substvars[name] = value
            changed = True
    return substvars.dump() if changed else None


def write(path, name, value):
    """Set one substvar ("" removes it); rewrite the file only when it changes.  True if it did."""
    text = updated_text(path, {name: value})
    if text is None:
        return False
    files.replace_text(path, text)
    return True
