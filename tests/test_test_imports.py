"""No test module, and no benchmark, imports a test module: what they share lives
in tests/helpers/ (and fixtures used everywhere in tests/conftest.py), so that
each tests/test_*.py can be read, run and changed on its own."""

import ast
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent
TEST_MODULES = {path.stem for path in (CHECKOUT / "tests").glob("test_*.py")}


def imported_test_modules(path):
    """(line, module) for every import anywhere in `path` (top level or inside a
    function) of a tests/test_* module, as `test_x` or `tests.test_x`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.ImportFrom):  # from . import test_x
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "tests":
                parts = parts[1:]
            if parts and parts[0] in TEST_MODULES:
                found.append((node.lineno, name))
                break
    return found


def test_the_check_sees_every_spelling(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import test_elf\n"
        "import tests.test_elf as elf_tests\n"
        "from test_archive import PACKAGES\n"
        "from tests import test_layouts\n"
        "from tests.test_manpage import help_text\n"
        "def later():\n"
        "    from test_scan_inputs import bookworm_contents\n"
        "from helpers.archive import fetch_debs\n"
        "import testing_tools\n"
    )
    assert [line for line, _ in imported_test_modules(sample)] == [1, 2, 3, 4, 5, 7]


def test_no_test_module_or_benchmark_imports_a_test_module():
    paths = sorted([*(CHECKOUT / "tests").glob("test_*.py"), *(CHECKOUT / "benchmarks").glob("*.py")])
    assert len(paths) > 40
    found = {
        f"{path.relative_to(CHECKOUT)}:{line}": name
        for path in paths
        for line, name in imported_test_modules(path)
    }
    assert found == {}
