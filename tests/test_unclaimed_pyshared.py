"""Real bookworm packages whose /usr/share/pyshared no Python helper made
(issue 13, item 8): libchewing3 ships Python 2 code there
(`raise AttributeError, name`), wireshark-dev helper scripts
(`make-plugin-reg.py`).  dh_pyshared leaves both where they are with a
warning, writes no byte-compiling snippet and no python3 dependency, and the
packages rebuilt from its output (with whatever snippets it wrote) install
with real dpkg in a throwaway bookworm root.
"""

import shutil
import subprocess

import pytest
from conftest import SourcePackage, snapshot
from helpers.archive import fetch_debs
from helpers.chroot import Chroot

PACKAGES = ("libchewing3", "wireshark-dev")
CACHE_NAME = "bookworm-unclaimed-pyshared-debs"
SCRIPTS = ("preinst", "postinst", "prerm", "postrm")


@pytest.fixture(scope="module")
def debs():
    return fetch_debs(PACKAGES, CACHE_NAME)


@pytest.fixture(scope="module")
def root():
    with Chroot.unpack() as chroot:
        yield chroot


def field(deb, name):
    return subprocess.run(
        ["dpkg-deb", "-f", str(deb), name], capture_output=True, text=True, check=True
    ).stdout.strip()


def rebuilt_deb(src, package, deb, directory):
    """The .deb of dh_pyshared's output tree: the original control files, and
    each maintainer script the original had or a debhelper snippet needs,
    with the snippet in it (as dh_installdeb would put it)."""
    tree = directory / "tree"
    shutil.copytree(src.tree(), tree, symlinks=True)
    control = tree / "DEBIAN"
    subprocess.run(["dpkg-deb", "-e", str(deb), str(control)], check=True)
    for script in SCRIPTS:
        snippet = src.root / "debian" / f"{package}.{script}.debhelper"
        if snippet.exists():
            path = control / script
            body = path.read_text() if path.exists() else "#!/bin/sh\nset -e\n"
            path.write_text(body + snippet.read_text())
            path.chmod(0o755)
    output = directory / f"{package}.deb"
    subprocess.run(
        ["dpkg-deb", "--root-owner-group", "--build", str(tree), str(output)], check=True, capture_output=True
    )
    return output


@pytest.mark.parametrize("package", PACKAGES)
def test_pyshared_no_helper_made_is_left_alone_and_installs(tmp_path, debs, root, package):
    deb = debs[package]
    src = SourcePackage(
        tmp_path / "src",
        packages=((package, field(deb, "Architecture")),),
        source_fields="X-Python3-Version: >= 3.11\n",
    )
    src.tree().mkdir(parents=True, exist_ok=True)
    subprocess.run(["dpkg-deb", "-x", str(deb), str(src.tree())], check=True)
    pyshared = sorted(p.name for p in (src.tree() / "usr/share/pyshared").rglob("*.py"))
    assert pyshared, f"{package} ships no .py in /usr/share/pyshared"
    before = snapshot(src.tree())
    result = src.run()
    assert snapshot(src.tree()) == before
    assert result.stderr == (
        "dh_pyshared: warning: usr/share/pyshared holds files no Python helper made (no farm link, "
        f"no helper metadata), usr/share/pyshared in {package}, left where they are: install them "
        "where they belong\n"
    )
    assert "python3" not in (src.substvars() or "")
    assert not list((src.root / "debian").glob("*.debhelper"))
    strict = src.run("--strict", check=False)
    assert strict.returncode != 0 and strict.stderr.startswith(
        "dh_pyshared: error: 1 leftover(s) with --strict"
    )
    assert snapshot(src.tree()) == before

    rebuilt = rebuilt_deb(src, package, deb, tmp_path)
    inside = f"/tmp/{rebuilt.name}"
    shutil.copy(rebuilt, root.path(inside))
    installed = root.dpkg("--force-depends", "-i", inside, check=False)
    assert installed.returncode == 0, installed.stderr
    status = root.dpkg("-s", package).stdout
    assert "Status: install ok installed" in status
    for name in pyshared:
        assert list(root.path("/usr/share/pyshared").rglob(name)), name
    assert not root.path("/usr/lib/python3/dist-packages/chewing.py").exists()
    removed = root.dpkg("--purge", "--force-depends", package, check=False)
    assert removed.returncode == 0, removed.stderr


def test_pyshared_scan_reports_them_as_informational_not_as_rebuilds(tmp_path, debs):
    from conftest import CHECKOUT

    def scan(*args):
        return subprocess.run(
            ["/usr/bin/python3", str(CHECKOUT / "bin" / "pyshared-scan"), "--supported", "3.11", *args],
            capture_output=True,
            text=True,
            env={"XDG_CACHE_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
        )

    import json

    result = scan("--json", *debs.values())
    assert result.returncode == 0, result.stderr
    findings = json.loads(result.stdout)["findings"]
    assert {(f["package"], f["path"], f["code"], f["severity"]) for f in findings} == {
        (package, "usr/share/pyshared", "unclaimed-pyshared", "info") for package in PACKAGES
    }
    listing = scan("--rebuild-list", *debs.values())
    assert listing.returncode == 0 and listing.stdout == "", listing
