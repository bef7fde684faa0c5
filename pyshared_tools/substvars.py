"""pyshared:Depends, computed from the planned final tree, written with python-debian."""

import os

from .errors import TreeError
from .files import replace_text
from .tags import version_text

DEPENDS = "pyshared:Depends"


def python3_depends(plan, lowest_supported):
    """``python3 (>= X.Y~), python3 (<< X.Z)`` from the tagged extensions,
    only a lower bound for stable-ABI ones, and ``python3:any`` for pure modules."""
    tagged = sorted({v for _, v in plan.extensions if v is not None})
    stable_abi = any(v is None for _, v in plan.extensions)
    clauses = []
    if tagged or stable_abi:
        lowest = min(tagged + ([lowest_supported()] if stable_abi else []))
        clauses.append(f"python3 (>= {version_text(lowest)}~)")
        if tagged:
            highest = tagged[-1]
            clauses.append(f"python3 (<< {version_text((highest[0], highest[1] + 1))})")
    if plan.python3_pure or (plan.python3_modules and not clauses):
        clauses.append("python3:any")
    return ", ".join(clauses)


def substvars_path(package):
    return os.path.join("debian", f"{package}.substvars")


def write(path, name, value):
    """Set one substvar ("" removes it); rewrite the file only when it changes.  True if it did."""
    if any(c in value for c in "\n\r"):
        raise TreeError(
            "substvar value contains a line break",
            f"{name} for {path}",
            "report this as a bug in dh_pyshared",
        )
    from debian.substvars import Substvars

    substvars = Substvars.load_from_path(path, missing_ok=True)
    if not value:
        if name not in substvars:
            return False
        del substvars[name]
    elif name in substvars and substvars[name] == value:
        return False
    else:
        substvars[name] = value
    replace_text(path, substvars.dump())
    return True
