"""Crash safety: a run killed at any point, then run again, ends in the same
tree as an uninterrupted run, and no file's content is ever lost on the way.
Every kill is aimed at a step of the journal (tests/helpers/killpoint.py wraps
the real tool), never at a time, and is checked to have landed there.

Also --no-act (changes nothing, prints the plan that a real run then carries
out) and --json (parses, and matches docs/plan-schema.md, whose tables this
file reads so that the document and the output cannot drift apart).
"""

import json
import os
import random
import re
import shutil
import signal

import pytest
from conftest import CHECKOUT, HOST, SourcePackage, snapshot
from helpers import killpoint
from helpers.layout_cases import CASES, REMOVED_ON_PURPOSE

FIELDS = "X-Python3-Version: >= 3.10\n"
RESUME_LAYOUTS = (
    "upstream-site",
    "draft-farm",
    "dh-python2",
    "directory-farm",
    "shared-both-majors",
    "differing-pure",
    "libpython-fix",
    "package-links",
)
SCHEMA_DOC = CHECKOUT / "docs" / "plan-schema.md"


def clone(pristine, name):
    """A copy of a source package (tree, links and modes as they are)."""
    destination = pristine.root.parent / name
    shutil.copytree(pristine.root, destination, symlinks=True)
    return SourcePackage(destination, source_fields=FIELDS)


def input_contents(before):
    """Content hash -> one input path, for every file the tool must keep somewhere."""
    kept = {}
    for rel, entry in before.items():
        if entry[0] == "file" and not rel.endswith(REMOVED_ON_PURPOSE):
            kept.setdefault(entry[1], rel)
    return kept


def assert_nothing_lost(before, tree, when):
    present = {entry[1] for entry in snapshot(tree).values() if entry[0] == "file"}
    lost = sorted(rel for digest, rel in input_contents(before).items() if digest not in present)
    assert not lost, f"{when}: content of {lost} is nowhere in the tree"


def journal(src):
    return src.root / "debian" / ".debhelper" / "pyshared" / f"{src.package}.journal"


def killed_run(src, where, *args):
    return killpoint.killed_run(src.root, where, args, HOST)


def kill_at(src, where, *args, steps):
    """Kill a run at `where`, and check that it died there: by SIGKILL, at that phase and step
    of a journal of `steps` steps (the planned count), with the journal left exactly when one
    was written."""
    result, landed = killed_run(src, where, *args)
    phase, step = killpoint.parse(where)
    died = f"{where}: exit {result.returncode}, {last_line(result.stderr)}"
    assert result.returncode == -signal.SIGKILL, died
    assert landed == (phase, step, steps), f"aimed at {where} of {steps} steps, landed at {landed}"
    assert journal(src).exists() == (phase != "journal"), f"killed at {where}"
    assert src.substvars() is None, f"killed at {where}: substvars written before the journal was done"


def shows(tree, action):
    """Whether the tree shows `action` done; None when the tree cannot tell."""
    path = os.path.join(tree, action["path"])
    if action["op"] == "mkdir":
        return os.path.isdir(path) and not os.path.islink(path)
    if action["op"] in ("copy", "move"):
        moved = action["op"] == "copy" or not os.path.lexists(os.path.join(tree, action["source"]))
        return os.path.isfile(path) and not os.path.islink(path) and moved
    if action["op"] == "symlink":
        return os.path.islink(path) and os.readlink(path) == action["target"]
    if action["op"] in ("unlink", "rmdir") and action.get("reason") != "directory-farm-link":
        return not os.path.lexists(path)
    return None


def assert_stopped_between_steps(crashed, pristine_tree, step):
    """The tree shows the journal's step `step` - 1 done and, where it tells, step `step` not."""
    document = json.loads(journal(crashed).read_text())
    actions, tree = document["actions"], crashed.root / document["root"]
    if step > 0:
        assert shows(tree, actions[step - 1]) is not False, f"step {step - 1} not done: {actions[step - 1]}"
    untouched = step < len(actions) and all(a["path"] != actions[step]["path"] for a in actions[:step])
    if untouched and shows(pristine_tree, actions[step]) is False:
        assert shows(tree, actions[step]) is False, f"step {step} already done: {actions[step]}"


