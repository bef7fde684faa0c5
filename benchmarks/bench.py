#!/usr/bin/python3
"""dh_pyshared against dh_python3 on real archive packages (see README.md).

Inputs: every bookworm python3-* package pinned in tests/data/archive-pins.txt
(packages with extension modules), turned back into an upstream install
(site-packages, untagged `X.so`, `-py3.11.egg-info`), and one farm-era tree
whose snippets need a template rendered at run time.  dh_pyshared runs as the
.deb installs it (a copy laid out by debian/install, byte-compiled, Debian's
libraries) and from a pip venv with the newest PyPI releases.  Every run starts
from a fresh copy of its input (not timed); the tools run interleaved, round
after round, so that load from elsewhere falls on all of them alike.
Timings and ratios are printed, never asserted.
"""

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent
PYTHON = "/usr/bin/python3"
sys.path[:0] = [str(CHECKOUT / "tests")]

from helpers.archive import fetch_debs, read_pins  # noqa: E402

CACHE_NAME = "bench-debs"
SITE = "usr/lib/python3.11/site-packages"
SHARED = "usr/lib/python3/dist-packages"
FARM_PACKAGE = "python3-simplejson"
# PyPI's newest releases of what setup.cfg installs, for the pip variant.
PIP_REQUIREMENTS = ("python-debian", "jinja2", "packaging", "sh", "tqdm", "lz4")
# (variant, target) of the issue: sum ratio and worst ratio.
TARGETS = {
    "deb": (0.9, 1.0),
    "deb --tag": (0.9, 1.0),
    "pip": (1.1, None),
}
FARM_TARGET = 1.6

CONTROL = """\
Source: {source}
Section: python
Priority: optional
Maintainer: Bench <bench@example.org>
Build-Depends: debhelper-compat (= 13), dh-python, python3-all-dev
X-Python3-Version: >= 3.11

Package: {package}
Architecture: any
Depends: ${{python3:Depends}}, ${{pyshared:Depends}}, ${{misc:Depends}}
Description: benchmark input
 benchmark input
"""
CHANGELOG = """\
{source} (1.0-1) unstable; urgency=medium

  * Benchmark input.

 -- Bench <bench@example.org>  Mon, 01 Jan 2024 00:00:00 +0000
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="timed rounds (3); each tool runs once per round")
    parser.add_argument(
        "--workdir", type=Path, help="keep the inputs, the installed copies and the venv here"
    )
    parser.add_argument("--packages", nargs="*", help="only these pinned packages")
    parser.add_argument("--no-pip", action="store_true", help="leave out the pip venv variant")
    parser.add_argument("--checkout", action="store_true", help="also time bin/dh_pyshared of the checkout")
    parser.add_argument(
        "--tool",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="also time this dh_pyshared as NAME (a venv of another commit, say), interleaved",
    )
    arguments = parser.parse_args()
    extra = {}
    for tool in arguments.tool:
        name, _, path = tool.partition("=")
        if not name or not path or name in ("dh_python3", "deb", "deb --tag", "pip", "checkout", *extra):
            parser.error(f"--tool {tool}: give NAME=PATH, a NAME of its own")
        extra[name] = [path]

    env = tool_environment()
    multiarch = env["DEB_HOST_MULTIARCH"]
    workdir = arguments.workdir or Path(tempfile.mkdtemp(prefix="dh-pyshared-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    try:
        deb_tool = install_like_the_deb(workdir / "deb-install")
        tools = {
            "dh_python3": ["dh_python3"],
            "deb": [str(deb_tool)],
            "deb --tag": [str(deb_tool), "--tag", f"cpython-311-{multiarch}"],
        }
        if not arguments.no_pip:
            tools["pip"] = [str(pip_venv(workdir / "venv") / "bin" / "dh_pyshared")]
        if arguments.checkout:
            tools["checkout"] = [str(CHECKOUT / "bin" / "dh_pyshared")]
        tools.update(extra)
        inputs = build_inputs(workdir / "inputs", arguments.packages)
        inputs["farm-era"] = farm_input(workdir / "inputs" / "farm-era")
        usable, refused = check_inputs(inputs, tools, workdir / "work", env)
        times = time_rounds(usable, tools, workdir / "work", env, arguments.runs)
        versions = library_versions(tools)
    finally:
        if not arguments.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    load_after = os.getloadavg()
    print_results(times, tools, refused, arguments.runs, versions, load_before, load_after)
    return 0


def progress(message):
    print(f"bench: {message}", file=sys.stderr, flush=True)


# --- the tools --------------------------------------------------------------


def tool_environment():
    """The environment of a real build: dpkg-buildpackage exports the
    dpkg-architecture variables (dh_python3 needs DEB_HOST_ARCH); no DH_VERBOSE."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DH_", "DEB_", "PYTHON"))}
    output = subprocess.run(["dpkg-architecture"], capture_output=True, text=True, check=True).stdout
    env.update(line.split("=", 1) for line in output.splitlines() if "=" in line)
    return env


