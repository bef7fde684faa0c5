"""The maintainer-script templates: every value through |shquote, shell that
sh -n and shellcheck accept, snippets that act only on what they name, and
debhelper's markers, order and idempotency in debian/<pkg>.<script>.debhelper."""

import os
import shlex
import subprocess
from pathlib import Path

import jinja2
import pytest
from helpers.importtime import plain_run_imports
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jinja2 import nodes

from pyshared_tools.debhelper import autoscripts
from pyshared_tools.errors import TreeError
from pyshared_tools.outputs import render
from pyshared_tools.outputs.scripts import SNIPPETS, farm_locations, render_snippets

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
TEMPLATE_NAMES = sorted(p.name for p in TEMPLATES.iterdir() if p.name != "README.md")
ARGUMENTS = {
    "preinst": (
        ("install",),
        ("install", "1.0-1"),
        ("upgrade", "1.0-1", "2.0-1"),
        ("abort-upgrade", "2.0-1"),
    ),
    "postinst": (
        ("configure", ""),
        ("configure", "1.0-1"),
        ("abort-upgrade", "2.0-1"),
        ("abort-remove",),
        ("abort-deconfigure", "in-favour", "other", "1.0"),
    ),
    "prerm": (
        ("remove",),
        ("upgrade", "2.0-1"),
        ("deconfigure", "in-favour", "other", "1.0"),
        ("failed-upgrade", "1.0-1", "2.0-1"),
    ),
    "postrm": (
        ("remove",),
        ("purge",),
        ("upgrade", "2.0-1"),
        ("failed-upgrade", "1.0-1", "2.0-1"),
        ("abort-install",),
        ("abort-install", "1.0-1", "2.0-1"),
        ("abort-upgrade", "1.0-1", "2.0-1"),
        ("disappear", "other", "1.0"),
    ),
}


def sample_data(
    names=("demo/__init__.py", "demo/core.py"), helpers=("python-support", "python-central"), qualifier=""
):
    return {
        "package": "python3-demo",
        "package_instance": "python3-demo" + qualifier,
        "multi_arch_same": bool(qualifier),
        "compile_blocks": [
            {
                "major": 3,
                "helper": "py3compile",
                "cleaner": "py3clean",
                "directories": ["/usr/lib/python3/dist-packages"],
                "private_directories": [],
            },
            {
                "major": 2,
                "helper": "pycompile",
                "cleaner": "pyclean",
                "directories": [],
                "private_directories": [],
            },
        ],
        "switches": [
            {
                "path": "/usr/lib/python3/dist-packages/demo",
                "old_target": "../../../share/pyshared/demo",
                "prior_version": "2.0-1~",
            }
        ],
        "farm": {
            "before": "2.0-1",
            "locations": farm_locations([("pyshared", "usr/share/pyshared", n) for n in names], set(helpers)),
            "stale_sources": ["/usr/share/pyshared/" + n for n in names],
            "stale_directories": ["/usr/share/pyshared/demo", "/usr/share/pyshared"],
        },
    }


def script_text(body):
    return "#!/bin/sh\nset -e\n" + body


# --- every value through |shquote -------------------------------------------


def unquoted_outputs(template_name):
    environment = render.environment()
    source = environment.loader.get_source(environment, template_name)[0]
    tree = environment.parse(source)
    bad = []
    for output in tree.find_all(nodes.Output):
        for child in output.nodes:
            if isinstance(child, nodes.TemplateData):
                continue
            if not (isinstance(child, nodes.Filter) and child.name == "shquote"):
                bad.append(child)
    return bad


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_every_interpolation_goes_through_shquote(name):
    assert unquoted_outputs(name) == []


def test_the_static_check_catches_a_missing_filter(tmp_path, monkeypatch):
    (tmp_path / "bad").write_text("rm -f {{ path }}\nrm -f {{ path|shquote|lower }}\n")
    monkeypatch.setattr(render, "_ENVIRONMENT", None)
    monkeypatch.setattr(render, "TEMPLATE_DIRECTORIES", (str(tmp_path),))
    assert len(unquoted_outputs("bad")) == 2
    with pytest.raises(TypeError, match="without \\|shquote"):
        render.render("bad", path="x")


def test_undefined_values_are_errors():
    with pytest.raises(jinja2.UndefinedError):
        render.render("prerm-pyshared", package="python3-demo")