def planned_actions(src, *args):
    document = json.loads(src.run("--json", "--no-act", *args).stdout)
    (package,) = document["packages"]
    return package["actions"]


@pytest.fixture
def pristine(make_source):
    def build(name):
        builder, args = CASES[name]
        src = make_source("pristine", source_fields=FIELDS)
        builder(src)
        return src, args

    return build


def reference_result(pristine_src, args):
    reference = clone(pristine_src, "reference")
    reference.run(*args)
    assert not journal(reference).exists()
    return snapshot(reference.tree()), reference.substvars()


@pytest.mark.parametrize("name", RESUME_LAYOUTS)
def test_killed_at_every_step_then_rerun(pristine, name):
    """Killed before the journal is written, before each of its steps, and after its last step
    (before its removal): nothing lost, and a rerun ends in the uninterrupted run's tree."""
    src, args = pristine(name)
    before = snapshot(src.tree())
    final, substvars = reference_result(src, args)
    count = len(planned_actions(src, *args))
    assert count > 0
    assert snapshot(src.tree()) == before, "--json --no-act changed the tree"
    failures = []
    for where in ["journal", *(f"apply:{n}" for n in range(count + 1))]:
        crashed = clone(src, f"crash-{where.replace(':', '-')}")
        kill_at(crashed, where, *args, steps=count)
        if where == "journal":
            assert snapshot(crashed.tree()) == before, "killed before the journal was written: tree changed"
        else:
            assert_stopped_between_steps(crashed, src.tree(), killpoint.parse(where)[1])
        assert_nothing_lost(before, crashed.tree(), f"killed at {where} of {count}")
        failure = rerun_and_compare(crashed, args, final, substvars)
        if failure:
            failures.append(f"killed at {where} of {count}: {failure}")
        shutil.rmtree(crashed.root)
    assert not failures, "\n".join(failures)


def rerun_and_compare(crashed, args, final, substvars):
    """Run again without a fault; a description of what went wrong, or None."""
    result = crashed.run(*args, check=False)
    if result.returncode != 0:
        return f"the rerun failed ({result.returncode}): {last_line(result.stderr)}"
    if journal(crashed).exists():
        return "the rerun left its journal"
    tree = snapshot(crashed.tree())
    if tree != final:
        differing = sorted(rel for rel in set(tree) | set(final) if tree.get(rel) != final.get(rel))
        return f"final tree differs at {differing}"
    if crashed.substvars() != substvars:
        return f"substvars {crashed.substvars()!r} != {substvars!r}"
    return None


@pytest.mark.parametrize("name", ["upstream-site", "draft-farm", "dh-python2"])
def test_killed_again_while_resuming(pristine, name):
    """A second SIGKILL, halfway through the replay of the journal, is survived too."""
    src, args = pristine(name)
    before = snapshot(src.tree())
    final, substvars = reference_result(src, args)
    count = len(planned_actions(src, *args))
    failures = []
    for n in range(1, count):
        m = n // 2
        crashed = clone(src, f"crash-{n}-{m}")
        kill_at(crashed, f"apply:{n}", *args, steps=count)
        kill_at(crashed, f"resume:{m}", *args, steps=count)
        assert_nothing_lost(before, crashed.tree(), f"killed before action {n}, then {m} of the replay")
        failure = rerun_and_compare(crashed, args, final, substvars)
        if failure:
            failures.append(f"killed before action {n}, then before {m} of the replay: {failure}")
        shutil.rmtree(crashed.root)
    assert not failures, "\n".join(failures)


def last_line(text):
    lines = text.strip().splitlines()
    return lines[-1] if lines else "(no output)"