def install_like_the_deb(root):
    """bin/dh_pyshared and its private library laid out as debian/install puts
    them, prepared as debian/rules does, byte-compiled as dh_python3's
    postinst does: the path of the installed usr/bin/dh_pyshared."""
    progress("installing a copy as the .deb does")
    shutil.rmtree(root, ignore_errors=True)
    for line in (CHECKOUT / "debian" / "install").read_text().splitlines():
        words = line.split()
        if len(words) != 2:
            continue
        source, destination = words
        target = root / destination
        target.mkdir(parents=True, exist_ok=True)
        for path in sorted(CHECKOUT.glob(source)):
            if path.is_dir():
                shutil.copytree(path, target / path.name)
            else:
                shutil.copy2(path, target / path.name)
    share = root / "usr/share/dh-pyshared"
    (share / "templates" / "README.md").unlink(missing_ok=True)
    prerender = CHECKOUT / "pyshared_tools" / "outputs" / "prerender.py"
    if prerender.exists():  # what debian/rules runs after dh_install
        subprocess.run(
            [
                PYTHON,
                "-B",
                "-m",
                "pyshared_tools.outputs.prerender",
                "--templates",
                str(share / "templates"),
                "--output",
                str(share / "pyshared_tools" / "outputs" / "prerendered.py"),
                "--compiled",
                str(share / "compiled-templates"),
            ],
            cwd=CHECKOUT,
            check=True,
        )
    subprocess.run([PYTHON, "-m", "compileall", "-q", str(share)], check=True)
    return root / "usr/bin/dh_pyshared"


