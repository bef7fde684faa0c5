"""Real bookworm packages: Debian's tree, turned back into every layout a
maintainer may hand over, must come out of dh_pyshared exactly as Debian ships it.

The .debs are the exact ones pinned in tests/data/archive-pins.txt, fetched
once into the tests cache directory by tests/helpers/archive.py, so a point
release cannot change what these tests see.  A fetch failure fails the
tests; nothing is skipped.
Each .deb is unpacked once per module (`debian_tree`), every test copies it.

For each package:

* what Debian ships = `dpkg-deb -x` of the .deb;
* "turned back" (`LAYOUTS`, `turn_back`) = that tree with
  usr/lib/python3/dist-packages made into one layout: an upstream install
  (usr/lib/python3.11/site-packages, usr/lib/python3.11/dist-packages,
  usr/local/lib/python3.11/dist-packages), every
  `X.cpython-311-<multiarch>.so` renamed `X.so` (`.abi3.so` kept), the PEP
  3149 draft farm (pure files in /usr/share/pyshared, extensions in
  /usr/lib/pyshared/python3.11, farm links from python3.11's dist-packages),
  python-support (the same storage, no links, a .public with pyversions=3.11),
  python-central (pure files in /usr/share/pyshared, extensions in python3.11's
  dist-packages, usr/share/pyshared-data/<package>) and dh_python2 2010-2014
  (farm links to /usr/share/pyshared, extensions real in python3.11's
  dist-packages, conflict links from /usr/lib/pyshared/python3.11); metadata
  names as Debian ships them; the package's links (python3-selinux's
  `_selinux.so -> selinux/_selinux.so`, python3-coverage's `htmlfiles` into
  /usr/share) kept links naming the same file, and links elsewhere in the
  package into the module tree pointed at where their target went;
* dh_pyshared (the real command) on the turned-back tree must give Debian's
  tree: same paths, bytes, modes and link targets;
* dh_pyshared on Debian's tree as-is must change nothing, not even an mtime;
* pyshared:Depends must state the bounds on python3 that Debian's Depends
  states (for abi3 packages, the version their modules need, computed by
  test_abi_checks.abi3info_needs from pyelftools and abi3info);
* the converted modules import with /usr/bin/python3 from the output tree alone.
"""

import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import MULTIARCH, SourcePackage, snapshot
from helpers import archive, elfref
from helpers.archive import fetch_debs
from helpers.elfref import reference_facts
from helpers.interpreters import FetchError

# Small packages with extension modules, plus numpy (4.8 MB) for size: ~8 MB in all
# (tests/test_archive_scan.py scans these too).
PACKAGES = (
    "python3-bcrypt",  # abi3, cffi-generated
    "python3-cffi-backend",  # one top-level extension, no pure module
    "python3-lxml",  # many extensions, .pxi/.h data next to them
    "python3-markupsafe",
    "python3-msgpack",
    "python3-nacl",  # abi3, dist-info
    "python3-numpy",  # big; a symlink from usr/include into dist-packages
    "python3-psutil",
    "python3-regex",
    "python3-simplejson",
    "python3-ujson",  # top-level extension next to an egg-info
    "python3-yaml",  # dist-info with RECORD
)
# Issue 13: more of them, chosen widely: links inside the module tree
# (selinux) or to another path of the package (coverage's htmlfiles), versioned
# egg-info names (gpg, pwquality), egg-info files (cairo, selinux), dist-info
# (cbor2, cryptography, frozenlist, kiwisolver, zmq), abi3 (argon2,
# cryptography, pycryptodome's ctypes-loaded .abi3.so libraries), big ones
# (cryptography, pil): ~6 MB.
MORE_PACKAGES = (
    "python3-apt",
    "python3-argon2",
    "python3-audit",
    "python3-brotli",
    "python3-cairo",
    "python3-cap-ng",
    "python3-cbor2",
    "python3-coverage",
    "python3-crcmod",
    "python3-cryptography",
    "python3-dbus",
    "python3-frozenlist",
    "python3-gi",
    "python3-gpg",
    "python3-greenlet",
    "python3-kiwisolver",
    "python3-ldb",
    "python3-levenshtein",
    "python3-llvmlite",
    "python3-lz4",
    "python3-multidict",
    "python3-netifaces",
    "python3-pil",
    "python3-pwquality",
    "python3-pycryptodome",
    "python3-pycurl",
    "python3-pyrsistent",
    "python3-pyxattr",
    "python3-ruamel.yaml.clib",
    "python3-selinux",
    "python3-semanage",
    "python3-setproctitle",
    "python3-systemd",
    "python3-wrapt",
    "python3-xxhash",
    "python3-yarl",
    "python3-zmq",
    "python3-zstd",
)
ALL_PACKAGES = tuple(sorted(PACKAGES + MORE_PACKAGES))
MORE_CACHE_NAME = "bookworm-debs-issue13"

