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
  helpers/abi_packages.abi3info_needs from pyelftools and abi3info);
* the converted modules import with /usr/bin/python3 from the output tree alone.
"""

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import MULTIARCH, SourcePackage, snapshot
from helpers import archive, elfref
from helpers.archive import fetch_debs
from helpers.archive_trees import (
    DEBIAN_EXTRAS,
    MORE_PACKAGES,
    PACKAGES,
    SHARED,
    SOURCE_FIELDS,
    TAGGED_SO,
    UPSTREAM,
    bookworm_debs,
    check_depends,
    correct_tree,
    deb_field,
    debs,
    differences,
    extract,
    python3_relations,
    ships_pure_modules,
    source_for,
    substvar,
    trees,
    turn_back,
)
from helpers.elfref import reference_facts
from helpers.interpreters import FetchError

__all__ = ["debs", "trees"]  # fixtures from helpers/archive_trees.py

ALL_PACKAGES = tuple(sorted(PACKAGES + MORE_PACKAGES))

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
PYTHON = "/usr/bin/python3"


# --- fetching ---------------------------------------------------------------


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


def mtimes(tree):
    return {str(p): os.lstat(p).st_mtime_ns for p in [Path(tree), *Path(tree).rglob("*")]}


# --- Depends ------------------------------------------------------------------


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
    for wrong in (
        "python3 (>= 3.2~), python3 (<< 3.12), python3:any",
        "python3 (>= 3.11~), python3:any",
        "python3 (>= 3~), python3:any",
    ):
        with pytest.raises(AssertionError):
            check_depends(wrong, abi3, "demo", pure=True, needs="3.2")


# --- tests ------------------------------------------------------------------


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


def abi3_needs(tree):
    """The version the package's abi3 files need, or None without one: by
    pyelftools and abi3info (helpers/abi_packages.abi3info_needs) for an abi3
    extension; the lowest supported version (3.11) for an .abi3.so without
    init function (python3-pycryptodome's ctypes-loaded libraries), whose
    imports dh_pyshared does not read (checks.stable_abi_needs)."""
    from helpers.abi_packages import abi3info_needs

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
        s.name
        for section in ELFFile(io.BytesIO(data)).iter_sections("SHT_DYNSYM")
        for s in section.iter_symbols()
        if s.name.startswith("PyInit_")
        and s["st_shndx"] != "SHN_UNDEF"
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
            needed = [
                tag.needed
                for section in ELFFile(io.BytesIO(data)).iter_sections("SHT_DYNAMIC")
                for tag in section.iter_tags("DT_NEEDED")
            ]
            if any(name.startswith("libpython3") for name in needed):
                linked.append(path.relative_to(tree).as_posix())
    return linked


def has_extension_modules(tree):
    return any(
        init_functions(p.read_bytes())
        for p in (tree / SHARED).rglob("*.so")
        if p.is_file() and not p.is_symlink()
    )


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
    extensions = [
        rel for rel in expected if TAGGED_SO.fullmatch(rel.rsplit("/", 1)[-1]) and expected[rel][0] == "file"
    ]
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
    check_depends(
        substvar(src),
        deb_field(deb, "Depends"),
        package,
        ships_pure_modules(expected),
        needs=abi3_needs(src.tree()),
        extensions=has_extension_modules(src.tree()),
    )
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
    for wanted in (
        "python3-selinux",
        "python3-coverage",
        "python3-gpg",
        "python3-numpy",
        "python3-cryptography",
        "python3-pycryptodome",
        "python3-yaml",
        "python3-cairo",
    ):
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
    check_depends(
        substvar(src),
        deb_field(deb, "Depends"),
        package,
        ships_pure_modules(before),
        needs=abi3_needs(tree),
        extensions=has_extension_modules(tree),
    )


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

    from pyshared_tools.rules import elf

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


def test_a_package_pinned_twice_is_refused(tmp_path):
    """One line per package: a second pin (even an equal one) would silently override the first."""
    line = f"python3-demo 1.0-1 {'0' * 64} pool/main/d/demo/python3-demo_1.0-1_amd64.deb\n"
    pins_file = tmp_path / "pins.txt"
    pins_file.write_text(f"architecture amd64\nsnapshot 20260712T000000Z\n{line}{line}")
    with pytest.raises(FetchError, match=r"pins.txt:4: a second pin for python3-demo"):
        archive.read_pins(pins_file)
