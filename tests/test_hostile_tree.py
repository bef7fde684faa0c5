"""Hostile input (issue 12, dh_pyshared's side): a source tree and an
environment nobody has read.  Nothing is written or deleted outside the tree,
no traceback, bounded time.

Every test runs the real command in `tmp_path/src` next to a sentinel
directory `tmp_path/outside` (the files a planted link points at), and checks
the same things (`View.refused`, `View.succeeds`): no traceback; either exactly one line
``dh_pyshared: error: ...`` on stderr with the whole tmp view (source tree and
sentinel) hashed identical before and after, or success with the sentinel
untouched and the right result in the tree; and an exit within a generous
timeout that only a hang reaches.

The classes of the issue: 1 writes that follow links, 2 reads that follow
links, 3 the journal is data from disk, 5 the plan reads every output before
the first change, 6 encodings and depth, 8 options that make no sense; and a
source package crafted as an attacker ships it, built with the real
dpkg-buildpackage.
"""

import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest
from conftest import CHECKOUT, HOST, MULTIARCH, TOOL, SourcePackage
from helpers import debbuild

PACKAGE = "python3-demo"
SITE = "usr/lib/python3.11/site-packages"
DIST = "usr/lib/python3.11/dist-packages"
SHARED = "usr/lib/python3/dist-packages"
PYSHARED = "usr/share/pyshared"
SECRET = b"root:$6$secret-hash:19000:0:99999:7:::\nsecret=from outside the tree\n"
ERROR_LINE = re.compile(r"dh_pyshared: error: [^\n]+\n")
HANG = 60  # seconds: a run over these small trees takes well under one
DEEP = 1500


# --- the view: source package and sentinel ------------------------------------


def view_snapshot(root):
    """Every entry under root, without following links, without opening
    anything but regular files, without recursion (trees thousands deep)."""
    root = Path(root)
    entries = {}
    pending = [root]
    while pending:
        directory = pending.pop()
        with os.scandir(directory) as it:
            children = list(it)
        for child in children:
            info = child.stat(follow_symlinks=False)
            rel = os.path.relpath(child.path, root)
            if stat.S_ISDIR(info.st_mode):
                entries[rel] = ("dir", oct(info.st_mode))
                pending.append(child.path)
            elif stat.S_ISLNK(info.st_mode):
                entries[rel] = ("link", os.readlink(child.path))
            elif stat.S_ISREG(info.st_mode):
                with open(child.path, "rb") as handle:
                    digest = hashlib.sha256(handle.read()).hexdigest()
                entries[rel] = ("file", digest, oct(info.st_mode))
            else:
                entries[rel] = ("other", oct(info.st_mode), info.st_ino)
    return entries


def remove_tree(root):
    """rm -rf: GNU rm walks relative to directory descriptors, so a tree thousands
    deep goes in linear time (shutil.rmtree in Python 3.11 recurses per level)."""
    subprocess.run(["rm", "-rf", "--", str(root)], check=True)


class View:
    """tmp_path: `src` (the source package) and `outside` (the sentinel)."""

    def __init__(self, tmp_path):
        self.root = tmp_path
        self.src = SourcePackage(tmp_path / "src")
        self.outside = tmp_path / "outside"
        self.outside.mkdir()
        (self.outside / "secret").write_bytes(SECRET)
        (self.outside / "victim").write_bytes(b"the victim's own content\n")
        (self.outside / "dir").mkdir()
        (self.outside / "dir" / "file").write_bytes(b"inside the sentinel directory\n")
        self.sentinel = view_snapshot(self.outside)

    @property
    def debian(self):
        return self.src.root / "debian"

    def plant_link(self, rel, target):
        """A link at debian/`rel` (made with its parents) pointing at `target`."""
        path = self.debian / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, path)
        return path

    def module(self):
        self.src.write(f"{SITE}/demo/__init__.py", "VALUE = 1\n")

    def run(self, *args, env=None, runner=None):
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("DH_", "DEB_"))}
        environment.update(HOST)
        environment.update(env or {})
        command = [*(runner or ()), str(TOOL), *args]
        return subprocess.run(
            command,
            cwd=self.src.root,
            env=environment,
            capture_output=True,
            text=True,
            errors="backslashreplace",
            timeout=HANG,
            check=False,
        )

    def refused(self, *args, expect=(), env=None, runner=None):
        """A one-line refusal naming everything in `expect`; nothing anywhere changed."""
        before = view_snapshot(self.root)
        result = self.run(*args, env=env, runner=runner)
        assert "Traceback" not in result.stderr, result.stderr
        assert result.returncode != 0, result
        assert ERROR_LINE.fullmatch(result.stderr), f"not one error line: {result.stderr!r}"
        assert view_snapshot(self.root) == before, f"the refused run changed the view: {result.stderr}"
        for text in expect:
            assert text in result.stderr, f"{text!r} not in {result.stderr!r}"
        return result.stderr

    def succeeds(self, *args, env=None):
        """Success without a traceback; the sentinel untouched."""
        result = self.run(*args, env=env)
        assert "Traceback" not in result.stderr, result.stderr
        assert result.returncode == 0, result.stderr
        assert view_snapshot(self.outside) == self.sentinel, "the run changed the outside"
        return result

    def substvars(self):
        return (self.debian / f"{PACKAGE}.substvars").read_text()

    def assert_no_secret_inside(self):
        for path in self.src.root.rglob("*"):
            if path.is_file() and not path.is_symlink():
                assert b"secret-hash" not in path.read_bytes(), f"outside content landed in {path}"


