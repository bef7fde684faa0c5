"""Debootstrap roots a maintainer builds Debian packages in, for tests/test_build_roots.py.

Each holds, from its own suite and put there by debootstrap --include (so the
cached tarball has them and no apt runs at test time): what dpkg-buildpackage
needs (build-essential, debhelper, fakeroot), the Build-Depends of dh-pyshared
(dh-python, python3) and of examples/pyshared-demo (python3-dev), and the
Depends and Recommends of the dh-pyshared package (debian/control).  trixie's
root also has lintian; it stands in for test_trixie.py's smaller root too.
"""

from helpers.chroot import base_tarball

TOOL_DEPENDS = (
    "python3-debian",
    "python3-jinja2",
    "python3-pyelftools",
    "python3-sh",
    "python3-tqdm",
    "python3-lz4",
)
BUILD_PACKAGES = ("python3", "python3-dev", "build-essential", "debhelper", "dh-python", "fakeroot")
# debootstrap does not resolve virtual packages: lintian needs libnet-ssleay-perl, which depends on
# perl-openssl-abi-3, which only perl-openssl-defaults provides.
TRIXIE_INCLUDE = (*BUILD_PACKAGES, *TOOL_DEPENDS, "lintian", "perl-openssl-defaults")
BOOKWORM_INCLUDE = (*BUILD_PACKAGES, *TOOL_DEPENDS)


def trixie_tarball():
    return base_tarball("trixie", TRIXIE_INCLUDE)


def bookworm_tarball():
    return base_tarball("bookworm", BOOKWORM_INCLUDE)
