"""Proof in real hosts that extensions processed by dh_pyshared load, and that
the libpython check (pyshared_tools/rules/checks.py) predicts where they load.

* A C program built here dlopen()s libpython3.11 with RTLD_GLOBAL or
  RTLD_LOCAL, initialises the interpreter and imports processed modules: one
  built without libpython, one linked against it, and that one after
  --fix-libpython.  Which combinations import, and which map a libpython of
  their own, must be what prediction() (what rules/checks.py's libpython warning states) says, and Debian's
  /usr/bin/python3 is measured the same way.
* apache2 with libapache2-mod-wsgi-py3, started by the test on 127.0.0.1 and
  a free port with its own configuration, serves a WSGI app (in daemon mode,
  once per tree, and in embedded mode) that imports the same modules from the
  shared directory of the processed trees; the responses name the files that
  were imported and the libpython files mapped in the serving process.

The two-CPythons proof (3.11 and bullseye's 3.9 importing their own builds
from one directory) is tests/test_import.py.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import MULTIARCH, SUFFIX_311, SourcePackage

from pyshared_tools.rules import checks, elf

SITE = "usr/lib/python3.11/site-packages"
SHARED = "usr/lib/python3/dist-packages"
FIELDS = "X-Python3-Version: >= 3.11\n"
LIBPYTHON = "libpython3.11.so.1.0"
APACHE = "/usr/sbin/apache2"
APACHE_MODULES = Path("/usr/lib/apache2/modules")
# Which module of a processed tree, and whether its file links libpython there.
MODULES = {"plain": ("before", "_plain"), "linked": ("before", "_linked"), "fixed": ("after", "_linked")}


def prediction(links_libpython, host):
    """What the test measures, as the libpython warning states it: (imports, maps a
    libpython of its own) for an extension in `host`: "python3" (Debian's statically
    linked interpreter), "global" or "local" (a program that dlopen()s libpython
    with RTLD_GLOBAL or RTLD_LOCAL)."""
    if host == "python3":
        return True, links_libpython
    if host == "global":
        return True, False
    if host == "local":
        return links_libpython, False
    raise ValueError(f"unknown host {host!r}")


HOST_SOURCE = r"""
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

/* host global|local CODE: dlopen libpython with RTLD_GLOBAL or RTLD_LOCAL, run CODE. */
int main(int argc, char **argv)
{
    if (argc != 3)
        return 64;
    int scope = strcmp(argv[1], "global") == 0 ? RTLD_GLOBAL : RTLD_LOCAL;
    void *python = dlopen("LIBPYTHON", RTLD_NOW | scope);
    if (python == NULL) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 65;
    }
    void (*initialize)(int) = (void (*)(int)) dlsym(python, "Py_InitializeEx");
    int (*run)(const char *) = (int (*)(const char *)) dlsym(python, "PyRun_SimpleString");
    int (*finalize)(void) = (int (*)(void)) dlsym(python, "Py_FinalizeEx");
    if (initialize == NULL || run == NULL || finalize == NULL)
        return 66;
    initialize(0);
    int failed = run(argv[2]);
    finalize();
    return failed ? 1 : 0;
}
"""

# Imports foo.<module> from the shared directory; prints the libpython files
# mapped before and after the import, and the imported file.
IMPORT_CODE = """\
import json, sys
def mapped():
    paths = {line.split()[-1] for line in open('/proc/self/maps')}
    return sorted(p for p in paths if p.rsplit('/', 1)[-1].startswith('libpython'))
before = mapped()
sys.path.insert(0, SHARED)
import importlib
module = importlib.import_module('foo.' + NAME)
print(json.dumps({'before': before, 'after': mapped(), 'file': module.__file__, 'variant': module.variant}))
"""

WSGI_APP = """\
import json, os


def application(environ, start_response):
    import foo._linked
    import foo._plain
    paths = {line.split()[-1] for line in open('/proc/self/maps')}
    body = json.dumps({
        "plain": [foo._plain.variant, foo._plain.__file__],
        "linked": [foo._linked.variant, foo._linked.__file__],
        "libpython": sorted(p for p in paths if p.rsplit('/', 1)[-1].startswith('libpython')),
        "uid": os.getuid(),
        "process_group": environ.get("mod_wsgi.process_group"),
    }).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