@pytest.fixture
def view(tmp_path):
    return View(tmp_path)


def python_support_tree(src):
    """A farm-era tree: its conversion writes the legacy record and reads the changelog."""
    src.write(f"{PYSHARED}/demo/__init__.py", "")
    src.write(f"{PYSHARED}/demo/core.py", "VALUE = 1\n")
    src.write("usr/share/python-support/python3-demo.public", "pyversions=3.11-\n")


# --- 1. writes that follow links -------------------------------------------------


@pytest.mark.parametrize(
    "planted",
    [
        f"{PACKAGE}.substvars.tmp",
        f"{PACKAGE}.postinst.debhelper.tmp",
        f"{PACKAGE}.prerm.debhelper.tmp",
        f".debhelper/pyshared/{PACKAGE}.journal.tmp",
    ],
    ids=["substvars", "postinst-snippet", "prerm-snippet", "journal"],
)
def test_a_planted_temporary_link_is_never_written_through(view, planted):
    view.module()
    view.plant_link(planted, view.outside / "victim")
    view.succeeds()
    assert "python3:any" in view.substvars()
    assert (view.src.tree() / f"{SHARED}/demo/__init__.py").is_file()
    for script in ("postinst", "prerm"):
        assert not (view.debian / f"{PACKAGE}.{script}.debhelper").is_symlink()


def test_a_planted_temporary_link_for_the_legacy_record_is_never_written_through(view):
    python_support_tree(view.src)
    view.plant_link(f".debhelper/pyshared/{PACKAGE}.legacy.json.tmp", view.outside / "victim")
    view.succeeds()
    record = view.debian / ".debhelper/pyshared" / f"{PACKAGE}.legacy.json"
    assert not record.is_symlink() and "python-support" in record.read_text()


def test_a_planted_link_for_a_dangling_temporary_name_creates_nothing_outside(view):
    view.module()
    view.plant_link(f"{PACKAGE}.substvars.tmp", view.outside / "created-by-the-tool")
    view.succeeds()
    assert not (view.outside / "created-by-the-tool").exists()


def test_what_a_killed_write_left_is_removed_and_never_followed(view):
    view.module()
    left = view.debian / f".{PACKAGE}.substvars.0123456789ab.dh-pyshared-tmp"
    left.write_text("half a substvars fi")
    view.plant_link(f".{PACKAGE}.postinst.debhelper.ba9876543210.dh-pyshared-tmp", view.outside / "victim")
    view.succeeds()
    assert sorted(p.name for p in view.debian.glob(".*dh-pyshared-tmp")) == []
    assert "python3:any" in view.substvars()


@pytest.mark.parametrize(
    "link",
    [".debhelper", ".debhelper/pyshared"],
)
def test_the_journal_directory_must_be_a_real_directory_in_the_tree(view, link):
    view.module()
    view.plant_link(link, view.outside / "dir")
    view.refused(expect=(f"debian/{link} is a symbolic link, not a directory",))


def test_a_debian_directory_linking_out_is_refused(view):
    view.module()
    shutil.move(view.debian, view.outside / "debian")
    os.symlink(view.outside / "debian", view.debian)
    view.sentinel = view_snapshot(view.outside)
    view.refused(expect=("debian is a symbolic link, not a directory",))


