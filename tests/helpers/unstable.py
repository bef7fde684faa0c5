"""Debian unstable as it is today: python3.14 (the default) and python3.15 in one root.

One cached debootstrap root (chroot.base_tarball) serves every unstable test:
both interpreters with their headers (python3-all-dev), gcc, dpkg-dev, the
libraries dh_pyshared runs with (unstable's python3-debian, -jinja2,
-pyelftools, -sh, -tqdm, -lz4), so the tool itself runs there from the
checkout, and what building its .deb takes (debhelper 14, dh-python, lintian).
Keep the include list one tuple: each list is a tarball of its own.
"""

import shutil
from pathlib import Path

from helpers.buildroots import TOOL_DEPENDS
from helpers.chroot import Chroot, base_tarball

UNSTABLE_PACKAGES = (
    "python3-all-dev",
    "gcc",
    "libc6-dev",
    "dpkg-dev",
    *TOOL_DEPENDS,
    # What building packages there takes (tests/test_unstable_build.py): unstable's
    # debhelper 14, dh-python and lintian.  debootstrap resolves no virtual package:
    # lintian's libnet-ssleay-perl needs perl-openssl-abi-3, which perl-openssl-defaults provides.
    "build-essential",
    "debhelper",
    "dh-python",
    "fakeroot",
    "lintian",
    "perl-openssl-defaults",
)
VERSIONS = ((3, 14), (3, 15))
CHECKOUT = Path(__file__).resolve().parents[2]
# Where copy_tool() puts the checkout's dh_pyshared in the root.
TOOL_PREFIX = "/opt/dh-pyshared"


def unstable_tarball():
    return base_tarball("unstable", UNSTABLE_PACKAGES)


def unpack(directory):
    return Chroot.unpack(directory, tarball=unstable_tarball())


def copy_tool(chroot):
    """bin/, pyshared_tools/ and templates/ of this checkout into the root; the path of dh_pyshared there."""
    prefix = chroot.path(TOOL_PREFIX)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for part in ("bin", "pyshared_tools", "templates"):
        shutil.copytree(CHECKOUT / part, prefix / part, ignore=ignore, dirs_exist_ok=True)
    return f"{TOOL_PREFIX}/bin/dh_pyshared"


def include_dir(chroot, version):
    command = ["import sysconfig; print(sysconfig.get_path('include'))"]
    return chroot.run(f"python{version[0]}.{version[1]}", "-c", *command).stdout.strip()
