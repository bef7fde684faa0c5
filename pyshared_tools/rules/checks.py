"""Extension ABI checks: will this extension load where the package installs it?

Each check is a small pure function of the ELF facts of one extension
(elf.ElfFacts, read once per file) and of what the plan decided, and returns
one Result.  A Result whose outcome is "error" is raised by the caller before
anything changes; a "warning" joins the plan's warnings (an error under
--strict).  The rules are data: the architecture table below, the libpython
file name pattern, and the stable ABI of CPython's Misc/stable_abi.toml,
shipped as pyshared_tools/rules/stable_abi.table (read only when an abi3 extension is
checked; generated from the abi3info package by rules/stable_abi_generate.py).

Why linking libpython is a warning, as measured by tests/test_hosts.py:
Debian's /usr/bin/python3 is linked statically, so importing such a module
maps a second copy of libpython into the process (and dpkg-shlibdeps makes the
package depend on libpython3.X); embedding hosts such as mod_wsgi load
libpython with RTLD_GLOBAL, where an extension without the link loads as
well.  Only a host that dlopen()s libpython with RTLD_LOCAL needs the link,
and such a host cannot import Debian's own lib-dynload modules either.
"""

import functools
import os
import re
from collections import namedtuple

from pyshared_tools.errors import PysharedError
from pyshared_tools.rules.tags import split_module_filename, stable_abi_since, stable_abi_tag, version_text

CHECKS = ("architecture", "init-function", "libpython", "stable-abi")
OUTCOMES = ("pass", "warning", "fixed", "not-applicable", "error")

Result = namedtuple(
    "Result",
    (
        "check",  # str: one of CHECKS
        "outcome",  # str: one of OUTCOMES
        "what",  # str | None: for a warning or an error, what is wrong; for a fix, what it does
        "todo",  # str | None: for a warning or an error, what to do
    ),
    defaults=(None, None),
)

# auditwheel's pattern, widened to ABI flags ('d' debug builds, 'm' before 3.8).
LIBPYTHON = re.compile(r"libpython(?P<version>\d+\.\d+)[a-z]*\.so(?:\.\d+)*")

# Debian architecture -> (multiarch triplet, EI_CLASS, EI_DATA, e_machine), as
# dpkg's tupletable/cputable and the ELF specification define them:
# EI_CLASS 1 = 32-bit, 2 = 64-bit; EI_DATA 1 = little-endian, 2 = big-endian.
ARCHITECTURES = {
    "alpha": ("alpha-linux-gnu", 2, 1, 0x9026),
    "amd64": ("x86_64-linux-gnu", 2, 1, 62),
    "arm64": ("aarch64-linux-gnu", 2, 1, 183),
    "armel": ("arm-linux-gnueabi", 1, 1, 40),
    "armhf": ("arm-linux-gnueabihf", 1, 1, 40),
    "hppa": ("hppa-linux-gnu", 1, 2, 15),
    "hurd-amd64": ("x86_64-gnu", 2, 1, 62),
    "hurd-i386": ("i386-gnu", 1, 1, 3),
    "i386": ("i386-linux-gnu", 1, 1, 3),
    "ia64": ("ia64-linux-gnu", 2, 1, 50),
    "loong64": ("loongarch64-linux-gnu", 2, 1, 258),
    "m68k": ("m68k-linux-gnu", 1, 2, 4),
    "mips64el": ("mips64el-linux-gnuabi64", 2, 1, 8),
    "mipsel": ("mipsel-linux-gnu", 1, 1, 8),
    "powerpc": ("powerpc-linux-gnu", 1, 2, 20),
    "ppc64": ("powerpc64-linux-gnu", 2, 2, 21),
    "ppc64el": ("powerpc64le-linux-gnu", 2, 1, 21),
    "riscv64": ("riscv64-linux-gnu", 2, 1, 243),
    "s390x": ("s390x-linux-gnu", 2, 2, 22),
    "sh4": ("sh4-linux-gnu", 1, 1, 42),
    "sparc64": ("sparc64-linux-gnu", 2, 2, 43),
    "x32": ("x86_64-linux-gnux32", 1, 1, 62),
}
ARCHITECTURE_OF_MULTIARCH = {entry[0]: arch for arch, entry in ARCHITECTURES.items()}
MACHINE_NAMES = {
    3: "i386",
    4: "m68k",
    8: "MIPS",
    15: "PA-RISC",
    20: "PowerPC",
    21: "PowerPC64",
    22: "S/390",
    40: "ARM",
    42: "SuperH",
    43: "SPARC V9",
    50: "IA-64",
    62: "x86-64",
    183: "AArch64",
    243: "RISC-V",
    258: "LoongArch",
    0x9026: "Alpha",
}
_CLASS_NAMES = {1: "32-bit", 2: "64-bit"}
_BYTE_ORDER_NAMES = {1: "little-endian", 2: "big-endian"}

