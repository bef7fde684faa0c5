"""A Contents index (Contents-ARCH as the mirror has it, or as apt-file keeps it in
/var/lib/apt/lists), read in one streamed pass: names only, no .deb opened.

What names tell: legacy layouts, helper metadata, untagged .so files in module
places (untagged-so: only the .deb tells whether it is an extension), stale
tags, tags for another architecture, and through the store path-collision and
module-clash.  What needs the ELF (libpython, abi3, init-mismatch) needs the
.debs.

A thread decompresses (zlib, lzma, bz2 and lz4 release the GIL) while this
thread looks for candidate lines with bytes.find, which runs at memory
speed: only lines under a few literal prefixes become Python strings.
"""

import os
import queue
import re
import threading

from .. import checks, layouts, tags
from ..errors import TagError, UsageError
from .codes import Finding, Owner
from .compression import open_index
from .judge import place_of, version_tag_problem

BLOCK = 1 << 20
# Every layouts place and metadata file lies under one of these; lines elsewhere are not looked at.
CANDIDATE_PREFIXES = (b"\nusr/lib/py", b"\nusr/share/py", b"\nusr/local/lib/py", b"\nvar/lib/py")
_ARCH_IN_NAME = re.compile(r"Contents-(?:udeb-)?(?P<arch>[a-z0-9-]+?)(?:\.[a-z0-9]+)?$")


def _check_prefixes():
    """Every place rule and metadata pattern must start with a candidate prefix, or lines would be missed."""
    starts = tuple(prefix[1:].decode() for prefix in CANDIDATE_PREFIXES)
    patterns = [rule.pattern for rule in layouts.RULES] + [
        pattern for pattern, _ in layouts.METADATA_PATTERNS
    ]
    missed = [pattern for pattern in patterns if not pattern.startswith(starts)]
    assert not missed, f"contents.CANDIDATE_PREFIXES misses {missed}"


def architecture_of(filename):
    match = _ARCH_IN_NAME.search(os.path.basename(filename))
    return match["arch"] if match else None


def _blocks(stream, out):
    try:
        while block := stream.read(BLOCK):
            out.put(block)
        out.put(None)
    except Exception as error:  # handed to the reading thread, which raises it
        out.put(error)


def candidate_lines(stream, on_block=None):
    """Yield every line (bytes, without newline) that starts with a candidate prefix;
    on_block(size) is called with the size of each decompressed block."""
    blocks = queue.Queue(maxsize=16)
    thread = threading.Thread(target=_blocks, args=(stream, blocks), daemon=True)
    thread.start()
    carry = b"\n"
    while True:
        block = blocks.get()
        if isinstance(block, Exception):
            raise block
        if block is None:
            break
        if on_block is not None:
            on_block(len(block))
        data = carry + block
        cut = data.rfind(b"\n")
        carry = data[cut:]
        yield from _lines_in(data, cut)
    yield from _lines_in(carry + b"\n", len(carry))
    thread.join()


def _lines_in(data, end):
    starts = []
    for prefix in CANDIDATE_PREFIXES:
        position = data.find(prefix, 0, end)
        while position != -1:
            starts.append(position + 1)
            position = data.find(prefix, position + 1, end)
    for start in sorted(starts):
        yield data[start : data.find(b"\n", start)]


class ContentsScan:
    """Findings of one Contents index, into a store.  `owners` maps package -> (version, source)
    from a Packages index; without it both are empty."""

    def __init__(self, filename, architecture, supported, store, owners=None):
        self.filename = filename
        self.architecture = architecture
        self.supported = [tuple(version) for version in supported]
        self.store = store
        self.owners = owners or {}
        self.indexes = {}  # package -> store index, for the packages with module paths
        self.legacy = {}  # (package, place path) -> (rule, number of files)
        self.lines = 0

    def owner(self, package):
        version, source = self.owners.get(package, ("", ""))
        return Owner(package, version, source, self.filename)

    def add(self, package, path, code, detail):
        owner = self.owner(package)
        self.store.add_finding(
            Finding(owner.package, owner.version, owner.source, path, code, detail, owner.deb)
        )

    def run(self, first_index=0, progress=None):
        """Read the whole index; returns the next free store index."""
        _check_prefixes()
        next_index = first_index
        with open_index(self.filename, "Contents index") as stream:
            paths = []
            try:
                for line in candidate_lines(stream, progress.update if progress is not None else None):
                    self.lines += 1
                    for package, path in self._line(line):
                        if package not in self.indexes:
                            self.indexes[package] = next_index
                            self.store.add_package(next_index, self.owner(package))
                            next_index += 1
                        paths.append((self.indexes[package], path))
                    if len(paths) >= 4096:
                        self.store.add_paths(paths)
                        paths = []
            except (OSError, EOFError, ValueError) as error:
                raise UsageError(
                    f"cannot read the Contents index ({type(error).__name__}: {error})",
                    f"at {self.filename}",
                    "download it again",
                ) from None
            self.store.add_paths(paths)
        for (package, place_path), (rule, count) in sorted(self.legacy.items()):
            self.add(
                package,
                place_path,
                "legacy-layout",
                f"{count} file(s) in layout rule {rule.name}: {rule.description}",
            )
        return next_index

    def _line(self, line):
        """(package, path) pairs of a candidate line in a module place; findings of the names."""
        fields = line.rsplit(None, 1)
        if len(fields) != 2:
            return ()
        path = fields[0].decode("utf-8", "surrogateescape")
        packages = sorted(
            {
                location.rpartition(b"/")[2].decode("utf-8", "surrogateescape")
                for location in fields[1].split(b",")
            }
        )
        helper = layouts.match_metadata(path)
        if helper:
            for package in packages:
                self.add(package, path, "legacy-layout", f"metadata file of {helper}")
        directory, _, name = path.rpartition("/")
        place = place_of(directory)
        if place is None:
            return ()
        if not place.home:
            for package in packages:
                rule, count = self.legacy.get((package, place.path), (place.rule, 0))
                self.legacy[(package, place.path)] = (rule, count + 1)
        if name.endswith(".so") and place.major != 2:
            parsed = tags.split_module_filename(name)
            if parsed is not None:
                for package in packages:
                    self._shared_object(package, path, parsed)
        return [(package, path) for package in packages]

    def _shared_object(self, package, path, parsed):
        if parsed.tag_text is None:
            self.add(
                package,
                path,
                "untagged-so",
                "a .so without ABI tag: an untagged extension, or a library that keeps its name; "
                "scan the .deb to tell",
            )
            return
        try:
            tag = tags.parse_tag(parsed.tag_text, origin="file name tag")
        except TagError as error:
            self.add(package, path, "stale-tag", f"{error.what}: {error.where}")
            return
        if self.architecture == "all":
            self.add(
                package, path, "wrong-arch", "extension file name (ABI tag) in an Architecture: all package"
            )
            return
        tag_arch = checks.ARCHITECTURE_OF_MULTIARCH.get(tag.multiarch)
        if tag.multiarch and tag_arch != self.architecture:
            self.add(
                package,
                path,
                "wrong-arch",
                f"the tag's triplet {tag.multiarch} is not {self.architecture}'s "
                f"{checks.ARCHITECTURES.get(self.architecture, ('unknown',))[0]}",
            )
        if tag.impl != "abi3":
            problem = version_tag_problem(tag, self.architecture, self.supported)
            if problem:
                self.add(package, path, "stale-tag", problem)