def test_the_journal_directory_link_is_refused_also_without_any_module_to_move(view):
    python_support_tree(view.src)
    view.plant_link(".debhelper", view.outside / "dir")
    view.refused(expect=("debian/.debhelper is a symbolic link",))


# --- 2. reads that follow links ----------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [f"{PACKAGE}.postinst.debhelper", f"{PACKAGE}.prerm.debhelper", f"{PACKAGE}.substvars"],
    ids=["postinst-snippet", "prerm-snippet", "substvars"],
)
def test_an_output_linking_out_is_refused_not_read(view, name):
    view.module()
    view.plant_link(name, view.outside / "secret")
    view.refused(expect=(f"debian/{name} is a symbolic link, not a regular file",))
    view.assert_no_secret_inside()


def test_debian_control_linking_out_is_refused(view):
    view.module()
    control = view.debian / "control"
    shutil.move(control, view.outside / "control")
    os.symlink(view.outside / "control", control)
    view.refused(expect=("debian/control is a symbolic link",))


def test_the_changelog_linking_out_is_refused(view):
    python_support_tree(view.src)
    changelog = view.debian / "changelog"
    shutil.move(changelog, view.outside / "changelog")
    os.symlink(view.outside / "changelog", changelog)
    view.refused(expect=("debian/changelog is a symbolic link",))


def test_a_legacy_record_linking_out_is_refused(view):
    python_support_tree(view.src)
    record = {
        "helpers": ["python-support"],
        "runtime_farm": [],
        "directory_links": [],
        "storage_sources": [["usr/share/pyshared", "usr/share/pyshared/evil.py"]],
    }
    (view.outside / "record.json").write_text(json.dumps(record))
    view.plant_link(f".debhelper/pyshared/{PACKAGE}.legacy.json", view.outside / "record.json")
    view.refused(expect=("legacy.json is a symbolic link",))


def test_a_journal_linking_out_is_refused_not_replayed(view):
    view.module()
    journal = {
        "version": 1,
        "root": f"debian/{PACKAGE}",
        "actions": [{"op": "unlink", "path": f"{SITE}/demo/__init__.py", "reason": "bytecode"}],
    }
    (view.outside / "journal").write_text(json.dumps(journal))
    view.plant_link(f".debhelper/pyshared/{PACKAGE}.journal", view.outside / "journal")
    view.refused(expect=(f"{PACKAGE}.journal is a symbolic link",))


def test_a_dangling_journal_link_is_refused_not_ignored(view):
    view.module()
    view.plant_link(f".debhelper/pyshared/{PACKAGE}.journal", view.outside / "no-such-journal")
    view.refused(expect=(f"{PACKAGE}.journal is a symbolic link",))


# --- 3. the journal is data from disk ----------------------------------------------


def plant_journal(view, document):
    path = view.debian / ".debhelper/pyshared" / f"{PACKAGE}.journal"
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(document, bytes):
        path.write_bytes(document)
    elif isinstance(document, str):
        path.write_text(document)
    else:
        path.write_text(json.dumps(document))
    return path


def journal(*actions, root=f"debian/{PACKAGE}", version=1):
    return {"version": version, "root": root, "actions": list(actions)}


