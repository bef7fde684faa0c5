"""Bad input is refused with one actionable line and an untouched tree;
odd but valid input (hostile names, non-ELF .so files) is moved correctly.

Every refusal is checked the same way (assert_refused): non-zero exit, stderr
exactly one ``dh_pyshared: error: <what>, <where>, <what to do>`` line, no
traceback, and the whole source directory (package tree, debian/control, no
substvars, no journal) hashed identical before and after.
"""

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from conftest import MULTIARCH, SUFFIX_311, SourcePackage, snapshot
from helpers import builduser, cbuild
from helpers.bad_input import PY311, SITE, assert_refused, run_as_build_user, upstream_tree

DIST = f"{PY311}/dist-packages"
SHARED = "usr/lib/python3/dist-packages"
CANARY = "PWNED"
LOOP = r"loop|nest"


def special_snapshot(root):
    """conftest.snapshot, plus FIFOs and other special files (which it would open and block on)."""
    entries = {}
    for directory, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(directory) / name
            info = path.lstat()
            rel = path.relative_to(root).as_posix()
            if stat.S_ISREG(info.st_mode):
                entries[rel] = ("file", path.read_bytes(), oct(info.st_mode))
            elif stat.S_ISLNK(info.st_mode):
                entries[rel] = ("link", os.readlink(path))
            else:
                entries[rel] = ("other", oct(info.st_mode), info.st_ino)
    return entries


def a_module(src):
    """Something the tool would move, so that a refusal that still acted is noticed."""
    src.write(f"{SITE}/innocent.py", "I = 1\n")


# --- links that leave the tree ------------------------------------------------


# Links the tool would have to read through (farm links into a storage place)
# are refused when their target is missing or the way to it leaves the tree;
# every other link is only moved, never followed (issue 13, item 1).
@pytest.mark.parametrize(
    ("link", "target", "expect"),
    [
        (f"{DIST}/foo.py", "/usr/share/pyshared/missing.py", "points at a file the package does not ship"),
        (f"{DIST}/foo.py", "../../../share/pyshared/out/passwd", "farm link leaves the package tree"),
        (f"{DIST}/pkg/foo.py", "/usr/share/pyshared/out/passwd", "farm link leaves the package tree"),
        (f"{SHARED}/foo.py", "../../../share/pyshared/out/passwd", "farm link leaves the package tree"),
    ],
    ids=[
        "absolute-pyshared-missing",
        "relative-through-an-escaping-storage-link",
        "absolute-through-an-escaping-storage-link",
        "home-through-an-escaping-storage-link",
    ],
)
def test_farm_link_out_of_the_tree(source, link, target, expect):
    a_module(source)
    source.write("usr/share/pyshared/present.py", "P = 1\n")
    source.link("usr/share/pyshared/out", "../../../../../../etc")
    source.link(link, target)
    assert_refused(source, expect=(expect, link, target))


@pytest.mark.parametrize(
    ("link", "target", "moved", "text"),
    [
        (f"{DIST}/foo.py", "/etc/passwd", f"{SHARED}/foo.py", "/etc/passwd"),
        (f"{DIST}/foo.py", "../../../../../../etc/passwd", f"{SHARED}/foo.py", "../../../../etc/passwd"),
        (f"{DIST}/foo.so", f"/usr/lib/{MULTIARCH}/../../../etc/passwd", f"{SHARED}/foo.so", "/etc/passwd"),
        (
            f"{DIST}/foo.so",
            f"../../{MULTIARCH}/../../../../etc/passwd",
            f"{SHARED}/foo.so",
            "../../../../etc/passwd",
        ),
        (
            f"{SITE}/pkg/foo.py",
            "../../../../../../../etc/passwd",
            f"{SHARED}/pkg/foo.py",
            "../../../../../etc/passwd",
        ),
        (
            f"{SHARED}/foo.py",
            "../../../../../../etc/passwd",
            f"{SHARED}/foo.py",
            "../../../../../../etc/passwd",
        ),
        (
            f"{SHARED}/pkg/foo.py",
            "../../../../../../etc/passwd",
            f"{SHARED}/pkg/foo.py",
            "../../../../../../etc/passwd",
        ),
    ],
    ids=[
        "absolute-etc",
        "relative-dissolved",
        "absolute-library-dir-dotdot",
        "relative-library-dir-dotdot",
        "relative-dissolved-deeper",
        "relative-home",
        "relative-home-one-too-many",
    ],
)
def test_link_out_of_the_tree_is_moved_never_followed(source, link, target, moved, text):
    """A link that is not a farm link names the same absolute path after the move."""
    a_module(source)
    source.link(link, target)
    source.run()
    after = snapshot(source.tree())
    assert after[moved] == ("link", text)
    assert not (source.tree() / PY311).exists()


