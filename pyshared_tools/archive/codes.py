"""What pyshared-scan reports, as data: the finding codes and what goes with them.

CODES gives each code its severity, whether a rebuild of the source fixes it
and its meaning (docs/scan-schema.md repeats the table, the man page is made
from it); PROBLEM_CODES are those that make the exit status 1; then the detail
text of the per-place codes, and the names the outputs carry: the program, the
--json schema number, the severities, the huge-member limit.  The records
findings travel in are model.py's.
"""

PROGRAM = "pyshared-scan"
SCHEMA = 1
SEVERITIES = ("error", "warning", "info")
DEFAULT_MAX_MEMBER_BYTES = 256 * 1024 * 1024

# code -> (severity, a rebuild of the source fixes it, meaning).  docs/scan-schema.md repeats this table.
CODES = {
    "legacy-layout": (
        "warning",
        True,
        "modules in a place that is not a home (the path is the place; the detail names the layout rule)",
    ),
    "untagged-extension": (
        "warning",
        True,
        "an extension (exports PyInit_<stem>) whose file name has no ABI tag",
    ),
    "untagged-so": (
        "warning",
        False,
        "Contents index only: a .so without ABI tag in a module place; only its .deb tells "
        "whether it is an untagged extension or a library that keeps its name",
    ),
    "not-an-extension": (
        "info",
        False,
        "a .so in a module place without PyInit_ function: dh_pyshared keeps its name",
    ),
    "stale-tag": ("warning", True, "an ABI tag no supported Python version imports"),
    "wrong-arch": (
        "error",
        True,
        "extension code for another architecture than the package's, or an "
        "extension in an Architecture: all package",
    ),
    "libpython": ("warning", True, "an extension with a DT_NEEDED entry on libpython"),
    "abi3-violation": (
        "error",
        True,
        "an abi3 extension importing symbols outside the stable ABI of the lowest supported version",
    ),
    "init-mismatch": ("error", True, "an extension exporting PyInit_<other> but not PyInit_<stem>"),
    "corrupt-elf": ("error", True, "a .so in a module place whose ELF tables are truncated or corrupt"),
    "path-collision": (
        "error",
        True,
        "the same file path (not a directory) in a module place of two packages that do not declare it "
        "(Conflicts or Replaces on the other, or on a name it Provides)",
    ),
    "module-clash": (
        "error",
        True,
        "the same module under two file names one interpreter imports, in two packages that do not "
        "declare it; the detail gives the Conflicts + Replaces dh_pyshared writes",
    ),
    "unreadable-deb": (
        "error",
        False,
        "a truncated or corrupt .deb (every compressed stream is read to its end), one with an unknown "
        "compression, one beyond the limits of a sane .deb or with control fields Debian does not allow, "
        "one missing from the pool or differing from its Packages index; nothing else is judged from it, "
        "and the scan goes on with the other files",
    ),
    "unsafe-member": (
        "error",
        True,
        "a data.tar member name (or a tree's file name) that is absolute, contains '..' or is not UTF-8 "
        "(never used as a path; shown with its bytes escaped)",
    ),
    "huge-member": ("warning", False, "a .so in a module place larger than --max-member-bytes: not read"),
    "unclaimed-pyshared": (
        "info",
        False,
        "files in /usr/share/pyshared or /usr/lib/pyshared/pythonX.Y without a farm link or helper "
        "metadata: no Python helper made them, dh_pyshared leaves them where they are (the path is "
        "the place)",
    ),
}


# The codes that make the exit status 1.
PROBLEM_CODES = tuple(code for code, (severity, _, _) in CODES.items() if severity != "info")


def unclaimed_detail(rule, count):
    """The detail of a storage place no helper made (unclaimed-pyshared)."""
    return f"{count} file(s) in {rule.name} without farm links or helper metadata: left where they are"


def legacy_detail(rule, count):
    """The detail of a place's legacy-layout finding."""
    return f"{count} file(s) in layout rule {rule.name}: {rule.description}"