@pytest.mark.parametrize("value", ["a\nb", "a\rb", "tab\there", "nul\0"])
def test_control_characters_are_refused(value):
    with pytest.raises(TreeError, match="control character"):
        render.shquote(value)


def test_templates_reach_every_script():
    used = {name for names in SNIPPETS.values() for name in names}
    assert used | {"_farm-links"} == set(TEMPLATE_NAMES)


# --- shell syntax -----------------------------------------------------------


def shellcheck(path, *extra):
    result = subprocess.run(["shellcheck", "--shell=sh", *extra, str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("qualifier", ["", ":amd64"])
@pytest.mark.parametrize("shell", ["sh", "dash", "bash"])
def test_rendered_snippets_parse_and_pass_shellcheck(tmp_path, shell, qualifier):
    bodies = render_snippets(sample_data(qualifier=qualifier))
    assert set(bodies) == {"preinst", "postinst", "prerm", "postrm"}
    for script, body in bodies.items():
        path = tmp_path / script
        path.write_text(script_text(body))
        subprocess.run([shell, "-n", str(path)], check=True)
        shellcheck(path)


def test_a_multi_arch_same_package_is_named_with_its_architecture_everywhere():
    """With two architectures installed, `dpkg-query -L python3-demo` and
    `py3compile -p python3-demo` fail ("cannot get content of"); every command
    naming the package names python3-demo:amd64, and nothing else changes."""
    bodies = render_snippets(sample_data(qualifier=":amd64"))
    text = "".join(bodies.values())
    words = [word for line in text.splitlines() for word in line.split()]
    assert "python3-demo" not in words
    commands = {line.split()[0] for line in text.splitlines() if "python3-demo:amd64" in line}
    assert commands == {
        "dpkg-maintscript-helper",
        "py3compile",
        "pycompile",
        "dpkg-query",
        "py3clean",
        "pyclean",
    }
    plain = "".join(render_snippets(sample_data()).values())
    assert plain.replace("python3-demo", "python3-demo:amd64") == text


def test_snippets_have_no_trailing_blanks_and_end_in_one_newline():
    for body in render_snippets(sample_data()).values():
        assert body.endswith("\n") and not body.endswith("\n\n")
        assert not any(line != line.rstrip() for line in body.splitlines())
        assert "\n\n" not in body


def test_no_farm_and_no_switch_leaves_only_byte_compilation():
    data = sample_data()
    data["farm"]["locations"] = []
    data["switches"] = []
    data["farm"]["stale_sources"] = []
    assert set(render_snippets(data)) == {"postinst", "prerm"}
    data["compile_blocks"] = []
    assert render_snippets(data) == {}


# --- running the snippets in a sandbox root (DPKG_ROOT) ---------------------


def farm_root(root, names, versions=("python2.7",)):
    """The state python-support left: absolute links and .pyc next to them."""
    for version in versions:
        for name in names:
            link = root / "usr/lib/pymodules" / version / name
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to("/usr/share/pyshared/" + name)
            Path(str(link) + "c").write_bytes(b"bytecode")


def tree_state(root):
    state = {}
    for path in sorted(root.rglob("*")):
        relative = str(path.relative_to(root))
        if path.is_symlink():
            state[relative] = ("link", os.readlink(path))
        elif path.is_dir():
            state[relative] = ("dir",)
        else:
            state[relative] = ("file", path.read_bytes())
    return state


def run_snippet(tmp_path, root, script, body, *arguments):
    path = tmp_path / f"{script}.sh"
    path.write_text(script_text(body))
    environment = dict(os.environ, DPKG_ROOT=str(root))
    return subprocess.run(
        ["sh", str(path), *arguments],
        capture_output=True,
        text=True,
        env=environment,
        cwd=tmp_path,
        timeout=60,
    )


def upgrade(tmp_path, root, bodies):
    steps = (("preinst", ("upgrade", "1.0-1", "2.0-1")), ("postinst", ("configure", "1.0-1")))
    for script, arguments in steps:
        result = run_snippet(tmp_path, root, script, bodies[script], *arguments)
        assert result.returncode == 0, result.stderr


def only_python_support(names):
    data = sample_data(names, helpers=("python-support",))
    data["switches"] = []
    return render_snippets(data)


def test_upgrade_removes_the_old_helpers_links_bytecode_and_directories(tmp_path):
    root = tmp_path / "root"
    names = ["demo/__init__.py", "demo/sub/core.py", "top.py"]
    farm_root(root, names, versions=("python2.6", "python2.7"))
    (root / "usr/lib/pymodules/python2.7/admin.py").write_text("an administrator's file\n")
    upgrade(tmp_path, root, only_python_support(names))
    assert tree_state(root / "usr/lib/pymodules") == {
        "python2.7": ("dir",),
        "python2.7/admin.py": ("file", b"an administrator's file\n"),
    }


def test_the_last_links_gone_python_supports_directories_go_too(tmp_path):
    root = tmp_path / "root"
    (root / "usr/lib").mkdir(parents=True)
    names = ["demo/__init__.py", "top.py"]
    farm_root(root, names, versions=("python2.6", "python2.7"))
    upgrade(tmp_path, root, only_python_support(names))
    assert tree_state(root) == {"usr": ("dir",), "usr/lib": ("dir",)}


def test_links_an_administrator_changed_are_left_alone(tmp_path):
    root = tmp_path / "root"
    farm_root(root, ["demo/__init__.py", "top.py"])
    redirected = root / "usr/lib/pymodules/python2.7/top.py"
    redirected.unlink()
    redirected.symlink_to("/srv/local/top.py")
    before = tree_state(root)
    upgrade(tmp_path, root, only_python_support(["demo/__init__.py", "top.py"]))
    after = tree_state(root)
    assert after["usr/lib/pymodules/python2.7/top.py"] == ("link", "/srv/local/top.py")
    assert after["usr/lib/pymodules/python2.7/top.pyc"] == before["usr/lib/pymodules/python2.7/top.pyc"]
    assert "usr/lib/pymodules/python2.7/demo" not in after


def test_aborted_upgrade_puts_the_links_back(tmp_path):
    root = tmp_path / "root"
    names = ["demo/__init__.py", "top.py"]
    farm_root(root, names)
    before = tree_state(root)
    bodies = only_python_support(names)
    result = run_snippet(tmp_path, root, "preinst", bodies["preinst"], "upgrade", "1.0-1", "2.0-1")
    assert result.returncode == 0, result.stderr
    assert tree_state(root) != before
    result = run_snippet(tmp_path, root, "postrm", bodies["postrm"], "abort-upgrade", "1.0-1", "2.0-1")
    assert result.returncode == 0, result.stderr
    assert tree_state(root) == before


def test_configure_after_the_upgrade_removes_bytecode_left_next_to_the_old_storage(tmp_path):
    root = tmp_path / "root"
    cache = root / "usr/share/pyshared/demo/__pycache__"
    cache.mkdir(parents=True)
    (cache / "core.cpython-311.pyc").write_bytes(b"stale")
    (cache / "__init__.cpython-311.opt-1.pyc").write_bytes(b"stale")
    kept = root / "usr/share/pyshared/other.py"
    kept.write_text("another package's\n")
    (root / "usr/share/pyshared/__pycache__").mkdir()
    (root / "usr/share/pyshared/__pycache__/other.cpython-311.pyc").write_bytes(b"theirs")
    bodies = only_python_support(["demo/__init__.py", "demo/core.py", "other.py"])
    result = run_snippet(tmp_path, root, "postinst", bodies["postinst"], "configure", "1.0-1")
    assert result.returncode == 0, result.stderr
    assert tree_state(root / "usr/share") == {
        "pyshared": ("dir",),
        "pyshared/__pycache__": ("dir",),
        "pyshared/__pycache__/other.cpython-311.pyc": ("file", b"theirs"),
        "pyshared/other.py": ("file", b"another package's\n"),
    }


def test_upgrade_from_a_version_after_the_farm_touches_nothing(tmp_path):
    root = tmp_path / "root"
    farm_root(root, ["top.py"])
    before = tree_state(root)
    bodies = only_python_support(["top.py"])
    steps = (("preinst", ("upgrade", "2.0-1", "2.0-2")), ("postinst", ("configure", "2.0-1")))
    for script, arguments in steps:
        assert run_snippet(tmp_path, root, script, bodies[script], *arguments).returncode == 0
    assert tree_state(root) == before


@pytest.mark.parametrize("script", sorted(ARGUMENTS))
def test_every_policy_argument_twice_succeeds_and_the_second_run_changes_nothing(tmp_path, script):
    names = ["demo/__init__.py", "top.py"]
    bodies = only_python_support(names)
    for arguments in ARGUMENTS[script]:
        root = tmp_path / ("root-" + "-".join(arguments))
        farm_root(root, names)
        first = run_snippet(tmp_path, root, script, bodies[script], *arguments)
        assert first.returncode == 0, (arguments, first.stderr)
        after_first = tree_state(root)
        second = run_snippet(tmp_path, root, script, bodies[script], *arguments)
        assert second.returncode == 0, (arguments, second.stderr)
        assert tree_state(root) == after_first, arguments


# A name must be one dpkg accepts: no NUL, no newline (dpkg-deb refuses them),
# no "/" inside a component, not "." or "..".
NAME_CHARACTERS = st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="/")
HOSTILE = st.sampled_from(
    [
        "$(touch PWNED)",
        "`touch PWNED`",
        "'",
        '"',
        ";touch PWNED;",
        " ",
        "*",
        "?",
        "[a]",
        "\\",
        "-rf",
        "é",
        "日本",
        "$HOME",
        "${IFS}",
        "&",
        "|",
        ">PWNED",
        "~",
        "#",
        "!",
    ]
)
COMPONENT = (
    st.lists(st.one_of(HOSTILE, st.text(NAME_CHARACTERS, min_size=1, max_size=4)), min_size=1, max_size=4)
    .map("".join)
    .filter(lambda c: c not in (".", ".."))
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    names=st.lists(
        st.lists(COMPONENT, min_size=1, max_size=3).map("/".join), min_size=1, max_size=4, unique=True
    ).filter(lambda names: not any(a != b and (b.startswith(a + "/")) for a in names for b in names))
)
def test_hostile_names_change_only_the_planned_paths_and_run_nothing(tmp_path_factory, names):
    tmp_path = tmp_path_factory.mktemp("hostile")
    root = tmp_path / "root"
    farm_root(root, names)
    bystander = root / "usr/lib/pymodules/python2.7/bystander.py"
    bystander.write_text("not ours\n")
    bodies = only_python_support(names)
    for body in bodies.values():
        path = tmp_path / "check.sh"
        path.write_text(script_text(body))
        subprocess.run(["sh", "-n", str(path)], check=True)
        # Info-level notes (SC2016 "$( in single quotes", SC1003 "\\ in single
        # quotes") flag exactly the literal text that quoting is for.
        shellcheck(path, "--severity=warning")
    upgrade(tmp_path, root, bodies)
    assert tree_state(root / "usr/lib/pymodules") == {
        "python2.7": ("dir",),
        "python2.7/bystander.py": ("file", b"not ours\n"),
    }
    assert not list(tmp_path.rglob("PWNED")) and not Path("PWNED").exists()
    assert not (Path.home() / "PWNED").exists()


# --- debian/<package>.<script>.debhelper --------------------------------------


def test_blocks_are_wrapped_appended_and_prepended_like_debhelper():
    version = autoscripts.__version__
    other = "# Automatically added by dh_other/1\nother\n# End automatically added section\n"
    assert autoscripts.merged(other, "postinst", "ours\n") == (
        other + f"# Automatically added by dh_pyshared/{version}\nours\n# End automatically added section\n"
    )
    assert autoscripts.merged(other, "prerm", "ours\n") == (
        f"# Automatically added by dh_pyshared/{version}\nours\n# End automatically added section\n" + other
    )


def test_rerun_replaces_the_block_in_place_and_removes_it_when_no_longer_needed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "debian").mkdir()
    first = "# Automatically added by dh_first/1\nfirst\n# End automatically added section\n"
    Path("debian/python3-demo.postinst.debhelper").write_text(first)
    autoscripts.write(autoscripts.planned_writes("python3-demo", {"postinst": "ours v1\n", "prerm": "p\n"}))
    later = "# Automatically added by dh_later/1\nlater\n# End automatically added section\n"
    with open("debian/python3-demo.postinst.debhelper", "a") as handle:
        handle.write(later)
    autoscripts.write(autoscripts.planned_writes("python3-demo", {"postinst": "ours v2\n", "prerm": "p\n"}))
    text = Path("debian/python3-demo.postinst.debhelper").read_text()
    assert text.count("dh_pyshared") == 1
    assert text.index("first") < text.index("ours v2") < text.index("later")
    snapshot = {p.name: p.read_bytes() for p in Path("debian").iterdir()}
    assert autoscripts.planned_writes("python3-demo", {"postinst": "ours v2\n", "prerm": "p\n"}) == {}
    autoscripts.write(autoscripts.planned_writes("python3-demo", {}))
    assert Path("debian/python3-demo.postinst.debhelper").read_text() == first + later
    assert not Path("debian/python3-demo.prerm.debhelper").exists()
    assert snapshot != {p.name: p.read_bytes() for p in Path("debian").iterdir()}


