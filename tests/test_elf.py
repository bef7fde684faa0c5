import glob
import importlib.util
import io
import json
import os
import re
import struct
import subprocess
import tempfile
from pathlib import Path

import pytest

from pyshared_tools.errors import TreeError
from pyshared_tools.rules import elf
from tests.helpers import elfref
from tests.helpers.cbuild import (
    compile_c,
    compile_extension,
    compile_plain_library,
    truncated_copy,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
PYTHON = "/usr/bin/python3"
CFFI_BACKEND = "/usr/lib/python3/dist-packages/_cffi_backend.cpython-311-x86_64-linux-gnu.so"
LIB_DYNLOAD = "/usr/lib/python3.11/lib-dynload"
# read_candidate never follows links, and libz.so.1 is one
LIBZ = os.path.realpath("/usr/lib/x86_64-linux-gnu/libz.so.1")
TAG = "cpython-311-x86_64-linux-gnu"


def run_python(script, *args, user=None):
    command = [PYTHON, "-c", script, *map(str, args)]
    if user:
        command = [
            "setpriv",
            f"--reuid={user}",
            "--regid=nogroup",
            "--clear-groups",
            *command,
        ]
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), PYTHONDONTWRITEBYTECODE="1")
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def module_of(path, stem, where=None):
    """The module the Python 3 extension `path` named `stem` initialises, else None."""
    facts = elf.inspect_shared_object(path, stem, where)
    return facts and facts.module


@pytest.fixture
def extension(tmp_path):
    return compile_extension(tmp_path / f"foo.{TAG}.so", "foo", value="fixture")


def test_compiled_extension_is_importable_and_reports_its_build(tmp_path):
    path = compile_extension(tmp_path / f"probe.{TAG}.so", "probe", value='odd "value"?\\ é')
    spec = importlib.util.spec_from_file_location("probe", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.variant == 'odd "value"?\\ é'
    assert module.version == "3.11.2"


def test_extension_exporting_pyinit_of_its_stem(extension):
    assert module_of(extension, "foo") == "foo"
    assert "PyInit_foo" in elfref.exported_functions(extension.read_bytes())


def test_imported_python_functions_are_not_exported(extension):
    facts = elf.inspect_shared_object(extension, "foo")
    assert facts.init_functions == ("PyInit_foo",)
    assert {"PyModule_Create2", "PyModule_AddStringConstant"} <= set(facts.python_imports)


def test_mismatching_init_name(tmp_path):
    path = compile_extension(tmp_path / "foo.so", "foo", init_name="bar")
    assert module_of(path, "foo") is None
    assert module_of(path, "bar") == "bar"


def test_old_module_so_spelling(tmp_path):
    path = compile_extension(tmp_path / "foomodule.so", "foo")
    assert module_of(path, "foomodule") == "foo"


def test_stem_ending_in_module_that_is_the_module_name(tmp_path):
    path = compile_extension(tmp_path / "foomodule.so", "foomodule")
    assert module_of(path, "foomodule") == "foomodule"


def test_python2_style_init_is_not_a_python3_extension(tmp_path):
    path = compile_c(tmp_path / "foo.so", "void initfoo(void) {}\n")
    assert module_of(path, "foo") is None


def test_python2_style_init_with_module_so_spelling_is_not_a_python3_extension(tmp_path):
    path = compile_c(tmp_path / "foomodule.so", "void initfoo(void) {}\n")
    assert module_of(path, "foomodule") is None


def test_weak_init_function_counts(tmp_path):
    source = "__attribute__((weak)) void *PyInit_foo(void) { return 0; }\n"
    path = compile_c(tmp_path / "foo.so", source)
    assert module_of(path, "foo") == "foo"


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("int PyInit_foo = 1;\n", id="data-object"),
        pytest.param(
            '__attribute__((visibility("hidden"))) void *PyInit_foo(void) { return 0; }\n'
            "void *keep(void) { return PyInit_foo(); }\n",
            id="hidden-function",
        ),
        pytest.param(
            "extern void *PyInit_foo(void);\nvoid *call(void) { return PyInit_foo(); }\n",
            id="undefined-reference",
        ),
    ],
)
def test_init_name_present_but_not_an_exported_function(tmp_path, source):
    path = compile_c(tmp_path / "foo.so", source)
    # The name is in the file, so the parse, not the prefilter, decides.
    assert b"PyInit_foo\0" in path.read_bytes()
    assert module_of(path, "foo") is None


