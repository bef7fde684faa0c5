"""Extension ABI checks (pyshared_tools/rules/checks.py): libpython linkage and
--fix-libpython, the stable ABI of abi3 extensions, ELF architecture, init
function names; in the plan, --no-act, --json and --strict; refusals leave the
tree untouched; real bookworm packages.

The hosts in which the libpython rule is proven (dlopen, mod_wsgi) are in
tests/test_hosts.py.
"""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import CHECKOUT, HOST, MULTIARCH, SUFFIX_311, SourcePackage, snapshot
from helpers import cbuild, elfref
from helpers.abi_packages import ABI3_PACKAGES, LIBPYTHON_PACKAGES, LIMITED_311, NOT_STABLE, abi3info_needs
from helpers.archive import fetch_debs
from helpers.bad_input import assert_refused
from helpers.elfref import reference_facts

from pyshared_tools.rules import checks, elf

SITE = "usr/lib/python3.11/site-packages"
SHARED = "usr/lib/python3/dist-packages"
FIELDS = "X-Python3-Version: >= 3.11\n"
PYTHON = "/usr/bin/python3"
STABLE_SINCE_313 = "PyType_GetModuleByDef((PyTypeObject *) object, NULL);"
ARM64_HOST = {
    "DEB_HOST_ARCH": "arm64",
    "DEB_HOST_ARCH_CPU": "arm64",
    "DEB_HOST_ARCH_BITS": "64",
    "DEB_HOST_ARCH_ENDIAN": "little",
    "DEB_HOST_MULTIARCH": "aarch64-linux-gnu",
    "DEB_HOST_GNU_TYPE": "aarch64-linux-gnu",
    "DEB_HOST_GNU_CPU": "aarch64",
}
X32_HOST = {
    "DEB_HOST_ARCH": "x32",
    "DEB_HOST_ARCH_CPU": "amd64",
    "DEB_HOST_ARCH_ABI": "x32",
    "DEB_HOST_ARCH_BITS": "32",
    "DEB_HOST_MULTIARCH": "x86_64-linux-gnux32",
    "DEB_HOST_GNU_TYPE": "x86_64-linux-gnux32",
}


def plan_json(src, *args, env=None):
    result = src.run("--no-act", "--json", *args, env=env)
    (package,) = json.loads(result.stdout)["packages"]
    return package, result.stderr


def outcomes(extension):
    return {check["check"]: check["outcome"] for check in extension["checks"]}


def import_report(shared, *modules):
    """Import `modules` from `shared` with Debian's python3: their files, and
    how many libpython files the process mapped."""
    code = (
        "import importlib, json, sys\n"
        "sys.path[:0] = [sys.argv[1]]\n"
        "files = [importlib.import_module(name).__file__ for name in sys.argv[2:]]\n"
        "paths = {line.split()[-1] for line in open('/proc/self/maps')}\n"
        "maps = [path for path in paths if path.rsplit('/', 1)[-1].startswith('libpython')]\n"
        "print(json.dumps([files, sorted(maps)]))\n"
    )
    command = [PYTHON, "-B", "-I", "-S", "-c", code, str(shared), *modules]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# --- ELF facts ------------------------------------------------------------------


def test_facts_of_a_plain_and_a_linked_extension(tmp_path):
    plain = cbuild.compile_extension(tmp_path / "foo.so", "foo")
    linked = cbuild.compile_extension(tmp_path / "bar.so", "bar", link_libpython=True)
    facts = elf.extension_facts(plain.read_bytes(), "foo")
    assert (facts.elf_class, facts.byte_order, facts.machine) == (2, 1, 62)
    assert facts.module == "foo" and facts.init_functions == ("PyInit_foo",)
    assert not [name for name in facts.needed if name.startswith("libpython")]
    assert {"PyModule_Create2", "PyModule_AddStringConstant"} <= set(facts.python_imports)
    assert not [name for name in facts.python_imports if name.startswith("PyInit_")]
    linked_facts = elf.extension_facts(linked.read_bytes(), "bar")
    assert "libpython3.11.so.1.0" in linked_facts.needed
    assert checks.linked_libpython(linked_facts) == ["libpython3.11.so.1.0"]
    data = linked.read_bytes()
    assert elf.needed_sonames(data) == linked_facts.needed == elfref.dt_needed(data)
    for path, stem in ((plain, "foo"), (linked, "bar"), (plain, "other")):
        assert tuple(elf.extension_facts(path.read_bytes(), stem)) == reference_facts(path.read_bytes(), stem)


