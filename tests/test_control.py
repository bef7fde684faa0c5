"""debian/control reading, debhelper package selection, and the build
environment (HostFacts, arch_matches) checked against the real dh and
dpkg-architecture."""

import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pyshared_tools.debhelper.buildenv import HostFacts, arch_matches, parse_dpkg_architecture_output
from pyshared_tools.debhelper.control import BinaryPackage, package_tree, read_control, select_packages
from pyshared_tools.debhelper.options import parse_command_line
from pyshared_tools.errors import ControlError, ExternalToolError, UsageError

CHECKOUT = Path(__file__).resolve().parent.parent
DPKG_ARCHITECTURE = "/usr/bin/dpkg-architecture"
TAG = "cpython-311-x86_64-linux-gnu"


def clean_environ(**extra):
    """The test process environment without anything dh or dpkg would read."""
    environ = {key: value for key, value in os.environ.items() if not key.startswith(("DH_", "DEB_"))}
    environ.update(extra)
    return environ


def write_control(directory, text, name="control"):
    path = Path(directory) / name
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return str(path)


def arch_facts(arch, **extra):
    """HostFacts for a host architecture, the way dpkg-buildpackage exports them."""
    output = subprocess.run(
        [DPKG_ARCHITECTURE, f"-a{arch}"],
        env=clean_environ(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return HostFacts({**parse_dpkg_architecture_output(output), **extra})


def options(*argv, **environ):
    return parse_command_line(list(argv), environ)


def install_dpkg_architecture_shim(directory, body):
    """A dpkg-architecture first on PATH that logs its arguments to $SHIM_LOG."""
    shim_dir = Path(directory) / "shim"
    shim_dir.mkdir()
    shim = shim_dir / "dpkg-architecture"
    shim.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "$SHIM_LOG"\n{body}\n')
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    log = Path(directory) / "shim.log"
    log.touch()
    environ = clean_environ(PATH=f"{shim_dir}:{os.environ['PATH']}", SHIM_LOG=str(log))
    return environ, log


def shim_calls(log):
    return log.read_text().splitlines()


PASS_THROUGH = f'exec {DPKG_ARCHITECTURE} "$@"'
FAIL = 'echo "shim must not run" >&2; exit 3'

MIXED_CONTROL = """
    # Comments are not fields.
    Source: demo
    Maintainer: Demo <demo@example.org>
    X-Python3-Version: >= 3.9

    Package: py-any
    Architecture: any
    Description: anywhere
     Long text.
     .
     More text.
    \t
    Package: py-all
    Architecture: all
    Description: everywhere

    Package: py-linux
    Architecture: linux-any
    Description: linux

    Package: py-hurd
    Architecture: hurd-any
    Description: hurd

    Package: py-amd64
    Architecture: amd64
    Description: amd64 only

    Package: py-multi
    Architecture: armhf  i386
    Description: two architectures

    Package: py-arm
    Architecture: any-arm
    Description: every arm ABI
    """

ALL_NAMES = ["py-any", "py-all", "py-linux", "py-hurd", "py-amd64", "py-multi", "py-arm"]


@pytest.fixture
def mixed(tmp_path):
    return read_control(write_control(tmp_path, MIXED_CONTROL))


# read_control


def test_read_control_returns_source_and_binary_paragraphs_in_order(mixed):
    assert mixed.source["Source"] == "demo"
    assert mixed.source["x-python3-version"] == ">= 3.9"
    assert [package.name for package in mixed.packages] == ALL_NAMES
    assert mixed.package_names == tuple(ALL_NAMES)
    first = mixed.packages[0]
    assert isinstance(first, BinaryPackage)
    assert first.architecture == "any"
    assert first.fields["description"] == "anywhere\n Long text.\n .\n More text."
    assert mixed.packages[5].architecture == "armhf i386"


def test_read_control_fields_are_read_only(mixed):
    with pytest.raises(TypeError):
        mixed.packages[0].fields["Architecture"] = "all"


def test_read_control_accepts_crlf_and_trailing_comment(tmp_path):
    path = tmp_path / "control"
    path.write_bytes(b"Source: demo\r\n\r\nPackage: p1\r\nArchitecture: all\r\n# end\r\n")
    control = read_control(str(path))
    assert [(p.name, p.architecture) for p in control.packages] == [("p1", "all")]


@pytest.mark.parametrize(
    ("content", "what", "where", "todo"),
    [
        (
            b"Package: p1\nArchitecture: all\n",
            "the first paragraph has no Source field",
            "line 1",
            "Source: NAME",
        ),
        (
            b"Source: demo\n\nArchitecture: all\nDescription: x\n",
            "binary package paragraph has no Package field",
            "paragraph starting at line 3",
            "add the Package field",
        ),
        (
            b"Source: demo\n\n\nPackage: p1\nDescription: x\n",
            "binary package paragraph has no Architecture field",
            "paragraph starting at line 4",
            "add the Architecture field",
        ),
        (
            b"Source: demo\n\nPackage: p1\nArchitecture: all\n\nPackage: p1\nArchitecture: any\n",
            "binary package p1 is listed twice",
            "lines 3 and 6",
            "remove or rename",
        ),
        (
            b"Source: demo\nMaintainer: D \xe9 <d@example.org>\n",
            "is not valid UTF-8",
            "line 2",
            "re-encode",
        ),
        (
            b"Source: demo\n\nPackage: p1\nArchitecture: all\narchitecture: any\n",
            "field architecture appears twice in one paragraph",
            "lines 4 and 5",
            "keep only one",
        ),
        (
            b"Source: demo\n\nPackage: p1\nthis is no field\n",
            "cannot parse 'this is no field'",
            "line 4",
            "'Name: value'",
        ),
        (b" Source: demo\n", "continuation line outside a paragraph", "line 1", "indent it"),
        (
            b"Source: demo\n\nPackage: Py_Bad\nArchitecture: all\n",
            "'Py_Bad' is not a valid package name",
            "line 3",
            "lower-case",
        ),
        (b"# only a comment\n\n", "is empty", "", "Source paragraph"),
    ],
)
def test_malformed_control_names_the_file_and_what_to_fix(tmp_path, content, what, where, todo):
    path = tmp_path / "control"
    path.write_bytes(content)
    with pytest.raises(ControlError) as caught:
        read_control(str(path))
    error = caught.value
    assert what in error.what
    assert str(path) in error.where
    assert where in error.where
    assert todo in error.todo


def test_missing_control_file(tmp_path):
    with pytest.raises(ControlError) as caught:
        read_control(str(tmp_path / "debian" / "control"))
    assert str(tmp_path / "debian" / "control") in caught.value.what
    assert "top directory of the unpacked source package" in caught.value.todo


def test_read_control_defaults_to_debian_control(tmp_path, monkeypatch):
    (tmp_path / "debian").mkdir()
    write_control(tmp_path / "debian", "Source: demo\n\nPackage: p1\nArchitecture: all\n")
    monkeypatch.chdir(tmp_path)
    assert read_control().package_names == ("p1",)


# select_packages


@pytest.mark.parametrize(
    ("arch", "expected"),
    [
        ("amd64", ["py-any", "py-all", "py-linux", "py-amd64"]),
        ("armhf", ["py-any", "py-all", "py-linux", "py-multi", "py-arm"]),
        ("armel", ["py-any", "py-all", "py-linux", "py-arm"]),
        ("i386", ["py-any", "py-all", "py-linux", "py-multi"]),
        ("hurd-i386", ["py-any", "py-all", "py-hurd"]),
    ],
)
def test_default_selection_is_every_package_that_builds_on_the_host(mixed, arch, expected):
    assert select_packages(mixed, options(), arch_facts(arch)) == expected


def test_arch_selects_architecture_dependent_packages_only(mixed):
    assert select_packages(mixed, options("-a"), arch_facts("armhf")) == [
        "py-any", "py-linux", "py-multi", "py-arm",
    ]  # fmt: skip


def test_indep_selects_architecture_all_only(mixed):
    assert select_packages(mixed, options("-i"), arch_facts("amd64")) == ["py-all"]


def test_arch_and_indep_together_are_the_default_set(mixed):
    facts = arch_facts("amd64")
    assert select_packages(mixed, options("-a", "-i"), facts) == select_packages(mixed, options(), facts)


def test_explicit_packages_are_acted_on_whatever_their_architecture(mixed):
    selected = select_packages(mixed, options("-ppy-hurd", "-ppy-all"), arch_facts("amd64"))
    assert selected == ["py-all", "py-hurd"]


def test_explicit_packages_add_to_arch_selection(mixed):
    selected = select_packages(mixed, options("-i", "-ppy-amd64"), arch_facts("armhf"))
    assert selected == ["py-all", "py-amd64"]


def test_no_package_excludes(mixed):
    selected = select_packages(mixed, options("-Npy-any", "--no-package=py-linux"), arch_facts("amd64"))
    assert selected == ["py-all", "py-amd64"]


def test_no_package_wins_over_package(mixed):
    assert select_packages(mixed, options("-ppy-all", "-Npy-all"), arch_facts("amd64")) == []


@pytest.mark.parametrize(
    ("argv", "how"),
    [
        (["-ppython3-typo"], "-p/--package"),
        (["-Npython3-typo"], "-N/--no-package"),
    ],
)
def test_unknown_requested_package_is_a_usage_error(mixed, argv, how):
    with pytest.raises(UsageError) as caught:
        select_packages(mixed, options(*argv), arch_facts("amd64"))
    assert caught.value.what == f"requested unknown package python3-typo via {how}"
    assert caught.value.where.endswith("lists " + " ".join(ALL_NAMES))


def test_unknown_package_in_internal_options_is_a_usage_error(mixed):
    with pytest.raises(UsageError, match="requested unknown package gone via -p in DH_INTERNAL_OPTIONS"):
        select_packages(mixed, options(DH_INTERNAL_OPTIONS="-pgone"), arch_facts("amd64"))


def test_arch_or_indep_without_such_packages_selects_nothing(tmp_path):
    only_indep = read_control(write_control(tmp_path, "Source: demo\n\nPackage: p1\nArchitecture: all\n"))
    assert select_packages(only_indep, options("-a"), arch_facts("amd64")) == []


def test_build_profiles_disable_packages(tmp_path):
    control = read_control(
        write_control(
            tmp_path,
            """
            Source: demo

            Package: p-doc
            Architecture: all
            Build-Profiles: <!nodoc>

            Package: p-cross
            Architecture: any
            Build-Profiles: <cross !nocheck> <pkg.demo.extra>

            Package: p-main
            Architecture: any
            """,
        )
    )
    assert select_packages(control, options(), arch_facts("amd64")) == ["p-doc", "p-main"]
    nodoc_cross = arch_facts("amd64", DEB_BUILD_PROFILES="nodoc cross")
    assert select_packages(control, options(), nodoc_cross) == ["p-cross", "p-main"]
    # -p of a package the profile disables is silently ignored, as in Dh_Getopt.
    assert select_packages(control, options("-pp-doc"), nodoc_cross) == []
    extra = arch_facts("amd64", DEB_BUILD_PROFILES="cross nocheck pkg.demo.extra")
    assert select_packages(control, options(), extra) == ["p-doc", "p-cross", "p-main"]


def test_malformed_build_profiles(tmp_path):
    control = read_control(
        write_control(tmp_path, "Source: demo\n\nPackage: p1\nArchitecture: all\nBuild-Profiles: !nodoc\n")
    )
    with pytest.raises(ControlError, match="cannot parse Build-Profiles '!nodoc' of p1"):
        select_packages(control, options(), arch_facts("amd64"))


def test_tmpdir_is_only_allowed_with_one_package(mixed):
    facts = arch_facts("amd64")
    with pytest.raises(UsageError, match=r"-P/--tmpdir debian/tmp given while acting on 4 packages"):
        select_packages(mixed, options("-Pdebian/tmp"), facts)
    assert select_packages(mixed, options("-Pdebian/tmp", "-ppy-all"), facts) == ["py-all"]


def test_package_tree():
    assert package_tree(options(), "py-all") == "debian/py-all"
    assert package_tree(options("-P", "debian/tmp-all"), "py-all") == "debian/tmp-all"


# no dpkg-architecture unless some Architecture needs matching


def test_any_and_all_packages_never_run_dpkg_architecture(tmp_path):
    control = read_control(
        write_control(
            tmp_path, "Source: demo\n\nPackage: pa\nArchitecture: any\n\nPackage: pb\nArchitecture: all\n"
        )
    )
    environ, log = install_dpkg_architecture_shim(tmp_path, FAIL)
    facts = HostFacts(environ)
    assert select_packages(control, options(), facts) == ["pa", "pb"]
    assert select_packages(control, options("-a"), facts) == ["pa"]
    assert shim_calls(log) == []


def test_indep_selection_never_runs_dpkg_architecture(mixed, tmp_path):
    environ, log = install_dpkg_architecture_shim(tmp_path, FAIL)
    assert select_packages(mixed, options("-i"), HostFacts(environ)) == ["py-all"]
    assert shim_calls(log) == []


def test_wildcards_run_dpkg_architecture_once(mixed, tmp_path):
    environ, log = install_dpkg_architecture_shim(tmp_path, PASS_THROUGH)
    facts = HostFacts(environ)
    expected = select_packages(mixed, options(), arch_facts(real_host_arch()))
    assert select_packages(mixed, options(), facts) == expected
    assert facts.host_multiarch and facts.build_multiarch and facts.host_gnu_type
    assert shim_calls(log) == [""]


# HostFacts


def real_host_arch():
    return subprocess.run(
        [DPKG_ARCHITECTURE, "-qDEB_HOST_ARCH"],
        env=clean_environ(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def test_host_facts_from_one_dpkg_architecture_call(tmp_path):
    environ, log = install_dpkg_architecture_shim(tmp_path, PASS_THROUGH)
    facts = HostFacts(environ)
    real = parse_dpkg_architecture_output(
        subprocess.run([DPKG_ARCHITECTURE], env=clean_environ(), capture_output=True, text=True).stdout
    )
    assert facts.host_arch == real["DEB_HOST_ARCH"]
    assert facts.host_arch_os == real["DEB_HOST_ARCH_OS"]
    assert facts.host_arch_cpu == real["DEB_HOST_ARCH_CPU"]
    assert facts.host_multiarch == real["DEB_HOST_MULTIARCH"]
    assert facts.build_multiarch == real["DEB_BUILD_MULTIARCH"]
    assert facts.host_gnu_type == real["DEB_HOST_GNU_TYPE"]
    assert facts.host_tuple == tuple(real[f"DEB_HOST_ARCH_{part}"] for part in ("ABI", "LIBC", "OS", "CPU"))
    assert shim_calls(log) == [""]


def test_exported_host_arch_is_passed_as_a_cross_build_request(tmp_path):
    environ, log = install_dpkg_architecture_shim(tmp_path, PASS_THROUGH)
    facts = HostFacts({**environ, "DEB_HOST_ARCH": "armhf"})
    assert (facts.host_arch, facts.host_arch_cpu, facts.host_multiarch) == (
        "armhf",
        "arm",
        "arm-linux-gnueabihf",
    )
    assert facts.host_tuple == ("eabihf", "gnu", "linux", "arm")
    assert shim_calls(log) == ["-aarmhf"]


def test_exported_values_win_and_need_no_spawn(tmp_path):
    environ, log = install_dpkg_architecture_shim(tmp_path, FAIL)
    facts = HostFacts(
        {**environ, "DEB_HOST_ARCH": "amd64", "DEB_HOST_MULTIARCH": "x", "DEB_BUILD_MULTIARCH": "y"}
    )
    assert (facts.host_arch, facts.host_multiarch, facts.build_multiarch) == ("amd64", "x", "y")
    assert arch_matches("amd64 i386", facts) and not arch_matches("i386", facts)
    assert shim_calls(log) == []


def test_empty_exported_value_is_ignored_like_dh_lib(tmp_path):
    environ, log = install_dpkg_architecture_shim(tmp_path, PASS_THROUGH)
    facts = HostFacts({**environ, "DEB_HOST_ARCH": "", "DEB_HOST_MULTIARCH": ""})
    assert (
        facts.host_multiarch
        == parse_dpkg_architecture_output(
            subprocess.run([DPKG_ARCHITECTURE], env=clean_environ(), capture_output=True, text=True).stdout
        )["DEB_HOST_MULTIARCH"]
    )
    assert shim_calls(log) == [""]


def test_dpkg_architecture_failure_is_an_external_tool_error():
    facts = HostFacts(clean_environ(DEB_HOST_ARCH="bogus"))
    with pytest.raises(ExternalToolError) as caught:
        facts.host_multiarch  # noqa: B018
    assert "dpkg-architecture -abogus failed with exit code 25" in caught.value.what
    assert "unknown Debian architecture bogus" in caught.value.what
    assert caught.value.todo == "fix DEB_HOST_ARCH or the dpkg-dev installation"


def test_missing_dpkg_architecture_is_an_external_tool_error(tmp_path):
    facts = HostFacts(clean_environ(PATH=str(tmp_path)))
    with pytest.raises(ExternalToolError) as caught:
        facts.host_arch  # noqa: B018
    assert caught.value.what == "dpkg-architecture is not installed"
    assert "export the DEB_HOST_* variables" in caught.value.todo


def test_modules_keep_costly_imports_lazy():
    code = (
        "import sys\n"
        "import pyshared_tools.debhelper.buildenv, pyshared_tools.debhelper.control\n"
        "import pyshared_tools.debhelper.options, pyshared_tools.rules.pyversions\n"
        "print(sorted(m for m in ('sh', 'debian.deb822', 'configparser') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=CHECKOUT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


# arch_matches against dpkg-architecture -a<arch> -i<wildcard>

CROSS_CHECK_ARCHES = [
    "amd64",
    "i386",
    "x32",
    "armhf",
    "armel",
    "arm64",
    "ppc64el",
    "hurd-i386",
    "musl-linux-amd64",
]
CROSS_CHECK_WILDCARDS = [
    "any", "all", "amd64", "i386", "armhf", "linux-amd64", "linux-armhf", "linux-any", "hurd-any",
    "any-amd64", "any-i386", "any-arm", "any-arm64", "any-any", "gnu-any-any", "musl-linux-any",
    "gnu-linux-any", "base-gnu-linux-amd64", "eabihf-any-any-any", "any-any-any-arm", "x32-any-any-any",
    "kfreebsd-any", "linux-any-extra", "linux", "musl-any-any", "any-any-any-any-any",
]  # fmt: skip


@pytest.fixture(scope="module")
def dpkg_verdicts():
    """dpkg-architecture's own -i answer for every (arch, wildcard) pair, run in parallel."""
    running = {
        (arch, wildcard): subprocess.Popen(
            [DPKG_ARCHITECTURE, f"-a{arch}", f"-i{wildcard}"],
            env=clean_environ(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for arch in CROSS_CHECK_ARCHES
        for wildcard in CROSS_CHECK_WILDCARDS
    }
    return {pair: process.wait() == 0 for pair, process in running.items()}


@pytest.mark.parametrize("arch", CROSS_CHECK_ARCHES)
def test_arch_matches_agrees_with_dpkg_architecture(arch, dpkg_verdicts):
    facts = HostFacts(clean_environ(DEB_HOST_ARCH=arch))
    ours = {wildcard: arch_matches(wildcard, facts) for wildcard in CROSS_CHECK_WILDCARDS}
    theirs = {wildcard: dpkg_verdicts[arch, wildcard] for wildcard in CROSS_CHECK_WILDCARDS}
    assert ours == theirs
    assert any(theirs.values()) and not all(theirs.values())


def test_arch_matches_a_list_if_any_entry_matches():
    facts = arch_facts("armhf")
    assert arch_matches("i386 armhf", facts)
    assert arch_matches("hurd-any  any-arm", facts)
    assert not arch_matches("i386 hurd-any all", facts)
    assert not arch_matches("", facts)


# the real dh: DH_INTERNAL_OPTIONS as it reaches a command in an override target

DH_CONTROL = """
    Source: demo
    Maintainer: Demo <demo@example.org>
    Build-Depends: debhelper-compat (= 13)

    Package: demo-arch
    Architecture: any
    Description: arch
     x

    Package: demo-indep
    Architecture: all
    Description: indep
     x

    Package: demo-hurd
    Architecture: hurd-any
    Description: never built on this Linux host
     x
    """

DH_RULES = f"""\
#!/usr/bin/make -f
%:
\tdh $@ --tag={TAG} -O-v
override_dh_auto_clean-arch:
\tprintf %s "$$DH_INTERNAL_OPTIONS" > internal-arch
override_dh_auto_clean-indep:
\tprintf %s "$$DH_INTERNAL_OPTIONS" > internal-indep
override_dh_clean:
\tprintf %s "$$DH_INTERNAL_OPTIONS" > internal-plain
"""

DH_CHANGELOG = """\
demo (1.0-1) unstable; urgency=medium

  * Test.

 -- Demo <demo@example.org>  Mon, 01 Jan 2024 00:00:00 +0000
"""


@pytest.fixture(scope="module")
def dh_internal_options(tmp_path_factory):
    """DH_INTERNAL_OPTIONS captured from the real dh running override targets."""
    root = tmp_path_factory.mktemp("dhsource")
    (root / "debian").mkdir()
    write_control(root / "debian", DH_CONTROL)
    (root / "debian" / "changelog").write_text(DH_CHANGELOG)
    rules = root / "debian" / "rules"
    rules.write_text(DH_RULES)
    rules.chmod(0o755)
    subprocess.run(["debian/rules", "clean"], cwd=root, env=clean_environ(), capture_output=True, check=True)
    values = {kind: (root / f"internal-{kind}").read_text() for kind in ("arch", "indep", "plain")}
    return root, values


def test_dh_internal_options_have_the_expected_shape(dh_internal_options):
    _root, values = dh_internal_options
    assert values["arch"] == f"-O--tag={TAG}\x1e-O-O-v\x1e-Ndemo-indep\x1e-a"
    assert values["indep"] == f"-O--tag={TAG}\x1e-O-O-v\x1e-i"
    assert values["plain"] == f"-O--tag={TAG}\x1e-O-O-v"


@pytest.mark.parametrize(
    ("kind", "argv", "expected"),
    [
        ("arch", [], ["demo-arch"]),
        ("indep", [], ["demo-indep"]),
        ("plain", [], ["demo-arch", "demo-indep"]),
        ("arch", ["-pdemo-arch"], ["demo-arch"]),
        # -p narrows an override's selection but never widens it (Dh_Getopt excludes the rest).
        ("arch", ["-pdemo-indep"], []),
        ("indep", ["-pdemo-hurd"], []),
        ("plain", ["-pdemo-hurd"], ["demo-hurd"]),
        ("plain", ["-Ndemo-arch"], ["demo-indep"]),
    ],
)
def test_selection_inside_dh_override_targets(dh_internal_options, kind, argv, expected):
    root, values = dh_internal_options
    control = read_control(str(root / "debian" / "control"))
    parsed = parse_command_line(argv, {"DH_INTERNAL_OPTIONS": values[kind]})
    assert parsed.tags == (TAG,) and parsed.verbose
    assert select_packages(control, parsed, HostFacts(clean_environ())) == expected