def test_init_function_imported_from_another_library_is_not_exported(tmp_path):
    compile_c(tmp_path / "libprovider.so", "void *PyInit_foo(void) { return 0; }\n")
    user_source = "extern void *PyInit_foo(void);\nvoid *call(void) { return PyInit_foo(); }\n"
    # Linking against the provider makes the undefined symbol STT_FUNC, not STT_NOTYPE.
    path = compile_c(tmp_path / "foo.so", user_source, libraries=[f"-L{tmp_path}", "-lprovider"])
    assert module_of(path, "foo") is None
    assert elf.needed_sonames(path.read_bytes()) == ("libprovider.so",)


def test_ctypes_library(tmp_path):
    path = compile_plain_library(tmp_path / "foo.so")
    assert module_of(path, "foo") is None
    assert elfref.exported_functions(path.read_bytes()) == {"answer"}


def test_lib_prefixed_shared_library(tmp_path):
    path = compile_plain_library(tmp_path / "libfoo.so", function_name="foo_version")
    assert module_of(path, "libfoo") is None


def test_text_file_named_like_an_extension(tmp_path):
    path = tmp_path / "foo.so"
    path.write_bytes(b"not ELF, but mentions PyInit_foo\0 and initfoo\0")
    assert not elf.is_elf(path.read_bytes())
    assert module_of(path, "foo") is None
    assert elf.extension_facts(path.read_bytes(), "foo") is None
    assert elf.needed_sonames(path.read_bytes()) == ()


def test_gnu_ld_script(tmp_path):
    path = tmp_path / "libfoo.so"
    path.write_text("/* GNU ld script */\nINPUT(libfoo.so.1 AS_NEEDED(libfoo_extra.so.1))\n")
    assert not elf.is_elf(path.read_bytes())
    assert module_of(path, "libfoo") is None


def test_zero_length_file(tmp_path):
    path = tmp_path / "foo.so"
    path.touch()
    assert elf.read_candidate(path) == b""
    assert module_of(path, "foo") is None


