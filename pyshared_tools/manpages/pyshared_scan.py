"""pyshared-scan(1) in roff, from the argparse parsers that also build --help.

OPTIONS is every action of ``archive.cli.build_parser()`` and
``build_merge_parser()``, in their order, with their option strings, metavars
and help sentences; SYNOPSIS names options by their dest, so a renamed or
removed option fails the build instead of leaving the page behind.  The
findings come from ``archive.codes.CODES``.  The rest is fixed prose here.
The Debian package runs ``python3 -m pyshared_tools.manpages.pyshared_scan FILE`` at
build time (debian/rules), dated from SOURCE_DATE_EPOCH like dh_pyshared(1).
"""

import argparse
import re
import sys

from pyshared_tools.archive import cli, deb
from pyshared_tools.archive.codes import CODES, PROGRAM
from pyshared_tools.archive.store import MAX_LISTED
from pyshared_tools.manpages.roff import (
    bold,
    code,
    definitions,
    escape,
    examples,
    flag,
    header,
    inline,
    option_tag,
    paragraphs,
    placeholder,
    see_also,
    write_page,
)

SCHEMA_DOC = "/usr/share/doc/dh-pyshared/scan-schema.md.gz"
MIRROR_INDEX = "dists/bookworm/main/binary-amd64/Packages.xz"
APT_LISTS = "/var/lib/apt/lists/*_dists_bookworm_main_"

# The three forms of the command: parser dests stand for their options ("inputs" for INPUT...).
SYNOPSIS_SCAN = (
    "[json | rebuild_list | records] [supported] [max_member_bytes] [jobs] [cache | no_cache] "
    "[cache_max_mib] [shard] [progress] [stats] [packages [mirror]] [inputs]"
)
SYNOPSIS_CONTENTS = "contents [contents_arch] [packages] [supported] [json | rebuild_list] [progress]"
SYNOPSIS_MERGE = "[json | rebuild_list] records"

DESCRIPTION = (
    f"{PROGRAM} reads built Debian binary packages, from one .deb up to a whole mirror, and reports what "
    "dh_pyshared would fix in them: modules in a legacy layout, extension modules without an ABI tag or "
    "with one no supported Python imports, extensions for another architecture or linked to libpython, "
    "abi3 extensions that use more than the stable ABI, and file paths or modules that two packages ship. "
    "It changes nothing.",
)

INPUTS = (
    (
        f"{placeholder('INPUT')}: .deb files and directories",
        "Every .deb given as an argument, and every *.deb found in a directory argument, searched "
        "recursively in sorted order (regular files, or links to them).",
    ),
    (
        "Unpacked package trees",
        "A directory holding DEBIAN/control (what dpkg-deb -R leaves, or debian/PACKAGE after "
        "dh_gencontrol), given as an argument or found while searching a directory; it is not searched "
        "further.  A tree is walked with lstat only and its files are opened with O_NOFOLLOW: a symbolic "
        "link is an entry, never followed, and nothing outside the tree is read.  Trees are not cached.",
    ),
    (
        f"{option_tag(['--packages'], 'INDEX', equals=False)} "
        f"[{option_tag(['--mirror'], 'DIR', equals=False)}]",
        "A Packages index, plain or compressed with gzip, xz, bzip2, lz4 (as apt keeps it in "
        "/var/lib/apt/lists) or zstd; repeatable.  The Filename: of every package is found under "
        "--mirror (default: the part of INDEX's path before /dists/, else INDEX's directory).  The "
        "index's SHA256: is the cache key, and a .deb that is read is hashed and must match it.  A "
        "package whose file is missing, whose Filename: leaves the mirror or whose checksum differs is "
        "an unreadable-deb finding, and the scan goes on.",
    ),
    (
        option_tag(["--contents"], "INDEX", equals=False),
        "A Contents index, as the mirror has it (dists/SUITE/AREA/Contents-ARCH.gz) or as apt-file "
        "keeps it (/var/lib/apt/lists/*_Contents-ARCH.lz4); repeatable, in a run of its own.  Only file "
        "names are read, in one streamed pass; no .deb is.  The architecture comes from the file name "
        "(Contents-all means Architecture: all) or --contents-arch.  Names tell legacy-layout, "
        "untagged-so, stale-tag, wrong-arch, path-collision and module-clash; libpython, "
        "abi3-violation, init-mismatch and whether an untagged .so is an extension need the .debs.  A "
        "Contents index has no versions or source packages: --packages INDEX names them (its pool is "
        "not read).  --records and --shard do not apply.",
    ),
)