# --- link loops ---------------------------------------------------------------


def test_farm_link_loop(source):
    a_module(source)
    source.link(f"{DIST}/a.py", "../../../share/pyshared/a.py")
    source.link("usr/share/pyshared/a.py", f"/{DIST}/a.py")
    assert_refused(source, expect=("symlink loop", f"{DIST}/a.py"))


def test_farm_link_self_loop_through_storage(source):
    a_module(source)
    source.link(f"{DIST}/a.py", "../../../share/pyshared/a.py")
    source.link("usr/share/pyshared/a.py", "../../lib/python3.11/dist-packages/a.py")
    assert_refused(source, expect=("symlink loop",))


@pytest.mark.parametrize(
    ("links", "expected"),
    [
        ({"a.py": "b.py", "b.py": "a.py"}, {"a.py": "b.py", "b.py": "a.py"}),
        ({"a.py": "a.py"}, {"a.py": "a.py"}),
        ({"a.py": f"/{DIST}/a.py"}, {"a.py": f"/{SHARED}/a.py"}),
        ({"pkg/again": "."}, {"pkg/again": "."}),
        ({"pkg/up": ".."}, {"pkg/up": ".."}),
    ],
    ids=["two-links", "self", "absolute-self", "directory-self", "directory-parent"],
)
def test_link_loop_inside_one_place_is_moved_as_links(source, links, expected):
    """Links that loop inside one install are links of the package: moved, never read."""
    a_module(source)
    source.write(f"{DIST}/pkg/__init__.py", "")
    for name, target in links.items():
        source.link(f"{DIST}/{name}", target)
    source.run()
    after = snapshot(source.tree())
    assert {name: after[f"{SHARED}/{name}"] for name in expected} == {
        name: ("link", text) for name, text in expected.items()
    }


def test_directory_loop_through_a_farm(source):
    """A farm link to a storage directory holding a link back into the farm."""
    a_module(source)
    source.write("usr/share/pyshared/pkg/__init__.py", "")
    source.link("usr/share/pyshared/pkg/back", "../../../lib/python3.11/dist-packages/pkg")
    source.link(f"{DIST}/pkg", "../../../share/pyshared/pkg")
    assert_refused(source, expect=(f"{DIST}/pkg",), expect_re=LOOP)


# --- collisions ---------------------------------------------------------------


def test_two_versioned_sources_differ(source):
    source.write(f"{SITE}/foo.py", "VALUE = 'site'\n")
    source.write("usr/local/lib/python3.11/dist-packages/foo.py", "VALUE = 'local'\n")
    assert_refused(
        source,
        expect=("different content", f"{SITE}/foo.py", "usr/local/lib/python3.11/dist-packages/foo.py"),
    )


def test_shared_pure_file_differs_from_versioned_copy(source):
    source.write(f"{SHARED}/foo.py", "VALUE = 'shared'\n")
    source.write(f"{DIST}/foo.py", "VALUE = 'versioned'\n")
    assert_refused(source, expect=("different content", f"{SHARED}/foo.py", f"{DIST}/foo.py"))


def test_two_builds_of_one_extension_differ(source):
    source.extension(f"{SITE}/_speed.so", value="site build")
    source.extension("usr/local/lib/python3.11/dist-packages/_speed.so", value="local build")
    assert_refused(source, expect=(f"{SITE}/_speed.so", "usr/local/lib/python3.11/dist-packages/_speed.so"))


# --- truncated ELF ------------------------------------------------------------


@pytest.fixture(scope="module")
def full_extension(tmp_path_factory):
    return cbuild.compile_extension(tmp_path_factory.mktemp("elf") / "foo.so", "foo")


@pytest.mark.parametrize("fraction", [None, 0.1, 0.5, 0.9, 0.999], ids=lambda f: f"fraction-{f}")
@pytest.mark.parametrize("length", [4, 16, 52, 64, 200])
def test_truncated_elf_extension(source, full_extension, length, fraction):
    size = full_extension.stat().st_size
    if fraction is not None:
        length = max(length, int(size * fraction))
        if length >= size:
            length = size - 1
    a_module(source)
    path = source.tree() / f"{SITE}/foo.so"
    path.parent.mkdir(parents=True, exist_ok=True)
    cbuild.truncated_copy(full_extension, path, length)
    assert path.stat().st_size == length < size
    assert_refused(source, expect=("truncated or corrupt ELF", f"{SITE}/foo.so"))


