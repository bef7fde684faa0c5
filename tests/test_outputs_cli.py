"""Snippets and relation substvars through the command line."""

import gzip
import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from conftest import HOST, MULTIARCH, SUFFIX_311

SHARED = "usr/lib/python3/dist-packages"
PYSHARED = "usr/share/pyshared"


def python_support_tree(src):
    src.write(f"{PYSHARED}/demo/__init__.py", "")
    src.write(f"{PYSHARED}/demo/core.py", "VALUE = 1\n")
    src.write("usr/share/python-support/python3-demo.public", "pyversions=3.11-\n")


def debhelper_files(src):
    return sorted(p.name for p in (src.root / "debian").glob("?*.*.debhelper"))


def test_no_scripts_writes_no_snippet_but_still_converts(make_source):
    src = make_source()
    python_support_tree(src)
    src.run("-n")
    assert debhelper_files(src) == []
    # the .public's pyversions=3.11- names Python 3 (issue 13, item 5)
    assert (src.tree() / "usr/lib/python3/dist-packages/demo/core.py").exists()
    src.run()
    scripts = ("postinst", "postrm", "preinst", "prerm")
    assert debhelper_files(src) == [f"python3-demo.{script}.debhelper" for script in scripts]


def test_a_rerun_over_the_converted_tree_keeps_the_farm_snippets(make_source):
    src = make_source()
    python_support_tree(src)
    src.run()
    first = {name: (src.root / "debian" / name).read_bytes() for name in debhelper_files(src)}
    assert b"/usr/lib/pymodules/python" in first["python3-demo.preinst.debhelper"]
    src.run()
    assert {name: (src.root / "debian" / name).read_bytes() for name in debhelper_files(src)} == first


def test_contents_index_gives_breaks_and_replaces_against_a_sibling(make_source, tmp_path):
    src = make_source(packages=(("python3-demo", "any"), ("python3-demo-common", "all")))
    src.write("usr/lib/python3.11/site-packages/demo/core.py", "VALUE = 1\n")
    contents = tmp_path / "Contents-amd64.gz"
    with gzip.open(contents, "wt") as handle:
        handle.write(f"{SHARED}/demo/core.py    python/python3-demo-common\n")
        handle.write(f"{SHARED}/demo/_speed{SUFFIX_311}    python/python3-demo\n")
    src.run("-p", "python3-demo", "--contents", str(contents))
    substvars = src.substvars()
    assert "pyshared:Breaks=python3-demo-common (<< 2.0-1)" in substvars
    assert "pyshared:Replaces=python3-demo-common (<< 2.0-1)" in substvars


def test_archive_owner_is_a_warning_and_an_error_with_strict(make_source, tmp_path):
    src = make_source()
    src.write("usr/lib/python3.11/site-packages/demo/core.py", "VALUE = 1\n")
    contents = tmp_path / "Contents"
    contents.write_text(f"{SHARED}/demo/core.py  python/python3-elsewhere\n")
    strict = src.run("--strict", "--contents", str(contents), check=False)
    assert strict.returncode == 1
    assert "dh_pyshared: error: " in strict.stderr and "python3-elsewhere" in strict.stderr
    assert (src.tree() / "usr/lib/python3.11/site-packages/demo/core.py").exists()
    result = src.run("--contents", str(contents))
    assert "dh_pyshared: warning: " in result.stderr and "by hand" in result.stderr
    assert "pyshared:Breaks" not in (src.substvars() or "")


def test_a_hostile_owner_name_is_refused_with_the_tree_untouched(make_source, tmp_path):
    src = make_source()
    src.write("usr/lib/python3.11/site-packages/demo/core.py", "VALUE = 1\n")
    admindir = tmp_path / "dpkg"
    (admindir / "info").mkdir(parents=True)
    (admindir / "status").write_text("Package: evil,pkg\nVersion: 1.0\n\n")
    (admindir / "info" / "evil,pkg.list").write_text(f"/{SHARED}/demo\n/{SHARED}/demo/core.py\n")
    result = src.run("--dpkg-database", env={"DPKG_ADMINDIR": str(admindir)}, check=False)
    assert result.returncode != 0
    assert "refusing to write the relation 'evil,pkg'" in result.stderr
    assert (src.tree() / "usr/lib/python3.11/site-packages/demo/core.py").exists()
    assert src.substvars() is None


def run_dh_python3(src):
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DH_", "DEB_"))}
    environment.update(HOST)
    environment["PATH"] = "/usr/bin:/bin"
    subprocess.run(["dh_python3"], cwd=src.root, env=environment, check=True, capture_output=True)


def snippet(src, script):
    path = src.root / "debian" / f"{src.package}.{script}.debhelper"
    return path.read_text() if path.exists() else ""