"""


def processed_trees(directory):
    """Two processed copies of one upstream install: 'before' as dh_pyshared
    leaves it (a libpython warning), 'after' with --fix-libpython."""
    trees = {}
    for name, args in (("before", ()), ("after", ("--fix-libpython",))):
        src = SourcePackage(directory / name, source_fields=FIELDS)
        src.write(f"{SITE}/foo/__init__.py", "")
        src.extension(f"{SITE}/foo/_plain.so", value="plain build")
        src.extension(f"{SITE}/foo/_linked.so", value="linked build", link_libpython=True)
        document = json.loads(src.run("--json", *args).stdout)
        (package,) = document["packages"]
        outcome = {
            e["path"].rsplit("/", 1)[1].split(".")[0]: next(
                c["outcome"] for c in e["checks"] if c["check"] == "libpython"
            )
            for e in package["extensions"]
        }
        trees[name] = (src.tree() / SHARED, outcome)
    return trees


def links_libpython(path):
    return bool(checks.linked_libpython(elf.inspect_shared_object(path, path.name.split(".")[0])))


@pytest.fixture(scope="module")
def world_readable():
    """A directory apache's www-data workers can read (pytest's tmp_path is root's, mode 0700)."""
    directory = Path(tempfile.mkdtemp(prefix="dh-pyshared-hosts-", dir="/tmp"))
    directory.chmod(0o755)
    yield directory
    shutil.rmtree(directory)


@pytest.fixture(scope="module")
def trees(world_readable):
    return processed_trees(world_readable / "trees")


def test_the_checks_report_what_the_hosts_will_see(trees):
    before, before_outcome = trees["before"]
    after, after_outcome = trees["after"]
    assert before_outcome == {"_plain": "pass", "_linked": "warning"}
    assert after_outcome == {"_plain": "pass", "_linked": "fixed"}
    assert links_libpython(before / f"foo/_linked{SUFFIX_311}")
    assert not links_libpython(after / f"foo/_linked{SUFFIX_311}")
    assert not links_libpython(before / f"foo/_plain{SUFFIX_311}")


# --- dlopen -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dlopen_host(world_readable):
    source = world_readable / "host.c"
    source.write_text(HOST_SOURCE.replace("LIBPYTHON", LIBPYTHON))
    host = world_readable / "host"
    subprocess.run(["gcc", "-O2", "-Wall", "-Werror", "-o", str(host), str(source), "-ldl"], check=True)
    return host


def run_in_host(host, scope, shared, name):
    code = IMPORT_CODE.replace("SHARED", repr(str(shared))).replace("NAME", repr(name))
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    environment["PYTHONDONTWRITEBYTECODE"] = "1"
    command = ["/usr/bin/python3", "-I", "-S", "-c", code] if scope == "python3" else [str(host), scope, code]
    result = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=60)
    if result.returncode != 0:
        assert "ImportError" in result.stderr and "undefined symbol: Py" in result.stderr, result.stderr
        return None
    return json.loads(result.stdout)


def test_dlopen_hosts_load_what_the_check_predicts(trees, dlopen_host):
    observed, predicted = {}, {}
    for label, (tree, stem) in MODULES.items():
        shared = trees[tree][0]
        linked = links_libpython(shared / f"foo/{stem}{SUFFIX_311}")
        assert linked == (label == "linked")
        for scope in ("python3", "global", "local"):
            report = run_in_host(dlopen_host, scope, shared, stem)
            loads = report is not None
            own_copy = loads and len(report["after"]) > len(report["before"])
            if loads:
                assert report["file"] == str(shared / f"foo/{stem}{SUFFIX_311}")
                assert report["variant"] == ("linked build" if stem == "_linked" else "plain build")
                # Never two copies; the file is the one the soname names.
                assert len(report["after"]) == (0 if scope == "python3" and not linked else 1), report
                assert all(path.endswith(f"/{MULTIARCH}/{LIBPYTHON}") for path in report["after"]), report
            observed[label, scope] = (loads, own_copy)
            predicted[label, scope] = prediction(linked, scope)
    table = "\n".join(
        f"{label:7} {scope:8} imports={o[0]!s:5} own libpython={o[1]}"
        for (label, scope), o in observed.items()
    )
    assert observed == predicted, f"observed:\n{table}"
    # The facts the libpython warning states:
    assert observed["linked", "python3"] == (True, True)  # a second libpython in Debian's python3
    assert observed["plain", "global"] == (True, False)  # RTLD_GLOBAL hosts need no link
    assert observed["plain", "local"] == (False, False)  # only RTLD_LOCAL hosts do...