# --- the build user: unreadable files, directories it cannot write -----------


@pytest.fixture
def build_user_dir():
    """A directory of the build user (tests/helpers/builduser.py), reachable from /:
    pytest's tmp_path is mode 0700 under /tmp/pytest-of-root."""
    directory = builduser.scratch("dh-pyshared-builduser-")
    yield directory
    shutil.rmtree(directory)


def test_unreadable_extension_is_named(build_user_dir):
    src = SourcePackage(build_user_dir / "src")
    a_module(src)
    src.extension(f"{SITE}/foo/_speed.so")
    src.write(f"{SITE}/foo/__init__.py", "")
    builduser.give(src.root)
    unreadable = src.tree() / f"{SITE}/foo/_speed.so"
    unreadable.chmod(0)
    probe = builduser.run(["cat", str(unreadable)], capture_output=True, check=False)
    assert probe.returncode != 0, "setup: the build user can read the mode 0000 file"
    assert_refused(
        src,
        runner=run_as_build_user(src),
        expect=("cannot read", f"{SITE}/foo/_speed.so"),
        snap=snapshot_with_unreadable,
    )


def snapshot_with_unreadable(root):
    """conftest.snapshot, where a file this process cannot read (an ordinary
    user's mode 0000 file) counts by its inode, size, mode and times."""
    entries = {}
    for directory, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(directory) / name
            info = path.lstat()
            rel = path.relative_to(root).as_posix()
            if stat.S_ISREG(info.st_mode) and not os.access(path, os.R_OK):
                entries[rel] = (
                    "unreadable",
                    info.st_ino,
                    info.st_size,
                    info.st_mode,
                    info.st_mtime_ns,
                    info.st_ctime_ns,
                )
            elif stat.S_ISREG(info.st_mode):
                entries[rel] = ("file", path.read_bytes(), info.st_mode)
            elif stat.S_ISLNK(info.st_mode):
                entries[rel] = ("link", os.readlink(path))
            else:
                entries[rel] = ("other", info.st_mode)
    return entries


def linked_extension_in_place(src):
    """Already converted, but linked against libpython: --fix-libpython replaces it."""
    src.write(f"{SHARED}/foo/__init__.py", "")
    src.extension(f"{SHARED}/foo/_speed{SUFFIX_311}", link_libpython=True)


TREE = "debian/python3-demo"
TODO = "make it writable (chmod u+w) in debian/rules before dh_pyshared"
# (the tree, options, the directory made mode 0555 after the build relative to
# the source package, the refusal, a path the run makes once it may)
READ_ONLY = {
    "modules moved out": (
        upstream_tree,
        (),
        f"{TREE}/{SITE}/foo",
        f"cannot write {TREE}/{SITE}/foo (mode 0555), needed to move its module __init__.py out, {TODO}",
    ),
    "directory created": (
        upstream_tree,
        (),
        f"{TREE}/usr/lib",
        f"cannot write {TREE}/usr/lib (mode 0555), needed to create its directory python3, {TODO}",
    ),
    "emptied directory removed": (
        upstream_tree,
        (),
        f"{TREE}/{PY311}",
        f"cannot write {TREE}/{PY311} (mode 0555), needed to remove site-packages, {TODO}",
    ),
    "file rewritten": (
        linked_extension_in_place,
        ("--fix-libpython",),
        f"{TREE}/{SHARED}/foo",
        f"cannot write {TREE}/{SHARED}/foo (mode 0555), needed to replace _speed{SUFFIX_311} by its copy "
        f"without libpython3.11.so.1.0 (--fix-libpython), {TODO}",
    ),
    # debian/.debhelper exists (dh made it): the journal goes there, the substvars into debian/.
    "substvars written": (
        upstream_tree,
        (),
        "debian",
        f"cannot write debian (mode 0555), needed to write debian/python3-demo.substvars, {TODO}",
    ),
    "journal written": (
        upstream_tree,
        (),
        "debian/.debhelper",
        "cannot write debian/.debhelper (mode 0555), needed to write "
        f"debian/.debhelper/pyshared/python3-demo.journal, {TODO}",
    ),
}


