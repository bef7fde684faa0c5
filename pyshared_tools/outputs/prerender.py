"""Snippets rendered by Jinja2 ahead of time, filled in at run time without it.

The templates stay the one source of every snippet.  For the shapes of data
that scripts.script_data() gives the common packages (a plain Python 3 or 2
package, the default or another shared directory, with or without a
directory switch: see common_contexts()), `python3 -m pyshared_tools.outputs.prerender`
renders every template with Jinja2, each string of the data replaced by a
placeholder, and writes pyshared_tools/outputs/prerendered.py (debian/rules does it
again after dh_install, into the package).  What a template prints goes
through |shquote, which here records its argument (with the placeholders in
it) and prints a marker instead.

At run time, fill() takes the data's shape (its structure, every string
reduced to "empty or not"), finds the snippet rendered for that shape, puts
each real string where its placeholder was and passes every recorded
argument through the same shquote: the bytes Jinja2 would give, without
importing it (tests/test_templates.py renders many contexts both ways).  A
shape rendered in advance never depended on the strings' values: a template
that compares, slices or calls a method of one fails its pre-rendering (the
placeholder refuses), and that shape is rendered at run time.  fill() returns
None, and the caller renders with Jinja2, for any other shape, for a string
holding a marker character, and when the template files found differ from
the ones the table was made from (an edited template, a stale table).
"""

import os

from pyshared_tools.lazy import pattern

# Private-use characters: a placeholder is P<n>Q, a recorded shquote R<n>S.
_P, _Q, _R, _S = "\ue000", "\ue001", "\ue002", "\ue003"
_MARKERS = frozenset(_P + _Q + _R + _S)
# Compiled when a snippet is first filled in: a farm-era run renders every one with Jinja2.
_PLACEHOLDER = pattern(f"{_P}([0-9]+){_Q}")
_QUOTED = pattern(f"{_R}([0-9]+){_S}")
GENERATED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "prerendered.py")


class NotShaped(Exception):
    """The data, or what a template does with it, has no shape known in advance."""


def shape(data):
    """(key, strings): the data's structure as text, and its strings in the
    order the key lists them."""
    strings = []

    def walk(value):
        if isinstance(value, str):
            strings.append(value)
            return "s" if value else "e"
        if isinstance(value, bool) or value is None or isinstance(value, int):
            return repr(value)
        if isinstance(value, dict):
            return "{" + ",".join(f"{key}:{walk(value[key])}" for key in sorted(value)) + "}"
        if isinstance(value, list | tuple):
            return "[" + ",".join(walk(item) for item in value) + "]"
        raise NotShaped(type(value).__name__)

    return walk(data), strings


def template_sources(directory):
    """{name: text} of the template files in `directory` (README.md aside)."""
    sources = {}
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        if name != "README.md" and os.path.isfile(path):
            with open(path, encoding="utf-8") as handle:
                sources[name] = handle.read()
    return sources


_TABLE = None


def _table():
    """The generated table when it was made from the templates found, else {}."""
    global _TABLE
    if _TABLE is None:
        _TABLE = {}
        from pyshared_tools.errors import TreeError

        try:
            from pyshared_tools.outputs import prerendered
            from pyshared_tools.outputs.render import template_directory

            if template_sources(template_directory()) == prerendered.SOURCES:
                _TABLE = prerendered.SNIPPETS
        except (ImportError, OSError, UnicodeDecodeError, AttributeError, TreeError):
            pass  # no table, or no templates (render() says so)
    return _TABLE


def fill(name, data):
    """The snippet `name` for `data` as render.render() gives it, or None when
    it was not rendered in advance for data of this shape."""
    table = _table()
    if not table:
        return None
    try:
        key, strings = shape(data)
    except NotShaped:
        return None
    entry = table.get((name, key))
    if entry is None or any(_MARKERS.intersection(text) for text in strings):
        return None
    from pyshared_tools.outputs.render import shquote

    text, arguments = entry
    quoted = [shquote(_PLACEHOLDER.sub(lambda m: strings[int(m[1])], argument)) for argument in arguments]
    return _QUOTED.sub(lambda m: quoted[int(m[1])], text).strip("\n") + "\n"


# --- ahead of time ----------------------------------------------------------


class _Placeholder(str):
    """A string that may only be printed or concatenated: anything that would
    make the output depend on its value refuses."""

    __slots__ = ()
    __hash__ = str.__hash__

    def _refuse(self, *arguments, **keywords):
        raise NotShaped("a template looks at the value of a string")


