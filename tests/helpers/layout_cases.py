"""The legacy layouts tests/test_layouts.py and tests/test_resume.py run dh_pyshared on."""

from conftest import MULTIARCH

# Bytecode, farm metadata and the lower version's generated RECORD go on purpose,
# and --fix-libpython rewrites the extensions linked against libpython.
REMOVED_ON_PURPOSE = (
    ".pyc",
    ".public",
    "pyshared-data/python-demo",
    "python3.10/dist-packages/foo-1.0.dist-info/RECORD",
    "selinux-3.4.dist-info/RECORD",
    f"foo/_linked.cpython-311-{MULTIARCH}.so",
    "site-packages/foo/_moved.so",
)


PY311 = "usr/lib/python3.11"


SHARED = "usr/lib/python3/dist-packages"


def upstream_site(src):
    base = f"{PY311}/site-packages"
    src.write(f"{base}/foo/__init__.py", "from foo._speed import variant\n")
    src.write(f"{base}/foo/core.py", "ANSWER = 42\n")
    src.extension(f"{base}/foo/_speed.so")
    src.library(f"{base}/foo/libhelper.so")
    src.write(f"{base}/foo-1.0-py3.11.egg-info/PKG-INFO", "Name: foo\nVersion: 1.0\n")
    src.write(f"{base}/foo/__pycache__/core.cpython-311.pyc", b"\x00bytecode")


def upstream_local(src):
    base = "usr/local/lib/python3.11/dist-packages"
    src.write(f"{base}/bar.py", "X = 1\n")
    src.extension(f"{base}/_bar.so")


def upstream_dist_with_shared(src):
    src.write(f"{SHARED}/foo/__init__.py", "")
    src.write(f"{PY311}/dist-packages/foo/extra.py", "Y = 2\n")
    src.extension(f"{PY311}/dist-packages/foo/_speed.so")


def draft_farm(src):
    """PEP 3149 draft: pure in /usr/share/pyshared, extensions in
    /usr/lib/pyshared/python3.11, shipped links from python3.11's dist-packages."""
    src.write("usr/share/pyshared/foo/__init__.py", "from foo._speed import variant\n")
    src.write("usr/share/pyshared/foo/core.py", "ANSWER = 42\n")
    src.extension("usr/lib/pyshared/python3.11/foo/_speed.so")
    for name in ("__init__.py", "core.py"):
        src.link(f"{PY311}/dist-packages/foo/{name}", f"../../../../share/pyshared/foo/{name}")
    src.link(f"{PY311}/dist-packages/foo/_speed.so", "../../../pyshared/python3.11/foo/_speed.so")


def draft_farm_32(src):
    src.write("usr/share/pyshared/foo/__init__.py", "")
    src.extension("usr/lib/pyshared/python3.2/foo/_speed.so")
    src.link("usr/lib/python3.2/dist-packages/foo/__init__.py", "/usr/share/pyshared/foo/__init__.py")
    src.link("usr/lib/python3.2/dist-packages/foo/_speed.so", "/usr/lib/pyshared/python3.2/foo/_speed.so")


def python_support(src):
    src.write("usr/share/pyshared/foo/__init__.py", "")
    src.write("usr/share/pyshared/foo/core.py", "ANSWER = 42\n")
    src.write("usr/lib/pyshared/python2.7/foo/_speed.so", b"\x7fELF python 2 build")
    src.write(
        "usr/share/python-support/python-demo.public",
        "pyversions=2.7\n\n/usr/share/pyshared/foo/__init__.py\n",
    )
    src.write("usr/lib/pymodules/python2.7/baz.py", "Z = 3\n")


def python_central(src):
    src.write("usr/share/pyshared/foo/__init__.py", "")
    src.write("usr/share/pyshared/foo/core.py", "ANSWER = 42\n")
    src.write("usr/lib/python2.7/dist-packages/foo/_speed.so", b"\x7fELF python 2 build")
    src.write("usr/share/pyshared-data/python-demo", "[python-package]\npython-version=2.7\n")


def python_central_old(src):
    src.write("usr/share/pycentral/python-demo/site-packages/foo/__init__.py", "")
    src.write("usr/lib/python2.6/site-packages/foo/_speed.so", b"\x7fELF python 2.6 build")


def dh_python2(src):
    src.write("usr/share/pyshared/foo/__init__.py", "")
    src.write("usr/share/pyshared/foo/core.py", "ANSWER = 42\n")
    for version in ("2.6", "2.7"):
        for name in ("__init__.py", "core.py"):
            src.link(
                f"usr/lib/python{version}/dist-packages/foo/{name}", f"../../../../share/pyshared/foo/{name}"
            )
        src.write(f"usr/lib/python{version}/dist-packages/foo/_speed.so", f"\x7fELF {version}".encode())
        src.link(
            f"usr/lib/pyshared/python{version}/foo/_speed.so",
            f"../../../python{version}/dist-packages/foo/_speed.so",
        )