@pytest.mark.parametrize("case", sorted(READ_ONLY))
def test_a_directory_the_build_user_cannot_write_is_refused_before_any_change(build_user_dir, case):
    """Today's main met it at the first rename, mkdir, rmdir or rewrite there:
    Permission denied, with the journal written and the tree half converted."""
    tree, args, locked, message = READ_ONLY[case]
    src = SourcePackage(build_user_dir / "src")
    tree(src)
    (src.root / "debian/.debhelper").mkdir()
    builduser.give(src.root)
    (src.root / locked).chmod(0o555)
    run = run_as_build_user(src)
    try:
        probe = builduser.run(["touch", str(src.root / locked / "probe")], capture_output=True, check=False)
        assert probe.returncode != 0, "setup: the build user can write a mode 0555 directory"
        assert_refused(src, *args, runner=run)
        assert run(*args).stderr == f"dh_pyshared: error: {message}\n"
        assert run("--no-act", *args).returncode == 1, "--no-act foretells the refusal"
    finally:
        (src.root / locked).chmod(0o755)
    before = snapshot(src.tree())
    result = run(*args)
    assert result.returncode == 0, result.stderr
    assert snapshot(src.tree()) != before
    assert (src.tree() / f"{SHARED}/foo/_speed{SUFFIX_311}").is_file()
    assert not (src.tree() / PY311).exists()
    assert src.substvars().startswith("pyshared:Depends=python3 (>= 3.11~), python3 (<< 3.12)")


def test_a_file_the_build_user_cannot_read_but_must_copy_is_refused_before_any_change(build_user_dir):
    """lsb-release's one file linked from Python 2.7 and Python 3 is copied for one of them:
    today's main met the mode 0200 file at that copy, with the journal written.  It is
    read first to compile it as Python 3 (issue 13, item 8)."""
    src = SourcePackage(build_user_dir / "src")
    src.write("usr/share/pyshared/lsb_release.py", "def get(): return {}\n")
    src.link("usr/lib/python2.7/dist-packages/lsb_release.py", "../../../share/pyshared/lsb_release.py")
    src.link(f"{SHARED}/lsb_release.py", "../../../share/pyshared/lsb_release.py")
    (src.root / "debian/.debhelper").mkdir()
    builduser.give(src.root)
    copied = src.tree() / "usr/share/pyshared/lsb_release.py"
    copied.chmod(0o200)
    run = run_as_build_user(src)
    try:
        assert builduser.run(["cat", str(copied)], capture_output=True, check=False).returncode != 0
        assert_refused(src, runner=run, snap=snapshot_with_unreadable)
        assert run().stderr == (
            f"dh_pyshared: error: cannot read {TREE}/usr/share/pyshared/lsb_release.py (mode 0200), "
            f"needed to compile it as Python 3 for {SHARED}/lsb_release.py, "
            "make it readable (chmod u+r) in debian/rules before dh_pyshared\n"
        )
    finally:
        copied.chmod(0o644)
    assert run().returncode == 0
    for place in ("usr/lib/python2.7/dist-packages", SHARED):
        assert (src.tree() / place / "lsb_release.py").read_text() == "def get(): return {}\n"


def test_a_read_only_directory_the_run_does_not_change_is_no_obstacle(build_user_dir):
    src = SourcePackage(build_user_dir / "src")
    upstream_tree(src)
    src.write("usr/share/doc/python3-demo/README", "read me\n")
    builduser.give(src.root)
    for locked in ("usr/share/doc/python3-demo", "usr/share/doc", "usr/share"):
        (src.tree() / locked).chmod(0o555)
    try:
        result = run_as_build_user(src)()
    finally:
        for locked in ("usr/share/doc/python3-demo", "usr/share/doc", "usr/share"):
            (src.tree() / locked).chmod(0o755)
    assert result.returncode == 0, result.stderr
    assert (src.tree() / f"{SHARED}/foo/core.py").is_file()


def test_a_read_only_debian_directory_is_no_obstacle_when_nothing_is_written_there(build_user_dir):
    src = SourcePackage(build_user_dir / "src")
    src.write(f"{SHARED}/foo/__init__.py", "")  # already converted: a rerun changes nothing
    builduser.give(src.root)
    run = run_as_build_user(src)
    assert run().returncode == 0
    before = snapshot(src.root)
    (src.root / "debian").chmod(0o555)
    try:
        result = run()
    finally:
        (src.root / "debian").chmod(0o755)
    assert (result.returncode, result.stderr) == (0, "")
    assert snapshot(src.root) == before