def test_facts_of_a_library_without_init_function(tmp_path):
    library = cbuild.compile_plain_library(tmp_path / "libfoo.so")
    facts = elf.extension_facts(library.read_bytes(), "libfoo")
    assert facts.module is None and facts.init_functions == () and facts.machine == 62
    assert elf.extension_facts(b"not ELF", "foo") is None
    assert checks.init_function("libfoo", facts).outcome == "pass"


def test_facts_never_import_pyelftools(tmp_path):
    path = cbuild.compile_extension(tmp_path / "foo.so", "foo", link_libpython=True)
    script = (
        "import sys\nsys.modules['elftools'] = None\n"
        "from pyshared_tools.rules import elf\n"
        "facts = elf.inspect_shared_object(sys.argv[1], 'foo')\n"
        "print(facts.module, facts.needed[0], elf.needed_sonames(open(sys.argv[1], 'rb').read())[0])\n"
    )
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parent.parent))
    result = subprocess.run([PYTHON, "-c", script, str(path)], capture_output=True, text=True, env=env)
    assert result.stdout.split() == ["foo", "libpython3.11.so.1.0", "libpython3.11.so.1.0"], result.stderr


# --- the rules as data ------------------------------------------------------------


def test_architecture_table_agrees_with_dpkg_architecture():
    """Every row: dpkg's multiarch triplet, bits and endianness for that architecture."""
    for arch, (multiarch, elf_class, byte_order, _) in sorted(checks.ARCHITECTURES.items()):
        output = subprocess.run(
            ["dpkg-architecture", f"-a{arch}"],
            capture_output=True,
            text=True,
            check=True,
            env={k: v for k, v in os.environ.items() if not k.startswith("DEB_")},
        ).stdout
        values = dict(line.split("=", 1) for line in output.splitlines())
        assert values["DEB_HOST_MULTIARCH"] == multiarch, arch
        assert values["DEB_HOST_ARCH_BITS"] == {1: "32", 2: "64"}[elf_class], arch
        assert values["DEB_HOST_ARCH_ENDIAN"] == {1: "little", 2: "big"}[byte_order], arch
    assert checks.ARCHITECTURES[HOST["DEB_HOST_ARCH"]][0] == MULTIARCH


def test_architecture_check_as_a_function(tmp_path):
    facts = elf.extension_facts(cbuild.compile_extension(tmp_path / "foo.so", "foo").read_bytes(), "foo")
    assert checks.architecture(facts, "amd64", "x86_64-linux-gnu").outcome == "pass"
    assert checks.architecture(facts, "unknown-arch").outcome == "not-applicable"
    assert checks.architecture(None, "amd64").outcome == "not-applicable"
    wrong = checks.architecture(facts, "amd64", "aarch64-linux-gnu")
    assert wrong.outcome == "error"
    assert wrong.what == (
        "extension is 64-bit little-endian x86-64 code but the tag's triplet aarch64-linux-gnu "
        "needs 64-bit little-endian AArch64"
    )
    assert "DEB_HOST_ARCH i386 needs 32-bit little-endian i386" in checks.architecture(facts, "i386").what
    assert "DEB_HOST_ARCH s390x needs 64-bit big-endian S/390" in checks.architecture(facts, "s390x").what
    assert checks.package_architecture("all").outcome == "error"
    assert checks.package_architecture("any").outcome == "pass"


def test_libpython_pattern():
    for name in ("libpython3.11.so.1.0", "libpython3.11.so", "libpython3.9d.so.1.0", "libpython3.7m.so.1"):
        assert checks.LIBPYTHON.fullmatch(name), name
    for name in ("libpython3.so", "libpythonx.so", "libc.so.6", "libpython3.11.a", "libboost_python311.so.1"):
        assert not checks.LIBPYTHON.fullmatch(name), name


def test_stable_abi_table_comes_from_abi3info():
    import abi3info

    absent = {"MS_WINDOWS", "USE_STACKCHECK", "Py_REF_DEBUG", "Py_TRACE_REFS"}
    entries = [*abi3info.FUNCTIONS.values(), *abi3info.DATAS.values()]
    assert checks.stable_abi_symbols() == {
        e.symbol.name: (e.added.major, e.added.minor)
        for e in entries
        if not (e.ifdef and e.ifdef.name in absent)
    }
    table = checks.stable_abi_symbols()
    assert len(table) > 900
    assert table["PyModule_Create2"] == (3, 2) and table["PyExc_TypeError"] == (3, 2)
    assert table["PyMemoryView_FromBuffer"] == (3, 11)
    assert table["PyType_GetModuleByDef"] == (3, 13)
    assert "PyDict_SetDefault" not in table
    assert "PyErr_SetFromWindowsErr" not in table  # Windows only


