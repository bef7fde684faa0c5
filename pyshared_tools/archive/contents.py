"""A Contents index (Contents-ARCH as the mirror has it, or as apt-file keeps it in
/var/lib/apt/lists), read in one streamed pass: names only, no .deb opened.

What names tell: legacy layouts, helper metadata, untagged .so files in module
places (untagged-so: only the .deb tells whether it is an extension), stale
tags, tags for another architecture, and through the store path-collision and
module-clash.  What needs the ELF (libpython, abi3, init-mismatch) needs the
.debs.

A forked process decompresses and looks for candidate lines with bytes.find,
which runs at memory speed, while this one judges them: only lines under a
few literal prefixes cross the pipe and become Python strings.
"""

import os
import queue
import re
import threading

from pyshared_tools.errors import TagError, UsageError
from pyshared_tools.indexes import decompressed_blocks, open_index
from pyshared_tools.outputs import relations
from pyshared_tools.rules import checks, layouts, tags

from .codes import legacy_detail
from .judge import place_of, version_tag_problem
from .model import ScannedPackage, error_text, finding_of
from .store import clash_detail, collision_details

BLOCK = 1 << 20
# The longest line: a path and every package shipping it (real indexes stay under a MiB).
MAX_LINE_BYTES = 16 << 20
# Every layouts place and metadata file lies under one of these; lines elsewhere are not looked at.
CANDIDATE_PREFIXES = layouts.candidate_prefixes()
METADATA_PREFIXES = tuple(pattern.split("[", 1)[0] for pattern, _ in layouts.METADATA_PATTERNS)
_ARCH_IN_NAME = re.compile(r"Contents-(?:udeb-)?(?P<arch>[a-z0-9-]+?)(?:\.[a-z0-9]+)?$")


def architecture_of(filename):
    match = _ARCH_IN_NAME.search(os.path.basename(filename))
    return match["arch"] if match else None


def candidate_batches(blocks):
    """(size of the block, [lines in it that start with a candidate prefix]) for every block
    of the index; lines are bytes without their newline, whatever the block boundaries."""
    carry = b"\n"
    for block in blocks:
        data = carry + block
        cut = data.rfind(b"\n")
        carry = data[cut:]
        if len(carry) > MAX_LINE_BYTES:  # it would be copied again with every block
            raise ValueError(f"a line longer than {MAX_LINE_BYTES} bytes")
        yield len(block), list(_lines_in(data, cut))
    yield 0, list(_lines_in(carry + b"\n", len(carry)))


def _filter(filename, what, sender):
    """In the filtering process: decompress and send the candidate lines of each block."""
    try:
        for size, lines in candidate_batches(decompressed_blocks(filename, what, BLOCK)):
            sender.send_bytes(b"L%d\n" % size + b"\n".join(lines))
        sender.send_bytes(b"D")
    except Exception as error:  # reported by the reading process
        sender.send_bytes(b"E" + error_text(error).encode(errors="replace"))
    finally:
        sender.close()


def filtered_lines(filename, what, on_block=None):
    """The candidate lines of an index, decompressed and filtered in a forked process.

    bytes.find holds the GIL, so a thread would not overlap it with decompression; a process
    does, and only the candidate lines (a few percent of the index) cross the pipe."""
    import multiprocessing

    with open_index(filename, what):  # a missing file or module is a usage error, here
        pass
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_filter, args=(filename, what, sender), daemon=True)
    process.start()
    sender.close()
    # A thread empties the pipe while this one judges lines: a sender blocked on a full pipe
    # would not decompress meanwhile.
    messages = queue.Queue(maxsize=64)
    drain = threading.Thread(target=_receive, args=(receiver, messages), daemon=True)
    drain.start()
    try:
        while True:
            message = messages.get()
            if message is None:
                raise EOFError("the filtering process ended early")
            if message[:1] == b"E":
                raise ContentsReadError(message[1:].decode())
            if message[:1] == b"D":
                return
            header, _, lines = message[1:].partition(b"\n")
            if on_block is not None:
                on_block(int(header))
            if lines:
                yield from lines.split(b"\n")
    finally:
        # Done, or given up on (an error, a reader that stopped): the process is not waited for.
        if process.is_alive():
            process.kill()
        process.join()


def _receive(receiver, messages):
    try:
        while True:
            message = receiver.recv_bytes()
            messages.put(message)
            if message[:1] in (b"D", b"E"):
                return
    except (EOFError, OSError):
        messages.put(None)
    finally:
        receiver.close()