def test_shquote_output_reads_back_as_the_value():
    for value in ["plain", "it's", "$(x)", "a b", "é", "-rf", "*"]:
        assert shlex.split(render.shquote(value)) == [value]


# --- snippets rendered in advance (pyshared_tools/outputs/prerender.py) ---------------

SAFE_TEXT = st.text(
    st.characters(blacklist_categories=("Cs", "Co"), blacklist_characters="\x00"), min_size=1, max_size=20
)


def common_data(package, shared_dir, python3, python2, dh_python3, link, qualifier=""):
    from types import SimpleNamespace

    from pyshared_tools.outputs.scripts import Legacy, script_data

    plan = SimpleNamespace(
        package=package, python3_modules=python3, python2_modules=python2, architecture_qualifier=qualifier
    )
    legacy = Legacy(directory_links=[link] if link else ())
    return script_data(plan, shared_dir, "2.0-1" if legacy else None, legacy, dh_python3)


def test_the_prerendered_table_is_a_fresh_rendering_of_the_templates():
    """Fails when a template changed and `python3 -m pyshared_tools.outputs.prerender` was not run."""
    from pyshared_tools.outputs import prerender, prerendered

    sources, table = prerender.prerender(str(TEMPLATES))
    assert sources == prerendered.SOURCES, (
        "templates changed: run python3 -m pyshared_tools.outputs.prerender"
    )
    assert table == prerendered.SNIPPETS, "run python3 -m pyshared_tools.outputs.prerender"
    # the plain Python 3 package of the default shared directory is in it
    plain = common_data("python3-x", "usr/lib/python3/dist-packages", True, False, False, None)
    assert ("postinst-pyshared", prerender.shape(plain)[0]) in table
    same = common_data("python3-x", "usr/lib/python3/dist-packages", True, False, False, None, ":amd64")
    assert ("postinst-pyshared", prerender.shape(same)[0]) in table


