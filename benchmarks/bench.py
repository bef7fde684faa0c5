#!/usr/bin/python3
"""dh_pyshared against dh_python3 on the same input trees (see README.md).

Inputs: a tiny package (one pure module, one small extension) and real
bookworm packages turned back into an upstream install (site-packages,
untagged `X.so`, `-py3.11.egg-info`), as tests/test_archive.py does.
Each timed run starts from a fresh copy of the input made by hyperfine's
--prepare, which is not timed.  Timings are printed, never asserted.
"""

import argparse
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent
TOOL = CHECKOUT / "bin" / "dh_pyshared"
PYTHON = "/usr/bin/python3"
sys.path[:0] = [str(CHECKOUT / "tests"), str(CHECKOUT)]

from helpers import cbuild  # noqa: E402
from test_archive import UPSTREAM, bookworm_debs, extract, turn_back  # noqa: E402

ARCHIVE_INPUTS = ("python3-markupsafe", "python3-yaml", "python3-lxml", "python3-psutil")
TOOLS_FROM_APT = {"dh_python3": "dh-python", "hyperfine": "hyperfine"}
TARGET_RATIO = 0.5

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
    parser.add_argument("--runs", type=int, default=20, help="timed runs per tool and input (20)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs first (2)")
    parser.add_argument("--workdir", type=Path, help="keep inputs and results here")
    arguments = parser.parse_args()

    ensure_tools()
    env = tool_environment()
    multiarch = env["DEB_HOST_MULTIARCH"]
    workdir = arguments.workdir or Path(tempfile.mkdtemp(prefix="dh-pyshared-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        for leftover in ("inputs", "check", "work"):
            shutil.rmtree(workdir / leftover, ignore_errors=True)
        inputs = build_inputs(workdir / "inputs")
        commands = {
            "dh_python3": ["dh_python3"],
            "dh_pyshared": [str(TOOL)],
            "dh_pyshared --tag": [str(TOOL), "--tag", f"cpython-311-{multiarch}"],
        }
        rows = []
        for name, template in inputs.items():
            progress(f"timing {name} ({arguments.runs} runs each)")
            medians = time_commands(template, workdir / "work" / name, commands, env,
                                    arguments.runs, arguments.warmup, workdir / f"{name}.json")
            agree = outputs_agree(template, workdir / "check" / name, commands, env)
            rows.append((name, medians, agree))
        startup = time_startup(inputs["tiny"], workdir / "work" / "startup", env, arguments.runs)
        progress("profiling imports")
        imports = import_profile(inputs["tiny"], workdir / "work" / "importtime", env)
    finally:
        if not arguments.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    print_table(rows, arguments.runs)
    print_startup(startup, imports)
    return 0


def progress(message):
    print(f"bench: {message}", file=sys.stderr, flush=True)


# --- set-up -----------------------------------------------------------------


def ensure_tools():
    missing = [package for command, package in TOOLS_FROM_APT.items() if shutil.which(command) is None]
    if missing:
        progress(f"installing {' '.join(missing)}")
        subprocess.run(["apt-get", "install", "-y", "-q", *missing], check=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


def tool_environment():
    """The environment of a real build: dpkg-buildpackage exports the
    dpkg-architecture variables (dh_python3 needs DEB_HOST_ARCH); no DH_VERBOSE."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DH_", "DEB_", "PYTHON"))}
    output = subprocess.run(["dpkg-architecture"], capture_output=True, text=True, check=True).stdout
    env.update(line.split("=", 1) for line in output.splitlines() if "=" in line)
    return env


def source_package(root, package):
    """An empty source package root for one binary package; its tree."""
    source = package.removeprefix("python3-")
    (root / "debian").mkdir(parents=True)
    (root / "debian" / "control").write_text(CONTROL.format(source=source, package=package))
    (root / "debian" / "changelog").write_text(CHANGELOG.format(source=source))
    return root / "debian" / package


def build_inputs(directory):
    """{name: source package root} in upstream install layout."""
    progress("preparing inputs (downloading .debs on a cold cache)")
    inputs = {}
    tree = source_package(directory / "tiny", "python3-tiny")
    site = tree / UPSTREAM["site"]
    site.mkdir(parents=True)
    (site / "tiny.py").write_text("from _tiny import variant\n")
    cbuild.compile_extension(site / "_tiny.so", "_tiny")
    inputs["tiny"] = directory / "tiny"
    debs = bookworm_debs()
    for package in ARCHIVE_INPUTS:
        root = directory / package
        tree = source_package(root, package)
        extract(debs[package], tree)
        turn_back(tree, UPSTREAM["site"])
        inputs[package] = root
    return inputs


# --- timing -----------------------------------------------------------------


def hyperfine(commands, prepare, runs, warmup, export, env):
    """{name: [seconds]} for each (name, argv) in commands, via hyperfine -N."""
    arguments = ["hyperfine", "-N", "--style", "none", "--runs", str(runs), "--warmup", str(warmup),
                 "--export-json", str(export)]
    if prepare:
        arguments += ["--prepare", prepare]
    for name, argv in commands:
        arguments += ["--command-name", name, shlex.join(argv)]
    subprocess.run(arguments, env=env, check=True, stdout=subprocess.DEVNULL)
    results = json.loads(Path(export).read_text())["results"]
    return {result["command"]: result["times"] for result in results}


def fresh_copy_command(template, work):
    script = f"rm -rf {shlex.quote(str(work))} && cp -a {shlex.quote(str(template))} {shlex.quote(str(work))}"
    return shlex.join(["sh", "-c", script])


def time_commands(template, work, commands, env, runs, warmup, export):
    """{tool: median seconds}; every run gets a fresh copy of `template` in `work`."""
    work.parent.mkdir(parents=True, exist_ok=True)
    timed = [(name, ["env", "-C", str(work), *argv]) for name, argv in commands.items()]
    times = hyperfine(timed, fresh_copy_command(template, work), runs, warmup, export, env)
    return {name: statistics.median(values) for name, values in times.items()}


def time_startup(template, work, env, runs):
    """Bare interpreter start-up, and dh_pyshared --help (imports, no tree work)."""
    work.parent.mkdir(parents=True, exist_ok=True)
    commands = [
        ("python3 -c pass", [PYTHON, "-c", "pass"]),
        ("python3 -I -S -c pass", [PYTHON, "-I", "-S", "-c", "pass"]),
        ("dh_pyshared --help", ["env", "-C", str(work), str(TOOL), "--help"]),
    ]
    shutil.copytree(template, work, symlinks=True)
    times = hyperfine(commands, None, runs, 2, work.parent / "startup.json", env)
    return {name: statistics.median(values) for name, values in times.items()}


# --- what each tool produced ----------------------------------------------------


def outputs_agree(template, directory, commands, env):
    """Do all tools leave the same package tree?  dh_python3 leaves
    `-py3.11.egg-info` names alone (pybuild renames them), so those are
    normalised first."""
    listings = {}
    for index, (name, argv) in enumerate(commands.items()):
        work = directory / str(index)
        shutil.copytree(template, work, symlinks=True)
        subprocess.run(argv, cwd=work, env=env, check=True, capture_output=True)
        trees = [p for p in (work / "debian").iterdir() if p.is_dir() and not p.name.startswith(".")]
        listings[name] = {
            re.sub(r"-py3\.\d+\.egg-info", ".egg-info", p.relative_to(tree).as_posix())
            for tree in trees for p in tree.rglob("*")
        }
    first = next(iter(listings.values()))
    different = max(len(first ^ listing) for listing in listings.values())
    return "yes" if not different else f"no ({different} paths)"


# --- start-up breakdown -----------------------------------------------------


def import_profile(template, work, env, repeats=5):
    """{module: (median self µs, median cumulative µs, depth)} over `repeats` runs."""
    samples = {}
    for _ in range(repeats):
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(template, work, symlinks=True)
        result = subprocess.run([PYTHON, "-X", "importtime", str(TOOL)], cwd=work, env=env,
                                capture_output=True, text=True, check=True)
        for line in result.stderr.splitlines():
            match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
            if match:
                depth = (len(match[3]) - 1) // 2
                samples.setdefault(match[4], []).append((int(match[1]), int(match[2]), depth))
    return {
        module: (statistics.median(s for s, _, _ in values), statistics.median(c for _, c, _ in values),
                 values[0][2])
        for module, values in samples.items()
    }


def origin(module):
    top = module.split(".")[0]
    if top == "pyshared_tools":
        return "dh-pyshared"
    if top in sys.stdlib_module_names or top in ("encodings", "_frozen_importlib_external"):
        return "stdlib"
    return "third-party"


# --- printing ---------------------------------------------------------------


def milliseconds(seconds):
    return f"{seconds * 1000:.1f} ms"


def print_table(rows, runs):
    header = ("input", "dh_python3", "dh_pyshared", "ratio", "dh_pyshared --tag", "ratio", "same paths")
    lines = []
    for name, medians, agree in rows:
        base = medians["dh_python3"]
        lines.append((
            name,
            milliseconds(base),
            milliseconds(medians["dh_pyshared"]),
            f"{medians['dh_pyshared'] / base:.2f}",
            milliseconds(medians["dh_pyshared --tag"]),
            f"{medians['dh_pyshared --tag'] / base:.2f}",
            agree,
        ))
    widths = [max(len(str(row[i])) for row in [header, *lines]) for i in range(len(header))]
    print(f"\nMedian wall time of {runs} runs, fresh input copy per run (not timed); "
          f"ratio = dh_pyshared / dh_python3, target <= {TARGET_RATIO}\n")
    for row in [header, tuple("-" * w for w in widths), *lines]:
        print("| " + " | ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)) + " |")
    worst = max(max(m["dh_pyshared"], m["dh_pyshared --tag"]) / m["dh_python3"] for _, m, _ in rows)
    verdict = "meets" if worst <= TARGET_RATIO else "misses"
    print(f"\nworst ratio {worst:.2f}: {verdict} the target of {TARGET_RATIO}")


def print_startup(startup, imports, top=15):
    print("\nStart-up (median):")
    for name, seconds in startup.items():
        print(f"  {name:<24} {milliseconds(seconds)}")
    total_self = sum(s for s, _, _ in imports.values())
    by_origin = {}
    for module, (self_us, _, _) in imports.items():
        by_origin[origin(module)] = by_origin.get(origin(module), 0) + self_us
    print(f"\npython3 -X importtime bin/dh_pyshared on the tiny input: {len(imports)} modules, "
          f"{total_self / 1000:.1f} ms of import time")
    for name, micro in sorted(by_origin.items(), key=lambda item: -item[1]):
        print(f"  {name:<12} {micro / 1000:6.1f} ms")
    print(f"\nTop {top} by self time (µs; cumulative includes what the module imports):")
    print(f"  {'self':>7} {'cumul':>7}  module")
    ranked = sorted(imports.items(), key=lambda item: -item[1][0])[:top]
    for module, (self_us, cumulative, _) in ranked:
        print(f"  {self_us:7.0f} {cumulative:7.0f}  {module}  [{origin(module)}]")
    print(f"\nTop {top} top-level imports by cumulative time (what each first import pulls in):")
    roots = [(m, v) for m, v in imports.items() if v[2] == 0]
    for module, (_, cumulative, _) in sorted(roots, key=lambda item: -item[1][1])[:top]:
        print(f"  {cumulative:7.0f}  {module}  [{origin(module)}]")


if __name__ == "__main__":
    sys.exit(main())