def large_tree(src):
    """About 2000 entries: an upstream install, a file farm, a directory farm, extensions, bytecode."""
    site = "usr/lib/python3.11/site-packages"
    for package in range(30):
        for module in range(30):
            src.write(f"{site}/big{package}/mod{module}.py", f"P = {package}\nM = {module}\n")
        src.write(f"{site}/big{package}/__init__.py", f"P = {package}\n")
        src.write(f"{site}/big{package}/__pycache__/mod0.cpython-311.pyc", f"bytecode {package}".encode())
    for package in range(10):
        src.write(f"{site}/ext{package}/__init__.py", "")
        src.extension(f"{site}/ext{package}/_speed.so", value=f"ext {package}")
    for package in range(20):
        for module in range(20):
            rel = f"farm{package}/m{module}.py"
            src.write(f"usr/share/pyshared/{rel}", f"F = {package}, {module}\n")
            src.link(f"usr/lib/python3.11/dist-packages/{rel}", f"/usr/share/pyshared/{rel}")
    for module in range(300):
        src.write(f"usr/share/pyshared/dirfarm/sub{module % 10}/d{module}.py", f"D = {module}\n")
    src.link("usr/lib/python3/dist-packages/dirfarm", "../../../share/pyshared/dirfarm")


def test_sigkill_at_chosen_journal_steps_on_a_large_tree(make_source):
    """Kills aimed at journal steps, never at a time, so that each lands where it is aimed
    whatever the machine's load: before the journal is written; before its first step, its last
    step and seeded steps in between; then, in the replay by the next runs, before its first
    step, its last step and seeded steps, and after its last step (after the last step of a
    first run: test_killed_at_every_step_then_rerun).  Each kill is checked to have landed at
    its step, nothing is ever lost, and a rerun ends in the uninterrupted run's tree."""
    src = make_source("pristine", source_fields=FIELDS)
    large_tree(src)
    before = snapshot(src.tree())
    assert sum(entry[0] != "dir" for entry in before.values()) > 2000
    count = len(planned_actions(src))
    assert count > 1500
    reference = clone(src, "reference")
    reference.run()
    final, substvars = snapshot(reference.tree()), reference.substvars()

    rng = random.Random(20261204)
    early, late = sorted(rng.sample(range(1, count - 1), 2))

    def replay():
        return f"resume:{rng.randrange(1, count - 1)}"

    chains = [
        ["journal", "apply:0", "resume:0", replay(), f"resume:{count}"],
        [f"apply:{count - 1}", replay(), f"resume:{count - 1}"],
        [f"apply:{early}", replay(), replay()],
        [f"apply:{late}", replay(), replay()],
    ]
    for number, chain in enumerate(chains):
        crashed = clone(src, f"crash-{number}")
        for where in chain:
            kill_at(crashed, where, steps=count)
            if where.startswith("apply:"):
                assert_stopped_between_steps(crashed, src.tree(), killpoint.parse(where)[1])
            assert_nothing_lost(before, crashed.tree(), f"chain {chain}, killed at {where}")
        failure = rerun_and_compare(crashed, (), final, substvars)
        assert failure is None, f"chain {chain}: {failure}"
        shutil.rmtree(crashed.root)


# --- --no-act -----------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CASES))
def test_no_act_changes_nothing_and_prints_the_plan_then_carried_out(pristine, name):
    src, args = pristine(name)
    before = snapshot(src.root)
    planned = src.run("--no-act", *args)
    by_environment = src.run(*args, env={"DH_NO_ACT": "1"})
    assert snapshot(src.root) == before, "--no-act changed the source directory"
    assert src.substvars() is None
    assert not journal(src).parent.exists()
    assert by_environment.stdout == planned.stdout

    actions = planned_actions(src, *args)
    lines = planned.stdout.splitlines()
    assert lines[0] == f"{src.package} (debian/{src.package}):"
    action_lines = [
        line
        for line in lines[1:]
        if not line.startswith(("\tsubstvar ", "\tcheck ", "\t\t")) and not line.endswith(" snippet:")
    ]
    assert len(action_lines) == len(actions)
    for line, action in zip(action_lines, actions, strict=True):
        assert line.startswith("\t") and action["path"] in line, (line, action)

    done = src.run("-v", *args)
    assert done.stdout.splitlines() == action_lines, "the real run did not do what --no-act printed"
    substvar_lines = [line for line in lines[1:] if line.startswith("\tsubstvar ")]
    assert substvar_lines == [f"\tsubstvar {line}" for line in (src.substvars() or "").splitlines()]
    printed = {}
    for line in lines[1:]:
        if line.endswith(" snippet:"):
            script = line.strip().split()[0]
            printed[script] = ""
        elif line.startswith("\t\t"):
            printed[script] += line[2:] + "\n"
    assert printed, "no snippet printed"
    for script, body in printed.items():
        written = (src.root / "debian" / f"{src.package}.{script}.debhelper").read_text()
        assert written.split("\n", 1)[1].rsplit("# End automatically added section\n", 1)[0] == body