@settings(max_examples=150, deadline=None)
@given(
    package=SAFE_TEXT,
    shared_dir=st.one_of(st.just("usr/lib/python3/dist-packages"), SAFE_TEXT),
    modules=st.sampled_from([(True, False), (False, True), (True, True)]),
    dh_python3=st.booleans(),
    link=st.one_of(st.none(), st.tuples(SAFE_TEXT, SAFE_TEXT)),
    qualifier=st.sampled_from(["", ":amd64", ":i386"]),
)
def test_prerendered_snippets_are_the_bytes_jinja2_renders(
    package, shared_dir, modules, dh_python3, link, qualifier
):
    """Every common shape (Multi-Arch: same's pkg:<arch> too), any strings (quotes, $,
    spaces, control characters, non-ASCII): filled in without Jinja2, the same bytes,
    or the same refusal."""
    from pyshared_tools.outputs import prerender

    data = common_data(package, shared_dir, *modules, dh_python3, link, qualifier)
    names = sorted({name for names in SNIPPETS.values() for name in names})
    for name in names:
        try:
            expected = render.render(name, **data)
        except TreeError as error:
            with pytest.raises(TreeError) as refused:
                prerender.fill(name, data)
            assert str(refused.value) == str(error)
            continue
        filled = prerender.fill(name, data)
        if prerender._MARKERS.intersection(package + shared_dir + "".join(link or ())):
            assert filled is None
        else:
            assert filled == expected, name


