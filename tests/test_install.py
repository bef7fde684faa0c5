"""`python3 -m pip install .` from a checkout installs a working dh_pyshared
with its dependencies (fetched from the package index into a fresh venv), and
the stable-ABI table, so the abi3 check works without abi3info."""

import subprocess
import sys
from pathlib import Path

from conftest import CHECKOUT, HOST, SourcePackage


def test_pip_install_puts_a_working_dh_pyshared_on_path(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run(["/usr/bin/python3", "-m", "venv", str(venv)], check=True)
    install = subprocess.run(
        [str(venv / "bin/python3"), "-m", "pip", "install", "--quiet", str(CHECKOUT)],
        capture_output=True, text=True, cwd=tmp_path,
    )
    assert install.returncode == 0, install.stderr
    tool = venv / "bin" / "dh_pyshared"
    assert tool.is_file()
    version = subprocess.run([str(tool), "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.strip().endswith("0.1.0")

    source = SourcePackage(tmp_path / "src")
    source.write("usr/lib/python3.11/site-packages/foo/__init__.py", "")
    source.extension("usr/lib/python3.11/site-packages/foo/_speed.so")
    source.extension("usr/lib/python3.11/site-packages/foo/_stable.abi3.so", limited_api=0x030B0000)
    environment = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", **HOST}
    run = subprocess.run([str(tool), "--strict"], cwd=source.root, env=environment, capture_output=True,
                         text=True)
    assert run.returncode == 0 and run.stderr == "", run.stderr  # the abi3 check read its table
    # The snippets came from the pre-rendered table (the templates pip installed
    # are the ones it was made from), not from Jinja2.
    (source.root / "debian/python3-demo.postinst.debhelper").unlink()  # written again below
    timed = subprocess.run([str(tool)], cwd=source.root, env={**environment, "PYTHONPROFILEIMPORTTIME": "1"},
                           capture_output=True, text=True)
    imported = {line.split("|")[-1].strip() for line in timed.stderr.splitlines()}
    assert timed.returncode == 0 and "pyshared_tools.prerendered" in imported, timed.stderr
    assert "jinja2" not in imported
    postinst = source.root / "debian/python3-demo.postinst.debhelper"
    assert "py3compile -p python3-demo" in postinst.read_text()
    shared = source.tree() / "usr/lib/python3/dist-packages/foo"
    assert sorted(p.name for p in shared.iterdir()) == [
        "__init__.py", f"_speed.cpython-311-{HOST['DEB_HOST_MULTIARCH']}.so", "_stable.abi3.so",
    ]
    probe = ("import debian, jinja2, packaging, sh, elftools, pyshared_tools; "
             "print(pyshared_tools.__file__)")
    location = subprocess.run([str(venv / "bin/python3"), "-c", probe], capture_output=True, text=True,
                              check=True, cwd=tmp_path).stdout
    assert location.startswith(str(venv)), f"imported from {location}, not the venv: {sys.path}"
    table = Path(location.strip()).parent / "stable_abi.txt"
    assert table.read_bytes() == (CHECKOUT / "pyshared_tools/stable_abi.txt").read_bytes()
    no_abi3info = subprocess.run([str(venv / "bin/python3"), "-c", "import abi3info"], capture_output=True,
                                 cwd=tmp_path)
    assert no_abi3info.returncode == 1, "abi3info is installed: it is a regeneration-time need only"
    # A violation is still found.
    bad = SourcePackage(tmp_path / "bad", source_fields="X-Python3-Version: >= 3.11\n")
    bad.extension("usr/lib/python3.11/site-packages/foo/_bad.abi3.so",
                  body="PyDict_SetDefault(object, object, object);")
    run = subprocess.run([str(tool)], cwd=bad.root, env=environment, capture_output=True, text=True)
    assert run.returncode == 1
    assert run.stderr.startswith("dh_pyshared: error: stable-ABI extension uses symbols outside the stable "
                                 "ABI of Python 3.11 (the lowest supported version): PyDict_SetDefault "
                                 "(not in the stable ABI), "), run.stderr
