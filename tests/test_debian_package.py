"""The tool's own Debian package, its dh add-on, and the example source package,
each built once with the real dpkg-buildpackage from a copy (the checkout is
never written to), checked with lintian, and used as a maintainer would:

* dh-pyshared_*.deb: the commands dh_pyshared and pyshared-scan in /usr/bin,
  the library private in /usr/share/dh-pyshared with its stable-ABI table, the
  templates, dh_pyshared(1), pyshared-scan(1) and the add-on pyshared.pm;
  lintian reports no error and no warning; both commands run from the unpacked
  package with its private library (the abi3 check without abi3info, which
  Debian does not have), and their --help agrees with their man pages;
* its dh add-on puts dh_pyshared after dh_python3 and dh_installinit and
  before dh_usrlocal, dh_link, dh_strip, dh_shlibdeps and dh_installdeb,
  whichever way it and python3 are enabled (compat 13 and 14); its PROMISE
  line lets dh skip the
  command only for a package tree without any place the tool reads;
* examples/pyshared-demo, `dh $@ --with pyshared` over an old-style upstream
  install, built with the unpacked tool (PATH and PERL5LIB: the .deb is not
  installed on this machine), lintian-clean, installed with dpkg into a
  throwaway bookworm root, and imported there by the real python3.
"""

import gzip
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import CHECKOUT, HOST, MULTIARCH
from helpers import builduser, debbuild
from helpers.chroot import Chroot, base_tarball
from helpers.manpage_checks import assert_same_options, assert_scan_page_matches, groff_warnings, help_text

from pyshared_tools import __version__
from pyshared_tools.rules import layouts

EXAMPLE = CHECKOUT / "examples" / "pyshared-demo"
TAGGED = f"_speedups.cpython-311-{MULTIARCH}.so"
SHARED = "/usr/lib/python3/dist-packages"
PROMISE = re.compile(r"^# PROMISE: DH NOOP WITHOUT (.*)$", re.MULTILINE)


@pytest.fixture(scope="module")
def tool(tmp_path_factory):
    """The dh-pyshared package built from a copy of the checkout."""
    directory = tmp_path_factory.mktemp("tool")
    source = debbuild.copy_source(CHECKOUT, directory / "dh-pyshared")
    return debbuild.dpkg_buildpackage(source)


@pytest.fixture(scope="module")
def tool_root(tool, tmp_path_factory):
    """The tool's .deb unpacked: what dpkg would install, under a temporary root."""
    return debbuild.unpack(tool.deb("dh-pyshared"), tmp_path_factory.mktemp("tool-root"))


@pytest.fixture(scope="module")
def example(tool_root, tmp_path_factory):
    """examples/pyshared-demo built with dpkg-buildpackage and the freshly built tool."""
    source = debbuild.copy_source(EXAMPLE, tmp_path_factory.mktemp("example") / "pyshared-demo")
    # -d: the build dependency dh-pyshared is satisfied by PATH and PERL5LIB, not by dpkg.
    return debbuild.dpkg_buildpackage(source, "-d", env=debbuild.tool_environment(tool_root))


# The tool's package.


def assert_lintian_clean(changes):
    code, tags = debbuild.lintian(changes)
    assert not [tag for tag in tags if tag.startswith(("E:", "W:"))], "\n".join(tags)
    assert code == 0, tags


def test_the_tool_package_is_lintian_clean(tool):
    assert_lintian_clean(tool.changes)


