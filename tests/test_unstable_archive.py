"""Real unstable packages (issue 14): each turned back into one upstream install per
version, run through dh_pyshared in the unstable root, must give the tree
unstable ships and its python3 bounds.

Each package's usr/lib/python3/dist-packages becomes
usr/lib/python3.14/site-packages and usr/lib/python3.15/site-packages, as a
`setup.py install` for each version leaves them: that version's extension
untagged (`foo.so`), the stable-ABI one as `foo.abi3.so` in both, every other
file in both.  dh_pyshared runs inside the root (its interpreters answer,
with unstable's libraries).  Tagged packages must get unstable's
`python3 (>= 3.14~), python3 (<< 3.16)`; for an abi3 one, unstable's
dh_python3 writes no version at all, where dh_pyshared writes at least 3.13
(the first version importing `.abi3-<multiarch>.so`).
"""

import hashlib
import os
import re
import subprocess
from pathlib import Path

import pytest
from conftest import MULTIARCH, control_text
from helpers.foreign import fetch_debs
from helpers.unstable import copy_tool, unpack

# Small packages whose amd64 .deb ships a cpython-314 and a cpython-315 extension.
TAGGED = (
    "python3-bcrypt", "python3-biosig", "python3-cccolutils", "python3-chm", "python3-cracklib",
    "python3-crc32c", "python3-crypt-r", "python3-ecmwflibs", "python3-espeak", "python3-fiu",
    "python3-gi-cairo", "python3-gpib", "python3-hiredis", "python3-hivex", "python3-hunspell",
    "python3-iptcdata", "python3-lru-dict", "python3-lzf", "python3-lzo", "python3-markupsafe",
    "python3-mutf8", "python3-netifaces", "python3-onewire", "python3-pam", "python3-poezio-poopt",
    "python3-portio", "python3-pycosat", "python3-pyfribidi", "python3-pyisomd5sum", "python3-qrencode",
    "python3-rcssmin", "python3-rjsmin", "python3-rpds-py", "python3-setproctitle", "python3-snappy",
    "python3-blake3", "python3-jellyfish",
)  # fmt: skip
# Packages whose extension is foo.abi3-<multiarch>.so.
ABI3 = ("python3-cryptography", "python3-nh3", "python3-safetensors")
SHARED = "usr/lib/python3/dist-packages"
VERSIONS = ("3.14", "3.15")
TAGGED_NAME = re.compile(rf"(?P<stem>[^/.]+)\.cpython-3(?P<minor>\d+)-{re.escape(MULTIARCH)}\.so")
ABI3_NAME = re.compile(rf"(?P<stem>[^/.]+)\.abi3-{re.escape(MULTIARCH)}\.so")
PYTHON3_VERSION = re.compile(r"python3 \((?:>=|<<) [^)]*\)")


@pytest.fixture(scope="module")
def debs():
    return fetch_debs(tuple(f"{name}:amd64" for name in TAGGED + ABI3), "unstable-debs", suite="unstable")


@pytest.fixture(scope="module")
def unstable(tmp_path_factory):
    with unpack(tmp_path_factory.mktemp("unstable-archive")) as chroot:
        yield chroot, copy_tool(chroot)


def files(root):
    """{relative path: sha256} of the regular files below root (no links expected)."""
    found = {}
    for directory, _, names in os.walk(root):
        for name in names:
            path = Path(directory) / name
            assert not path.is_symlink(), path
            found[path.relative_to(root).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def upstream_name(rel, version):
    """Where a version's setup.py install puts the shipped file `rel`; None if not for `version`."""
    directory, _, name = rel.rpartition("/")
    prefix = f"{directory}/" if directory else ""
    if tagged := TAGGED_NAME.fullmatch(name):
        return f"{prefix}{tagged['stem']}.so" if f"3.{tagged['minor']}" == version else None
    if abi3 := ABI3_NAME.fullmatch(name):
        return f"{prefix}{abi3['stem']}.abi3.so"
    return rel


@pytest.mark.parametrize("name", TAGGED + ABI3)
def test_a_real_package_rebuilt_from_upstream_installs_is_what_unstable_ships(debs, unstable, tmp_path, name):
    chroot, tool = unstable
    deb = debs[f"{name}:amd64"]
    shipped_root = tmp_path / "shipped"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(shipped_root)], check=True)
    shipped = files(shipped_root / SHARED)
    assert len({rel for rel in shipped if rel.endswith(".so")}) >= 1
    source = chroot.path(f"/tmp/rebuild/{name}")
    (source / "debian").mkdir(parents=True)
    (source / "debian/control").write_text(control_text([(name, "any")]))
    tree = source / "debian" / name
    for version in VERSIONS:
        for rel in shipped:
            target = upstream_name(rel, version)
            if target is None:
                continue
            path = tree / f"usr/lib/python{version}/site-packages" / target
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes((shipped_root / SHARED / rel).read_bytes())
    result = chroot.run("env", "-C", f"/tmp/rebuild/{name}", tool, check=False)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tree / "usr/lib").iterdir()) == ["python3"]
    assert files(tree / SHARED) == shipped
    substvars = (source / f"debian/{name}.substvars").read_text()
    (depends,) = [
        line.split("=", 1)[1] for line in substvars.splitlines() if line.startswith("pyshared:Depends=")
    ]
    ours = sorted(PYTHON3_VERSION.findall(depends))
    theirs = sorted(
        PYTHON3_VERSION.findall(subprocess.check_output(["dpkg-deb", "-f", str(deb), "Depends"], text=True))
    )
    if name in ABI3:
        assert theirs == []
        (lower,) = ours
        bound = tuple(int(part) for part in re.search(r"(\d+)\.(\d+)~", lower).groups())
        assert bound >= (3, 13)
    else:
        assert ours == theirs == ["python3 (<< 3.16)", "python3 (>= 3.14~)"]