def test_rtld_local_host_cannot_import_debians_own_lib_dynload_modules(dlopen_host):
    """...and those cannot import the interpreter's own extension modules either."""
    module = next(Path("/usr/lib/python3.11/lib-dynload").glob(f"_json{SUFFIX_311}"))
    assert not links_libpython(module)
    code = "import _json; print(_json.__file__)"
    local = subprocess.run([str(dlopen_host), "local", code], capture_output=True, text=True)
    assert local.returncode == 1 and "undefined symbol: _Py" in local.stderr, local.stderr
    global_ = subprocess.run([str(dlopen_host), "global", code], capture_output=True, text=True)
    assert global_.returncode == 0 and global_.stdout.strip() == str(module), global_.stderr


# --- apache2 + mod_wsgi ----------------------------------------------------------------


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def apache_configuration(directory, port, trees):
    before, after = trees["before"][0], trees["after"][0]
    app = directory / "app.wsgi"
    app.write_text(WSGI_APP)
    return textwrap.dedent(f"""\
        ServerRoot {directory}
        ServerName 127.0.0.1
        Listen 127.0.0.1:{port}
        PidFile {directory}/apache2.pid
        DefaultRuntimeDir {directory}
        Mutex file:{directory} default
        ErrorLog {directory}/error.log
        LogLevel info
        User www-data
        Group www-data
        LoadModule mpm_event_module {APACHE_MODULES}/mod_mpm_event.so
        LoadModule authz_core_module {APACHE_MODULES}/mod_authz_core.so
        LoadModule wsgi_module {APACHE_MODULES}/mod_wsgi.so
        WSGISocketPrefix {directory}/wsgi
        WSGIPythonPath {before}
        WSGIDaemonProcess before python-path={before} processes=1 threads=1
        WSGIDaemonProcess after python-path={after} processes=1 threads=1
        WSGIScriptAlias /before {app} process-group=before application-group=%{{GLOBAL}}
        WSGIScriptAlias /after {app} process-group=after application-group=%{{GLOBAL}}
        WSGIScriptAlias /embedded {app} application-group=%{{GLOBAL}}
        <Directory {directory}>
            Require all granted
        </Directory>
        """)


@pytest.fixture(scope="module")
def apache(world_readable, trees):
    directory = world_readable / "apache"
    directory.mkdir(mode=0o755)
    port = free_port()
    configuration = directory / "apache2.conf"
    configuration.write_text(apache_configuration(directory, port, trees))
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "APACHE"))}
    log = directory / "error.log"
    server = subprocess.Popen(
        [APACHE, "-f", str(configuration), "-D", "FOREGROUND"],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            if server.poll() is not None:
                raise AssertionError(
                    f"apache2 exited with {server.returncode}: {server.stdout.read()}"
                    f"{log.read_text() if log.exists() else ''}"
                )
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError("apache2 did not listen within 30 s") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}", log
    finally:
        server.send_signal(signal.SIGTERM)  # apache's "stop now", to the parent only
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        server.stdout.close()


def fetch(base, path, log):
    try:
        with urllib.request.urlopen(f"{base}{path}", timeout=30) as response:
            return json.loads(response.read())
    except OSError as error:
        raise AssertionError(f"GET {path}: {error}\n{log.read_text()}") from error


@pytest.mark.parametrize("path, tree", [("/before", "before"), ("/after", "after"), ("/embedded", "before")])
def test_mod_wsgi_imports_processed_extensions_from_the_shared_directory(apache, trees, path, tree):
    base, log = apache
    shared = trees[tree][0]
    answer = fetch(base, path, log)
    assert answer["plain"] == ["plain build", str(shared / f"foo/_plain{SUFFIX_311}")]
    assert answer["linked"] == ["linked build", str(shared / f"foo/_linked{SUFFIX_311}")]
    assert links_libpython(shared / f"foo/_linked{SUFFIX_311}") == (tree == "before")
    # mod_wsgi.so itself links libpython; apache loads it RTLD_GLOBAL: one copy serves all.
    assert len(answer["libpython"]) == 1 and answer["libpython"][0].endswith(f"/{LIBPYTHON}"), answer
    assert answer["process_group"] == ("" if path == "/embedded" else tree)
    assert answer["uid"] == 33  # www-data: a real, unprivileged worker
