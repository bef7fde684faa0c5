"""Multi-Arch: same for real (issue 14): the amd64, i386 and arm64 builds of one
package, each processed by dh_pyshared, co-installed with real dpkg in one root.

The extensions are bookworm's python3-lzss of each architecture, turned back
into an upstream install (an untagged lzss.so in /usr/lib/python3.11/
site-packages) with a pure module beside it for the scripts to byte-compile;
and, for amd64 and i386, a module lzss built by gcc (gcc -m32 with i386's
pyconfig.h from bookworm's libpython3.11-dev:i386).
dh_pyshared runs as in a native build for amd64 and as in a cross build for
i386 and arm64 (DEB_HOST_* from `dpkg-architecture -a`).  amd64 and i386 are
installed, configured, upgraded and removed together, each one's postinst and
prerm running (with the bare package name, `dpkg-query -L python3-lzss` and
`py3compile -p python3-lzss` fail as soon as both are installed); amd64 and
arm64 are unpacked together without a file conflict.
"""

import os
import subprocess

import pytest
from conftest import TOOL, SourcePackage
from helpers import cbuild
from helpers.chroot import Chroot
from helpers.foreign import fetch_debs
from helpers.interpreters import EXTENSION_SOURCE

ARCHITECTURES = ("amd64", "i386", "arm64")
PACKAGE = "python3-lzss"
SHARED = "usr/lib/python3/dist-packages"
PURE = "lzss_tools.py"


def host_facts(arch):
    output = subprocess.run(
        ["dpkg-architecture", f"-a{arch}"], capture_output=True, text=True, check=True
    ).stdout
    facts = dict(line.split("=", 1) for line in output.splitlines() if "=" in line)
    return {k: v for k, v in facts.items() if k.startswith(("DEB_HOST_", "DEB_BUILD_"))}


@pytest.fixture(scope="module")
def extensions(tmp_path_factory):
    """{(origin, arch): module lzss}: "archive" from bookworm's python3-lzss, "gcc" built here."""
    packages = (*(f"{PACKAGE}:{arch}" for arch in ARCHITECTURES), "libpython3.11-dev:i386")
    debs = fetch_debs(packages, "multiarch-same-debs")
    scratch = tmp_path_factory.mktemp("extensions")
    found = {}
    for arch in ARCHITECTURES:
        unpacked = scratch / arch
        unpacked.mkdir()
        subprocess.run(["dpkg-deb", "-x", str(debs[f"{PACKAGE}:{arch}"]), str(unpacked)], check=True)
        (extension,) = (unpacked / SHARED).glob("lzss.cpython-311-*.so")
        found["archive", arch] = extension.read_bytes()
    i386_dev = scratch / "libpython3.11-dev-i386"
    subprocess.run(["dpkg-deb", "-x", str(debs["libpython3.11-dev:i386"]), str(i386_dev)], check=True)
    assert (i386_dev / "usr/include/i386-linux-gnu/python3.11/pyconfig.h").is_file()
    for arch, flags in (("amd64", []), ("i386", ["-m32", f"-I{i386_dev}/usr/include"])):
        source = EXTENSION_SOURCE.replace("@NAME@", "lzss").replace("@VARIANT@", arch)
        built = cbuild.compile_c(
            scratch / f"gcc-{arch}.so", source, flags=[*flags, "-I/usr/include/python3.11"]
        )
        found["gcc", arch] = built.read_bytes()
    return found


