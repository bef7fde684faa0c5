"""The core tree tests pass when an ordinary user runs them, as dh runs
dh_pyshared under `Rules-Requires-Root: no` (root passes every write check
whatever a directory's mode, so a root-only run hides what the build user
meets). As root, the build user is tests/helpers/builduser.py's account; the
inner run must collect and pass every test those files hold.
"""

import os
import re
import shutil
import subprocess
import sys

import pytest
from conftest import CHECKOUT, SourcePackage
from helpers import builduser, debbuild
from helpers.bad_input import SITE, assert_refused, run_as_build_user, upstream_tree

CORE = (
    "tests/test_layouts.py",
    "tests/test_resume.py",
    "tests/test_bad_input.py",
    "tests/test_outputs_cli.py",
    "tests/test_hostile_names.py",
)
SUMMARY = re.compile(r"^=*\s*(?P<counts>(?:\d+ \w+(?:, )?)+) in [\d.]+s", re.MULTILINE)


@pytest.fixture
def build_user_dir():
    directory = builduser.scratch("dh-pyshared-core-")
    yield directory
    shutil.rmtree(directory)


def counts(output):
    """{"passed": 141, ...} from pytest's last summary line."""
    found = SUMMARY.findall(output)
    assert found, f"no summary line in:\n{output[-3000:]}"
    return {word: int(number) for number, word in re.findall(r"(\d+) (\w+)", found[-1])}


def collected(checkout):
    """How many tests the core files hold, collected here (root or not)."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "--collect-only", "-p", "no:cacheprovider", *CORE],
        cwd=checkout,
        env=debbuild.clean_environment({"PYTHONDONTWRITEBYTECODE": "1"}),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    (number,) = re.findall(r"^(\d+) tests? collected", result.stdout, re.MULTILINE)
    return int(number)


def test_the_core_tree_tests_pass_as_the_build_user(build_user_dir):
    checkout = builduser.readable_copy(CHECKOUT, build_user_dir, debbuild.copy_source)
    home = build_user_dir / "home"
    home.mkdir()
    builduser.give(home)
    environment = debbuild.clean_environment(
        {
            "HOME": str(home),
            "PYSHARED_TEST_CACHE": str(home / "cache"),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    result = builduser.run(
        [
            "/usr/bin/python3",
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--basetemp={home / 'tmp'}",
            *CORE,
        ],
        cwd=checkout,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-6000:]
    found = counts(result.stdout)
    assert found == {"passed": collected(CHECKOUT)}, result.stdout[-3000:]
    assert found["passed"] > 0


def test_a_directory_of_another_user_is_named_with_its_owner(build_user_dir):
    """chmod u+w would not help the build user there: the message says whose it is.
    (Root hands the directory to itself, so this one runs as root.)"""
    assert builduser.is_root(), "run as root: the test makes root the owner of a directory"
    src = SourcePackage(build_user_dir / "src")
    upstream_tree(src)
    builduser.give(src.root)
    os.chown(src.tree() / SITE / "foo", 0, 0)
    uid, _gid = builduser.identity()
    message = (
        f"cannot write debian/python3-demo/{SITE}/foo (mode 0755 owned by uid 0), needed to move its module "
        f"__init__.py out, make it writable by uid {uid} (the user running dh_pyshared) in debian/rules "
        "before dh_pyshared"
    )
    assert_refused(src, runner=run_as_build_user(src), expect=(message,))
