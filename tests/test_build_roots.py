"""dh-pyshared runs wherever maintainers build (issue 11), proven in two debootstrap roots.

* trixie, for real, with /proc mounted as sbuild and pbuilder mount it: the
  checkout's debian/ builds dh-pyshared's .deb with dpkg-buildpackage; the
  .deb installs with `dpkg -i` over its dependencies, all of them from trixie
  (python3-sh 2.x, python3-debian 1.x); examples/pyshared-demo builds with it
  (dpkg-buildpackage checks its Build-Depends, the installed dh-pyshared
  among them), installs and imports with trixie's python3; dh_pyshared run by
  hand, in a tree and an environment without any DEB_HOST_* variable, asks
  dpkg-architecture itself; trixie's lintian reports no error and no warning on
  either package.
* a bare bookworm chroot, nothing mounted (no /proc: chroot(8) alone, as a
  quick hand-made build root has it): the checkout's dh-pyshared builds and
  installs there, and examples/pyshared-demo, made to build-depend on
  dh-sequence-pyshared with a plain `dh $@`, builds with dh_pyshared from it,
  installs and imports; dh_pyshared by hand, without DEB_HOST_*, works there
  too.

The roots come with everything installed by debootstrap (helpers/buildroots.py),
so no apt runs here; each is unpacked once for the module, in /dev/shm where the
helpers put roots.  What each build or run is expected to produce (extension
suffix, interpreter version) is asked from the root's own python3.
"""

import re

import pytest
from conftest import CHECKOUT
from helpers import debbuild
from helpers.buildroots import bookworm_tarball, trixie_tarball
from helpers.chroot import Chroot, mounts_under

from pyshared_tools import __version__

EXAMPLE = CHECKOUT / "examples" / "pyshared-demo"
SHARED = "/usr/lib/python3/dist-packages"
DEMO_PACKAGE = "python3-pyshared-demo"
INTERPRETER_FACTS = (
    "import importlib.machinery as m, sys; print('%d.%d' % sys.version_info[:2], m.EXTENSION_SUFFIXES[0])"
)
IMPORT_CHECK = (
    "import demo, os; print(os.path.basename(demo._speedups.__file__), demo.answer(), "
    "demo.word_count('one two  three'), demo.built_with)"
)


class Root:
    """A build root: the chroot, its python3's version and first extension suffix."""

    def __init__(self, chroot):
        self.chroot = chroot
        self.version, self.suffix = chroot.run("python3", "-c", INTERPRETER_FACTS).stdout.split()

    def os_release(self):
        text = self.chroot.path("/etc/os-release").read_text()
        return dict(re.findall(r'^(\w+)="?([^"\n]*)"?$', text, re.MULTILINE))

    def build(self, source, inside, *options):
        """Copy `source` to `inside` (a path in the root) and run dpkg-buildpackage -us -uc -b there."""
        debbuild.copy_source(source, self.chroot.path(inside))
        result = self.chroot.run(
            "dpkg-buildpackage", "-us", "-uc", "-b", *options, cwd=inside, timeout=debbuild.BUILD_TIMEOUT
        )
        return debbuild.Build(self.chroot.path(inside), result.stdout + result.stderr, None)

    def inside(self, path):
        """The root's path of `path`, a host path into the root."""
        return "/" + path.relative_to(self.chroot.root).as_posix()

    def install(self, deb):
        return self.chroot.dpkg("-i", self.inside(deb))


def assert_built_with_dh_pyshared(build):
    commands = re.findall(r"^   (dh_\w+)", build.log, re.MULTILINE)
    assert "dh_pyshared" in commands, build.log
    # The add-on's place (perl/Debian/Debhelper/Sequence/pyshared.pm), with this root's debhelper;
    # the log lists only the commands dh ran (it skips those with nothing to do).
    position = commands.index("dh_pyshared")
    assert commands.index("dh_auto_install") < position, commands
    later = [
        c for c in ("dh_usrlocal", "dh_link", "dh_strip", "dh_shlibdeps", "dh_installdeb") if c in commands
    ]
    assert {"dh_strip", "dh_shlibdeps", "dh_installdeb"} <= set(later), commands
    assert all(position < commands.index(command) for command in later), commands


