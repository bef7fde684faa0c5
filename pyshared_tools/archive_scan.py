"""pyshared-scan: find what dh_pyshared would fix in built .debs, archive-wide.

Each .deb is read with python-debian (control fields, then the data tar
streamed member by member; nothing is extracted, no member name is ever used
as a file system path, no symlink is followed).  The rules are the library's:
`layouts.match_place` says which directories hold modules, `tags` splits and
parses file names, `elf.extension_facts` reads an extension's facts from its
bytes, `checks` judges them and `relations` writes the Conflicts + Replaces
for a module shipped under two file names.  This module only adapts archive
members to them.

Memory: one .deb at a time; across packages only the owners of the paths in
module places are kept (for path-collision and module-clash).
The output is documented in docs/scan-schema.md, whose code table must match
CODES below.
"""

import argparse
import functools
import json
import lzma
import os
import struct
import sys
import tarfile
import zlib
from collections import namedtuple

from . import checks, elf, layouts, relations, tags
from .errors import PysharedError, TagError, TreeError, UsageError

PROGRAM = "pyshared-scan"
SCHEMA = 1
SEVERITIES = ("error", "warning", "info")
DEFAULT_MAX_MEMBER_BYTES = 256 * 1024 * 1024

# code -> (severity, a rebuild of the source fixes it, meaning).  docs/scan-schema.md repeats this table.
CODES = {
    "legacy-layout": (
        "warning",
        True,
        "modules in a place that is not a home (the path is the place; the detail names the layout rule)",
    ),
    "untagged-extension": (
        "warning",
        True,
        "an extension (exports PyInit_<stem>) whose file name has no ABI tag",
    ),
    "not-an-extension": (
        "info",
        False,
        "a .so in a module place without PyInit_ function: dh_pyshared keeps its name",
    ),
    "stale-tag": ("warning", True, "an ABI tag no supported Python version imports"),
    "wrong-arch": (
        "error",
        True,
        "extension code for another architecture than the package's, or an "
        "extension in an Architecture: all package",
    ),
    "libpython": ("warning", True, "an extension with a DT_NEEDED entry on libpython"),
    "abi3-violation": (
        "error",
        True,
        "an abi3 extension importing symbols outside the stable ABI of the lowest supported version",
    ),
    "init-mismatch": ("error", True, "an extension exporting PyInit_<other> but not PyInit_<stem>"),
    "corrupt-elf": ("error", True, "a .so in a module place whose ELF tables are truncated or corrupt"),
    "path-collision": (
        "error",
        True,
        "the same file path (not a directory) in a module place of two packages",
    ),
    "module-clash": (
        "error",
        True,
        "the same module under two file names in two packages; the detail gives "
        "the Conflicts + Replaces dh_pyshared writes",
    ),
    "unreadable-deb": (
        "error",
        False,
        "a truncated or corrupt .deb, or one with an unknown compression; "
        "the scan goes on with the other files",
    ),
    "unsafe-member": (
        "error",
        True,
        "a data.tar member name that is absolute or contains '..' (never used as a path)",
    ),
    "huge-member": ("warning", False, "a .so in a module place larger than --max-member-bytes: not read"),
}

Finding = namedtuple("Finding", ("package", "version", "source", "path", "code", "detail", "deb"))
# What the cross-package checks keep of one package.
Owner = namedtuple("Owner", ("package", "version", "source", "deb"))
Control = namedtuple("Control", ("package", "version", "architecture", "source"))


# --- command line ---------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message, "on the command line", f"see {PROGRAM} --help")