def test_a_template_that_looks_at_a_value_is_rendered_at_run_time(tmp_path):
    """Comparing a string (or calling its methods) cannot be rendered in
    advance: that template has no entry, the others still do."""
    from pyshared_tools.outputs import prerender

    copy = tmp_path / "templates"
    copy.mkdir()
    for name in TEMPLATE_NAMES:
        (copy / name).write_text((TEMPLATES / name).read_text())
    with (copy / "prerm-pyshared").open("a") as handle:
        handle.write('{% if package == "python3-x" %}{{ "special"|shquote }}{% endif %}\n')
    with (copy / "postinst-pyshared").open("a") as handle:
        handle.write("{{ package.upper()|shquote }}\n")
    _, table = prerender.prerender(str(copy))
    rendered = {name for name, _ in table}
    assert "prerm-pyshared" not in rendered and "postinst-pyshared" not in rendered
    assert "postrm-pyshared-farm" in rendered


def test_a_changed_template_is_rendered_by_jinja2_not_from_the_stale_table(tmp_path, monkeypatch):
    from pyshared_tools.outputs import prerender

    copy = tmp_path / "templates"
    copy.mkdir()
    for name in TEMPLATE_NAMES:
        (copy / name).write_text((TEMPLATES / name).read_text())
    with (copy / "postinst-pyshared").open("a") as handle:
        handle.write("# edited after the table was made\n")
    monkeypatch.setattr(render, "TEMPLATE_DIRECTORIES", (str(copy),))
    monkeypatch.setattr(render, "_ENVIRONMENT", None)
    monkeypatch.setattr(prerender, "_TABLE", None)
    data = common_data("python3-x", "usr/lib/python3/dist-packages", True, False, False, None)
    assert prerender.fill("postinst-pyshared", data) is None
    assert render_snippets(data)["postinst"].endswith("# edited after the table was made\n")