@pytest.mark.parametrize("arch", ["any", "all"])
def test_after_dh_python3_no_second_byte_compile_block(make_source, arch):
    src = make_source(packages=(("python3-demo", arch),))
    src.write("usr/lib/python3.11/site-packages/demo/__init__.py", "")
    src.write(f"{PYSHARED}/demo/extra.py", "VALUE = 1\n")
    src.write("usr/share/python-support/python3-demo.public", "pyversions=3.11-\n")
    run_dh_python3(src)
    before = {script: snippet(src, script) for script in ("postinst", "prerm")}
    assert "# Automatically added by dh_python3" in before["postinst"]
    assert "py3compile -p python3-demo" in before["postinst"] and "py3clean -p" in before["prerm"]
    src.run()
    postinst, prerm = snippet(src, "postinst"), snippet(src, "prerm")
    assert len(re.findall(r"^\s*py3compile -p", postinst, re.MULTILINE)) == 1, postinst
    assert len(re.findall(r"^\s*py3clean -p", prerm, re.MULTILINE)) == 1, prerm
    # What dh_python3 wrote stays as it was; the farm-era block of ours is still there.
    assert postinst.startswith(before["postinst"]) and prerm.endswith(before["prerm"])
    assert "# Automatically added by dh_pyshared/" in postinst
    assert "/usr/lib/pymodules/python" in snippet(src, "preinst")
    # pyversions=3.11- in the .public: Python 3 modules, placed in the shared directory.
    assert (src.tree() / "usr/lib/python3/dist-packages/demo/extra.py").exists()


def test_without_dh_python3_our_byte_compile_block_stays(make_source):
    src = make_source()
    src.write("usr/lib/python3.11/site-packages/demo/__init__.py", "")
    (src.root / "debian/python3-demo.postinst.debhelper").write_text(
        "# Automatically added by dh_installinit/13.11.4\necho py3compile -p python3-demo\n"
        "# End automatically added section\n"
    )
    src.run()
    assert "\t\t\tpy3compile -p python3-demo\n" in snippet(src, "postinst")
    assert "py3clean -p python3-demo" in snippet(src, "prerm")


# debhelper's common options


def test_exclude_leaves_matching_files_alone_but_counts_them_for_depends(make_source):
    src = make_source()
    site = "usr/lib/python3.11/site-packages"
    src.write(f"{site}/demo/__init__.py", "")
    kept = src.extension(f"{site}/demo/_speed.so")
    src.write(f"{site}/demo/__pycache__/__init__.cpython-311.pyc", b"bytecode")
    src.write(f"{site}/demo/data/test_core.py", "")
    before = kept.read_bytes()
    src.run("-X_speed", "--exclude", "data/")
    assert kept.read_bytes() == before, "an excluded file is not touched"
    assert (src.tree() / f"{site}/demo/data/test_core.py").exists()
    assert (src.tree() / f"{SHARED}/demo/__init__.py").exists()
    assert not list((src.tree() / SHARED).rglob("_speed*"))
    assert "pyshared:Depends=python3 (>= 3.11~), python3 (<< 3.12), python3:any" in src.substvars()


def test_exclude_is_also_honoured_from_dh_o(make_source):
    src = make_source()
    src.write("usr/lib/python3.11/site-packages/demo/core.py", "")
    src.run("-O-Xdemo/core")
    assert (src.tree() / "usr/lib/python3.11/site-packages/demo/core.py").exists()


def test_remaining_packages_skips_what_an_override_already_did(make_source):
    src = make_source(packages=(("python3-demo", "any"), ("python3-other", "any")))
    site = "usr/lib/python3.11/site-packages"
    src.write(f"{site}/demo.py", "")
    src.write(f"{site}/other.py", "", package="python3-other")
    src.run("-ppython3-demo", env={"DH_INTERNAL_OVERRIDE": "dh_pyshared"})
    assert (src.root / "debian/python3-demo.debhelper.log").read_text() == "dh_pyshared\n"
    assert not (src.root / "debian/python3-other.debhelper.log").exists()
    src.write(f"{site}/late.py", "")
    src.run("--remaining-packages", env={"DH_INTERNAL_OVERRIDE": "dh_pyshared"})
    assert (src.tree() / f"{site}/late.py").exists(), "python3-demo was acted on already"
    assert (src.tree("python3-other") / f"{SHARED}/other.py").exists()
    assert (src.root / "debian/python3-other.debhelper.log").read_text() == "dh_pyshared\n"


def test_outside_an_override_no_log_is_written(make_source):
    src = make_source()
    src.write("usr/lib/python3.11/site-packages/demo.py", "")
    src.run()
    assert not (src.root / "debian/python3-demo.debhelper.log").exists()


