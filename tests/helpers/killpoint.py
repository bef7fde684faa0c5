"""Run the real dh_pyshared and SIGKILL it at a chosen point of its journal, never by wall time.

    /usr/bin/python3 tests/helpers/killpoint.py WHERE REPORT [dh_pyshared arguments...]

WHERE is one of

* ``journal``: after the plan, just before the journal is written;
* ``apply:N``: just before step N (0-based) of the journal this run wrote, steps 0..N-1
  done; N equal to the number of steps: every step done, the journal not yet removed;
* ``resume:N``: the same, in the replay of the journal an earlier run left.

The tool has no part in this (no hook, no environment variable).  The wrapper puts the checkout
first on sys.path as bin/dh_pyshared does, wraps pyshared_tools.engine.journal's journal writer
and its per-step operations, and then runs pyshared_tools.cli.main().  Just before the
kill it writes ``PHASE STEP STEPS`` (STEPS: the journal's length) to REPORT, created
with O_EXCL, so the test reads where the kill landed; a run that never reaches WHERE
ends normally and writes no report.
"""

import os
import signal
import sys
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent.parent
WRAPPER = Path(__file__).resolve()
PHASES = ("journal", "apply", "resume")


def parse(where):
    """(phase, step) from WHERE; step is None for `journal`."""
    phase, _, step = where.partition(":")
    if phase not in PHASES or (phase == "journal") != (step == "") or not (step == "" or step.isdigit()):
        raise SystemExit(f"killpoint: bad WHERE {where!r}: journal, apply:N or resume:N")
    return phase, (int(step) if step else None)


def read_report(path):
    """(phase, step, steps) written by the killed run, or None when it was not killed."""
    path = Path(path)
    if not path.exists():
        return None
    phase, step, steps = path.read_text().split()
    return phase, (None if step == "-" else int(step)), int(steps)


def killed_run(root, where, arguments, host):
    """dh_pyshared `arguments` in the source package `root` (DEB_HOST_* from `host`), SIGKILLed
    at `where` (journal, apply:N, resume:N): the completed process and where the kill landed
    (None: no kill)."""
    import subprocess

    report = root.parent / f"{root.name}.killpoint"
    report.unlink(missing_ok=True)
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DH_", "DEB_"))}
    environment.update(host)
    result = subprocess.run(
        ["/usr/bin/python3", str(WRAPPER), where, str(report), *arguments],
        cwd=root,
        env=environment,
        capture_output=True,
        text=True,
    )
    landed = read_report(report)
    report.unlink(missing_ok=True)
    return result, landed


def install(where, report):
    """Wrap pyshared_tools.engine.journal so that the process kills itself at `where`."""
    from pyshared_tools.engine import journal as module

    phase, target = parse(where)
    state = {"phase": None, "step": 0}

    def kill(step, steps):
        descriptor = os.open(report, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        os.write(descriptor, f"{phase} {'-' if step is None else step} {steps}\n".encode())
        os.close(descriptor)
        os.kill(os.getpid(), signal.SIGKILL)

    real_write_journal, real_apply, real_resume, real_run = (
        module.write_journal,
        module.apply,
        module.resume,
        module._run,
    )

    def write_journal(path, root, actions):
        if phase == "journal":
            kill(None, len(actions))
        return real_write_journal(path, root, actions)

    def in_phase(name, function):
        def wrapped(*args, **kwargs):
            state["phase"] = name
            try:
                return function(*args, **kwargs)
            finally:
                state["phase"] = None

        return wrapped

    def run(root, actions, verbose, descriptions):
        state["step"], state["steps"] = 0, len(actions)
        real_run(root, actions, verbose, descriptions)
        if state["phase"] == phase and target == len(actions):
            kill(target, len(actions))

    def step_of(operation):
        def wrapped(guard, action):
            if state["phase"] == phase and state["step"] == target:
                kill(target, state["steps"])
            state["step"] += 1
            return operation(guard, action)

        return wrapped

    module.write_journal = write_journal
    module.apply = in_phase("apply", real_apply)
    module.resume = in_phase("resume", real_resume)
    module._run = run
    for name, operation in list(module._OPERATIONS.items()):
        module._OPERATIONS[name] = step_of(operation)


def main(argv):
    if len(argv) < 2:
        raise SystemExit(__doc__)
    where, report, arguments = argv[0], argv[1], argv[2:]
    sys.path[0] = str(CHECKOUT)  # not this script's directory: the checkout, as bin/dh_pyshared does
    install(where, report)
    from pyshared_tools.cli import main as tool_main

    return tool_main(arguments)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