def assert_demo_package(root, build):
    deb = build.deb(DEMO_PACKAGE)
    files = debbuild.contents(deb)
    assert f"{SHARED}/demo/_speedups{root.suffix}" in files, sorted(files)
    assert not [p for p in files if "site-packages" in p or p.endswith("/_speedups.so")]
    major, minor = root.version.split(".")
    depends = debbuild.field(deb, "Depends")
    assert depends.startswith(f"python3 (>= {root.version}~), python3 (<< {major}.{int(minor) + 1})"), depends


def assert_demo_imports(root, build):
    root.install(build.deb(DEMO_PACKAGE))
    name, answer, words, built_with = root.chroot.run("python3", "-c", IMPORT_CHECK).stdout.split()
    assert (name, answer, words) == (f"_speedups{root.suffix}", "42", "3")
    assert built_with.startswith(root.version + ".")


def assert_dh_pyshared_by_hand(root):
    """dh_pyshared run by hand, not by dpkg-buildpackage: no DEB_HOST_* in its environment, so it
    asks dpkg-architecture, in a tree that the example's own `make install` filled."""
    chroot = root.chroot
    assert not [line for line in chroot.run("env").stdout.splitlines() if line.startswith("DEB_")]
    tree = "/build/by-hand/pyshared-demo"
    debbuild.copy_source(EXAMPLE, chroot.path(tree))
    chroot.run("make", "install", f"DESTDIR=debian/{DEMO_PACKAGE}", "prefix=/usr", cwd=tree)
    site = chroot.path(f"{tree}/debian/{DEMO_PACKAGE}/usr/lib/python{root.version}/site-packages")
    assert (site / "demo/_speedups.so").exists()
    result = chroot.run("dh_pyshared", cwd=tree, check=False)
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    shared = chroot.path(f"{tree}/debian/{DEMO_PACKAGE}{SHARED}/demo")
    assert sorted(p.name for p in shared.iterdir()) == ["__init__.py", f"_speedups{root.suffix}", "core.py"]
    assert not site.exists()
    substvars = chroot.path(f"{tree}/debian/{DEMO_PACKAGE}.substvars").read_text()
    assert f"python3 (>= {root.version}~)" in substvars


# trixie, with /proc.


@pytest.fixture(scope="module")
def trixie():
    with Chroot.unpack(tarball=trixie_tarball()) as chroot, chroot.proc_mounted():
        yield Root(chroot)


@pytest.fixture(scope="module")
def trixie_tool(trixie):
    """dh-pyshared built in trixie from a copy of the checkout, and installed there with dpkg -i."""
    build = trixie.build(CHECKOUT, "/build/tool/dh-pyshared")
    trixie.install(build.deb("dh-pyshared"))
    return build


@pytest.fixture(scope="module")
def trixie_demo(trixie, trixie_tool):
    """examples/pyshared-demo built in trixie with the installed dh-pyshared (Build-Depends checked)."""
    return trixie.build(EXAMPLE, "/build/demo/pyshared-demo")


def test_the_trixie_root_is_trixie_with_proc_and_sh_2(trixie):
    assert trixie.os_release()["VERSION_CODENAME"] == "trixie"
    assert trixie.chroot.run("test", "-e", "/proc/self/fd").returncode == 0
    sh_version = trixie.chroot.run("python3", "-c", "import sh; print(sh.__version__)").stdout
    assert int(sh_version.split(".")[0]) >= 2, sh_version


def test_the_tool_builds_in_trixie_and_installs_over_trixies_packages(trixie, trixie_tool):
    deb = trixie_tool.deb("dh-pyshared")
    assert deb.name == f"dh-pyshared_{__version__}_all.deb"
    chroot = trixie.chroot
    status = chroot.run("dpkg-query", "-W", "-f", "${db:Status-Abbrev}", "dh-pyshared").stdout
    assert status.strip() == "ii"
    # Every Depends clause is satisfied by a package installed in the root, which only trixie filled.
    for clause in debbuild.field(deb, "Depends").split(","):
        alternatives = [re.match(r"\s*([^\s:(]+)", option).group(1) for option in clause.split("|")]
        installed = [
            name
            for name in alternatives
            if chroot.run("dpkg-query", "-W", "-f", "${db:Status-Abbrev}", name, check=False).stdout.strip()
            == "ii"
        ]
        assert installed, f"{clause.strip()}: not installed in the trixie root"
    assert chroot.run("dpkg", "--audit").stdout == ""
    assert chroot.run("dh_pyshared", "--version").stdout == f"dh_pyshared {__version__}\n"


