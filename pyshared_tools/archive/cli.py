"""pyshared-scan's command line: options, main(), the scan and `merge`."""

import argparse
import os
import sys

from pyshared_tools.errors import PysharedError, UsageError

from .codes import DEFAULT_MAX_MEMBER_BYTES, PROGRAM


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message, "on the command line", f"see {PROGRAM} --help")


class _VersionAction(argparse.Action):
    """--version: the version merge compares, computed only when asked for."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        from .cache import tool_version

        print(f"{PROGRAM} {tool_version()}")
        parser.exit()


def _output_options(parser):
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print the findings as JSON (schema 1)")
    output.add_argument(
        "--rebuild-list",
        action="store_true",
        help="print 'source: code, ...' for every source package a rebuild would fix",
    )
    return output


def build_parser():
    from .cache import DEFAULT_MAX_MIB

    parser = _Parser(
        prog=PROGRAM,
        description="Scan built packages for what dh_pyshared would fix (docs/scan-schema.md). "
        f"'{PROGRAM} merge RECORDS...' runs the cross-package checks on --records files.",
    )
    parser.add_argument(
        "--version",
        action=_VersionAction,
        help="print the version (the package's and a digest of the library's sources; merge needs the "
        "records of every shard written by the same one) and exit",
    )
    parser.add_argument(
        "inputs",
        nargs="*",
        metavar="INPUT",
        help=".deb files, unpacked package trees (a directory holding DEBIAN/control), and directories "
        "searched recursively for both",
    )
    parser.add_argument(
        "--packages",
        action="append",
        default=[],
        metavar="INDEX",
        help="a Packages index (plain, gzip, xz, bzip2, lz4 or zstd): scan its .debs, found under --mirror "
        "(with --contents: only name versions and sources)",
    )
    parser.add_argument(
        "--mirror",
        metavar="DIR",
        help="the directory the Filename: fields of --packages are relative to "
        "(default: the part of INDEX's path before /dists/, else INDEX's directory)",
    )
    parser.add_argument(
        "--contents",
        action="append",
        default=[],
        metavar="INDEX",
        help="a Contents index as the mirror or apt-file has it (Contents-ARCH[.gz|.lz4|...]): "
        "file names only, no .deb read",
    )
    parser.add_argument(
        "--contents-arch",
        metavar="ARCH",
        help="the architecture of --contents (default: from its file name, Contents-ARCH)",
    )
    output = _output_options(parser)
    output.add_argument(
        "--records",
        metavar="OUT",
        help="write the per-package records (JSON lines) to OUT instead of printing findings",
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
    parser.add_argument(
        "--jobs",
        "-j",
        type=int,
        default=None,
        metavar="N",
        help="read N packages at a time in worker processes (default: the number of cores)",
    )
    cache = parser.add_mutually_exclusive_group()
    cache.add_argument(
        "--cache",
        metavar="FILE",
        help="SQLite cache of per-.deb records, keyed by sha256 "
        "(default: $XDG_CACHE_HOME/pyshared-scan/cache.sqlite3)",
    )
    cache.add_argument("--no-cache", action="store_true", help="read every .deb, keep nothing")
    parser.add_argument(
        "--cache-max-mib",
        type=int,
        default=DEFAULT_MAX_MIB,
        metavar="N",
        help="keep the cache under N MiB, dropping the records least recently used "
        f"(default {DEFAULT_MAX_MIB})",
    )
    parser.add_argument(
        "--shard",
        metavar="I/N",
        help="read only the inputs whose position in the input list, modulo N, is I-1 (needs --records)",
    )
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show a progress bar on standard error (default: when it is a terminal and the run is long)",
    )
    parser.add_argument(
        "--stats",
        action="store_true",
        help=f"print '{PROGRAM}: D .debs, C from the cache, R reading processes' on standard error",
    )
    return parser


def build_merge_parser():
    parser = _Parser(
        prog=f"{PROGRAM} merge",
        description="Run the cross-package checks on the records of --records files and print the findings.",
    )
    parser.add_argument("records", nargs="+", metavar="RECORDS", help="files written by --records")
    _output_options(parser)
    return parser


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    try:
        if argv[:1] == ["merge"]:
            return merge(argv[1:])
        return run(argv)
    except PysharedError as error:
        from .report import printable

        print(f"{PROGRAM}: error: {printable(str(error))}", file=sys.stderr)
        return error.exit_code
    except BrokenPipeError:
        return 1


def supported_versions(text):
    if text is None:
        from pyshared_tools.rules.pyversions import supported_versions as system_supported

        return sorted(system_supported(None))
    from pyshared_tools.rules.pyversions import parse_version

    versions = set()
    for entry in text.split(","):
        try:
            version = parse_version(entry)
        except ValueError:
            version = None
        if version is None or version[0] != 3 or entry.strip().startswith("python"):
            raise UsageError(
                f"--supported {text!r} is not a list of Python 3 versions",
                f"at {entry!r}",
                "write --supported 3.11,3.12",
            )
        versions.add(version)
    return sorted(versions)


def parse_shard(text):
    """(I, N) from 'I/N', 1 <= I <= N."""
    index, slash, count = (text or "").partition("/")
    if slash and index.isdigit() and count.isdigit() and 1 <= int(index) <= int(count):
        return int(index), int(count)
    raise UsageError(
        f"--shard {text!r} is not I/N with 1 <= I <= N", "on the command line", "write --shard 2/3"
    )


def _usage(what, to_do):
    return UsageError(what, "on the command line", to_do)


def _validate(options):
    if not (options.inputs or options.packages or options.contents):
        raise _usage(
            "nothing to scan", f"give .debs, trees or directories ({PROGRAM} pool/), --packages or --contents"
        )
    if options.contents and (options.inputs or options.records or options.shard):
        raise _usage(
            "--contents reads names only and is not combined with .debs, trees, --records or --shard",
            "scan the Contents index in a run of its own",
        )
    for name in ("max_member_bytes", "cache_max_mib"):
        if getattr(options, name) < 0:
            raise _usage(f"--{name.replace('_', '-')} must not be negative", "give a size")
    if options.jobs is not None and options.jobs < 1:
        raise _usage("--jobs must be at least 1", "give --jobs 1 or more")
    if options.shard is not None and options.records is None:
        raise _usage(
            "--shard needs --records",
            f"write the shard's records with --records OUT, then run {PROGRAM} merge",
        )


def _progress(options, total, **kwargs):
    """A tqdm bar on standard error, or None.  Automatic bars appear only after a second."""
    wanted = options.progress if options.progress is not None else sys.stderr.isatty()
    if not wanted:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        if options.progress:
            raise _usage("--progress needs tqdm", "apt-get install python3-tqdm") from None
        return None
    delay = 0 if options.progress else 1.0
    return tqdm(total=total, file=sys.stderr, delay=delay, leave=False, dynamic_ncols=True, **kwargs)


def run(argv):
    options = build_parser().parse_args(argv)
    _validate(options)
    supported = supported_versions(options.supported)
    from .store import Store

    with Store() as store:
        if options.contents:
            _scan_contents(options, supported, store)
        elif not _scan_packages(options, supported, store):
            return 0
        return report(store, options)


def _scan_contents(options, supported, store):
    from .contents import ContentsScan, architecture_of
    from .inputs import index_owners

    owners = {}
    for index in options.packages:
        owners.update(index_owners(index))
    for filename in options.contents:
        architecture = options.contents_arch or architecture_of(filename)
        if architecture is None:
            raise UsageError(
                "the architecture of the Contents index is not in its name",
                f"at {filename}",
                "give --contents-arch ARCH",
            )
        progress = _progress(options, None, unit="B", unit_scale=True, desc=os.path.basename(filename))
        try:
            ContentsScan(filename, architecture, supported, store, owners).run(progress)
        finally:
            if progress is not None:
                progress.close()
    if not owners:
        store.add_notes(["give --packages INDEX to name the versions and sources of a Contents index"])


def _scan_packages(options, supported, store):
    """Read the tasks into the store (or the records file); False when --records wrote the output."""
    from .cache import Cache, default_cache_path
    from .inputs import all_tasks
    from .records import records_header, write_records
    from .workers import Reader

    tasks = all_tasks(options.inputs, options.packages, options.mirror)
    shard = parse_shard(options.shard) if options.shard is not None else (1, 1)
    selected = [task for task in tasks if task.index % shard[1] == shard[0] - 1]
    jobs = options.jobs or os.cpu_count() or 1
    cache = None
    if not options.no_cache:
        cache = Cache.open(
            options.cache or default_cache_path(), supported, options.max_member_bytes, options.cache_max_mib
        )
    progress = _progress(options, len(selected), unit="deb")
    reader = Reader(supported, options.max_member_bytes, jobs, cache, progress)
    try:
        records = reader.records(selected)
        if options.records is not None:
            header = records_header(supported, options.max_member_bytes, shard, len(tasks))
            write_records(options.records, header, records)
        else:
            for record in records:
                store.add_record(record)
    finally:
        if progress is not None:
            progress.close()
        if cache is not None:
            cache.close()
    if options.stats:
        print(
            f"{PROGRAM}: {len(selected)} .debs, {reader.from_cache} from the cache, "
            f"{len(reader.readers)} reading process(es)",
            file=sys.stderr,
        )
    return options.records is None


def merge(argv):
    from .records import check_shards, load_records, read_header
    from .store import Store

    options = build_merge_parser().parse_args(argv)
    check_shards([(filename, read_header(filename)) for filename in options.records])
    with Store() as store:
        for filename in options.records:
            load_records(filename, store)
        return report(store, options)


def report(store, options):
    from .report import WRITERS, printable

    store.cross_checks()
    for note in store.notes():
        print(f"{PROGRAM}: note: {printable(note)}", file=sys.stderr)
    kind = "json" if options.json else "rebuild_list" if options.rebuild_list else "table"
    WRITERS[kind](store.findings, sys.stdout)
    return 1 if store.has_problems() else 0