def test_same_arch_is_an_error_from_compat_12_and_a_warning_before(make_source):
    src = make_source(packages=(("python3-demo", "any"), ("python3-doc", "all")))
    src.write("usr/lib/python3.11/site-packages/demo.py", "")
    src.write("usr/lib/python3.11/site-packages/doc.py", "", package="python3-doc")
    result = src.run("-s", check=False)
    assert result.returncode == 2
    assert result.stderr.startswith("dh_pyshared: error: -s/--same-arch has been removed in compat 12, ")
    control = src.root / "debian/control"
    control.write_text(control.read_text().replace("debhelper-compat (= 13)", "debhelper (>= 11)"))
    (src.root / "debian/compat").write_text("11\n")
    result = src.run("--same-arch")
    assert "dh_pyshared: warning: -s/--same-arch is deprecated; please use -a/--arch instead" in result.stderr
    assert (src.tree() / f"{SHARED}/demo.py").exists()
    assert (src.tree("python3-doc") / "usr/lib/python3.11/site-packages/doc.py").exists()


def test_mainpackage_is_accepted(make_source):
    src = make_source()
    src.write("usr/lib/python3.11/site-packages/demo.py", "")
    src.run("--mainpackage=python3-demo")
    assert (src.tree() / f"{SHARED}/demo.py").exists()


def test_contents_as_apt_file_keeps_it_lz4(make_source, tmp_path):
    import lz4.frame

    src = make_source()
    src.write("usr/lib/python3.11/site-packages/demo/core.py", "VALUE = 1\n")
    src.write("usr/lib/python3.11/site-packages/demo/util.py", "")
    contents = tmp_path / "deb.debian.org_debian_dists_bookworm_main_Contents-amd64.lz4"
    text = (
        f"{SHARED}/demo/core.py  python/python3-elsewhere\n{SHARED}/demo/util.py  python/python3-elsewhere\n"
    )
    contents.write_bytes(lz4.frame.compress(text.encode()))
    result = src.run("--contents", str(contents))
    warnings = [line for line in result.stderr.splitlines() if line.startswith("dh_pyshared: warning: ")]
    assert warnings == [
        "dh_pyshared: warning: python3-elsewhere also ships 2 paths of python3-demo (Contents index), "
        f"/{SHARED}/demo/core.py /{SHARED}/demo/util.py, add 'Breaks: python3-elsewhere (<< V), "
        "Replaces: python3-elsewhere (<< V)' by hand, V being the first version of python3-elsewhere "
        "without them"
    ]


def test_contents_that_is_not_an_index_is_one_error_with_the_tree_untouched(make_source):
    src = make_source()
    src.write("usr/lib/python3.11/site-packages/demo/core.py", "VALUE = 1\n")
    result = src.run("--contents", "/etc/passwd", check=False)
    assert result.returncode == 2
    assert result.stderr.startswith(
        "dh_pyshared: error: --contents /etc/passwd is not a Contents index (line 1"
    )
    assert result.stderr.count("\n") == 1
    assert (src.tree() / "usr/lib/python3.11/site-packages/demo/core.py").exists()


# docs/plan-schema.md's example, and one vocabulary for the text and the JSON plan

PLAN_SCHEMA = Path(__file__).resolve().parent.parent / "docs" / "plan-schema.md"


def usr_local_install(src):
    src.write("usr/local/lib/python3.11/dist-packages/bar.py", "")
    src.extension("usr/local/lib/python3.11/dist-packages/_bar.so")


def test_the_schema_example_is_a_real_plan(make_source):
    text = PLAN_SCHEMA.read_text()
    example = json.loads(text[text.index("```json\n", text.index("## Example")) + 8 :].split("\n```\n")[0])
    src = make_source()
    usr_local_install(src)
    real = json.loads(src.run("--json", "--no-act").stdout)
    abridged = example["packages"][0].pop("scripts")
    scripts = real["packages"][0].pop("scripts")
    assert sorted(abridged) == sorted(scripts)
    for name, start in abridged.items():
        assert start.endswith("...") and scripts[name].startswith(start[:-3].rstrip()), name
    if MULTIARCH == "x86_64-linux-gnu":
        assert example == real
    else:
        assert json.dumps(example).replace("x86_64-linux-gnu", MULTIARCH) == json.dumps(real)


def test_the_text_plan_speaks_the_json_plans_words(make_source):
    src = make_source()
    usr_local_install(src)
    src.write("usr/local/lib/python3.11/dist-packages/__pycache__/bar.cpython-311.pyc", b"bytecode")
    src.link("usr/bin/bar", "../local/lib/python3.11/dist-packages/bar.py")
    actions = json.loads(src.run("--json", "--no-act").stdout)["packages"][0]["actions"]
    lines = [line[1:] for line in src.run("--no-act").stdout.splitlines() if line.startswith("\t")]
    lines = lines[: len(actions)]
    assert {a["op"] for a in actions} >= {"mkdir", "move", "unlink", "symlink", "rmdir"}
    for action, line in zip(actions, lines, strict=True):
        assert line.split()[0] == action["op"], (action, line)
        assert action["path"] in line