def test_the_tool_package_installs_in_debian_places(tool):
    deb = tool.deb("dh-pyshared")
    assert deb.name == f"dh-pyshared_{__version__}_all.deb"
    files = debbuild.contents(deb)
    for command in ("/usr/bin/dh_pyshared", "/usr/bin/pyshared-scan"):
        assert files[command][0] == "-rwxr-xr-x", command
    library = "/usr/share/dh-pyshared/pyshared_tools"
    packaged = {p[len(library) + 1 :] for p in files if p.startswith(library + "/") and p.endswith(".py")}
    sources = CHECKOUT / "pyshared_tools"
    assert packaged == {p.relative_to(sources).as_posix() for p in sources.rglob("*.py")}
    assert files[f"{library}/rules/stable_abi.table"][0] == "-rw-r--r--"
    templates = {Path(p).name for p in files if p.startswith("/usr/share/dh-pyshared/templates/")}
    assert templates == {p.name for p in (CHECKOUT / "templates").iterdir()} - {"README.md"}
    for path in (
        "/usr/share/man/man1/dh_pyshared.1.gz",
        "/usr/share/man/man1/pyshared-scan.1.gz",
        "/usr/share/doc/dh-pyshared/scan-schema.md.gz",
        "/usr/share/perl5/Debian/Debhelper/Sequence/pyshared.pm",
        "/usr/share/doc/dh-pyshared/copyright",
        "/usr/share/doc/dh-pyshared/changelog.gz",
    ):
        assert files[path][0] == "-rw-r--r--", path
    assert not [p for p in files if "__pycache__" in p or p.endswith(".pyc")]
    assert not [p for p in files if p.startswith("/usr/lib/python3")], "the library is private"


def test_the_tool_package_fields(tool):
    deb = tool.deb("dh-pyshared")
    assert debbuild.field(deb, "Provides") == "dh-sequence-pyshared"
    assert debbuild.field(deb, "Architecture") == "all"
    depends = {clause.strip() for clause in debbuild.field(deb, "Depends").split(",")}
    assert {"debhelper (>= 13)", "python3-debian", "python3-jinja2", "python3-sh", "python3:any"} <= depends
    # pyshared_tools/rules/elf.py reads ELF by hand; only the tests use pyelftools.
    assert not [clause for clause in depends if "pyelftools" in clause]
    # dh_python3 byte-compiles the private directory at install time.
    assert "py3compile -p dh-pyshared /usr/share/dh-pyshared" in debbuild.control_file(deb, "postinst")


def files_under(root):
    return sorted(p.relative_to(root).as_posix() for p in Path(root).rglob("*"))


def test_the_build_leaves_packages_beside_the_copy_and_clean_restores_it(tool, tmp_path):
    stem = f"dh-pyshared_{__version__}"
    beside = sorted(p.name for p in tool.directory.iterdir() if p != tool.source)
    buildinfo = tool.changes.with_suffix(".buildinfo").name
    assert beside == sorted([f"{stem}_all.deb", tool.changes.name, buildinfo])
    assert (tool.source / "debian/dh_pyshared.1").exists()
    assert (tool.source / "debian/pyshared-scan.1").exists()
    subprocess.run(
        ["debian/rules", "clean"],
        cwd=tool.source,
        env=debbuild.clean_environment(),
        capture_output=True,
        check=True,
    )
    pristine = debbuild.copy_source(CHECKOUT, tmp_path / "pristine")
    assert files_under(tool.source) == files_under(pristine)


