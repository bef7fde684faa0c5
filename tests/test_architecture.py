"""The layers of pyshared_tools/ and the directions they may import in.

Each subpackage's __init__ docstring names its modules and what it may import;
this test holds the code to it, function-local imports included, and fails
when a module is added without being listed.
"""

import ast
import re
from pathlib import Path

import pytest

LIBRARY = Path(__file__).resolve().parent.parent / "pyshared_tools"
FOUNDATION = {"__init__", "errors", "lazy", "commands", "files", "log"}
# layer -> the layers it may import from (its own always included)
MAY_IMPORT = {
    "foundation": set(),
    "indexes": {"foundation"},
    "rules": {"foundation"},
    "engine": {"foundation", "rules"},
    "debhelper": {"foundation", "rules"},
    "outputs": {"foundation", "rules", "engine", "debhelper", "indexes"},
    "archive": {"foundation", "rules", "indexes", "outputs"},
    "manpages": {"foundation", "rules", "debhelper", "archive"},
    "cli": {"foundation", "rules", "engine", "debhelper", "outputs"},
}
PACKAGES = ("rules", "engine", "debhelper", "outputs", "archive", "manpages")


def layer_of(parts):
    """The layer of pyshared_tools.<parts...>."""
    if not parts:
        return "foundation"
    first = parts[0]
    if first in PACKAGES:
        return first
    if first in FOUNDATION or not (LIBRARY / f"{first}.py").exists():
        return "foundation"  # a foundation module, or a name pyshared_tools/__init__.py defines
    return first  # indexes, cli


def module_parts(path):
    parts = list(path.relative_to(LIBRARY).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def imported(path):
    """(line, [parts below pyshared_tools]) of every import of ours in the file."""
    parts = module_parts(path)
    package = parts if path.name == "__init__.py" else parts[:-1]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "pyshared_tools":
                    yield node.lineno, alias.name.split(".")[1:]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = base + (node.module.split(".") if node.module else [])
            elif node.module and node.module.split(".")[0] == "pyshared_tools":
                target = node.module.split(".")[1:]
            else:
                continue
            if not target or (len(target) == 1 and target[0] in PACKAGES):
                # `from pyshared_tools[.package] import name, ...`: each name may be a module
                for alias in node.names:
                    yield node.lineno, [*target, alias.name]
            else:
                yield node.lineno, target


def all_modules():
    return sorted(LIBRARY.rglob("*.py"))


@pytest.mark.parametrize("path", all_modules(), ids=lambda p: str(p.relative_to(LIBRARY)))
def test_imports_point_down_the_layers(path):
    own = layer_of(module_parts(path))
    allowed = MAY_IMPORT[own] | {own}
    wrong = [
        f"line {line}: pyshared_tools.{'.'.join(target)} ({layer_of(target)})"
        for line, target in imported(path)
        if layer_of(target) not in allowed
    ]
    assert not wrong, f"{own} may import only {sorted(allowed)}"


@pytest.mark.parametrize("package", PACKAGES)
def test_each_package_docstring_lists_its_modules(package):
    directory = LIBRARY / package
    docstring = ast.get_docstring(ast.parse((directory / "__init__.py").read_text()))
    assert docstring, f"pyshared_tools/{package}/__init__.py has no docstring"
    assert "import" in docstring.lower(), "the docstring says what the package may import"
    listed = set(re.findall(r"^\s{2}(\w+)(?:,\s*(\w+))?", docstring, re.M))
    listed = {name for pair in listed for name in pair if name}
    modules = {path.stem for path in directory.glob("*.py") if path.stem != "__init__"}
    assert modules <= listed, f"not listed in the docstring: {sorted(modules - listed)}"


def test_the_layer_table_knows_every_top_level_module():
    names = {path.stem for path in LIBRARY.glob("*.py")} | {
        path.name for path in LIBRARY.iterdir() if (path / "__init__.py").exists()
    }
    assert {layer_of([name]) for name in names} <= set(MAY_IMPORT)


def test_the_direction_check_sees_a_wrong_import(tmp_path, monkeypatch):
    """The check is not vacuous: rules importing the engine is refused."""
    fake = tmp_path / "pyshared_tools"
    (fake / "rules").mkdir(parents=True)
    module = fake / "rules" / "bad.py"
    module.write_text(
        "def f():\n    from ..engine import plan\n    from pyshared_tools.outputs import scripts\n"
    )
    monkeypatch.setattr(__import__(__name__), "LIBRARY", fake)
    found = [layer_of(target) for _, target in imported(module)]
    assert found == ["engine", "outputs"]
    with pytest.raises(AssertionError):
        test_imports_point_down_the_layers(module)
