"""pyshared-scan (pyshared_tools/archive/) sits on top of the library: it imports
exactly the modules its __init__ docstring lists, and of the library only the
modules that docstring names import it."""

import ast
import re
from pathlib import Path

import pyshared_tools.archive

LIBRARY = Path(pyshared_tools.archive.__file__).resolve().parent.parent
ARCHIVE = LIBRARY / "archive"


def library_imports(path, library=LIBRARY):
    """The modules of `library` (a pyshared_tools directory), dotted below it, that `path`, one
    of its modules, imports anywhere (top level or in a function), however spelled.  A name
    imported from a package (`from .. import tags`) counts as a module of it."""
    package = list(path.relative_to(library).parent.parts)  # [] for pyshared_tools/x.py
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            dotted = [alias.name.split(".") for alias in node.names]
            found.update(
                ".".join(parts[1:]) for parts in dotted if parts[0] == "pyshared_tools" and parts[1:]
            )
            continue
        if not isinstance(node, ast.ImportFrom):
            continue
        module = (node.module or "").split(".") if node.module else []
        if node.level:
            if node.level - 1 > len(package):
                continue
            base = package[: len(package) - node.level + 1] + module
        elif module[0] == "pyshared_tools":
            base = module[1:]
        else:
            continue
        if node.module and base:
            found.add(".".join(base))
        else:  # from .. import x, y / from pyshared_tools import x
            found.update(".".join([*base, alias.name]) for alias in node.names)
    return found


def test_the_check_sees_every_spelling(tmp_path):
    path = tmp_path / "pyshared_tools" / "archive" / "sample.py"
    path.parent.mkdir(parents=True)
    path.write_text(
        "import os\n"
        "import pyshared_tools.steps\n"
        "from pyshared_tools.plan import decide\n"
        "from pyshared_tools import apply\n"
        "from .. import scan, modules\n"
        "from ..options import parse\n"
        "from . import judge\n"
        "from .store import Store\n"
        "from debian.deb822 import Deb822\n"
        "def later():\n"
        "    from ..control import read_control\n"
    )
    assert library_imports(path, tmp_path / "pyshared_tools") == {
        *("steps", "plan", "apply", "scan", "modules", "options", "control"),
        *("archive.judge", "archive.store"),
    }


def documented_imports():
    """The names after 'It imports, of pyshared_tools, exactly:' in archive's docstring."""
    text = " ".join(pyshared_tools.archive.__doc__.split())
    listed = re.search(r"It imports, of pyshared_tools, exactly: ([^.]+)\.", text)
    assert listed, "archive/__init__.py's docstring says what archive imports"
    return {name.strip() for name in listed.group(1).split(",")}


def test_archive_imports_exactly_what_its_docstring_lists():
    outside = set()
    for path in sorted(ARCHIVE.glob("*.py")):
        outside |= {name for name in library_imports(path) if name.split(".")[0] != "archive"}
    assert outside == documented_imports()


def test_of_the_library_only_scan_manpage_and_relations_import_archive():
    importers = {
        ".".join(path.relative_to(LIBRARY).with_suffix("").parts)
        for path in LIBRARY.rglob("*.py")
        if ARCHIVE not in path.parents
        and any(name.split(".")[0] == "archive" for name in library_imports(path))
    }
    assert importers == {"scan_manpage", "relations"}
    for name in importers:
        assert f"{name}.py" in pyshared_tools.archive.__doc__


def test_every_archive_module_has_a_docstring_and_a_line_in_the_package_s():
    listed = {
        name
        for names in re.findall(r"^  ([a-z_]+(?:, [a-z_]+)*)  ", pyshared_tools.archive.__doc__, re.MULTILINE)
        for name in names.split(", ")
    }
    modules = {path.stem for path in ARCHIVE.glob("*.py")} - {"__init__"}
    assert listed == modules
    for name in modules:
        path = ARCHIVE / f"{name}.py"
        assert ast.get_docstring(ast.parse(path.read_text(), str(path))), f"{name}.py has no docstring"
