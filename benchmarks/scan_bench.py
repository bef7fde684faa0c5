#!/usr/bin/python3
"""pyshared-scan against bare decompression of the same input (see README.md).

Part 1: a few hundred real bookworm .debs (python3-* of main, downloaded with
`apt-get download` into the tests' cache), read by `pyshared-scan` and by
`dpkg-deb --fsys-tarfile` with the same parallelism on the same cores.
Part 2: `pyshared-scan --contents` over bookworm's Contents indexes, against
`zcat` of them and reading them with Python's gzip module.  Timings are
printed, never asserted.
"""

import argparse
import gzip
import json
import os
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter, namedtuple
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent
SCAN = CHECKOUT / "bin" / "pyshared-scan"
PYTHON = "/usr/bin/python3"
SUITE = "bookworm"
SUPPORTED = "3.11"
DEB_CACHE_NAME = "scan-bench-debs"
CONTENTS_INDEXES = {"amd64": "main/Contents-amd64.gz", "all": "main/Contents-all.gz"}
TOOLS_FROM_APT = {"taskset": "util-linux", "xargs": "findutils", "zcat": "gzip", "dpkg-deb": "dpkg"}
# Issue 15: pyshared-scan --no-cache over 64 .debs at most 1.1 x a bare dpkg-deb --fsys-tarfile.
TARGET_RATIO = 1.1
MEGABYTE = 1000 * 1000
# Decompression alone with the zlib pyshared-scan uses (gzip's own inflate, zcat, is about twice slower).
GZIP_FLOOR = "import gzip, sys\nwith gzip.open(sys.argv[1]) as s:\n    while s.read(1 << 20):\n        pass"
SYSTEM_SOURCES_DIR = Path("/etc/apt/sources.list.d")
SYSTEM_SOURCES_LIST = Path("/etc/apt/sources.list")
# Seconds: median and minimum wall time of the runs, median user + system CPU time (children included).
Timing = namedtuple("Timing", ("wall", "best", "cpu"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", type=int, default=300, metavar="N", help=".debs to read (300)")
    parser.add_argument(
        "--max-deb-mb", type=float, default=20, metavar="MB", help="leave out .debs larger than this (20 MB)"
    )
    parser.add_argument(
        "--jobs",
        default=str(os.cpu_count() or 1),
        metavar="J[,J...]",
        help="parallelism of both sides; a list times each (default: the number of cores)",
    )
    parser.add_argument("--runs", type=int, default=5, help="timed runs per command (5)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs first (1)")
    parser.add_argument(
        "--contents",
        default=",".join(CONTENTS_INDEXES),
        metavar="INDEX[,INDEX...]",
        help="Contents indexes of bookworm main to time: amd64, all, or none (amd64,all)",
    )
    parser.add_argument(
        "--scan",
        type=Path,
        default=SCAN,
        help="the pyshared-scan to time (default: this checkout's bin/pyshared-scan)",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        help="keep the linked .debs, the --cache file and the times of every run (JSON) here",
    )
    arguments = parser.parse_args()
    jobs = [int(j) for j in arguments.jobs.split(",") if j.isdigit() and int(j) > 0]
    if not jobs or len(jobs) != len(arguments.jobs.split(",")):
        parser.error(f"--jobs {arguments.jobs!r} is not a list of positive numbers")
    indexes = [i for i in arguments.contents.split(",") if i and i != "none"]
    unknown = [i for i in indexes if i not in CONTENTS_INDEXES]
    if unknown:
        parser.error(f"--contents: unknown index {', '.join(unknown)}; give amd64, all or none")
    if arguments.packages < 1 or arguments.runs < 1:
        parser.error("--packages and --runs must be at least 1")

    ensure_tools()
    contents = {index: contents_file(CONTENTS_INDEXES[index]) for index in indexes}
    workdir = arguments.workdir or Path(tempfile.mkdtemp(prefix="dh-pyshared-scan-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        selection, debs = bench_debs(arguments.packages, arguments.max_deb_mb * MEGABYTE, workdir / "debs")
        scan = arguments.scan.resolve()
        before = cpu_accounts()
        rows, findings = time_debs(scan, debs, jobs, arguments.runs, arguments.warmup, workdir)
        contents_rows = [
            time_contents(scan, index, file, arguments.runs, arguments.warmup, workdir)
            for index, file in contents.items()
        ]
        busy, own, wall = (after - start for after, start in zip(cpu_accounts(), before, strict=True))
        print(f"\nTimed: {PYTHON} {scan}")
        print(
            f"Other processes used {busy - own:.1f} s CPU during the {wall:.0f} s of timing "
            f"(this benchmark {own:.1f} s): more than a few seconds make the numbers noisy"
        )
        print_input(selection, debs, findings)
    finally:
        if not arguments.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    print_table(rows, arguments.runs, arguments.warmup)
    print_contents(contents_rows, arguments.runs)
    return 0


def progress(message):
    print(f"scan-bench: {message}", file=sys.stderr, flush=True)


# --- set-up -----------------------------------------------------------------


def ensure_tools():
    missing = sorted({package for command, package in TOOLS_FROM_APT.items() if not shutil.which(command)})
    if missing:
        progress(f"installing {' '.join(missing)}")
        subprocess.run(
            ["apt-get", "install", "-y", "-q", *missing],
            check=True,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )


def cache_directory():
    """The tests' cache: $PYSHARED_TEST_CACHE, default ~/.cache/dh-pyshared-tests."""
    configured = os.environ.get("PYSHARED_TEST_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "dh-pyshared-tests"


def archive_uri():
    """The URI of the main (not security) archive this machine's apt uses for bookworm
    (as tests/helpers/interpreters.py reads it)."""
    for path in sorted(SYSTEM_SOURCES_DIR.glob("*.sources")):
        for stanza in stanzas(path.read_text(), comments=True):
            enabled = stanza.get("enabled", "yes").lower() != "no"
            types, suites = stanza.get("types", "").split(), stanza.get("suites", "").split()
            if enabled and "deb" in types and SUITE in suites:
                return stanza["uris"].split()[0]
    if SYSTEM_SOURCES_LIST.exists():
        for line in SYSTEM_SOURCES_LIST.read_text().splitlines():
            words = line.split("#", 1)[0].split()
            if len(words) > 1 and words[1].startswith("["):  # [arch=amd64 signed-by=...]
                closing = next(i for i, word in enumerate(words) if word.endswith("]"))
                words = [words[0], *words[closing + 1 :]]
            if len(words) >= 3 and words[0] == "deb" and words[2] == SUITE:
                return words[1]
    raise SystemExit(
        f"scan-bench: no '{SUITE}' archive in {SYSTEM_SOURCES_DIR}/*.sources or {SYSTEM_SOURCES_LIST}"
    )


def stanzas(text, comments=False):
    """deb822 paragraphs as {lower-case field: value}."""
    found, current, last = [], {}, None
    for line in [*text.splitlines(), ""]:
        if comments and line.startswith("#"):
            continue
        if not line.strip():
            if current:
                found.append(current)
            current, last = {}, None
        elif line[0].isspace() and last:
            current[last] += " " + line.strip()
        else:
            key, _, value = line.partition(":")
            last = key.strip().lower()
            current[last] = value.strip()
    return found


def apt(command, cwd=None):
    completed = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise SystemExit(
            f"scan-bench: {shlex.join(command)} failed ({completed.returncode}):\n{completed.stderr}"
        )
    return completed.stdout


# --- the .debs ----------------------------------------------------------------


def archive_packages():
    """The stanzas of bookworm main's amd64 Packages list, as apt keeps it (any compression)."""
    query = [
        "apt-get",
        "indextargets",
        "--format",
        "$(FILENAME)",
        "Created-By: Packages",
        f"Codename: {SUITE}",
        "Component: main",
        "Architecture: amd64",
    ]
    filenames = [name for name in apt(query).split() if Path(name).exists()]
    if not filenames:
        progress("no Packages list: apt-get update")
        apt(["apt-get", "-q", "update"])
        filenames = [name for name in apt(query).split() if Path(name).exists()]
    if not filenames:
        raise SystemExit(f"scan-bench: apt has no {SUITE} main amd64 Packages list")
    return stanzas(apt(["/usr/lib/apt/apt-helper", "cat-file", filenames[0]]))


def candidates(packages, max_bytes):
    """The python3-* packages sorted by name, leaving out .debs larger than max_bytes."""
    return sorted(
        (p for p in packages if p["package"].startswith("python3-") and int(p["size"]) <= max_bytes),
        key=lambda p: p["package"],
    )


def select_packages(candidates, count):
    """Every k-th candidate: deterministic, spread over the alphabet."""
    if count >= len(candidates):
        return candidates
    return [candidates[i * len(candidates) // count] for i in range(count)]


def deb_name(stanza):
    """The file name `apt-get download` gives: the epoch's colon is written %3a."""
    return f"{stanza['package']}_{stanza['version'].replace(':', '%3a')}_{stanza['architecture']}.deb"


def bench_debs(count, max_bytes, directory):
    """(selected stanzas, [.deb paths in `directory`]).

    The .debs are kept in the cache (missing ones downloaded, ones of versions the archive no
    longer has removed) and linked into `directory`, which holds exactly the selection."""
    cache = cache_directory() / DEB_CACHE_NAME
    cache.mkdir(parents=True, exist_ok=True)
    for attempt in range(2):
        known = candidates(archive_packages(), max_bytes)
        selection = select_packages(known, count)
        current = {deb_name(stanza): int(stanza["size"]) for stanza in known}
        for old in cache.glob("*.deb"):
            if current.get(old.name) != old.stat().st_size:
                old.unlink()
        missing = [s for s in selection if not (cache / deb_name(s)).exists()]
        if not missing:
            break
        progress(f"downloading {len(missing)} .debs into {cache}")
        scratch = cache.with_name(DEB_CACHE_NAME + ".partial")
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir()
        # Root downloads into a root-owned directory: _apt could not write there.
        command = [
            "apt-get",
            "-q",
            "-oAPT::Sandbox::User=root",
            "download",
            *(f"{s['package']}={s['version']}" for s in missing),
        ]
        if subprocess.run(command, cwd=scratch, capture_output=True, check=False).returncode == 0:
            for deb in scratch.glob("*.deb"):
                deb.rename(cache / deb.name)
            scratch.rmdir()
            break
        if attempt:
            apt(command, cwd=scratch)  # raises with apt's message
        progress("apt-get download failed: apt-get update, then select again")
        apt(["apt-get", "-q", "update"])
    absent = [deb_name(s) for s in selection if not (cache / deb_name(s)).exists()]
    if absent:
        raise SystemExit(f"scan-bench: not downloaded: {', '.join(absent)}")
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    debs = []
    for stanza in selection:
        deb = directory / deb_name(stanza)
        try:
            os.link(cache / deb.name, deb)
        except OSError:  # another file system
            shutil.copyfile(cache / deb.name, deb)
        debs.append(deb)
    return selection, debs


def data_compression(deb):
    """The extension of the .deb's data.tar member ('xz', 'gz', 'zst', '' for none)."""
    with open(deb, "rb") as stream:
        if stream.read(8) != b"!<arch>\n":
            return "?"
        while header := stream.read(60):
            name, size = header[:16].decode().strip().rstrip("/"), int(header[48:58])
            if name.startswith("data.tar"):
                return name.removeprefix("data.tar").lstrip(".")
            stream.seek(size + size % 2, os.SEEK_CUR)
    return "?"


# --- the Contents indexes ------------------------------------------------------


def contents_file(meta_key):
    """bookworm's dists/<meta_key>, downloaded once into the tests' cache from the archive apt uses."""
    target = cache_directory() / f"{SUITE}-{meta_key.replace('/', '_')}"
    if target.exists():
        return target
    uri = f"{archive_uri().rstrip('/')}/dists/{SUITE}/{meta_key}"
    progress(f"downloading {uri}")
    partial = target.with_name(target.name + ".partial")
    with urllib.request.urlopen(uri, timeout=60) as response, open(partial, "wb") as out:
        shutil.copyfileobj(response, out, 1 << 20)
    with gzip.open(partial) as stream:  # a truncated download raises here, before the rename
        while stream.read(1 << 24):
            pass
    partial.rename(target)
    return target


# --- timing -----------------------------------------------------------------


def cpu_accounts():
    """(CPU seconds all processes have used since boot, this process and its waited-for children, now)."""
    with open("/proc/stat") as stat:
        fields = [int(f) for f in stat.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    busy = (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")
    own = sum(
        r.ru_utime + r.ru_stime
        for r in (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN))
    )
    return busy, own, time.monotonic()


def measure(commands, runs, warmup, export):
    """{name: Timing} for each (name, argv) in commands, standard output to /dev/null.

    The runs are interleaved (round r runs every command once, starting at a different one each
    round), so that load from elsewhere on a shared machine hits all commands alike.  Exit statuses
    are not looked at here: each command was checked on an untimed run first."""
    for _ in range(warmup):
        for _, argv in commands:
            subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    samples = {name: [] for name, _ in commands}
    for round_ in range(runs):
        for name, argv in commands[round_ % len(commands) :] + commands[: round_ % len(commands)]:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
            wall = time.perf_counter() - start
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
            samples[name].append((wall, cpu))
    export.write_text(
        json.dumps(
            {name: [{"wall": w, "cpu": c} for w, c in runs_] for name, runs_ in samples.items()}, indent=1
        )
    )
    return {
        name: Timing(
            statistics.median(w for w, _ in runs_),
            min(w for w, _ in runs_),
            statistics.median(c for _, c in runs_),
        )
        for name, runs_ in samples.items()
    }


def checked(argv, allowed=(0,), **kwargs):
    """Run argv once, untimed; its CompletedProcess, or exit if its status is not allowed."""
    kwargs.setdefault("stdout", subprocess.PIPE)
    completed = subprocess.run(argv, stderr=subprocess.PIPE, check=False, **kwargs)
    if completed.returncode not in allowed:
        stderr = completed.stderr.decode(errors="replace")
        raise SystemExit(f"scan-bench: {shlex.join(argv)} exited {completed.returncode}:\n{stderr}")
    return completed


def pinned(jobs, argv):
    """argv on CPUs 0..jobs-1 (the same cores for both sides)."""
    return ["taskset", "--cpu-list", f"0-{jobs - 1}", *argv]


def time_debs(scan_path, debs, jobs_list, runs, warmup, workdir):
    """([(jobs, {command: Timing})], Counter of finding codes), each J pinned to J cores."""
    listing = workdir / "debs.list0"
    listing.write_bytes(b"".join(bytes(deb) + b"\0" for deb in debs))
    directory = str(debs[0].parent)
    cache = workdir / "scan-cache.sqlite3"
    cache.unlink(missing_ok=True)
    progress(f"checking pyshared-scan and dpkg-deb once on {len(debs)} .debs (untimed; fills --cache)")
    first = checked(
        [PYTHON, str(scan_path), "--cache", str(cache), "--json", "--supported", SUPPORTED, directory],
        allowed=(0, 1),
    )
    findings = Counter(f["code"] for f in json.loads(first.stdout)["findings"])
    checked(
        ["xargs", "-0", "-a", str(listing), "-n", "1", "dpkg-deb", "--fsys-tarfile"],
        stdout=subprocess.DEVNULL,
    )
    rows = []
    for jobs in jobs_list:
        progress(f"timing --jobs {jobs} ({runs} runs each)")
        scan = [PYTHON, str(scan_path), "--jobs", str(jobs), "--supported", SUPPORTED]
        commands = [
            ("pyshared-scan", pinned(jobs, [*scan, "--no-cache", directory])),
            (
                "dpkg-deb",
                pinned(
                    jobs,
                    [
                        "xargs",
                        "-0",
                        "-a",
                        str(listing),
                        "-P",
                        str(jobs),
                        "-n",
                        "1",
                        "dpkg-deb",
                        "--fsys-tarfile",
                    ],
                ),
            ),
            ("pyshared-scan warm", pinned(jobs, [*scan, "--cache", str(cache), directory])),
        ]
        rows.append((jobs, measure(commands, runs, warmup, workdir / f"debs-jobs{jobs}.json")))
    return rows, findings


def time_contents(scan_path, index, file, runs, warmup, workdir):
    """(index, file, {command: Timing}); without pyshared-scan's when it has no --contents
    (exit status 2, argparse's 'unrecognized arguments: --contents ...')."""
    scan = [PYTHON, str(scan_path), "--contents", str(file), "--supported", SUPPORTED]
    progress(f"checking pyshared-scan --contents {file.name} once (untimed)")
    completed = checked(scan, allowed=(0, 1, 2), stdout=subprocess.DEVNULL)
    commands = [
        ("zcat", ["zcat", str(file)]),
        ("gzip", [PYTHON, "-c", GZIP_FLOOR, str(file)]),
        ("pyshared-scan --contents", scan),
    ]
    if completed.returncode == 2:
        stderr = completed.stderr.decode(errors="replace")
        if "--contents" not in stderr or "unrecognized" not in stderr:
            raise SystemExit(f"scan-bench: {shlex.join(scan)} exited 2:\n{stderr}")
        commands = commands[:2]  # the floors still
    progress(f"timing Contents-{index} ({runs} runs each)")
    return index, file, measure(commands, runs, warmup, workdir / f"contents-{index}.json")


# --- printing ---------------------------------------------------------------


def timed(timing):
    return f"{timing.wall:.2f} s ({timing.cpu:.2f} s CPU)"


def megabytes(value):
    return f"{value / MEGABYTE:.1f} MB"


def markdown(header, lines):
    widths = [max(len(str(row[i])) for row in [header, *lines]) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths), *lines]:
        print("| " + " | ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)) + " |")


def print_input(selection, debs, findings):
    architectures = Counter("all" if s["architecture"] == "all" else "any" for s in selection)
    compressions = Counter(data_compression(deb) or "none" for deb in debs)
    size = sum(deb.stat().st_size for deb in debs)
    installed = sum(int(s.get("installed-size", 0)) for s in selection) * 1024
    print(
        f"\nInput: {len(debs)} .debs, every k-th python3-* package of {SUITE} main by name "
        f"(cached in {cache_directory() / DEB_CACHE_NAME});\n"
        f"  {architectures['any']} Architecture: any, {architectures['all']} Architecture: all"
    )
    print(
        f"  {megabytes(size)} of .debs, {megabytes(installed)} installed; data.tar: "
        + ", ".join(f"{kind} {n}" for kind, n in compressions.most_common())
    )
    print(
        f"  pyshared-scan --supported {SUPPORTED} finds: "
        + (", ".join(f"{code} {n}" for code, n in findings.most_common()) or "nothing")
    )


def ratios(timing, base):
    """'median ratio (ratio of minimums)'."""
    return f"{timing.wall / base.wall:.2f} ({timing.best / base.best:.2f})"


def print_table(rows, runs, warmup):
    header = (
        "jobs",
        "pyshared-scan --no-cache",
        "dpkg-deb --fsys-tarfile",
        "ratio (of min)",
        "pyshared-scan, warm --cache",
    )
    lines = [
        (
            jobs,
            timed(m["pyshared-scan"]),
            timed(m["dpkg-deb"]),
            ratios(m["pyshared-scan"], m["dpkg-deb"]),
            timed(m["pyshared-scan warm"]),
        )
        for jobs, m in rows
    ]
    print(
        f"\nMedian wall time of {runs} interleaved runs after {warmup} warm-up (CPU: median user + "
        f"system), J jobs pinned to CPUs 0..J-1;\nratio = pyshared-scan / dpkg-deb, of the medians "
        f"(of the minimums); target <= {TARGET_RATIO}\n"
    )
    markdown(header, lines)
    worst = max(m["pyshared-scan"].wall / m["dpkg-deb"].wall for _, m in rows)
    verdict = "meets" if worst <= TARGET_RATIO else "misses"
    print(f"\nworst ratio of medians {worst:.2f}: {verdict} the target of {TARGET_RATIO}")


def print_contents(rows, runs):
    if not rows:
        return
    print(
        f"\nContents mode, median wall time of {runs} interleaved runs (CPU: median user + system), "
        "not pinned;\npython3 gzip = reading it with Python's gzip module (the zlib pyshared-scan uses);\n"
        "ratios = pyshared-scan --contents / zcat, / python3 gzip, of the medians (of the minimums)\n"
    )
    lines = []
    for index, file, medians in rows:
        name = f"{CONTENTS_INDEXES[index]} ({megabytes(file.stat().st_size)})"
        zcat, floor, scan = medians["zcat"], medians["gzip"], medians.get("pyshared-scan --contents")
        if scan is None:
            cells = ("not available: pyshared-scan has no --contents", "-", "-")
        else:
            cells = (timed(scan), ratios(scan, zcat), ratios(scan, floor))
        lines.append((name, timed(zcat), timed(floor), *cells))
    markdown(("index", "zcat", "python3 gzip", "pyshared-scan --contents", "ratio to zcat", "to gzip"), lines)


if __name__ == "__main__":
    sys.exit(main())
