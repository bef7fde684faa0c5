"""The one way dh_pyshared runs an external command: ``run()``, through sh.

It behaves the same with sh 1.14 (bookworm), 2.2 (trixie) and 2.4 (PyPI):

* sh 2.x returns a ``str`` unless given ``_return_cmd=True``; sh 1.14 does not
  know that argument and would pass it on to the command as ``--_return_cmd``,
  so it is given only to an sh that lists it in ``Command._call_args``.
* ``_close_fds=False``: sh's default lists ``/dev/fd`` (a link into /proc) in
  the forked child to close what it inherited, and so fails in a build chroot
  without /proc.  Nothing is lost: every descriptor Python 3 opens is
  non-inheritable (PEP 446), sh's own pipes included (its exception pipe is
  made close-on-exec explicitly), so the command gets its stdin, stdout and
  stderr and only what dh_pyshared itself was given to pass on, as under
  debhelper's own commands.
* every sh exception (CommandNotFound, ForkException, ErrorReturnCode,
  SignalException, TimeoutException, any other) becomes one
  ExternalToolError; so do a missing sh and a non-zero exit status that an
  sh release would not raise for.

sh is imported only here, when a command really runs.
"""

import errno
import os
from collections import namedtuple

from pyshared_tools.errors import ExternalToolError

Completed = namedtuple("Completed", ("command_line", "stdout", "stderr", "exit_code"))

_DETAIL_LIMIT = 300


def run(program, arguments=(), *, where, todo, missing_todo=None, environ=None, shown=None):
    """Run `program` (a name looked up on PATH, or a path) with the argument list.

    Returns Completed(command line, stdout bytes, stderr bytes, exit code 0).  Anything else
    raises ExternalToolError(<what went wrong>, `where`, `todo`); a program that
    cannot be found says `missing_todo` (default `todo`).  `environ` is the
    command's whole environment and its PATH is searched (default: ours).
    `shown` is how messages write the command (default: the command line, with
    any long or multi-line argument as "...").
    """
    arguments = [str(argument) for argument in arguments]
    command_line = shown or _shown(program, arguments)
    search_environ = os.environ if environ is None else environ
    executable = _find(program, search_environ.get("PATH", os.defpath), where, missing_todo or todo)
    try:
        import sh
    except ImportError:
        raise ExternalToolError(
            f"the Python module sh is not installed, needed to run {program}",
            where,
            "install python3-sh",
        ) from None
    call_args = {"_tty_out": False, "_close_fds": False}
    if environ is not None:
        call_args["_env"] = dict(environ)
    if "return_cmd" in getattr(sh.Command, "_call_args", {}):
        call_args["_return_cmd"] = True
    try:
        result = sh.Command(executable)(*arguments, **call_args)
    except sh.ErrorReturnCode as error:  # SignalException is one too
        raise ExternalToolError(
            _exit_problem(command_line, error.exit_code, error.stderr), where, todo
        ) from None
    except sh.CommandNotFound:
        raise ExternalToolError(f"{program} is not installed", where, missing_todo or todo) from None
    except sh.ForkException as error:
        reason = _start_problem(executable, str(error))
        raise ExternalToolError(f"{command_line} could not be started: {reason}", where, todo) from None
    except getattr(sh, "TimeoutException", ()):
        raise ExternalToolError(f"{command_line} timed out", where, todo) from None
    except OSError as error:  # fork or pipe refused: too many processes or descriptors
        raise ExternalToolError(
            f"{command_line} could not be started: {error.strerror or error}", where, todo
        ) from None
    except Exception as error:
        if type(error).__module__.partition(".")[0] != "sh":
            raise
        reason = _last_line(str(error))
        raise ExternalToolError(
            f"{command_line} failed in sh: {type(error).__name__}{': ' + reason if reason else ''}",
            where,
            todo,
        ) from None
    if result.exit_code != 0:  # sh raises for it; kept in case a release would not
        raise ExternalToolError(_exit_problem(command_line, result.exit_code, result.stderr), where, todo)
    return Completed(command_line, bytes(result.stdout), bytes(result.stderr), result.exit_code)


def _shown(program, arguments):
    import shlex

    return " ".join(
        "..." if "\n" in argument or len(argument) > 80 else shlex.quote(argument)
        for argument in [program, *arguments]
    )


def _find(program, search_path, where, todo):
    """The executable `program` names, like sh's and the shell's lookup; an
    error that says which file is there but not executable."""
    if "/" in program:
        candidates = [program]
    else:
        candidates = [os.path.join(directory or ".", program) for directory in search_path.split(os.pathsep)]
    unusable = None
    for candidate in candidates:
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
        if unusable is None and os.path.lexists(candidate):
            unusable = candidate
    if unusable is None:
        raise ExternalToolError(f"{program} is not installed", where, todo)
    kind = "a directory" if os.path.isdir(unusable) else "not an executable file"
    raise ExternalToolError(f"{program} is not installed: {unusable} is {kind}", where, todo)


def _exit_problem(command_line, exit_code, stderr):
    detail = _one_line(stderr)
    if exit_code < 0:
        import signal

        try:
            name = signal.Signals(-exit_code).name
        except ValueError:
            name = str(-exit_code)
        problem = f"{command_line} was killed by signal {name}"
    else:
        problem = f"{command_line} failed with exit code {exit_code}"
    return f"{problem}: {detail}" if detail else problem


def _start_problem(executable, text):
    """Why exec failed, from the child's traceback sh forwards ("[Errno 8] Exec
    format error"); for a script whose #! interpreter is missing (exec says
    ENOENT of a file that exists), that interpreter."""
    import re

    found = re.search(r"\[Errno (\d+)\] ([^:\n]+)", text)
    if not found:
        return _last_line(text)
    if int(found[1]) == errno.ENOENT and os.path.exists(executable):
        try:
            with open(executable, "rb") as script:
                first = script.read(256).partition(b"\n")[0]
        except OSError:
            first = b""
        if first.startswith(b"#!"):
            interpreter = _one_line(first[2:].strip().split(b" ")[0])
            return f"{executable} names the missing #! interpreter {interpreter}"
    return f"{executable}: {_one_line(found[2].strip())}"


def _one_line(data):
    """A command's own words (hostile bytes) as one short printable line."""
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else str(data)
    text = "; ".join(line.strip() for line in text.splitlines() if line.strip())
    text = "".join(character if character.isprintable() else "?" for character in text)
    return text if len(text) <= _DETAIL_LIMIT else text[: _DETAIL_LIMIT - 3] + "..."


def _last_line(text):
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return _one_line(lines[-1] if lines else "")


def output_text(completed, where, todo):
    """A command's stdout as text; output that is not UTF-8 is an ExternalToolError."""
    try:
        return completed.stdout.decode("utf-8")
    except UnicodeDecodeError:
        what = f"{completed.command_line} printed output that is not UTF-8"
        raise ExternalToolError(what, where, todo) from None
