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

# A checkout, then pip's data_files (setup.cfg), then the Debian package.
TEMPLATE_DIRECTORIES = (
    os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "templates"),
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
        import jinja2

        _ENVIRONMENT = jinja2.Environment(
            loader=jinja2.FileSystemLoader(template_directory()),
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            keep_trailing_newline=True,
            finalize=_only_quoted,
        )
        _ENVIRONMENT.filters["shquote"] = shquote
    return _ENVIRONMENT


def render(name, **values):
    """The snippet `name` filled with `values`, ending in exactly one newline."""
    text = environment().get_template(name).render(**values)
    return text.strip("\n") + "\n"