OUT_OF_TREE = "../../../outside/victim"  # from debian/python3-demo: tmp_path/outside/victim
HOSTILE_JOURNALS = {
    "dotdot-unlink": journal({"op": "unlink", "path": OUT_OF_TREE, "reason": "bytecode"}),
    "dotdot-inside-a-path": journal({"op": "unlink", "path": f"usr/{OUT_OF_TREE}/../../../x"}),
    "dotdot-move-source": journal({"op": "move", "path": "usr/stolen", "source": OUT_OF_TREE}),
    "dotdot-keep": journal({"op": "unlink", "path": "usr/x", "keep": OUT_OF_TREE, "reason": "duplicate"}),
    "absolute-source": journal({"op": "move", "path": "usr/stolen", "source": "/etc/hostname"}),
    "absolute-path": journal({"op": "unlink", "path": str(Path("/nonexistent/victim")), "reason": "x"}),
    "not-normalised": journal({"op": "mkdir", "path": "usr//lib/./x"}),
    "empty-path": journal({"op": "mkdir", "path": ""}),
    "root-elsewhere": journal({"op": "unlink", "path": "victim", "reason": "bytecode"}, root="../outside"),
    "root-absolute": journal({"op": "rmdir", "path": "tmp"}, root="/"),
    "unknown-op": journal({"op": "chmod", "path": "usr"}),
    "drop-needed-not-libpython": journal(
        {"op": "drop-needed", "path": f"{SITE}/demo/__init__.py", "needed": "--output=/tmp/x"}
    ),
    "missing-path": journal({"op": "unlink", "reason": "bytecode"}),
    "missing-source": journal({"op": "move", "path": "usr/x"}),
    "unknown-field": journal({"op": "mkdir", "path": "usr/x", "mode": 4095}),
    "path-not-a-string": journal({"op": "unlink", "path": ["usr", "x"]}),
    "action-not-an-object": journal(["unlink", "usr/x"]),
    "no-actions-key": {"version": 1, "root": f"debian/{PACKAGE}"},
    "actions-not-a-list": {"version": 1, "root": f"debian/{PACKAGE}", "actions": {"op": "mkdir"}},
    "version-true": journal({"op": "mkdir", "path": "usr/x"}, version=True),
    "extra-key": {**journal({"op": "mkdir", "path": "usr/x"}), "hook": "rm -rf /"},
    "a-list": [1, 2, 3],
    "malformed-json": '{"version": 1, "root": "debian/python3-demo", "actions": [',
    "deeply-nested-json": "[" * 100000 + "]" * 100000,
    "huge-integer": '{"version": ' + "9" * 5000 + ', "root": "x", "actions": []}',
    "not-utf-8": b'{"version": 1, "root": "debian/python3-demo\xff", "actions": []}',
    "empty-file": "",
    "newline-in-path": journal({"op": "mkdir", "path": "usr/x\ndh_pyshared: error: forged"}),
}


@pytest.mark.parametrize("name", sorted(HOSTILE_JOURNALS))
def test_a_journal_this_run_did_not_write_is_refused_before_any_replay(view, name):
    view.module()
    plant_journal(view, HOSTILE_JOURNALS[name])
    view.refused(expect=(f"debian/.debhelper/pyshared/{PACKAGE}.journal",))


def test_a_journal_refusal_says_what_to_do(view):
    view.module()
    plant_journal(view, HOSTILE_JOURNALS["dotdot-unlink"])
    line = view.refused()
    assert "a journal this run did not write" in line and "remove it" in line


def test_a_journal_for_another_package_tree_is_refused_under_tmpdir(view):
    view.module()
    plant_journal(view, journal({"op": "mkdir", "path": "usr/x"}))
    # -P names another tree than the journal's root: refused, not replayed there.
    tree = view.src.tree()
    other = view.debian / "other-tree"
    shutil.copytree(tree, other, symlinks=True)
    view.refused("-p", PACKAGE, "-P", "debian/other-tree", expect=("root 'debian/python3-demo'",))


def test_a_journal_whose_tree_is_a_link_out_is_refused(view):
    view.module()
    tree = view.src.tree()
    shutil.move(tree, view.outside / "tree")
    os.symlink(view.outside / "tree", tree)
    plant_journal(view, journal({"op": "unlink", "path": f"{SITE}/demo/__init__.py", "reason": "bytecode"}))
    view.refused(expect=("not a real directory",))


# --- 5. the plan reads every output before the first change -------------------------


def test_a_substvars_file_that_is_not_utf8_stops_the_run_before_any_change(view):
    view.module()
    (view.debian / f"{PACKAGE}.substvars").write_bytes(b"misc:Depends=caf\xe9\n")
    view.refused(expect=(f"debian/{PACKAGE}.substvars is not valid UTF-8", "line 1"))


def test_a_substvars_directory_stops_the_run_before_any_change(view):
    view.module()
    (view.debian / f"{PACKAGE}.substvars").mkdir()
    view.refused(expect=(f"debian/{PACKAGE}.substvars is a directory, not a regular file",))


@pytest.mark.parametrize("kind", ["fifo", "socket"])
def test_a_special_substvars_file_stops_the_run_before_any_change(view, kind):
    view.module()
    path = view.debian / f"{PACKAGE}.substvars"
    if kind == "fifo":
        os.mkfifo(path)
    else:
        import socket

        server = socket.socket(socket.AF_UNIX)
        server.bind(str(path))
    view.refused(expect=(f"debian/{PACKAGE}.substvars is a {'FIFO' if kind == 'fifo' else 'socket'}",))