# --- debian/control -----------------------------------------------------------


@pytest.mark.parametrize(
    ("control", "expect"),
    [
        (
            "Maintainer: Demo <demo@example.org>\n\nPackage: python3-demo\nArchitecture: any\n",
            ("Source", "debian/control"),
        ),
        ("this is not a control file at all\n{{{ garbage\n", ("debian/control line 1",)),
        ("\x00\x01\x02 binary garbage\n", ("debian/control",)),
        ("Source: demo\n\nPackage: python3-demo\nDescription: demo\n", ("Architecture", "debian/control")),
        ("Source: demo\n\nArchitecture: any\n", ("Package", "debian/control")),
    ],
    ids=["no-source", "garbage", "binary-garbage", "no-architecture", "no-package"],
)
def test_malformed_control(source, control, expect):
    a_module(source)
    (source.root / "debian" / "control").write_text(control)
    assert_refused(source, expect=expect)


def test_control_not_utf8(source):
    a_module(source)
    (source.root / "debian" / "control").write_bytes(
        b"Source: demo\nMaintainer: D\xe9mo <d@example.org>\n\nPackage: python3-demo\nArchitecture: any\n"
    )
    assert_refused(source, expect=("UTF-8", "debian/control line 2"))


# --- missing package tree -----------------------------------------------------


def test_missing_tree_with_p(source):
    assert not source.tree().exists()
    assert_refused(source, "-p", "python3-demo", expect=("does not exist", "debian/python3-demo"))


def test_missing_tree_with_big_p(source):
    a_module(source)
    assert_refused(source, "-P", "debian/elsewhere", expect=("does not exist", "debian/elsewhere"))


def test_missing_tree_with_p_and_big_p(source):
    a_module(source)
    assert_refused(
        source, "-p", "python3-demo", "-P", "debian/elsewhere", expect=("does not exist", "debian/elsewhere")
    )


# --- special files and names --------------------------------------------------


@pytest.mark.parametrize("place", [SITE, SHARED, "usr/share/pyshared"])
def test_fifo_in_a_module_directory(source, place):
    a_module(source)
    fifo = source.tree() / place / "pkg" / "pipe"
    fifo.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(fifo)
    assert_refused(source, expect=("FIFO", f"{place}/pkg/pipe"), snap=special_snapshot)


def test_fifo_reached_through_a_directory_farm(source):
    a_module(source)
    (source.tree() / "usr/share/pyshared/pkg").mkdir(parents=True)
    os.mkfifo(source.tree() / "usr/share/pyshared/pkg/pipe")
    source.link(f"{DIST}/pkg", "../../../share/pyshared/pkg")
    assert_refused(source, expect=("usr/share/pyshared/pkg/pipe",), snap=special_snapshot)


@pytest.mark.parametrize("name", ["bad\nname.py", "bad\rname.py", "pkg\nname/__init__.py"])
def test_name_with_a_line_break(source, name):
    a_module(source)
    source.write(f"{SITE}/{name}", "X = 1\n")
    expected = repr(name.split("/")[0])[1:-1]
    assert_refused(source, expect=("line break", expected))


@pytest.mark.parametrize("name", [b"caf\xe9.py", b"pkg\xff/__init__.py", b"\xc3(.py"])
def test_name_not_utf8(source, name):
    a_module(source)
    directory = os.fsencode(source.tree() / SITE)
    path = os.path.join(directory, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(b"X = 1\n")
    expected = repr(name.split(b"/")[0])[2:-1]
    assert_refused(source, expect=("UTF-8", expected))


# --- options ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "imported"),
    [("cpython-311", f"cpython-311-{MULTIARCH}"), ("cpython-32", "cpython-32mu")],
)
def test_tag_the_interpreter_does_not_import(source, tag, imported):
    a_module(source)
    source.extension(f"{SITE}/_speed.so")
    assert_refused(source, "--tag", tag, expect=(f"--tag {tag}", f".{imported}.so", f"--tag {imported}"))


@pytest.mark.parametrize("args", [("--frobnicate",), ("--frobnicate=yes",), ("-Z",)])
def test_unknown_option(source, args):
    a_module(source)
    assert_refused(source, *args, expect=("unknown option", args[0].split("=")[0]))


# --- odd but valid: handled, each proven --------------------------------------


