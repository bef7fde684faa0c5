"""Real bookworm packages turned back into upstream trees, and the checks of what
dh_pyshared makes of them (tests/test_archive.py, tests/test_install.py)."""

import functools
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import MULTIARCH, SourcePackage, snapshot

from helpers.archive import fetch_debs

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


MORE_CACHE_NAME = "bookworm-debs-issue13"


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


PURE_STORE = "usr/share/pyshared"


EXTENSION_STORE = "usr/lib/pyshared/python3.11"


PY311_DIST = "usr/lib/python3.11/dist-packages"


# bookworm supports exactly 3.11 (/usr/share/python3/debian_defaults).
SOURCE_FIELDS = "X-Python3-Version: >= 3.11\n"


TAGGED_SO = re.compile(rf"(?P<stem>[^.]+)\.cpython-311-{re.escape(MULTIARCH)}\.so")


DEB_CACHE_NAME = "bookworm-debs"


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


def substvar(src, package=None, name="pyshared:Depends"):
    text = src.substvars(package) or ""
    values = [line.split("=", 1)[1] for line in text.splitlines() if line.startswith(f"{name}=")]
    assert len(values) == 1, f"expected one {name} in debian/{package or src.package}.substvars:\n{text}"
    return values[0]


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
# modules import (helpers/abi_packages.abi3info_needs computes it with pyelftools and abi3info).
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


@pytest.fixture(scope="session")
def debs():
    return bookworm_debs()


@pytest.fixture(scope="module")
def trees(tmp_path_factory, debs):
    return DebianTrees(tmp_path_factory.mktemp("debian-trees"), debs)
