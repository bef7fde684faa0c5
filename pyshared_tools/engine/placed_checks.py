"""The checks run on what a plan places, before anything is changed: every
.py file Python 3 will byte-compile compiles, every extension passes the ABI
checks of rules/checks.py (the --fix-libpython fixes they call for become
drop-needed actions), a Multi-Arch: same package carries the architecture
in every architecture-dependent name, and no tag names an unsupported
Python.
"""

import os
import stat
from collections import namedtuple

from pyshared_tools.engine.actions import PATCHELF, Action
from pyshared_tools.engine.views import KeptLink, Places
from pyshared_tools.errors import AbiError, AccessError, ExternalToolError, TagError, TreeError
from pyshared_tools.rules import checks, layouts
from pyshared_tools.rules.tags import parse_tag, split_module_filename, version_text

PYTHON_SOURCE_LIMIT = 64 << 20

Checked = namedtuple(
    "Checked",
    (
        "results",  # extension path -> (checks.Result, ...), one per check in checks.CHECKS
        "architecture_qualifier",  # ":amd64" for a Multi-Arch: same package, else ""
        "warnings",  # [str]: the checks' warnings, then the Multi-Arch: same problems
        "fixes",  # [Action]: the drop-needed actions of --fix-libpython
    ),
)


def check_placed(inventory, context, chosen):
    """Every check on what is placed, in order: the Python 3 sources, the ABI
    checks (an error raises), Multi-Arch: same; the --fix-libpython actions
    they call for."""
    check_python3_sources(inventory, chosen, context.strict)
    warnings = []
    checked = {d: p for d, p in chosen.items() if not p.excluded}
    results = check_extensions(inventory, context, checked, warnings)
    qualifier = ""
    if (context.multi_arch(inventory.package) or "").strip() == "same":
        qualifier = f":{context.host_arch()}"
        warnings += multi_arch_same_problems(inventory, context, chosen)
    return Checked(results, qualifier, warnings, libpython_fixes(chosen, results))


def check_python3_sources(inventory, chosen, strict=False):
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


def check_extensions(inventory, context, chosen, warnings):
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


def multi_arch_same_problems(inventory, context, chosen):
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


def libpython_fixes(chosen, results):
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


def stale_tag_warnings(package, extensions, context):
    """Warnings for a --tag of a Python the package does not support, and for
    every extension tagged for one (`extensions`: (path, version or None))."""
    warnings = []
    versions = [v for _, v in extensions if v is not None]
    if not versions:
        return warnings
    supported = set(context.supported_versions())
    supported_text = ", ".join(version_text(v) for v in sorted(supported))
    for version in sorted(set(context.resolver.tagged_versions()) - supported):
        warnings.append(
            f"--tag for Python {version_text(version)}, which the package does not support "
            f"({supported_text}), in {package}, "
            "drop that --tag or widen X-Python3-Version"
        )
    for path, version in sorted(extensions, key=lambda e: e[0]):
        if version is not None and version not in supported:
            warnings.append(
                f"stale tag: extension for Python {version_text(version)}, which the package does not "
                f"support ({supported_text}), {path} in {package}, "
                "drop it from the build or widen X-Python3-Version"
            )
    return warnings
