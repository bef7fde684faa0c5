"""Messages in debhelper's style: ``dh_pyshared: warning: ...`` on stderr,
actions on stdout under -v (debhelper indents them with a tab)."""

import sys

PROGRAM = "dh_pyshared"


def error(message):
    print(f"{PROGRAM}: error: {message}", file=sys.stderr)


def warning(message):
    print(f"{PROGRAM}: warning: {message}", file=sys.stderr)


def action(message):
    print(f"\t{message}")