# --- --json and docs/plan-schema.md -------------------------------------------


def read_schema():
    """{object name: {key: (type, required, values)}} and {op: (required, optional)} from the doc."""
    objects, ops, section = {}, {}, None
    for line in SCHEMA_DOC.read_text().splitlines():
        if line.startswith("#"):
            heading = re.fullmatch(r"## object `(\w+)`", line)
            section = heading.group(1) if heading else ("fields by op" if line == "## Fields by op" else None)
            continue
        cells = [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        if not line.startswith("|") or set(cells[0]) <= set("-: ") or cells[0] in ("key", "op"):
            continue
        if section == "fields by op":
            ops[cells[0].strip("`")] = (_names(cells[1]), _names(cells[2]))
        elif section:
            values = cells[3]
            if values.startswith("pattern "):
                values = re.compile(values.removeprefix("pattern ").strip("`"))
            else:
                values = _names(values) or None
            objects.setdefault(section, {})[cells[0].strip("`")] = (cells[1], cells[2] == "yes", values)
    return objects, ops


def _names(cell):
    return tuple(re.findall(r"`([^`]+)`", cell))


def check(value, type_text, objects, where):
    if type_text == "integer":
        assert isinstance(value, int) and not isinstance(value, bool), where
    elif type_text == "string":
        assert isinstance(value, str), where
    elif type_text.startswith("array of "):
        assert isinstance(value, list), where
        for index, item in enumerate(value):
            check(item, type_text.removeprefix("array of "), objects, f"{where}[{index}]")
    elif type_text.startswith("object of "):
        assert isinstance(value, dict), where
        for key, item in value.items():
            check(item, type_text.removeprefix("object of "), objects, f"{where}.{key}")
    else:
        fields = objects[type_text]
        assert isinstance(value, dict), where
        assert set(value) <= set(fields), f"{where}: keys {set(value) - set(fields)} not in the schema"
        for key, (field_type, required, values) in fields.items():
            if key not in value:
                assert not required, f"{where}: required key {key} missing"
                continue
            check(value[key], field_type, objects, f"{where}.{key}")
            if isinstance(values, re.Pattern):
                assert values.fullmatch(str(value[key])), f"{where}.{key}: {value[key]!r}"
            elif values:
                assert value[key] in values or str(value[key]) in values, f"{where}.{key}: {value[key]!r}"


def test_schema_document_is_readable():
    objects, ops = read_schema()
    assert {"document", "package", "action", "extension"} <= set(objects)
    assert set(ops) == set(objects["action"]["op"][2])


@pytest.mark.parametrize("name", sorted(CASES))
def test_json_matches_the_schema_document(pristine, name):
    src, args = pristine(name)
    before = snapshot(src.root)
    result = src.run("--json", "--no-act", *args)
    assert snapshot(src.root) == before
    document = json.loads(result.stdout)
    objects, ops = read_schema()
    check(document, "document", objects, "$")
    (package,) = document["packages"]
    assert package["package"] == src.package
    assert package["tree"] == f"debian/{src.package}"
    for index, action in enumerate(package["actions"]):
        required, optional = ops[action["op"]]
        assert set(required) <= set(action) <= set(required) | set(optional), (index, action)
    src.run(*args)
    assert package["substvars"] == dict(line.split("=", 1) for line in (src.substvars() or "").splitlines())
    tree = snapshot(src.tree())
    for extension in package["extensions"]:
        assert tree[extension["path"]][0] == "file", extension


def test_json_shows_every_operation_across_the_layouts(make_source):
    """The layouts together use every op the document lists, so each row is exercised."""
    seen = set()
    for name in sorted(CASES):
        builder, args = CASES[name]
        src = make_source(name, source_fields=FIELDS)
        builder(src)
        seen |= {action["op"] for action in planned_actions(src, *args)}
    _, ops = read_schema()
    assert seen == set(ops)
