"""Real dpkg, real debhelper, real piuparts: a farm-era package upgraded to
its dh_pyshared version, then removed and purged, in a throwaway bookworm root.

Version 1.0-1 is built as the old helpers shipped it:
* python3-demo: the PEP 3149 draft farm, modules in /usr/share/pyshared/demo
  (an untagged extension among them) and a shipped directory link
  /usr/lib/python3/dist-packages/demo -> ../../../share/pyshared/demo;
* python-demo: python-support, modules in /usr/share/pyshared/demo2, the
  .public list, and a postinst that makes the links in /usr/lib/pymodules and
  the .pyc next to them, as update-python-modules did (no package owns them).

Version 2.0-1 is the same build output put through dh_pyshared, then
dh_installdeb, dh_gencontrol, dh_md5sums and dh_builddeb.
"""

import os
import subprocess
from pathlib import Path

import pytest
from conftest import MULTIARCH, TOOL
from helpers import cbuild
from helpers.chroot import Chroot, base_tarball, piuparts

TAGGED = f"_speed.cpython-311-{MULTIARCH}.so"
CONTROL = """\
Source: demo
Section: python
Priority: optional
Maintainer: Demo <demo@example.org>
Build-Depends: debhelper-compat (= 13)
Standards-Version: 4.6.2
Rules-Requires-Root: no

Package: python3-demo
Architecture: any
Depends: ${pyshared:Depends}, ${misc:Depends}
Breaks: ${pyshared:Breaks}
Replaces: ${pyshared:Replaces}
Description: demo of dh_pyshared (Python 3)
 A draft-farm package converted by dh_pyshared.

Package: python-demo
Architecture: all
Depends: ${misc:Depends}
Description: demo of dh_pyshared (python-support)
 A python-support package converted by dh_pyshared.
"""
CHANGELOG = """\
demo (2.0-1) unstable; urgency=medium

  * Convert the farm with dh_pyshared.

 -- Demo <demo@example.org>  Sat, 21 Nov 2026 10:00:00 +0000
"""
OLD_POSTINST = """\
#!/bin/sh
set -e
# What update-python-modules did at install time: links nobody owns.
if [ "$1" = configure ]; then
    for rel in demo2/__init__.py demo2/core.py; do
        mkdir -p "/usr/lib/pymodules/python2.7/${rel%/*}"
        ln -sf "/usr/share/pyshared/$rel" "/usr/lib/pymodules/python2.7/$rel"
        echo bytecode > "/usr/lib/pymodules/python2.7/${rel}c"
    done
fi
"""
OLD_PRERM = """\
#!/bin/sh
set -e
if which update-python-modules >/dev/null 2>&1; then
    update-python-modules -c python-demo.public
fi
"""
IMPORT_CHECK = (
    "import demo, demo._speed, demo.core, os; "
    "print(os.path.basename(demo._speed.__file__), demo._speed.variant, demo.core.VALUE)"
)


def farm_trees(root):
    """The build output both versions start from: {package: tree}."""
    py3 = root / "python3-demo"
    (py3 / "usr/share/pyshared/demo").mkdir(parents=True)
    (py3 / "usr/share/pyshared/demo/__init__.py").write_text("")
    (py3 / "usr/share/pyshared/demo/core.py").write_text("VALUE = 42\n")
    cbuild.compile_extension(py3 / "usr/share/pyshared/demo/_speed.so", "_speed", value="farm")
    (py3 / "usr/lib/python3/dist-packages").mkdir(parents=True)
    (py3 / "usr/lib/python3/dist-packages/demo").symlink_to("../../../share/pyshared/demo")
    py2 = root / "python-demo"
    (py2 / "usr/share/pyshared/demo2").mkdir(parents=True)
    (py2 / "usr/share/pyshared/demo2/__init__.py").write_text("")
    (py2 / "usr/share/pyshared/demo2/core.py").write_text("VALUE = 2\n")
    (py2 / "usr/share/python-support").mkdir(parents=True)
    (py2 / "usr/share/python-support/python-demo.public").write_text(
        "pyversions=2.6-\n\n/usr/share/pyshared/demo2/__init__.py\n/usr/share/pyshared/demo2/core.py\n"
    )
    return {"python3-demo": py3, "python-demo": py2}


