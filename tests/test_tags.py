"""pyshared_tools.rules.tags against literal tables and against real interpreters.

The real interpreters are bookworm's /usr/bin/python3.11 and bullseye's
python3.9 and python2.7 unpacked from .debs (tests/helpers/interpreters.py).
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.interpreters import (
    FetchError,
    archive_uri,
    bookworm_python311,
    bullseye_python27,
    bullseye_python39,
)
from hypothesis import given
from hypothesis import strategies as st

from pyshared_tools.errors import ExternalToolError, TagError
from pyshared_tools.rules.tags import (
    ModuleFileName,
    SuffixResolver,
    Tag,
    check_stable_abi_tag,
    parse_tag,
    qualified_stable_abi_name,
    query_interpreters,
    split_module_filename,
    stable_abi_since,
    table_suffixes,
)

AMD64 = "x86_64-linux-gnu"
ARM64 = "aarch64-linux-gnu"

# Verified on real Debian interpreters (docs: legacy-layouts.md section 4.3).
VERIFIED_SUFFIXES = {
    (2, 7): [".{m}.so", ".so", "module.so"],
    (3, 9): [".cpython-39-{m}.so", ".abi3.so", ".so"],
    (3, 11): [".cpython-311-{m}.so", ".abi3.so", ".so"],
    (3, 13): [".cpython-313-{m}.so", ".abi3.so", ".abi3-{m}.so", ".so"],
    (3, 14): [".cpython-314-{m}.so", ".abi3.so", ".abi3-{m}.so", ".so"],
    (3, 15): [".cpython-315-{m}.so", ".abi3-{m}.so", ".abi3.so", ".abi3t-{m}.so", ".abi3t.so", ".so"],
}

REAL_FACTS_SCRIPT = """\
import json, sysconfig
try:
    from importlib.machinery import EXTENSION_SUFFIXES as suffixes
except ImportError:
    import imp
    suffixes = [s for s, _mode, kind in imp.get_suffixes() if kind == imp.C_EXTENSION]
