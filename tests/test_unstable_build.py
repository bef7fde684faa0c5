"""The tool itself on Debian unstable (issue 14): its .deb builds with unstable's
debhelper 14, installs over unstable's libraries, is lintian-clean with
unstable's lintian, and builds examples/pyshared-demo at debhelper-compat 14,
whose package (made Multi-Arch: same) installs and imports with unstable's
python3, its scripts naming python3-pyshared-demo:amd64.  unstable's lintian
tags every py3compile call of a Multi-Arch: same package
(multi-arch-same-package-calls-pycompile matches any line starting with py3compile, qualified
or not); the example overrides that tag, saying why, and nothing else is
reported.

One unstable root (helpers/unstable.py) with /proc mounted for the module, as
sbuild and pbuilder provide it; unmounted before the root is deleted.
"""

import contextlib
import re
import subprocess

import pytest
from conftest import CHECKOUT, HOST
from helpers import debbuild
from helpers.unstable import unpack

from pyshared_tools import __version__

EXAMPLE = CHECKOUT / "examples" / "pyshared-demo"
DEMO = "python3-pyshared-demo"
SHARED = "/usr/lib/python3/dist-packages"
ARCH = HOST["DEB_HOST_ARCH"]


@contextlib.contextmanager
def proc_mounted(chroot):
    target = chroot.path("/proc")
    target.mkdir(exist_ok=True)
    subprocess.run(["mount", "-t", "proc", "proc", str(target)], check=True)
    try:
        yield
    finally:
        if subprocess.run(["umount", str(target)], check=False).returncode != 0:
            subprocess.run(["umount", "--lazy", str(target)], check=True)


@pytest.fixture(scope="module")
def unstable(tmp_path_factory):
    with unpack(tmp_path_factory.mktemp("unstable-build")) as chroot, proc_mounted(chroot):
        yield chroot


def build(chroot, source, inside):
    debbuild.copy_source(source, chroot.path(inside))
    return chroot.run(
        "env", "-C", inside, "dpkg-buildpackage", "-us", "-uc", "-b", timeout=debbuild.BUILD_TIMEOUT
    )


def lintian(chroot, changes):
    """unstable's lintian on `changes` (a path in the root), every tag shown: (returncode, tag lines)."""
    command = ("lintian", "--pedantic", "--display-info", "--no-tag-display-limit", changes)
    completed = chroot.run(*command, check=False)
    assert completed.returncode in (0, 1, 2) and "internal error" not in completed.stderr.lower(), (
        completed.stderr
    )
    return completed.returncode, [line for line in completed.stdout.splitlines() if line[:2] in ("E:", "W:")]


def version_of(chroot, package):
    return chroot.run("dpkg-query", "-W", "-f", "${Version}", package).stdout


# What a maintainer of a Multi-Arch: same package ships (the tag fires on any py3compile call).
LINTIAN_OVERRIDE = """\
# py3compile and py3clean are called as -p python3-pyshared-demo:<arch>, which
# dpkg-query resolves with two architectures installed (dh_python3 writes the same).
multi-arch-same-package-calls-pycompile [postinst:*]
"""


@pytest.fixture(scope="module")
def tool(unstable):
    build(unstable, CHECKOUT, "/build/tool/dh-pyshared")
    return unstable.path(f"/build/tool/dh-pyshared_{__version__}_all.deb")


@pytest.fixture(scope="module")
def demo(unstable, tool):
    unstable.dpkg("-i", f"/build/tool/{tool.name}")
    inside = "/build/demo/pyshared-demo"
    debbuild.copy_source(EXAMPLE, unstable.path(inside))
    control = unstable.path(f"{inside}/debian/control")
    text = control.read_text()
    assert "debhelper-compat (= 13)" in text
    text = text.replace("debhelper-compat (= 13)", "debhelper-compat (= 14)")
    # Multi-Arch: same, so that unstable's lintian judges the snippets of such a package too.
    control.write_text(text.replace("Architecture: any\n", "Architecture: any\nMulti-Arch: same\n", 1))
    unstable.path(f"{inside}/debian/{DEMO}.lintian-overrides").write_text(LINTIAN_OVERRIDE)
    log = unstable.run(
        "env", "-C", inside, "dpkg-buildpackage", "-us", "-uc", "-b", timeout=debbuild.BUILD_TIMEOUT
    )
    assert re.search(r"^   dh_pyshared$", log.stdout, re.MULTILINE), log.stdout
    (deb,) = unstable.path("/build/demo").glob(f"{DEMO}_*_{ARCH}.deb")
    return deb


def test_the_root_has_unstables_debhelper_14_and_libraries(unstable):
    assert version_of(unstable, "debhelper").startswith("14.")
    assert version_of(unstable, "python3-sh").startswith("2.4.")
    assert version_of(unstable, "python3-debian").startswith("1.2.")


def test_the_tool_builds_with_debhelper_14_and_is_lintian_clean(unstable, tool):
    assert tool.is_file()
    code, tags = lintian(unstable, f"/build/tool/dh-pyshared_{__version__}_{ARCH}.changes")
    assert tags == [] and code == 0, "\n".join(tags)


def test_the_example_builds_at_compat_14_installs_and_imports(unstable, demo):
    files = debbuild.contents(demo)
    suffix = unstable.run("python3", "-c", "import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))")
    assert f"{SHARED}/demo/_speedups{suffix.stdout.strip()}" in files, sorted(files)
    version = unstable.run(
        "python3", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"
    ).stdout.strip()
    major, minor = version.split(".")
    depends = debbuild.field(demo, "Depends")
    assert depends.startswith(f"python3 (>= {version}~), python3 (<< {major}.{int(minor) + 1})"), depends
    (changes,) = unstable.path("/build/demo").glob(f"pyshared-demo_*_{ARCH}.changes")
    code, tags = lintian(unstable, f"/build/demo/{changes.name}")
    assert tags == [] and code == 0, "\n".join(tags)
    # The one tag overridden is the one the override names, and only for the postinst.
    shown = unstable.run(
        "lintian",
        "--pedantic",
        "--display-info",
        "--show-overrides",
        f"/build/demo/{changes.name}",
        check=False,
    ).stdout.splitlines()
    overridden = [line for line in shown if line.startswith("O:")]
    assert len(overridden) == 1 and "multi-arch-same-package-calls-pycompile [postinst:" in overridden[0], (
        shown
    )
    postinst = debbuild.control_file(demo, "postinst")
    assert f"\t\t\tpy3compile -p {DEMO}:{ARCH}\n" in postinst
    assert f"dpkg-query -L {DEMO}:{ARCH} |" in postinst
    assert f"py3clean -p {DEMO}:{ARCH}\n" in debbuild.control_file(demo, "prerm")
    unstable.dpkg("-i", f"/build/demo/{demo.name}")
    imported = unstable.run("python3", "-c", "import demo._speedups as s; print(s.__file__)").stdout.strip()
    assert imported == f"{SHARED}/demo/_speedups{suffix.stdout.strip()}"