def test_non_elf_so_keeps_its_name(source):
    content = b"# not an ELF file, just a data file named .so\n"
    source.write(f"{SITE}/foo.so", content)
    source.write(f"{SITE}/pkg/data.so", b"\x7fELX close but not ELF\n")
    before = snapshot(source.tree())
    source.run()
    after = snapshot(source.tree())
    assert after[f"{SHARED}/foo.so"][1] == before[f"{SITE}/foo.so"][1]
    assert after[f"{SHARED}/pkg/data.so"][1] == before[f"{SITE}/pkg/data.so"][1]
    assert not any(".cpython-" in rel for rel in after)
    assert PY311 not in after


def test_ctypes_library_keeps_its_name_and_loads(source):
    source.write(f"{SITE}/foo/__init__.py", "")
    source.library(f"{SITE}/foo/libhelper.so")
    before = snapshot(source.tree())
    source.run()
    after = snapshot(source.tree())
    moved = f"{SHARED}/foo/libhelper.so"
    assert after[moved] == before[f"{SITE}/foo/libhelper.so"]
    assert sorted(rel for rel in after if rel.startswith(f"{SHARED}/foo/")) == [
        f"{SHARED}/foo/__init__.py",
        moved,
    ]
    loaded = subprocess.run(
        [
            "/usr/bin/python3",
            "-I",
            "-c",
            "import ctypes, sys; print(ctypes.CDLL(sys.argv[1]).answer())",
            str(source.tree() / moved),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert loaded.stdout == "42\n"


# name -> (content, importable module name or None)
HOSTILE_FILES = {
    "with space.py": None,
    "it's.py": None,
    'say "hi".py': None,
    f"$(touch {CANARY}).py": None,
    f"`touch {CANARY}`.py": None,
    f"a;touch {CANARY}.py": None,
    f"a|touch {CANARY}&.py": None,
    "*.py": None,
    "?.py": None,
    "[ab].py": None,
    "-rf.py": None,
    "--help.py": None,
    "back\\slash.py": None,
    "café.py": "café",
    "naïve_module.py": "naïve_module",
    "modülé/__init__.py": "modülé",
    "modülé/sub module.py": None,
    "modülé/größe.py": "modülé.größe",
    f"$(touch {CANARY})/__init__.py": None,
    "my pkg/-x.py": None,
    "日本語.py": "日本語",
}


def test_hostile_names_in_a_legacy_layout(source, tmp_path):
    for rel, module in HOSTILE_FILES.items():
        source.write(f"{SITE}/{rel}", f"NAME = {rel!r}\nMODULE = {module!r}\n")
    source.extension(f"{SITE}/modülé/_speed.so", value="unicode package")
    before = snapshot(source.tree())
    cwd_before = sorted(os.listdir(Path.cwd()))
    result = source.run("-v")
    after = snapshot(source.tree())

    for rel in HOSTILE_FILES:
        assert after.get(f"{SHARED}/{rel}") == before[f"{SITE}/{rel}"], rel
    speed = f"{SHARED}/modülé/_speed{SUFFIX_311}"
    assert after[speed][1] == before[f"{SITE}/modülé/_speed.so"][1]
    expected_files = {f"{SHARED}/{rel}" for rel in HOSTILE_FILES} | {speed}
    assert {rel for rel, entry in after.items() if entry[0] != "dir"} == expected_files
    assert PY311 not in after

    assert not list(tmp_path.rglob(CANARY)), "a file name was executed"
    assert not (Path("/tmp") / CANARY).exists()
    assert sorted(os.listdir(Path.cwd())) == cwd_before
    assert CANARY not in os.listdir(source.root)
    assert result.stderr == ""

    modules = [m for m in HOSTILE_FILES.values() if m]
    check = (
        "import importlib, sys\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "for name in sys.argv[2:]:\n"
        "    module = importlib.import_module(name)\n"
        "    assert module.__file__.startswith(sys.argv[1]), module.__file__\n"
        "    print(name, getattr(module, 'MODULE', None) or module.variant)\n"
    )
    imported = subprocess.run(
        ["/usr/bin/python3", "-I", "-c", check, str(source.tree() / SHARED), *modules, "modülé._speed"],
        capture_output=True,
        text=True,
        check=True,
    )
    expected = [f"{m} {m}" for m in modules] + ["modülé._speed unicode package"]
    assert sorted(imported.stdout.splitlines()) == sorted(expected)
