"""Python 3.13 for real: trixie's interpreter in a debootstrap root.

The tag table's 3.13 row must be what trixie's python3.13 imports, and an
extension that python3.13 built, renamed by dh_pyshared from that table (no
3.13 on the build machine to ask), must import in trixie from the shared
directory.
"""

import json
import shutil

import pytest
from conftest import MULTIARCH
from helpers.buildroots import trixie_tarball
from helpers.chroot import Chroot

from pyshared_tools.rules import tags

SOURCE = """\
#include <Python.h>
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_speed", NULL, -1, NULL};
PyMODINIT_FUNC PyInit__speed(void) {
    PyObject *m = PyModule_Create(&module);
    if (m) PyModule_AddStringConstant(m, "built_with", PY_VERSION);
    return m;
}
"""


@pytest.fixture(scope="module")
def trixie(tmp_path_factory):
    # The build root of test_build_roots.py (python3-dev and gcc among its packages): one trixie
    # debootstrap for both modules.
    with Chroot.unpack(tmp_path_factory.mktemp("trixie"), tarball=trixie_tarball()) as chroot:
        yield chroot


def test_the_313_row_is_what_trixies_interpreter_imports(trixie):
    answer = json.loads(trixie.run("python3", "-c", tags._QUERY_SCRIPT).stdout)
    assert answer["version"] == [3, 13]
    assert list(tags.table_suffixes((3, 13), MULTIARCH)) == answer["EXTENSION_SUFFIXES"]


def test_a_313_build_renamed_from_the_table_imports_in_trixie(trixie, make_source):
    build = trixie.path("/tmp/build")
    build.mkdir()
    (build / "speed.c").write_text(SOURCE)
    include = trixie.run("python3", "-c", "import sysconfig; print(sysconfig.get_path('include'))").stdout
    trixie.run(
        "gcc", "-shared", "-fPIC", f"-I{include.strip()}", "-o", "/tmp/build/_speed.so", "/tmp/build/speed.c"
    )
    src = make_source()
    site = src.tree() / "usr/lib/python3.13/site-packages/demo"
    site.mkdir(parents=True)
    (site / "__init__.py").write_text("")
    shutil.copy(build / "_speed.so", site / "_speed.so")
    result = src.run()
    # Built on bookworm, whose only supported version is 3.11: 3.13 is reported, and kept.
    assert "warning: stale tag: extension for Python 3.13" in result.stderr
    shared = src.tree() / "usr/lib/python3/dist-packages/demo"
    assert sorted(p.name for p in shared.iterdir()) == ["__init__.py", f"_speed.cpython-313-{MULTIARCH}.so"]
    assert "python3 (>= 3.13~), python3 (<< 3.14)" in src.substvars()
    shutil.copytree(shared, trixie.path("/usr/lib/python3/dist-packages/demo"))
    result = trixie.run("python3", "-c", "import demo._speed as s; print(s.__file__, s.built_with)")
    imported_file, built_with = result.stdout.split()
    assert imported_file == f"/usr/lib/python3/dist-packages/demo/_speed.cpython-313-{MULTIARCH}.so"
    assert built_with.startswith("3.13.")