def test_the_demo_builds_installs_and_imports_in_trixie(trixie, trixie_demo):
    assert re.search(r"^dh binary --with pyshared$", trixie_demo.log, re.MULTILINE), trixie_demo.log
    assert_built_with_dh_pyshared(trixie_demo)
    assert_demo_package(trixie, trixie_demo)
    assert_demo_imports(trixie, trixie_demo)


def test_dh_pyshared_by_hand_in_trixie_without_deb_host_variables(trixie, trixie_tool):
    assert_dh_pyshared_by_hand(trixie)


def test_trixies_lintian_finds_no_error_or_warning_in_either_package(trixie, trixie_tool, trixie_demo):
    changes = [trixie.inside(trixie_tool.changes), trixie.inside(trixie_demo.changes)]
    completed = trixie.chroot.run(*debbuild.LINTIAN, *changes, check=False, timeout=debbuild.LINTIAN_TIMEOUT)
    code, tags = debbuild.lintian_tags(completed)
    assert not [tag for tag in tags if tag.startswith(("E:", "W:"))], "\n".join(tags)
    assert code == 0, tags
    # Not even an info or pedantic tag (--pedantic --display-info).
    assert completed.stdout == "", completed.stdout


# bookworm, bare: nothing mounted.


@pytest.fixture(scope="module")
def bare_bookworm():
    with Chroot.unpack(tarball=bookworm_tarball()) as chroot:
        yield Root(chroot)


@pytest.fixture(scope="module")
def bare_tool(bare_bookworm):
    build = bare_bookworm.build(CHECKOUT, "/build/tool/dh-pyshared")
    bare_bookworm.install(build.deb("dh-pyshared"))
    return build


def test_the_bare_root_is_bookworm_with_nothing_mounted(bare_bookworm):
    assert bare_bookworm.os_release()["VERSION_CODENAME"] == "bookworm"
    assert mounts_under(bare_bookworm.chroot.root) == []
    exists = bare_bookworm.chroot.run("python3", "-c", "import os; print(os.path.exists('/proc/self'))")
    assert exists.stdout == "False\n"


def sequence_demo(directory):
    """examples/pyshared-demo enabling the add-on the other way: Build-Depends: dh-sequence-pyshared
    and a plain `dh $@`."""
    source = debbuild.copy_source(EXAMPLE, directory)
    control = source / "debian/control"
    text = control.read_text()
    assert ", dh-pyshared," in text
    control.write_text(text.replace(", dh-pyshared,", ", dh-sequence-pyshared,"))
    rules = source / "debian/rules"
    text = rules.read_text()
    assert "\tdh $@ --with pyshared\n" in text
    rules.write_text(text.replace("\tdh $@ --with pyshared\n", "\tdh $@\n"))
    return source


def test_a_dh_sequence_pyshared_build_works_in_a_bare_chroot(bare_bookworm, bare_tool, tmp_path):
    demo = bare_bookworm.build(sequence_demo(tmp_path / "pyshared-demo"), "/build/demo/pyshared-demo")
    assert re.search(r"^dh binary$", demo.log, re.MULTILINE), demo.log
    assert_built_with_dh_pyshared(demo)
    assert_demo_package(bare_bookworm, demo)
    assert_demo_imports(bare_bookworm, demo)
    assert mounts_under(bare_bookworm.chroot.root) == []


def test_dh_pyshared_by_hand_in_a_bare_chroot_without_deb_host_variables(bare_bookworm, bare_tool):
    assert_dh_pyshared_by_hand(bare_bookworm)
    assert mounts_under(bare_bookworm.chroot.root) == []