print(json.dumps({"suffixes": list(suffixes), "soabi": sysconfig.get_config_var("SOABI")}))
"""

REAL_INTERPRETERS = {
    "3.11": bookworm_python311,
    "3.9": bullseye_python39,
    "2.7": bullseye_python27,
}


def host_multiarch():
    command = ["dpkg-architecture", "-qDEB_HOST_MULTIARCH"]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip()


def verified_suffixes(version, multiarch):
    return [template.format(m=multiarch) for template in VERIFIED_SUFFIXES[version]]


def forbid_spawning(version):
    raise AssertionError(f"an interpreter for {version} was about to be spawned")


def refuse_multiarch_lookup():
    raise AssertionError("the host multiarch was looked up")


@pytest.fixture(scope="session")
def host():
    return host_multiarch()


@pytest.fixture(scope="session", params=sorted(REAL_INTERPRETERS))
def real_interpreter(request):
    return REAL_INTERPRETERS[request.param]()


@pytest.fixture(scope="session")
def real_facts(real_interpreter):
    return json.loads(real_interpreter.run(["-S", "-c", REAL_FACTS_SCRIPT]).stdout)


@pytest.fixture(scope="session")
def variant_modules(real_interpreter, host, tmp_path_factory):
    """One compiled module 'foo' per suffix the table lists; its `variant` names that suffix."""
    build_dir = tmp_path_factory.mktemp(f"build-{real_interpreter.version}")
    return {
        suffix: real_interpreter.build_extension("foo", build_dir / f"{index}.so", suffix)
        for index, suffix in enumerate(table_suffixes(real_interpreter.version, host))
    }


def import_foo(interpreter, directory):
    """The `variant` of the module foo that `interpreter` imports from `directory`, or None."""
    script = "import foo; print(foo.variant)"
    completed = interpreter.run(["-S", "-c", script], cwd=directory, check=False)
    if completed.returncode != 0:
        assert "ImportError" in completed.stderr or "ModuleNotFound" in completed.stderr
        return None
    return completed.stdout.strip()


# --- parse_tag / Tag --------------------------------------------------------

TAG_TABLE = [
    ("cpython-32", Tag("cpython", (3, 2), "", None)),
    ("cpython-32mu", Tag("cpython", (3, 2), "mu", None)),
    ("cpython-32dmu", Tag("cpython", (3, 2), "dmu", None)),
    ("cpython-33m-x86_64-linux-gnu", Tag("cpython", (3, 3), "m", AMD64)),
    ("cpython-34m-aarch64-linux-gnu", Tag("cpython", (3, 4), "m", ARM64)),
    ("cpython-34dm-x86_64-linux-gnu", Tag("cpython", (3, 4), "dm", AMD64)),
    ("cpython-35m-x86_64-linux-gnu", Tag("cpython", (3, 5), "m", AMD64)),
    ("cpython-36m-i386-linux-gnu", Tag("cpython", (3, 6), "m", "i386-linux-gnu")),
    (
        "cpython-37m-arm-linux-gnueabihf",
        Tag("cpython", (3, 7), "m", "arm-linux-gnueabihf"),
    ),
    ("cpython-38-x86_64-linux-gnu", Tag("cpython", (3, 8), "", AMD64)),
    ("cpython-39-x86_64-linux-gnu", Tag("cpython", (3, 9), "", AMD64)),
    (
        "cpython-310-powerpc64le-linux-gnu",
        Tag("cpython", (3, 10), "", "powerpc64le-linux-gnu"),
    ),
    ("cpython-311", Tag("cpython", (3, 11), "", None)),
    ("cpython-311d", Tag("cpython", (3, 11), "d", None)),
    ("cpython-311-x86_64-linux-gnu", Tag("cpython", (3, 11), "", AMD64)),
    ("cpython-311d-x86_64-linux-gnu", Tag("cpython", (3, 11), "d", AMD64)),
    ("cpython-311-i386-gnu", Tag("cpython", (3, 11), "", "i386-gnu")),
    ("cpython-312-s390x-linux-gnu", Tag("cpython", (3, 12), "", "s390x-linux-gnu")),
    ("cpython-313-x86_64-linux-gnu", Tag("cpython", (3, 13), "", AMD64)),
    ("cpython-313t-x86_64-linux-gnu", Tag("cpython", (3, 13), "t", AMD64)),
    ("abi3", Tag("abi3", None, "", None)),
    ("abi3-x86_64-linux-gnu", Tag("abi3", None, "", AMD64)),
    ("abi3t", Tag("abi3", None, "t", None)),
    ("abi3t-x86_64-linux-gnu", Tag("abi3", None, "t", AMD64)),
    ("abi3t-aarch64-linux-gnu", Tag("abi3", None, "t", ARM64)),
]


@pytest.mark.parametrize(("text", "tag"), TAG_TABLE, ids=[text for text, _ in TAG_TABLE])
def test_parse_tag_and_render(text, tag):
    assert parse_tag(text) == tag
    assert str(tag) == text
    assert tag.suffix == f".{text}.so"


PARSE_ERRORS = [
    (".cpython-311-x86_64-linux-gnu.so", "write --tag cpython-311-x86_64-linux-gnu"),
    ("cpython-311-x86_64-linux-gnu.so", "write --tag cpython-311-x86_64-linux-gnu"),
    (".abi3.so", "write --tag abi3"),
    ("abi3.so", "write --tag abi3"),
    (".cpython-32mu", "write --tag cpython-32mu"),
    ("cpython-27", "CPython 2 never had ABI tags"),
    ("cpython-26mu", "CPython 2 never had ABI tags"),
    ("cpython-31", "start with Python 3.2"),
    ("cpython-30", "start with Python 3.2"),
    ("cpython-3", "no CPython 3 version"),
    ("cpython-303", "no CPython 3 version"),
    ("cpython-411", "no CPython 3 version"),
    ("cpython-", "is not an ABI tag"),
    ("cpython-311x", "is not an ABI tag"),
    ("cpython-311mdu", "is not an ABI tag"),
    ("cpython-311-", "is not an ABI tag"),
    ("cpython-311-X86_64-Linux-GNU", "is not an ABI tag"),
    ("CPYTHON-311", "is not an ABI tag"),
    ("cpython311", "is not an ABI tag"),
    ("pypy39-pp73", "is not an ABI tag"),
    ("x86_64-linux-gnu", "is not an ABI tag"),
    ("abi4", "is not an ABI tag"),
    ("abi3tt", "is not an ABI tag"),
    ("abi3d", "is not an ABI tag"),
    (".abi3t.so", "write --tag abi3t"),
    ("", "is not an ABI tag"),
]


@pytest.mark.parametrize(("text", "message"), PARSE_ERRORS, ids=[t or "empty" for t, _ in PARSE_ERRORS])
def test_parse_tag_refuses(text, message):
    with pytest.raises(TagError) as caught:
        parse_tag(text)
    assert message in str(caught.value)
    assert str(caught.value).startswith(f"--tag {text} ")


MULTIARCHS = [
    AMD64,
    ARM64,
    "i386-linux-gnu",
    "arm-linux-gnueabihf",
    "x86_64-linux-gnux32",
    "i386-gnu",
]


@given(
    minor=st.integers(min_value=2, max_value=40),
    flags=st.sampled_from(["", "d", "m", "dm", "mu", "dmu", "t", "td"]),
    multiarch=st.sampled_from([None, *MULTIARCHS]),
)
def test_cpython_tags_round_trip_through_text_and_file_names(minor, flags, multiarch):
    tag = Tag("cpython", (3, minor), flags, multiarch)
    assert parse_tag(str(tag)) == tag
    assert split_module_filename(f"_speedups{tag.suffix}") == ModuleFileName(
        "_speedups", str(tag), tag.suffix
    )


# --- split_module_filename --------------------------------------------------

FILE_NAMES = [
    ("foo.cpython-311-x86_64-linux-gnu.so", "foo", "cpython-311-x86_64-linux-gnu"),
    ("foo.abi3.so", "foo", "abi3"),
    ("foo.abi3-x86_64-linux-gnu.so", "foo", "abi3-x86_64-linux-gnu"),
    ("foo.so", "foo", None),
    ("foo.x86_64-linux-gnu.so", "foo", "x86_64-linux-gnu"),
    ("foo.cpython-32mu.so", "foo", "cpython-32mu"),
    (
        "_speedups.cpython-34m-aarch64-linux-gnu.so",
        "_speedups",
        "cpython-34m-aarch64-linux-gnu",
    ),
    ("foomodule.so", "foomodule", None),
    ("usr/lib/python3/dist-packages/pkg/foo.abi3.so", "foo", "abi3"),
]


@pytest.mark.parametrize(("name", "stem", "tag_text"), FILE_NAMES, ids=[n for n, _, _ in FILE_NAMES])
def test_split_module_filename(name, stem, tag_text):
    split = split_module_filename(name)
    assert (split.stem, split.tag_text) == (stem, tag_text)
    assert name.endswith(split.stem + split.suffix)
    assert split.suffix == (f".{tag_text}.so" if tag_text else ".so")


@pytest.mark.parametrize(
    "name",
    [
        "libfoo.so.1",
        "foo.py",
        "foo.so.1",
        "foo",
        ".so",
        "foo..so",
        "1foo.so",
        "foo-bar.so",
        "foo.a.b.so",
        "foo.so/",
    ],
)
def test_split_module_filename_refuses_non_module_names(name):
    assert split_module_filename(name) is None


# --- table_suffixes ---------------------------------------------------------

TABLE = [
    ((2, 7), AMD64, [".x86_64-linux-gnu.so", ".so", "module.so"]),
    ((3, 2), AMD64, [".cpython-32mu.so", ".abi3.so", ".so"]),
    ((3, 3), AMD64, [".cpython-33m-x86_64-linux-gnu.so", ".abi3.so", ".so"]),
    ((3, 4), ARM64, [".cpython-34m-aarch64-linux-gnu.so", ".abi3.so", ".so"]),
    ((3, 5), AMD64, [".cpython-35m-x86_64-linux-gnu.so", ".abi3.so", ".so"]),
    ((3, 6), AMD64, [".cpython-36m-x86_64-linux-gnu.so", ".abi3.so", ".so"]),
    ((3, 7), AMD64, [".cpython-37m-x86_64-linux-gnu.so", ".abi3.so", ".so"]),
    ((3, 8), AMD64, [".cpython-38-x86_64-linux-gnu.so", ".abi3.so", ".so"]),
    ((3, 9), AMD64, [".cpython-39-x86_64-linux-gnu.so", ".abi3.so", ".so"]),
    ((3, 10), AMD64, [".cpython-310-x86_64-linux-gnu.so", ".abi3.so", ".so"]),
    ((3, 11), AMD64, [".cpython-311-x86_64-linux-gnu.so", ".abi3.so", ".so"]),
    ((3, 12), AMD64, [".cpython-312-x86_64-linux-gnu.so", ".abi3.so", ".so"]),
    (
        (3, 13),
        AMD64,
        [
            ".cpython-313-x86_64-linux-gnu.so",
            ".abi3.so",
            ".abi3-x86_64-linux-gnu.so",
            ".so",
        ],
    ),
    (
        (3, 14),
        ARM64,
        [
            ".cpython-314-aarch64-linux-gnu.so",
            ".abi3.so",
            ".abi3-aarch64-linux-gnu.so",
            ".so",
        ],
    ),
    (
        (3, 14),
        AMD64,
        [
            ".cpython-314-x86_64-linux-gnu.so",
            ".abi3.so",
            ".abi3-x86_64-linux-gnu.so",
            ".so",
        ],
    ),
    (
        (3, 15),
        AMD64,
        [
            ".cpython-315-x86_64-linux-gnu.so",
            ".abi3-x86_64-linux-gnu.so",
            ".abi3.so",
            ".abi3t-x86_64-linux-gnu.so",
            ".abi3t.so",
            ".so",
        ],
    ),
    (
        (3, 16),
        ARM64,
        [
            ".cpython-316-aarch64-linux-gnu.so",
            ".abi3-aarch64-linux-gnu.so",
            ".abi3.so",
            ".abi3t-aarch64-linux-gnu.so",
            ".abi3t.so",
            ".so",
        ],
    ),
]


@pytest.mark.parametrize(
    ("version", "multiarch", "suffixes"),
    TABLE,
    ids=[f"{v[0]}.{v[1]}" for v, _, _ in TABLE],
)
def test_table_suffixes(version, multiarch, suffixes):
    assert table_suffixes(version, multiarch) == suffixes


@pytest.mark.parametrize("version", sorted(VERIFIED_SUFFIXES))
def test_table_agrees_with_verified_facts(version):
    assert table_suffixes(version, AMD64) == verified_suffixes(version, AMD64)


@pytest.mark.parametrize("version", [(3, 0), (3, 1), (2, 6), (1, 6), (4, 0)])
def test_table_refuses_versions_without_tags(version):
    with pytest.raises(TagError):
        table_suffixes(version, AMD64)


# --- the real interpreters --------------------------------------------------


def test_unpacked_python39_runs():
    interpreter = bullseye_python39()
    assert interpreter.run(["-c", "import sys; print(sys.version)"]).stdout.startswith("3.9.")
    assert Path(interpreter.executable).is_relative_to(interpreter.env["PYTHONHOME"])


def test_table_matches_real_extension_suffixes(real_interpreter, real_facts, host):
    assert real_facts["suffixes"] == verified_suffixes(real_interpreter.version, host)
    assert table_suffixes(real_interpreter.version, host) == real_facts["suffixes"]


def test_real_soabi_parses_to_the_interpreter(real_interpreter, real_facts, host):
    soabi = real_facts["soabi"]
    if real_interpreter.version < (3,):
        assert soabi is None
        return
    tag = parse_tag(soabi)
    assert (tag.impl, tag.version, tag.multiarch, str(tag)) == (
        "cpython",
        real_interpreter.version,
        host,
        soabi,
    )
    assert tag.suffix == table_suffixes(real_interpreter.version, host)[0]


def test_real_lookup_order_is_the_table_order(real_interpreter, variant_modules, host, tmp_path):
    """With every listed file present, the interpreter imports them in table order."""
    for suffix, module in variant_modules.items():
        (tmp_path / f"foo{suffix}").write_bytes(module.read_bytes())
    for suffix in table_suffixes(real_interpreter.version, host):
        assert import_foo(real_interpreter, tmp_path) == suffix
        (tmp_path / f"foo{suffix}").unlink()
    assert import_foo(real_interpreter, tmp_path) is None


CANDIDATE_SUFFIXES = [
    ".cpython-311-{m}.so",
    ".cpython-311.so",
    ".cpython-311m-{m}.so",
    ".cpython-311d-{m}.so",
    ".cpython-311-x86_64-linux-musl.so",
    ".cpython-39-{m}.so",
    ".cpython-39.so",
    ".cpython-32.so",
    ".cpython-32mu.so",
    ".abi3.so",
    ".abi3-{m}.so",
    ".so",
    ".{m}.so",
    "module.so",
]


@pytest.mark.parametrize("candidate", CANDIDATE_SUFFIXES)
def test_real_import_accepts_exactly_the_table(real_interpreter, variant_modules, host, candidate, tmp_path):
    suffix = candidate.format(m=host)
    any_module = next(iter(variant_modules.values()))
    (tmp_path / f"foo{suffix}").write_bytes(any_module.read_bytes())
    imported = import_foo(real_interpreter, tmp_path) is not None
    assert imported == (suffix in table_suffixes(real_interpreter.version, host))


def test_resolver_suffix_is_imported_by_the_real_interpreter(
    real_interpreter, variant_modules, host, tmp_path
):
    resolver = SuffixResolver([], lambda: host, interpreter_path=lambda version: real_interpreter.executable)
    suffix = resolver.suffix_for(real_interpreter.version)
    any_module = next(iter(variant_modules.values()))
    (tmp_path / f"foo{suffix}").write_bytes(any_module.read_bytes())
    assert import_foo(real_interpreter, tmp_path) is not None


def test_archive_uri_skips_security_and_disabled_stanzas(tmp_path):
    (tmp_path / "a.sources").write_text(
        "Types: deb\nURIs: http://security.example/debian-security\nSuites: bookworm-security\n\n"
        "Enabled: no\nTypes: deb\nURIs: http://disabled.example/debian\nSuites: bookworm\n"
    )
    (tmp_path / "b.sources").write_text(
        "# a comment\nTypes: deb-src deb\nURIs: http://main.example/debian\n  http://other.example/debian\n"
        "Suites: bookworm bookworm-updates\nComponents: main\n"
    )
    assert archive_uri(tmp_path, tmp_path / "missing.list") == "http://main.example/debian"


def test_archive_uri_reads_one_line_sources(tmp_path):
    sources_list = tmp_path / "sources.list"
    sources_list.write_text(
        "deb http://security.example/debian-security bookworm-security main\n"
        "deb [arch=amd64 signed-by=/k.gpg] http://main.example/debian bookworm main # note\n"
    )
    assert archive_uri(tmp_path, sources_list) == "http://main.example/debian"
    sources_list.write_text("deb http://security.example/debian-security bookworm-security main\n")
    with pytest.raises(FetchError):
        archive_uri(tmp_path, sources_list)


# --- query_interpreters -----------------------------------------------------


def test_query_real_python311(host):
    assert query_interpreters([(3, 11)]) == {(3, 11): verified_suffixes((3, 11), host)}


def test_query_unpacked_interpreters_and_skip_missing(host, tmp_path):
    paths = {
        (3, 9): bullseye_python39().executable,
        (2, 7): bullseye_python27().executable,
        (3, 5): str(tmp_path / "no-python3.5"),
    }
    answers = query_interpreters(list(paths), interpreter_path=paths.__getitem__)
    assert answers == {version: verified_suffixes(version, host) for version in [(3, 9), (2, 7)]}


def test_query_ignores_the_callers_python_environment(monkeypatch, host):
    monkeypatch.setenv("PYTHONHOME", "/nonexistent")
    monkeypatch.setenv("PYTHONPATH", "/nonexistent")
    assert query_interpreters([(3, 11)]) == {(3, 11): verified_suffixes((3, 11), host)}


def logging_wrapper(directory, real_executable, log):
    wrapper = directory / f"wrap-{Path(real_executable).name}"
    wrapper.write_text(f'#!/bin/sh\necho "$1 $2 $3" >> {log}\nexec {real_executable} "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


def test_query_spawns_each_interpreter_once_isolated(tmp_path, host):
    log = tmp_path / "spawns.log"
    paths = {
        (3, 11): logging_wrapper(tmp_path, "/usr/bin/python3.11", log),
        (2, 7): logging_wrapper(tmp_path, bullseye_python27().executable, log),
    }
    answers = query_interpreters(list(paths), interpreter_path=paths.__getitem__)
    assert set(answers) == set(paths)
    assert sorted(log.read_text().splitlines()) == ["-E -s -S", "-I -S -c"]


def test_query_refuses_an_interpreter_of_another_version():
    with pytest.raises(ExternalToolError, match=r"is Python 3\.11"):
        query_interpreters([(3, 9)], interpreter_path=lambda version: "/usr/bin/python3.11")


def test_query_reports_a_failing_interpreter(tmp_path):
    broken = tmp_path / "python3.11"
    broken.write_text("#!/bin/sh\necho broken >&2\nexit 3\n")
    broken.chmod(0o755)
    with pytest.raises(ExternalToolError, match="broken"):
        query_interpreters([(3, 11)], interpreter_path=lambda version: str(broken))


def test_importing_tags_does_not_import_sh():
    script = "import sys, pyshared_tools.rules.tags; print('sh' in sys.modules)"
    completed = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True)
    assert completed.stdout.strip() == "False"


# --- SuffixResolver ---------------------------------------------------------


@pytest.mark.parametrize(
    "tags",
    [
        ["cpython-311-x86_64-linux-gnu"],
        ["abi3"],
        ["abi3", "cpython-39-x86_64-linux-gnu"],
        ["cpython-32mu"],
    ],
)
def test_resolver_with_tags_never_spawns(tags):
    resolver = SuffixResolver(
        tags,
        lambda: AMD64,
        lambda: AMD64,
        versions=[(3, 9), (3, 11)],
        interpreter_path=forbid_spawning,
    )
    assert resolver.imported_suffixes((3, 11)) == [
        ".cpython-311-x86_64-linux-gnu.so",
        ".abi3.so",
        ".so",
    ]
    assert resolver.suffix_for((3, 13)) == ".cpython-313-x86_64-linux-gnu.so"


TAG_SUFFIXES = [
    (
        ["cpython-311-x86_64-linux-gnu"],
        (3, 11),
        ".cpython-311-x86_64-linux-gnu.so",
        [(3, 11)],
    ),
    (["cpython-32mu"], (3, 2), ".cpython-32mu.so", [(3, 2)]),
    (
        ["cpython-37m-x86_64-linux-gnu"],
        (3, 7),
        ".cpython-37m-x86_64-linux-gnu.so",
        [(3, 7)],
    ),
    (
        ["cpython-313-x86_64-linux-gnu", "abi3"],
        (3, 13),
        ".cpython-313-x86_64-linux-gnu.so",
        [(3, 13)],
    ),
    (
        ["cpython-39-x86_64-linux-gnu", "cpython-39-x86_64-linux-gnu"],
        (3, 9),
        ".cpython-39-x86_64-linux-gnu.so",
        [(3, 9)],
    ),
    (
        ["cpython-39-x86_64-linux-gnu", "cpython-311-x86_64-linux-gnu"],
        (3, 9),
        ".cpython-39-x86_64-linux-gnu.so",
        [(3, 9), (3, 11)],
    ),
    (
        [parse_tag("cpython-311-x86_64-linux-gnu")],
        (3, 11),
        ".cpython-311-x86_64-linux-gnu.so",
        [(3, 11)],
    ),
]


@pytest.mark.parametrize(("tags", "version", "suffix", "tagged"), TAG_SUFFIXES)
def test_resolver_accepts_tags_the_interpreter_imports(tags, version, suffix, tagged):
    resolver = SuffixResolver(tags, lambda: AMD64, interpreter_path=forbid_spawning)
    assert resolver.suffix_for(version) == suffix
    assert resolver.tagged_versions() == tagged
    assert resolver.abi3_requested == any(str(tag) == "abi3" for tag in tags)


CPYTHON_311_MESSAGE = (
    "--tag cpython-311 names no suffix Python 3.11 imports, it imports "
    ".cpython-311-x86_64-linux-gnu.so, .abi3.so, .so, write --tag cpython-311-x86_64-linux-gnu"
)
TAG_ERRORS = [
    (
        ["cpython-311"],
        CPYTHON_311_MESSAGE,
    ),
    (
        ["cpython-32"],
        "Python 3.2 imports, it imports .cpython-32mu.so, .abi3.so, .so, write --tag cpython-32mu",
    ),
    (["cpython-32mu-x86_64-linux-gnu"], "write --tag cpython-32mu"),
    (["cpython-311-aarch64-linux-gnu"], "write --tag cpython-311-x86_64-linux-gnu"),
    (["cpython-311d-x86_64-linux-gnu"], "write --tag cpython-311-x86_64-linux-gnu"),
    (["cpython-37-x86_64-linux-gnu"], "write --tag cpython-37m-x86_64-linux-gnu"),
    (["cpython-38m-x86_64-linux-gnu"], "write --tag cpython-38-x86_64-linux-gnu"),
    (["cpython-39-x86_64-linux-gnu", "cpython-39"], "both name Python 3.9"),
    (["abi3-x86_64-linux-gnu"], "only Python 3.13 and later import"),
    (["abi3-x86_64-linux-gnu"], "write --tag abi3, or drop --tag"),
    (["abi3t-x86_64-linux-gnu"], "only Python 3.15 and later import"),
    (["abi3t-x86_64-linux-gnu"], "write --tag abi3t, or drop --tag"),
    ([".abi3.so"], "write --tag abi3"),
    (["cpython-27"], "CPython 2 never had ABI tags"),
]


@pytest.mark.parametrize(("tags", "message"), TAG_ERRORS, ids=["+".join(tags) for tags, _ in TAG_ERRORS])
def test_resolver_refuses_tags_the_interpreter_does_not_import(tags, message):
    with pytest.raises(TagError) as caught:
        SuffixResolver(tags, lambda: AMD64, interpreter_path=forbid_spawning)
    assert message in str(caught.value)


@pytest.mark.parametrize("text", ["abi3", "abi3t"])
def test_resolver_names_the_stable_abi_tag_given(text):
    resolver = SuffixResolver(["cpython-315-x86_64-linux-gnu", text], lambda: AMD64)
    assert resolver.abi3_requested
    assert str(resolver.stable_abi_tag) == text
    assert SuffixResolver(["cpython-315-x86_64-linux-gnu"], lambda: AMD64).stable_abi_tag is None


STABLE_ABI_SINCE = [
    ("abi3", (3, 2)),
    ("abi3-x86_64-linux-gnu", (3, 13)),
    ("abi3-aarch64-linux-gnu", (3, 13)),
    ("abi3t", (3, 15)),
    ("abi3t-x86_64-linux-gnu", (3, 15)),
]


@pytest.mark.parametrize(("text", "since"), STABLE_ABI_SINCE)
def test_stable_abi_since_is_the_first_row_importing_it(text, since):
    tag = parse_tag(text)
    assert stable_abi_since(tag) == since
    multiarch = tag.multiarch or AMD64
    assert tag.suffix in table_suffixes(since, multiarch)
    if since > (3, 2):
        assert tag.suffix not in table_suffixes((since[0], since[1] - 1), multiarch)


@pytest.mark.parametrize(
    ("name", "qualified"),
    [
        ("foo.abi3.so", f"foo.abi3-{AMD64}.so"),
        ("foo.abi3t.so", f"foo.abi3t-{AMD64}.so"),
        (f"foo.abi3-{AMD64}.so", None),
        (f"foo.cpython-315-{AMD64}.so", None),
        ("foo.so", None),
        ("foo.py", None),
    ],
)
def test_qualified_stable_abi_name(name, qualified):
    assert qualified_stable_abi_name(name, AMD64) == qualified


def test_check_stable_abi_tag_refuses_a_version_that_does_not_import_it():
    def imported(version):
        return table_suffixes(version, AMD64)

    check_stable_abi_tag(parse_tag("abi3t"), [(3, 15), (3, 16)], imported)
    check_stable_abi_tag(parse_tag("abi3"), [(3, 11), (3, 14), (3, 15)], imported)
    with pytest.raises(TagError) as caught:
        check_stable_abi_tag(parse_tag("abi3t"), [(3, 14), (3, 15)], imported)
    assert str(caught.value) == (
        "--tag abi3t names no suffix Python 3.14 imports, it imports .cpython-314-x86_64-linux-gnu.so, "
        ".abi3.so, .abi3-x86_64-linux-gnu.so, .so, write --tag abi3, or build only for Python 3.15 "
        "and later (X-Python3-Version)"
    )


def test_resolver_looks_up_multiarch_only_when_needed():
    resolver = SuffixResolver(["abi3"], refuse_multiarch_lookup, refuse_multiarch_lookup)
    assert resolver.abi3_requested
    assert resolver.tagged_versions() == []
    assert resolver.version_of_tag("cpython-39-x86_64-linux-gnu") == (3, 9)
    SuffixResolver([], refuse_multiarch_lookup, refuse_multiarch_lookup)


@pytest.mark.parametrize(
    ("tag_text", "version"),
    [
        ("cpython-39-x86_64-linux-gnu", (3, 9)),
        ("cpython-311", (3, 11)),
        ("cpython-32mu", (3, 2)),
        ("abi3", None),
        ("abi3-x86_64-linux-gnu", None),
        ("x86_64-linux-gnu", (2, 7)),
    ],
)
def test_version_of_tag(tag_text, version):
    assert SuffixResolver([], lambda: AMD64).version_of_tag(tag_text) == version


@pytest.mark.parametrize("tag_text", ["aarch64-linux-gnu", "foo", "cpython-27"])
def test_version_of_tag_refuses(tag_text):
    with pytest.raises(TagError):
        SuffixResolver([], lambda: AMD64).version_of_tag(tag_text)


def fake_interpreter(directory, version, suffixes):
    answer = {
        "version": list(version),
        "EXTENSION_SUFFIXES": suffixes,
        "SOABI": None,
        "MULTIARCH": None,
        "EXT_SUFFIX": None,
    }
    script = directory / f"fake-python{version[0]}.{version[1]}"
    script.write_text(
        f"#!/bin/sh\necho spawned >> {directory / 'spawns.log'}\ncat <<'EOF'\n{json.dumps(answer)}\nEOF\n"
    )
    script.chmod(0o755)
    return str(script)


def test_resolver_uses_installed_interpreters_once_batched(tmp_path):
    paths = {
        (3, 11): fake_interpreter(tmp_path, (3, 11), [".cpython-311-x86_64-linux-gnu.so", ".so"]),
        (3, 9): fake_interpreter(tmp_path, (3, 9), [".cpython-39-custom.so", ".abi3.so", ".so"]),
        (3, 12): str(tmp_path / "not-installed"),
    }
    resolver = SuffixResolver(
        [],
        lambda: AMD64,
        lambda: AMD64,
        versions=list(paths),
        interpreter_path=paths.__getitem__,
    )
    assert resolver.imported_suffixes((3, 11)) == [
        ".cpython-311-x86_64-linux-gnu.so",
        ".so",
    ]
    spawns = (tmp_path / "spawns.log").read_text().splitlines()
    assert len(spawns) == 2
    assert resolver.suffix_for((3, 9)) == ".cpython-39-custom.so"
    assert resolver.imported_suffixes((3, 12)) == [
        ".cpython-312-x86_64-linux-gnu.so",
        ".abi3.so",
        ".so",
    ]
    assert resolver.suffix_for((3, 11)) == ".cpython-311-x86_64-linux-gnu.so"
    assert (tmp_path / "spawns.log").read_text().splitlines() == spawns


def test_resolver_cross_build_uses_the_table_with_the_host_multiarch():
    resolver = SuffixResolver(
        [],
        lambda: ARM64,
        lambda: AMD64,
        versions=[(3, 11)],
        interpreter_path=forbid_spawning,
    )
    assert resolver.suffix_for((3, 11)) == ".cpython-311-aarch64-linux-gnu.so"
    assert resolver.imported_suffixes((3, 13))[2] == ".abi3-aarch64-linux-gnu.so"


def test_resolver_without_query_uses_the_table():
    resolver = SuffixResolver([], lambda: AMD64, query=False, interpreter_path=forbid_spawning)
    assert resolver.suffix_for((3, 9)) == ".cpython-39-x86_64-linux-gnu.so"


def test_the_debug_build_table_is_the_real_python3_11_dbg(host):
    """python3.11-dbg (a test dependency) imports its 'd'-tagged name, then the release ones."""
    result = subprocess.run(
        ["/usr/bin/python3.11-dbg", "-S", "-c", REAL_FACTS_SCRIPT], check=True, capture_output=True, text=True
    )
    assert table_suffixes((3, 11), host, debug=True) == json.loads(result.stdout)["suffixes"]
    assert table_suffixes((3, 11), host, debug=True)[1:] == table_suffixes((3, 11), host)