def test_a_plain_package_is_converted_without_importing_jinja2_or_sh(make_source):
    imported, src = plain_run_imports(make_source)
    assert "pyshared_tools.outputs.prerendered" in imported
    assert not {"jinja2", "sh"} & imported
    postinst = (src.root / "debian" / "python3-demo.postinst.debhelper").read_text()
    assert "py3compile -p python3-demo" in postinst


def compiled_copy(tmp_path, monkeypatch, jinja2_version=None):
    """Templates copied to tmp_path/share/templates and compiled beside them,
    the stamp saying `jinja2_version` if given; render() pointed at them."""
    import json

    copy = tmp_path / "share" / "templates"
    copy.mkdir(parents=True)
    for name in TEMPLATE_NAMES:
        (copy / name).write_text((TEMPLATES / name).read_text())
    compiled = tmp_path / "share" / render.COMPILED_DIRECTORY
    compiled.mkdir()
    render.compile_templates(str(compiled), str(copy))
    if jinja2_version:
        stamp = compiled / render.COMPILED_STAMP
        stamp.write_text(json.dumps(dict(json.loads(stamp.read_text()), jinja2=jinja2_version)))
    monkeypatch.setattr(render, "TEMPLATE_DIRECTORIES", (str(copy),))
    monkeypatch.setattr(render, "_ENVIRONMENT", None)
    monkeypatch.setattr(render, "_COMPILED", None)
    return copy, compiled


def test_compiled_templates_render_what_the_sources_render(tmp_path, monkeypatch):
    """A farm-era package's snippets (a shape not rendered in advance) come from
    Jinja2's compiled modules, not from compiling the sources, with the same bytes."""
    expected = render_snippets(sample_data())
    compiled_copy(tmp_path, monkeypatch)
    assert render.compiled_environment()

    def no_source(*arguments, **keywords):
        raise AssertionError("compiled the template sources")

    monkeypatch.setattr(jinja2.FileSystemLoader, "get_source", no_source)
    assert render_snippets(sample_data()) == expected


@pytest.mark.parametrize("change", ["jinja2", "template"])
def test_compiled_templates_of_another_jinja2_or_template_are_not_used(tmp_path, monkeypatch, change):
    copy, _ = compiled_copy(tmp_path, monkeypatch, jinja2_version="0.1" if change == "jinja2" else None)
    if change == "template":
        with (copy / "prerm-pyshared").open("a") as handle:
            handle.write("# edited after compiling\n")
    assert render.compiled_environment() is False
    bodies = render_snippets(sample_data())
    assert ("# edited after compiling\n" in bodies["prerm"]) == (change == "template")
