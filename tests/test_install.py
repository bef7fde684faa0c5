"""`pip install .` into a fresh venv takes today's newest PyPI release of every
dependency (sh 2.x, not bookworm's 1.14) and gives a working dh_pyshared and
pyshared-scan (issue 11).

One venv per module (tests/run's cost: two pip runs, a few MB from PyPI).  pip
runs with no configuration file and no PIP_* variable that picks packages (this
machine's find-links, extra indexes and constraints would offer older local
wheels), without its cache, `--upgrade --upgrade-strategy eager`; then pip
itself must list every installed dependency, direct or not, as up to date
against the index.  The venv does not see Debian's dist-packages, and the
tool's imports are recorded from inside a real run.

What the venv gives is compared with what the checkout gives under
/usr/bin/python3 with Debian's packages: the same tree, substvars, snippets and
output for dh_pyshared (with and without DEB_HOST_* exported, with and without
--tag) on compiled extensions and on real bookworm packages turned back into
upstream installs (tests/test_archive.py), the same package from
dpkg-buildpackage of examples/pyshared-demo, the same findings from
pyshared-scan on real .debs, the same --help and man pages.
"""

import ast
import configparser
import gzip
import json
import os
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from conftest import CHECKOUT, HOST, MULTIARCH, SourcePackage, snapshot
from helpers import debbuild
from helpers.abi_packages import ABI3_PACKAGES, LIBPYTHON_PACKAGES
from helpers.archive import fetch_debs
from helpers.archive_trees import (
    PACKAGES,
    SOURCE_FIELDS,
    UPSTREAM,
    bookworm_debs,
    check_depends,
    correct_tree,
    deb_field,
    differences,
    ships_pure_modules,
    source_for,
    substvar,
    turn_back,
)

PYTHON = "/usr/bin/python3"
TAG = f"cpython-311-{MULTIARCH}"
# pip settings that only say how to reach the index, not what to take from it.
PIP_TRANSPORT = ("PIP_CERT", "PIP_CLIENT_CERT", "PIP_DEFAULT_TIMEOUT", "PIP_TIMEOUT", "PIP_RETRIES")
# What would make the venv's python look for modules elsewhere.
PYTHON_SEARCH = ("PYTHONPATH", "PYTHONHOME", "PYTHONUSERBASE", "PYTHONPLATLIBDIR", "PYTHONSTARTUP")
# Everything setuptools needs to build the wheel (setup.cfg, pyproject.toml).
NOT_COPIED = shutil.ignore_patterns(".git", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".venv")

# Runs a script like its #! line would, and writes where every module it
# imported came from (and the template directory it rendered from) to
# $PYSHARED_TEST_IMPORTS when it exits.  The modules named in
# $PYSHARED_TEST_ABSENT cannot be imported (as if not installed).  With
# $PYSHARED_TEST_JINJA2 set, Jinja2 is imported first and every template it
# compiles from source is recorded ("from_source"), with the directories of
# the compiled templates render.py loaded ("compiled").
RECORDING = """\
import atexit, json, os, runpy, sys
out = os.environ.pop("PYSHARED_TEST_IMPORTS")
for name in os.environ.pop("PYSHARED_TEST_ABSENT").split():
    sys.modules[name] = None
from_source = []
if os.environ.pop("PYSHARED_TEST_JINJA2", None):
    import jinja2
    compile_source = jinja2.Environment.compile
    def compile_recorded(self, source, name=None, *arguments, **keywords):
        from_source.append(name)
        return compile_source(self, source, name, *arguments, **keywords)
    jinja2.Environment.compile = compile_recorded
def record():
    render = sys.modules.get("pyshared_tools.outputs.render")
    compiled = getattr(render, "_COMPILED", None)
    report = {
        "path": sys.path,
        "files": {name: getattr(module, "__file__", None) for name, module in list(sys.modules.items())},
        "templates": render.template_directory() if render else None,
        "from_source": from_source,
        "compiled": list(compiled.loader.module.__path__) if compiled else None,
    }
    with open(out, "w") as handle:
        json.dump(report, handle)
atexit.register(record)
sys.argv = sys.argv[1:]
sys.path[0] = os.path.dirname(sys.argv[0])
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def pip_environment():
    """os.environ without pip's package-selecting variables and its configuration files."""
    environment = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PIP_", "PYTHON", "VIRTUAL_ENV", "DEB_", "DH_")) or k in PIP_TRANSPORT
    }
    environment["PIP_CONFIG_FILE"] = os.devnull  # pip then reads no configuration file at all
    return environment


def canonical(name):
    return name.lower().replace("_", "-").replace(".", "-")