def pip_venv(venv):
    """A venv of /usr/bin/python3 with this checkout and the newest PyPI
    releases of its requirements installed by pip."""
    progress("installing the checkout and the newest PyPI releases into a venv")
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([PYTHON, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--upgrade"]
    subprocess.run([*pip, "pip"], check=True)
    subprocess.run([*pip, *PIP_REQUIREMENTS, str(CHECKOUT)], check=True)
    return venv


def library_versions(tools):
    code = (
        "import importlib.metadata as m\nfor n in ('jinja2', 'sh', 'python-debian'):\n print(n, m.version(n))"
    )
    versions = {
        "deb": subprocess.run([PYTHON, "-c", code], capture_output=True, text=True).stdout.split("\n")
    }
    if "pip" in tools:
        python = str(Path(tools["pip"][0]).parent / "python")
        versions["pip"] = subprocess.run([python, "-c", code], capture_output=True, text=True).stdout.split(
            "\n"
        )
    return {name: ", ".join(v for v in lines if v) for name, lines in versions.items()}


# --- the inputs -------------------------------------------------------------


def source_package(root, package):
    source = package.removeprefix("python3-")
    shutil.rmtree(root, ignore_errors=True)
    (root / "debian").mkdir(parents=True)
    (root / "debian" / "control").write_text(CONTROL.format(source=source, package=package))
    (root / "debian" / "changelog").write_text(CHANGELOG.format(source=source))
    return root / "debian" / package


def archive_packages(names):
    pins = read_pins()
    pinned = sorted(p for p in pins.debs if p.startswith("python3-"))
    return [p for p in pinned if not names or p in names]


def build_inputs(directory, names):
    """{package: source package root} in the upstream install layout."""
    packages = archive_packages(names)
    progress(f"fetching {len(packages)} pinned .debs (a cold cache downloads them)")
    debs = fetch_debs(packages, CACHE_NAME)
    inputs = {}
    for package in packages:
        root = directory / package
        tree = source_package(root, package)
        subprocess.run(["dpkg-deb", "-x", str(debs[package]), str(tree)], check=True)
        if not (tree / SHARED).is_dir():
            continue
        turn_back(tree)
        inputs[package] = root
    return inputs


def turn_back(tree):
    """Debian's dist-packages → site-packages, X.cpython-311-<multiarch>.so → X.so,
    egg-info → -py3.11.egg-info: what `setup.py install` leaves."""
    destination = tree / SITE
    destination.parent.mkdir(parents=True, exist_ok=True)
    (tree / SHARED).rename(destination)
    tagged = re.compile(r"(?P<stem>[^.]+)\.cpython-311-[^.]+\.so")
    for directory, _, files in os.walk(destination):
        for name in files:
            match = tagged.fullmatch(name)
            if match:
                os.rename(os.path.join(directory, name), os.path.join(directory, f"{match['stem']}.so"))
    for entry in destination.iterdir():
        match = re.fullmatch(r"(?P<base>.+)\.egg-info", entry.name)
        if match and not match["base"].endswith("-py3.11"):
            entry.rename(entry.with_name(f"{match['base']}-py3.11.egg-info"))


def farm_input(root):
    """A python-support tree of a real package: its modules in usr/share/pyshared,
    the .public file, no shipped links; the snippets that make the links at
    install time are rendered from the farm templates at run time."""
    debs = fetch_debs([FARM_PACKAGE], CACHE_NAME + "-farm")
    tree = source_package(root, FARM_PACKAGE)
    subprocess.run(["dpkg-deb", "-x", str(debs[FARM_PACKAGE]), str(tree)], check=True)
    shared = tree / SHARED
    storage = tree / "usr/share/pyshared"
    for path in sorted(shared.rglob("*.py")):
        target = storage / path.relative_to(shared)
        target.parent.mkdir(parents=True, exist_ok=True)
        path.rename(target)
    turn_back(tree)
    public = tree / "usr/share/python-support" / f"{FARM_PACKAGE}.public"
    public.parent.mkdir(parents=True)
    public.write_text("pyversions=3.11-\n")
    return root


def fresh(template, work):
    shutil.rmtree(work, ignore_errors=True)
    subprocess.run(["cp", "-a", str(template), str(work)], check=True)
    os.sync()  # the copy's writeback falls on no timed run


def check_inputs(inputs, tools, work, env):
    """The inputs every tool converts with exit status 0 (one untimed run each)."""
    usable, refused = {}, {}
    for name, template in inputs.items():
        for tool, argv in tools.items():
            fresh(template, work)
            result = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True)
            if result.returncode:
                refused[name] = f"{tool}: {(result.stderr.strip().splitlines() or ['?'])[-1][:150]}"
                break
        else:
            usable[name] = template
    return usable, refused


def time_rounds(inputs, tools, work, env, runs):
    """{input: {tool: [(wall seconds, CPU seconds)]}}; each round runs every tool once on every input,
    starting at a different tool each round."""
    times = {name: {tool: [] for tool in tools} for name in inputs}
    names = list(tools)
    for round_number in range(runs):
        progress(f"round {round_number + 1} of {runs} over {len(inputs)} inputs")
        for name, template in inputs.items():
            shift = round_number % len(names)
            for tool in names[shift:] + names[:shift]:
                fresh(template, work)
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                start = time.perf_counter()
                subprocess.run(
                    tools[tool],
                    cwd=work,
                    env=env,
                    check=True,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                wall = time.perf_counter() - start
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
                times[name][tool].append((wall, cpu))
    shutil.rmtree(work, ignore_errors=True)
    return times


# --- printing ---------------------------------------------------------------


def print_results(times, tools, refused, runs, versions, load_before, load_after):
    variants = [tool for tool in tools if tool != "dh_python3"]
    medians = {
        name: {tool: statistics.median(w for w, _ in values) for tool, values in row.items()}
        for name, row in times.items()
    }
    cpu = {
        name: {tool: statistics.median(c for _, c in values) for tool, values in row.items()}
        for name, row in times.items()
    }
    archive = {name: row for name, row in medians.items() if name != "farm-era"}
    header = ["input", "dh_python3 ms"]
    for variant in variants:
        header += [f"{variant} ms", "ratio"]
    lines = []
    for name, row in sorted(archive.items()):
        line = [name, f"{row['dh_python3'] * 1000:.0f}"]
        for variant in variants:
            line += [f"{row[variant] * 1000:.0f}", f"{row[variant] / row['dh_python3']:.2f}"]
        lines.append(line)
    widths = [max(len(str(r[i])) for r in [header, *lines]) for i in range(len(header))]
    print(
        f"\nMedian wall time of {runs} interleaved runs per tool and input, fresh copy per run "
        f"(not timed); ratio = dh_pyshared / dh_python3 on the same input."
    )
    print(
        f"Load average before {load_before[0]:.1f}, after {load_after[0]:.1f} (1 min); {os.cpu_count()} CPUs."
    )
    for name, text in versions.items():
        print(f"libraries of {name}: {text}")
    print()
    for row in [header, ["-" * w for w in widths], *lines]:
        print("| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
    base = sum(row["dh_python3"] for row in archive.values())
    print(
        f"\n{len(archive)} archive packages; dh_python3 sum {base:.2f} s, "
        f"median {statistics.median(r['dh_python3'] for r in archive.values()) * 1000:.0f} ms"
    )
    for variant in variants:
        total = sum(row[variant] for row in archive.values())
        worst_name, worst = max(
            ((n, r[variant] / r["dh_python3"]) for n, r in archive.items()), key=lambda item: item[1]
        )
        target = TARGETS.get(variant)
        verdict = ""
        if target:
            sum_target, worst_target = target
            verdict = f"  [target sum <= {sum_target}: {'met' if total / base <= sum_target else 'MISSED'}"
            if worst_target:
                verdict += f"; worst <= {worst_target}: {'met' if worst <= worst_target else 'MISSED'}"
            verdict += "]"
        print(
            f"  {variant:<10} sum {total:.2f} s = {total / base:.2f}x, "
            f"median {statistics.median(r[variant] for r in archive.values()) * 1000:.0f} ms, "
            f"worst {worst:.2f}x ({worst_name}){verdict}"
        )
    cpu_base = sum(row["dh_python3"] for name, row in cpu.items() if name != "farm-era")
    print(f"\nCPU time (user + system, median per input), summed: dh_python3 {cpu_base:.2f} s")
    for variant in variants:
        rows = {name: row for name, row in cpu.items() if name != "farm-era"}
        total = sum(row[variant] for row in rows.values())
        worst_name, worst = max(
            ((n, r[variant] / r["dh_python3"]) for n, r in rows.items()), key=lambda item: item[1]
        )
        print(f"  {variant:<10} {total:.2f} s = {total / cpu_base:.2f}x, worst {worst:.2f}x ({worst_name})")
    if "farm-era" in medians:
        row, cpu_row = medians["farm-era"], cpu["farm-era"]
        print(
            f"\nfarm-era {FARM_PACKAGE} (templates rendered at run time): dh_python3 "
            f"{row['dh_python3'] * 1000:.0f} ms, CPU {cpu_row['dh_python3'] * 1000:.0f} ms"
        )
        for variant in variants:
            ratio = row[variant] / row["dh_python3"]
            met = "met" if ratio <= FARM_TARGET else "MISSED"
            print(
                f"  {variant:<10} {row[variant] * 1000:.0f} ms = {ratio:.2f}x"
                f"  [target <= {FARM_TARGET}: {met}]; CPU {cpu_row[variant] * 1000:.0f} ms"
                f" = {cpu_row[variant] / cpu_row['dh_python3']:.2f}x"
            )
    for name, reason in sorted(refused.items()):
        print(f"left out {name}: {reason}")


if __name__ == "__main__":
    sys.exit(main())