def architecture():
    return subprocess.run(
        ["dpkg", "--print-architecture"], capture_output=True, text=True, check=True
    ).stdout.strip()


def build_old(directory):
    debs = []
    for package, tree in farm_trees(directory / "old").items():
        arch = architecture() if package == "python3-demo" else "all"
        (tree / "DEBIAN").mkdir()
        (tree / "DEBIAN/control").write_text(
            f"Package: {package}\nVersion: 1.0-1\nArchitecture: {arch}\n"
            "Maintainer: Demo <demo@example.org>\nDescription: farm-era demo\n"
        )
        if package == "python-demo":
            for script, text in (("postinst", OLD_POSTINST), ("prerm", OLD_PRERM)):
                (tree / "DEBIAN" / script).write_text(text)
                (tree / "DEBIAN" / script).chmod(0o755)
        deb = directory / f"{package}_1.0-1_{arch}.deb"
        subprocess.run(
            ["dpkg-deb", "--build", "--root-owner-group", str(tree), str(deb)],
            check=True,
            capture_output=True,
        )
        debs.append(deb)
    return debs


def build_new(directory):
    source = directory / "new"
    (source / "debian").mkdir(parents=True)
    (source / "debian/control").write_text(CONTROL)
    (source / "debian/changelog").write_text(CHANGELOG)
    farm_trees(source / "debian")
    out = directory / "out"
    out.mkdir()
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DH_", "DEB_"))}
    for command in (
        [str(TOOL)],
        ["dh_installdeb"],
        ["dh_gencontrol"],
        ["dh_md5sums"],
        ["dh_builddeb", f"--destdir={out}"],
    ):
        result = subprocess.run(command, cwd=source, capture_output=True, text=True, env=environment)
        assert result.returncode == 0, (command, result.stdout, result.stderr)
    return source, sorted(out.glob("*.deb"))


@pytest.fixture(scope="module")
def debs(tmp_path_factory):
    directory = tmp_path_factory.mktemp("debs")
    old = build_old(directory)
    source, new = build_new(directory)
    return {"old": old, "new": new, "source": source}


@pytest.fixture(scope="module")
def tarball():
    return base_tarball()