READING = (
    "Each .deb is read by one worker at a time: its ar members in the order dpkg reads them, the control "
    "fields (parsed with python-debian), then the data.tar members, streamed (zstd with python3-zstandard, "
    "else through a pipe from zstd -dc).  Nothing is extracted, no member name is used as a file system "
    "path, and no symbolic link member is followed (its target is only text).  A .so in a module place is "
    "read, up "
    "to --max-member-bytes, and judged by the rules dh_pyshared applies; across packages, the owners of "
    "every path in a module place are compared for path-collision and module-clash.  Paths outside "
    "module places are not compared.",
    "Memory stays flat in the number of packages: findings and module paths go to a temporary SQLite "
    "file in $TMPDIR, deleted at exit, where the cross-package checks run as queries.",
    "Every input is taken as hostile, and memory and time stay bounded whatever it claims.  Every "
    "compressed stream is read to its end, and a .deb that cannot be read whole (truncated, corrupt, "
    f"beyond the limits of a sane .deb: control.tar of {deb.MAX_CONTROL_MEMBER_BYTES >> 20} MiB compressed "
    f"and {deb.MAX_CONTROL_TAR_BYTES >> 20} MiB decompressed, a control file of "
    f"{deb.MAX_CONTROL_BYTES >> 20} MiB, tar headers of {deb.MAX_HEADER_BYTES >> 20} MiB, no sparse member, "
    f"{deb.MAX_MEMBERS} members) is one "
    "unreadable-deb finding, nothing judged from a part of it.  A name that is not UTF-8 is shown with "
    "its bytes escaped (\\xNN); Package, Source and Version must be what Debian allows.  A Packages "
    "or Contents index that cannot be read whole is a usage error, as are records files and cache files "
    "that are not what this version writes.  A path-collision or module-clash detail names "
    f"{MAX_LISTED} other packages and counts the rest.  The details are in the section Hostile input of "
    f"{SCHEMA_DOC}.",
)

PARALLEL = (
    "--jobs N reads N packages at a time in worker processes; the output is the one of --jobs 1, byte "
    "for byte.  The record of every .deb read is cached in an SQLite file (see FILES), keyed by the "
    "sha256 of the .deb, the tool version, --supported and --max-member-bytes; an unreadable .deb is "
    "not cached.",
    "--shard I/N --records OUT reads only the inputs whose position in the input list, modulo N, is "
    f"I-1, and writes their records to OUT instead of printing findings.  {PROGRAM} merge reads the "
    "records of every shard, in any order, runs the cross-package checks once and prints what the "
    "unsharded run prints, with its exit status.  Give every shard the same inputs, written the same "
    "way, and the same version of the tool, --supported and --max-member-bytes: a missing, repeated "
    "or truncated shard, or records that differ in these, are a usage error, never a short result.  A "
    "records file written without --shard merges alone.",
)

OUTPUT = (
    "Without an option the findings are a table on standard output: package, version, code, path, "
    "detail.  --json prints them as one JSON document (schema 1); --rebuild-list prints one line "
    "'source: code, ...' for every source package with a finding that a rebuild fixes, for scripts.  "
    "Notes, --stats and the progress bar go to standard error.  The JSON and records formats are "
    f"described in {SCHEMA_DOC}.",
)

FILES = (
    (
        f"$XDG_CACHE_HOME/{PROGRAM}/cache.sqlite3",
        f"The default --cache: the record of every .deb read, kept across runs under --cache-max-mib "
        f"MiB (~/.cache/{PROGRAM}/cache.sqlite3 when XDG_CACHE_HOME is not set).  Only the parent "
        "process writes it.",
    ),
    (f"$TMPDIR/{PROGRAM}-*.sqlite3", "The findings and module paths of one run, deleted when it ends."),
    (SCHEMA_DOC, "The --json and --records formats, and the codes."),
)

