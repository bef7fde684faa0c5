"""pyshared-scan: real (pinned) bookworm .debs, .debs built here with dpkg-deb, and hostile
.debs assembled with tarfile and ar; the real command runs as a subprocess."""

import io
import json
import re
import subprocess
import tarfile
import textwrap
from pathlib import Path

import pytest
from conftest import CHECKOUT, snapshot
from helpers.abi_packages import ABI3_PACKAGES, LIBPYTHON_PACKAGES
from helpers.archive import fetch_debs
from helpers.archive_trees import DEB_CACHE_NAME, PACKAGES
from helpers.scan_debs import (
    ARCH,
    AUDITED,
    OLD,
    SHARED,
    TAGGED,
    _add,
    ar_deb,
    build_deb,
    objects,
    private_cache,
    scan,
    stats,
)

from pyshared_tools import __version__
from pyshared_tools.archive import cache as scan_cache
from pyshared_tools.archive import cli as scan_cli
from pyshared_tools.archive import codes as scan_codes
from pyshared_tools.archive import deb as scan_deb
from pyshared_tools.archive import judge as scan_judge
from pyshared_tools.archive.store import Store

__all__ = ["objects", "private_cache"]  # fixtures from helpers/scan_debs.py

USAGE = re.compile(r"pyshared-scan: error: [^,\n]+, [^,\n]+, [^\n]+\n")


def scan_json(*args, expect_rc=1, cwd=None):
    result = scan("--json", *args, cwd=cwd)
    assert result.returncode == expect_rc, result.stderr
    return json.loads(result.stdout)["findings"]


def found(findings):
    return {(f["package"], f["path"], f["code"]) for f in findings}


# --- real bookworm packages -------------------------------------------------------------------


def test_real_bookworm_packages():
    """The pinned archive packages (tests/data/archive-pins.txt): no legacy layout but numpy's
    per-version copy, no untagged extension, the libpython linkers flagged, abi3 packages (bcrypt,
    nacl, cryptography) clean."""
    debs = fetch_debs(PACKAGES, DEB_CACHE_NAME)
    abi_debs = fetch_debs(tuple(sorted(LIBPYTHON_PACKAGES) + sorted(ABI3_PACKAGES)), "abi-check-debs")
    directory = next(iter(debs.values())).parent
    findings = scan_json("--supported", "3.11", directory, *abi_debs.values())
    expected = {(package, f"{SHARED}/{path}", "libpython") for package, path in LIBPYTHON_PACKAGES.items()}
    # numpy ships a second copy of _multiarray_umath under usr/lib/python3.11 (see test_archive.py).
    expected.add(("python3-numpy", "usr/lib/python3.11/dist-packages", "legacy-layout"))
    assert found(findings) == expected
    (numpy,) = [f for f in findings if f["code"] == "legacy-layout"]
    assert "layout rule python3-versioned" in numpy["detail"] and numpy["severity"] == "warning"
    scanned = {f["package"] for f in findings}
    assert {"python3-bcrypt", "python3-nacl", "python3-cryptography"}.isdisjoint(scanned)


def test_real_abi3_extensions_are_checked_against_the_stable_abi(monkeypatch):
    """The abi3 packages pass because checks.stable_abi judged them, not because they were skipped."""
    abi_debs = fetch_debs(tuple(sorted(LIBPYTHON_PACKAGES) + sorted(ABI3_PACKAGES)), "abi-check-debs")
    outcomes = []
    real = scan_judge.checks.stable_abi

    def spy(facts, minimum, symbols=None):
        outcomes.append((len(facts.python_imports), minimum, real(facts, minimum, symbols).outcome))
        return real(facts, minimum, symbols)

    monkeypatch.setattr(scan_judge.checks, "stable_abi", spy)
    with Store() as store:
        for index, package in enumerate(sorted(ABI3_PACKAGES)):
            store.add_record(scan_deb.read_deb(str(abi_debs[package]), [(3, 11)], index=index))
        store.cross_checks()
        assert list(store.findings()) == [] and store.notes() == []
    assert len(outcomes) == sum(len(paths) for paths in ABI3_PACKAGES.values())
    assert all(imports > 5 and low == (3, 11) and outcome == "pass" for imports, low, outcome in outcomes)