def shared_both_majors(src):
    """lsb-release 11.1: one file linked from Python 2.7 and Python 3."""
    src.write("usr/share/pyshared/lsb_release.py", "def get(): return {}\n")
    src.link("usr/lib/python2.7/dist-packages/lsb_release.py", "../../../share/pyshared/lsb_release.py")
    src.link(f"{SHARED}/lsb_release.py", "../../../share/pyshared/lsb_release.py")


def directory_farm(src):
    src.write("usr/share/pyshared/bar/__init__.py", "")
    src.write("usr/share/pyshared/bar/sub/mod.py", "M = 1\n")
    src.link(f"{SHARED}/bar", "../../../share/pyshared/bar")


def multi_version(src):
    for version, include in (("3.11", None),):
        base = f"usr/lib/python{version}/dist-packages"
        src.write(f"{base}/foo/__init__.py", "from foo._speed import variant\n")
        src.extension(f"{base}/foo/_speed.so", value=f"built for {version}", include_dirs=include)
    src.write("usr/lib/python3.10/dist-packages/foo/__init__.py", "from foo._speed import variant\n")
    src.extension("usr/lib/python3.10/dist-packages/foo/_speed.so", value="built for 3.10 (3.11 headers)")


def differing_pure(src):
    for version in ("3.10", "3.11"):
        base = f"usr/lib/python{version}/dist-packages"
        src.write(f"{base}/foo/__init__.py", "")
        src.write(f"{base}/foo/compat.py", f"VERSION = {version!r}\n")
    src.write("usr/lib/python3.10/dist-packages/other.py", "O = 1\n")
    src.write("usr/lib/python3.11/dist-packages/other.py", "O = 1\n")


def metadata_generated(src):
    for version in ("3.10", "3.11"):
        base = f"usr/lib/python{version}/dist-packages"
        src.write(f"{base}/foo/__init__.py", "")
        src.write(f"{base}/foo-1.0.dist-info/METADATA", "Name: foo\n")
        src.write(f"{base}/foo-1.0.dist-info/RECORD", f"foo/__init__.py,,\n# {version}\n")


def libpython_fix(src):
    """An extension linked against libpython, fixed by --fix-libpython: one moved, one in place."""
    src.write(f"{SHARED}/foo/__init__.py", "")
    src.extension(f"{SHARED}/foo/_linked.cpython-311-{MULTIARCH}.so", link_libpython=True)
    src.extension(f"{PY311}/site-packages/foo/_moved.so", link_libpython=True)
    src.extension(f"{PY311}/site-packages/foo/_plain.so")


def library_chain(src):
    base = f"{PY311}/site-packages/torchish"
    src.write(f"{base}/__init__.py", "")
    src.link(f"{base}/lib/libtorch.so", f"/usr/lib/{MULTIARCH}/libtorch.so.2")


def package_links(src):
    """Issue 13: links of the package in an upstream install (python3-selinux's
    top-level link to its extension, numpy's link into its -dev package) and a
    dist-info RECORD naming the untagged extension and its bytecode."""
    base = f"{PY311}/site-packages"
    src.write(f"{base}/selinux/__init__.py", "from selinux._selinux import *\n")
    src.extension(f"{base}/selinux/_selinux.so")
    src.link(f"{base}/_selinux.so", "selinux/_selinux.so")
    src.write(f"{base}/selinux/__pycache__/__init__.cpython-311.pyc", b"\x00bytecode")
    src.link(f"{base}/selinux/include", f"../../../{MULTIARCH}/selinux-dev/include")
    src.write(f"{base}/selinux-3.4.dist-info/METADATA", "Name: selinux\nVersion: 3.4\n")
    src.write(
        f"{base}/selinux-3.4.dist-info/RECORD",
        (
            "selinux/__init__.py,,\nselinux/_selinux.so,,\n_selinux.so,,\n"
            "selinux/__pycache__/__init__.cpython-311.pyc,,\nselinux-3.4.dist-info/RECORD,,\n"
        ),
    )
    src.link("usr/bin/selinux-demo", "../lib/python3.11/site-packages/_selinux.so")


CASES = {
    "package-links": (package_links, ()),
    "upstream-site": (upstream_site, ()),
    "upstream-local": (upstream_local, ()),
    "upstream-dist-with-shared": (upstream_dist_with_shared, ()),
    "draft-farm": (draft_farm, ()),
    "draft-farm-32": (draft_farm_32, ("--tag", "cpython-32mu")),
    "python-support": (python_support, ()),
    "python-central": (python_central, ()),
    "python-central-old": (python_central_old, ()),
    "dh-python2": (dh_python2, ()),
    "shared-both-majors": (shared_both_majors, ()),
    "directory-farm": (directory_farm, ()),
    "multi-version": (multi_version, ()),
    "differing-pure": (differing_pure, ()),
    "metadata-generated": (metadata_generated, ()),
    "library-chain": (library_chain, ()),
    "libpython-fix": (libpython_fix, ("--fix-libpython",)),
}
