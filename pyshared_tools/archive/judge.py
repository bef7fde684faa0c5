"""One package's findings, by the library's rules, from its file entries.

The entries come from a .deb's data.tar (deb.py) or an unpacked tree
(tree.py); a judge never opens anything itself: it is handed the entry's kind
and, for a .so in a module place, a function that returns its first bytes.
`layouts.match_place` says which directories hold modules, `tags` splits and
parses file names, `elf.extension_facts` reads an extension's facts from its
bytes and `checks` judges them.
"""

import functools

from pyshared_tools.errors import TagError, TreeError
from pyshared_tools.rules import checks, elf, layouts, tags

from .codes import DEFAULT_MAX_MEMBER_BYTES, legacy_detail, unclaimed_detail
from .model import ScannedPackage, error_text, escaped, finding_of

# The bytes of paths and findings one record may keep (the names a hostile .deb can make up are
# otherwise bounded only by its inflated size).
MAX_RECORD_BYTES = 64 * 1024 * 1024


class RecordTooLarge(Exception):
    """A package ships more in module places than a record keeps."""


def member_path(name):
    """(tree-relative path, None), or (None, why the name is unsafe); ('', None) for the root.
    A name that is not UTF-8 (surrogate escapes) is unsafe: its finding shows it escaped."""
    if not name.isascii() and escaped(name) != name:
        return None, "member name is not UTF-8 (shown with \\x escapes)"
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


def version_tag_problem(tag, architecture, supported):
    """Why a version tag (not abi3) is stale for a package of `architecture`, or None."""
    supported_text = ", ".join(tags.version_text(version) for version in supported)
    if tag.version not in supported:
        return f"tag {tag} is for Python {tags.version_text(tag.version)}; supported: {supported_text}"
    multiarch = tag.multiarch or checks.ARCHITECTURES.get(architecture, (None,))[0]
    if multiarch is None:
        return None
    debug = "d" in tag.flags
    imported = tags.table_suffixes(tag.version, multiarch, debug=debug)
    if tag.suffix not in imported:
        build = " (debug build)" if debug else ""
        return (
            f"Python {tags.version_text(tag.version)}{build} does not import "
            f"{tag.suffix}; it imports {', '.join(imported)}"
        )
    return None


