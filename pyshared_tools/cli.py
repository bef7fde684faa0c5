"""dh_pyshared: options -> packages -> inventory -> plan -> outputs -> access -> journal -> write.

Every package is inventoried and planned (and so validated) before the first
change to any of them.  PysharedError is caught here, and only here.
"""

import os
import sys

from pyshared_tools import log
from pyshared_tools.errors import PysharedError


def main(argv=None):
    try:
        return run(sys.argv[1:] if argv is None else argv, os.environ)
    except PysharedError as error:
        log.error(str(error))
        return error.exit_code
    except BrokenPipeError:
        return 1
    except OSError as error:
        # What no check foresaw (a full disk, a read-only tree): still one debhelper-style line.
        where = f", {error.filename}" if error.filename else ""
        log.error(f"{error.strerror or error}{where}, fix the file system and run dh_pyshared again")
        return 1


def exit_after(status):
    """Exit with `status` as sys.exit does, without Python's teardown of every
    module (freeing each object of Jinja2, python-debian and ours: 5 ms of a
    plain run, 12 ms of a farm-era one) when nothing waits for it: no atexit
    handler, no other thread, stdout and stderr flushed.  Every file a run
    writes is closed before main() returns.  Otherwise, and when a flush fails,
    the ordinary sys.exit."""
    import atexit

    threading = sys.modules.get("threading")
    if (
        type(status) is not int
        or getattr(atexit, "_ncallbacks", lambda: 1)()
        or (threading is not None and threading.active_count() > 1)
    ):
        sys.exit(status)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:  # reported by sys.exit's own flush, as before
        sys.exit(status)
    os._exit(status)


def run(argv, environ):
    from pyshared_tools.debhelper.buildenv import HostFacts
    from pyshared_tools.debhelper.control import package_tree, read_control, select_packages
    from pyshared_tools.debhelper.options import parse_command_line
    from pyshared_tools.engine.inventory import take_inventory
    from pyshared_tools.engine.journal import apply, journal_path, resume
    from pyshared_tools.engine.plan import build_plan

    options = parse_command_line(argv, environ)
    for message in options.warnings:
        log.warning(message)
    control = read_control()
    facts = HostFacts(environ)
    packages = select_packages(control, options, facts)
    context = _context(options, control, facts)

    plans = []
    for package in packages:
        root = package_tree(options, package)
        if not options.no_act:
            resume(journal_path(package), root, options.verbose)
        if not os.path.isdir(root) and not (options.explicit_packages or options.tmpdir):
            continue
        inventory = take_inventory(root, package, options.shared_dir)
        if inventory.has_python:
            plans.append(build_plan(inventory, context))

    from pyshared_tools.errors import LeftoverError
    from pyshared_tools.outputs import collect as outputs_module

    lowest = lambda: min(context.supported_versions())  # noqa: E731
    outputs = outputs_module.compute(plans, options, control, lowest)
    for plan in plans:
        for message in plan.warnings:
            log.warning(message)
    for message in outputs.warnings:
        log.warning(message)
    if options.strict and outputs.warnings:
        raise LeftoverError(
            f"{len(outputs.warnings)} warning(s) with --strict: " + "; ".join(outputs.warnings),
            "in the package relations",
            "add the relations by hand, or drop --strict",
        )
    from pyshared_tools.outputs.access import check_access

    check_access(plans, outputs)
    if options.json:
        from pyshared_tools.outputs.report import print_json

        print_json(plans, outputs)
    elif options.no_act:
        from pyshared_tools.outputs.report import print_plan

        print_plan(plans, outputs)
    if options.no_act:
        return 0
    # debhelper's commands log themselves inside an override target, for --remaining-packages.
    from pyshared_tools.debhelper.control import planned_logs, write_logs

    logs = planned_logs(packages) if environ.get("DH_INTERNAL_OVERRIDE") else {}
    outputs_module.write_records(outputs)
    for plan in plans:
        apply(plan.root, plan.actions, journal_path(plan.package), options.verbose)
    outputs_module.write(outputs, plans)
    write_logs(logs)
    return 0


def _context(options, control, facts):
    from functools import cache

    from pyshared_tools.engine.placement import Context
    from pyshared_tools.rules import elf
    from pyshared_tools.rules.tags import SuffixResolver

    @cache
    def supported():
        from pyshared_tools.rules.pyversions import supported_versions

        return supported_versions(control.source.get("X-Python3-Version"))

    @cache
    def default():
        from pyshared_tools.rules.pyversions import default_version

        return default_version()

    resolver = SuffixResolver(
        options.tags,
        host_multiarch=lambda: facts.host_multiarch,
        build_multiarch=lambda: facts.build_multiarch,
        query=not options.tags,
    )
    architectures = {package.name: package.architecture for package in control.packages}
    multi_arch = {package.name: package.fields.get("Multi-Arch", "").strip() for package in control.packages}
    return Context(
        shared_dir=options.shared_dir,
        resolver=resolver,
        supported_versions=supported,
        default_version=default,
        inspect=elf.inspect_shared_object,
        strict=options.strict,
        host_arch=lambda: facts.host_arch,
        package_architecture=architectures.get,
        fix_libpython=options.fix_libpython,
        exclude=options.exclude,
        multi_arch=multi_arch.get,
    )