def test_stable_abi_check_as_a_function():
    facts = elf.ElfFacts(2, 1, 62, "foo", ("PyInit_foo",), (), ("PyMemoryView_FromBuffer", "Py_Other"))
    table = {"PyMemoryView_FromBuffer": (3, 11)}
    assert checks.stable_abi(facts, (3, 11), table).outcome == "error"
    assert checks.stable_abi(facts, (3, 11), {**table, "Py_Other": (3, 2)}).outcome == "pass"
    late = checks.stable_abi(facts, (3, 9), {**table, "Py_Other": (3, 2)})
    assert late.what == (
        "stable-ABI extension uses symbols outside the stable ABI of Python 3.9 (the lowest supported "
        "version): PyMemoryView_FromBuffer (stable ABI since 3.11)"
    )
    assert "Py_LIMITED_API=0x03090000" in late.todo


def test_the_shipped_stable_abi_table_is_what_the_installed_abi3info_gives(tmp_path):
    """pyshared_tools/rules/stable_abi.table is stable_abi_generate's output from the installed
    abi3info, byte for byte: when this fails, run python3 -m pyshared_tools.rules.stable_abi_generate."""
    from pyshared_tools.rules import stable_abi_generate

    shipped = (CHECKOUT / "pyshared_tools/rules/stable_abi.table").read_bytes()
    assert stable_abi_generate.render().encode() == shipped
    output = tmp_path / "table.txt"
    command = [PYTHON, "-m", "pyshared_tools.rules.stable_abi_generate", str(output)]
    subprocess.run(command, cwd=CHECKOUT, check=True, env={"PATH": "/usr/bin:/bin"})
    assert output.read_bytes() == shipped
    table = checks.stable_abi_table()
    assert table["PyExc_WindowsError"] == ((3, 7), "data", "MS_WINDOWS")
    assert table["PyModule_Create2"] == ((3, 2), "function", None)