# Feature macros of stable_abi.toml whose symbols a Linux release build of
# CPython does not export (Windows only, or debug builds only).
_ABSENT_FEATURES = frozenset({"MS_WINDOWS", "USE_STACKCHECK", "Py_REF_DEBUG", "Py_TRACE_REFS"})


def elf_kind(elf_class, byte_order, machine):
    """'64-bit little-endian x86-64'."""
    return " ".join(
        (
            _CLASS_NAMES.get(elf_class, f"class {elf_class}"),
            _BYTE_ORDER_NAMES.get(byte_order, f"byte order {byte_order}"),
            MACHINE_NAMES.get(machine, f"machine {machine}"),
        )
    )


def init_function(stem, facts):
    """An object that exports PyInit_<other> but not PyInit_<stem> never imports under its name."""
    if facts is None:
        return Result("init-function", "not-applicable")
    if facts.module is not None or not facts.init_functions:
        return Result("init-function", "pass")
    others = " and ".join(facts.init_functions)
    modules = [name.removeprefix("PyInit_") for name in facts.init_functions]
    return Result(
        "init-function",
        "error",
        f"extension exports {others} but not PyInit_{stem} so Python can never import it as {stem}",
        f"name the file after its module ({' or '.join(f'{m}.so' for m in modules)}) "
        f"or make the build name the module {stem}",
    )


def architecture(facts, host_arch, tag_multiarch=None):
    """The ELF class, byte order and machine must be DEB_HOST_ARCH's and the tag triplet's."""
    if facts is None:
        return Result("architecture", "not-applicable")
    actual = (facts.elf_class, facts.byte_order, facts.machine)
    expected = []
    if host_arch in ARCHITECTURES:
        expected.append((f"DEB_HOST_ARCH {host_arch}", ARCHITECTURES[host_arch][1:]))
    tag_arch = ARCHITECTURE_OF_MULTIARCH.get(tag_multiarch)
    if tag_arch is not None:
        expected.append((f"the tag's triplet {tag_multiarch}", ARCHITECTURES[tag_arch][1:]))
    wrong = [(name, kind) for name, kind in expected if kind != actual]
    if not expected:
        return Result("architecture", "not-applicable")
    if not wrong:
        return Result("architecture", "pass")
    wanted = " and ".join(f"{name} needs {elf_kind(*kind)}" for name, kind in wrong)
    return Result(
        "architecture",
        "error",
        f"extension is {elf_kind(*actual)} code but {wanted}",
        "build it with the compiler for the host architecture (in a cross build, the cross compiler)",
    )


def package_architecture(architecture_field):
    """An Architecture: all package is installed on every architecture; an extension runs on one."""
    if architecture_field.split() == ["all"]:
        return Result(
            "architecture",
            "error",
            "extension module in an Architecture: all package",
            "make the package Architecture: any, or move the extension to an architecture-dependent package",
        )
    return Result("architecture", "pass")


def libpython(facts, fix=False):
    """A DT_NEEDED libpython3.X entry: a warning that explains why, or the planned fix."""
    linked = linked_libpython(facts)
    if facts is None:
        return Result("libpython", "not-applicable")
    if not linked:
        return Result("libpython", "pass")
    if fix:
        dropped = " and ".join(linked)
        return Result("libpython", "fixed", f"--fix-libpython drops the DT_NEEDED entry {dropped}")
    return Result(
        "libpython",
        "warning",
        f"extension is linked against {' and '.join(linked)}: Debian's python3 is linked statically "
        "so importing it maps a second libpython (and makes the package depend on it) while "
        "embedding hosts such as mod_wsgi already load libpython with RTLD_GLOBAL",
        "link it without -lpython3.X, or pass --fix-libpython to drop the entry",
    )


def linked_libpython(facts):
    """The DT_NEEDED entries naming a libpython, in file order."""
    return [name for name in (facts.needed if facts else ()) if LIBPYTHON.fullmatch(name)]


