"""dh_pyshared exits without Python's module teardown when nothing waits for
it, with the same status and output; an atexit handler or another thread
gets the ordinary exit."""

import subprocess

import pytest
from conftest import TOOL

# Put first on PYTHONPATH: site imports it at start-up, in place of the system's.
SITECUSTOMIZE = """
import os, sys
MARKER = os.environ["EXIT_MARKER"]


class Finalized:
    # Everything it calls is bound now: the teardown clears the module's globals.
    def __del__(self, marker=MARKER, opener=os.open, write=os.write, close=os.close,
                flags=os.O_WRONLY | os.O_APPEND | os.O_CREAT):
        descriptor = opener(marker, flags, 0o644)
        write(descriptor, b"teardown\\n")
        close(descriptor)


finalized = Finalized()
if os.environ.get("EXIT_ATEXIT"):
    import atexit

    atexit.register(lambda: open(MARKER, "a").write("atexit\\n"))
if os.environ.get("EXIT_THREAD"):
    import threading

    threading.Thread(target=__import__("time").sleep, args=(0.2,)).start()
"""


def run_with_site(src, tmp_path, *args, **extra):
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    marker = tmp_path / "marker"
    marker.unlink(missing_ok=True)
    result = src.run(*args, env={"PYTHONPATH": str(site), "EXIT_MARKER": str(marker), **extra}, check=False)
    return result, (marker.read_text().split() if marker.exists() else [])


def demo(make_source):
    src = make_source()
    src.write("usr/lib/python3.11/site-packages/demo/__init__.py", "")
    src.write("usr/lib/python3.11/site-packages/demo/core.py", "VALUE = 1\n")
    return src


def test_a_run_exits_without_module_teardown_with_its_status_and_files(make_source, tmp_path):
    src = demo(make_source)
    result, marker = run_with_site(src, tmp_path)
    assert result.returncode == 0, result.stderr
    assert marker == []
    assert "py3compile -p python3-demo" in (src.root / "debian/python3-demo.postinst.debhelper").read_text()
    assert (src.root / "debian/python3-demo/usr/lib/python3/dist-packages/demo/core.py").exists()


def test_the_output_is_complete_and_an_error_keeps_its_status(make_source, tmp_path):
    src = demo(make_source)
    plan, marker = run_with_site(src, tmp_path, "--no-act")
    assert plan.returncode == 0 and marker == []
    assert (
        plan.stdout
        == subprocess.run(
            [str(TOOL), "--no-act"], cwd=src.root, capture_output=True, text=True, env=src_env()
        ).stdout
    )
    assert "demo/core.py" in plan.stdout
    refused, marker = run_with_site(src, tmp_path, "--no-such-option")
    assert refused.returncode != 0 and refused.stderr.startswith("dh_pyshared: error: ")
    assert marker == []


def src_env():
    import os

    from conftest import HOST

    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DH_", "DEB_"))}
    environment.update(HOST)
    return environment


@pytest.mark.parametrize("waiting", ["EXIT_ATEXIT", "EXIT_THREAD"])
def test_an_atexit_handler_or_another_thread_gets_the_ordinary_exit(make_source, tmp_path, waiting):
    src = demo(make_source)
    result, marker = run_with_site(src, tmp_path, **{waiting: "1"})
    assert result.returncode == 0, result.stderr
    assert "teardown" in marker
    assert ("atexit" in marker) == (waiting == "EXIT_ATEXIT")