def test_a_snippet_fifo_stops_the_run_without_hanging(view):
    view.module()
    os.mkfifo(view.debian / f"{PACKAGE}.postinst.debhelper")
    view.refused(expect=(f"debian/{PACKAGE}.postinst.debhelper is a FIFO",))


@pytest.fixture
def world_reachable_view():
    """pytest's tmp_path is mode 0700 under /tmp/pytest-of-root, out of reach for nobody."""
    directory = Path(tempfile.mkdtemp(prefix="dh-pyshared-hostile-"))
    os.chmod(directory, 0o755)
    yield View(directory)
    shutil.rmtree(directory)


NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


def test_a_substvars_file_the_build_user_cannot_read_stops_the_run_before_any_change(world_reachable_view):
    view = world_reachable_view
    view.module()
    substvars = view.debian / f"{PACKAGE}.substvars"
    substvars.write_text("misc:Depends=foo\n")
    for directory, dirnames, filenames in os.walk(view.src.root):
        for name in [".", *dirnames, *filenames]:
            os.lchown(os.path.join(directory, name), 65534, 65534)
    os.chown(substvars, 0, 0)
    os.chmod(substvars, 0o600)
    probe = subprocess.run([*NOBODY, "cat", str(substvars)], capture_output=True, check=False)
    assert probe.returncode != 0, "setup: nobody can read the root-only file"
    view.refused(
        runner=NOBODY,
        env={"HOME": "/nonexistent"},
        expect=(f"cannot read debian/{PACKAGE}.substvars: Permission denied",),
    )


def test_a_malformed_legacy_record_stops_the_run_before_any_change(view):
    python_support_tree(view.src)
    record = view.debian / ".debhelper/pyshared" / f"{PACKAGE}.legacy.json"
    record.parent.mkdir(parents=True)
    record.write_text('{"helpers": ["python-support"], "runtime_farm": [["a", "b"]]}')
    view.refused(expect=("a record this tool did not write",))


@pytest.mark.parametrize(
    "record",
    [
        "not json",
        '{"unknown": []}',
        '{"helpers": "python-support"}',
        '{"storage_sources": [["usr/share/pyshared", "../../../outside/victim"]]}',
        '{"directory_links": [["relative/path", "target"]]}',
        '{"runtime_farm": [["pyshared", "usr/share/pyshared", "/../../etc/passwd"]]}',
        "[" * 50000 + "]" * 50000,
    ],
    ids=["not-json", "unknown-key", "helpers-not-a-list", "dotdot", "relative-switch", "absolute", "deep"],
)
def test_a_legacy_record_this_tool_did_not_write_is_refused(view, record):
    python_support_tree(view.src)
    path = view.debian / ".debhelper/pyshared" / f"{PACKAGE}.legacy.json"
    path.parent.mkdir(parents=True)
    path.write_text(record)
    view.refused(expect=(f"{PACKAGE}.legacy.json is a record this tool did not write",))


# --- 6. encodings and depth -------------------------------------------------------


def test_a_changelog_that_is_not_utf8_is_one_line(view):
    python_support_tree(view.src)
    (view.debian / "changelog").write_bytes(
        b"demo (2.0-1) unstable; urgency=medium\n\n  * Caf\xe9.\n\n"
        b" -- Demo <demo@example.org>  Sat, 21 Nov 2026 10:00:00 +0000\n"
    )
    view.refused(expect=("debian/changelog is not valid UTF-8", "debian/changelog line 3"))


@pytest.mark.parametrize("script", ["postinst", "prerm"])
def test_a_snippet_that_is_not_utf8_is_one_line(view, script):
    view.module()
    (view.debian / f"{PACKAGE}.{script}.debhelper").write_bytes(b"# ok\n# caf\xe9\n")
    view.refused(expect=(f"debian/{PACKAGE}.{script}.debhelper is not valid UTF-8", "line 2"))


def test_a_legacy_record_that_is_not_utf8_is_one_line(view):
    python_support_tree(view.src)
    path = view.debian / ".debhelper/pyshared" / f"{PACKAGE}.legacy.json"
    path.parent.mkdir(parents=True)
    path.write_bytes(b'{"helpers": ["python-support\xff"]}')
    view.refused(expect=(f"{PACKAGE}.legacy.json is not valid UTF-8",))


