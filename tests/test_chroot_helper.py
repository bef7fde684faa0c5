"""The real-dpkg and piuparts helpers (tests/helpers/chroot.py) work.

A tiny arch:all package, built with dpkg-deb, ships one file; its postinst
creates /var/lib/<name>/state and its postrm removes that directory on purge.
A bad build of it forgets the purge.  In a throwaway bookworm root the good one
installs and purges back to the very same tree and the bad one leaves its state
behind; piuparts passes the good one, fails the bad one, and upgrades 1.0 in
place to 2.0.  The base tarball is debootstrapped once into the tests cache
(about a minute); each piuparts run then takes some 20 to 30 seconds.
"""

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers.chroot import SNAPSHOT_EXCLUDES, Chroot, base_tarball, piuparts

NAME = "pyshared-chroot-demo"
STATE = f"/var/lib/{NAME}"
DATA = f"/usr/share/{NAME}/data.txt"

CONTROL = f"""\
Package: {NAME}
Version: @VERSION@
Architecture: all
Maintainer: dh-pyshared tests <tests@example.org>
Description: throwaway package of the dh-pyshared chroot tests
 One data file; state under {STATE} made by postinst.
"""
POSTINST = f"""\
#!/bin/sh
set -e
echo "{NAME} @VERSION@ postinst $*"
if [ "$1" = configure ]; then
    mkdir -p {STATE}
    echo @VERSION@ > {STATE}/state
fi
"""
POSTRM_GOOD = f"""\
#!/bin/sh
set -e
echo "{NAME} @VERSION@ postrm $*"
if [ "$1" = purge ]; then
    rm -rf {STATE}
fi
"""
POSTRM_BAD = f"""\
#!/bin/sh
set -e
echo "{NAME} @VERSION@ postrm $* (forgets the purge)"
"""


def build_deb(directory, version, postrm=POSTRM_GOOD):
    """dpkg-deb --build --root-owner-group a NAME_version_all.deb into `directory`."""
    tree = Path(directory) / f"{NAME}-{version}"
    (tree / "DEBIAN").mkdir(parents=True)
    data = tree / DATA.lstrip("/")
    data.parent.mkdir(parents=True)
    data.write_text(f"{version}\n")
    (tree / "DEBIAN" / "control").write_text(CONTROL.replace("@VERSION@", version))
    for script, text in (("postinst", POSTINST), ("postrm", postrm)):
        path = tree / "DEBIAN" / script
        path.write_text(text.replace("@VERSION@", version))
        path.chmod(0o755)
    deb = Path(directory) / f"{NAME}_{version}_all.deb"
    subprocess.run(
        ["dpkg-deb", "--build", "--root-owner-group", str(tree), str(deb)],
        check=True,
        capture_output=True,
        text=True,
    )
    return deb


@dataclass
class Debs:
    old: Path
    new: Path
    bad: Path


@pytest.fixture(scope="module")
def debs(tmp_path_factory):
    base = tmp_path_factory.mktemp("debs")
    (base / "good").mkdir()
    (base / "bad").mkdir()
    return Debs(
        old=build_deb(base / "good", "1.0"),
        new=build_deb(base / "good", "2.0"),
        bad=build_deb(base / "bad", "2.0", postrm=POSTRM_BAD),
    )


@pytest.fixture
def chroot():
    with Chroot.unpack() as root:
        yield root


def test_snapshot_covers_the_root_but_the_excluded_trees(chroot):
    entries = chroot.snapshot()
    assert entries["/usr/bin/dpkg"][0] == "file"
    assert entries["/usr/bin/dpkg"][1] == 0o755
    assert entries["/etc/debian_version"][2] is not None
    assert entries["/usr/bin"][:2] == ("dir", 0o755)
    assert entries["/bin"] == ("link", 0o777, "usr/bin")  # bookworm's merged /usr
    assert "/usr/bin/python3" in entries
    for key in entries:
        assert not any(key == excluded or key.startswith(excluded + "/") for excluded in SNAPSHOT_EXCLUDES)
    assert "/var/lib" in entries
    assert chroot.path("/var/lib/dpkg/status").is_file()
    assert chroot.path("/dev/null").is_char_device()


def test_install_then_purge_leaves_the_root_as_it_was(chroot, debs):
    before = chroot.snapshot()
    installed = chroot.install(debs.new)
    # The maintainer scripts ran inside the root, with its /bin/sh.
    assert f"{NAME} 2.0 postinst configure" in installed.stdout
    assert chroot.path(f"{STATE}/state").read_text() == "2.0\n"
    assert not Path(STATE).exists()
    assert chroot.path(DATA).read_text() == "2.0\n"
    assert "Status: install ok installed" in chroot.dpkg("-s", NAME).stdout
    during = chroot.snapshot()
    assert set(during) - set(before) == {f"/usr/share/{NAME}", DATA, STATE, f"{STATE}/state"}
    assert during[f"{STATE}/state"][0] == "file"

    purged = chroot.dpkg("--purge", NAME)
    assert f"{NAME} 2.0 postrm purge" in purged.stdout
    assert not chroot.path(STATE).exists()
    assert chroot.snapshot() == before


def test_purge_of_the_bad_package_leaves_its_state_behind(chroot, debs):
    before = chroot.snapshot()
    chroot.install(debs.bad)
    chroot.dpkg("--purge", NAME)
    after = chroot.snapshot()
    assert set(after) - set(before) == {STATE, f"{STATE}/state"}
    assert {key: value for key, value in after.items() if key in before} == before
    assert chroot.run("cat", f"{STATE}/state").stdout == "2.0\n"


def test_a_failing_maintainer_script_fails_dpkg(chroot, tmp_path):
    broken = build_deb(tmp_path, "3.0", postrm="#!/bin/sh\nexit 1\n")
    chroot.install(broken)
    result = chroot.dpkg("--purge", NAME, check=False)
    assert result.returncode != 0
    assert "post-removal script subprocess returned error exit status 1" in result.stderr


def test_piuparts_passes_the_good_package(debs):
    returncode, log = piuparts([debs.new], basetgz=base_tarball())
    assert returncode == 0, log[-6000:]
    assert "PASS: Installation and purging test." in log
    assert "Reinstalling after remove" in log  # --install-remove-install
    assert f"{NAME} 2.0 postrm purge" in log
    assert "PASS: All tests." in log


def test_piuparts_fails_the_package_that_forgets_the_purge(debs):
    returncode, log = piuparts([debs.bad], basetgz=base_tarball())
    assert returncode != 0, log[-6000:]
    assert "FAIL: Package purging left files on system:" in log
    leftovers = [line.split() for line in log.splitlines() if "not owned" in line]
    assert [words[0] for words in leftovers] == [f"{STATE}/", f"{STATE}/state"]
    assert "FAIL: Installation and purging test." in log


def test_piuparts_upgrades_the_old_version_in_place(debs):
    returncode, log = piuparts([debs.new], basetgz=base_tarball(), old_debs=[debs.old])
    assert returncode == 0, log[-6000:]
    assert f"apt-cache knows about the following packages: {NAME}" in log
    # 1.0 comes from the local repository, then dpkg unpacks 2.0 over the installed 1.0.
    assert f"Unpacking {NAME} (1.0) ..." in log
    assert f"Unpacking {NAME} (2.0) over (1.0) ..." in log
    assert f"{NAME} 1.0 postrm upgrade 2.0" in log
    assert f"{NAME} 2.0 postinst configure 1.0" in log
    assert "PASS: Installation, upgrade and purging tests." in log
    assert "PASS: All tests." in log
