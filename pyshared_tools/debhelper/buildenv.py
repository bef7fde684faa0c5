"""Build environment facts: ``DEB_HOST_*`` / ``DEB_BUILD_*`` from the
environment, else from one ``dpkg-architecture`` call; Debian architecture
wildcard matching without spawning anything.
"""

import os
import re
from collections.abc import Mapping

from pyshared_tools.errors import ExternalToolError, UsageError
from pyshared_tools.lazy import pattern

DPKG_ARCHITECTURE = "dpkg-architecture"
HOST_ARCH = "DEB_HOST_ARCH"

# What dpkg-architecture prints: GNU triplets and multiarch tuples (x86_64-linux-gnu), and
# single words for the architecture and its parts (amd64, linux, gnu, base, 64, little).
_TUPLE_VARIABLES = ("_MULTIARCH", "_GNU_TYPE", "_GNU_SYSTEM", "_GNU_CPU")
_VALUE_SHAPES = {
    "tuple": ("GNU triplet or multiarch tuple", re.compile(r"[a-z0-9_]+(?:-[a-z0-9_]+)*")),
    "word": ("architecture name", re.compile(r"[a-z0-9][a-z0-9_-]*")),
}

# dpkg's Dpkg::Arch reads "linux-<arch>" as "<arch>" when it is no wildcard.
LINUX_ARCH_ALIAS = pattern(r"linux-([^-]*)")


class HostFacts:
    """Architecture facts of the build, computed at most once.

    An exported, non-empty variable wins (as in debhelper's
    dpkg_architecture_value); a missing one comes from a single
    ``dpkg-architecture`` run, given ``-a$DEB_HOST_ARCH`` when that is
    exported so that a cross build requested through the environment holds.
    """

    def __init__(self, environ: Mapping[str, str] | None = None):
        self._environ = os.environ if environ is None else environ
        self._queried: dict[str, str] | None = None

    def value(self, variable: str) -> str:
        exported = self._environ.get(variable, "")
        if exported:
            return _checked(variable, exported, "in the environment")
        queried = self._query_dpkg_architecture()
        if variable not in queried:
            raise ExternalToolError(
                f"{DPKG_ARCHITECTURE} did not report {variable}",
                "while reading the build architecture",
                f"export {variable} or install a dpkg-dev that knows it",
            )
        return _checked(variable, queried[variable], f"as {DPKG_ARCHITECTURE} printed it")

    @property
    def host_arch(self) -> str:
        return self.value(HOST_ARCH)

    @property
    def host_arch_os(self) -> str:
        return self.value("DEB_HOST_ARCH_OS")

    @property
    def host_arch_cpu(self) -> str:
        return self.value("DEB_HOST_ARCH_CPU")

    @property
    def host_arch_abi(self) -> str:
        return self.value("DEB_HOST_ARCH_ABI")

    @property
    def host_arch_libc(self) -> str:
        return self.value("DEB_HOST_ARCH_LIBC")

    @property
    def host_multiarch(self) -> str:
        return self.value("DEB_HOST_MULTIARCH")

    @property
    def host_gnu_type(self) -> str:
        return self.value("DEB_HOST_GNU_TYPE")

    @property
    def build_multiarch(self) -> str:
        return self.value("DEB_BUILD_MULTIARCH")

    @property
    def host_tuple(self) -> tuple[str, str, str, str]:
        """The host's Debian tuple: (abi, libc, os, cpu), as in dpkg's tupletable."""
        return (self.host_arch_abi, self.host_arch_libc, self.host_arch_os, self.host_arch_cpu)

    @property
    def build_profiles(self) -> frozenset[str]:
        return frozenset(self._environ.get("DEB_BUILD_PROFILES", "").split())

    def _query_dpkg_architecture(self) -> dict[str, str]:
        if self._queried is None:
            self._queried = self._run_dpkg_architecture()
        return self._queried

    def _run_dpkg_architecture(self) -> dict[str, str]:
        from pyshared_tools.commands import output_text, run

        requested_host = self._environ.get(HOST_ARCH, "")
        arguments = ["-a" + requested_host] if requested_host else []
        where = "while reading the build architecture"
        todo = "fix DEB_HOST_ARCH or the dpkg-dev installation"
        completed = run(
            DPKG_ARCHITECTURE,
            arguments,
            where=where,
            todo=todo,
            missing_todo="install dpkg-dev or export the DEB_HOST_* variables",
            environ=self._environ,
        )
        return parse_dpkg_architecture_output(output_text(completed, where, todo))


def _checked(variable: str, value: str, where: str) -> str:
    """`value` if it has the shape dpkg gives `variable`; these values become parts of file
    names (a multiarch triplet in an extension's tag), so '../' or a newline must never pass."""
    kind, shape = _VALUE_SHAPES["tuple" if variable.endswith(_TUPLE_VARIABLES) else "word"]
    if not shape.fullmatch(value):
        raise UsageError(
            f"{variable}={value!r} is not a Debian {kind}",
            where,
            f"unset {variable}, or export what dpkg-architecture prints for it",
        )
    return value


def parse_dpkg_architecture_output(text: str) -> dict[str, str]:
    """Parse the ``VAR=value`` lines printed by ``dpkg-architecture``."""
    variables = {}
    for line in text.splitlines():
        name, separator, value = line.partition("=")
        if separator:
            variables[name] = value
    return variables


def _wildcard_tuple(wildcard: str) -> tuple[str, ...] | None:
    """Dpkg::Arch::debwildcard_to_debtuple for wildcards; None for a plain name."""
    parts = wildcard.split("-", 3)
    if "any" not in parts:
        return None
    return ("any",) * (4 - len(parts)) + tuple(parts)


def _arch_is(host_arch: str, candidate: str, facts: HostFacts) -> bool:
    """Dpkg::Arch::debarch_is(host_arch, candidate)."""
    if candidate in (host_arch, "any"):
        return True
    pattern = _wildcard_tuple(candidate)
    if pattern is None:
        alias = LINUX_ARCH_ALIAS.match(candidate)
        return alias is not None and alias.group(1) == host_arch
    return all(wanted in (actual, "any") for wanted, actual in zip(pattern, facts.host_tuple, strict=True))


def arch_matches(arch_field_value: str, facts: HostFacts) -> bool:
    """Whether an Architecture field builds on the host (debhelper's samearch).

    ``all`` does not match: an Architecture: all package is selected as an
    architecture-independent package, never through this test.
    """
    host_arch = facts.host_arch
    return any(_arch_is(host_arch, candidate, facts) for candidate in arch_field_value.split())