def stable_abi(facts, minimum, symbols=None):
    """An abi3 extension may import only the stable ABI of the lowest supported Python version.

    A weak undefined reference (STB_WEAK) is optional: the dynamic linker leaves it
    null when no loaded object defines it, so the module loads on every version
    and tests it before calling (as auditwheel, the check ignores such symbols).
    """
    if facts is None:
        return Result("stable-abi", "not-applicable")
    if symbols is None:
        symbols = stable_abi_symbols()
    optional = set(facts.weak_imports)
    outside = []
    for name in facts.python_imports:
        if name in optional:
            continue
        added = symbols.get(name)
        if added is None:
            outside.append(f"{name} (not in the stable ABI)")
        elif added > tuple(minimum):
            outside.append(f"{name} (stable ABI since {version_text(added)})")
    if not outside:
        return Result("stable-abi", "pass")
    return Result(
        "stable-abi",
        "error",
        f"stable-ABI extension uses symbols outside the stable ABI of Python {version_text(minimum)} "
        f"(the lowest supported version): {'; '.join(outside)}",
        f"build it with Py_LIMITED_API={_limited_api_hex(minimum)} and without those calls, "
        "or build it for each Python version",
    )


# The oldest version with a stable ABI (PEP 384): every abi3 extension needs it.
STABLE_ABI_START = (3, 2)


def stable_abi_needs(name, facts, symbols=None):
    """The lowest Python version on which the abi3 extension file `name` loads,
    or None when its symbols cannot be read (not ELF, or not parsed because it
    exports no init function) and its name says nothing more: then the caller
    assumes the lowest supported version.

    That is the highest version that added one of the stable-ABI symbols it
    imports, at least 3.2.  Weak references are optional and do not count;
    symbols outside the stable ABI are the stable-abi check's errors and do
    not count either.  The Py_LIMITED_API value the module was compiled with
    cannot be read from the ELF file: it shows only through the functions its
    macros call (from Py_LIMITED_API 3.12 on, Py_INCREF calls _Py_IncRef, in
    the stable ABI since 3.10); what else it changes
    (struct layouts, the module slots a newer Python adds) is not seen, so the
    bound may be lower than the value the build asked for.  `name` is the
    extension's final file name: a name that only newer interpreters import
    raises the bound to the first of them (tags.stable_abi_since: Debian's
    .abi3-<multiarch>.so from 3.13 on, .abi3t.so from 3.15 on), even when the
    symbols cannot be read.
    """
    parsed = split_module_filename(name)
    tag = stable_abi_tag(parsed.tag_text) if parsed else None
    named = (stable_abi_since(tag) if tag else None) or STABLE_ABI_START
    if facts is None or not facts.init_functions:
        return None if named <= STABLE_ABI_START else named
    if symbols is None:
        symbols = stable_abi_symbols()
    optional = set(facts.weak_imports)
    added = [symbols[s] for s in facts.python_imports if s in symbols and s not in optional]
    return max([STABLE_ABI_START, named, *added])


def _limited_api_hex(version):
    return f"0x{version[0]:02x}{version[1]:02x}0000"


@functools.cache
def stable_abi_symbols():
    """{symbol: the (major, minor) that added it} for every function and data
    symbol of the stable ABI that a Linux release build exports."""
    return {
        name: added
        for name, (added, _kind, ifdef) in stable_abi_table().items()
        if ifdef not in _ABSENT_FEATURES
    }


def stable_abi_table(path=None):
    """{symbol: ((major, minor) that added it, "function" or "data", feature macro or None)}:
    pyshared_tools/rules/stable_abi.table as rules/stable_abi_generate.py writes it from abi3info."""
    path = path or os.path.join(os.path.dirname(os.path.abspath(__file__)), "stable_abi.table")
    try:
        with open(path, encoding="ascii") as handle:
            text = handle.read()
        table = {}
        versions = {}
        for line in text.splitlines():
            if not line or line.startswith("#"):
                continue
            name, added, kind, ifdef = line.split(" ")
            if added not in versions:
                major, minor = added.split(".")
                versions[added] = (int(major), int(minor))
            table[name] = (versions[added], kind, None if ifdef == "-" else ifdef)
    except (OSError, UnicodeError, ValueError) as exc:
        raise PysharedError(
            f"cannot read the stable-ABI table ({getattr(exc, 'strerror', None) or exc})",
            path,
            "reinstall dh-pyshared",
        ) from None
    return table
