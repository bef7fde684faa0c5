"""debian/control through python-debian, and debhelper's package selection
(``-p -N -a -i``, DH_INTERNAL_OPTIONS, Build-Profiles) as in Dh_Getopt.pm."""

import functools
import re
from collections import namedtuple
from types import MappingProxyType

from pyshared_tools import TOOL_NAME, files
from pyshared_tools.debhelper.buildenv import HostFacts, arch_matches
from pyshared_tools.debhelper.options import Options
from pyshared_tools.errors import ControlError, UsageError
from pyshared_tools.lazy import pattern

CONTROL_PATH = "debian/control"
# Policy 5.6.1: a binary or source package name.
PACKAGE_NAME = re.compile(r"[a-z0-9][a-z0-9+.-]+")
FIELD_LINE = re.compile(r"([^\s:]+):")
BUILD_PROFILE_FORMULA = pattern(r"(?:<[^<>]*>\s*)+")
BUILD_PROFILE_GROUP = pattern(r"<([^<>]*)>")


class BinaryPackage(namedtuple("BinaryPackage", ("name", "architecture", "fields"))):
    """name: str, architecture: str, fields: a read-only Mapping[str, str]."""

    __slots__ = ()


class Control(namedtuple("Control", ("path", "source", "packages"))):
    """path: str, source: a read-only Mapping[str, str], packages: tuple[BinaryPackage, ...]."""

    __slots__ = ()

    @property
    def package_names(self) -> tuple[str, ...]:
        return tuple(package.name for package in self.packages)


_Paragraph = namedtuple("_Paragraph", ("first_line", "lines"))  # int, tuple[str, ...]


def _read_text(path):
    """The text of debian/control: a regular file (never a link, a FIFO or a
    device), bounded, UTF-8; anything else is one line naming it."""
    data = files.read_bytes(path, missing_ok=True)
    if data is None:
        raise ControlError(
            f"{path} not found",
            "in the current directory",
            "run dh_pyshared from the top directory of the unpacked source package",
        )
    return files.decode(path, data)


def _split_paragraphs(path, text):
    """Split into paragraphs, rejecting what debhelper's parser rejects."""
    paragraphs = []
    current_lines = []
    first_line = 0
    seen_fields = {}
    for line_number, line in enumerate(text.split("\n"), start=1):
        line = line.rstrip()
        if line.startswith("#"):
            continue
        if not line:
            if current_lines:
                paragraphs.append(_Paragraph(first_line, tuple(current_lines)))
                current_lines, seen_fields = [], {}
            continue
        if line[0].isspace():
            if not current_lines:
                raise ControlError(
                    "continuation line outside a paragraph",
                    f"{path} line {line_number}",
                    "indent it under a field or remove it",
                )
        else:
            field_match = FIELD_LINE.match(line)
            if field_match is None:
                raise ControlError(
                    f"cannot parse {line!r}",
                    f"{path} line {line_number}",
                    "write fields as 'Name: value' and indent continuation lines",
                )
            field_name = field_match.group(1).lower()
            if field_name in seen_fields:
                raise ControlError(
                    f"field {field_match.group(1)} appears twice in one paragraph",
                    f"{path} lines {seen_fields[field_name]} and {line_number}",
                    "keep only one of them",
                )
            seen_fields[field_name] = line_number
            if not current_lines:
                first_line = line_number
        current_lines.append(line)
    if current_lines:
        paragraphs.append(_Paragraph(first_line, tuple(current_lines)))
    return paragraphs


def _required_field(path, paragraph, fields, name):
    value = " ".join(fields.get(name, "").split())
    if not value:
        raise ControlError(
            f"binary package paragraph has no {name} field",
            f"{path} paragraph starting at line {paragraph.first_line}",
            f"add the {name} field to it",
        )
    return value


def _check_package_name(path, paragraph, name):
    if not PACKAGE_NAME.fullmatch(name):
        raise ControlError(
            f"{name!r} is not a valid package name",
            f"{path} paragraph starting at line {paragraph.first_line}",
            "use lower-case letters, digits and + - . (at least two characters)",
        )


def read_control(path: str = CONTROL_PATH) -> Control:
    from pyshared_tools.lazy import deb822

    Deb822 = deb822().Deb822

    paragraphs = _split_paragraphs(path, _read_text(path))
    if not paragraphs:
        raise ControlError(f"{path} is empty", path, "write the Source paragraph and the binary packages")
    source_paragraph, *binary_paragraphs = paragraphs
    source = Deb822(list(source_paragraph.lines))
    source_name = source.get("Source", "").strip()
    if not source_name:
        raise ControlError(
            "the first paragraph has no Source field",
            f"{path} line {source_paragraph.first_line}",
            "start the file with the source package paragraph (Source: NAME)",
        )
    _check_package_name(path, source_paragraph, source_name)

    packages = []
    first_line_of = {}
    for paragraph in binary_paragraphs:
        fields = Deb822(list(paragraph.lines))
        name = _required_field(path, paragraph, fields, "Package")
        _check_package_name(path, paragraph, name)
        if name in first_line_of:
            raise ControlError(
                f"binary package {name} is listed twice",
                f"{path} lines {first_line_of[name]} and {paragraph.first_line}",
                "remove or rename one of the paragraphs",
            )
        first_line_of[name] = paragraph.first_line
        architecture = _required_field(path, paragraph, fields, "Architecture")
        packages.append(BinaryPackage(name, architecture, MappingProxyType(fields)))
    return Control(path, MappingProxyType(source), tuple(packages))