def deep_directory(base, depth):
    """base/d/d/.../d (`depth` levels), made relative to the descriptor of the
    level above (os.makedirs recurses per level); returns the deepest."""
    base.mkdir(parents=True, exist_ok=True)
    fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(depth):
            os.mkdir("d", dir_fd=fd)
            below = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = below
    finally:
        os.close(fd)
    return base.joinpath(*["d"] * depth)


@pytest.fixture
def deep_view(tmp_path):
    view = View(tmp_path)
    yield view
    remove_tree(view.src.root)


def test_a_tree_1500_directories_deep_is_converted(deep_view):
    view = deep_view
    deepest = deep_directory(view.src.tree() / SITE / "demo", DEEP)
    (deepest / "leaf.py").write_text("LEAF = 1\n")
    view.src.write(f"{SITE}/demo/__init__.py", "")
    view.succeeds()
    moved = view.src.tree() / SHARED / "demo" / Path(*["d"] * DEEP) / "leaf.py"
    assert moved.read_text() == "LEAF = 1\n"
    assert not (view.src.tree() / SITE).exists()


def test_a_farm_1500_directories_deep_behind_a_directory_link_is_converted(deep_view):
    view = deep_view
    deepest = deep_directory(view.src.tree() / PYSHARED / "demo", DEEP)
    (deepest / "leaf.py").write_text("LEAF = 1\n")
    view.src.write(f"{PYSHARED}/demo/__init__.py", "")
    view.src.link("usr/lib/pymodules/python3.11/demo", "../../../share/pyshared/demo")
    view.succeeds()
    moved = view.src.tree() / SHARED / "demo" / Path(*["d"] * DEEP) / "leaf.py"
    assert moved.read_text() == "LEAF = 1\n"


def test_a_tree_1500_directories_deep_is_planned_with_no_act(deep_view):
    view = deep_view
    deepest = deep_directory(view.src.tree() / SITE / "demo", DEEP)
    (deepest / "leaf.py").write_text("LEAF = 1\n")
    before = view_snapshot(view.root)
    result = view.succeeds("--no-act", "--json")
    plan = json.loads(result.stdout)
    assert plan and view_snapshot(view.root) == before


# --- 8. options that make no sense ------------------------------------------------


@pytest.mark.parametrize(
    ("shared_dir", "relation"),
    [
        ("/usr/lib", "contains"),
        ("/usr", "contains"),
        ("/usr/lib/python3", "contains"),
        ("/usr/share", "contains"),
        ("/var/lib", "contains"),
        ("/usr/local", "contains"),
        ("/usr/lib/python3.11", "contains"),
        ("/usr/lib/python3.11/site-packages", "is"),
        ("/usr/share/pyshared", "is"),
        ("/usr/lib/python3.11/dist-packages/vendor", "lies inside"),
        ("/usr/share/pyshared/shared", "lies inside"),
        ("/usr/lib/python3/dist-packages/vendor", "lies inside"),
        ("/usr/share/pycentral/demo/site-packages/x", "lies inside"),
        ("/usr/share/python-support/demo", "is"),
        ("/usr/share/pyshared-data/demo", "lies inside"),
    ],
)
def test_a_shared_directory_overlapping_a_place_the_tool_reads_is_refused(view, shared_dir, relation):
    view.module()
    view.src.write(f"{DIST}/other.py", "OTHER = 1\n")
    view.refused(f"--shared-dir={shared_dir}", expect=(f"--shared-dir {shared_dir} {relation} the place",))


@pytest.mark.parametrize(
    "args",
    [
        ("--tag", f"cpython-311-{MULTIARCH}\n"),
        ("--tag", f"cpython-311-{MULTIARCH}\ndh_pyshared: error: forged"),
        ("--tag", "abi3\r"),
        ("-p", "python3-demo\nforged"),
        ("-N", "python3-demo\n"),
        ("--shared-dir", "/usr/share/demo\n", "--no-scripts"),
        ("-P", "debian/python3-demo\n"),
        ("--contents", "Contents\x1b[31m"),
    ],
    ids=[
        "tag-newline",
        "tag-forged-line",
        "tag-cr",
        "package",
        "no-package",
        "shared-dir",
        "tmpdir",
        "escape",
    ],
)
def test_an_option_with_a_control_character_is_one_line(view, args):
    view.module()
    line = view.refused(*args, expect=(args[0], "contains a control character"))
    assert "\x1b" not in line and "\r" not in line