def _parser():
    parser = _Parser(
        prog=PROGRAM,
        description="Scan built .debs for what dh_pyshared would fix (docs/scan-schema.md).",
    )
    parser.add_argument(
        "inputs",
        nargs="*",
        metavar="DEB-OR-DIRECTORY",
        help=".deb files, and directories searched recursively for *.deb",
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print the findings as JSON (schema 1)")
    output.add_argument(
        "--rebuild-list",
        action="store_true",
        help="print 'source: code, ...' for every source package a rebuild would fix",
    )
    parser.add_argument(
        "--supported",
        metavar="X.Y[,X.Y...]",
        help="supported Python 3 versions (default: this system's, as py3versions -s)",
    )
    parser.add_argument(
        "--max-member-bytes",
        type=int,
        default=DEFAULT_MAX_MEMBER_BYTES,
        metavar="N",
        help="largest .so member read (default 256 MiB)",
    )
    return parser


def _supported(text):
    if text is None:
        from .pyversions import supported_versions

        return sorted(supported_versions(None))
    versions = set()
    for entry in text.split(","):
        major, dot, minor = entry.strip().partition(".")
        if not (dot and major == "3" and minor.isdigit()):
            raise UsageError(
                f"--supported {text!r} is not a list of Python 3 versions",
                f"at {entry!r}",
                "write --supported 3.11,3.12",
            )
        versions.add((3, int(minor)))
    return sorted(versions)


def deb_files(inputs):
    """The .debs of the command line: files as given, directories searched recursively (sorted)."""
    found = []
    for given in inputs:
        if os.path.isdir(given):
            for directory, subdirectories, files in os.walk(given):
                subdirectories.sort()
                found.extend(os.path.join(directory, name) for name in sorted(files) if name.endswith(".deb"))
        elif os.path.isfile(given):
            found.append(given)
        else:
            raise UsageError(
                f"no such file or directory: {given}",
                "on the command line",
                "give .deb files or directories holding them",
            )
    return found


def main(argv=None):
    try:
        return run(sys.argv[1:] if argv is None else argv)
    except PysharedError as error:
        print(f"{PROGRAM}: error: {error}", file=sys.stderr)
        return error.exit_code
    except BrokenPipeError:
        return 1


def run(argv):
    options = _parser().parse_args(argv)
    if not options.inputs:
        raise UsageError(
            "no .deb or directory given",
            "on the command line",
            f"give .deb files or directories: {PROGRAM} pool/",
        )
    if options.max_member_bytes < 0:
        raise UsageError(
            "--max-member-bytes must not be negative", "on the command line", "give a size in bytes"
        )
    scanner = Scanner(_supported(options.supported), options.max_member_bytes)
    for deb in deb_files(options.inputs):
        scanner.scan_deb(deb)
    findings = scanner.finish()
    for note in scanner.notes:
        print(f"{PROGRAM}: note: {note}", file=sys.stderr)
    if options.json:
        print(json.dumps(json_document(findings), indent=2))
    elif options.rebuild_list:
        sys.stdout.write("".join(f"{line}\n" for line in rebuild_list(findings)))
    else:
        sys.stdout.write(table(findings))
    return 1 if any(CODES[f.code][0] != "info" for f in findings) else 0


# --- reading one .deb -----------------------------------------------------------------------


def member_path(name):
    """(tree-relative path, None), or (None, why the name is unsafe); ('', None) for the root."""
    if name.startswith("/"):
        return None, "absolute member name"
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts:
        return None, "member name contains '..'"
    return "/".join(parts), None


@functools.lru_cache(maxsize=8192)
def place_of(directory):
    """The layouts.Place holding files of `directory` (the outermost matching ancestor), or None."""
    parts = directory.split("/")
    for length in range(1, len(parts) + 1):
        place = layouts.match_place("/".join(parts[:length]))
        if place is not None:
            return place
    return None


def read_control(deb):
    fields = deb.debcontrol()
    package = fields.get("Package", "")
    version = fields.get("Version", "")
    source = fields.get("Source", package).split(" ")[0] or package
    return Control(package, version, fields.get("Architecture", ""), source)


class Scanner:
    """Findings of the .debs given to scan_deb() one at a time; finish() adds the cross-package ones."""

    def __init__(self, supported, max_member_bytes=DEFAULT_MAX_MEMBER_BYTES):
        self.supported = [tuple(version) for version in supported]
        self.max_member_bytes = max_member_bytes
        self.findings = []
        self.notes = []
        self.owners = {}  # path in a module place -> [Owner]

    def scan_deb(self, filename):
        from debian.arfile import ArError

        control = None
        try:
            with open(filename, "rb") as stream:
                from debian.debfile import DebFile

                deb = DebFile(fileobj=stream)
                control = read_control(deb)
                self._scan_data(deb.data.tgz(), control, filename)
        except (
            ArError,
            tarfile.TarError,
            EOFError,
            OSError,
            ValueError,
            LookupError,
            lzma.LZMAError,
            zlib.error,
            struct.error,
        ) as error:
            self._unreadable(filename, control, error)

    def _unreadable(self, filename, control, error):
        package, version, source = (
            (control.package, control.version, control.source) if control else ("", "", "")
        )
        detail = f"{type(error).__name__}: {error}".replace("\n", " ")
        self.findings.append(Finding(package, version, source, filename, "unreadable-deb", detail, filename))

    def _scan_data(self, tar, control, deb):
        owner = Owner(control.package, control.version, control.source, deb)
        legacy = {}  # place path -> (rule, number of files)
        for info in tar:
            path, unsafe = member_path(info.name)
            if unsafe:
                self._add(owner, info.name, "unsafe-member", f"{unsafe}; never used as a path")
                continue
            if not path or info.isdir():
                continue
            helper = layouts.match_metadata(path)
            if helper:
                self._add(owner, path, "legacy-layout", f"metadata file of {helper}")
            directory, _, name = path.rpartition("/")
            place = place_of(directory)
            if place is None:
                continue
            self.owners.setdefault(path, []).append(owner)
            if not place.home:
                rule, count = legacy.get(place.path, (place.rule, 0))
                legacy[place.path] = (rule, count + 1)
            if info.isreg() and name.endswith(".so") and place.major != 2:
                self._shared_object(tar, info, path, place, control, owner)
        for place_path, (rule, count) in sorted(legacy.items()):
            self._add(
                owner,
                place_path,
                "legacy-layout",
                f"{count} file(s) in layout rule {rule.name}: {rule.description}",
            )

    def _add(self, owner, path, code, detail):
        self.findings.append(
            Finding(owner.package, owner.version, owner.source, path, code, detail, owner.deb)
        )

    def _shared_object(self, tar, info, path, place, control, owner):
        parsed = tags.split_module_filename(path)
        if parsed is None:
            return
        if info.size > self.max_member_bytes:
            self._add(
                owner, path, "huge-member", f"{info.size} bytes, above {self.max_member_bytes}: not read"
            )
            return
        with tar.extractfile(info) as member:
            data = member.read(self.max_member_bytes + 1)
        where = f"{path} in {control.package}"
        try:
            facts = elf.extension_facts(data, parsed.stem, where)
        except TreeError as error:
            self._add(owner, path, "corrupt-elf", error.what)
            return
        if facts is None:
            self._add(owner, path, "not-an-extension", "not an ELF file: kept as it is")
            return
        init = checks.init_function(parsed.stem, facts)
        if init.outcome == "error":
            self._add(owner, path, "init-mismatch", init.what)
            return
        if facts.module is None:
            self._add(
                owner, path, "not-an-extension", "shared library without PyInit_ function: keeps its name"
            )
            return
        self._extension(path, parsed, facts, control, owner)

    def _extension(self, path, parsed, facts, control, owner):
        tag = None
        if parsed.tag_text is None:
            self._add(
                owner,
                path,
                "untagged-extension",
                f"extension {facts.module} has no ABI tag: every Python 3 version would import it",
            )
        else:
            try:
                tag = tags.parse_tag(parsed.tag_text, origin="file name tag")
            except TagError as error:
                self._add(owner, path, "stale-tag", f"{error.what}: {error.where}")
        all_arch = checks.package_architecture(control.architecture)
        arch = (
            all_arch
            if all_arch.outcome == "error"
            else checks.architecture(facts, control.architecture, tag.multiarch if tag else None)
        )
        if arch.outcome == "error":
            self._add(owner, path, "wrong-arch", arch.what)
        linked = checks.libpython(facts)
        if linked.outcome == "warning":
            self._add(owner, path, "libpython", f"linked against {', '.join(checks.linked_libpython(facts))}")
        if tag is None:
            return
        if tag.impl == "abi3":
            stable = checks.stable_abi(facts, self.supported[0])
            if stable.outcome == "error":
                self._add(owner, path, "abi3-violation", stable.what)
            elif stable.outcome == "warning" and stable.what not in self.notes:
                self.notes.append(f"{stable.what}: abi3 extensions were not checked")
            return
        self._version_tag(path, tag, control, owner)

    def _version_tag(self, path, tag, control, owner):
        supported = ", ".join(tags.version_text(version) for version in self.supported)
        if tag.version not in self.supported:
            self._add(
                owner,
                path,
                "stale-tag",
                f"tag {tag} is for Python {tags.version_text(tag.version)}; supported: {supported}",
            )
            return
        multiarch = tag.multiarch or checks.ARCHITECTURES.get(control.architecture, (None,))[0]
        if multiarch is None:
            return
        imported = tags.table_suffixes(tag.version, multiarch)
        if tag.suffix not in imported:
            self._add(
                owner,
                path,
                "stale-tag",
                f"Python {tags.version_text(tag.version)} does not import "
                f"{tag.suffix}; it imports {', '.join(imported)}",
            )

    # --- across packages ------------------------------------------------------------------

    def finish(self):
        """All findings, sorted, with path-collision and module-clash added."""
        by_key = {}
        for path, owners in sorted(self.owners.items()):
            packages = {owner.package for owner in owners}
            if len(packages) > 1:
                for owner in owners:
                    others = sorted(
                        {f"{o.package} {o.version}" for o in owners if o.package != owner.package}
                    )
                    self._add(owner, path, "path-collision", f"also shipped by {', '.join(others)}")
            key = relations.module_key(path)
            if key is not None:
                by_key.setdefault(key, []).append(path)
        for key, paths in sorted(by_key.items()):
            if len(paths) > 1:
                self._module_clash(key, paths)
        return sorted(
            set(self.findings), key=lambda f: (f.package, f.version, f.path, f.code, f.detail, f.deb)
        )

    def _module_clash(self, key, paths):
        for path in paths:
            for owner in self.owners[path]:
                index = relations.OwnerIndex()
                others = []
                for other_path in paths:
                    for other in self.owners[other_path]:
                        if other_path != path and other.package != owner.package:
                            index.add(
                                f"/{other_path}", relations.Owner(other.package, "installed", other.version)
                            )
                            others.append(f"{other_path} in {other.package}")
                if not others:
                    continue
                try:
                    found, _ = relations.relations(owner.package, owner.version, [f"/{path}"], index)
                except PysharedError as error:
                    fields = f"no relation written ({error})"
                else:
                    fields = "; ".join(
                        f"{name}: {', '.join(values)}" for name, values in sorted(found.items())
                    )
                self._add(
                    owner,
                    path,
                    "module-clash",
                    f"module {key[1]} is also {', '.join(sorted(set(others)))}; {fields}",
                )


# --- output ---------------------------------------------------------------------------------


def json_document(findings):
    return {
        "schema": SCHEMA,
        "findings": [
            {
                "package": f.package,
                "version": f.version,
                "source": f.source,
                "path": f.path,
                "code": f.code,
                "severity": CODES[f.code][0],
                "detail": f.detail,
                "deb": f.deb,
            }
            for f in findings
        ],
    }


def rebuild_list(findings):
    """'source: code, code' lines, sorted, for the findings a rebuild of the source fixes."""
    codes = {}
    for finding in findings:
        if CODES[finding.code][1] and finding.source:
            codes.setdefault(finding.source, set()).add(finding.code)
    return [f"{source}: {', '.join(sorted(found))}" for source, found in sorted(codes.items())]


def _printable(text):
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def table(findings):
    header = ("PACKAGE", "VERSION", "CODE", "PATH", "DETAIL")
    rows = [header] + [
        tuple(_printable(value) for value in (f.package or "-", f.version or "-", f.code, f.path, f.detail))
        for f in findings
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    return "".join(
        "  ".join([*(row[c].ljust(widths[c]) for c in range(3)), row[3], row[4]]) + "\n" for row in rows
    )