ENVIRONMENT = (
    ("XDG_CACHE_HOME", f"The directory of the default cache, {PROGRAM}/cache.sqlite3 (default ~/.cache)."),
    (
        "TMPDIR",
        "Where the temporary store of a run is written (default /tmp).  On a whole archive it holds "
        "every finding and module path: give it room.",
    ),
)

EXAMPLES = (
    ("Scan every .deb below a pool directory:", [f"{PROGRAM} /srv/mirror/pool/main"]),
    (
        "Scan every package of a mirror's Packages index, read from the pool under --mirror (from the "
        "mirror's top directory):",
        [f"{PROGRAM} --packages {MIRROR_INDEX} --mirror /srv/mirror"],
    ),
    (
        "Scan the names in the Contents index apt-file keeps, with the Packages index apt keeps for the "
        "versions and source packages.  apt keeps that one uncompressed (_Packages) unless "
        "Acquire::GzipIndexes is set, as in Debian's container images (_Packages.lz4).  Each glob must "
        "match one file: give one --contents or --packages per index.",
        [
            f"{PROGRAM} --contents {APT_LISTS}Contents-amd64.lz4 \\",
            f"    --packages {APT_LISTS}binary-amd64_Packages.lz4",
        ],
    ),
    (
        "The source packages to rebuild, one 'source: code, ...' line each:",
        [f"{PROGRAM} --rebuild-list --packages {MIRROR_INDEX} \\", "    --mirror /srv/mirror > rebuild.txt"],
    ),
    (
        "Spread the scan over four hosts with GNU parallel: every host mounts the mirror at the same path "
        "and has dh-pyshared and parallel installed.  Each host runs one shard at a time (-j1; a shard "
        "uses all its cores) in a temporary directory (--workdir ...); the records file comes back with "
        "--return and is removed there by --cleanup.  merge then prints the findings of the whole mirror:",
        [
            "N=8",
            "rm -f shard-*.jsonl",
            "parallel -j1 --sshlogin host1,host2,host3,host4 --workdir ... \\",
            "    --return shard-{}.jsonl --cleanup \\",
            f"    {PROGRAM} --shard {{}}/$N --records shard-{{}}.jsonl \\",
            f"    --packages /srv/mirror/{MIRROR_INDEX} \\",
            "    ::: $(seq 1 $N)",
            f"{PROGRAM} merge shard-*.jsonl",
        ],
    ),
)

SEE_ALSO = (("dh_pyshared", 1), ("apt-file", 1), ("parallel", 1))

# Names whose hyphens are minus signs in prose too.
CODE_WORDS = (*CODES, "dpkg-deb", "apt-file", "python-debian", "dh-pyshared", "Contents-all")

_DEST = re.compile(r"[a-z_]+")


def _actions(parser):
    """The parser's arguments, help included, in the order --help lists them."""
    # argparse has no public list of its actions; _actions is what its own formatter reads.
    return [action for action in parser._actions if action.help is not argparse.SUPPRESS]


def help_sentence(parser, action):
    """The help of `action` as --help prints it: %(default)s expanded, white space collapsed."""
    return " ".join(parser._get_formatter()._expand_help(action).split())


def _metavar(action):
    return action.metavar or action.dest.upper()


def _positional(action):
    many = action.nargs in ("*", "+", argparse.REMAINDER)
    return placeholder(_metavar(action)) + ("\\&..." if many else "")


def argument_tag(action):
    """The .TP tag of one argument: --jobs N, -j N; --progress, --no-progress; INPUT..."""
    if not action.option_strings:
        return _positional(action)
    takes_value = action.nargs != 0
    return option_tag(action.option_strings, _metavar(action) if takes_value else None, equals=False)