def run_packaged(tool_root, *args, cwd=None, env=None, command="dh_pyshared"):
    environment = debbuild.tool_environment(tool_root, {"PYTHONDONTWRITEBYTECODE": "1", **(env or {})})
    return subprocess.run(
        [str(tool_root / "usr/bin" / command), *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_packaged_command_runs_its_private_library(tool_root, tmp_path):
    result = run_packaged(tool_root, "--version", cwd=tmp_path, env={"PYTHONVERBOSE": "1"})
    assert result.returncode == 0 and result.stdout == f"dh_pyshared {__version__}\n"
    private = tool_root / "usr/share/dh-pyshared/pyshared_tools"
    assert f"{private}/cli.py" in result.stderr
    assert str(CHECKOUT / "pyshared_tools") not in result.stderr


def test_the_packaged_snippets_were_rendered_from_the_packaged_templates(tool_root, make_source):
    """debian/rules renders the common shapes into the package, from the
    templates it installs; the packaged command fills them in without Jinja2."""
    import runpy

    from pyshared_tools.outputs import prerender

    share = tool_root / "usr/share/dh-pyshared"
    packaged = runpy.run_path(str(share / "pyshared_tools/outputs/prerendered.py"))
    sources, table = prerender.prerender(str(share / "templates"))
    assert packaged["SOURCES"] == sources == prerender.template_sources(CHECKOUT / "templates")
    assert packaged["SNIPPETS"] == table
    src = make_source()
    src.write("usr/lib/python3.11/site-packages/foo/__init__.py", "")
    result = run_packaged(tool_root, cwd=src.root, env={**HOST, "PYTHONPROFILEIMPORTTIME": "1"})
    assert result.returncode == 0, result.stderr
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines()}
    assert "pyshared_tools.outputs.prerendered" in imported and "jinja2" not in imported
    assert "py3compile -p python3-demo" in (src.root / "debian/python3-demo.postinst.debhelper").read_text()


def test_the_packaged_command_speaks_debhelpers_language(tool_root, tmp_path):
    result = run_packaged(tool_root, "--bogus", cwd=tmp_path)
    assert result.returncode == 2
    assert (
        result.stderr == "dh_pyshared: error: unknown option --bogus, on the command line, "
        "see dh_pyshared --help\n"
    )
    result = run_packaged(tool_root, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("dh_pyshared: error: debian/control not found, ")


def test_a_file_system_error_is_one_error_line_not_a_traceback(source):
    source.write("usr/lib/python3.11/site-packages/foo/__init__.py", "")
    (source.root / "debian/python3-demo.substvars").mkdir()
    result = source.run("-v", check=False)
    assert result.returncode == 1
    assert result.stderr == (
        "dh_pyshared: error: debian/python3-demo.substvars is a directory, not a "
        "regular file, in the source package, "
        "replace it with a regular file or remove it\n"
    )


def test_the_packaged_abi3_check_needs_no_abi3info(tool_root, make_source):
    """The packaged dh_pyshared, with abi3info not importable, reads the stable ABI
    from its private library: a violation is refused, a clean module passes."""
    command = tool_root / "usr/bin/dh_pyshared"
    shipped = tool_root / "usr/share/dh-pyshared/pyshared_tools/rules/stable_abi.table"
    assert shipped.read_bytes() == (CHECKOUT / "pyshared_tools/rules/stable_abi.table").read_bytes()
    wrapper = (
        "import runpy, sys\nsys.modules['abi3info'] = None\n"
        "sys.argv[:] = sys.argv[1:]\nrunpy.run_path(sys.argv[0], run_name='__main__')\n"
    )
    src = make_source(source_fields="X-Python3-Version: >= 3.11\n")
    src.write(f"{SHARED[1:]}/foo/__init__.py")
    src.extension(f"{SHARED[1:]}/foo/_bad.abi3.so", body="PyDict_SetDefault(object, object, object);")
    src.extension(f"{SHARED[1:]}/foo/_good.abi3.so", limited_api=0x030B0000)
    environment = debbuild.tool_environment(
        tool_root, {"PYTHONDONTWRITEBYTECODE": "1", "PYTHONVERBOSE": "1", **HOST}
    )

    def run(*args):
        return subprocess.run(
            ["/usr/bin/python3", "-c", wrapper, str(command), *args],
            cwd=src.root,
            env=environment,
            capture_output=True,
            text=True,
            check=False,
        )

    refused = run("--strict")
    errors = [line for line in refused.stderr.splitlines() if line.startswith("dh_pyshared:")]
    assert refused.returncode == 1 and errors == [
        "dh_pyshared: error: stable-ABI extension uses symbols outside the stable ABI of Python 3.11 "
        "(the lowest supported version): PyDict_SetDefault (not in the stable ABI), "
        f"{SHARED[1:]}/foo/_bad.abi3.so in python3-demo, build it with Py_LIMITED_API=0x030b0000 and "
        "without those calls, or build it for each Python version"
    ], refused.stderr
    assert f"{tool_root}/usr/share/dh-pyshared/pyshared_tools/rules/checks.py" in refused.stderr
    assert str(CHECKOUT / "pyshared_tools") not in refused.stderr
    (src.tree() / f"{SHARED[1:]}/foo/_bad.abi3.so").unlink()
    passed = run("--strict")
    assert passed.returncode == 0 and "dh_pyshared:" not in passed.stderr, passed.stderr
    assert src.substvars() == "pyshared:Depends=python3 (>= 3.2~), python3:any\n"


def test_the_packaged_man_page_and_help_agree(tool_root, tmp_path):
    page = tool_root / "usr/share/man/man1/dh_pyshared.1.gz"
    roff = gzip.decompress(page.read_bytes()).decode()
    assert_same_options(
        roff, help_text(tool_root / "usr/bin/dh_pyshared", debbuild.tool_environment(tool_root))
    )
    assert f'"dh-pyshared {__version__}"' in roff.splitlines()[0]
    plain = tmp_path / "dh_pyshared.1"
    plain.write_text(roff)
    assert groff_warnings(plain) == ""


def test_the_packaged_scan_command_runs_its_private_library(tool, tool_root, tmp_path):
    scan = {"command": "pyshared-scan", "cwd": tmp_path}
    result = run_packaged(tool_root, "--help", env={"PYTHONVERBOSE": "1"}, **scan)
    assert result.returncode == 0 and result.stdout.startswith("usage: pyshared-scan ")
    private = tool_root / "usr/share/dh-pyshared/pyshared_tools"
    assert f"{private}/archive/cli.py" in result.stderr
    assert str(CHECKOUT / "pyshared_tools") not in result.stderr
    assert run_packaged(tool_root, "merge", "--help", **scan).stdout.startswith("usage: pyshared-scan merge ")
    assert run_packaged(tool_root, "--bogus", **scan).returncode == 2
    # A real scan, with worker processes, of the tool's own .deb: nothing in a module place.
    deb = str(tool.deb("dh-pyshared"))
    result = run_packaged(tool_root, "--no-cache", "--supported", "3.11", "--json", deb, **scan)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"schema": 1, "findings": []}


def test_the_packaged_scan_man_page_and_help_agree(tool_root, tmp_path):
    page = tool_root / "usr/share/man/man1/pyshared-scan.1.gz"
    roff = gzip.decompress(page.read_bytes()).decode()
    assert_scan_page_matches(roff, tool_root / "usr/bin/pyshared-scan", debbuild.tool_environment(tool_root))
    assert roff.startswith(f'.TH PYSHARED\\-SCAN 1 "2026-11-21" "dh-pyshared {__version__}"')
    plain = tmp_path / "pyshared-scan.1"
    plain.write_text(roff)
    assert groff_warnings(plain) == ""


# The dh add-on and the PROMISE line.


def scratch_package(root, build_depends="", arch="any", compat="13"):
    (root / "debian").mkdir(parents=True)
    (root / "debian/control").write_text(
        "Source: scratch\nMaintainer: Demo <demo@example.org>\n"
        f"Build-Depends: debhelper-compat (= {compat}){build_depends}\n\n"
        f"Package: python3-scratch\nArchitecture: {arch}\nDescription: scratch\n scratch\n"
    )
    (root / "debian/changelog").write_text(
        "scratch (1.0) unstable; urgency=medium\n\n  * Scratch.\n\n"
        " -- Demo <demo@example.org>  Sat, 21 Nov 2026 10:00:00 +0000\n"
    )
    (root / "debian/rules").write_text("#!/usr/bin/make -f\n%:\n\tdh $@\n")
    (root / "debian/rules").chmod(0o755)
    return root


def dh_commands(root, tool_root, *args, env=None):
    """The commands `dh binary` would run, in order (--no-act)."""
    environment = debbuild.tool_environment(tool_root, env)
    result = subprocess.run(
        ["dh", "binary", "--no-act", *args],
        cwd=root,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return [line.split()[0] for line in result.stdout.splitlines() if line.strip().startswith("dh_")]


SEQUENCES = {
    "--with pyshared": ("", ["--with", "pyshared"], {}),
    "Build-Depends: dh-sequence-pyshared": (", dh-sequence-pyshared", [], {}),
    # dh loads add-ons from Build-Depends in name order: pyshared before python3.
    "Build-Depends: dh-sequence-pyshared, dh-sequence-python3": (
        ", dh-sequence-pyshared, dh-sequence-python3",
        [],
        {},
    ),
    "--with pyshared,python3": ("", ["--with", "pyshared,python3"], {}),
    "--with python3 --with pyshared": ("", ["--with", "python3", "--with", "pyshared"], {}),
    "Build-Depends: dh-sequence-python3, --with pyshared": (
        ", dh-sequence-python3",
        ["--with", "pyshared"],
        {},
    ),
    # DH_EXTRA_ADDONS loads before everything else.
    "DH_EXTRA_ADDONS=pyshared": ("", [], {"DH_EXTRA_ADDONS": "pyshared"}),
    "DH_EXTRA_ADDONS=pyshared, --with python3": ("", ["--with", "python3"], {"DH_EXTRA_ADDONS": "pyshared"}),
    "DH_EXTRA_ADDONS=pyshared, Build-Depends: dh-sequence-python3": (
        ", dh-sequence-python3",
        [],
        {"DH_EXTRA_ADDONS": "pyshared"},
    ),
}

# What dh_pyshared must run after (where present) and before, in every sequence.
RUNS_AFTER = ("dh_auto_install", "dh_install", "dh_python3", "dh_installinit")
RUNS_BEFORE = ("dh_usrlocal", "dh_link", "dh_strip", "dh_shlibdeps", "dh_installdeb", "dh_gencontrol")


def assert_dh_pyshared_in_place(commands, *, python3, arch, ran=False):
    """`ran`: commands is what a build ran, without those dh skipped as having nothing to do."""
    assert commands.count("dh_pyshared") == 1, commands
    position = commands.index("dh_pyshared")
    if not ran:
        # The anchor: right after dh_installinit, whatever order the add-ons loaded in.
        assert commands[position - 1] == "dh_installinit", commands
        assert ("dh_python3" in commands) == python3, commands
    for command in RUNS_AFTER:
        if command in commands:
            assert commands.index(command) < position, (command, commands)
    for command in RUNS_BEFORE:
        if not ran and (arch == "any" or command not in ("dh_strip", "dh_shlibdeps")):
            assert command in commands, (command, commands)
        if command in commands:
            assert position < commands.index(command), (command, commands)


@pytest.mark.parametrize("compat", ["13", "14"])
@pytest.mark.parametrize("arch", ["any", "all"])
@pytest.mark.parametrize("way", sorted(SEQUENCES))
def test_the_add_on_puts_dh_pyshared_after_dh_python3_before_dh_usrlocal(
    tool_root, tmp_path, way, arch, compat
):
    build_depends, args, env = SEQUENCES[way]
    root = scratch_package(tmp_path / "src", build_depends, arch, compat)
    commands = dh_commands(root, tool_root, *args, env=env)
    assert_dh_pyshared_in_place(commands, python3="python3" in way.replace("pyshared", ""), arch=arch)


def test_without_the_add_on_dh_does_not_run_dh_pyshared(tool_root, tmp_path):
    assert "dh_pyshared" not in dh_commands(scratch_package(tmp_path / "src"), tool_root)


def promise_paths(tool_root):
    text = (tool_root / "usr/bin/dh_pyshared").read_text()
    (hints,) = PROMISE.findall(text)
    paths = []
    for hint in hints.split():
        match = re.fullmatch(r"tmp\((.+)\)", hint)
        assert match, f"{hint}: only tmp() hints are expected"
        paths.append(match.group(1))
    return paths


SAMPLE_PARTS = (
    (r"(?P<version>2\.\d+)", "2.7"),
    (r"(?P<version>3\.\d+)", "3.11"),
    (r"(?P<version>[23]\.\d+)", "3.11"),
    (r"(?P<package>[^/]+)", "demo"),
    (r"(?:dist|site)", "site"),
    (r"[^/]+\.(?:public|private|dirs)", "demo.public"),
    (r"[^/]+", "demo"),
)


def sample(pattern):
    """One concrete tree path that the layout pattern matches."""
    path = pattern
    for part, value in SAMPLE_PARTS:
        path = path.replace(part, value)
    assert re.fullmatch(pattern, path), (pattern, path)
    return path


PLACES = sorted({sample(rule.pattern) for rule in layouts.RULES})
METADATA = sorted({sample(pattern) for pattern, _helper in layouts.METADATA_PATTERNS})


def test_every_place_the_tool_reads_is_under_a_promised_path(tool_root):
    promised = promise_paths(tool_root)
    for path in [*PLACES, *METADATA]:
        assert any(path == p or path.startswith(p + "/") for p in promised), path


def would_run(root, tool_root, *args):
    # dh ignores PROMISE lines under --no-act unless debhelper's own test switch is set.
    commands = dh_commands(
        root, tool_root, "--with", "pyshared", *args, env={"DH_INTERNAL_TEST_CAN_SKIP": "1"}
    )
    return "dh_pyshared" in commands


@pytest.mark.parametrize("path", PLACES + METADATA)
def test_dh_runs_dh_pyshared_for_a_tree_with_any_python_place(tool_root, tmp_path, path):
    root = scratch_package(tmp_path / "src", arch="all")
    target = root / "debian/python3-scratch" / path
    if path in METADATA:
        target.parent.mkdir(parents=True)
        target.write_text("/usr/share/pyshared/demo/__init__.py\n")
    else:
        target.mkdir(parents=True)
        (target / "demo.py").write_text("")
    assert would_run(root, tool_root)


def test_dh_skips_dh_pyshared_only_when_the_promise_holds(tool_root, tmp_path):
    root = scratch_package(tmp_path / "src", arch="all")
    assert not would_run(root, tool_root), "no package tree"
    (root / "debian/python3-scratch/usr/share/doc/python3-scratch").mkdir(parents=True)
    assert not would_run(root, tool_root), "documentation only"
    assert would_run(root, tool_root, "--shared-dir=/usr/share/scratch"), "an option makes it run"
    (root / "debian/python3-scratch/usr/share/pyshared").mkdir()
    assert would_run(root, tool_root)


# The example source package.


def test_the_example_is_built_with_dh_pyshared_from_its_sequence(example):
    assert re.search(r"^dh binary --with pyshared$", example.log, re.MULTILINE)
    assert re.search(r"^   dh_pyshared$", example.log, re.MULTILINE)
    commands = re.findall(r"^   (dh_\w+)", example.log, re.MULTILINE)
    assert_dh_pyshared_in_place(commands, python3=False, arch="any", ran=True)
    assert {"dh_strip", "dh_shlibdeps"} <= set(commands)


def test_the_example_package_has_the_tagged_extension_and_snippets(example):
    deb = example.deb("python3-pyshared-demo")
    files = debbuild.contents(deb)
    assert f"{SHARED}/demo/{TAGGED}" in files
    assert {f"{SHARED}/demo/__init__.py", f"{SHARED}/demo/core.py"} <= set(files)
    assert not [p for p in files if "python3.11" in p or "site-packages" in p or p.endswith("/_speedups.so")]
    depends = debbuild.field(deb, "Depends")
    assert depends.startswith("python3 (>= 3.11~), python3 (<< 3.12), python3:any"), depends
    assert "libc6" in depends
    postinst = debbuild.control_file(deb, "postinst")
    assert f"# Automatically added by dh_pyshared/{__version__}" in postinst
    assert "py3compile -p python3-pyshared-demo" in postinst
    assert "py3clean -p python3-pyshared-demo" in debbuild.control_file(deb, "prerm")


def test_the_example_packages_are_lintian_clean(example):
    assert_lintian_clean(example.changes)


def test_the_example_installs_with_dpkg_and_imports_with_the_real_python(example):
    deb = example.deb("python3-pyshared-demo")
    check = (
        "import demo, os; print(os.path.basename(demo._speedups.__file__), demo.answer(), "
        "demo.word_count('one two  three'), demo.built_with)"
    )
    with Chroot.unpack(tarball=base_tarball()) as chroot:
        pristine = chroot.snapshot()
        chroot.install(deb)
        name, answer, words, built_with = chroot.run("python3", "-c", check).stdout.split()
        assert (name, answer, words) == (TAGGED, "42", "3")
        assert built_with.startswith("3.11.")
        cached = [p for p in chroot.snapshot() if p.startswith(f"{SHARED}/demo/__pycache__/core.cpython-311")]
        assert cached, "postinst did not byte-compile"
        chroot.dpkg("--purge", "python3-pyshared-demo")
        assert chroot.snapshot() == pristine


def test_the_example_builds_as_an_ordinary_user_without_fakeroot(tool_root):
    """Rules-Requires-Root: no: dpkg-buildpackage runs debian/rules binary, and so
    dh_pyshared, as the build user; dh_builddeb still makes root the owner in the .deb."""
    scratch = builduser.scratch("dh-pyshared-example-")
    try:
        # tool_root lies below root's 0700 pytest directory: a copy the build user can read.
        tool = shutil.copytree(tool_root, scratch / "tool-root", symlinks=True)
        assert builduser.unreadable(tool) is None
        source = debbuild.copy_source(EXAMPLE, scratch / "build" / "pyshared-demo")
        (scratch / "home").mkdir()
        builduser.give(scratch / "build")
        builduser.give(scratch / "home")
        environment = debbuild.tool_environment(tool, {"HOME": str(scratch / "home")})
        build = debbuild.dpkg_buildpackage(source, "-d", env=environment, build_user=True)
        assert re.search(r"^ debian/rules binary$", build.log, re.MULTILINE), "built with a root command"
        assert re.search(r"^   dh_pyshared$", build.log, re.MULTILINE)
        uid, _gid = builduser.identity()
        assert uid != 0
        assert (source / "debian/python3-pyshared-demo").stat().st_uid == uid
        deb = build.deb("python3-pyshared-demo")
        files = debbuild.contents(deb)
        assert f"{SHARED}/demo/{TAGGED}" in files
        assert not [p for p in files if "python3.11" in p or p.endswith("/_speedups.so")]
        listing = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True, check=True)
        assert {line.split()[1] for line in listing.stdout.splitlines()} == {"root/root"}
    finally:
        shutil.rmtree(scratch)


# Real builds: small source packages that install the way real upstreams do, built with
# dpkg-buildpackage and the freshly built tool, each checked in the built .deb.

SETUP_PY = """\
from setuptools import Extension, setup

# Linked against libpython on purpose, as some upstreams do: --fix-libpython drops the link.
setup(
    name="demo",
    version="1.0",
    packages=["demo"],
    package_dir={"": "src"},
    ext_modules=[Extension("demo._speedups", ["src/_speedups.c"], libraries=["python3.11"])],
)
"""

REAL_BUILDS = {
    # Debian's python3 puts `setup.py install --prefix=/usr` under usr/local.
    "setup-py-usr-local": {
        "build_depends": ", python3-setuptools",
        "rules": (
            "%:\n\tdh $@ --with pyshared\n\n"
            "override_dh_auto_build:\n\tpython3 setup.py build\n\n"
            "override_dh_auto_install:\n"
            "\tpython3 setup.py install --root=debian/python3-pyshared-demo --prefix=/usr\n\n"
            "override_dh_pyshared:\n\tdh_pyshared --fix-libpython\n\n"
            "override_dh_auto_clean:\n\trm -rf build src/*.egg-info\n"
        ),
        "setup.py": SETUP_PY,
    },
    # The Makefile into site-packages, its extension linked against libpython; --fix-libpython.
    "makefile-fix-libpython": {
        "build_depends": "",
        "rules": (
            "%:\n\tdh $@ --with pyshared\n\n"
            "override_dh_auto_build:\n"
            "\tdh_auto_build -- "
            'LDFLAGS="$$(dpkg-buildflags --get LDFLAGS) -Wl,--no-as-needed -lpython3.11"\n\n'
            "override_dh_pyshared:\n\tdh_pyshared --fix-libpython\n"
        ),
    },
    # dh_python3 and dh_pyshared in one build, the Makefile installing into site-packages.
    "with-python3-pyshared": {
        "build_depends": ", dh-python",
        "rules": "%:\n\tdh $@ --with python3,pyshared\n",
        "depends": "${python3:Depends}, ",
    },
}


@pytest.fixture(scope="module")
def real_builds(tool_root, tmp_path_factory):
    builds = {}

    def build(name):
        if name not in builds:
            spec = REAL_BUILDS[name]
            source = debbuild.copy_source(EXAMPLE, tmp_path_factory.mktemp(name) / "pyshared-demo")
            control = source / "debian/control"
            text = control.read_text().replace("python3-dev\n", "python3-dev" + spec["build_depends"] + "\n")
            depends = "Depends: ${misc:Depends}, "
            text = text.replace(depends, depends + spec.get("depends", ""))
            control.write_text(text)
            (source / "debian/rules").write_text(
                "#!/usr/bin/make -f\n\nexport DEB_BUILD_MAINT_OPTIONS = hardening=+all\n\n" + spec["rules"]
            )
            if "setup.py" in spec:
                (source / "setup.py").write_text(spec["setup.py"])
            builds[name] = debbuild.dpkg_buildpackage(source, "-d", env=debbuild.tool_environment(tool_root))
        return builds[name]

    return build


def ran_commands(log):
    """The dh commands a build ran, in order, an override target's under the command's name."""
    return re.findall(r"^   (?:debian/rules override_)?(dh_\w+)", log, re.MULTILINE)


def byte_compile_blocks(script):
    return len(re.findall(r"^\s*py3compile -p ", script, re.MULTILINE))


def clean_blocks(script):
    return len(re.findall(r"^\s*py3clean -p ", script, re.MULTILINE))


def assert_demo_tree(deb):
    files = debbuild.contents(deb)
    assert f"{SHARED}/demo/{TAGGED}" in files, sorted(files)
    assert {f"{SHARED}/demo/__init__.py", f"{SHARED}/demo/core.py"} <= set(files)
    assert not [p for p in files if p.startswith("/usr/local") or "python3.11" in p or "site-packages" in p]
    assert not [p for p in files if p.endswith("/_speedups.so")]
    return files


def test_a_setup_py_install_into_usr_local_builds_and_drops_libpython(real_builds):
    build = real_builds("setup-py-usr-local")
    assert "-> debian/python3-pyshared-demo/usr/local/lib/python3.11/dist-packages/demo" in build.log
    commands = ran_commands(build.log)
    assert commands.index("dh_pyshared") < commands.index("dh_shlibdeps")
    # dh skips dh_usrlocal (its PROMISE) once dh_pyshared emptied usr/local.
    assert "dh_usrlocal" not in commands[commands.index("dh_pyshared") :]
    deb = build.deb("python3-pyshared-demo")
    assert_demo_tree(deb)
    depends = debbuild.field(deb, "Depends")
    assert depends.startswith("python3 (>= 3.11~), python3 (<< 3.12), python3:any"), depends
    assert "libc6" in depends
    # dh_shlibdeps ran after --fix-libpython dropped the link.
    assert "libpython" not in depends, depends
    assert_no_libpython_needed(build, deb)
    assert byte_compile_blocks(debbuild.control_file(deb, "postinst")) == 1
    assert clean_blocks(debbuild.control_file(deb, "prerm")) == 1
    assert_lintian_clean(build.changes)


def assert_no_libpython_needed(build, deb):
    """The demo's extension in the built .deb has DT_NEEDED entries, none of them libpython."""
    unpacked = debbuild.unpack(deb, build.directory / "unpacked")
    needed = subprocess.run(
        ["readelf", "-d", str(unpacked / f"{SHARED[1:]}/demo/{TAGGED}")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "libpython" not in needed and "NEEDED" in needed


def test_fix_libpython_keeps_libpython_out_of_depends(real_builds):
    build = real_builds("makefile-fix-libpython")
    assert "-lpython3.11" in build.log
    commands = ran_commands(build.log)
    assert commands.index("dh_pyshared") < commands.index("dh_shlibdeps")
    deb = build.deb("python3-pyshared-demo")
    assert_demo_tree(deb)
    depends = debbuild.field(deb, "Depends")
    assert "libpython" not in depends and "libc6" in depends, depends
    assert_no_libpython_needed(build, deb)
    assert byte_compile_blocks(debbuild.control_file(deb, "postinst")) == 1
    assert_lintian_clean(build.changes)


def test_a_build_with_python3_and_pyshared_has_one_byte_compile_block(real_builds):
    build = real_builds("with-python3-pyshared")
    commands = ran_commands(build.log)
    assert commands.index("dh_python3") < commands.index("dh_pyshared")
    deb = build.deb("python3-pyshared-demo")
    assert_demo_tree(deb)
    postinst = debbuild.control_file(deb, "postinst")
    prerm = debbuild.control_file(deb, "prerm")
    assert byte_compile_blocks(postinst) == 1, postinst
    assert clean_blocks(prerm) == 1, prerm
    assert "# Automatically added by dh_python3" in postinst
    depends = debbuild.field(deb, "Depends")
    assert "python3 (<< 3.12)" in depends and "python3 (>= 3.11~)" in depends, depends
    assert_lintian_clean(build.changes)


def test_the_makefile_example_has_one_byte_compile_block(example):
    deb = example.deb("python3-pyshared-demo")
    assert byte_compile_blocks(debbuild.control_file(deb, "postinst")) == 1
    assert clean_blocks(debbuild.control_file(deb, "prerm")) == 1