# Modules to import from the output tree, when the package's shared-library
# dependencies are installed on this machine (checked at collection).
# bcrypt and nacl need _cffi_backend from another package; numpy and ujson
# need libraries this image does not usually have.
IMPORTS = {
    "python3-cffi-backend": ("_cffi_backend",),
    "python3-lxml": ("lxml", "lxml.etree", "lxml.objectify", "lxml.html.diff"),
    "python3-markupsafe": ("markupsafe", "markupsafe._speedups"),
    "python3-msgpack": ("msgpack", "msgpack._cmsgpack"),
    "python3-psutil": ("psutil", "psutil._psutil_linux", "psutil._psutil_posix"),
    "python3-regex": ("regex", "regex._regex"),
    "python3-simplejson": ("simplejson", "simplejson._speedups"),
    "python3-yaml": ("yaml", "yaml._yaml"),
}

# What Debian ships beyond an upstream install, that dh_pyshared folds into
# the shared directory by design: numpy's .deb carries a second, identical
# copy of numpy/core/_multiarray_umath.cpython-311-*.so in
# usr/lib/python3.11/dist-packages, shadowed on sys.path by the shared one.
# Debian's tree minus these paths is the "already correct" tree.
DEBIAN_EXTRAS = {
    "python3-numpy": "usr/lib/python3.11",
}

SHARED = "usr/lib/python3/dist-packages"
UPSTREAM = {
    "site": "usr/lib/python3.11/site-packages",
    "local": "usr/local/lib/python3.11/dist-packages",
    "dist": "usr/lib/python3.11/dist-packages",
}
TAG_ARGS = ("--tag", f"cpython-311-{MULTIARCH}")
# name: (layout, rename tagged extensions to X.so, dh_pyshared arguments)
VARIANTS = {
    "site": ("site", True, ()),
    "local": ("local", True, ()),
    "dist": ("dist", True, ()),
    "site-tag": ("site", True, TAG_ARGS),
    # Current setuptools already tags: only the location is wrong.
    "site-tagged-names": ("site", False, ()),
    "draft-farm": ("draft-farm", True, ()),
    "python-support": ("python-support", True, ()),
    "python-central": ("python-central", True, ()),
    "dh-python2": ("dh-python2", True, ()),
}
# The biggest packages run fewer layouts (one upstream install and two farms).
FEWER_VARIANTS = {"python3-numpy": ("site", "draft-farm", "python-support")}
PURE_STORE = "usr/share/pyshared"
EXTENSION_STORE = "usr/lib/pyshared/python3.11"
PY311_DIST = "usr/lib/python3.11/dist-packages"
# bookworm supports exactly 3.11 (/usr/share/python3/debian_defaults).
SOURCE_FIELDS = "X-Python3-Version: >= 3.11\n"
TAGGED_SO = re.compile(rf"(?P<stem>[^.]+)\.cpython-311-{re.escape(MULTIARCH)}\.so")
PYTHON = "/usr/bin/python3"
DEB_CACHE_NAME = "bookworm-debs"


# --- fetching ---------------------------------------------------------------


@functools.cache
def bookworm_debs():
    """{package: .deb path}, downloaded once into the tests cache directory."""
    debs = fetch_debs(PACKAGES, DEB_CACHE_NAME)
    debs.update(fetch_debs(MORE_PACKAGES, MORE_CACHE_NAME))
    return debs


def deb_field(deb, field):
    return subprocess.run(
        ["dpkg-deb", "-f", str(deb), field], capture_output=True, text=True, check=True
    ).stdout.strip()


def extract(deb, directory):
    directory.mkdir(parents=True, exist_ok=True)
    subprocess.run(["dpkg-deb", "-x", str(deb), str(directory)], check=True, capture_output=True)
    return directory


