"""The golden files of tests/test_layouts.py, with each shared snippet stored once.

tests/golden/<case>.txt is the case's whole report, except that every
maintainer-script snippet the run wrote which is the text of one of SHAPES (a
template rendered with the values listed there) is replaced by one reference
line, `@@ <template> <shape>`.  tests/golden/snippets/<template>.txt holds each
shape of that template: a header `=== <shape> <values as JSON>`, then the full
text.  The check expands the references and compares the result with the whole
report, so no byte goes unchecked: a changed template byte fails every case
whose snippet has that shape, and regenerating rewrites one snippets file per
changed template (the case goldens keep their references); a case whose
snippet changes shape fails, its golden naming the old shape, or no shape.
"""

import json
import os
import re
from pathlib import Path

from conftest import MULTIARCH

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
SNIPPETS = GOLDEN / "snippets"
UPDATE = "PYSHARED_UPDATE_GOLDEN"

_PYTHON3 = {
    "major": 3,
    "helper": "py3compile",
    "cleaner": "py3clean",
    "directories": ["/usr/lib/python3/dist-packages"],
    "private_directories": [],
}
_PYTHON2 = {
    "major": 2,
    "helper": "pycompile",
    "cleaner": "pyclean",
    "directories": [],
    "private_directories": [],
}
_BYTE_COMPILE = {
    "python3": {"package_instance": "python3-demo", "compile_blocks": [_PYTHON3]},
    "python2": {"package_instance": "python3-demo", "compile_blocks": [_PYTHON2]},
    "python3+python2": {"package_instance": "python3-demo", "compile_blocks": [_PYTHON3, _PYTHON2]},
}
# {template: {shape: the values it is rendered with}}
SHAPES = {"postinst-pyshared": _BYTE_COMPILE, "prerm-pyshared": _BYTE_COMPILE}

_REFERENCE = re.compile(r"^@@ (\S+) (\S+)\n", re.MULTILINE)
_HEADER = re.compile(r"^=== (\S+) (.*)\n", re.MULTILINE)


def masked(text):
    return text.replace(MULTIARCH, "<MULTIARCH>")


def rendered_shapes():
    """{(template, shape): (values as JSON, text)}, rendered from templates/ now."""
    from pyshared_tools.outputs.render import render

    shapes = {}
    for template, by_shape in SHAPES.items():
        for shape, values in by_shape.items():
            text = masked(render(template, **values))
            assert not _HEADER.search(text) and not _REFERENCE.search(text), f"{template} {shape}: {text}"
            shapes[template, shape] = (json.dumps(values, sort_keys=True), text)
    return shapes


def snippets_text(shapes, template):
    sections = [(shape, values, text) for (name, shape), (values, text) in shapes.items() if name == template]
    return "".join(f"=== {shape} {values}\n{text}" for shape, values, text in sections)


def read_snippets():
    """{(template, shape): (values as JSON, text)} from tests/golden/snippets/."""
    shapes = {}
    for path in sorted(SNIPPETS.glob("*.txt")):
        text = path.read_text()
        headers = list(_HEADER.finditer(text))
        assert headers and headers[0].start() == 0, f"{path} does not start with a '=== <shape>' header"
        for header, following in zip(headers, [*headers[1:], None], strict=True):
            end = following.start() if following else len(text)
            shapes[path.stem, header.group(1)] = (header.group(2), text[header.end() : end])
    return shapes


def write(path, text):
    """Write `text` to `path` unless it holds it already; atomically, since
    every case of a parallel run writes the same snippets files."""
    if path.exists() and path.read_text() == text:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(text)
    os.replace(temporary, path)


def stored_snippets():
    """The snippets goldens, first rewritten from templates/ under PYSHARED_UPDATE_GOLDEN."""
    if os.environ.get(UPDATE):
        shapes = rendered_shapes()
        for template in SHAPES:
            write(SNIPPETS / f"{template}.txt", snippets_text(shapes, template))
    return read_snippets()


def compress(report, shapes):
    """`report` with each snippet text of `shapes` that starts a line replaced
    by its reference line (the longest texts first)."""
    by_length = sorted(shapes.items(), key=lambda item: -len(item[1][1]))
    for (template, shape), (_, text) in by_length:
        report = re.sub("^" + re.escape(text), f"@@ {template} {shape}\n", report, flags=re.MULTILINE)
    return report


def expand(golden, shapes):
    """The report a case golden stands for: each reference line replaced by the
    full text of the shape it names."""

    def text(match):
        key = (match.group(1), match.group(2))
        assert key in shapes, f"golden names the unknown snippet {' '.join(key)}"
        return shapes[key][1]

    return _REFERENCE.sub(text, golden)


def check_golden(name, report):
    """Compare the case's whole `report` with tests/golden/<name>.txt expanded;
    under PYSHARED_UPDATE_GOLDEN write both goldens first."""
    report = masked(report)
    assert not _REFERENCE.search(report), "a report line reads as a snippet reference: change '@@ '"
    shapes = stored_snippets()
    path = GOLDEN / f"{name}.txt"
    if os.environ.get(UPDATE):
        write(path, compress(report, shapes))
    assert path.exists(), f"no golden file {path}; run with {UPDATE}=1"
    assert report == expand(path.read_text(), shapes)
