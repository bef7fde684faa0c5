"""Everything a run writes besides the package trees, computed for every plan
before the first change: substvars (pyshared:Depends, Breaks, Replaces,
Conflicts) and the maintainer-script snippets.  Written once, at the end."""

import functools
import os

from pyshared_tools import files
from pyshared_tools.debhelper import autoscripts
from pyshared_tools.debhelper.substvars import DEPENDS, python3_depends, substvars_path
from pyshared_tools.debhelper.substvars import updated_text as updated_substvars
from pyshared_tools.errors import ControlError
from pyshared_tools.outputs.relations import BREAKS, CONFLICTS, REPLACES

CHANGELOG_PATH = "debian/changelog"
CHANGELOG_HEAD = 65536
RECORDS_DIRECTORY = "debian/.debhelper/pyshared"
RELATION_SUBSTVARS = (BREAKS, REPLACES, CONFLICTS)


class Outputs:
    __slots__ = ("legacy_writes", "scripts", "snippet_writes", "substvar_writes", "substvars", "warnings")

    def __init__(self):
        self.substvars = {}  # package -> {name: value}; "" removes the variable
        self.scripts = {}  # package -> {script: our block's body}
        self.snippet_writes = {}  # path -> text, or None to delete
        self.substvar_writes = {}  # path -> new text of a substvars file that changes
        self.legacy_writes = {}  # path -> text
        self.warnings = []


@functools.cache
def _changelog_module():
    """python-debian's changelog without email.utils and socket (about 7 ms),
    which it imports for dates and the maintainer's address, logging, which it
    asks only for a logger, and apt_pkg (7 ms where python3-apt is installed),
    which debian_support would compare versions with: reading one version
    needs none of them (see pyshared_tools/lazy.py)."""
    from pyshared_tools.lazy import import_deferring

    return import_deferring(
        "debian.changelog", deferred=("email.utils", "socket", "logging"), missing=("apt_pkg",)
    )


def source_version(path=CHANGELOG_PATH):
    """The version of the newest debian/changelog entry, read with python-debian."""
    # The newest entry is at the top: a bounded head of the file is enough, cut
    # at a line end so that the cut never splits a character.
    data = files.read_bytes(path, limit=CHANGELOG_HEAD, missing_ok=True, head=True)
    if data is None:
        raise ControlError(f"{path} not found", path, "run dh_pyshared from the source package root")
    if len(data) == CHANGELOG_HEAD:
        data = data[: data.rfind(b"\n") + 1]
    head = files.decode(path, data)
    Changelog = _changelog_module().Changelog

    try:
        changelog = Changelog(head, max_blocks=1, strict=True)
        version = str(changelog.version)
    except Exception as error:  # python-debian raises its own and ValueError alike
        raise ControlError(
            f"cannot parse {path}: {error}", f"{path} line 1", "fix the first changelog entry"
        ) from None
    return version


def compute(plans, options, control, lowest_supported):
    from pyshared_tools.outputs import scripts

    # Where the journal and the records go: real directories (or none yet).
    files.check_directories(RECORDS_DIRECTORY)
    outputs = Outputs()
    index = _owner_index(plans, options, control)
    final_paths = {plan.package: ["/" + path for path in plan.final_paths] for plan in plans}
    for plan in plans:
        values = {}
        if plan.python3_modules:
            values[DEPENDS] = python3_depends(plan, lowest_supported)
        if index is not None:
            from pyshared_tools.outputs.relations import relations

            siblings = {p: paths for p, paths in final_paths.items() if p != plan.package}
            found, warnings = relations(
                plan.package, _version_for_relations(index), final_paths[plan.package], index, siblings
            )
            outputs.warnings += warnings
            for name in RELATION_SUBSTVARS:
                values[name] = ", ".join(found.get(name, ()))
        outputs.substvars[plan.package] = values
        # Read (and so validated) now, before the first change to any tree.
        text = updated_substvars(substvars_path(plan.package), values) if values else None
        if text is not None:
            outputs.substvar_writes[substvars_path(plan.package)] = text

        found = scripts.Legacy(plan.runtime_farm, plan.helpers, plan.directory_links, plan.storage_sources)
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
    from pyshared_tools.outputs import relations

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
    """After apply: the substvars and snippets computed (and read) before it."""
    for path, text in sorted(outputs.substvar_writes.items()):
        files.replace_text(path, text)
    autoscripts.write(outputs.snippet_writes)


def write_records(outputs):
    """Before apply: once the tree is converted, only the record knows the farm."""
    for path, text in sorted(outputs.legacy_writes.items()):
        files.check_directories(os.path.dirname(path), create=True)
        files.replace_text(path, text)
