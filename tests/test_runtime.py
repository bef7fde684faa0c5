"""dh_pyshared where maintainers build (issue 11): with every sh release Debian
or pip installs, without /proc, and with external commands that fail in every
way sh reports, always through pyshared_tools/commands.py.

The tool runs as a real subprocess on a tree with a gcc-built extension.
Without /proc means a private mount namespace (unshare) with an empty tmpfs
over /proc, so that /dev/fd, a link into /proc, leads nowhere, as in a
debootstrap chroot nobody mounted /proc in.  A python3.11 that misbehaves is a
script bind-mounted over /usr/bin/python3.11 in such a namespace; the tool then
runs under /usr/bin/python3.11d, which is another executable, so that it has
to ask /usr/bin/python3.11 (the interpreter running the tool answers without a
spawn).
"""

import json
import os
import shlex
import subprocess
from pathlib import Path

import pytest
from conftest import HOST, SUFFIX_311, TOOL, snapshot
from helpers.bad_input import assert_refused
from helpers.shreleases import sh_release

SITE = "usr/lib/python3.11/site-packages"
SHARED = "usr/lib/python3/dist-packages"
FIELDS = "X-Python3-Version: >= 3.11\n"
TARGET = f"{SHARED}/foo/_speed{SUFFIX_311}"
TAG = SUFFIX_311[1:].removesuffix(".so")
SYSTEM_SH = "1.14.2"
DEBUG_PYTHON = "/usr/bin/python3.11d"
QUERIED_PYTHON = "/usr/bin/python3.11"
QUERY = f"{QUERIED_PYTHON} -I -S -c <query>"
DPKG_ARCHITECTURE = "/usr/bin/dpkg-architecture"

# Put first on the tool's PYTHONPATH: records at exit which sh the tool imported.
PROBE = """\
import atexit, json, os, sys

def _record():
    sh = sys.modules.get("sh")
    with open(os.environ["PYSHARED_PROBE"], "w") as out:
        json.dump({"version": getattr(sh, "__version__", None), "file": getattr(sh, "__file__", None)}, out)

atexit.register(_record)
"""


def extension_source(make_source, name="src"):
    src = make_source(name, source_fields=FIELDS)
    src.extension(f"{SITE}/foo/_speed.so")
    src.write(f"{SITE}/foo/__init__.py")
    return src


@pytest.fixture
def reference(make_source):
    """The tree the tool makes where nothing is unusual (DEB_HOST_* exported, bookworm's sh)."""
    src = extension_source(make_source, "reference")
    src.run()
    return snapshot(src.root)


@pytest.fixture
def probe(tmp_path):
    directory = tmp_path / "probe"
    directory.mkdir()
    (directory / "sitecustomize.py").write_text(PROBE)
    return directory


def probed(probe):
    return json.loads((probe / "record.json").read_text())


