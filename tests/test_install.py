"""`python3 -m pip install .` from a checkout installs a working dh_pyshared
with its dependencies (fetched from the package index into a fresh venv)."""

import subprocess
import sys

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
    assert run.returncode == 0 and run.stderr == "", run.stderr  # the abi3 check found abi3info
    shared = source.tree() / "usr/lib/python3/dist-packages/foo"
    assert sorted(p.name for p in shared.iterdir()) == [
        "__init__.py", f"_speed.cpython-311-{HOST['DEB_HOST_MULTIARCH']}.so", "_stable.abi3.so",
    ]
    probe = ("import debian, jinja2, packaging, sh, elftools, abi3info, pyshared_tools; "
             "print(pyshared_tools.__file__)")
    location = subprocess.run([str(venv / "bin/python3"), "-c", probe], capture_output=True, text=True,
                              check=True, cwd=tmp_path).stdout
    assert location.startswith(str(venv)), f"imported from {location}, not the venv: {sys.path}"
