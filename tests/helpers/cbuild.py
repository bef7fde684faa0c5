"""Compile real ELF test fixtures with gcc, each variant once per test session.

Compiled objects are cached by a hash of (compiler, flags, source). The cache
is a private temporary directory removed at exit, or DH_PYSHARED_CBUILD_CACHE
to keep it across sessions (header changes are then not noticed).
"""

import atexit
import functools
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from string import Template

DEFAULT_INTERPRETER = "/usr/bin/python3"
BASE_FLAGS = ("-shared", "-fPIC", "-O2", "-g0", "-Wall")

_PY3_SOURCE = Template("""\
#define PY_SSIZE_T_CLEAN
$defines
#include <Python.h>
$declarations

/* Never called: makes the object import the symbols `body` names. */
void pyshared_test_references(PyObject *object)
{
    (void) object;
    $body
}

static struct PyModuleDef definition = {PyModuleDef_HEAD_INIT, "$module", NULL, -1, NULL};

PyMODINIT_FUNC PyInit_$init(void)
{
    PyObject *module = PyModule_Create(&definition);
    if (module == NULL)
        return NULL;
    if (PyModule_AddStringConstant(module, "variant", $value) < 0
        || PyModule_AddStringConstant(module, "version", PY_VERSION) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
""")

_PY2_SOURCE = Template("""\
#include <Python.h>

PyMODINIT_FUNC init$init(void)
{
    PyObject *module = Py_InitModule("$module", NULL);
    if (module == NULL)
        return;
    PyModule_AddStringConstant(module, "variant", $value);
    PyModule_AddStringConstant(module, "version", PY_VERSION);
}
""")

_PLAIN_LIBRARY_SOURCE = Template("int $function(void) { return 42; }\n")


def compile_extension(
    dest,
    module_name,
    *,
    include_dirs=None,
    major=3,
    value="default",
    link_libpython=False,
    init_name=None,
    cc="gcc",
    limited_api=None,
    body="",
    declarations="",
):
    """Build a real extension module at dest and return dest as a Path.

    Importing it gives attributes `variant` == value and `version` == the
    PY_VERSION of the headers it was built against. init_name replaces the
    module part of the init symbol (PyInit_<init_name>) to make it mismatch.
    major 2 uses Py_InitModule, so it needs python2.7 include_dirs.
    link_libpython: True links the interpreter's libpython; a string such as
    "python3.12" names the library.
    limited_api: Py_LIMITED_API's value (0x030b0000), for a stable-ABI build.
    body: C statements in a function never called (with PyObject *object in
    scope), to make the object import more symbols.
    declarations: C declarations at file scope, after Python.h (a weak one:
    `extern void f(void) __attribute__((weak));`).
    """
    init_name = init_name or module_name
    for name in (module_name, init_name):
        if not (name.isascii() and name.isidentifier()):
            raise ValueError(f"not a C identifier: {name!r}")
    if major == 3:
        template = _PY3_SOURCE
        include_dirs = include_dirs or _interpreter_facts()["include_dirs"]
    elif major == 2:
        if not include_dirs:
            raise ValueError("major=2 needs include_dirs with the python2.7 headers")
        template = _PY2_SOURCE
    else:
        raise ValueError(f"unsupported major version: {major!r}")
    flags = [f"-I{directory}" for directory in include_dirs]
    libraries = []
    if link_libpython:
        facts = _interpreter_facts()
        library = link_libpython if isinstance(link_libpython, str) else facts["library"]
        libraries = [f"-L{facts['library_dir']}", f"-l{library}"]
    defines = f"#define Py_LIMITED_API {limited_api:#010x}" if limited_api else ""
    source = template.substitute(
        module=module_name,
        init=init_name,
        value=_c_string(value),
        defines=defines,
        body=body,
        declarations=declarations,
    )
    return compile_c(dest, source, flags=flags, libraries=libraries, cc=cc)


def compile_plain_library(dest, function_name="answer"):
    """Build a ctypes-style shared library exporting int function_name(void), no init function."""
    return compile_c(dest, _PLAIN_LIBRARY_SOURCE.substitute(function=function_name))


def compile_c(dest, source, *, flags=(), libraries=(), cc="gcc"):
    """Compile C source into a shared object at dest (parents created); return dest as a Path.

    libraries go after the source file: Debian's gcc links with --as-needed,
    which drops a library named before the code that uses it.
    """
    command = [cc, *BASE_FLAGS, *flags]
    key = hashlib.sha256(json.dumps([command, source, list(libraries)]).encode()).hexdigest()
    cached = _cache_dir() / f"{key}.so"
    if not cached.exists():
        source_path = _cache_dir() / f"{key}.c"
        source_path.write_text(source)
        partial = cached.with_suffix(f".so.{os.getpid()}.tmp")
        result = subprocess.run(
            [*command, "-o", str(partial), str(source_path), *libraries],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} {source_path} failed:\n{result.stderr}")
        os.replace(partial, cached)
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(cached, dest)
    return dest


def truncated_copy(src, dest, length):
    """Write the first length bytes of src to dest; return dest as a Path."""
    dest = Path(dest)
    dest.write_bytes(Path(src).read_bytes()[:length])
    return dest


def _c_string(text):
    """text as a C string literal; octal escapes keep any byte (and trigraphs) harmless."""
    printable = (
        chr(byte) if 32 <= byte < 127 and chr(byte) not in '"\\?' else f"\\{byte:03o}"
        for byte in text.encode()
    )
    return '"' + "".join(printable) + '"'


@functools.cache
def _interpreter_facts():
    query = (
        "import json, sysconfig\n"
        "paths = sysconfig.get_paths()\n"
        "print(json.dumps({\n"
        "    'include_dirs': sorted({paths['include'], paths['platinclude']}),\n"
        "    'library_dir': sysconfig.get_config_var('LIBDIR'),\n"
        "    'library': 'python' + sysconfig.get_config_var('LDVERSION'),\n"
        "}))\n"
    )
    output = subprocess.run(
        [DEFAULT_INTERPRETER, "-c", query], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(output)


@functools.cache
def _cache_dir():
    configured = os.environ.get("DH_PYSHARED_CBUILD_CACHE")
    if configured:
        Path(configured).mkdir(parents=True, exist_ok=True)
        return Path(configured)
    directory = tempfile.mkdtemp(prefix="dh-pyshared-cbuild-")
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    return Path(directory)