def build_deb(tmp_path, extension, arch, version):
    """The package of `arch` rebuilt through dh_pyshared from an upstream install; its .deb."""
    work = tmp_path / f"{arch}-{version}"
    facts = host_facts(arch)
    src = SourcePackage(work / "src", packages=((PACKAGE, "any"),))
    control = src.root / "debian/control"
    control.write_text(
        control.read_text().replace("Architecture: any\n", "Architecture: any\nMulti-Arch: same\n")
    )
    site = "usr/lib/python3.11/site-packages"
    src.write(f"{site}/lzss.so", extension)
    src.write(f"{site}/{PURE}", f"VERSION = {version!r}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DH_", "DEB_"))}
    result = subprocess.run(
        [str(TOOL), "--strict"], cwd=src.root, env={**env, **facts}, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    tree = src.tree()
    assert sorted(p.name for p in (tree / SHARED).iterdir()) == sorted(
        [PURE, f"lzss.cpython-311-{facts['DEB_HOST_MULTIARCH']}.so"]
    )
    debian = tree / "DEBIAN"
    debian.mkdir()
    (debian / "control").write_text(
        f"Package: {PACKAGE}\nVersion: {version}\nArchitecture: {arch}\nMulti-Arch: same\n"
        "Maintainer: Demo <demo@example.org>\nDepends: python3:any\n"
        "Description: lzss rebuilt through dh_pyshared\n test package\n"
    )
    for script in ("postinst", "prerm"):
        body = (src.root / f"debian/{PACKAGE}.{script}.debhelper").read_text()
        assert f"{PACKAGE}:{arch}" in body
        path = debian / script
        path.write_text("#!/bin/sh\nset -e\n" + body)
        path.chmod(0o755)
    deb = work / f"{PACKAGE}_{version}_{arch}.deb"
    subprocess.run(
        ["dpkg-deb", "--root-owner-group", "--build", str(tree), str(deb)], check=True, capture_output=True
    )
    return deb


@pytest.fixture(scope="module")
def debs(extensions, tmp_path_factory):
    """{(origin, arch, version): .deb}."""
    tmp_path = tmp_path_factory.mktemp("multiarch")
    return {
        (origin, arch, version): build_deb(tmp_path / origin, extension, arch, version)
        for (origin, arch), extension in extensions.items()
        for version in ("1.0-1", "2.0-1")
    }


def status(chroot, arch):
    query = chroot.dpkg("-s", f"{PACKAGE}:{arch}", check=False).stdout
    fields = dict(line.split(": ", 1) for line in query.splitlines() if ": " in line)
    return fields.get("Status"), fields.get("Version")


def bytecode(chroot):
    return sorted(p.name for p in chroot.path(f"/{SHARED}/__pycache__").glob("lzss_tools.*.pyc"))


@pytest.mark.parametrize("origin", ["archive", "gcc"])
def test_amd64_and_i386_install_upgrade_and_remove_together(debs, origin):
    with Chroot.unpack() as chroot:
        chroot.dpkg("--add-architecture", "i386")
        installed = chroot.install(debs[origin, "amd64", "1.0-1"], debs[origin, "i386", "1.0-1"])
        for arch in ("amd64", "i386"):
            assert f"Setting up {PACKAGE}:{arch} (1.0-1)" in installed.stdout
            assert status(chroot, arch) == ("install ok installed", "1.0-1")
        assert bytecode(chroot) == ["lzss_tools.cpython-311.pyc"]
        assert chroot.run("python3", "-c", "import lzss_tools; print(lzss_tools.VERSION)").stdout == "1.0-1\n"
        if origin == "gcc":
            # python3 (amd64) imports the amd64 build from the shared directory, next to i386's.
            variant = chroot.run("python3", "-c", "import lzss; print(lzss.variant)").stdout
            assert variant == "amd64\n"
        upgraded = chroot.install(debs[origin, "amd64", "2.0-1"], debs[origin, "i386", "2.0-1"])
        for arch in ("amd64", "i386"):
            assert f"Unpacking {PACKAGE}:{arch} (2.0-1) over (1.0-1)" in upgraded.stdout
            assert status(chroot, arch) == ("install ok installed", "2.0-1")
        assert bytecode(chroot) == ["lzss_tools.cpython-311.pyc"]
        assert chroot.run("python3", "-c", "import lzss_tools; print(lzss_tools.VERSION)").stdout == "2.0-1\n"
        chroot.dpkg("--remove", f"{PACKAGE}:i386")
        assert status(chroot, "amd64") == ("install ok installed", "2.0-1")
        chroot.dpkg("--purge", f"{PACKAGE}:amd64")
        assert not chroot.path(f"/{SHARED}/{PURE}").exists()
        assert bytecode(chroot) == []
        assert not chroot.path(f"/{SHARED}/lzss.cpython-311-x86_64-linux-gnu.so").exists()


def test_amd64_and_arm64_unpack_together_without_a_conflict(debs):
    """Both ship the shared directory's pure files and each its own extension; an
    arm64 extension never loads here, but its scripts only byte-compile."""
    with Chroot.unpack() as chroot:
        chroot.dpkg("--add-architecture", "arm64")
        result = chroot.install(debs["archive", "amd64", "1.0-1"], debs["archive", "arm64", "1.0-1"])
        assert "trying to overwrite" not in result.stderr
        for arch, triplet in (("amd64", "x86_64-linux-gnu"), ("arm64", "aarch64-linux-gnu")):
            assert status(chroot, arch) == ("install ok installed", "1.0-1")
            assert chroot.path(f"/{SHARED}/lzss.cpython-311-{triplet}.so").is_file()
        owners, _, path = chroot.dpkg("-S", f"/{SHARED}/{PURE}").stdout.strip().partition(": ")
        assert (sorted(owners.split(", ")), path) == (
            [f"{PACKAGE}:amd64", f"{PACKAGE}:arm64"],
            f"/{SHARED}/{PURE}",
        )
