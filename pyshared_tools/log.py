"""Messages in debhelper's style: ``dh_pyshared: warning: ...`` on stderr,
actions on stdout under -v (debhelper indents them with a tab)."""

import sys

from pyshared_tools import TOOL_NAME as PROGRAM

_ESCAPES = {code: f"\\x{code:02x}" for code in (*range(32), 127)}


def one_line(message):
    """`message` with its control characters escaped: a message is one line,
    whatever a hostile file name or file content put into it."""
    return message.translate(_ESCAPES)


def error(message):
    print(f"{PROGRAM}: error: {one_line(message)}", file=sys.stderr)


def warning(message):
    print(f"{PROGRAM}: warning: {one_line(message)}", file=sys.stderr)


def action(message):
    print(f"\t{message}")
