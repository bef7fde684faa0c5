"""Multi-Arch: same packages (issue 14): every architecture's build installs the
same paths, so what dh_pyshared places must carry the triplet, and the scripts
must name the package with its architecture."""

import pytest
from conftest import HOST, MULTIARCH, snapshot

SHARED = "usr/lib/python3/dist-packages"
SITE = "usr/lib/python3.11/site-packages"


@pytest.fixture
def same(make_source):
    src = make_source()
    control = src.root / "debian/control"
    control.write_text(
        control.read_text().replace("Architecture: any\n", "Architecture: any\nMulti-Arch: same\n")
    )
    return src


def test_a_tagged_tree_passes_strict_and_the_scripts_name_the_architecture(same):
    same.extension(f"{SITE}/foo/_speed.so")
    same.write(f"{SITE}/foo/__init__.py")
    result = same.run("--strict")
    assert result.stderr == ""
    names = sorted(p.name for p in (same.tree() / SHARED / "foo").iterdir())
    assert names == ["__init__.py", f"_speed.cpython-311-{MULTIARCH}.so"]
    arch = HOST["DEB_HOST_ARCH"]
    postinst = (same.root / "debian/python3-demo.postinst.debhelper").read_text()
    prerm = (same.root / "debian/python3-demo.prerm.debhelper").read_text()
    assert f"\t\t\tpy3compile -p python3-demo:{arch}\n" in postinst
    assert f"dpkg-query -L python3-demo:{arch} |" in postinst
    assert f"\t\t\tpy3clean -p python3-demo:{arch}\n" in prerm
    assert f"dpkg-query -L python3-demo:{arch} |" in prerm
    assert "python3-demo " not in postinst + prerm


def test_without_multi_arch_same_the_scripts_keep_the_bare_name(make_source):
    src = make_source()
    src.write(f"{SITE}/foo/__init__.py")
    src.run("--strict")
    postinst = (src.root / "debian/python3-demo.postinst.debhelper").read_text()
    assert "\t\t\tpy3compile -p python3-demo\n" in postinst


PROBLEMS = [
    (
        "--tag abi3 keeps the plain name",
        ("--tag", "abi3"),
        lambda src: src.extension(f"{SHARED}/foo/_speed.so", limited_api=0x03020000),
        f"/{SHARED}/foo/_speed.abi3.so",
        "extension without the architecture triplet",
    ),
    (
        "a ctypes library",
        (),
        lambda src: src.library(f"{SITE}/foo/libhelper.so"),
        f"/{SHARED}/foo/libhelper.so",
        "ELF file in a path without the architecture",
    ),
]


@pytest.mark.parametrize(
    ("args", "build", "path", "what"), [p[1:] for p in PROBLEMS], ids=[p[0] for p in PROBLEMS]
)
def test_a_file_without_the_triplet_is_a_warning_and_an_error_with_strict(same, args, build, path, what):
    build(same)
    same.write(f"{SITE}/foo/__init__.py")
    before = snapshot(same.tree())
    result = same.run("--strict", *args, check=False)
    assert result.returncode != 0
    assert what in result.stderr
    assert f"{path} in python3-demo" in result.stderr
    assert snapshot(same.tree()) == before
    result = same.run(*args)
    (warning,) = [line for line in result.stderr.splitlines() if path in line]
    assert warning.startswith(f"dh_pyshared: warning: {what}")
    assert warning.endswith("drop Multi-Arch: same")