def library_dependencies_installed(deb):
    """True if every non-Python dependency of `deb` is installed here."""
    from debian.deb822 import PkgRelation

    for alternatives in PkgRelation.parse_relations(deb_field(deb, "Depends")):
        names = [a["name"] for a in alternatives]
        if any(name.startswith("python3") for name in names):
            continue
        status = subprocess.run(
            ["dpkg-query", "-W", "-f=${db:Status-Status}\n", *names],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.split()
        if "installed" not in status:
            return False
    return True


# --- trees ------------------------------------------------------------------


class DebianTrees:
    """Each .deb unpacked once per module: what it ships, and the already
    correct tree (without DEBIAN_EXTRAS) with its snapshot; tests get copies."""

    def __init__(self, directory, debs):
        self.directory = directory
        self.debs = debs
        self.cache = {}

    def _unpacked(self, package):
        if package not in self.cache:
            full = extract(self.debs[package], self.directory / package / "full")
            correct = self.directory / package / "correct"
            shutil.copytree(full, correct, symlinks=True)
            if package in DEBIAN_EXTRAS:
                shutil.rmtree(correct / DEBIAN_EXTRAS[package])
            self.cache[package] = (full, correct, snapshot(correct))
        return self.cache[package]

    def correct(self, package):
        """The already correct tree (do not change it)."""
        return self._unpacked(package)[1]

    def expected(self, package):
        """The snapshot of the tree dh_pyshared should produce."""
        return self._unpacked(package)[2]

    def copy(self, package, destination, extras=True):
        full, correct, _ = self._unpacked(package)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(full if extras else correct, destination, symlinks=True)
        return destination


def correct_tree(package, deb, directory):
    """What Debian ships, without DEBIAN_EXTRAS: what dh_pyshared should produce."""
    extract(deb, directory)
    if package in DEBIAN_EXTRAS:
        shutil.rmtree(directory / DEBIAN_EXTRAS[package])
    return directory


def source_for(tmp_path, package, deb, name="src", extras=True, fields=SOURCE_FIELDS, trees=None):
    """A source package whose debian/<package>/ is what Debian ships
    (without DEBIAN_EXTRAS unless `extras`)."""
    arch = deb_field(deb, "Architecture")
    src = SourcePackage(tmp_path / name, packages=((package, arch),), source_fields=fields)
    src.tree().rmdir() if src.tree().exists() else None
    if trees is not None:
        trees.copy(package, src.tree(), extras)
    elif extras:
        extract(deb, src.tree())
    else:
        correct_tree(package, deb, src.tree())
    return src


def ships_pure_modules(entries):
    return any(rel.startswith(f"{SHARED}/") and rel.endswith(".py") for rel in entries)


def lexical(link_rel, text):
    """The tree-relative path a link's text names (.. at the root stays there)."""
    joined = text if text.startswith("/") else f"{os.path.dirname(link_rel)}/{text}"
    parts = []
    for part in joined.split("/"):
        if part == "..":
            if parts:
                parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    return "/".join(parts)


def link_text(link, target, absolute):
    return "/" + target if absolute else os.path.relpath(target, os.path.dirname(link))


def shared_entries(tree):
    """(rel below SHARED, "file" | "link", link text) of Debian's module tree, and its directories."""
    shared = tree / SHARED
    entries, directories = [], []
    for directory, dirnames, filenames in os.walk(shared):
        for name in sorted(dirnames + filenames):
            path = Path(directory) / name
            rel = path.relative_to(shared).as_posix()
            if path.is_symlink():
                entries.append((rel, "link", os.readlink(path)))
            elif path.is_dir():
                directories.append(rel)
            else:
                entries.append((rel, "file", None))
    return entries, directories


def turn_back(tree, layout, rename=True, package="python3-demo"):
    """Debian's shared dist-packages -> `layout` (see the module docstring);
    the number of extensions renamed from X.cpython-311-<multiarch>.so to X.so."""
    tree = Path(tree)
    entries, directories = shared_entries(tree)
    kinds = {rel: kind for rel, kind, _ in entries}
    upstream = UPSTREAM.get(layout)
    renamed = 0

    def untagged(rel):
        directory, _, name = rel.rpartition("/")
        match = TAGGED_SO.fullmatch(name)
        if not (match and rename):
            return rel
        return f"{directory}/{match['stem']}.so" if directory else f"{match['stem']}.so"

    def pure_place():
        return upstream or PURE_STORE

    def file_place(rel):
        if upstream:
            return upstream
        if not rel.endswith(".so"):
            return PURE_STORE
        return EXTENSION_STORE if layout in ("draft-farm", "python-support") else PY311_DIST

    homes, places = {}, {}
    for rel, kind, _ in entries:
        if kind == "file":
            places[rel] = file_place(rel)
    for rel, kind, text in entries:
        if kind == "link":
            target = lexical(f"{SHARED}/{rel}", text)
            inside = target[len(SHARED) + 1 :] if target.startswith(f"{SHARED}/") else None
            places[rel] = places.get(inside, pure_place()) if inside in kinds else pure_place()
    for rel, _, _ in entries:
        homes[rel] = f"{places[rel]}/{untagged(rel)}"

    def new_path(path):
        """Where a tree path below SHARED went (a file, a link or a directory)."""
        rel = path[len(SHARED) + 1 :]
        if rel in homes:
            return homes[rel]
        return f"{pure_place()}/{rel}"

    # Links elsewhere in the package into the module tree follow their targets.
    outside = []
    for directory, dirnames, filenames in os.walk(tree):
        if Path(directory) == tree / SHARED:
            dirnames[:] = []
            continue
        for name in dirnames + filenames:
            path = Path(directory) / name
            if path.is_symlink():
                rel = path.relative_to(tree).as_posix()
                text = os.readlink(path)
                target = lexical(rel, text)
                if target.startswith(f"{SHARED}/"):
                    outside.append((path, link_text(rel, new_path(target), text.startswith("/"))))
    for path, text in outside:
        path.unlink()
        os.symlink(text, path)

    shared = tree / SHARED
    for rel, kind, text in entries:
        home = tree / homes[rel]
        home.parent.mkdir(parents=True, exist_ok=True)
        source = shared / rel
        if kind == "link":
            target = lexical(f"{SHARED}/{rel}", text)
            new_target = new_path(target) if target.startswith(f"{SHARED}/") else target
            source.unlink()
            os.symlink(link_text(homes[rel], new_target, text.startswith("/")), home)
        elif home.exists():
            assert home.read_bytes() == source.read_bytes(), f"{source} and {home} differ"
            source.unlink()
        else:
            source.rename(home)
        renamed += kind == "file" and homes[rel] != f"{places[rel]}/{rel}"
    for rel in directories:
        (tree / pure_place() / rel).mkdir(parents=True, exist_ok=True)
    shutil.rmtree(shared)
    if not any((tree / SHARED).parent.iterdir()):
        (tree / SHARED).parent.rmdir()  # usr/lib/python3 held nothing else

    stored = sorted(homes[rel] for rel, _, _ in entries if places[rel] in (PURE_STORE, EXTENSION_STORE))
    if layout == "draft-farm" or layout == "dh-python2":
        for home in stored:
            store = PURE_STORE if home.startswith(PURE_STORE + "/") else EXTENSION_STORE
            farm = f"{PY311_DIST}/{home[len(store) + 1 :]}"
            (tree / farm).parent.mkdir(parents=True, exist_ok=True)
            os.symlink(os.path.relpath(home, os.path.dirname(farm)), tree / farm)
    if layout == "dh-python2":
        for rel, kind, _ in entries:
            if kind == "file" and places[rel] == PY311_DIST:
                conflict = f"{EXTENSION_STORE}/{untagged(rel)}"
                (tree / conflict).parent.mkdir(parents=True, exist_ok=True)
                os.symlink(os.path.relpath(homes[rel], os.path.dirname(conflict)), tree / conflict)
    if layout == "python-support":
        public = tree / "usr/share/python-support" / f"{package}.public"
        public.parent.mkdir(parents=True, exist_ok=True)
        public.write_text("pyversions=3.11\n\n" + "".join(f"/{home}\n" for home in stored))
    if layout == "python-central":
        data = tree / "usr/share/pyshared-data" / package
        data.parent.mkdir(parents=True, exist_ok=True)
        data.write_text("[python-package]\npython-version=3.11\n")
    return renamed


def differences(expected, actual, limit=60):
    """Readable lines for every path that differs between two snapshots."""
    lines = [f"missing     {rel}  {expected[rel]}" for rel in sorted(expected.keys() - actual.keys())]
    lines += [f"unexpected  {rel}  {actual[rel]}" for rel in sorted(actual.keys() - expected.keys())]
    lines += [
        f"differs     {rel}: expected {expected[rel]}, got {actual[rel]}"
        for rel in sorted(expected.keys() & actual.keys())
        if expected[rel] != actual[rel]
    ]
    if len(lines) > limit:
        lines = [*lines[:limit], f"... and {len(lines) - limit} more"]
    return lines


def mtimes(tree):
    return {str(p): os.lstat(p).st_mtime_ns for p in [Path(tree), *Path(tree).rglob("*")]}


def substvar(src, package=None, name="pyshared:Depends"):
    text = src.substvars(package) or ""
    values = [line.split("=", 1)[1] for line in text.splitlines() if line.startswith(f"{name}=")]
    assert len(values) == 1, f"expected one {name} in debian/{package or src.package}.substvars:\n{text}"
    return values[0]


# --- Depends ------------------------------------------------------------------


def python3_relations(depends):
    """The relations on python3 in a Depends value: {(archqual, operator, version)}."""
    from debian.deb822 import PkgRelation

    relations = set()
    for alternatives in PkgRelation.parse_relations(depends):
        if len(alternatives) == 1 and alternatives[0]["name"] == "python3":
            relation = alternatives[0]
            operator, version = relation["version"] or (None, None)
            relations.add((relation["archqual"], operator, version))
    return relations


ANY = ("any", None, None)
# The abi3 packages: the highest version that added a stable-ABI symbol their
# modules import (tests/test_abi_checks.py computes it with pyelftools and abi3info).
ABI3_NEEDS = {"python3-bcrypt": "3.2", "python3-nacl": "3.2"}


def check_depends(ours, debians, package, pure, needs=None, extensions=True):
    """Ours states the same version bounds on python3 as Debian's.

    python3:any: ours has it exactly when the package ships pure modules
    (`pure`), and then Debian's has it too (python3-ujson's maintainer adds
    it by hand to a package without any .py file).  Stable-ABI (abi3)
    packages: dh_python3 writes `python3 (>= 3~)`; ours states the version
    the modules need (`needs`, else ABI3_NEEDS[package]), at least Debian's
    bound, and neither has an upper bound.
    """
    from debian.debian_support import Version

    mine, theirs = python3_relations(ours), python3_relations(debians)
    message = f"{package}: pyshared:Depends {ours!r} vs Debian's Depends {debians!r}"
    assert (ANY in mine) == pure, message
    assert ANY in theirs or not pure, message
    assert all(r == ANY or r[1] is not None for r in mine), message
    bounds_mine = {r for r in mine if r[1] is not None}
    bounds_theirs = {r for r in theirs if r[1] is not None}
    if not extensions and needs is None:
        # No extension module (python3-llvmlite's ctypes library): no bound on
        # the version, where dh_python3 writes python3 (>= 3~) for any .so.
        assert not bounds_mine and bounds_theirs <= {(None, ">=", "3~")}, message
        return
    if any(op in ("<<", "<=") for _, op, _ in bounds_theirs):
        assert bounds_mine == bounds_theirs, message
        return
    assert not any(op in ("<<", "<=") for _, op, _ in mine), message
    lower_mine = [Version(v) for _, op, v in mine if op == ">="]
    lower_theirs = [Version(v) for _, op, v in theirs if op == ">="]
    assert len(lower_mine) == 1 and len(lower_theirs) == 1, message
    needs = needs or ABI3_NEEDS[package]
    assert lower_theirs[0] <= lower_mine[0] == Version(f"{needs}~"), message


def test_python3_relations_parses_both_orders():
    debian = "python3 (<< 3.12), python3 (>= 3.11~), python3:any, libc6 (>= 2.14)"
    ours = "python3 (>= 3.11~), python3 (<< 3.12), python3:any"
    assert (
        python3_relations(debian)
        == python3_relations(ours)
        == {(None, "<<", "3.12"), (None, ">=", "3.11~"), ("any", None, None)}
    )
    check_depends(ours, debian, "demo", pure=True)
    check_depends("python3 (>= 3.11~), python3 (<< 3.12)", debian, "demo", pure=False)
    for wrong, pure in (
        ("python3 (>= 3.11~), python3:any", True),
        ("python3 (>= 3.11~), python3 (<< 3.13), python3:any", True),
        ("python3 (>= 3.10~), python3 (<< 3.12), python3:any", True),
        (ours, False),
        ("python3 (>= 3.11~), python3 (<< 3.12)", True),
    ):
        with pytest.raises(AssertionError):
            check_depends(wrong, debian, "demo", pure)
    abi3 = "python3 (>= 3~), python3:any, libc6 (>= 2.14)"
    check_depends("python3 (>= 3.2~), python3:any", abi3, "demo", pure=True, needs="3.2")
    for wrong in ("python3 (>= 3.2~), python3 (<< 3.12), python3:any", "python3 (>= 3.11~), python3:any",
                  "python3 (>= 3~), python3:any"):
        with pytest.raises(AssertionError):
            check_depends(wrong, abi3, "demo", pure=True, needs="3.2")


# --- tests ------------------------------------------------------------------


@pytest.fixture(scope="session")
def debs():
    return bookworm_debs()


def test_every_package_was_fetched(debs):
    pins = archive.read_pins()
    for package, deb in debs.items():
        assert deb_field(deb, "Package") == package
        assert deb_field(deb, "Version") == pins.debs[package].version, "not the pinned version"
        assert deb_field(deb, "Architecture") != "all", package


def test_a_pinned_deb_is_fetched_by_its_sha256_or_fails_naming_its_pin(tmp_path, monkeypatch):
    """Bytes other than the pinned ones are never kept; a cached .deb is checked at every use; a
    pin that no mirror has any more fails, naming the package, its version and the pins file."""
    monkeypatch.setenv("PYSHARED_TEST_CACHE", str(tmp_path / "cache"))
    filename = "pool/main/d/demo/python3-demo_1.0-1_amd64.deb"
    right, wrong, empty = (tmp_path / name for name in ("right", "wrong", "empty"))
    for mirror, data in ((right, b"the pinned bytes"), (wrong, b"other bytes"), (empty, None)):
        (mirror / filename).parent.mkdir(parents=True)
        if data:
            (mirror / filename).write_bytes(data)
    digest = hashlib.sha256(b"the pinned bytes").hexdigest()
    pins_file = tmp_path / "pins.txt"
    architecture = archive.host_architecture()
    pins_file.write_text(
        f"# comment\narchitecture {architecture}\nsnapshot 20260712T000000Z\n"
        f"python3-demo 1.0-1 {digest} {filename}  # trailing comment\n"
    )
    pins = archive.read_pins(pins_file)
    urls = {mirror: mirror.as_uri() + "/" for mirror in (right, wrong, empty)}

    fetched = fetch_debs(("python3-demo",), "demo", pins, [urls[wrong], urls[empty], urls[right]])
    (deb,) = fetched.values()
    assert deb.name == "python3-demo_1.0-1_amd64.deb" and deb.read_bytes() == b"the pinned bytes"
    assert fetch_debs(("python3-demo",), "demo", pins, []) == fetched  # cached: no mirror asked
    deb.write_bytes(b"corrupted")
    with pytest.raises(FetchError):
        fetch_debs(("python3-demo",), "demo", pins, [urls[wrong]])
    assert not deb.exists() or deb.read_bytes() != b"other bytes"
    fetch_debs(("python3-demo",), "demo", pins, [urls[right]])
    assert deb.read_bytes() == b"the pinned bytes"

    deb.unlink()
    with pytest.raises(FetchError) as gone:
        fetch_debs(("python3-demo",), "demo", pins, [urls[wrong], urls[empty]])
    message = str(gone.value)
    assert "python3-demo 1.0-1" in message and str(pins_file) in message, message
    assert f"{urls[wrong]}{filename}: SHA256 " in message and f"{urls[empty]}{filename}: " in message
    with pytest.raises(FetchError, match="no pin for python3-other"):
        fetch_debs(("python3-other",), "demo", pins, [urls[right]])
    other = archive.Pins("s390x" if architecture != "s390x" else "amd64", pins.snapshot, pins.debs, pins_file)
    with pytest.raises(FetchError, match=r"pin the \.debs of this architecture"):
        fetch_debs(("python3-demo",), "demo", other, [urls[right]])


@pytest.fixture(scope="module")
def trees(tmp_path_factory, debs):
    return DebianTrees(tmp_path_factory.mktemp("debian-trees"), debs)


def abi3_needs(tree):
    """The version the package's abi3 files need, or None without one: by
    pyelftools and abi3info (test_abi_checks.abi3info_needs) for an abi3
    extension; the lowest supported version (3.11) for an .abi3.so without
    init function (python3-pycryptodome's ctypes-loaded libraries), whose
    imports dh_pyshared does not read (checks.stable_abi_needs)."""
    from test_abi_checks import abi3info_needs

    needs = []
    for path in sorted((tree / SHARED).rglob("*.abi3.so")):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            needs.append(abi3info_needs(data) if init_functions(data) else (3, 11))
    return ".".join(map(str, max(needs))) if needs else None


def init_functions(data):
    """The PyInit_ functions a shared object exports, by pyelftools."""
    import io

    from elftools.elf.elffile import ELFFile

    return {
        s.name for section in ELFFile(io.BytesIO(data)).iter_sections("SHT_DYNSYM")
        for s in section.iter_symbols()
        if s.name.startswith("PyInit_") and s["st_shndx"] != "SHN_UNDEF"
        and s["st_info"]["type"] == "STT_FUNC"
    }


def libpython_linked(tree):
    """The extensions of the shared directory with a DT_NEEDED libpython, by pyelftools:
    dh_pyshared warns about each."""
    import io

    from elftools.elf.elffile import ELFFile

    linked = []
    for path in sorted((tree / SHARED).rglob("*.so")):
        if path.is_file() and not path.is_symlink() and init_functions(data := path.read_bytes()):
            needed = [tag.needed for section in ELFFile(io.BytesIO(data)).iter_sections("SHT_DYNAMIC")
                      for tag in section.iter_tags("DT_NEEDED")]
            if any(name.startswith("libpython3") for name in needed):
                linked.append(path.relative_to(tree).as_posix())
    return linked


def has_extension_modules(tree):
    return any(init_functions(p.read_bytes()) for p in (tree / SHARED).rglob("*.so")
               if p.is_file() and not p.is_symlink())


def check_stderr(stderr, tree, package):
    lines = stderr.splitlines()
    linked = libpython_linked(tree)
    assert len(lines) == len(linked), stderr
    for line, path in zip(lines, linked, strict=True):
        assert line.startswith("dh_pyshared: warning: extension is linked against libpython3.11.so"), line
        assert f" in {package}, " in line and path.rsplit("/", 1)[1].split(".")[0] in line, (line, path)


def variants_of(package):
    return FEWER_VARIANTS.get(package, sorted(VARIANTS))


CASES = [(package, variant) for package in ALL_PACKAGES for variant in variants_of(package)]


@pytest.mark.parametrize(("package", "variant"), CASES)
def test_every_layout_becomes_debians_tree(tmp_path, debs, trees, package, variant):
    layout, rename, args = VARIANTS[variant]
    deb = debs[package]
    expected = trees.expected(package)
    upstream = layout in UPSTREAM
    src = source_for(tmp_path, package, deb, extras=upstream, trees=trees)
    renamed = turn_back(src.tree(), layout, rename, package)
    extensions = [rel for rel in expected if TAGGED_SO.fullmatch(rel.rsplit("/", 1)[-1])
                  and expected[rel][0] == "file"]
    abi3 = [rel for rel in expected if rel.endswith(".abi3.so")]
    if has_extension_modules(trees.correct(package)):
        assert abi3 or (renamed == len(extensions) if rename else extensions), f"{package}: no extension?"
    assert snapshot(src.tree()) != expected
    result = src.run(*args)
    actual = snapshot(src.tree())
    problems = differences(expected, actual)
    assert not problems, (
        f"dh_pyshared {' '.join(args)} on {package} turned back into {variant} "
        f"does not give Debian's tree:\n" + "\n".join(problems) + f"\n--- stderr\n{result.stderr}"
    )
    assert result.stdout == ""
    check_stderr(result.stderr, src.tree(), package)
    check_depends(substvar(src), deb_field(deb, "Depends"), package, ships_pure_modules(expected),
                  needs=abi3_needs(src.tree()), extensions=has_extension_modules(src.tree()))
    assert not any((src.root / "debian" / ".debhelper" / "pyshared").glob("*.journal")), "journal left"
    times, substvars = mtimes(src.tree()), src.substvars()
    again = src.run(*args)
    assert not differences(actual, snapshot(src.tree())), "second run changed the tree"
    assert mtimes(src.tree()) == times and src.substvars() == substvars
    assert again.stdout == ""
    check_stderr(again.stderr, src.tree(), package)
    shutil.rmtree(src.root)  # 569 cases: only a failing one keeps its tree


def test_the_archive_cases_cover_every_layout_and_kind():
    """At least 40 packages, each layout, and each kind the issue names."""
    assert len(ALL_PACKAGES) >= 40 and len(set(ALL_PACKAGES)) == len(ALL_PACKAGES)
    assert {variant for _, variant in CASES} == set(VARIANTS)
    for wanted in ("python3-selinux", "python3-coverage", "python3-gpg", "python3-numpy",
                   "python3-cryptography", "python3-pycryptodome", "python3-yaml", "python3-cairo"):
        assert set(variants_of(wanted)) & {"draft-farm", "python-support"}, wanted


@pytest.mark.parametrize(
    "fields",
    ["", "X-Python3-Version: 3.11\n", "X-Python3-Version: >= 3.9\n", "X-Python3-Version: >= 3.11, << 3.12\n"],
    ids=["absent", "exact", "wider", "range"],
)
@pytest.mark.parametrize("package", ["python3-cffi-backend", "python3-markupsafe", "python3-nacl"])
def test_every_x_python3_version_bookworm_accepts(tmp_path, debs, package, fields):
    """Whatever the source says, on bookworm only 3.11 is supported: same tree, same bounds."""
    deb = debs[package]
    expected = snapshot(correct_tree(package, deb, tmp_path / "debian-ships"))
    src = source_for(tmp_path, package, deb, fields=fields)
    turn_back(src.tree(), "site")
    result = src.run()
    problems = differences(expected, snapshot(src.tree()))
    assert not problems, f"{package} with {fields!r}:\n" + "\n".join(problems)
    assert result.stderr == ""
    check_depends(substvar(src), deb_field(deb, "Depends"), package, ships_pure_modules(expected))


def test_all_packages_in_one_source_package(tmp_path, debs):
    """One run over twelve binary packages, each in a different upstream layout."""
    architectures = [(package, deb_field(debs[package], "Architecture")) for package in PACKAGES]
    src = SourcePackage(tmp_path / "src", packages=architectures, source_fields=SOURCE_FIELDS)
    names = sorted(VARIANTS)
    expected = {}
    for index, package in enumerate(PACKAGES):
        location, rename, _ = VARIANTS[names[index % len(names)]]
        expected[package] = snapshot(correct_tree(package, debs[package], tmp_path / package))
        extract(debs[package], src.tree(package))
        turn_back(src.tree(package), location, rename, package)
    result = src.run("-a")
    assert result.stdout == "" and result.stderr == ""
    for package in PACKAGES:
        problems = differences(expected[package], snapshot(src.tree(package)))
        assert not problems, f"{package}:\n" + "\n".join(problems)
        check_depends(
            substvar(src, package),
            deb_field(debs[package], "Depends"),
            package,
            ships_pure_modules(expected[package]),
        )


@pytest.mark.parametrize("package", ALL_PACKAGES)
def test_debians_tree_is_left_untouched(tmp_path, debs, trees, package):
    deb = debs[package]
    src = source_for(tmp_path, package, deb, extras=False, trees=trees)
    tree = src.tree()
    before, times = snapshot(tree), mtimes(tree)
    result = src.run("-v")
    problems = differences(before, snapshot(tree))
    assert not problems, f"dh_pyshared changed Debian's {package}:\n" + "\n".join(problems)
    assert mtimes(tree) == times
    assert result.stdout == ""
    check_stderr(result.stderr, tree, package)
    check_depends(substvar(src), deb_field(deb, "Depends"), package, ships_pure_modules(before),
                  needs=abi3_needs(tree), extensions=has_extension_modules(tree))


@pytest.mark.parametrize("package", sorted(DEBIAN_EXTRAS))
def test_debians_extra_copies_are_folded_into_the_shared_directory(tmp_path, debs, package):
    deb = debs[package]
    expected = snapshot(correct_tree(package, deb, tmp_path / "correct"))
    src = source_for(tmp_path, package, deb)
    assert snapshot(src.tree()) != expected
    result = src.run("-v")
    problems = differences(expected, snapshot(src.tree()))
    assert not problems, f"dh_pyshared on Debian's {package} as shipped:\n" + "\n".join(problems)
    assert f"rmdir {DEBIAN_EXTRAS[package]}\n" in result.stdout
    assert result.stderr == ""


IMPORT_SCRIPT = """\
import importlib, json, sys
tree = sys.argv[1]
sys.path[:] = [tree] + [p for p in sys.path if not p.endswith(("-packages", "-packages/"))]
found = {}
for name in sys.argv[2:]:
    found[name] = importlib.import_module(name).__file__
print(json.dumps({"path": sys.path, "files": found}))
"""


def importable_packages():
    # Collection-time: the download happens here on a cold cache.
    debs = bookworm_debs()
    return sorted(p for p in IMPORTS if library_dependencies_installed(debs[p]))


@pytest.mark.parametrize("package", importable_packages())
def test_converted_modules_import_from_the_output_tree(tmp_path, debs, package):
    deb = debs[package]
    src = source_for(tmp_path, package, deb)
    turn_back(src.tree(), "site")
    src.run()
    shared = src.tree() / SHARED
    modules = IMPORTS[package]
    result = subprocess.run(
        [PYTHON, "-I", "-S", "-c", IMPORT_SCRIPT, str(shared), *modules],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, f"importing {modules} from {shared} failed:\n{result.stderr}"
    report = json.loads(result.stdout)
    assert not [p for p in report["path"][1:] if "-packages" in p], report["path"]
    for name, file in report["files"].items():
        assert file is not None, f"{name} has no __file__"
        assert Path(file).is_relative_to(shared), f"{name} imported from {file}, not from {shared}"
    extensions = [f for f in report["files"].values() if f.endswith(".so")]
    assert extensions, f"no extension module among {modules}"
    for file in extensions:
        assert Path(file).name.endswith(f".cpython-311-{MULTIARCH}.so"), file


@pytest.mark.parametrize("package", ALL_PACKAGES)
def test_elf_reader_agrees_with_pyelftools_on_every_shared_object(tmp_path, debs, package):
    """elf.extension_facts (the hand-written .dynsym/.dynamic reader on the hot
    path) gives pyelftools' header, init functions, DT_NEEDED entries and
    imported Python symbols for every .so the archive package ships, each of
    which exports functions and has other (undefined, local, data) .dynsym names."""
    import io

    from elftools.elf.elffile import ELFFile

    from pyshared_tools import elf

    extract(debs[package], tmp_path)
    objects = [path for path in tmp_path.rglob("*.so*") if path.is_file() and not path.is_symlink()]
    assert objects, package
    for path in objects:
        data = path.read_bytes()
        exported = elfref.exported_functions(data)
        dynamic = {
            symbol.name
            for section in ELFFile(io.BytesIO(data)).iter_sections("SHT_DYNSYM")
            for symbol in section.iter_symbols()
        }
        assert dynamic - exported, path
        assert exported, path
        stem = path.name.split(".")[0]
        assert tuple(elf.extension_facts(data, stem, str(path))) == reference_facts(data, stem), path
        assert elf.needed_sonames(data, str(path)) == elfref.dt_needed(data), path