class ContentsReadError(Exception):
    """A read error in the filtering process, as text."""


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
    """Findings of one Contents index, into a store.  `owners` maps package -> DebControl from a
    Packages index (version, source, relations); without it they are empty.

    The cross-package checks need no store here: a line lists every package shipping its path
    (path-collision), and as the index is sorted by path, every file name of one module
    (DIR/MODULE.*) comes in one run of lines, so only the runs still open are kept
    (module-clash).  An index out of order is an error rather than a short result."""

    def __init__(self, filename, architecture, supported, store, owners=None):
        self.filename = filename
        self.architecture = architecture
        self.supported = [tuple(version) for version in supported]
        self.store = store
        self.owners = owners or {}
        self.legacy = {}  # (package, place path) -> (rule, number of files)
        self.open_modules = []  # [(prefix 'DIR/MODULE.', module, {path: [package]})], nested prefixes
        self.previous = b""

    def owner(self, package):
        control = self.owners.get(package)
        if control is None:
            return ScannedPackage(package, "", "", self.filename)
        return ScannedPackage(
            package, control.version, control.source, self.filename, control.declared, control.provides
        )

    def add(self, package, path, code, detail):
        self.store.add_finding(finding_of(self.owner(package), path, code, detail))

    def run(self, progress=None):
        """Read the whole index."""
        lines = filtered_lines(self.filename, "Contents index", progress.update if progress else None)
        try:
            for line in lines:
                self._line(line)
        except (ContentsReadError, EOFError) as error:
            raise UsageError(
                f"cannot read the Contents index ({error})",
                f"at {self.filename}",
                "download it again",
            ) from None
        self._close_modules("")
        for (package, place_path), (rule, count) in sorted(self.legacy.items()):
            self.add(package, place_path, "legacy-layout", legacy_detail(rule, count))

    def _line(self, line):
        fields = line.rsplit(None, 1)
        if len(fields) != 2:
            return
        raw_path, locations = fields
        if raw_path < self.previous:
            raise UsageError(
                f"the Contents index is not sorted by path ({raw_path.decode(errors='replace')} "
                f"after {self.previous.decode(errors='replace')})",
                f"at {self.filename}",
                "give the index as the mirror or apt-file has it, or sort it: LC_ALL=C sort",
            )
        self.previous = raw_path
        path = raw_path.decode("utf-8", "backslashreplace")
        if b"," in locations:
            names = {location.rpartition(b"/")[2] for location in locations.split(b",")}
            packages = sorted(name.decode("utf-8", "backslashreplace") for name in names)
        else:
            packages = [locations.rpartition(b"/")[2].decode("utf-8", "backslashreplace")]
        if path.startswith(METADATA_PREFIXES):
            helper = layouts.match_metadata(path)
            for package in packages if helper else ():
                self.add(package, path, "legacy-layout", f"metadata file of {helper}")
        directory, _, name = path.rpartition("/")
        place = place_of(directory)
        if place is None:
            return
        if not place.home:
            for package in packages:
                rule, count = self.legacy.get((package, place.path), (place.rule, 0))
                self.legacy[(package, place.path)] = (rule, count + 1)
        if len(packages) > 1:
            self._collision(path, packages)
        self._module(path, directory, name, packages)
        if name.endswith(".so") and place.major != 2:
            parsed = tags.split_module_filename(name)
            if parsed is not None:
                for package in packages:
                    self._shared_object(package, path, parsed)

    def _collision(self, path, packages):
        for owner, detail in collision_details([self.owner(package) for package in packages]):
            self.add(owner.package, path, "path-collision", detail)

    def _module(self, path, directory, name, packages):
        self._close_modules(path)
        module = relations.module_of(name)
        if module is None:
            return
        prefix = f"{directory}/{module}."
        if self.open_modules and self.open_modules[-1][0] == prefix:
            self.open_modules[-1][2][path] = packages
        else:
            self.open_modules.append((prefix, module, {path: packages}))

    def _close_modules(self, path):
        """Judge the runs of module file names that `path` (and so every later path) is past."""
        while self.open_modules and not path.startswith(self.open_modules[-1][0]):
            _, module, packages_by_path = self.open_modules.pop()
            if len(packages_by_path) < 2:
                continue
            owners_by_path = {
                p: [self.owner(package) for package in ps] for p, ps in packages_by_path.items()
            }
            for module_path, owners in owners_by_path.items():
                for owner in owners:
                    detail = clash_detail(module, owner, module_path, owners_by_path)
                    if detail:
                        self.add(owner.package, module_path, "module-clash", detail)

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
