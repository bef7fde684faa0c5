"""Property: whatever shell-hostile characters a file name holds, the file
arrives at its destination with identical bytes and no command ever runs.

Names are drawn from shell metacharacters, blanks, leading '-', ASCII and
non-ASCII letters, plus a few ready-made injections that would create a
canary file if any shell ever saw them.  Each example builds a small
upstream-layout tree (pure modules, data files, a package directory, and a
real compiled extension whose *directory* has a hostile name).
"""

import os
import shutil
import tempfile
from pathlib import Path

from conftest import SUFFIX_311, SourcePackage, snapshot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SITE = "usr/lib/python3.11/site-packages"
SHARED = "usr/lib/python3/dist-packages"
CANARY = f"CANARY{os.getpid()}"
HOSTILE = "$()`\"'\\;|&*?[]{}~#!<> \t-"
LETTERS = "abcxyzABC019_éüßøçЖжπλ日本"
INJECTIONS = (
    f"$(touch {CANARY})",
    f"`touch {CANARY}`",
    f";touch {CANARY};",
    f"|touch {CANARY}",
    f"&& touch {CANARY} #",
    f"$(touch${{IFS}}{CANARY})",
    f"'$(touch {CANARY})'",
    f'"; touch {CANARY}; "',
    f"-o {CANARY}",
    f"--output={CANARY}",
)

plain = st.text(alphabet=HOSTILE + LETTERS, min_size=1, max_size=14)
name = st.one_of(
    plain,
    plain.map(lambda text: "-" + text),
    st.sampled_from(INJECTIONS),
    st.tuples(plain, st.sampled_from(INJECTIONS)).map("".join),
).filter(lambda text: text != "__pycache__")


@st.composite
def layouts(draw):
    """{source rel under site-packages: destination rel under the shared directory}, extension dir."""
    names = draw(st.lists(name, min_size=4, max_size=10, unique=True))
    package, extension_dir, *files = names
    layout = {}
    for index, text in enumerate(files):
        rel = f"{text}.py" if index % 2 == 0 else (f"{package}/{text}" if index % 3 else f"{text}.txt")
        layout[rel] = rel
    layout[f"{package}/__init__.py"] = f"{package}/__init__.py"
    layout[f"{extension_dir}/__init__.py"] = f"{extension_dir}/__init__.py"
    return layout, extension_dir


def canaries(*roots):
    found = []
    for root in roots:
        found += [str(path) for path in Path(root).rglob(CANARY)]
    return found


@settings(max_examples=30, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(layouts())
def test_hostile_names_arrive_intact_and_nothing_runs(example):
    layout, extension_dir = example
    base = Path(tempfile.mkdtemp(prefix="dh-pyshared-hostile-"))
    try:
        src = SourcePackage(base / "src")
        for index, rel in enumerate(layout):
            src.write(f"{SITE}/{rel}", f"# {index}: {rel!r}\n".encode())
        src.extension(f"{SITE}/{extension_dir}/_speed.so", value=extension_dir)
        expected = {f"{SITE}/{source}": f"{SHARED}/{dest}" for source, dest in layout.items()}
        expected[f"{SITE}/{extension_dir}/_speed.so"] = f"{SHARED}/{extension_dir}/_speed{SUFFIX_311}"
        before = snapshot(src.tree())
        assert {rel for rel, entry in before.items() if entry[0] == "file"} == set(expected)

        result = src.run("-v", check=False)

        assert result.returncode == 0, result.stderr
        assert result.stderr == ""
        after = snapshot(src.tree())
        for source, dest in expected.items():
            assert after.get(dest) == before[source], f"{source!r} did not arrive at {dest!r}"
        assert {rel for rel, entry in after.items() if entry[0] != "dir"} == set(expected.values())
        assert "usr/lib/python3.11" not in after
        assert not canaries(base, Path.cwd()), "a file name was run as a command"
        assert not (Path("/tmp") / CANARY).exists()
        assert not (Path.home() / CANARY).exists()
    finally:
        shutil.rmtree(base)