# --- .debs built here ---------------------------------------------------------------------


def test_python_support_farm_is_a_legacy_layout(tmp_path):
    deb = build_deb(
        tmp_path,
        "python3-farm",
        arch="all",
        files={
            "usr/share/pyshared/farm/__init__.py": b"",
            "usr/share/python-support/python3-farm.public": b"pyversions=3.11\n",
            "usr/share/doc/python3-farm/README": b"",
        },
        links={
            "usr/lib/pymodules/python3.11/farm/__init__.py": "../../../../share/pyshared/farm/__init__.py"
        },
    )
    findings = scan_json("--supported", "3.11", deb)
    assert found(findings) == {
        ("python3-farm", "usr/share/pyshared", "legacy-layout"),
        ("python3-farm", "usr/lib/pymodules/python3.11", "legacy-layout"),
        ("python3-farm", "usr/share/python-support/python3-farm.public", "legacy-layout"),
    }
    details = {f["path"]: f["detail"] for f in findings}
    assert "layout rule pyshared:" in details["usr/share/pyshared"]
    assert "layout rule pymodules:" in details["usr/lib/pymodules/python3.11"]


def test_pyshared_no_helper_made_is_informational_not_a_rebuild(tmp_path):
    """bookworm's libchewing3 and wireshark-dev ship /usr/share/pyshared files
    without farm links or helper metadata (issue 13, item 8)."""
    chewing = build_deb(
        tmp_path,
        "libchewing3",
        source="libchewing",
        files={
            "usr/share/pyshared/chewing.py": b"raise AttributeError, name\n",
            "usr/lib/x86_64-linux-gnu/libchewing.so.3": b"",
        },
    )
    farm = build_deb(
        tmp_path,
        "python3-farm",
        source="farm",
        arch="all",
        files={
            "usr/share/pyshared/farm/__init__.py": b"",
        },
        links={f"{SHARED}/farm/__init__.py": "../../../../share/pyshared/farm/__init__.py"},
    )
    findings = scan_json("--supported", "3.11", chewing, farm)
    assert found(findings) == {
        ("libchewing3", "usr/share/pyshared", "unclaimed-pyshared"),
        ("python3-farm", "usr/share/pyshared", "legacy-layout"),
    }
    listing = scan("--rebuild-list", "--supported", "3.11", chewing, farm)
    assert listing.stdout == "farm: legacy-layout\n"
    assert scan("--rebuild-list", "--supported", "3.11", chewing).stdout == ""


def test_extension_checks(tmp_path, objects):
    debs = [
        build_deb(tmp_path, "python3-untagged", files={f"{SHARED}/fast.so": objects["fast"]}),
        build_deb(tmp_path, "python3-ctypes", files={f"{SHARED}/pkg/libhelper.so": objects["library"]}),
        build_deb(tmp_path, "python3-old", files={f"{SHARED}/old/fast{OLD}": objects["fast"]}),
        build_deb(
            tmp_path, "python3-indep", arch="all", files={f"{SHARED}/indep/fast{TAGGED}": objects["fast"]}
        ),
        build_deb(tmp_path, "python3-misnamed", files={f"{SHARED}/bad{TAGGED}": objects["other"]}),
        build_deb(
            tmp_path,
            "python3-abi3",
            files={
                f"{SHARED}/_speed.abi3.so": objects["abi3-bad"],
                f"{SHARED}/_good.abi3.so": objects["abi3-good"],
            },
        ),
    ]
    findings = scan_json("--supported", "3.11", *debs)
    assert found(findings) == {
        ("python3-untagged", f"{SHARED}/fast.so", "untagged-extension"),
        ("python3-ctypes", f"{SHARED}/pkg/libhelper.so", "not-an-extension"),
        ("python3-old", f"{SHARED}/old/fast{OLD}", "stale-tag"),
        ("python3-indep", f"{SHARED}/indep/fast{TAGGED}", "wrong-arch"),
        ("python3-misnamed", f"{SHARED}/bad{TAGGED}", "init-mismatch"),
        ("python3-abi3", f"{SHARED}/_speed.abi3.so", "abi3-violation"),
    }
    by_code = {f["code"]: f for f in findings}
    assert by_code["not-an-extension"]["severity"] == "info"
    assert "Architecture: all" in by_code["wrong-arch"]["detail"]
    assert "PyDict_SetDefault (not in the stable ABI)" in by_code["abi3-violation"]["detail"]
    assert "PyInit_other" in by_code["init-mismatch"]["detail"]
    # The supported set decides what is stale; a ctypes library alone is only informational.
    assert "stale-tag" not in {f["code"] for f in scan_json("--supported", "3.9,3.11", debs[2], expect_rc=0)}
    assert scan_json("--supported", "3.11", debs[1], expect_rc=0)[0]["code"] == "not-an-extension"


