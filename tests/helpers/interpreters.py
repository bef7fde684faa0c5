"""Real CPython interpreters for the tests.

bookworm's own /usr/bin/python3.11, and bullseye's python3.9 and python2.7
unpacked from their .debs: the ones pinned in tests/data/archive-pins.txt,
fetched by tests/helpers/archive.py (from the archive this machine's apt
uses, or snapshot.debian.org), and unpacked once into $PYSHARED_TEST_CACHE
(default ~/.cache/dh-pyshared-tests).  Any failure to fetch raises: the tests
fail loudly, they never skip.
"""

import fcntl
import functools
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

BULLSEYE_PACKAGES = (
    "python3.9-minimal",
    "libpython3.9-minimal",
    "libpython3.9-stdlib",
    "python3.9",
    "libpython3.9-dev",
    "python3.9-dev",
    "python2.7-minimal",
    "libpython2.7-minimal",
    "libpython2.7-stdlib",
    "libpython2.7-dev",
    "python2.7-dev",
)
ARCHIVE_KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
SYSTEM_SOURCES_DIR = Path("/etc/apt/sources.list.d")
SYSTEM_SOURCES_LIST = Path("/etc/apt/sources.list")
HOST_SUITE = "bookworm"
ROOT_NAME = "bullseye-pinned-root"
MARKER_NAME = f"{ROOT_NAME}.ok"

# Both PyInit_<name> (Python 3) and init<name> (Python 2); not linked to
# libpython, as Debian builds extensions.
EXTENSION_SOURCE = """\
#include <Python.h>
#if PY_MAJOR_VERSION >= 3
static struct PyModuleDef definition = {PyModuleDef_HEAD_INIT, "@NAME@", NULL, -1, NULL};
PyMODINIT_FUNC PyInit_@NAME@(void) {
    PyObject *module = PyModule_Create(&definition);
    if (module) PyModule_AddStringConstant(module, "variant", "@VARIANT@");
    return module;
}
#else
PyMODINIT_FUNC init@NAME@(void) {
    PyObject *module = Py_InitModule("@NAME@", NULL);
    if (module) PyModule_AddStringConstant(module, "variant", "@VARIANT@");
}
#endif
"""


class FetchError(RuntimeError):
    """What the tests download (interpreters, archive .debs) could not be fetched or unpacked."""


@dataclass
class Interpreter:
    version: tuple[int, int]
    executable: str
    env: dict[str, str] = field(repr=False)
    include_dirs: list[str]

    def run(self, args, **kwargs):
        """Run the interpreter with `args`; checked, text output captured unless overridden."""
        kwargs.setdefault("env", self.env)
        check = kwargs.pop("check", True)
        kwargs.setdefault("capture_output", True)
        kwargs.setdefault("text", True)
        return subprocess.run([self.executable, *args], check=check, **kwargs)

    def build_extension(self, name, output, variant=""):
        """Compile a trivial extension module `name` into `output`."""
        output = Path(output)
        source = output.with_name(f"{name}-{variant or 'module'}.c")
        text = EXTENSION_SOURCE.replace("@NAME@", name).replace("@VARIANT@", variant)
        source.write_text(text)
        includes = [f"-I{directory}" for directory in self.include_dirs]
        command = ["gcc", "-shared", "-fPIC", *includes, "-o", str(output), str(source)]
        subprocess.run(command, check=True, capture_output=True, text=True)
        return output


def _clean_environment():
    return {name: value for name, value in os.environ.items() if not name.startswith("PYTHON")}


def _include_dirs(usr, version):
    name = f"python{version[0]}.{version[1]}"
    candidates = [usr / "include" / name, *sorted((usr / "include").glob(f"*/{name}"))]
    return [str(directory) for directory in candidates if directory.is_dir()]


@functools.cache
def bookworm_python311():
    usr = Path("/usr")
    return Interpreter(
        (3, 11),
        "/usr/bin/python3.11",
        _clean_environment(),
        _include_dirs(usr, (3, 11)),
    )


@functools.cache
def bullseye_python39():
    return _unpacked_interpreter((3, 9))


@functools.cache
def bullseye_python27():
    return _unpacked_interpreter((2, 7))


def _unpacked_interpreter(version):
    usr = bullseye_root() / "usr"
    executable = usr / "bin" / f"python{version[0]}.{version[1]}"
    env = {**_clean_environment(), "PYTHONHOME": str(usr)}
    # Debian's pyconfig.h does #include <MULTIARCH/pythonX.Y/pyconfig.h>.
    include_dirs = [*_include_dirs(usr, version), str(usr / "include")]
    return Interpreter(version, str(executable), env, include_dirs)


def cache_directory():
    configured = os.environ.get("PYSHARED_TEST_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "dh-pyshared-tests"


@functools.cache
def bullseye_root():
    """The directory the pinned bullseye .debs are unpacked into; fetched on first use."""
    from helpers.archive import fetch_debs  # which imports this module

    cache = cache_directory()
    cache.mkdir(parents=True, exist_ok=True)
    root = cache / ROOT_NAME
    marker = cache / MARKER_NAME
    # Other test runs may share the cache: one fetches, the others wait.
    with open(cache / f"{ROOT_NAME}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        debs = sorted(fetch_debs(BULLSEYE_PACKAGES, "bullseye-debs").values())
        expected = "".join(f"{deb.name}\n" for deb in debs)
        if marker.exists() and marker.read_text() == expected:
            return root
        marker.unlink(missing_ok=True)
        shutil.rmtree(root, ignore_errors=True)
        for deb in debs:
            _run(["dpkg-deb", "-x", str(deb), str(root)])
        marker.write_text(expected)
    return root


def _run(command, **kwargs):
    completed = subprocess.run(command, check=False, capture_output=True, text=True, **kwargs)
    if completed.returncode != 0:
        raise FetchError(f"{' '.join(command)} failed ({completed.returncode}):\n{completed.stderr}")
    return completed


def archive_uri(sources_dir=SYSTEM_SOURCES_DIR, sources_list=SYSTEM_SOURCES_LIST):
    """The URI of the main (not security) archive this machine's apt uses for bookworm."""
    for path in sorted(Path(sources_dir).glob("*.sources")):
        for stanza in _deb822_stanzas(path.read_text()):
            suites = stanza.get("suites", "").split()
            enabled = stanza.get("enabled", "yes").lower() != "no"
            if enabled and "deb" in stanza.get("types", "").split() and HOST_SUITE in suites:
                return stanza["uris"].split()[0]
    if Path(sources_list).exists():
        for line in Path(sources_list).read_text().splitlines():
            words = _without_options(line.split("#", 1)[0].split())
            if len(words) >= 3 and words[0] == "deb" and words[2] == HOST_SUITE:
                return words[1]
    raise FetchError(f"no '{HOST_SUITE}' archive in {sources_dir}/*.sources or {sources_list}")


def _deb822_stanzas(text):
    stanzas, current, last_key = [], {}, None
    for line in [*text.splitlines(), ""]:
        if line.startswith("#"):
            continue
        if not line.strip():
            if current:
                stanzas.append(current)
            current, last_key = {}, None
        elif line[0].isspace() and last_key:
            current[last_key] += " " + line.strip()
        else:
            key, _, value = line.partition(":")
            last_key = key.strip().lower()
            current[last_key] = value.strip()
    return stanzas


def _without_options(words):
    """Drop a one-line source's '[arch=amd64 signed-by=...]' options."""
    if len(words) > 1 and words[1].startswith("["):
        closing = next(i for i, word in enumerate(words) if word.endswith("]"))
        return [words[0], *words[closing + 1 :]]
    return words