def test_the_stable_abi_check_needs_no_abi3info(make_source):
    """Without abi3info importable, dh_pyshared refuses an abi3 extension outside the
    stable ABI and passes a clean one (it reads the shipped table)."""
    src = make_source(source_fields=FIELDS)
    src.extension(f"{SHARED}/foo/_bad.abi3.so", body=NOT_STABLE)
    src.extension(f"{SHARED}/foo/_good.abi3.so", limited_api=LIMITED_311)
    script = (
        "import sys\nsys.modules['abi3info'] = None\n"
        "from pyshared_tools.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    )
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DH_", "DEB_"))}
    environment.update(HOST, PYTHONPATH=str(CHECKOUT))

    def run(*args):
        return subprocess.run(
            [PYTHON, "-c", script, *args], cwd=src.root, env=environment, capture_output=True, text=True
        )

    refused = run("--strict", "--no-act")
    assert refused.returncode == 1
    assert refused.stderr == (
        "dh_pyshared: error: stable-ABI extension uses symbols outside the stable ABI of Python 3.11 "
        "(the lowest supported version): PyDict_SetDefault (not in the stable ABI), "
        f"{SHARED}/foo/_bad.abi3.so in python3-demo, build it with Py_LIMITED_API=0x030b0000 and "
        "without those calls, or build it for each Python version\n"
    )
    (src.tree() / f"{SHARED}/foo/_bad.abi3.so").unlink()
    passed = run("--strict", "--no-act")
    assert passed.returncode == 0 and passed.stderr == "", passed.stderr
    assert "stable-abi pass" in passed.stdout


def test_a_missing_stable_abi_table_is_one_error_line(make_source, tmp_path):
    """A broken installation (the library without its table) says so, before any change."""
    copy = tmp_path / "copy"
    shutil.copytree(CHECKOUT / "bin", copy / "bin")
    shutil.copytree(
        CHECKOUT / "pyshared_tools",
        copy / "pyshared_tools",
        ignore=shutil.ignore_patterns("stable_abi.table", "__pycache__"),
    )
    src = make_source(source_fields=FIELDS)
    src.extension(f"{SITE}/foo/_speed.abi3.so", limited_api=LIMITED_311)
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DH_", "DEB_"))}
    environment.update(HOST, PYTHONDONTWRITEBYTECODE="1")
    before = snapshot(src.tree())
    result = subprocess.run(
        [PYTHON, str(copy / "bin/dh_pyshared")], cwd=src.root, env=environment, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert result.stderr == (
        "dh_pyshared: error: cannot read the stable-ABI table (No such file or directory), "
        f"{copy}/pyshared_tools/rules/stable_abi.table, reinstall dh-pyshared\n"
    )
    assert snapshot(src.tree()) == before


def test_the_stable_abi_table_is_read_only_for_an_abi3_extension(source):
    """Start-up time: a package without abi3 extension never reads the table."""
    source.extension(f"{SITE}/foo/_speed.so")
    source.write(f"{SITE}/foo/__init__.py")
    script = (
        "import sys\nsys.modules['abi3info'] = None\n"
        "from pyshared_tools.rules import checks\n"
        "def unexpected(path=None):\n    raise SystemExit('the stable-ABI table was read')\n"
        "checks.stable_abi_table = unexpected\n"
        "from pyshared_tools.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    )
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DH_", "DEB_"))}
    environment.update(HOST, PYTHONPATH=str(Path(__file__).parent.parent))
    result = subprocess.run(
        [PYTHON, "-c", script, "--no-act"], cwd=source.root, env=environment, capture_output=True, text=True
    )
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert "stable-abi not-applicable" in result.stdout
    source.extension(f"{SITE}/foo/_stable.abi3.so", limited_api=LIMITED_311)
    result = subprocess.run(
        [PYTHON, "-c", script, "--no-act"], cwd=source.root, env=environment, capture_output=True, text=True
    )
    assert result.returncode == 1 and result.stderr == "the stable-ABI table was read\n", result.stderr


# --- libpython --------------------------------------------------------------------


def linked_source(src):
    src.write(f"{SITE}/foo/__init__.py", "from foo._speed import variant\n")
    src.extension(f"{SITE}/foo/_speed.so", link_libpython=True, value="linked")
    src.extension(f"{SITE}/foo/_plain.so", value="plain")


WARNING = re.compile(
    r"dh_pyshared: warning: extension is linked against libpython3\.11\.so\.1\.0: Debian's python3 is "
    r"linked statically so importing it maps a second libpython \(and makes the package depend on it\) "
    r"while embedding hosts such as mod_wsgi already load libpython with RTLD_GLOBAL, "
    rf"{SITE}/foo/_speed\.so in python3-demo, link it without -lpython3\.X, or pass --fix-libpython "
    r"to drop the entry\n"
)


def test_linked_extension_is_a_warning_in_the_plan_and_the_json(make_source):
    src = make_source(source_fields=FIELDS)
    linked_source(src)
    package, stderr = plan_json(src)
    assert WARNING.fullmatch(stderr), stderr
    (warning,) = package["warnings"]
    assert WARNING.fullmatch(f"dh_pyshared: warning: {warning}\n")
    extensions = {e["path"]: e for e in package["extensions"]}
    speed = extensions[f"{SHARED}/foo/_speed{SUFFIX_311}"]
    assert outcomes(speed) == {
        "architecture": "pass",
        "init-function": "pass",
        "libpython": "warning",
        "stable-abi": "not-applicable",
    }
    assert speed["checks"][2]["detail"] == warning.replace(f", {SITE}/foo/_speed.so in python3-demo", "")
    assert outcomes(extensions[f"{SHARED}/foo/_plain{SUFFIX_311}"])["libpython"] == "pass"
    assert not [a for a in package["actions"] if a["op"] == "drop-needed"]
    printed = src.run("--no-act").stdout
    assert (
        f"\tcheck {SHARED}/foo/_speed{SUFFIX_311}: architecture pass, init-function pass, "
        "libpython warning, stable-abi not-applicable\n"
    ) in printed
    result = src.run()
    assert WARNING.fullmatch(result.stderr)
    _, maps = import_report(src.tree() / SHARED, "foo._speed")
    assert len(maps) == 1 and maps[0].endswith(f"/{MULTIARCH}/libpython3.11.so.1.0"), maps


def test_linked_extension_is_an_error_with_strict(make_source):
    src = make_source(source_fields=FIELDS)
    linked_source(src)
    assert_refused(src, "--strict", expect=("--strict", "libpython3.11.so.1.0", "_speed.so"))


def test_fix_libpython_drops_the_entry_and_the_module_still_imports(make_source):
    src = make_source(source_fields=FIELDS)
    linked_source(src)
    package, stderr = plan_json(src, "--fix-libpython", "--strict")
    assert stderr == ""
    target = f"{SHARED}/foo/_speed{SUFFIX_311}"
    assert {"op": "drop-needed", "path": target, "needed": "libpython3.11.so.1.0"} in package["actions"]
    ops = [a["op"] for a in package["actions"]]
    assert ops.index("drop-needed") > max(i for i, op in enumerate(ops) if op == "move")
    speed = next(e for e in package["extensions"] if e["path"] == target)
    assert speed["checks"][2] == {
        "check": "libpython",
        "outcome": "fixed",
        "detail": "--fix-libpython drops the DT_NEEDED entry libpython3.11.so.1.0",
    }
    result = src.run("--fix-libpython", "--strict", "-v")
    assert f"\tdrop-needed libpython3.11.so.1.0 from {target}\n" in result.stdout
    assert result.stderr == ""
    data = (src.tree() / target).read_bytes()
    assert not checks.linked_libpython(elf.extension_facts(data, "_speed"))
    assert elfref.dt_needed(data) == elf.needed_sonames(data)
    assert oct((src.tree() / target).stat().st_mode) == "0o100644"
    files, maps = import_report(src.tree() / SHARED, "foo", "foo._speed", "foo._plain")
    assert files[1] == str(src.tree() / target)
    assert maps == [], "the fixed module still maps libpython"
    tree = snapshot(src.tree())
    again = src.run("--fix-libpython", "--strict", "-v")
    assert again.stdout == "" and again.stderr == ""
    assert snapshot(src.tree()) == tree


def test_fix_libpython_without_patchelf_is_refused_before_any_change(make_source, tmp_path):
    src = make_source(source_fields=FIELDS)
    linked_source(src)
    bare = tmp_path / "bin"
    bare.mkdir()
    for tool in ("python3", "dpkg-architecture", "dpkg-query", "dpkg"):
        (bare / tool).symlink_to(shutil.which(tool))
    runner = lambda *args, **kw: src.run(*args, env={"PATH": str(bare)}, **kw)  # noqa: E731
    assert_refused(
        src, "--fix-libpython", expect=("patchelf is not installed", "drop --fix-libpython"), runner=runner
    )


def test_kill_inside_patchelf_then_rerun(make_source, tmp_path):
    """A patchelf killed together with dh_pyshared while writing: the replay ends in the same tree."""
    reference = make_source("reference", source_fields=FIELDS)
    linked_source(reference)
    reference.run("--fix-libpython")
    src = make_source(source_fields=FIELDS)
    linked_source(src)
    fake = tmp_path / "fake-bin"
    fake.mkdir()
    (fake / "patchelf").write_text(
        "#!/bin/sh\n# half-write the file it was given, then kill dh_pyshared and itself\n"
        'for last; do :; done\nhead -c 100 "$last" > "$last.cut" && mv "$last.cut" "$last"\n'
        "kill -9 $PPID\nkill -9 $$\n"
    )
    (fake / "patchelf").chmod(0o755)
    killed = src.run("--fix-libpython", env={"PATH": f"{fake}:{os.environ['PATH']}"}, check=False)
    assert killed.returncode == -9, killed.stderr
    journal = src.root / "debian/.debhelper/pyshared/python3-demo.journal"
    assert journal.exists()
    target = src.tree() / f"{SHARED}/foo/_speed{SUFFIX_311}"
    assert checks.linked_libpython(elf.inspect_shared_object(target, "_speed")), "the original was changed"
    src.run("--fix-libpython")
    assert not journal.exists()
    assert snapshot(src.tree()) == snapshot(reference.tree())


# --- stable ABI ---------------------------------------------------------------------


def test_clean_abi3_extension_passes(make_source):
    src = make_source(source_fields=FIELDS)
    src.extension(f"{SHARED}/foo/_speed.abi3.so", limited_api=LIMITED_311)
    src.write(f"{SHARED}/foo/__init__.py")
    package, stderr = plan_json(src, "--strict")
    assert stderr == ""
    (extension,) = package["extensions"]
    assert outcomes(extension)["stable-abi"] == "pass" and extension["version"] == "abi3"


@pytest.mark.parametrize("how", ["named", "tagged"])
def test_abi3_extension_outside_the_stable_abi_is_refused(make_source, how):
    src = make_source(source_fields=FIELDS)
    # Untagged in a pythonX.Y directory it would be that version's: --tag abi3 concerns the others.
    if how == "named":
        rel, args = f"{SITE}/foo/_speed.abi3.so", ()
    else:
        rel, args = f"{SHARED}/foo/_speed.so", ("--tag", "abi3")
    src.extension(rel, module="_speed", body=NOT_STABLE + STABLE_SINCE_313)
    src.write(f"{SITE}/foo/__init__.py")
    match = assert_refused(
        src,
        *args,
        expect=(
            "stable-ABI extension uses symbols outside the stable ABI of Python 3.11 (the lowest supported "
            "version): PyDict_SetDefault (not in the stable ABI); "
            "PyType_GetModuleByDef (stable ABI since 3.13)",
            f"{rel} in python3-demo",
            "Py_LIMITED_API=0x030b0000",
        ),
    )
    assert match["where"].startswith(f"{rel} in python3-demo")


def test_version_tagged_extension_may_use_any_symbol(make_source):
    src = make_source(source_fields=FIELDS)
    src.extension(f"{SITE}/foo/_speed.so", body=NOT_STABLE + STABLE_SINCE_313)
    package, stderr = plan_json(src, "--strict")
    assert stderr == "" and outcomes(package["extensions"][0])["stable-abi"] == "not-applicable"


# Weak undefined references (resolved only if some loaded object defines them; else null):
# one outside the stable ABI, one in it only since 3.13.
WEAK_DECLARATIONS = (
    "extern PyObject *_PyObject_Optional(PyObject *) __attribute__((weak));\n"
    "extern PyObject *PyType_GetModuleByDef(PyTypeObject *, PyModuleDef *) __attribute__((weak));\n"
)
WEAK_BODY = (
    "if (_PyObject_Optional) _PyObject_Optional(object);\n"
    "if (PyType_GetModuleByDef) PyType_GetModuleByDef(NULL, NULL);"
)


def test_weak_references_are_optional(make_source):
    """An abi3 module whose only symbols outside the stable ABI of 3.11 are weak passes,
    needs no more than its other symbols, and imports on 3.11, where neither exists."""
    src = make_source(source_fields=FIELDS)
    path = src.extension(
        f"{SITE}/foo/_speed.abi3.so", limited_api=LIMITED_311, declarations=WEAK_DECLARATIONS, body=WEAK_BODY
    )
    src.write(f"{SITE}/foo/__init__.py")
    data = path.read_bytes()
    facts = elf.extension_facts(data, "_speed")
    assert facts.weak_imports == ("PyType_GetModuleByDef", "_PyObject_Optional")
    assert set(facts.weak_imports) < set(facts.python_imports)
    assert tuple(facts) == reference_facts(data, "_speed")
    assert checks.stable_abi(facts, (3, 11)).outcome == "pass"
    assert checks.stable_abi_needs(path.name, facts) == (3, 2)
    strong = facts._replace(weak_imports=())
    assert checks.stable_abi(strong, (3, 11)).outcome == "error"
    assert checks.stable_abi_needs(path.name, strong) == (3, 13)
    package, stderr = plan_json(src, "--strict")
    assert stderr == "" and outcomes(package["extensions"][0])["stable-abi"] == "pass"
    src.run("--strict")
    assert src.substvars() == "pyshared:Depends=python3 (>= 3.2~), python3:any\n"
    files, _ = import_report(src.tree() / SHARED, "foo._speed")
    assert files == [str(src.tree() / SHARED / "foo/_speed.abi3.so")]


@pytest.mark.parametrize(
    ("body", "needs"),
    [
        ("", "3.2"),  # PyModule_Create2, PyModule_AddStringConstant, _Py_Dealloc
        ("PySlice_Unpack(object, NULL, NULL, NULL);", "3.7"),
        ("PyMemoryView_FromBuffer(NULL); PySlice_Unpack(object, NULL, NULL, NULL);", "3.11"),
    ],
)
def test_abi3_depends_is_the_version_the_module_needs(make_source, body, needs):
    """The lower bound is the highest version that added a stable-ABI symbol the
    module imports, not the lowest supported version (3.11 here)."""
    src = make_source(source_fields=FIELDS)
    src.extension(f"{SITE}/foo/_speed.abi3.so", limited_api=LIMITED_311, body=body)
    src.write(f"{SITE}/foo/__init__.py")
    src.run("--strict")
    assert src.substvars() == f"pyshared:Depends=python3 (>= {needs}~), python3:any\n"


def test_abi3_and_tagged_extensions_together(make_source):
    """The tagged extension loads only on 3.11: the bound is 3.11's range, whatever the
    abi3 one needs."""
    src = make_source(source_fields=FIELDS)
    src.extension(f"{SITE}/foo/_speed.abi3.so", limited_api=LIMITED_311)
    src.extension(f"{SITE}/foo/_tagged.so")
    src.run("--strict")
    assert src.substvars() == "pyshared:Depends=python3 (>= 3.11~), python3 (<< 3.12)\n"


def test_python3_depends_combines_tagged_and_abi3_needs():
    """Every extension must load on every version the clauses allow."""
    from pyshared_tools.debhelper.substvars import python3_depends
    from pyshared_tools.engine.plan import Plan

    def depends(extensions, needs, lowest=(3, 11)):
        plan = Plan("python3-demo", "root", extensions=extensions, python3_modules=True)
        plan.stable_abi_needs = needs
        return python3_depends(plan, lambda: lowest)

    abi3 = [("a.abi3.so", None)]
    assert depends(abi3, {"a.abi3.so": (3, 2)}) == "python3 (>= 3.2~)"
    assert depends([*abi3, ("b.abi3.so", None)], {"a.abi3.so": (3, 2), "b.abi3.so": (3, 7)}) == (
        "python3 (>= 3.7~)"
    )
    # Unreadable symbols: the lowest supported version.
    assert depends(abi3, {"a.abi3.so": None}) == "python3 (>= 3.11~)"
    tagged = [("t.cpython-312.so", (3, 12)), ("t.cpython-313.so", (3, 13))]
    # The tagged extension is missing on 3.11: the lowest tagged version bounds.
    assert depends(tagged + abi3, {"a.abi3.so": (3, 2)}) == "python3 (>= 3.12~), python3 (<< 3.14)"
    assert depends(tagged, {}) == "python3 (>= 3.12~), python3 (<< 3.14)"
    # Only a stale tag below what the abi3 extension needs: no version loads both.
    stale = [("t.cpython-39.so", (3, 9))]
    assert depends(stale + abi3, {"a.abi3.so": (3, 10)}) == "python3 (>= 3.10~), python3 (<< 3.10)"


# --- architecture ---------------------------------------------------------------------


def foreign_machine(path, machine):
    data = bytearray(path.read_bytes())
    data[18:20] = machine.to_bytes(2, "little")
    path.write_bytes(bytes(data))


def test_foreign_machine_is_refused(make_source):
    src = make_source(source_fields=FIELDS)
    foreign_machine(src.extension(f"{SITE}/foo/_speed.so"), 183)
    assert_refused(
        src,
        expect=(
            "extension is 64-bit little-endian AArch64 code but DEB_HOST_ARCH amd64 needs 64-bit "
            f"little-endian x86-64 and the tag's triplet {MULTIARCH} needs 64-bit little-endian x86-64",
            f"{SITE}/foo/_speed.so in python3-demo",
        ),
    )


def test_host_extension_in_a_cross_build_is_refused(make_source):
    """The issue's example: a tag for aarch64 on an x86-64 ELF, with DEB_HOST_ARCH arm64."""
    src = make_source(source_fields=FIELDS)
    src.extension(f"{SITE}/foo/_speed.so")
    runner = lambda *args, **kw: src.run(*args, env=ARM64_HOST, **kw)  # noqa: E731
    for args in ((), ("--tag", "cpython-311-aarch64-linux-gnu")):
        assert_refused(
            src,
            *args,
            runner=runner,
            expect=(
                "extension is 64-bit little-endian x86-64 code but DEB_HOST_ARCH arm64 needs 64-bit "
                "little-endian AArch64 and the tag's triplet aarch64-linux-gnu needs 64-bit "
                "little-endian AArch64",
            ),
        )


def test_wrong_elf_class_is_refused(make_source):
    src = make_source(source_fields=FIELDS)
    src.extension(f"{SITE}/foo/_speed.so")
    runner = lambda *args, **kw: src.run(*args, env=X32_HOST, **kw)  # noqa: E731
    assert_refused(
        src,
        "--tag",
        "cpython-311-x86_64-linux-gnux32",
        runner=runner,
        expect=(
            "extension is 64-bit little-endian x86-64 code but DEB_HOST_ARCH x32 needs "
            "32-bit little-endian x86-64",
        ),
    )


def test_extension_in_an_architecture_all_package_is_refused(make_source):
    src = make_source(packages=(("python3-demo", "all"),), source_fields=FIELDS)
    src.write(f"{SITE}/foo/__init__.py")
    src.extension(f"{SITE}/foo/_speed.so")
    assert_refused(
        src,
        expect=(
            "extension module in an Architecture: all package",
            f"{SITE}/foo/_speed.so in python3-demo",
            "make the package Architecture: any",
        ),
    )


def test_architecture_all_package_without_extension_is_fine(make_source):
    src = make_source(packages=(("python3-demo", "all"),), source_fields=FIELDS)
    src.write(f"{SITE}/foo/__init__.py")
    src.library(f"{SITE}/foo/libhelper.so")
    assert src.run("--strict").stderr == ""


# --- init function names -------------------------------------------------------------------


@pytest.mark.parametrize("name", ["foo.so", f"foo{SUFFIX_311}", "foo.abi3.so"])
def test_init_function_of_another_name_is_refused(make_source, name):
    src = make_source(source_fields=FIELDS)
    src.extension(f"{SITE}/pkg/{name}", module="foo", init_name="bar")
    assert_refused(
        src,
        expect=(
            "extension exports PyInit_bar but not PyInit_foo so Python can never import it as foo",
            f"{SITE}/pkg/{name} in python3-demo",
            "name the file after its module (bar.so) or make the build name the module foo",
        ),
    )


def test_libraries_without_init_function_keep_passing(make_source):
    src = make_source(source_fields=FIELDS)
    src.library(f"{SITE}/pkg/libhelper.so")
    src.library(f"{SITE}/pkg/helper.so")
    src.library(f"{SITE}/pkg/_cffi_data{SUFFIX_311}")
    package, stderr = plan_json(src, "--strict")
    assert stderr == ""
    assert {e["path"]: outcomes(e)["init-function"] for e in package["extensions"]} == {
        f"{SHARED}/pkg/_cffi_data{SUFFIX_311}": "pass"
    }
    src.run("--strict")
    assert (src.tree() / f"{SHARED}/pkg/libhelper.so").is_file()
    assert (src.tree() / f"{SHARED}/pkg/helper.so").is_file()


# --- real bookworm packages --------------------------------------------------------------

# The version their modules need: the highest "added" of the stable-ABI symbols they
# import (dh_python3 writes python3 (>= 3~) for all three).
ABI3_NEEDS = {"python3-bcrypt": "3.2", "python3-cryptography": "3.7", "python3-nacl": "3.2"}


@pytest.fixture(scope="module")
def debs():
    return fetch_debs(tuple(sorted(LIBPYTHON_PACKAGES) + sorted(ABI3_PACKAGES)), "abi-check-debs")


def debian_tree(tmp_path, package, deb):
    src = SourcePackage(tmp_path / package, packages=((package, "any"),), source_fields=FIELDS)
    subprocess.run(["dpkg-deb", "-x", str(deb), str(src.tree())], check=True)
    return src


@pytest.mark.parametrize("package", sorted(LIBPYTHON_PACKAGES))
def test_archive_modules_linked_against_libpython_are_flagged(tmp_path, debs, package):
    src = debian_tree(tmp_path, package, debs[package])
    path = f"{SHARED}/{LIBPYTHON_PACKAGES[package]}"
    plan, stderr = plan_json(src)
    assert plan["actions"] == []
    assert stderr == f"dh_pyshared: warning: {plan['warnings'][0]}\n"
    assert plan["warnings"][0].startswith("extension is linked against libpython3.11.so.1.0: ")
    assert f", {path} in {package}, " in plan["warnings"][0]
    assert [(e["path"], outcomes(e)["libpython"]) for e in plan["extensions"]] == [(path, "warning")]
    data = (src.tree() / path).read_bytes()
    assert tuple(elf.extension_facts(data, path.rsplit("/", 1)[1].split(".")[0])) == reference_facts(
        data, path.rsplit("/", 1)[1].split(".")[0]
    )
    assert_refused(src, "--strict", expect=("libpython3.11.so.1.0", path))
    before = snapshot(src.tree())
    src.run("--fix-libpython", "--strict")
    after = snapshot(src.tree())
    assert {rel for rel in before if before[rel] != after.get(rel)} == {path}
    assert not checks.linked_libpython(elf.inspect_shared_object(src.tree() / path, "x"))


def test_fixed_archive_module_imports_without_a_second_libpython(tmp_path, debs):
    package = "python3-deeptoolsintervals"  # needs nothing but libc and Python
    src = debian_tree(tmp_path, package, debs[package])
    shared = src.tree() / SHARED
    _, maps = import_report(shared, "deeptoolsintervals.tree")
    assert len(maps) == 1 and maps[0].endswith(f"/{MULTIARCH}/libpython3.11.so.1.0"), maps
    src.run("--fix-libpython")
    modules = ("deeptoolsintervals", "deeptoolsintervals.tree", "deeptoolsintervals.parse")
    files, maps = import_report(shared, *modules)
    assert files[1] == str(shared / LIBPYTHON_PACKAGES[package]) and maps == []


@pytest.mark.parametrize("package", sorted(ABI3_PACKAGES))
def test_archive_abi3_packages_pass_the_stable_abi_check(tmp_path, debs, package):
    src = debian_tree(tmp_path, package, debs[package])
    before = snapshot(src.tree())
    plan, stderr = plan_json(src, "--strict")
    assert stderr == "" and plan["warnings"] == [] and plan["actions"] == []
    checked = {e["path"]: outcomes(e) for e in plan["extensions"]}
    assert checked == {
        f"{SHARED}/{path}": {
            "architecture": "pass",
            "init-function": "pass",
            "libpython": "pass",
            "stable-abi": "pass",
        }
        for path in ABI3_PACKAGES[package]
    }
    for path in ABI3_PACKAGES[package]:
        data = (src.tree() / SHARED / path).read_bytes()
        stem = path.rsplit("/", 1)[1].split(".")[0]
        facts = elf.extension_facts(data, stem)
        assert tuple(facts) == reference_facts(data, stem)
        assert len(facts.python_imports) > 5, path
    src.run("--strict")
    assert snapshot(src.tree()) == before
    assert src.substvars() == f"pyshared:Depends=python3 (>= {ABI3_NEEDS[package]}~), python3:any\n"
    needs = max(abi3info_needs((src.tree() / SHARED / path).read_bytes()) for path in ABI3_PACKAGES[package])
    assert needs == tuple(int(n) for n in ABI3_NEEDS[package].split("."))