class Venv:
    def __init__(self, root):
        self.root = Path(root)
        self.bin = self.root / "bin"
        self.python = self.bin / "python3"
        self.site = (
            self.root / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
        )

    def pip(self, *args, cwd):
        command = [str(self.python), "-m", "pip", "--no-cache-dir", "--no-input", *args]
        result = subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=pip_environment())
        assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}"
        return result.stdout

    def environment(self, export_arch):
        environment = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("DH_", "DEB_", "VIRTUAL_ENV")) and k not in PYTHON_SEARCH
        }
        environment["PATH"] = f"{self.bin}:/usr/bin:/bin"
        if export_arch:
            environment.update(HOST)
        return environment

    def run(self, tool, *args, cwd, export_arch=True, env=None):
        return subprocess.run(
            [str(self.bin / tool), *map(str, args)],
            cwd=cwd,
            capture_output=True,
            text=True,
            env={**self.environment(export_arch), **(env or {})},
        )

    def recorded(self, tool, *args, cwd, scratch, export_arch=True, absent=(), jinja2=False):
        """Run `tool` in the venv's python, recording its imports (and with `jinja2`,
        what Jinja2 compiled from source): (result, report)."""
        out = Path(scratch) / "imports.json"
        environment = {
            **self.environment(export_arch),
            "PYSHARED_TEST_IMPORTS": str(out),
            "PYSHARED_TEST_ABSENT": " ".join(absent),
            **({"PYSHARED_TEST_JINJA2": "1"} if jinja2 else {}),
        }
        result = subprocess.run(
            [str(self.python), "-c", RECORDING, str(self.bin / tool), *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            env=environment,
        )
        return result, json.loads(out.read_text())


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    """A venv from /usr/bin/python3 (no system site-packages) with today's pip and
    `pip install .` of a copy of the checkout (pip builds in the tree it is given)."""
    where = tmp_path_factory.mktemp("pip-venv")
    subprocess.run([PYTHON, "-m", "venv", str(where / "venv")], check=True, capture_output=True)
    source = where / "dh-pyshared"
    shutil.copytree(CHECKOUT, source, symlinks=True, ignore=NOT_COPIED)
    venv = Venv(where / "venv")
    venv.pip("install", "--upgrade", "pip", cwd=where)
    extras = ",".join(extra for extra in declared_requirements() if extra)
    target = f"{source}[{extras}]" if extras else str(source)
    venv.pip("install", "--upgrade", "--upgrade-strategy", "eager", target, cwd=where)
    return venv


# Appended to a template in the tree pip builds from (as a patch would change it).
EDITED = "# edited in the tree pip builds from\n"


@pytest.fixture(scope="module")
def debian_jinja2_venv(tmp_path_factory):
    """A venv that sees Debian's packages (jinja2 3.1.2, python-debian, sh) with
    `pip install --no-deps` of a copy of the checkout whose postinst-pyshared
    template was edited: pip's isolated build takes the index's newest jinja2,
    not the one the tool then runs with, and the checkout's prerendered.py was
    made from other templates.  (venv, the copy)."""
    where = tmp_path_factory.mktemp("pip-venv-debian")
    subprocess.run(
        [PYTHON, "-m", "venv", "--system-site-packages", str(where / "venv")], check=True, capture_output=True
    )
    source = where / "dh-pyshared"
    shutil.copytree(CHECKOUT, source, symlinks=True, ignore=NOT_COPIED)
    with (source / "templates" / "postinst-pyshared").open("a") as handle:
        handle.write(EDITED)
    venv = Venv(where / "venv")
    venv.pip("install", "--no-deps", str(source), cwd=where)
    return venv, source


def setup_cfg():
    config = configparser.ConfigParser()
    config.read(CHECKOUT / "setup.cfg")
    return config


def requirement_lines(text):
    return [canonical(line.strip()) for line in text.splitlines() if line.strip()]


def declared_requirements():
    """{extra: [distribution]} from setup.cfg, "" for install_requires."""
    config = setup_cfg()
    declared = {"": requirement_lines(config["options"]["install_requires"])}
    if config.has_section("options.extras_require"):
        declared.update(
            (extra, requirement_lines(text)) for extra, text in config["options.extras_require"].items()
        )
    return declared


def all_declared():
    return [name for names in declared_requirements().values() for name in names]


def closure(venv):
    """What is installed in the venv's site-packages, read with this process's
    importlib.metadata and packaging (the venv itself need not have packaging):
    direct: dh-pyshared's requirements with every extra setup.cfg declares;
    all: {distribution: version} for them and everything they require;
    modules: {top-level module: [distribution]}, as packages_distributions() says."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    installed = {
        canonicalize_name(d.metadata["Name"]): d for d in metadata.distributions(path=[str(venv.site)])
    }
    extras = ["", *(extra for extra in declared_requirements() if extra)]

    def requirements(distribution, extras):
        for requirement in map(Requirement, distribution.requires or []):
            if not requirement.marker or any(requirement.marker.evaluate({"extra": e}) for e in extras):
                yield canonicalize_name(requirement.name)

    direct = sorted(requirements(installed["dh-pyshared"], extras))
    found, todo = {}, list(direct)
    while todo:
        name = todo.pop()
        if name not in found:
            assert name in installed, f"{name} is required but not installed in {venv.site}"
            found[name] = installed[name].version
            todo += requirements(installed[name], [""])
    modules = {}
    for name, distribution in installed.items():
        for top in {file.parts[0] for file in distribution.files or [] if len(file.parts) > 1 or file.suffix}:
            if not top.endswith((".dist-info", ".data")) and top not in ("..", "__pycache__"):
                modules.setdefault(top.split(".")[0], []).append(name)
    return {"direct": direct, "all": found, "modules": modules}


def test_every_dependency_is_the_newest_release_on_the_index(venv, tmp_path):
    requirements = closure(venv)
    assert requirements["direct"] == sorted(all_declared())
    installed = requirements["all"]
    assert set(requirements["direct"]) < set(installed), "no indirect dependency (jinja2 needs MarkupSafe)"
    # pip itself: an installed release is up to date when the index has no newer one.
    # A package the index did not answer for is not listed, so this cannot pass offline.
    listed = json.loads(venv.pip("list", "--uptodate", "--format=json", cwd=tmp_path))
    uptodate = {canonical(entry["name"]): entry["version"] for entry in listed}
    stale = {name: version for name, version in installed.items() if uptodate.get(name) != version}
    assert not stale, f"not the index's newest release: {stale}; up to date: {uptodate}"
    assert int(installed["sh"].split(".")[0]) >= 2, installed["sh"]


def third_party_imports():
    """{top-level module: [file]} for every module outside the standard library
    and pyshared_tools that pyshared_tools imports, at any depth of any function."""
    found = {}
    for path in sorted((CHECKOUT / "pyshared_tools").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top != "pyshared_tools":
                    found.setdefault(top, []).append(str(path.relative_to(CHECKOUT)))
    return found


def test_setup_cfg_declares_what_the_code_imports(venv, tmp_path):
    """install_requires and extras_require name exactly the distributions (as the
    venv's metadata maps modules to them) whose modules pyshared_tools imports."""
    modules = closure(venv)["modules"]
    imports = third_party_imports()
    assert {"sh", "jinja2", "debian"} <= imports.keys(), imports
    unknown = {module: files for module, files in imports.items() if module not in modules}
    assert not unknown, f"imported, but no installed distribution provides them: {unknown}"
    needed = {distribution for module in imports for distribution in modules[module]}
    declared = set(all_declared())
    assert not declared - needed, f"declared in setup.cfg, imported nowhere: {sorted(declared - needed)}"
    assert not needed - declared, f"imported, not declared in setup.cfg: {sorted(needed - declared)}"


def test_the_venv_does_not_see_debians_packages(venv, tmp_path):
    path = json.loads(
        subprocess.run(
            [str(venv.python), "-c", "import json, sys; print(json.dumps(sys.path))"],
            capture_output=True,
            text=True,
            check=True,
            cwd=tmp_path,
            env=venv.environment(True),
        ).stdout
    )
    assert [p for p in path if p.endswith("-packages")] == [str(venv.site)]
    # pytest is in Debian's dist-packages (python3-pytest), not a dependency.
    assert Path("/usr/lib/python3/dist-packages/pytest").is_dir()
    debian = subprocess.run(
        [str(venv.python), "-c", "import pytest"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=venv.environment(True),
    )
    assert debian.returncode == 1 and "ModuleNotFoundError: No module named 'pytest'" in debian.stderr
    for tool in ("dh_pyshared", "pyshared-scan"):
        with open(venv.bin / tool) as script:
            assert script.readline() == f"#!{venv.root}/bin/python3\n", tool


DEMO_PACKAGES = (("python3-demo", "any"), ("python3-demo-common", "all"))
SHARED = "usr/lib/python3/dist-packages"


def demo_source(root):
    """Extensions (tagged, abi3, one linked against libpython) and pure modules,
    one of which a sibling package ships today."""
    source = SourcePackage(root, packages=DEMO_PACKAGES)
    site = "usr/lib/python3.11/site-packages/foo"
    source.write(f"{site}/__init__.py", "")
    source.write(f"{site}/core.py", "VALUE = 1\n")
    source.extension(f"{site}/_speed.so")
    source.extension(f"{site}/_linked.so", link_libpython=True)
    source.extension(f"{site}/_stable.abi3.so", limited_api=0x030B0000)
    return source


def demo_contents(directory):
    contents = Path(directory) / "Contents-amd64.gz"
    with gzip.open(contents, "wt") as handle:
        handle.write(f"{SHARED}/foo/core.py    python/python3-demo-common\n")
    return contents


def needed_libraries(path):
    dynamic = subprocess.run(["readelf", "-d", str(path)], capture_output=True, text=True, check=True).stdout
    return [line.split("[", 1)[1].rstrip("]") for line in dynamic.splitlines() if "(NEEDED)" in line]


ARCH_CASES = {
    "exported": (True, ()),
    "exported-tag": (True, ("--tag", TAG)),
    "dpkg-architecture": (False, ()),
    "dpkg-architecture-tag": (False, ("--tag", TAG)),
}


@pytest.mark.parametrize("case", sorted(ARCH_CASES))
def test_dh_pyshared_from_the_venv_does_what_the_checkout_does(venv, tmp_path, case):
    """Compiled extensions in an upstream install: the venv's dh_pyshared, its
    imports recorded, leaves the source tree (package tree, substvars with
    Breaks from a Contents index, maintainer-script snippets, patchelf's
    --fix-libpython) exactly as the checkout's does under /usr/bin/python3."""
    export_arch, args = ARCH_CASES[case]
    args = (
        "-v",
        "--strict",
        "-p",
        "python3-demo",
        "--fix-libpython",
        "--contents",
        demo_contents(tmp_path),
        *args,
    )
    ours, reference = demo_source(tmp_path / "venv"), demo_source(tmp_path / "checkout")
    assert any(
        name.startswith("libpython3.11")
        for name in needed_libraries(ours.tree() / "usr/lib/python3.11/site-packages/foo/_linked.so")
    )
    result, report = venv.recorded(
        "dh_pyshared", *map(str, args), cwd=ours.root, scratch=tmp_path, export_arch=export_arch
    )
    assert result.returncode == 0 and result.stderr == "", result.stderr
    expected = reference.run(*map(str, args), export_arch=export_arch)
    assert result.stdout == expected.stdout
    assert snapshot(ours.root) == snapshot(reference.root)
    shared = ours.tree() / SHARED / "foo"
    assert sorted(p.name for p in shared.iterdir()) == [
        "__init__.py",
        f"_linked.{TAG}.so",
        f"_speed.{TAG}.so",
        "_stable.abi3.so",
        "core.py",
    ]
    assert not [
        name for name in needed_libraries(shared / f"_linked.{TAG}.so") if name.startswith("libpython")
    ]
    assert "pyshared:Breaks=python3-demo-common (<< 2.0-1)" in ours.substvars()
    assert (ours.root / "debian" / f"{ours.package}.postinst.debhelper").is_file()
    assert report["templates"] == str(venv.root / "share/dh-pyshared/templates")
    needed = {"pyshared_tools", "debian"} | ({"sh"} if not export_arch else set())
    assert_imported_from_the_venv(venv, report, needed)
    # The snippets came from the pre-rendered table (the templates pip installed are
    # the ones it was made from), not from Jinja2.
    assert "pyshared_tools.outputs.prerendered" in report["files"] and "jinja2" not in report["files"]
    # The abi3 check read the shipped table, not abi3info (a regeneration-time need only).
    assert "abi3info" not in report["files"], report["files"]["abi3info"]


def assert_imported_from_the_venv(venv, report, needed):
    """Every module the run imported is the standard library's or the venv's; `needed` were imported."""
    stdlib = {f"{sys.base_prefix}/lib/python3.11/", f"{sys.base_prefix}/lib/python3.11/lib-dynload/"}
    site = f"{venv.site}/"
    top = {}
    for name, file in report["files"].items():
        top.setdefault(name.split(".")[0], set()).add(file)
    assert needed <= top.keys(), f"not imported: {needed - top.keys()}"
    for name, files in sorted(top.items()):
        for file in files - {None}:
            from_site = file.startswith(site)
            from_stdlib = any(file.startswith(prefix) for prefix in stdlib) and "-packages/" not in file
            assert from_site or from_stdlib, (
                f"{name} imported from {file}, not from the venv: {report['path']}"
            )
            if name in needed:
                assert from_site, f"{name} imported from {file}"


# Small real packages: one with pure modules and an extension, one abi3 with a dist-info.
ARCHIVE_PACKAGES = ("python3-markupsafe", "python3-nacl")


@pytest.mark.parametrize("case", sorted(ARCH_CASES))
@pytest.mark.parametrize("package", ARCHIVE_PACKAGES)
def test_a_real_package_turned_back_comes_out_as_debian_ships_it(venv, tmp_path, package, case):
    export_arch, args = ARCH_CASES[case]
    deb = bookworm_debs()[package]
    expected = snapshot(correct_tree(package, deb, tmp_path / "debian-ships"))
    src = source_for(tmp_path, package, deb)
    turn_back(src.tree(), "site")
    assert snapshot(src.tree()) != expected
    result = venv.run("dh_pyshared", *args, cwd=src.root, export_arch=export_arch)
    assert result.returncode == 0 and result.stdout == "" and result.stderr == "", result.stderr
    problems = differences(expected, snapshot(src.tree()))
    assert not problems, f"{package} {case}:\n" + "\n".join(problems)
    check_depends(substvar(src), deb_field(deb, "Depends"), package, ships_pure_modules(expected))


def test_several_real_packages_in_one_source_package(venv, tmp_path):
    # The twelve packages of helpers/archive_trees.PACKAGES (none links libpython: stderr stays empty).
    debs = {package: deb for package, deb in bookworm_debs().items() if package in PACKAGES}
    packages = [(package, deb_field(debs[package], "Architecture")) for package in sorted(debs)]
    src = SourcePackage(tmp_path / "src", packages=packages, source_fields=SOURCE_FIELDS)
    reference = SourcePackage(tmp_path / "reference", packages=packages, source_fields=SOURCE_FIELDS)
    locations = sorted(UPSTREAM)
    for index, (package, _) in enumerate(packages):
        for tree in (src.tree(package), reference.tree(package)):
            subprocess.run(["dpkg-deb", "-x", str(debs[package]), str(tree)], check=True)
            turn_back(tree, locations[index % len(locations)])
    result = venv.run("dh_pyshared", "-a", "-v", cwd=src.root, export_arch=False)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    expected = reference.run("-a", "-v", export_arch=False)
    assert result.stdout == expected.stdout
    assert not differences(snapshot(reference.root), snapshot(src.root))


def farm_source(root):
    """A python-support package of Python 3 (storage in /usr/share/pyshared, a
    .public file): its snippets set aside and clean up the links the old helper
    made, a shape not rendered in advance, so Jinja2 renders them at run time."""
    source = SourcePackage(root)
    source.write("usr/share/pyshared/foo/__init__.py", "")
    source.write("usr/share/pyshared/foo/core.py", "VALUE = 1\n")
    source.write("usr/share/pyshared/foo/sub/mod.py", "M = 1\n")
    source.write("usr/share/python-support/python3-demo.public", "pyversions=3.11-\n")
    return source


def run_copy(copy, source, *args):
    """The copy pip built from, run as a checkout under /usr/bin/python3 with Debian's packages."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DH_", "DEB_"))}
    return subprocess.run(
        [PYTHON, str(copy / "bin" / "dh_pyshared"), *args],
        cwd=source.root,
        capture_output=True,
        text=True,
        env={**environment, **HOST},
        check=True,
    )


def jinja2_version(venv):
    return subprocess.run(
        [str(venv.python), "-c", "import jinja2; print(jinja2.__version__)"],
        capture_output=True,
        text=True,
        check=True,
        env=venv.environment(True),
    ).stdout.strip()


def compiled_stamp(venv):
    return json.loads((venv.root / "share/dh-pyshared/compiled-templates/stamp.json").read_text())


def assert_farm_snippets(source):
    snippets = {path.name: path.read_text() for path in (source.root / "debian").glob("*.*.debhelper")}
    farm = [name for name, text in snippets.items() if "pyshared_farm_link" in text]
    scripts = ("postinst", "postrm", "preinst")
    assert sorted(farm) == [f"python3-demo.{script}.debhelper" for script in scripts], snippets
    return snippets


def test_a_farm_era_run_renders_with_the_templates_compiled_when_the_wheel_was_built(venv, tmp_path):
    """The wheel's build step compiles the templates with Jinja2, as debian/rules does,
    beside the templates pip installs (share/dh-pyshared); a farm-era package's
    snippets come from those modules, not from compiling the sources, and are the
    bytes the checkout gives (its templates compiled from source)."""
    share = venv.root / "share/dh-pyshared"
    stamp = compiled_stamp(venv)
    assert stamp["jinja2"] == jinja2_version(venv)
    templates = {p.name: p.read_text() for p in (CHECKOUT / "templates").iterdir() if p.name != "README.md"}
    assert stamp["sources"] == templates
    ours, reference = farm_source(tmp_path / "venv"), farm_source(tmp_path / "checkout")
    result, report = venv.recorded("dh_pyshared", "-v", cwd=ours.root, scratch=tmp_path, jinja2=True)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    expected = reference.run("-v")
    assert result.stdout == expected.stdout
    assert snapshot(ours.root) == snapshot(reference.root)
    assert_farm_snippets(ours)
    assert report["templates"] == str(share / "templates")
    assert report["compiled"] == [str(share / "compiled-templates")]
    assert report["from_source"] == []
    assert_imported_from_the_venv(venv, report, {"pyshared_tools", "jinja2", "debian"})


def test_templates_compiled_by_another_jinja2_are_compiled_again_from_source(debian_jinja2_venv, tmp_path):
    """pip's isolated build compiled the templates with the index's Jinja2; the
    tool runs with Debian's: render.py refuses the compiled modules and Jinja2
    compiles the installed templates, the bytes the built tree gives run from source."""
    venv, copy = debian_jinja2_venv
    assert compiled_stamp(venv)["jinja2"] != jinja2_version(venv) == metadata.version("jinja2")
    ours, reference = farm_source(tmp_path / "venv"), farm_source(tmp_path / "copy")
    result, report = venv.recorded("dh_pyshared", "-v", cwd=ours.root, scratch=tmp_path, jinja2=True)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    expected = run_copy(copy, reference, "-v")
    assert result.stdout == expected.stdout
    assert snapshot(ours.root) == snapshot(reference.root)
    snippets = assert_farm_snippets(ours)
    assert snippets["python3-demo.postinst.debhelper"].count(EDITED) == 1
    assert report["compiled"] is None
    compiled_from_source = set(report["from_source"])
    assert {"postinst-pyshared-farm", "postinst-pyshared"} <= compiled_from_source, compiled_from_source
    assert report["files"]["jinja2"].startswith("/usr/lib/python3/dist-packages/")


def test_the_pre_rendered_table_is_made_from_the_templates_the_wheel_ships(debian_jinja2_venv, tmp_path):
    """The wheel's build step pre-renders the snippets from the templates it ships
    (one edited after the checkout's table was made): a plain package's snippets
    come from that table, without Jinja2, and are the bytes Jinja2 renders."""
    venv, copy = debian_jinja2_venv
    ours, reference = SourcePackage(tmp_path / "venv"), SourcePackage(tmp_path / "copy")
    for source in (ours, reference):
        source.write("usr/lib/python3.11/site-packages/foo/__init__.py", "")
        source.write("usr/lib/python3.11/site-packages/foo/core.py", "VALUE = 1\n")
    result, report = venv.recorded("dh_pyshared", "-v", cwd=ours.root, scratch=tmp_path)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    expected = run_copy(copy, reference, "-v")
    assert result.stdout == expected.stdout
    assert snapshot(ours.root) == snapshot(reference.root)
    postinst = (ours.root / "debian" / "python3-demo.postinst.debhelper").read_text()
    assert postinst.count(EDITED) == 1 and "py3compile -p python3-demo" in postinst
    assert "pyshared_tools.outputs.prerendered" in report["files"] and "jinja2" not in report["files"]


def test_a_wheel_built_from_the_sdist_has_the_compiled_templates(tmp_path):
    """The sdist carries the build step (MANIFEST.in): a wheel built from it, by
    /usr/bin/python3's setuptools and Jinja2 without isolation, holds the compiled
    templates (stamped with that Jinja2) beside the templates, and the table."""
    import zipfile

    import jinja2

    copy = tmp_path / "dh-pyshared"
    shutil.copytree(CHECKOUT, copy, symlinks=True, ignore=NOT_COPIED)
    backend = (
        "import sys\nfrom setuptools import build_meta\nprint(getattr(build_meta, sys.argv[1])(sys.argv[2]))"
    )
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PIP_"))}

    def build(hook, source, output):
        result = subprocess.run(
            [PYTHON, "-c", backend, hook, str(output)],
            cwd=source,
            capture_output=True,
            text=True,
            env=environment,
        )
        assert result.returncode == 0, result.stderr
        return output / result.stdout.split()[-1]

    sdist = build("build_sdist", copy, tmp_path / "dist")
    (tmp_path / "unpacked").mkdir()
    subprocess.run(["tar", "-xzf", str(sdist), "-C", str(tmp_path / "unpacked")], check=True)
    (unpacked,) = (tmp_path / "unpacked").iterdir()
    assert (unpacked / "setup_build.py").is_file()
    wheel = build("build_wheel", unpacked, tmp_path / "wheel")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        data = next(n.split("/data/")[0] for n in names if "/data/share/dh-pyshared/templates/" in n)
        share = f"{data}/data/share/dh-pyshared"
        stamp = json.loads(archive.read(f"{share}/compiled-templates/stamp.json"))
        prerendered = archive.read("pyshared_tools/outputs/prerendered.py").decode()
    assert stamp["jinja2"] == jinja2.__version__
    templates = sorted(n.rsplit("/", 1)[1] for n in names if n.startswith(f"{share}/templates/"))
    assert sorted(stamp["sources"]) == [name for name in templates if name != "README.md"]
    compiled = [n for n in names if n.startswith(f"{share}/compiled-templates/tmpl_") and n.endswith(".py")]
    assert len(compiled) == len(stamp["sources"])
    assert prerendered == (CHECKOUT / "pyshared_tools/outputs/prerendered.py").read_text()


# --- pyshared-scan ------------------------------------------------------------------------------


def real_debs():
    debs = list(bookworm_debs().values())
    debs += fetch_debs(tuple(sorted(LIBPYTHON_PACKAGES) + sorted(ABI3_PACKAGES)), "abi-check-debs").values()
    return sorted(debs)


def scan_both(venv, tmp_path, *args, export_arch=True):
    """(venv's result, checkout's under /usr/bin/python3), each with a cache of its own;
    "{name}" in an argument is "venv" or "checkout"."""
    results = []
    for name, command in (
        ("venv", [str(venv.bin / "pyshared-scan")]),
        ("checkout", [PYTHON, str(CHECKOUT / "bin" / "pyshared-scan")]),
    ):
        environment = {**venv.environment(export_arch), "XDG_CACHE_HOME": str(tmp_path / f"cache-{name}")}
        results.append(
            subprocess.run(
                [*command, *(str(a).replace("{name}", name) for a in args)],
                capture_output=True,
                text=True,
                cwd=tmp_path,
                env=environment,
            )
        )
    return results


def test_pyshared_scan_from_the_venv_finds_what_the_checkout_finds(venv, tmp_path):
    debs = real_debs()
    ours, theirs = scan_both(venv, tmp_path, "--json", "--supported", "3.11", "--stats", *debs)
    assert theirs.returncode == 1, theirs.stderr  # the libpython linkers among them
    assert (ours.returncode, ours.stdout) == (theirs.returncode, theirs.stdout), ours.stderr
    codes = {f["code"] for f in json.loads(ours.stdout)["findings"]}
    assert {"libpython", "legacy-layout"} <= codes
    assert ours.stderr == theirs.stderr and f"{len(debs)} .debs" in ours.stderr
    # Again: from the cache the first runs wrote, with tqdm's progress bar.
    again, _ = scan_both(venv, tmp_path, "--json", "--supported", "3.11", "--stats", "--progress", *debs)
    assert (again.returncode, again.stdout) == (ours.returncode, ours.stdout)
    assert f"{len(debs)} from the cache" in again.stderr and f"0/{len(debs)} [" in again.stderr, again.stderr
    # Per-package records, then the cross-package checks on them.
    records = scan_both(
        venv, tmp_path, "--no-cache", "--supported", "3.11", "--records", "{name}.jsonl", *debs
    )
    assert [(r.returncode, r.stdout) for r in records] == [(0, "")] * 2, records[0].stderr
    ours_records = tmp_path / "venv.jsonl"
    assert ours_records.read_text() == (tmp_path / "checkout.jsonl").read_text()
    merged = scan_both(venv, tmp_path, "merge", "--json", ours_records)
    assert merged[0].stdout == merged[1].stdout == ours.stdout, merged[0].stderr


def test_pyshared_scan_reads_an_lz4_packages_index_zstd_debs_and_trees(venv, tmp_path):
    """lz4 (a Packages index as apt keeps it) and real .debs repacked with a
    zstd data.tar: streamed with zstandard (the zstd extra), and without it
    unpacked by python-debian; in one process (--jobs 1) to record its imports.
    Then the unpacked trees they were repacked from."""
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    chosen = real_debs()[:6]
    for deb in chosen:
        unpacked = tmp_path / deb.name.replace(".deb", "")
        subprocess.run(["dpkg-deb", "-R", str(deb), str(unpacked)], check=True)
        subprocess.run(
            ["dpkg-deb", "--root-owner-group", "-Zzstd", "-b", str(unpacked), str(mirror / deb.name)],
            check=True,
            capture_output=True,
        )
        members = subprocess.run(
            ["ar", "t", str(mirror / deb.name)], capture_output=True, text=True, check=True
        ).stdout.split()
        assert "data.tar.zst" in members, members
    index = subprocess.run(
        ["apt-ftparchive", "packages", "."], cwd=mirror, capture_output=True, check=True
    ).stdout
    assert index.count(b"\nPackage: ") + index.startswith(b"Package: ") == 6
    lz4 = tmp_path / "Packages.lz4"
    lz4.write_bytes(subprocess.run(["lz4", "-c"], input=index, capture_output=True, check=True).stdout)
    args = ("--json", "--supported", "3.11", "--stats", "--no-cache", "--jobs", "1", "--packages", lz4)
    args += ("--mirror", mirror)
    ours, theirs = scan_both(venv, tmp_path, *args)
    # The libpython linkers among them: found inside their data.tar.zst.
    linkers = {deb_field(deb, "Package") for deb in chosen} & LIBPYTHON_PACKAGES.keys()
    assert linkers, chosen
    assert {f["package"] for f in json.loads(theirs.stdout)["findings"]} == linkers, theirs.stderr
    assert "6 .debs" in theirs.stderr
    assert (ours.returncode, ours.stdout, ours.stderr) == (theirs.returncode, theirs.stdout, theirs.stderr)
    for absent in ((), ("zstandard",)):
        result, report = venv.recorded(
            "pyshared-scan", *map(str, args), cwd=tmp_path, scratch=tmp_path, absent=absent
        )
        assert (result.returncode, result.stdout, result.stderr) == (
            theirs.returncode,
            theirs.stdout,
            theirs.stderr,
        )
        needed = {"pyshared_tools", "lz4", "debian"} | ({"zstandard"} - set(absent))
        assert_imported_from_the_venv(venv, report, needed)
        assert (report["files"].get("zstandard") is not None) == (not absent)
    # The same packages as unpacked trees (DEBIAN/control read with python-debian's Deb822).
    trees = sorted(tmp_path / deb.name.replace(".deb", "") for deb in chosen)
    ours, theirs = scan_both(venv, tmp_path, "--json", "--supported", "3.11", "--no-cache", *trees)
    assert {f["package"] for f in json.loads(theirs.stdout)["findings"]} == linkers, theirs.stderr
    assert (ours.returncode, ours.stdout, ours.stderr) == (theirs.returncode, theirs.stdout, theirs.stderr)


# --- --help, --version, man pages ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("tool", "option"),
    [
        ("dh_pyshared", "--help"),
        ("dh_pyshared", "--version"),
        ("pyshared-scan", "--help"),
    ],
)
def test_help_and_version_are_the_checkouts(venv, tmp_path, tool, option):
    ours = venv.run(tool, option, cwd=tmp_path)
    theirs = subprocess.run(
        [PYTHON, str(CHECKOUT / "bin" / tool), option],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=venv.environment(True),
    )
    assert ours.returncode == theirs.returncode == 0, ours.stderr
    assert ours.stdout == theirs.stdout and ours.stdout.strip(), ours.stdout


@pytest.mark.parametrize(
    "module", ["pyshared_tools.manpages.dh_pyshared", "pyshared_tools.manpages.pyshared_scan"]
)
def test_man_pages_are_the_checkouts(venv, tmp_path, module):
    """What debian/rules runs, from the installed package: the same roff."""
    environment = {**venv.environment(True), "SOURCE_DATE_EPOCH": "1795255200"}
    ours = subprocess.run(
        [str(venv.python), "-B", "-m", module, str(tmp_path / "ours.1")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environment,
    )
    assert ours.returncode == 0, ours.stderr
    theirs = subprocess.run(
        [PYTHON, "-B", "-m", module],
        capture_output=True,
        text=True,
        cwd=CHECKOUT,
        env=environment,
        check=True,
    )
    assert (tmp_path / "ours.1").read_text() == theirs.stdout and ".TH " in theirs.stdout


# --- in a package build -------------------------------------------------------------------------


def test_the_example_package_builds_with_the_venvs_dh_pyshared(venv, tmp_path):
    """examples/pyshared-demo with dpkg-buildpackage (which exports DEB_HOST_*) and
    `dh $@ --with pyshared` (the checkout's add-on): the venv's dh_pyshared first on
    PATH makes the same package as the checkout's under /usr/bin/python3."""
    unpacked = {}
    for name, bin_directory in (("venv", venv.bin), ("checkout", CHECKOUT / "bin")):
        source = debbuild.copy_source(
            CHECKOUT / "examples" / "pyshared-demo", tmp_path / name / "pyshared-demo"
        )
        environment = debbuild.clean_environment(
            {"PERL5LIB": str(CHECKOUT / "perl"), "PYTHONDONTWRITEBYTECODE": "1"}
        )
        environment["PATH"] = f"{bin_directory}:{environment['PATH']}"
        assert shutil.which("dh_pyshared", path=environment["PATH"]) == str(bin_directory / "dh_pyshared")
        build = debbuild.dpkg_buildpackage(source, "-d", env=environment)
        assert "Traceback" not in build.log, build.log
        unpacked[name] = {"log": [line for line in build.log.splitlines() if "dh_pyshared" in line]}
        deb = build.deb("python3-pyshared-demo")
        unpacked[name]["tree"] = snapshot(debbuild.unpack(deb, tmp_path / name / "root"))
        unpacked[name]["depends"] = debbuild.field(deb, "Depends")
        unpacked[name]["postinst"] = debbuild.control_file(deb, "postinst")
    assert unpacked["venv"] == unpacked["checkout"]
    assert "   dh_pyshared" in unpacked["venv"]["log"], unpacked["venv"]["log"]
    assert any(path.endswith(f"/_speedups.{TAG}.so") for path in unpacked["venv"]["tree"])


# --- the stable-ABI table ------------------------------------------------------------------------


def test_the_venv_ships_the_stable_abi_table_and_refuses_a_violation(venv, tmp_path):
    """pip installs pyshared_tools/rules/stable_abi.table; the abi3 check finds a symbol outside
    the stable ABI with it, without importing abi3info."""
    table = venv.site / "pyshared_tools" / "rules" / "stable_abi.table"
    assert table.read_bytes() == (CHECKOUT / "pyshared_tools/rules/stable_abi.table").read_bytes()
    bad = SourcePackage(tmp_path / "bad", source_fields="X-Python3-Version: >= 3.11\n")
    bad.extension(
        "usr/lib/python3.11/site-packages/foo/_bad.abi3.so", body="PyDict_SetDefault(object, object, object);"
    )
    result, report = venv.recorded("dh_pyshared", cwd=bad.root, scratch=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith(
        "dh_pyshared: error: stable-ABI extension uses symbols outside the stable ABI of Python 3.11 "
        "(the lowest supported version): PyDict_SetDefault (not in the stable ABI), "
    ), result.stderr
    assert "abi3info" not in report["files"]