@pytest.mark.parametrize("length", [4, 10, 100, "half", "all-but-one"])
@pytest.mark.parametrize("stem", ["foo", "other"])
def test_truncated_elf(extension, tmp_path, length, stem):
    size = extension.stat().st_size
    length = {"half": size // 2, "all-but-one": size - 1}.get(length, length)
    path = truncated_copy(extension, tmp_path / "cut.so", length)
    with pytest.raises(TreeError) as raised:
        elf.inspect_shared_object(path, stem, where="usr/lib/python3/dist-packages/foo.so")
    assert str(raised.value) == (
        "truncated or corrupt ELF file, usr/lib/python3/dist-packages/foo.so, "
        "rebuild it or remove it from the package"
    )


@pytest.mark.parametrize(
    "field_offset, value",
    [
        pytest.param(56, 0, id="dynsym-entsize-zero"),
        pytest.param(40, "self", id="dynsym-links-to-itself"),
        pytest.param(24, 1 << 40, id="dynsym-offset-beyond-file"),
    ],
)
def test_corrupt_but_complete_elf(extension, field_offset, value):
    from elftools.elf.elffile import ELFFile

    data = bytearray(extension.read_bytes())
    parsed = ELFFile(io.BytesIO(bytes(data)))
    index = next(i for i, section in enumerate(parsed.iter_sections()) if section.name == ".dynsym")
    header = parsed["e_shoff"] + index * parsed["e_shentsize"]
    field_format = "<I" if field_offset == 40 else "<Q"  # Elf64_Shdr: sh_link is 32-bit
    struct.pack_into(field_format, data, header + field_offset, index if value == "self" else value)
    with pytest.raises(TreeError, match=r"^truncated or corrupt ELF file, foo\.so, "):
        elf.extension_facts(bytes(data), "foo", where="foo.so")
    with pytest.raises(TreeError, match=r"^truncated or corrupt ELF file"):
        elf.needed_sonames(bytes(data))


def test_unknown_elf_class_is_corrupt(extension):
    data = bytearray(extension.read_bytes())
    data[4] = 7
    with pytest.raises(TreeError, match=r"^truncated or corrupt ELF file"):
        elf.extension_facts(bytes(data), "other")


@pytest.mark.parametrize("target", ["real", "dangling"])
def test_symlink_is_not_followed(extension, tmp_path, target):
    link = tmp_path / "link.so"
    link.symlink_to(extension if target == "real" else tmp_path / "missing.so")
    with pytest.raises(TreeError, match=r"^symbolic link where a regular file was expected, "):
        elf.read_candidate(link)
    with pytest.raises(TreeError, match=re.escape(f", {link}, ")):
        elf.inspect_shared_object(link, "foo")


@pytest.mark.parametrize("kind", ["fifo", "directory"])
def test_non_regular_file_is_refused_without_blocking(tmp_path, kind):
    path = tmp_path / "foo.so"
    os.mkfifo(path) if kind == "fifo" else path.mkdir()
    with pytest.raises(TreeError, match=r"^not a regular file, "):
        elf.read_candidate(path)


def test_missing_file(tmp_path):
    with pytest.raises(TreeError, match=r"^cannot read file \(No such file or directory\), "):
        elf.read_candidate(tmp_path / "gone.so")


def test_unreadable_file_as_unprivileged_user(extension):
    script = (
        "import json, sys\n"
        "from pyshared_tools.rules import elf\n"
        "from pyshared_tools.errors import TreeError\n"
        "results = []\n"
        "for path in sys.argv[1:]:\n"
        "    try:\n"
        "        results.append(elf.inspect_shared_object(path, 'foo').module)\n"
        "    except TreeError as exc:\n"
        "        results.append(str(exc))\n"
        "print(json.dumps(results))\n"
    )
    with tempfile.TemporaryDirectory() as directory:
        os.chmod(directory, 0o755)
        readable = Path(directory, "readable", "foo.so")
        readable.parent.mkdir(mode=0o755)
        readable.write_bytes(extension.read_bytes())
        readable.chmod(0o644)
        unreadable = Path(directory, "foo.so")
        unreadable.write_bytes(extension.read_bytes())
        unreadable.chmod(0o600)
        assert os.stat(unreadable).st_uid == 0
        results = run_python(script, readable, unreadable, user="nobody")
    assert results == [
        "foo",
        f"cannot read file (Permission denied), {unreadable}, make it readable or remove it from the package",
    ]


def test_cffi_backend_from_the_archive():
    assert module_of(CFFI_BACKEND, "_cffi_backend") == "_cffi_backend"


def test_every_lib_dynload_module_is_an_extension_of_its_stem():
    paths = sorted(glob.glob(f"{LIB_DYNLOAD}/*.so"))
    assert len(paths) > 30
    wrong = {}
    for path in paths:
        stem = os.path.basename(path).split(".")[0]
        data = elf.read_candidate(path)
        facts = elf.extension_facts(data, stem)
        if facts.module != stem:
            wrong[path] = facts.module
    assert wrong == {}


def test_real_c_library_is_not_an_extension():
    data = elf.read_candidate(LIBZ)
    assert elf.extension_facts(data, "libz").module is None
    assert "zlibVersion" in elfref.exported_functions(data)
    assert "libc.so.6" in elf.needed_sonames(data)


def test_dt_needed_shows_libpython_only_when_linked(tmp_path):
    plain = compile_extension(tmp_path / "plain.so", "foo")
    linked = compile_extension(tmp_path / "linked.so", "foo", link_libpython=True)
    assert not any(name.startswith("libpython") for name in elf.needed_sonames(plain.read_bytes()))
    assert "libpython3.11.so.1.0" in elf.needed_sonames(linked.read_bytes())


def test_classification_never_imports_pyelftools(tmp_path, extension):
    library = compile_plain_library(tmp_path / "libfoo.so")
    script = (
        "import json, sys\n"
        "from pyshared_tools.rules import elf\n"
        "imported_by_module = 'elftools' in sys.modules\n"
        "sys.modules['elftools'] = None\n"
        "library, extension = (elf.read_candidate(path) for path in sys.argv[1:])\n"
        "results = [imported_by_module,\n"
        "           elf.extension_facts(library, 'foo').module,\n"
        "           elf.extension_facts(extension, 'bar').module,\n"
        "           elf.extension_facts(extension, 'foo').module]\n"
        "print(json.dumps(results))\n"
    )
    assert run_python(script, library, extension) == [False, None, None, "foo"]


def test_helper_builds_each_variant_once(tmp_path, monkeypatch):
    from tests.helpers import cbuild

    commands = []
    real_run = cbuild.subprocess.run

    def recording_run(command, **kwargs):
        commands.append(command)
        return real_run(command, **kwargs)

    monkeypatch.setattr(cbuild.subprocess, "run", recording_run)
    first = compile_extension(tmp_path / "a" / "foo.so", "foo", value="cache-probe")
    second = compile_extension(tmp_path / "b" / "foo.so", "foo", value="cache-probe")
    assert sum(command[0] == "gcc" for command in commands) == 1
    assert first.read_bytes() == second.read_bytes()