def _usage_item(action):
    if not action.option_strings:
        return _positional(action)
    if isinstance(action, argparse.BooleanOptionalAction):
        return " | ".join(flag(name) for name in action.option_strings)
    name = next((name for name in action.option_strings if name.startswith("--")), action.option_strings[0])
    if action.nargs == 0:
        return flag(name)
    return f"{flag(name)} {placeholder(_metavar(action))}"


def usage(parser, form):
    """A SYNOPSIS line from a form such as "[json | rebuild_list] records": dests become options."""
    by_dest = {action.dest: action for action in _actions(parser)}
    return _DEST.sub(lambda match: _usage_item(by_dest[match.group()]), form)


def synopsis(scan_parser, merge_parser):
    program = escape(PROGRAM).replace("-", "\\-")
    lines = []
    for text in (
        usage(scan_parser, SYNOPSIS_SCAN),
        usage(scan_parser, SYNOPSIS_CONTENTS),
        f"{bold('merge')} {usage(merge_parser, SYNOPSIS_MERGE)}",
    ):
        lines += [f".SY {program}", text, ".YS"]
    return lines


def options(parser, title):
    title = escape(title).replace("-", "\\-")
    lines = [f'.SS "{title}"']
    for action in _actions(parser):
        lines += [".TP", argument_tag(action), inline(help_sentence(parser, action), CODE_WORDS)]
    return lines


def findings():
    lines = []
    for name, (severity, rebuild, meaning) in CODES.items():
        fixed = ", a rebuild fixes it" if rebuild else ""
        lines += [".TP", f"{flag(name)} ({severity}{fixed})", inline(meaning, CODE_WORDS)]
    return lines


def exit_status():
    informational = ", ".join(name for name, (severity, *_rest) in CODES.items() if severity == "info")
    return definitions(
        (
            (
                "0",
                f"No finding, or informational ones only ({informational}); and whenever --records wrote "
                "its file.",
            ),
            (
                "1",
                "A finding of severity warning or error.  An unreadable .deb is a finding, not an error: the "
                "scan goes on.",
            ),
            (
                "2",
                "A usage error: a wrong option or input, or records files that do not merge.  The message "
                f"reads '{PROGRAM}: error: what, where, what to do'.",
            ),
        ),
        code_words=CODE_WORDS,
    )


def render(date=None):
    """The whole man page as roff source."""
    scan_parser, merge_parser = cli.build_parser(), cli.build_merge_parser()
    lines = [
        *header("PYSHARED\\-SCAN", 1, date or "", "User Commands"),
        ".SH NAME",
        f"{inline(PROGRAM)} \\- find what dh_pyshared would fix in built packages, archive-wide",
        ".SH SYNOPSIS",
        *synopsis(scan_parser, merge_parser),
        ".SH DESCRIPTION",
        *paragraphs(DESCRIPTION, CODE_WORDS),
        '.SS "Inputs"',
    ]
    for term, text in INPUTS:
        lines += [".TP", term if "\\f" in term else bold(inline(term)), inline(text, CODE_WORDS)]
    lines += ['.SS "What is read"', *paragraphs(READING, CODE_WORDS)]
    lines += ['.SS "Parallel, cached and sharded runs"', *paragraphs(PARALLEL, CODE_WORDS)]
    lines += ['.SS "Output"', *paragraphs(OUTPUT, CODE_WORDS)]
    lines += ['.SS "Findings"', *findings()]
    lines += [".SH OPTIONS", *options(scan_parser, PROGRAM), *options(merge_parser, f"{PROGRAM} merge")]
    lines += ['.SH "EXIT STATUS"', *exit_status()]
    lines += [".SH ENVIRONMENT", *definitions(ENVIRONMENT, code_words=CODE_WORDS)]
    lines += [".SH FILES", *definitions(FILES, code_words=CODE_WORDS)]
    blocks = [(text, [code(line) for line in source]) for text, source in EXAMPLES]
    lines += [".SH EXAMPLES", *examples(blocks, CODE_WORDS)]
    lines += see_also(SEE_ALSO)
    return "\n".join(lines) + "\n"


def main(argv=None):
    return write_page(render, argv)


if __name__ == "__main__":
    sys.exit(main())
