"""Everything a run writes besides the package trees, computed for every plan
before the first change: substvars (pyshared:Depends, Breaks, Replaces,
Conflicts) and the maintainer-script snippets.  Written once, at the end."""

import functools
import os

from pyshared_tools import autoscripts
from pyshared_tools.errors import ControlError
from pyshared_tools.files import replace_text
from pyshared_tools.relations import BREAKS, CONFLICTS, REPLACES
from pyshared_tools.substvars import DEPENDS, python3_depends, substvars_path

CHANGELOG_PATH = "debian/changelog"
RELATION_SUBSTVARS = (BREAKS, REPLACES, CONFLICTS)


class Outputs:
    __slots__ = ("legacy_writes", "scripts", "snippet_writes", "substvars", "warnings")

    def __init__(self):
        self.substvars = {}  # package -> {name: value}; "" removes the variable
        self.scripts = {}  # package -> {script: our block's body}
        self.snippet_writes = {}  # path -> text, or None to delete
        self.legacy_writes = {}  # path -> text
        self.warnings = []


@functools.cache
def source_version(path=CHANGELOG_PATH):
    """The version of the newest debian/changelog entry, read with python-debian."""
    try:
        with open(path, encoding="utf-8") as handle:
            head = handle.read(65536)
    except OSError as error:
        raise ControlError(
            f"cannot read {path}: {error.strerror}", path, "run dh_pyshared from the source package root"
        ) from None
    from debian.changelog import Changelog

    try:
        changelog = Changelog(head, max_blocks=1, strict=True)
        version = str(changelog.version)
    except Exception as error:  # python-debian raises its own and ValueError alike
        raise ControlError(
            f"cannot parse {path}: {error}", f"{path} line 1", "fix the first changelog entry"
        ) from None
    return version


def compute(plans, options, control, lowest_supported):
    from pyshared_tools import scripts

    outputs = Outputs()
    index = _owner_index(plans, options, control)
    final_paths = {plan.package: ["/" + path for path in plan.final_paths] for plan in plans}
    for plan in plans:
        values = {}
        if plan.python3_modules:
            values[DEPENDS] = python3_depends(plan, lowest_supported)
        if index is not None:
            from pyshared_tools.relations import relations

            siblings = {p: paths for p, paths in final_paths.items() if p != plan.package}
            found, warnings = relations(
                plan.package, _version_for_relations(index), final_paths[plan.package], index, siblings
            )
            outputs.warnings += warnings
            for name in RELATION_SUBSTVARS:
                values[name] = ", ".join(found.get(name, ()))
        outputs.substvars[plan.package] = values

        found = scripts.Legacy(
            plan.runtime_farm, plan.helpers, scripts.directory_links(plan.root, plan), plan.storage_sources
        )
        saved = scripts.load_legacy(plan.package)
        legacy = saved.merged(found)
        record = legacy.to_json()
        if legacy and record != saved.to_json():
            outputs.legacy_writes[scripts.legacy_path(plan.package)] = record
        version = source_version() if legacy else None
        # With -n the snippets are only shown (--no-act, --json): rendering, and
        # importing Jinja2, is skipped when nothing would show them.
        if options.no_scripts and not (options.no_act or options.json):
            continue
        dh_python3 = scripts.dh_python3_compiles(
            plan.package,
            autoscripts.existing_text(plan.package, "postinst"),
            autoscripts.existing_text(plan.package, "prerm"),
        )
        data = scripts.script_data(plan, options.shared_dir, version, legacy, dh_python3)
        bodies = scripts.render_snippets(data)
        outputs.scripts[plan.package] = bodies
        if not options.no_scripts:
            outputs.snippet_writes.update(autoscripts.planned_writes(plan.package, bodies))
    return outputs


def _version_for_relations(index):
    """Only a sibling's relation is bounded by this source's version."""
    siblings = (owner for owners in index.by_path.values() for owner in owners if owner.kind == "sibling")
    return source_version() if any(siblings) else None


def _owner_index(plans, options, control):
    if not options.contents and not options.dpkg_database:
        return None
    from pyshared_tools import relations

    index = relations.OwnerIndex()
    directories = sorted({os.path.dirname("/" + path) for plan in plans for path in plan.final_paths})
    siblings = set(control.package_names)
    for contents in options.contents:
        relations.read_contents(contents, directories, siblings, index)
    if options.dpkg_database:
        admindir = os.environ.get("DPKG_ADMINDIR") or "/var/lib/dpkg"
        relations.read_dpkg_database(admindir, directories, siblings, index)
    return index


def write(outputs, plans):
    from pyshared_tools.substvars import write as write_substvar

    for plan in plans:
        for name, value in outputs.substvars.get(plan.package, {}).items():
            write_substvar(substvars_path(plan.package), name, value)
    autoscripts.write(outputs.snippet_writes)


def write_records(outputs):
    """Before apply: once the tree is converted, only the record knows the farm."""
    for path, text in sorted(outputs.legacy_writes.items()):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        replace_text(path, text)