def test_path_collision_and_module_clash(tmp_path, objects):
    debs = [
        build_deb(
            tmp_path,
            "python3-a",
            version="1.0",
            files={
                f"{SHARED}/common/data.py": b"A = 1\n",
                f"{SHARED}/foo.so": objects["foo"],
            },
        ),
        build_deb(
            tmp_path,
            "python3-b",
            version="2.0",
            files={
                f"{SHARED}/common/data.py": b"B = 2\n",
                f"{SHARED}/foo{TAGGED}": objects["foo"],
            },
        ),
        # Directories shared by every package never collide.
        build_deb(tmp_path, "python3-c", files={f"{SHARED}/common/other.py": b""}),
    ]
    findings = scan_json("--supported", "3.11", *debs)
    assert found(findings) == {
        ("python3-a", f"{SHARED}/common/data.py", "path-collision"),
        ("python3-b", f"{SHARED}/common/data.py", "path-collision"),
        ("python3-a", f"{SHARED}/foo.so", "untagged-extension"),
        ("python3-a", f"{SHARED}/foo.so", "module-clash"),
        ("python3-b", f"{SHARED}/foo{TAGGED}", "module-clash"),
    }
    clash = {f["package"]: f["detail"] for f in findings if f["code"] == "module-clash"}
    assert clash["python3-a"] == (
        f"module foo is also {SHARED}/foo{TAGGED} in python3-b; "
        "pyshared:Conflicts: python3-b (<= 2.0); pyshared:Replaces: python3-b (<= 2.0)"
    )
    assert clash["python3-b"].endswith(
        "pyshared:Conflicts: python3-a (<= 1.0); pyshared:Replaces: python3-a (<= 1.0)"
    )
    collision = {f["package"]: f["detail"] for f in findings if f["code"] == "path-collision"}
    assert collision == {
        "python3-a": "also shipped by python3-b 2.0",
        "python3-b": "also shipped by python3-a 1.0",
    }


def test_huge_member_is_not_read(tmp_path, objects):
    deb = build_deb(tmp_path, "python3-untagged", files={f"{SHARED}/fast.so": objects["fast"]})
    (finding,) = scan_json("--supported", "3.11", "--max-member-bytes", "1000", deb)
    assert finding["code"] == "huge-member" and finding["path"] == f"{SHARED}/fast.so"


# --- hostile .debs ------------------------------------------------------------------------


def evil_tar(bait):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        _add(tar, "./usr/lib/python3/dist-packages/ok.py", b"")
        _add(tar, "../../etc/evil", b"owned\n")
        _add(tar, "/abs/path", b"owned\n")
        _add(tar, f"./{SHARED}/passwd{TAGGED}", link="/etc/passwd")
        _add(tar, f"./{SHARED}/bait.so", link=str(bait))
    return buffer.getvalue()


CONTROL = "Package: {}\nVersion: 1\nArchitecture: all\n"