@pytest.mark.parametrize("where", ["command-line", "DH_OPTIONS"])
def test_minus_o_nested_thousands_deep_is_applied_without_recursion(view, where):
    view.module()
    value = "-O=" * 3000 + "--shared-dir=/usr/share/demo-shared"
    if where == "command-line":
        view.succeeds(value)
    else:
        view.succeeds(env={"DH_OPTIONS": value})
    assert (view.src.tree() / "usr/share/demo-shared/demo/__init__.py").is_file()


def test_a_control_character_in_dh_options_is_one_line(view):
    view.module()
    view.refused(env={"DH_INTERNAL_OPTIONS": "-ppython3-demo\rforged"}, expect=("control character",))


def test_a_fifo_as_debian_control_is_refused_without_hanging(view):
    view.module()
    control = view.debian / "control"
    control.unlink()
    os.mkfifo(control)
    view.refused(expect=("debian/control is a FIFO, not a regular file",))


def test_a_link_to_a_device_as_debian_control_is_refused_without_reading(view):
    view.module()
    control = view.debian / "control"
    control.unlink()
    os.symlink("/dev/null", control)
    view.refused(expect=("debian/control is a symbolic link",))


def test_a_changelog_fifo_is_refused_without_hanging(view):
    python_support_tree(view.src)
    changelog = view.debian / "changelog"
    changelog.unlink()
    os.mkfifo(changelog)
    view.refused(expect=("debian/changelog is a FIFO",))


# --- a source package as an attacker ships it, built with dpkg-buildpackage ------


EVIL_CONTROL = """\
Source: evil
Section: python
Priority: optional
Maintainer: Mallory <mallory@example.org>
Build-Depends: debhelper-compat (= 13), dh-sequence-pyshared
Standards-Version: 4.6.2
Rules-Requires-Root: no

Package: python3-evil
Architecture: all
Depends: ${pyshared:Depends}, ${misc:Depends}
Description: crafted to make dh_pyshared write and read outside the tree
 Planted links and a planted journal.
"""
EVIL_CHANGELOG = """\
evil (1.0) unstable; urgency=medium

  * Plant links.

 -- Mallory <mallory@example.org>  Sat, 21 Nov 2026 10:00:00 +0000
"""
EVIL_RULES = """\
#!/usr/bin/make -f
%:
\tdh $@

override_dh_auto_install:
\tmkdir -p debian/python3-evil/usr/lib/python3.11/site-packages/evil
\techo 'VALUE = 1' > debian/python3-evil/usr/lib/python3.11/site-packages/evil/__init__.py
"""
# What upstream's install step plants next to the tree it installs into.
EVIL_INSTALL_PLANTING_A_SNIPPET = """\
\tln -s {secret} debian/python3-evil.postinst.debhelper
"""


def evil_source(directory, outside, install_extra=""):
    """The hostile source: .tmp links shipped in debian/ (dh_clean and dh_prep keep
    them), a journal that deletes `outside`/victim, and `install_extra` for the
    upstream install step."""
    source = directory / "evil-1.0"
    (source / "debian/source").mkdir(parents=True)
    (source / "debian/control").write_text(EVIL_CONTROL)
    (source / "debian/changelog").write_text(EVIL_CHANGELOG)
    (source / "debian/source/format").write_text("3.0 (native)\n")
    (source / "debian/copyright").write_text("Public domain.\n")
    (source / "debian/rules").write_text(EVIL_RULES + install_extra)
    (source / "debian/rules").chmod(0o755)
    for planted in (
        "python3-evil.substvars.tmp",
        "python3-evil.postinst.debhelper.tmp",
        "python3-evil.prerm.debhelper.tmp",
    ):
        os.symlink(outside / "victim", source / "debian" / planted)
    records = source / "debian/.debhelper/pyshared"
    records.mkdir(parents=True)
    os.symlink(outside / "victim", records / "python3-evil.journal.tmp")
    os.symlink(outside / "victim", records / "python3-evil.legacy.json.tmp")
    victim = os.path.relpath(outside / "victim", source / "debian/python3-evil")
    (records / "python3-evil.journal").write_text(
        json.dumps(
            {
                "version": 1,
                "root": "debian/python3-evil",
                "actions": [{"op": "unlink", "path": victim, "reason": "bytecode"}],
            }
        )
    )
    return source