def control_field(deb, field):
    return subprocess.run(
        ["dpkg-deb", "-f", str(deb), field], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_the_built_package_carries_the_snippets_and_relations(debs):
    py3 = next(d for d in debs["new"] if d.name.startswith("python3-demo_"))
    assert control_field(py3, "Depends").startswith("python3 (>= 3.11~), python3 (<< 3.12)")
    scripts = Path(debs["source"]) / "debian/python3-demo/DEBIAN"
    postinst = (scripts / "postinst").read_text()
    assert "# Automatically added by dh_pyshared/" in postinst and "py3compile -p python3-demo" in postinst
    assert (
        "dpkg-maintscript-helper symlink_to_dir /usr/lib/python3/dist-packages/demo "
        "../../../share/pyshared/demo '2.0-1~' python3-demo"
    ) in (scripts / "preinst").read_text()
    contents = subprocess.run(["dpkg-deb", "-c", str(py3)], capture_output=True, text=True, check=True).stdout
    assert f"./usr/lib/python3/dist-packages/demo/{TAGGED}" in contents
    assert "pyshared" not in contents.replace("dh_pyshared", "")


def python_import(chroot):
    return chroot.run("python3", "-c", IMPORT_CHECK).stdout.split()


def test_install_old_upgrade_remove_purge_with_real_dpkg(debs, tarball, tmp_path):
    with Chroot.unpack(tarball=tarball) as chroot:
        pristine = chroot.snapshot()
        chroot.install(*debs["old"])
        assert python_import(chroot) == ["_speed.so", "farm", "42"]
        assert Path(chroot.path("/usr/lib/pymodules/python2.7/demo2/core.py")).is_symlink()

        chroot.install(*debs["new"])
        assert python_import(chroot) == [TAGGED, "farm", "42"]
        state = chroot.snapshot()
        assert not [p for p in state if p.startswith(("/usr/lib/pymodules", "/usr/share/pyshared"))]
        assert state["/usr/lib/python3/dist-packages/demo"][0] == "dir"
        assert state["/usr/lib/python2.7/dist-packages/demo2/core.py"][0] == "file"
        assert any(
            p.startswith("/usr/lib/python3/dist-packages/demo/__pycache__/core.cpython-311") for p in state
        ), "postinst did not byte-compile"
        listed = chroot.dpkg("-L", "python3-demo").stdout.split()
        assert f"/usr/lib/python3/dist-packages/demo/{TAGGED}" in listed

        chroot.dpkg("--remove", "python3-demo", "python-demo")
        result = chroot.run("python3", "-c", "import demo", check=False)
        assert result.returncode != 0
        chroot.dpkg("--purge", "python3-demo", "python-demo")
        assert chroot.snapshot() == pristine


def test_reinstalling_the_new_version_runs_every_snippet_twice(debs, tarball):
    with Chroot.unpack(tarball=tarball) as chroot:
        pristine = chroot.snapshot()
        chroot.install(*debs["new"])
        first = chroot.snapshot()
        chroot.install(*debs["new"])
        assert chroot.snapshot() == first
        assert python_import(chroot) == [TAGGED, "farm", "42"]
        chroot.dpkg("--purge", "python3-demo", "python-demo")
        assert chroot.snapshot() == pristine


def test_piuparts_install_remove_install_purge(debs, tarball):
    code, log = piuparts(debs["new"], basetgz=tarball)
    assert code == 0, log[-4000:]
    assert "PASS: All tests." in log


def test_piuparts_upgrade_from_the_farm_version(debs, tarball):
    code, log = piuparts(debs["new"], basetgz=tarball, old_debs=debs["old"])
    assert code == 0, log[-4000:]
    assert "Unpacking python3-demo (2.0-1) over (1.0-1)" in log
    assert "PASS" in log


def maintscript_environment(script):
    """What dpkg sets for a maintainer script (dpkg-maintscript-helper needs it)."""
    return {
        "DPKG_MAINTSCRIPT_NAME": script,
        "DPKG_MAINTSCRIPT_PACKAGE": "python3-demo",
        "DPKG_MAINTSCRIPT_ARCH": architecture(),
    }


def test_the_fallbacks_compile_and_clean_without_py3compile_and_py3clean(debs, tarball):
    """With the interpreters' own tools gone, postinst compiles with /usr/bin/python3.11 and prerm
    removes exactly that bytecode."""
    with Chroot.unpack(tarball=tarball) as chroot:
        chroot.install(*debs["new"])
        cache = "/usr/lib/python3/dist-packages/demo/__pycache__"
        chroot.run("py3clean", "-p", "python3-demo")
        assert not Path(chroot.path(cache)).exists()
        for tool in ("py3compile", "py3clean"):
            chroot.run("mv", f"/usr/bin/{tool}", f"/usr/bin/{tool}.hidden")
        chroot.run(
            "sh",
            "-e",
            "/var/lib/dpkg/info/python3-demo.postinst",
            "configure",
            "2.0-1",
            env=maintscript_environment("postinst"),
        )
        assert sorted(p.name for p in Path(chroot.path(cache)).iterdir()) == [
            "__init__.cpython-311.pyc",
            "core.cpython-311.pyc",
        ]
        bystander = Path(chroot.path("/usr/lib/python3/dist-packages/__pycache__/other.cpython-311.pyc"))
        bystander.parent.mkdir(exist_ok=True)
        bystander.write_bytes(b"not ours")
        chroot.run(
            "sh",
            "-e",
            "/var/lib/dpkg/info/python3-demo.prerm",
            "remove",
            env=maintscript_environment("prerm"),
        )
        assert not Path(chroot.path(cache)).exists()
        assert bystander.read_bytes() == b"not ours"