def test_hostile_debs_are_findings_and_nothing_outside_is_read_or_written(tmp_path, objects):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    bait = tmp_path / "bait.so"  # an untagged extension: followed, the link would be untagged-extension
    bait.write_bytes(objects["fast"].read_bytes())
    good = build_deb(inputs, "python3-untagged", files={f"{SHARED}/fast.so": objects["fast"]})
    whole = good.read_bytes()
    (inputs / "truncated.deb").write_bytes(whole[: len(whole) // 2])
    (inputs / "garbage.deb").write_bytes(b"this is not an ar archive\n" * 40)
    tar_bytes = evil_tar(bait)
    import lzma

    ar_deb(inputs / "evil.deb", "data.tar.xz", lzma.compress(tar_bytes))
    lz = subprocess.run(["lzip", "-c"], input=tar_bytes, capture_output=True, check=True).stdout
    ar_deb(inputs / "lzip.deb", "data.tar.lz", lz, control=CONTROL.format("python3-lzip"))
    zst = subprocess.run(["zstd", "-q", "-c"], input=tar_bytes, capture_output=True, check=True).stdout
    ar_deb(inputs / "zst.deb", "data.tar.zst", zst, control=CONTROL.format("python3-zst"))
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    assert not Path("/etc/evil").exists() and not Path("/abs").exists()
    before_tmp, before_cwd = snapshot(tmp_path), snapshot(cwd)

    result = subprocess.run(
        [
            "/usr/bin/python3",
            "-c",
            AUDITED,
            str(CHECKOUT),
            "--json",
            "--supported",
            "3.11",
            "--jobs",
            "1",
            str(inputs),
        ],
        capture_output=True,
        text=True,
        cwd=cwd,
    )
    assert result.returncode == 1, result.stderr
    findings = json.loads(result.stdout)["findings"]
    by_deb = {}
    for f in findings:
        by_deb.setdefault(Path(f["deb"]).name, set()).add((f["path"], f["code"]))
    assert by_deb["truncated.deb"] == {(str(inputs / "truncated.deb"), "unreadable-deb")}
    assert by_deb["garbage.deb"] == {(str(inputs / "garbage.deb"), "unreadable-deb")}
    assert by_deb["lzip.deb"] == {(str(inputs / "lzip.deb"), "unreadable-deb")}
    # Python's tarfile cannot read zstd, python-debian reads it whole through unzstd; with
    # python3-zstandard it is streamed, no process started (see OPENED below): read like xz.
    # Both ship the same members: the symlinks are recorded (as paths), never followed.
    shipped = {f"{SHARED}/ok.py", f"{SHARED}/passwd{TAGGED}", f"{SHARED}/bait.so"}
    for name in ("evil.deb", "zst.deb"):
        assert by_deb[name] == {
            ("../../etc/evil", "unsafe-member"),
            ("/abs/path", "unsafe-member"),
            *((path, "path-collision") for path in shipped),
        }, name
    # The scan went on after the broken files: the good package is judged.
    assert by_deb[good.name] == {(f"{SHARED}/fast.so", "untagged-extension")}
    assert {f["package"] for f in findings if Path(f["deb"]).name == "evil.deb"} == {"python3-evil"}

    opened = eval(result.stderr.rsplit("OPENED ", 1)[1])
    assert "/etc/passwd" not in opened and str(bait) not in opened
    assert not [p for p in opened if p.startswith("POPEN")]
    assert not [p for p in opened if ("evil" in p and not p.endswith("evil.deb")) or "/abs" in p]
    assert snapshot(tmp_path) == before_tmp and snapshot(cwd) == before_cwd
    assert not Path("/etc/evil").exists() and not Path("/abs").exists()


# --- output formats and exit codes ---------------------------------------------------------------


def documented_codes():
    text = (CHECKOUT / "docs" / "scan-schema.md").read_text()
    section = text.split("## Codes", 1)[1]
    rows = re.findall(r"^\| `([a-z0-9-]+)` \| (\w+) \| (yes|no) \| (.+) \|$", section, re.MULTILINE)
    return {code: (severity, rebuild == "yes", meaning) for code, severity, rebuild, meaning in rows}


def documented_finding_keys():
    text = (CHECKOUT / "docs" / "scan-schema.md").read_text()
    section = text.split("## object `finding`", 1)[1].split("##", 1)[0]
    return re.findall(r"^\| `([a-z]+)` \|", section, re.MULTILINE)


def test_code_table_in_the_docs_is_the_one_in_the_module():
    assert documented_codes() == scan_codes.CODES
    assert set(severity for severity, _, _ in scan_codes.CODES.values()) <= set(scan_codes.SEVERITIES)


def test_json_document_matches_the_schema(tmp_path, objects):
    debs = [
        build_deb(tmp_path, "python3-a", files={f"{SHARED}/foo.so": objects["foo"]}),
        build_deb(
            tmp_path,
            "python3-b",
            files={f"{SHARED}/foo{TAGGED}": objects["foo"], f"{SHARED}/libx.so": objects["library"]},
        ),
    ]
    (tmp_path / "broken.deb").write_bytes(b"!<arch>\n")
    result = scan("--json", "--supported", "3.9", tmp_path)
    document = json.loads(result.stdout)
    assert result.returncode == 1 and set(document) == {"schema", "findings"} and document["schema"] == 1
    codes = documented_codes()
    keys = documented_finding_keys()
    emitted = set()
    for finding in document["findings"]:
        assert list(finding) == keys
        assert all(isinstance(value, str) for value in finding.values())
        assert finding["severity"] == codes[finding["code"]][0]
        emitted.add(finding["code"])
    assert emitted == {
        "untagged-extension",
        "stale-tag",
        "module-clash",
        "not-an-extension",
        "unreadable-deb",
    }
    assert next(d["deb"] for d in document["findings"] if d["package"] == "python3-a") == str(debs[0])


def test_table_and_rebuild_list(tmp_path, objects):
    build_deb(tmp_path, "python3-a", source="src-a", files={f"{SHARED}/foo.so": objects["foo"]})
    build_deb(tmp_path, "python3-b", files={f"{SHARED}/foo{TAGGED}": objects["foo"]}, version="1:2.0-1")
    build_deb(tmp_path, "python3-c", source="src-c", files={f"{SHARED}/libx.so": objects["library"]})
    listing = scan("--rebuild-list", "--supported", "3.11", tmp_path)
    assert listing.returncode == 1 and listing.stderr == ""
    # src-c has only an informational finding: no rebuild; python3-b has no Source: field.
    assert listing.stdout == "python3-b: module-clash\nsrc-a: module-clash, untagged-extension\n"
    shown = scan("--supported", "3.11", tmp_path)
    lines = shown.stdout.splitlines()
    assert shown.returncode == 1 and lines[0].split() == ["PACKAGE", "VERSION", "CODE", "PATH", "DETAIL"]
    assert len(lines) == 5
    row = next(line for line in lines if "untagged-extension" in line)
    assert row.split()[:4] == ["python3-a", "1.0", "untagged-extension", f"{SHARED}/foo.so"]
    assert any(line.split()[:3] == ["python3-b", "1:2.0-1", "module-clash"] for line in lines)


def test_exit_codes_and_usage_errors(tmp_path, objects):
    clean = build_deb(
        tmp_path, "python3-clean", files={f"{SHARED}/ok.py": b"", f"{SHARED}/fast{TAGGED}": objects["fast"]}
    )
    ok = scan("--supported", "3.11", clean)
    assert ok.returncode == 0 and ok.stdout.splitlines()[1:] == []
    assert scan("--rebuild-list", "--supported", "3.11", clean).stdout == ""
    for args, words in (
        ((), "nothing to scan"),
        ((tmp_path / "missing.deb",), "no such file or directory"),
        (("--supported", "2.7", clean), "is not a list of Python 3 versions"),
        (("--json", "--rebuild-list", clean), "not allowed with argument"),
        (("--max-member-bytes", "-1", clean), "must not be negative"),
    ):
        result = scan(*args)
        assert result.returncode == 2 and result.stdout == "", args
        assert USAGE.fullmatch(result.stderr) and words in result.stderr, result.stderr


def test_directories_are_searched_recursively(tmp_path, objects):
    nested = tmp_path / "pool" / "main" / "f"
    nested.mkdir(parents=True)
    build_deb(nested, "python3-untagged", files={f"{SHARED}/fast.so": objects["fast"]})
    (tmp_path / "pool" / "notes.txt").write_text(textwrap.dedent("not a deb\n"))
    findings = scan_json("--supported", "3.11", tmp_path / "pool")
    assert found(findings) == {("python3-untagged", f"{SHARED}/fast.so", "untagged-extension")}


# --- parallel, cached and sharded runs --------------------------------------------------------


def mixed_archive(directory, objects):
    """The real bookworm .debs (copied) and built ones that collide and clash with each other."""
    debs = fetch_debs(PACKAGES, DEB_CACHE_NAME)
    real = directory / "real"
    real.mkdir(parents=True)
    for deb in debs.values():
        (real / deb.name).write_bytes(deb.read_bytes())
    built = directory / "built"
    built.mkdir()
    build_deb(
        built,
        "python3-a",
        source="src-a",
        files={
            f"{SHARED}/common/data.py": b"A = 1\n",
            f"{SHARED}/foo.so": objects["foo"],
        },
    )
    build_deb(
        built,
        "python3-b",
        version="2.0",
        files={
            f"{SHARED}/common/data.py": b"B = 2\n",
            f"{SHARED}/foo{TAGGED}": objects["foo"],
            f"{SHARED}/libx.so": objects["library"],
        },
    )
    build_deb(built, "python3-old", files={f"{SHARED}/old/fast{OLD}": objects["fast"]})
    build_deb(built, "python3-c", files={f"{SHARED}/common/data.py": b"C = 3\n"})
    # numpy's module under a third file name: a clash with a real package.
    build_deb(
        built,
        "python3-fakenumpy",
        files={
            f"{SHARED}/numpy/core/_multiarray_umath.so": objects["fast"],
        },
    )
    (built / "broken.deb").write_bytes(b"!<arch>\n")
    return [real, built]


def test_jobs_give_the_output_of_one_job(tmp_path, objects):
    inputs = mixed_archive(tmp_path, objects)
    outputs = {}
    for jobs in ("1", "2", "5"):
        for mode in ("--json", "--rebuild-list", None):
            extra = [mode] if mode else []
            result = scan("--no-cache", "--stats", "--jobs", jobs, "--supported", "3.11", *extra, *inputs)
            assert result.returncode == 1, result.stderr
            outputs.setdefault(mode, set()).add(result.stdout)
            # The work was spread: one reading process with --jobs 1, more with more jobs.
            readers = stats(result, readers=True)[2]
            assert readers == 1 if jobs == "1" else readers >= 2, (jobs, result.stderr)
    assert all(len(texts) == 1 for texts in outputs.values())
    findings = json.loads(next(iter(outputs["--json"])))["findings"]
    codes = {f["code"] for f in findings}
    assert {"path-collision", "module-clash", "legacy-layout", "stale-tag", "unreadable-deb"} <= codes
    assert [f["deb"] for f in findings] == [
        f["deb"]
        for f in sorted(
            findings, key=lambda f: (f["package"], f["version"], f["path"], f["code"], f["detail"], f["deb"])
        )
    ]
    for bad in ("0", "-2"):
        result = scan("--jobs", bad, *inputs)
        assert result.returncode == 2 and "--jobs must be at least 1" in result.stderr


def test_cache_rereads_only_what_changed(tmp_path, objects, private_cache):
    inputs = mixed_archive(tmp_path, objects)
    total = len(list((tmp_path / "real").glob("*.deb"))) + len(list((tmp_path / "built").glob("*.deb")))
    uncached = scan("--no-cache", "--json", "--supported", "3.11", *inputs)
    assert not private_cache.exists()

    first = scan("--stats", "--json", "--supported", "3.11", *inputs)
    # The broken .deb is not kept: it is read again every time.
    assert stats(first) == (total, 0) and private_cache.exists()
    again = scan("--stats", "--json", "--supported", "3.11", "--jobs", "1", *inputs)
    assert stats(again) == (total, total - 1)
    assert first.stdout == again.stdout == uncached.stdout

    # One .deb rebuilt with other content: only it (and the broken one) is read again.
    changed = tmp_path / "built" / f"python3-c_1.0_{ARCH}.deb"
    changed.unlink()
    build_deb(
        tmp_path / "built",
        "python3-c",
        files={f"{SHARED}/common/data.py": b"C = 4\n", f"{SHARED}/fast.so": objects["fast"]},
    )
    rerun = scan("--stats", "--json", "--supported", "3.11", *inputs)
    assert stats(rerun) == (total, total - 2)
    assert rerun.stdout == scan("--no-cache", "--json", "--supported", "3.11", *inputs).stdout
    new = ("python3-c", f"{SHARED}/fast.so", "untagged-extension")
    assert new in found(json.loads(rerun.stdout)["findings"])

    # Other supported versions, another --max-member-bytes: nothing is reused.
    other = scan("--stats", "--json", "--supported", "3.9,3.11", *inputs)
    assert stats(other) == (total, 0)
    assert "stale-tag" not in {f["code"] for f in json.loads(other.stdout)["findings"]}
    assert stats(scan("--stats", "--max-member-bytes", "1000", "--supported", "3.11", *inputs)) == (total, 0)
    assert stats(scan("--stats", "--supported", "3.11", *inputs)) == (total, total - 1)

    # The same bytes under another name come from the cache, reported under their own name.
    copy = tmp_path / "copy" / "renamed.deb"
    copy.parent.mkdir()
    copy.write_bytes(changed.read_bytes())
    moved = scan("--stats", "--json", "--supported", "3.11", "--cache", private_cache, copy)
    assert stats(moved) == (1, 1)
    assert {f["deb"] for f in json.loads(moved.stdout)["findings"]} == {str(copy)}

    # --cache FILE and --no-cache.
    own = tmp_path / "own" / "c.sqlite3"
    assert stats(scan("--stats", "--cache", own, "--supported", "3.11", copy)) == (1, 0) and own.exists()
    assert stats(scan("--stats", "--cache", own, "--supported", "3.11", copy)) == (1, 1)
    assert stats(scan("--stats", "--no-cache", "--supported", "3.11", copy)) == (1, 0)


def test_cache_is_keyed_by_the_tool_version(tmp_path, objects, monkeypatch, capsys):
    deb = build_deb(tmp_path, "python3-untagged", files={f"{SHARED}/fast.so": objects["fast"]})
    cache = tmp_path / "cache.sqlite3"
    args = ["--stats", "--jobs", "1", "--cache", str(cache), "--supported", "3.11", str(deb)]
    assert scan_cli.main(args) == 1 and "1 .debs, 0 from the cache" in capsys.readouterr().err
    assert scan_cli.main(args) == 1 and "1 .debs, 1 from the cache" in capsys.readouterr().err
    monkeypatch.setattr(scan_cache, "tool_version", lambda: "0.0.0+other")
    assert scan_cli.main(args) == 1 and "1 .debs, 0 from the cache" in capsys.readouterr().err


@pytest.mark.parametrize("changed", ["rules/checks.py", "archive/judge.py"])
def test_tool_version_changes_with_the_sources(tmp_path, monkeypatch, changed):
    """A change to a rule of the library or of the scan is a new tool version: cached records go stale."""
    version = scan_cache.tool_version()
    assert version.startswith(__version__ + "+")
    real = Path(scan_cache.__file__).parent.parent
    library = tmp_path / "pyshared_tools"
    for source in real.rglob("*.py"):
        (library / source.relative_to(real)).parent.mkdir(parents=True, exist_ok=True)
        (library / source.relative_to(real)).write_bytes(source.read_bytes())
    (library / "rules" / "__pycache__").mkdir(exist_ok=True)
    (library / "rules" / "__pycache__" / "checks.cpython-311.pyc").write_bytes(b"not a source")
    monkeypatch.setattr(scan_cache, "__file__", str(library / "archive" / "cache.py"))
    scan_cache.tool_version.cache_clear()
    try:
        assert scan_cache.tool_version() == version
        scan_cache.tool_version.cache_clear()
        (library / changed).write_text((library / changed).read_text() + "\n# a changed rule\n")
        assert scan_cache.tool_version() != version
    finally:
        scan_cache.tool_version.cache_clear()


def test_shards_merged_equal_the_unsharded_run(tmp_path, objects):
    inputs = mixed_archive(tmp_path, objects)
    records = [tmp_path / f"shard{index}.jsonl" for index in (1, 2, 3)]
    for index, out in enumerate(records, 1):
        result = scan("--stats", "--shard", f"{index}/3", "--records", out, "--supported", "3.11", *inputs)
        assert result.returncode == 0 and result.stdout == "", result.stderr
    lines = [out.read_text().splitlines() for out in records]
    total = len(list((tmp_path / "real").glob("*.deb"))) + len(list((tmp_path / "built").glob("*.deb")))
    assert sum(len(shard) - 1 for shard in lines) == total and all(len(shard) > 2 for shard in lines)
    header = json.loads(lines[1][0])
    assert header["kind"] == "pyshared-scan-records" and header["shard"] == [2, 3] and header["debs"] == total
    # A record holds no cross-package finding.
    record_codes = {
        finding[4] for shard in lines for line in shard[1:] for finding in json.loads(line)["findings"]
    }
    assert record_codes.isdisjoint({"path-collision", "module-clash"})
    for mode in ("--json", "--rebuild-list", None):
        extra = [mode] if mode else []
        whole = scan("--no-cache", "--supported", "3.11", *extra, *inputs)
        merged = scan("merge", *extra, *reversed(records))
        assert merged.returncode == whole.returncode == 1, merged.stderr
        assert merged.stdout == whole.stdout, mode
    assert {"path-collision", "module-clash"} <= {
        f["code"] for f in json.loads(scan("merge", "--json", *records).stdout)["findings"]
    }

    # An unsharded --records run merges alone.
    single = tmp_path / "all.jsonl"
    assert scan("--records", single, "--supported", "3.11", *inputs).returncode == 0
    assert scan("merge", "--json", single).stdout == scan("merge", "--json", *records).stdout

    # A missing, repeated, truncated or foreign shard is a usage error, never a short result.
    truncated = tmp_path / "truncated.jsonl"
    truncated.write_text("\n".join(lines[2][:-1]) + "\n")
    other = tmp_path / "other.jsonl"
    assert scan("--shard", "1/3", "--records", other, "--supported", "3.9", *inputs).returncode == 0
    for files, words in (
        ((records[0], records[1]), "shard(s) 3/3 missing"),
        ((records[0], records[1], records[1], records[2]), "shard(s) 2/3 given twice"),
        ((records[0], records[1], truncated), "records where shard 3/3"),
        ((other, records[1], records[2]), "supported"),
        ((records[0], single), "mixed with shards"),
        ((inputs[1] / "broken.deb",), "cannot read the records"),
    ):
        result = scan("merge", *files)
        assert result.returncode == 2 and result.stdout == "", files
        assert USAGE.fullmatch(result.stderr) and words in result.stderr, result.stderr
    for args, words in (
        (("--shard", "1/3", *inputs), "--shard needs --records"),
        (("--shard", "4/3", "--records", other, *inputs), "is not I/N"),
        (("--shard", "0/3", "--records", other, *inputs), "is not I/N"),
    ):
        result = scan(*args)
        assert result.returncode == 2 and USAGE.fullmatch(result.stderr) and words in result.stderr, args
