"""Real interpreters import what dh_pyshared produced.

Bookworm's python3.11 and bullseye's python3.9 (unpacked from its .debs) each
build the same C extension; dh_pyshared merges both builds into one directory,
both passing its ABI checks; each interpreter imports its own build from it.  Bullseye's python2.7 imports
a dissolved dh_python2 farm.
"""

import json
import shutil

import pytest
from conftest import MULTIARCH
from helpers.interpreters import bookworm_python311, bullseye_python27, bullseye_python39

SHARED = "usr/lib/python3/dist-packages"
INIT = "from foo._speed import variant\n"


def importer(interpreter, paths):
    """Import foo with exactly these sys.path entries (in Debian's order) before the stdlib."""
    code = (
        "import sys; sys.path[:0] = sys.argv[1:]; import foo, foo._speed; "
        "print(foo.variant); print(foo._speed.__file__); print(foo.__file__)"
    )
    isolation = ["-I", "-S"] if interpreter.version[0] == 3 else ["-E", "-s", "-S"]
    return interpreter.run([*isolation, "-c", code, *map(str, paths)]).stdout.splitlines()


@pytest.fixture(scope="module")
def interpreters():
    return {(3, 11): bookworm_python311(), (3, 9): bullseye_python39()}


def build_extension(interpreter, dest, variant):
    """Compile outside the package tree (the helper leaves its .c source beside the output)."""
    build = dest.parent.parent / f".build-{dest.parent.name}-{interpreter.version[1]}"
    build.mkdir(parents=True, exist_ok=True)
    shutil.move(interpreter.build_extension("_speed", build / "_speed.so", variant=variant), dest)
    shutil.rmtree(build)


def build_two_versions(src, interpreters, layout="dist-packages"):
    for version, interpreter in interpreters.items():
        base = src.tree() / f"usr/lib/python{version[0]}.{version[1]}/{layout}/foo"
        base.mkdir(parents=True)
        (base / "__init__.py").write_text(INIT)
        build_extension(interpreter, base / "_speed.so", f"built by {version}")


BOTH_TAGS = ("--tag", f"cpython-39-{MULTIARCH}", "--tag", f"cpython-311-{MULTIARCH}")


@pytest.mark.parametrize("tags", [(), BOTH_TAGS])
def test_each_interpreter_imports_its_own_build_from_one_directory(make_source, interpreters, tags):
    src = make_source(source_fields="X-Python3-Version: >= 3.9\n")
    build_two_versions(src, interpreters)
    # Both builds pass every ABI check (bookworm supports only 3.11, so --tag 3.9 is a stale-tag warning).
    planned = json.loads(src.run("--no-act", "--json", *tags).stdout)["packages"][0]
    assert {e["version"]: {c["check"]: c["outcome"] for c in e["checks"]} for e in planned["extensions"]} == {
        version: {
            "architecture": "pass",
            "init-function": "pass",
            "libpython": "pass",
            "stable-abi": "not-applicable",
        }
        for version in ("3.9", "3.11")
    }
    src.run(*tags)
    shared = src.tree() / SHARED
    assert sorted(p.name for p in (shared / "foo").iterdir()) == [
        "__init__.py",
        f"_speed.cpython-311-{MULTIARCH}.so",
        f"_speed.cpython-39-{MULTIARCH}.so",
    ]
    assert not (src.tree() / "usr/lib/python3.9").exists()
    assert not (src.tree() / "usr/lib/python3.11").exists()
    for version, interpreter in interpreters.items():
        variant, extension_file, package_file = importer(interpreter, [shared])
        assert variant == f"built by {version}"
        assert extension_file == str(shared / f"foo/_speed.cpython-{version[0]}{version[1]}-{MULTIARCH}.so")
        assert package_file == str(shared / "foo/__init__.py")
    assert "python3 (>= 3.9~), python3 (<< 3.12), python3:any" in src.substvars()


def test_differing_pure_files_stay_importable_per_version(make_source, interpreters):
    src = make_source(source_fields="X-Python3-Version: >= 3.9\n")
    build_two_versions(src, interpreters, layout="site-packages")
    for version in interpreters:
        (src.tree() / f"usr/lib/python{version[0]}.{version[1]}/site-packages/foo/__init__.py").write_text(
            INIT + f"ONLY_FOR = {version!r}\n"
        )
    result = src.run()
    assert "pure files differ between Python versions" in result.stderr
    shared = src.tree() / SHARED
    for version, interpreter in interpreters.items():
        own = src.tree() / f"usr/lib/python{version[0]}.{version[1]}/dist-packages"
        variant, extension_file, package_file = importer(interpreter, [shared, own])
        assert variant == f"built by {version}"
        assert package_file == str(own / "foo/__init__.py")
        assert extension_file.startswith(str(own))


def test_python27_imports_a_dissolved_dh_python2_farm(make_source):
    python27 = bullseye_python27()
    src = make_source(packages=(("python-demo", "any"),))
    pyshared = src.tree() / "usr/share/pyshared/foo"
    pyshared.mkdir(parents=True)
    (pyshared / "__init__.py").write_text(INIT)
    dist = src.tree() / "usr/lib/python2.7/dist-packages/foo"
    dist.mkdir(parents=True)
    (dist / "__init__.py").symlink_to("../../../../share/pyshared/foo/__init__.py")
    build_extension(python27, dist / "_speed.so", "built by 2.7")
    back = src.tree() / "usr/lib/pyshared/python2.7/foo"
    back.mkdir(parents=True)
    (back / "_speed.so").symlink_to("../../../python2.7/dist-packages/foo/_speed.so")
    src.run()
    assert not (src.tree() / "usr/share/pyshared").exists()
    assert not (src.tree() / "usr/lib/pyshared").exists()
    assert not (dist / "__init__.py").is_symlink()
    variant, extension_file, _ = importer(python27, [dist.parent])
    assert variant == "built by 2.7"
    assert extension_file == str(dist / "_speed.so")


def test_host_python_imports_renamed_upstream_install(source):
    base = "usr/lib/python3.11/site-packages/foo"
    source.write(f"{base}/__init__.py", INIT)
    source.extension(f"{base}/_speed.so", value="host build")
    source.run()
    variant, extension_file, _ = importer(bookworm_python311(), [source.tree() / SHARED])
    assert variant == "host build"
    assert extension_file.endswith(f"foo/_speed.cpython-311-{MULTIARCH}.so")
