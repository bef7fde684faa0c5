"""Maintainer-script snippets from the Jinja2 templates in templates/.

Every value reaches the shell through the one filter, ``shquote``; the
environment's finalize hook refuses any expression that did not end in it, so
a template that forgets it fails when rendered (and tests/test_templates.py
fails it without rendering).
"""

import os
import shlex
import sys

from pyshared_tools.errors import TreeError
from pyshared_tools.lazy import jinja2 as _jinja2  # Jinja2 without what rendering never needs

# A checkout, then pip's data_files (setup.cfg), then the Debian package.
TEMPLATE_DIRECTORIES = (
    os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "templates"),
    os.path.join(sys.prefix, "share", "dh-pyshared", "templates"),
    "/usr/share/dh-pyshared/templates",
)
# Control characters cannot be written as shell text that every /bin/sh reads
# back unchanged (and dpkg refuses newlines in path names anyway).
_REFUSED = frozenset(chr(c) for c in range(32)) | {"\x7f"}


class Quoted(str):
    """Text that shquote produced: safe to paste into a shell command line."""

    __slots__ = ()


def shquote(value):
    text = str(value)
    if _REFUSED.intersection(text):
        raise TreeError(
            f"{text!r} contains a control character",
            "a value for a maintainer script",
            "rename the file so that it has none",
        )
    return Quoted(shlex.quote(text))


def _only_quoted(value):
    if isinstance(value, Quoted):
        return value
    raise TypeError(f"template printed {value!r} without |shquote")


def template_directory():
    for directory in TEMPLATE_DIRECTORIES:
        if os.path.isdir(directory):
            return directory
    raise TreeError(
        "the maintainer-script templates are missing",
        " or ".join(TEMPLATE_DIRECTORIES),
        "reinstall dh-pyshared",
    )


_ENVIRONMENT = None


def environment():
    global _ENVIRONMENT
    if _ENVIRONMENT is None:
        jinja2 = _jinja2()
        _ENVIRONMENT = jinja2.Environment(
            loader=jinja2.FileSystemLoader(template_directory()),
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            keep_trailing_newline=True,
            finalize=_only_quoted,
        )
        _ENVIRONMENT.filters["shquote"] = shquote
    return _ENVIRONMENT


# Beside the templates: their Jinja2-compiled modules (debian/rules makes them
# with `python3 -m pyshared_tools.outputs.prerender --compiled`), and the Jinja2
# version and template texts they were compiled from.
COMPILED_DIRECTORY = "compiled-templates"
COMPILED_STAMP = "stamp.json"

_COMPILED = None


def compile_templates(directory, template_dir=None):
    """Compile every template into `directory` with Jinja2's own ahead-of-time
    compilation, and write the stamp that says from what."""
    import json

    from pyshared_tools.outputs.prerender import template_sources

    jinja2 = _jinja2()
    template_dir = template_dir or template_directory()
    env = environment().overlay(loader=jinja2.FileSystemLoader(template_dir))
    env.compile_templates(directory, zip=None, ignore_errors=False, filter_func=lambda n: n != "README.md")
    stamp = {"jinja2": jinja2.__version__, "sources": template_sources(template_dir)}
    with open(os.path.join(directory, COMPILED_STAMP), "w", encoding="utf-8") as handle:
        json.dump(stamp, handle, ensure_ascii=False, sort_keys=True)


def compiled_environment():
    """An environment loading the compiled templates, or False when there are
    none or they were compiled from other templates or by another Jinja2."""
    global _COMPILED
    if _COMPILED is None:
        _COMPILED = False
        import json

        from pyshared_tools.outputs.prerender import template_sources

        jinja2 = _jinja2()

        directory = template_directory()
        compiled = os.path.join(os.path.dirname(directory), COMPILED_DIRECTORY)
        try:
            with open(os.path.join(compiled, COMPILED_STAMP), encoding="utf-8") as handle:
                stamp = json.load(handle)
            if stamp == {"jinja2": jinja2.__version__, "sources": template_sources(directory)}:
                _COMPILED = environment().overlay(loader=jinja2.ModuleLoader(compiled))
        except (OSError, ValueError):
            pass
    return _COMPILED


def render(name, **values):
    """The snippet `name` filled with `values`, ending in exactly one newline."""
    from pyshared_tools.errors import PysharedError

    compiled = compiled_environment()
    text = None
    if compiled:
        try:
            text = compiled.get_template(name).render(**values)
        except PysharedError:
            raise
        except Exception:  # a compiled form this Jinja2 cannot run: compile again
            text = None
    if text is None:
        text = environment().get_template(name).render(**values)
    return text.strip("\n") + "\n"