def checkout_environment():
    """dpkg-buildpackage finding this checkout's dh_pyshared and its dh add-on."""
    environment = debbuild.clean_environment({"PYTHONDONTWRITEBYTECODE": "1"})
    environment["PATH"] = f"{CHECKOUT / 'bin'}:{environment['PATH']}"
    environment["PERL5LIB"] = str(CHECKOUT / "perl")
    return environment


def build(source, *options):
    return subprocess.run(
        ["dpkg-buildpackage", "-us", "-uc", "-b", "-d", *options],
        cwd=source,
        env=checkout_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="backslashreplace",
        timeout=debbuild.BUILD_TIMEOUT,
        check=False,
    )


def assert_no_outside_content(deb, tmp_path):
    unpacked = debbuild.unpack(deb, tmp_path / "unpacked")
    for path in unpacked.rglob("*"):
        if path.is_file() and not path.is_symlink():
            assert b"secret-hash" not in path.read_bytes(), path
            assert b"victim's own content" not in path.read_bytes(), path
    for member in ("control", "postinst", "prerm"):
        text = debbuild.control_file(deb, member)
        assert "secret-hash" not in text and "victim's own content" not in text, member


def test_an_attackers_source_package_builds_without_touching_the_outside(view, tmp_path):
    """With the usual clean, the journal goes with debian/.debhelper; the
    .tmp links stay and are never written through."""
    source = evil_source(tmp_path / "build", view.outside)
    completed = build(source)
    assert completed.returncode == 0, completed.stdout[-6000:]
    assert "Traceback" not in completed.stdout
    assert view_snapshot(view.outside) == view.sentinel
    (deb,) = (tmp_path / "build").glob("python3-evil_1.0_all.deb")
    assert debbuild.field(deb, "Depends").startswith("python3:any")
    assert "py3compile -p python3-evil" in debbuild.control_file(deb, "postinst")
    assert_no_outside_content(deb, tmp_path)
    for planted in ("python3-evil.substvars.tmp", "python3-evil.postinst.debhelper.tmp"):
        assert os.readlink(source / "debian" / planted) == str(view.outside / "victim")


def test_an_attackers_planted_journal_fails_the_build_cleanly(view, tmp_path):
    """Without clean (-nc, as a rebuild over an unpacked tree), the planted journal
    reaches dh_pyshared: refused in one line, nothing outside deleted."""
    source = evil_source(tmp_path / "build", view.outside)
    completed = build(source, "-nc")
    assert completed.returncode != 0
    assert "Traceback" not in completed.stdout
    errors = [line for line in completed.stdout.splitlines() if line.startswith("dh_pyshared: error: ")]
    assert len(errors) == 1 and "a journal this run did not write" in errors[0], completed.stdout[-6000:]
    assert view_snapshot(view.outside) == view.sentinel
    assert not list((tmp_path / "build").glob("*.deb"))


def test_an_attackers_upstream_install_planting_a_snippet_link_fails_the_build_cleanly(view, tmp_path):
    source = evil_source(
        tmp_path / "build",
        view.outside,
        EVIL_INSTALL_PLANTING_A_SNIPPET.format(secret=view.outside / "secret"),
    )
    completed = build(source)
    assert completed.returncode != 0
    assert "Traceback" not in completed.stdout
    errors = [line for line in completed.stdout.splitlines() if line.startswith("dh_pyshared: error: ")]
    assert len(errors) == 1, completed.stdout[-6000:]
    assert "debian/python3-evil.postinst.debhelper is a symbolic link" in errors[0]
    assert view_snapshot(view.outside) == view.sentinel
    assert not list((tmp_path / "build").glob("*.deb"))


@pytest.mark.parametrize("kind", ["link", "fifo", "directory", "not utf-8"])
def test_a_hostile_debhelper_log_is_refused_before_any_change(view, kind):
    """Inside an override target dh_pyshared appends itself to debian/PACKAGE.debhelper.log
    (for --remaining-packages): that file is read, and refused, while planning."""
    view.module()
    log = view.debian / f"{PACKAGE}.debhelper.log"
    if kind == "link":
        log.symlink_to(view.outside / "secret")
    elif kind == "fifo":
        os.mkfifo(log)
    elif kind == "directory":
        log.mkdir()
    else:
        log.write_bytes(b"dh_auto_install\n\xff\n")
    view.refused(env={"DH_INTERNAL_OVERRIDE": "dh_pyshared"}, expect=(f"{PACKAGE}.debhelper.log",))