class Judge:
    """The findings of one package and the paths it ships in module places."""

    def __init__(self, control, origin, supported, max_member_bytes=DEFAULT_MAX_MEMBER_BYTES):
        self.control = control
        self.origin = escaped(origin)
        self.owner = ScannedPackage(
            control.package, control.version, control.source, self.origin, control.declared, control.provides
        )
        self.supported = [tuple(version) for version in supported]
        self.max_member_bytes = max_member_bytes
        self.findings = []
        self.notes = []
        self.paths = []
        self._legacy = {}  # place path -> (rule, number of files)
        self._kept = 0  # bytes of paths and findings
        self._helper_made = False  # helper metadata, or a link in a module place

    def _keep(self, size):
        self._kept += size
        if self._kept > MAX_RECORD_BYTES:
            raise RecordTooLarge(
                f"more than {MAX_RECORD_BYTES} bytes of paths in module places and findings "
                f"({len(self.paths)} paths, {len(self.findings)} findings)"
            )

    def add(self, path, code, detail):
        self._keep(len(path) + len(detail) + 64)
        self.findings.append(finding_of(self.owner, path, code, detail))

    def unsafe(self, name, why):
        self.add(escaped(name), "unsafe-member", f"{why}; never used as a path")

    def entry(self, path, is_dir, is_regular, size, read):
        """One file entry; read(limit) returns up to `limit` bytes of a regular file."""
        if not path or is_dir:
            return
        helper = layouts.match_metadata(path)
        if helper:
            self.add(path, "legacy-layout", f"metadata file of {helper}")
            self._helper_made = True
        directory, _, name = path.rpartition("/")
        place = place_of(directory)
        if place is None:
            return
        self._keep(len(path) + 64)
        if not is_regular:
            self._helper_made = True  # a link: a farm (or a conflict link) an old helper shipped
        self.paths.append(path)
        if not place.home:
            rule, count = self._legacy.get(place.path, (place.rule, 0))
            self._legacy[place.path] = (rule, count + 1)
        if is_regular and name.endswith(".so") and place.major != 2:
            self._shared_object(path, size, read)

    def finish(self):
        """Add the per-place legacy-layout findings; call once after the last entry."""
        for place_path, (rule, count) in sorted(self._legacy.items()):
            if rule.name in layouts.UNCLAIMED_STORAGE_RULES and not self._helper_made:
                self.add(place_path, "unclaimed-pyshared", unclaimed_detail(rule, count))
            else:
                self.add(place_path, "legacy-layout", legacy_detail(rule, count))
        self._legacy = {}

    def _shared_object(self, path, size, read):
        parsed = tags.split_module_filename(path)
        if parsed is None:
            return
        if size > self.max_member_bytes:
            self.add(path, "huge-member", f"{size} bytes, above {self.max_member_bytes}: not read")
            return
        data = read(self.max_member_bytes + 1)
        try:
            facts = elf.extension_facts(data, parsed.stem, f"{path} in {self.control.package}")
        except TreeError as error:
            self.add(path, "corrupt-elf", error.what)
            return
        if facts is None:
            self.add(path, "not-an-extension", "not an ELF file: kept as it is")
            return
        init = checks.init_function(parsed.stem, facts)
        if init.outcome == "error":
            self.add(path, "init-mismatch", init.what)
            return
        if facts.module is None:
            self.add(path, "not-an-extension", "shared library without PyInit_ function: keeps its name")
            return
        self._extension(path, parsed, facts)

    def _extension(self, path, parsed, facts):
        tag = None
        if parsed.tag_text is None:
            self.add(
                path,
                "untagged-extension",
                f"extension {facts.module} has no ABI tag: every Python 3 version would import it",
            )
        else:
            try:
                tag = tags.parse_tag(parsed.tag_text, origin="file name tag")
            except TagError as error:
                self.add(path, "stale-tag", f"{error.what}: {error.where}")
        architecture = self.control.architecture
        all_arch = checks.package_architecture(architecture)
        arch = (
            all_arch
            if all_arch.outcome == "error"
            else checks.architecture(facts, architecture, tag.multiarch if tag else None)
        )
        if arch.outcome == "error":
            self.add(path, "wrong-arch", arch.what)
        if checks.libpython(facts).outcome == "warning":
            self.add(path, "libpython", f"linked against {', '.join(checks.linked_libpython(facts))}")
        if tag is None:
            return
        if tag.impl == "abi3":
            stable = checks.stable_abi(facts, self.supported[0])
            if stable.outcome == "error":
                self.add(path, "abi3-violation", stable.what)
            return
        problem = version_tag_problem(tag, architecture, self.supported)
        if problem:
            self.add(path, "stale-tag", problem)

    def record(self, index, deb, sha):
        """The record of this package (docs/scan-schema.md): what the cache, --records and the store keep."""
        owner = self.owner
        return {
            "index": index,
            "deb": self.origin,
            "sha256": sha,
            "package": owner.package,
            "version": owner.version,
            "source": owner.source,
            "declared": sorted(owner.declared),
            "provides": sorted(owner.provides),
            "paths": self.paths,
            "findings": [list(finding[:6]) for finding in self.findings],
            "notes": self.notes,
        }


def unreadable_record(index, deb, sha, control, error):
    """The record of a package that could not be read: one unreadable-deb finding."""
    package, version, source = (control.package, control.version, control.source) if control else ("", "", "")
    detail = escaped(error).replace("\n", " ") if isinstance(error, str) else error_text(error)
    deb = escaped(deb)
    finding = [package, version, source, deb, "unreadable-deb", detail]
    return {
        "index": index,
        "deb": deb,
        "sha256": sha,
        "package": package,
        "version": version,
        "source": source,
        "paths": [],
        "findings": [finding],
        "notes": [],
    }