for _method in (
    "__eq__",
    "__ne__",
    "__lt__",
    "__le__",
    "__gt__",
    "__ge__",
    "__contains__",
    "__len__",
    "__getitem__",
    "__iter__",
    "__mod__",
    "__mul__",
    "__rmul__",
    "__bool__",
    *(m for m in dir(str) if not m.startswith("_")),
):
    setattr(_Placeholder, _method, _Placeholder._refuse)
_Placeholder.__str__ = lambda self: str.__str__(self)
del _method


def _placeholders(data):
    counter = iter(range(1 << 30))

    def walk(value):
        if isinstance(value, str):
            number = next(counter)  # as shape() counts: empty strings too
            return _Placeholder(f"{_P}{number}{_Q}") if value else ""
        if isinstance(value, dict):
            return {key: walk(value[key]) for key in sorted(value)}
        if isinstance(value, list | tuple):
            return [walk(item) for item in value]
        return value

    return walk(data)


def common_contexts():
    """The data script_data() gives the common packages, from the code that
    makes it: Python 3 and/or 2 modules, the default or another shared
    directory, dh_python3's own byte-compile blocks or not, Multi-Arch: same
    or not, no farm-era leftovers or one directory switch."""
    from types import SimpleNamespace

    from pyshared_tools.outputs.scripts import DEFAULT_SHARED_DIR, Legacy, script_data

    contexts = []
    shapes = [
        (python3, python2, qualifier)
        for python3, python2 in ((True, False), (False, True), (True, True))
        for qualifier in ("", ":x")  # Multi-Arch: same names the package pkg:<arch>
    ]
    for python3, python2, qualifier in shapes:
        plan = SimpleNamespace(
            package="python3-x",
            python3_modules=python3,
            python2_modules=python2,
            architecture_qualifier=qualifier,
        )
        for shared_dir in (DEFAULT_SHARED_DIR, "usr/share/x"):
            for dh_python3 in (False, True):
                for links in ((), (("/usr/lib/python3/dist-packages/x", "../../../share/pyshared/x"),)):
                    legacy = Legacy(directory_links=links)
                    # outputs/collect.py reads the version only for a package with leftovers
                    version = "1.0-1" if legacy else None
                    contexts.append(script_data(plan, shared_dir, version, legacy, dh_python3))
    return contexts


def prerender(template_dir):
    """(sources, {(template, shape key): (text with markers, recorded arguments)})."""
    import jinja2

    from pyshared_tools.outputs.render import Quoted, environment
    from pyshared_tools.outputs.scripts import SNIPPETS

    base = environment()
    recorded = []

    def record(value):
        # str() of a _Placeholder is its marker text, as Jinja2's ~ gives it.
        recorded.append(str(value))
        return Quoted(f"{_R}{len(recorded) - 1}{_S}")

    env = base.overlay(loader=jinja2.FileSystemLoader(template_dir))
    env.filters = dict(base.filters, shquote=record)
    names = sorted({name for names in SNIPPETS.values() for name in names})
    table = {}
    for data in common_contexts():
        key, _ = shape(data)
        placeholders = _placeholders(data)
        for name in names:
            recorded.clear()
            try:
                text = env.get_template(name).render(**placeholders)
            except NotShaped:
                continue
            table[(name, key)] = (text, tuple(recorded))
    return template_sources(template_dir), table


def module_text(sources, table):
    lines = [
        '"""Generated by `python3 -m pyshared_tools.outputs.prerender` from templates/: do not edit.',
        "",
        "tests/test_templates.py fails when this differs from a fresh rendering.",
        '"""',
        "",
        "# fmt: off",
        f"SOURCES = {sources!r}",
        "SNIPPETS = {",
    ]
    for key in sorted(table):
        lines.append(f"    {key!r}: {table[key]!r},")
    lines += ["}", ""]
    return "\n".join(lines)


def main(argv=None):
    import argparse

    from pyshared_tools.outputs.render import template_directory

    parser = argparse.ArgumentParser(description="pre-render the maintainer-script snippets")
    parser.add_argument("--templates", help="the template directory (default: the one the tool uses)")
    parser.add_argument("--output", default=GENERATED, help=f"the module to write ({GENERATED})")
    parser.add_argument("--compiled", help="also compile the templates with Jinja2 into this directory")
    arguments = parser.parse_args(argv)
    if arguments.compiled:
        from pyshared_tools.outputs.render import compile_templates

        os.makedirs(arguments.compiled, exist_ok=True)
        compile_templates(arguments.compiled, arguments.templates)
    sources, table = prerender(arguments.templates or template_directory())
    with open(arguments.output, "w", encoding="utf-8") as handle:
        handle.write(module_text(sources, table))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
