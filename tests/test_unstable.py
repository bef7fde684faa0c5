"""Debian unstable for real: python3.14 and python3.15 in one debootstrap root (issue 14).

The tag table's 3.14 and 3.15 rows must be what the real interpreters import,
in their lookup order (3.15 looks up .abi3-<multiarch>.so before .abi3.so and
adds abi3t); and one upstream install per version, run through dh_pyshared
inside that root with unstable's own libraries, must give the one shared
directory unstable's packages ship, from which each interpreter imports its
own build.
"""

import json
import shutil

import pytest
from conftest import MULTIARCH, SourcePackage
from helpers.interpreters import EXTENSION_SOURCE
from helpers.unstable import VERSIONS, copy_tool, include_dir, unpack

from pyshared_tools.rules import tags

# Names an interpreter might import; each version must import exactly its table row.
CANDIDATES = (
    ".cpython-314-{m}.so",
    ".cpython-315-{m}.so",
    ".cpython-315t-{m}.so",
    ".cpython-313-{m}.so",
    ".cpython-315.so",
    ".abi3.so",
    ".abi3-{m}.so",
    ".abi3t.so",
    ".abi3t-{m}.so",
    ".abi3-aarch64-linux-gnu.so",
    ".{m}.so",
    ".so",
    "module.so",
)
IDS = [f"{major}.{minor}" for major, minor in VERSIONS]


@pytest.fixture(scope="module")
def unstable(tmp_path_factory):
    with unpack(tmp_path_factory.mktemp("unstable")) as chroot:
        yield chroot


def python(version):
    return f"python{version[0]}.{version[1]}"


def build(chroot, version, name, output, variant, defines=()):
    """gcc in the root, with `version`'s headers: module `name` whose `variant` is `variant`."""
    directory = chroot.path(output).parent
    directory.mkdir(parents=True, exist_ok=True)
    source = chroot.path(f"{output}.c")
    source.write_text(EXTENSION_SOURCE.replace("@NAME@", name).replace("@VARIANT@", variant))
    flags = [f"-D{define}" for define in defines]
    chroot.run(
        "gcc", "-shared", "-fPIC", *flags, f"-I{include_dir(chroot, version)}", "-o", output, f"{output}.c"
    )
    return chroot.path(output)


def import_variant(chroot, version, directory, module="foo"):
    """The `variant` of `module` that `version` imports from `directory` (in the root), or None."""
    script = f"import sys; sys.path[:0] = [sys.argv[1]]; import {module} as m; print(m.variant)"
    completed = chroot.run(python(version), "-I", "-S", "-c", script, directory, check=False)
    if completed.returncode != 0:
        assert "ModuleNotFoundError" in completed.stderr or "ImportError" in completed.stderr
        return None
    return completed.stdout.strip()


@pytest.mark.parametrize("version", VERSIONS, ids=IDS)
def test_the_row_is_what_the_real_interpreter_imports(unstable, version):
    answer = json.loads(unstable.run(python(version), "-I", "-S", "-c", tags._QUERY_SCRIPT).stdout)
    assert answer["version"] == list(version)
    assert tags.table_suffixes(version, MULTIARCH) == answer["EXTENSION_SUFFIXES"]
    soabi = tags.parse_tag(answer["SOABI"])
    assert (soabi.version, soabi.multiarch, soabi.suffix) == (version, MULTIARCH, answer["EXT_SUFFIX"])


@pytest.mark.parametrize("version", VERSIONS, ids=IDS)
def test_the_real_lookup_order_is_the_table_order(unstable, version):
    """With every name of the row present, the interpreter imports them in table order."""
    row = tags.table_suffixes(version, MULTIARCH)
    directory = f"/tmp/order-{python(version)}"
    unstable.path(directory).mkdir()
    for index, suffix in enumerate(row):
        built = build(unstable, version, "foo", f"/tmp/build-{python(version)}/{index}.so", suffix)
        shutil.copy(built, unstable.path(f"{directory}/foo{suffix}"))
    for suffix in row:
        assert import_variant(unstable, version, directory) == suffix
        unstable.path(f"{directory}/foo{suffix}").unlink()
    assert import_variant(unstable, version, directory) is None


@pytest.mark.parametrize("version", VERSIONS, ids=IDS)
@pytest.mark.parametrize("candidate", CANDIDATES)
def test_the_real_interpreter_imports_exactly_the_row(unstable, version, candidate):
    suffix = candidate.format(m=MULTIARCH)
    built = build(unstable, version, "foo", f"/tmp/build-{python(version)}/any.so", "any")
    directory = f"/tmp/accept-{python(version)}-{len(suffix)}-{abs(hash(suffix))}"
    unstable.path(directory).mkdir()
    shutil.copy(built, unstable.path(f"{directory}/foo{suffix}"))
    imported = import_variant(unstable, version, directory) is not None
    assert imported == (suffix in tags.table_suffixes(version, MULTIARCH))


def test_one_upstream_install_per_version_gives_one_shared_directory(unstable):
    """What unstable ships: both tags and foo.abi3-<multiarch>.so side by side, each
    interpreter importing its own build, Depends bounded to 3.14 and 3.15."""
    tool = copy_tool(unstable)
    src = SourcePackage(unstable.path("/tmp/src"))
    tree = "/tmp/src/debian/python3-demo"
    stable = build(
        unstable,
        (3, 14),
        "_stable",
        "/tmp/build-abi3/_stable.abi3.so",
        "abi3",
        defines=["Py_LIMITED_API=0x030d0000"],
    )
    for version, name in (((3, 14), f"_speed.cpython-314-{MULTIARCH}.so"), ((3, 15), "_speed.so")):
        site = f"{tree}/usr/lib/{python(version)}/site-packages/demo"
        build(unstable, version, "_speed", f"{site}/{name}", python(version))
        unstable.path(f"{site}/{name}.c").unlink()
        unstable.path(f"{site}/__init__.py").write_text("")
        shutil.copy(stable, unstable.path(f"{site}/_stable.abi3.so"))
    unstable.run("env", "-C", "/tmp/src", tool, "--strict")
    shared = src.tree() / "usr/lib/python3/dist-packages/demo"
    assert sorted(path.name for path in shared.iterdir()) == [
        "__init__.py",
        f"_speed.cpython-314-{MULTIARCH}.so",
        f"_speed.cpython-315-{MULTIARCH}.so",
        f"_stable.abi3-{MULTIARCH}.so",
    ]
    assert sorted(path.name for path in (src.tree() / "usr/lib").iterdir()) == ["python3"]
    assert src.substvars() == "pyshared:Depends=python3 (>= 3.14~), python3 (<< 3.16), python3:any\n"
    shutil.copytree(shared, unstable.path("/usr/lib/python3/dist-packages/demo"))
    for version in VERSIONS:
        script = "import demo._speed as s, demo._stable as a; print(s.__file__, s.variant, a.__file__)"
        speed, variant, stable_file = unstable.run(python(version), "-c", script).stdout.split()
        assert (
            speed
            == f"/usr/lib/python3/dist-packages/demo/_speed.cpython-{version[0]}{version[1]}-{MULTIARCH}.so"
        )
        assert variant == python(version)
        assert stable_file == f"/usr/lib/python3/dist-packages/demo/_stable.abi3-{MULTIARCH}.so"