def build_profile_enabled(package: BinaryPackage, active_profiles: frozenset[str], path: str) -> bool:
    """Evaluate the Build-Profiles restriction formula like Dpkg::BuildProfiles."""
    formula = package.fields.get("Build-Profiles", "").strip()
    if not formula:
        return True
    if not BUILD_PROFILE_FORMULA.fullmatch(formula):
        raise ControlError(
            f"cannot parse Build-Profiles {formula!r} of {package.name}",
            path,
            "write it as groups like <!nocheck> <cross>",
        )
    return any(
        all(
            (term[1:] not in active_profiles) if term.startswith("!") else (term in active_profiles)
            for term in group.split()
        )
        for group in BUILD_PROFILE_GROUP.findall(formula)
    )


def _check_known(control, names, how):
    known = control.package_names
    for name in names:
        if name not in known:
            raise UsageError(
                f"requested unknown package {name} via {how}",
                f"{control.path} lists {' '.join(known) or 'no binary packages'}",
                "fix the package name",
            )


COMPAT_BUILD_DEPENDS = pattern(r"(?:^|,)\s*debhelper-compat\s*\(\s*=\s*(\d+)\s*\)")
COMPAT_PATH = "debian/compat"


def compat_level(control: Control) -> int | None:
    """debhelper's compat level: Build-Depends: debhelper-compat (= N), else debian/compat."""
    for field in ("Build-Depends", "Build-Depends-Arch", "Build-Depends-Indep"):
        match = COMPAT_BUILD_DEPENDS.search(control.source.get(field, ""))
        if match:
            return int(match.group(1))
    text = files.read_text(COMPAT_PATH, limit=4096, missing_ok=True)
    if text is None:
        return None
    match = re.match(r"\s*(\d+)", text)
    return int(match.group(1)) if match else None


def debhelper_log_path(package: str) -> str:
    return f"debian/{package}.debhelper.log"


def logged(package: str) -> bool:
    """Whether debian/PACKAGE.debhelper.log lists dh_pyshared (--remaining-packages)."""
    text = files.read_text(debhelper_log_path(package), missing_ok=True)
    return text is not None and TOOL_NAME in text.splitlines()


def planned_logs(packages) -> dict[str, str]:
    """As debhelper's END block inside an override target, our name appended to each
    package's log: {path: new text}, every log read (a regular UTF-8 file) before any change."""
    writes = {}
    for package in packages:
        path = debhelper_log_path(package)
        existing = files.read_text(path, missing_ok=True) or ""
        if existing and not existing.endswith("\n"):
            existing += "\n"
        writes[path] = existing + TOOL_NAME + "\n"
    return writes


def write_logs(writes: dict[str, str]) -> None:
    for path, text in sorted(writes.items()):
        files.replace_text(path, text)


def _same_arch(control: Control, options: Options):
    """-s/--same-arch as Dh_Getopt: removed in compat 12, deprecated before."""
    level = compat_level(control)
    if level is None or level >= 12:
        raise UsageError(
            "-s/--same-arch has been removed in compat 12",
            f"compat level {level}" if level is not None else "in the options",
            "use -a/--arch instead",
        )
    from pyshared_tools import log

    log.warning("-s/--same-arch is deprecated; please use -a/--arch instead")
    log.warning("This feature will be removed in compat 12.")


def select_packages(control: Control, options: Options, facts: HostFacts) -> list[str]:
    """The packages to act on, in debian/control order, as debhelper selects them.

    An empty list means debhelper would warn and exit successfully: every
    requested package was excluded, or -a/-i found no package of its kind.
    """
    if options.same_arch:
        _same_arch(control, options)
        options = options._replace(arch=True)
    internal = options.internal_selection
    _check_known(control, options.packages, "-p/--package")
    _check_known(control, options.no_packages, "-N/--no-package")
    _check_known(control, internal.packages, "-p in DH_INTERNAL_OPTIONS")

    active_profiles = facts.build_profiles
    enabled = [
        package
        for package in control.packages
        if build_profile_enabled(package, active_profiles, control.path)
    ]
    enabled_names = {package.name for package in enabled}
    indep_names = {package.name for package in enabled if package.architecture == "all"}

    @functools.cache
    def arch_names():
        return {
            package.name
            for package in enabled
            if package.architecture != "all"
            and (package.architecture == "any" or arch_matches(package.architecture, facts))
        }

    requested = {name for name in options.packages if name in enabled_names}
    if options.arch:
        requested |= arch_names()
    if options.indep:
        requested |= indep_names
    if not requested:
        if options.packages or options.arch or options.indep:
            return []
        requested = indep_names | arch_names()

    excluded = set(options.no_packages)
    if internal:
        internal_names = {name for name in internal.packages if name in enabled_names}
        if internal.arch:
            internal_names |= arch_names()
        if internal.indep:
            internal_names |= indep_names
        excluded |= set(control.package_names) - internal_names

    selected = [name for name in control.package_names if name in requested and name not in excluded]
    if options.remaining_packages:
        selected = [name for name in selected if not logged(name)]
    if options.tmpdir and len(selected) > 1:
        raise UsageError(
            f"-P/--tmpdir {options.tmpdir} given while acting on {len(selected)} packages "
            f"({' '.join(selected)})",
            "in the options",
            "add -p PACKAGE to act on one package, or drop -P",
        )
    return selected


def package_tree(options: Options, package: str) -> str:
    """The directory holding the package's files: -P if given, else debian/PACKAGE."""
    return options.tmpdir or f"debian/{package}"