def run_tool(src, *args, env=None, export_arch=False, python=None, pythonpath=(), mounts=(),
             hide_proc=False, check=True):  # fmt: skip
    """dh_pyshared in src.root; with `mounts` (source, target) or `hide_proc`, in a
    private mount namespace with those bind mounts and an empty tmpfs on /proc."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DH_", "DEB_", "PYTHON"))}
    if export_arch:
        environment.update(HOST)
    if pythonpath:
        environment["PYTHONPATH"] = os.pathsep.join(map(str, pythonpath))
        environment["PYSHARED_PROBE"] = str(Path(pythonpath[0]) / "record.json")
    environment.update(env or {})
    command = [python, str(TOOL), *args] if python else [str(TOOL), *args]
    if mounts or hide_proc:
        script = "set -e\n"
        script += "".join(f"mount --bind {shlex.quote(str(a))} {shlex.quote(str(b))}\n" for a, b in mounts)
        script += "mount -t tmpfs none /proc\n" if hide_proc else ""
        script += 'exec "$@"\n'
        command = ["unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", script, "sh", *command]
    result = subprocess.run(command, cwd=src.root, env=environment, capture_output=True, text=True)
    if check and (result.returncode != 0 or result.stderr):
        raise AssertionError(f"dh_pyshared {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
    return result


def shim(directory, name, body, mode=0o755):
    """An executable `name` in `directory` (made if missing) with the shell `body`."""
    directory.mkdir(exist_ok=True)
    path = directory / name
    path.write_text(body if body.startswith("#!") else f"#!/bin/sh\n{body}\n")
    path.chmod(mode)
    return path


def assert_done(src, reference):
    assert (src.tree() / TARGET).is_file()
    assert not (src.tree() / SITE).exists()
    after = snapshot(src.root)
    assert after == reference, sorted(set(after.items()) ^ set(reference.items()))


# --- sh 2.x: trixie's 2.2.1, pip's 2.4.0 ----------------------------------------


@pytest.mark.parametrize("version", ["2.2.1", "2.4.0"])
@pytest.mark.parametrize("how", ["--tag", "query"])
def test_sh_2_without_exported_architecture(make_source, reference, probe, version, how):
    """`fakeroot debian/rules binary` by hand, or a pip install: no DEB_HOST_*, sh 2.x.
    With --tag only dpkg-architecture runs; asking the interpreters (the tool under
    python3.11d) runs /usr/bin/python3.11 too."""
    src = extension_source(make_source)
    args, python = ([f"--tag={TAG}"], None) if how == "--tag" else ([], DEBUG_PYTHON)
    run_tool(src, *args, python=python, pythonpath=[probe, sh_release(version)])
    record = probed(probe)
    assert record["version"] == version and Path(record["file"]).is_relative_to(sh_release(version))
    assert_done(src, reference)


# --- without /proc --------------------------------------------------------------


def test_namespace_hides_proc(tmp_path):
    """What the tests below rely on: /proc is empty and /dev/fd leads nowhere."""
    script = 'test -z "$(ls -A /proc)" && ! test -e /dev/fd && ! test -e /proc/self && echo hidden'
    result = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
         f"mount -t tmpfs none /proc && {script}"], capture_output=True, text=True,
    )  # fmt: skip
    assert result.stdout == "hidden\n", result.stderr
    assert os.path.isdir("/proc/self"), "the test's own /proc is untouched"


@pytest.mark.parametrize("version", [SYSTEM_SH, "2.4.0"])
@pytest.mark.parametrize("python", [None, DEBUG_PYTHON])
def test_without_proc_dpkg_architecture_and_the_interpreter_query_run(
    make_source, reference, probe, version, python
):
    """A build chroot without /proc: dpkg-architecture runs, and so does
    /usr/bin/python3.11 when the tool runs under another interpreter."""
    src = extension_source(make_source)
    path = [probe] if version == SYSTEM_SH else [probe, sh_release(version)]
    run_tool(src, python=python, pythonpath=path, hide_proc=True)
    assert probed(probe)["version"] == version
    assert_done(src, reference)


def test_without_proc_dpkg_buildpackage_case_spawns_nothing(make_source, reference, tmp_path):
    """Under dpkg-buildpackage DEB_HOST_* are exported, and the interpreter running
    the tool is the one to ask: no command runs at all (with sh made unimportable,
    importing it would fail)."""
    src = extension_source(make_source)
    no_sh = tmp_path / "no-sh"
    no_sh.mkdir()
    (no_sh / "sh.py").write_text("raise ImportError('this test forbids sh')\n")
    run_tool(src, export_arch=True, pythonpath=[no_sh], hide_proc=True)
    assert_done(src, reference)


@pytest.mark.parametrize("version", [SYSTEM_SH, "2.4.0"])
def test_commands_get_only_the_standard_descriptors(make_source, probe, tmp_path, version):
    """_close_fds=False loses nothing (PEP 446): dpkg-architecture and patchelf, run
    while the journal and the ELF files are open, see fds 0, 1 and 2 and no other
    (the tool itself was given no other: subprocess closes them)."""
    src = extension_source(make_source)
    src.extension(f"{SITE}/foo/_linked.so", link_libpython=True)
    fake = tmp_path / "fake-bin"
    for name, real in (("dpkg-architecture", DPKG_ARCHITECTURE), ("patchelf", "/usr/bin/patchelf")):
        shim(fake, name, (
            "#!/usr/bin/python3 -I\nimport fcntl, os, sys\n"
            "def is_open(fd):\n    try:\n        return fcntl.fcntl(fd, fcntl.F_GETFD) >= 0\n"
            "    except OSError:\n        return False\n"
            "fds = sorted(int(fd) for fd in os.listdir('/proc/self/fd') if is_open(int(fd)))\n"
            f"with open({str(tmp_path / 'fds.log')!r}, 'a') as log:\n"
            f"    print({name!r}, fds, file=log)\n"
            f"os.execv({real!r}, [{real!r}, *sys.argv[1:]])\n"
        ))  # fmt: skip
    path = [probe] if version == SYSTEM_SH else [probe, sh_release(version)]
    run_tool(src, "--fix-libpython", env={"PATH": f"{fake}:{os.environ['PATH']}"}, pythonpath=path)
    assert probed(probe)["version"] == version
    assert (tmp_path / "fds.log").read_text().splitlines() == [
        "dpkg-architecture [0, 1, 2]",
        "patchelf [0, 1, 2]",
    ]


# --- every way a command fails: one error line, the tree untouched ---------------


def refuse(src, expect, **kw):
    return assert_refused(
        src, expect=expect, runner=lambda *args, check: run_tool(src, *args, check=False, **kw)
    )


DPKG_ARCHITECTURE_FAILURES = {
    # SignalException_SIGKILL
    "killed": ("kill -KILL $$", ["dpkg-architecture was killed by signal SIGKILL"]),
    # SignalException_SIGUSR1 after a complete answer, which must not be used
    "killed-after-output": (
        f"{DPKG_ARCHITECTURE}; kill -USR1 $$",
        ["dpkg-architecture was killed by signal SIGUSR1"],
    ),
    # ErrorReturnCode_2
    "exit-2": (
        "printf 'first\\nsecond \\033[31mred\\n' >&2; exit 2",
        ["dpkg-architecture failed with exit code 2: first; second ?[31mred"],
    ),
    "not-utf-8": (
        f"{DPKG_ARCHITECTURE}; printf 'DEB_HOST_X=\\377\\n'",
        ["dpkg-architecture printed output that is not UTF-8"],
    ),
}


@pytest.mark.parametrize("version", [SYSTEM_SH, "2.4.0"])
@pytest.mark.parametrize("failure", sorted(DPKG_ARCHITECTURE_FAILURES))
def test_failing_dpkg_architecture_is_one_error_line(make_source, probe, tmp_path, version, failure):
    body, expect = DPKG_ARCHITECTURE_FAILURES[failure]
    src = extension_source(make_source)
    fake = tmp_path / "fake-bin"
    shim(fake, "dpkg-architecture", body)
    path = [probe] if version == SYSTEM_SH else [probe, sh_release(version)]
    refuse(src, [*expect, "while reading the build architecture"],
           env={"PATH": f"{fake}:{os.environ['PATH']}"}, pythonpath=path)  # fmt: skip
    assert probed(probe)["version"] == version


UNSTARTABLE = {
    # CommandNotFound
    "missing": (None, "dpkg-architecture is not installed, while reading the build architecture, "
                "install dpkg-dev or export the DEB_HOST_* variables"),
    "not-executable": (0o644, "dpkg-architecture is not installed: {fake}/dpkg-architecture is not an "
                       "executable file"),
    # ForkException: the child's exec fails, and sh's exception pipe says why
    "exec-format": (0o755, "dpkg-architecture could not be started: {fake}/dpkg-architecture: "
                    "Exec format error, while reading"),
    "missing-interpreter": (0o755, "dpkg-architecture could not be started: {fake}/dpkg-architecture names "
                            "the missing #! interpreter /nonexistent/perl, while reading"),
}  # fmt: skip


@pytest.mark.parametrize("version", [SYSTEM_SH, "2.4.0"])
@pytest.mark.parametrize("case", sorted(UNSTARTABLE))
def test_unstartable_dpkg_architecture_is_one_error_line(make_source, probe, tmp_path, version, case):
    mode, expect = UNSTARTABLE[case]
    src = extension_source(make_source)
    fake = tmp_path / "fake-bin"
    fake.mkdir()
    if mode is not None:
        content = "#!/nonexistent/perl\n" if case == "missing-interpreter" else "\x7fELF garbage\n"
        (fake / "dpkg-architecture").write_text(content)
        (fake / "dpkg-architecture").chmod(mode)
    path = [probe] if version == SYSTEM_SH else [probe, sh_release(version)]
    # PATH: the fake directory alone (the tool starts through its #!/usr/bin/python3).
    refuse(src, [expect.format(fake=fake)], env={"PATH": str(fake)}, pythonpath=path)


def test_missing_sh_is_one_error_line(make_source, tmp_path):
    src = extension_source(make_source)
    no_sh = tmp_path / "no-sh"
    no_sh.mkdir()
    (no_sh / "sh.py").write_text("raise ImportError('this test forbids sh')\n")
    expect = ["the Python module sh is not installed, needed to run dpkg-architecture", "install python3-sh"]
    refuse(src, expect, pythonpath=[no_sh])


BROKEN_PYTHONS = {
    "not-an-object": ("echo 42", [f"{QUERIED_PYTHON} printed no answer about its extension suffixes",
                                  "extension suffixes but '42', while asking"]),
    "wrong-types": (
        """echo '{"version": [3, 11], "EXTENSION_SUFFIXES": [".so", 7]}'""",
        [f"{QUERIED_PYTHON} printed no answer about its extension suffixes"],
    ),
    "hostile-suffix": (
        """echo '{"version": [3, 11], "EXTENSION_SUFFIXES": ["/../../x.so"]}'""",
        [f"{QUERIED_PYTHON} printed no answer about its extension suffixes"],
    ),
    "not-utf-8": ("printf '\\377\\n'", [f"{QUERY} printed output that is not UTF-8"]),
    "killed": ("kill -TERM $$", [f"{QUERY} was killed by signal SIGTERM"]),
    "exit-2": ("echo 'line one' >&2; echo 'line two' >&2; exit 2",
               [f"{QUERY} failed with exit code 2: line one; line two"]),
}  # fmt: skip


@pytest.mark.parametrize("version", [SYSTEM_SH, "2.4.0"])
@pytest.mark.parametrize("case", sorted(BROKEN_PYTHONS))
def test_broken_interpreter_is_one_error_line(make_source, probe, tmp_path, version, case):
    body, expect = BROKEN_PYTHONS[case]
    src = extension_source(make_source)
    broken = shim(tmp_path / "broken", "python3.11", body)
    path = [probe] if version == SYSTEM_SH else [probe, sh_release(version)]
    expect = [*expect, f"while asking {QUERIED_PYTHON} which extension suffixes it imports"]
    mounts = [(broken, QUERIED_PYTHON)]
    refuse(src, expect, export_arch=True, python=DEBUG_PYTHON, pythonpath=path, mounts=mounts)
    assert probed(probe)["version"] == version


def test_unstartable_patchelf_is_one_error_line_and_a_rerun_finishes(make_source, tmp_path):
    """patchelf fails inside apply: one error line; the journal then lets a run with
    a working patchelf finish the tree as if nothing had happened."""
    reference = extension_source(make_source, "reference")
    reference.extension(f"{SITE}/foo/_linked.so", link_libpython=True)
    run_tool(reference, "--fix-libpython", export_arch=True)
    src = extension_source(make_source)
    src.extension(f"{SITE}/foo/_linked.so", link_libpython=True)
    fake = tmp_path / "fake-bin"
    shim(fake, "patchelf", "#!/nonexistent/patchelf-interpreter\n")
    result = run_tool(src, "--fix-libpython", export_arch=True, check=False,
                      env={"PATH": f"{fake}:{os.environ['PATH']}"})  # fmt: skip
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == (
        "dh_pyshared: error: patchelf --remove-needed libpython3.11.so.1.0 could not be started: "
        f"{fake}/patchelf names the missing #! interpreter /nonexistent/patchelf-interpreter, "
        f"on {SHARED}/foo/_linked{SUFFIX_311} in debian/python3-demo, "
        "install a working patchelf, or drop --fix-libpython\n"
    )
    run_tool(src, "--fix-libpython", export_arch=True)
    assert snapshot(src.root) == snapshot(reference.root)
