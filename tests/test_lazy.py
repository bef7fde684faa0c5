"""The deferred import of python-debian: cheaper, and nothing it needs is lost."""

import json
import os
import subprocess
from pathlib import Path

from conftest import HOST
from helpers.importtime import plain_run_imports

REPO_ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("chardet", "email.utils", "socket", "subprocess", "datetime", "debian.changelog")

CONTROL = """\
Source: demo
Maintainer: Zoë Maintainer <zoe@example.org>
Build-Depends: debhelper-compat (= 13),
 dh-sequence-pyshared,
# a comment line inside a field
 python3-dev
X-Python3-Version: >= 3.9

Package: python3-demo
Architecture: any
Description: demo
 long text
 .
 more
"""


def run_python(script):
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    result = subprocess.run(
        ["/usr/bin/python3", "-c", script], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def parse(import_line):
    return run_python(
        "import json, sys\n"
        f"{import_line}\n"
        f"text = {CONTROL!r}\n"
        "paragraphs = [dict(p) for p in deb822.Deb822.iter_paragraphs(text.splitlines(True))]\n"
        f"print(json.dumps({{'loaded': [m for m in {HEAVY!r} if m in sys.modules],\n"
        "                   'apt_pkg': 'apt_pkg' in sys.modules, 'paragraphs': paragraphs}))\n"
    )


def test_deferred_import_parses_as_the_plain_import_and_loads_none_of_the_heavy_modules():
    plain = parse("import debian.deb822 as deb822")
    lean = parse("from pyshared_tools.lazy import deb822 as lean; deb822 = lean()")
    assert plain["loaded"] == list(HEAVY)
    assert lean["loaded"] == []
    assert not lean["apt_pkg"]
    assert lean["paragraphs"] == plain["paragraphs"]
    assert lean["paragraphs"][0]["Build-Depends"].split() == [
        "debhelper-compat",
        "(=",
        "13),",
        "dh-sequence-pyshared,",
        "python3-dev",
    ]


def test_deferred_modules_work_when_python_debian_uses_them_and_real_imports_stay_real():
    results = run_python(
        "import json, sys, types\n"
        "from pyshared_tools.lazy import deb822 as lean\n"
        "deb822 = lean()\n"
        "stubs = {name: type(getattr(deb822, name)).__name__\n"
        "         for name in ('chardet', 'subprocess', 'datetime')}\n"
        "pipe = deb822.subprocess.PIPE\n"
        "detected = deb822.chardet.detect('Zoë'.encode('latin-1'))['encoding'] is not None\n"
        "changelog = deb822.debian.changelog.Changelog('demo (1.0-1) unstable; urgency=medium\\n\\n"
        "  * x\\n\\n -- A B <a@b.c>  Sat, 21 Nov 2026 10:00:00 +0000\\n')\n"
        "import chardet, debian.changelog, apt_pkg\n"
        "print(json.dumps({'stubs': stubs,\n"
        "                  'pipe': pipe, 'now': deb822.datetime.datetime.now().year > 2000,\n"
        "                  'detected': detected, 'version': str(changelog.version),\n"
        "                  'real': [type(m).__name__ for m in (chardet, debian.changelog, apt_pkg)],\n"
        "                  'package_attribute_real': debian.changelog is sys.modules['debian.changelog']}))\n"
    )
    assert results["stubs"] == {"chardet": "_Deferred", "subprocess": "_Deferred", "datetime": "_Deferred"}
    assert results["pipe"] == -1
    assert results["now"]
    assert results["detected"]
    assert results["version"] == "1.0-1"
    assert results["real"] == ["module", "module", "module"]
    assert results["package_attribute_real"]


TRAILER = "\n  * x.\n\n -- A B <a@b.org>  Mon, 01 Jan 2024 00:00:00 +0000\n"
CHANGELOG_HEADS = (
    "demo (1:2.0~rc1-3+deb12u1) unstable; urgency=medium\n" + TRAILER,
    "\n\ndemo (2.0) bookworm-security; urgency=high\n" + TRAILER,
    "demo (1.0-1) unstable; urgency=low\n" + TRAILER + "\ndemo (0.9-1) unstable; urgency=low\n" + TRAILER,
    "not a changelog\n",
    "demo (1:) unstable; urgency=low\n",
)


def read_versions(import_line):
    return run_python(
        "import json, sys\n"
        f"{import_line}\n"
        "versions = []\n"
        f"for head in {CHANGELOG_HEADS!r}:\n"
        "    try:\n"
        "        versions.append(str(changelog.Changelog(head, max_blocks=1, strict=True).version))\n"
        "    except Exception as error:\n"
        "        versions.append(type(error).__name__)\n"
        "print(json.dumps({'loaded': [m for m in ('email.utils', 'socket', 'logging', 'apt_pkg')\n"
        "                             if m in sys.modules],\n"
        "                  'versions': versions}))\n"
    )


def test_the_changelog_is_read_as_the_plain_import_reads_it_without_email_socket_logging_apt():
    plain = read_versions("import debian.changelog as changelog")
    lean = read_versions(
        "from pyshared_tools.outputs import collect; changelog = collect._changelog_module()"
    )
    assert plain["loaded"][:3] == ["email.utils", "socket", "logging"]
    assert lean["loaded"] == []
    assert lean["versions"] == plain["versions"]
    assert lean["versions"][:3] == ["1:2.0~rc1-3+deb12u1", "2.0", "1.0-1"]


def relation_warning(import_line):
    """What deb822 writes to stderr for a relation it cannot parse, and whether
    logging was imported before and after that warning."""
    script = (
        "import json, sys\n"
        f"{import_line}\n"
        "before = 'logging' in sys.modules\n"
        "parsed = deb822.PkgRelation.parse_relations('python3 (>> !!)')\n"
        "print(json.dumps({'before': before, 'after': type(sys.modules.get('logging')).__name__,\n"
        "                  'parsed': parsed}))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    result = subprocess.run(
        ["/usr/bin/python3", "-c", script], capture_output=True, text=True, env=env, timeout=60, check=True
    )
    return json.loads(result.stdout), result.stderr


def test_logging_is_imported_only_when_deb822_warns_and_the_warning_is_the_same():
    (plain, plain_stderr) = relation_warning("import debian.deb822 as deb822")
    (lean, lean_stderr) = relation_warning("from pyshared_tools.lazy import deb822 as lean; deb822 = lean()")
    assert plain["before"] and not lean["before"]
    assert lean["after"] == plain["after"] == "module"
    assert lean["parsed"] == plain["parsed"]
    assert "cannot parse package relationship" in plain_stderr
    assert lean_stderr == plain_stderr


def test_a_plain_run_imports_neither_logging_nor_debian_support(make_source):
    imported, src = plain_run_imports(make_source)
    # deb822 itself comes through importlib.import_module, which -X importtime
    # does not list; the modules it imports are listed.
    assert "debian._util" in imported
    assert not {"logging", "debian.debian_support"} & imported
    assert "python3-demo" in (src.root / "debian" / "control").read_text()


def test_deb822_versions_still_come_from_debian_support():
    results = run_python(
        "import json, sys\n"
        "from pyshared_tools.lazy import deb822 as lean\n"
        "deb822 = lean()\n"
        "before = 'debian.debian_support' in sys.modules\n"
        "version = deb822.Packages({'Package': 'x', 'Version': '1:2.0~rc1-1'}).get_version()\n"
        "import debian.debian_support\n"
        "print(json.dumps({'before': before, 'version': str(version), 'epoch': version.epoch,\n"
        "                  'newer': version > debian.debian_support.Version('1:1.9'),\n"
        "                  'type': type(version).__module__,\n"
        "                  'real': type(sys.modules['debian.debian_support']).__name__}))\n"
    )
    assert results == {
        "before": False,
        "version": "1:2.0~rc1-1",
        "epoch": "1",
        "newer": True,
        "type": "debian.debian_support",
        "real": "module",
    }


UNUSED_ON_A_PLAIN_RUN = {
    "debhelper.buildenv": ("LINUX_ARCH_ALIAS",),
    "debhelper.control": ("BUILD_PROFILE_FORMULA", "BUILD_PROFILE_GROUP", "COMPAT_BUILD_DEPENDS"),
    "engine.placement": ("_METADATA_DIR", "_PYSUPPORT_FIELD", "_PYCENTRAL_FIELD", "_VERSION_NUMBER"),
    "outputs.relations": ("VERSION_TAG", "CONTENTS_LINE", "CONTENTS_HEADER_END"),
    "outputs.scripts": ("_DH_PYTHON3_CALL",),
    "rules.tags": ("_SUFFIX_SHAPE", "_CPYTHON_TAG"),
}


def test_a_plain_run_compiles_no_pattern_it_does_not_use(make_source):
    """Patterns for build profiles, Contents lines, dh_python3's snippet calls,
    python-support metadata... are compiled when first used, not at import."""
    import importlib

    src = make_source()
    src.write("usr/lib/python3.11/site-packages/demo/__init__.py", "")
    status, compiled = compiled_in_a_run(src.root)
    texts = {
        f"{module}.{name}": getattr(importlib.import_module(f"pyshared_tools.{module}"), name).pattern
        for module, names in UNUSED_ON_A_PLAIN_RUN.items()
        for name in names
    }
    assert status == 0
    assert sorted(key for key, text in texts.items() if text in compiled) == []
    assert (src.root / "debian" / "python3-demo.postinst.debhelper").exists()


JINJA2_UNUSED = (
    "tempfile",
    "shutil",
    "fnmatch",
    "importlib.util",
    "linecache",
    "tokenize",
    "token",
    "ipaddress",
    "_hashlib",
    "hashlib",
)


def jinja2_facts(import_line):
    return run_python(
        "import json, sys\n"
        f"{import_line}\n"
        f"loaded = [m for m in {JINJA2_UNUSED!r} if m in sys.modules]\n"
        "key = jinja2.ModuleLoader.get_template_key('postinst-pyshared-farm')\n"
        "source = '{{ x }}-{% for i in y %}{{ i }}{% endfor %}'\n"
        "env = jinja2.Environment(loader=jinja2.DictLoader({'t': source}))\n"
        "text = env.get_template('t').render(x='a', y=[1, 2])\n"
        "cache_directory = jinja2.FileSystemBytecodeCache()._get_default_cache_dir()\n"
        "source_lines = jinja2.nodes.inspect.getsource(jinja2.utils.pass_context).splitlines()[0]\n"
        "import urllib.parse\n"
        "split = urllib.parse.urlsplit('http://[::1]:8000/x').hostname\n"
        "import hashlib\n"
        "print(json.dumps({'loaded': loaded, 'key': key, 'text': text, 'cache': cache_directory,\n"
        "                  'source': source_lines, 'host': split,\n"
        "                  'sha1': hashlib.sha1.__name__,\n"
        "                  'real': [type(sys.modules[m]).__name__\n"
        "                           for m in ('tempfile', 'fnmatch', 'linecache')]}))\n"
    )


def test_jinja2_is_imported_without_its_bytecode_cache_modules_or_openssl_and_renders_alike():
    plain = jinja2_facts("import jinja2")
    lean = jinja2_facts("from pyshared_tools.lazy import jinja2 as lean; jinja2 = lean()")
    assert set(plain["loaded"]) == set(JINJA2_UNUSED)
    assert lean["loaded"] == []
    # ModuleLoader names the compiled templates by this digest; the bytecode
    # cache (tempfile, fnmatch) still works when asked for.
    assert lean["key"] == plain["key"] == "tmpl_" + hashlib_sha1("postinst-pyshared-farm")
    assert lean["text"] == plain["text"] == "a-12"
    assert lean["cache"] == plain["cache"]
    assert lean["real"] == plain["real"] == ["module", "module", "module"]
    # inspect still reads source (linecache, tokenize), urllib.parse still checks an IPv6 host
    assert lean["source"] == plain["source"] == "def pass_context(f: F) -> F:"
    assert lean["host"] == plain["host"] == "::1"
    # a later import of hashlib gets OpenSSL's, as without the deferred import
    assert lean["sha1"] == plain["sha1"] == "openssl_sha1"


def hashlib_sha1(text):
    import hashlib

    return hashlib.sha1(text.encode()).hexdigest()


def test_a_farm_run_renders_with_jinja2_without_tempfile_shutil_or_fnmatch(make_source):
    src = make_source()
    src.write("usr/share/pyshared/demo/__init__.py", "")
    src.write("usr/share/pyshared/demo/core.py", "VALUE = 1\n")
    src.write("usr/share/python-support/python3-demo.public", "pyversions=3.11-\n")
    result = src.run(env={"PYTHONPROFILEIMPORTTIME": "1"})
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines()}
    assert "jinja2.environment" in imported
    assert not {"tempfile", "shutil", "fnmatch", "importlib.util"} & imported
    postinst = (src.root / "debian" / "python3-demo.postinst.debhelper").read_text()
    assert 'pyshared_farm_link "$pyshared_dir"/demo/core.py /usr/share/pyshared/demo/core.py' in postinst


def compiled_in_a_run(root):
    """The pattern texts compiled by a whole dh_pyshared run in `root` (its exit status first)."""
    script = (
        "import json, sys\n"
        "import re._compiler\n"
        "compiled, real = [], re._compiler.compile\n"
        "re._compiler.compile = lambda p, flags=0: compiled.append(p) or real(p, flags)\n"
        f"sys.path.insert(0, {str(REPO_ROOT)!r})\n"
        "from pyshared_tools import cli\n"
        "status = cli.main([])\n"
        "print(json.dumps([status, [p for p in compiled if isinstance(p, str)]]))\n"
    )
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DH_", "DEB_"))}
    environment.update(HOST)
    result = subprocess.run(
        ["/usr/bin/python3", "-c", script], cwd=root, env=environment, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_run_compiles_the_place_patterns_only_up_to_the_one_that_matches(make_source):
    """match_place tries the rules in order: an upstream install matches
    python3-versioned, and the rules after it, and the farm metadata patterns,
    are never compiled."""
    from pyshared_tools.rules import layouts

    src = make_source()
    src.write("usr/lib/python3.11/site-packages/demo/__init__.py", "")
    status, compiled = compiled_in_a_run(src.root)
    assert status == 0
    names = [rule.name for rule in layouts.RULES]
    later = [rule.pattern for rule in layouts.RULES[names.index("python3-versioned") + 1 :]]
    metadata = [text for text, _ in layouts.METADATA_PATTERNS]
    assert layouts.RULES[names.index("python3-versioned")].pattern in compiled
    assert [text for text in later + metadata if text in compiled] == []
    assert (src.root / "debian" / "python3-demo.postinst.debhelper").exists()


def test_a_farm_run_fills_no_snippet_in_and_compiles_no_placeholder_pattern(make_source):
    """Its snippets have no shape rendered in advance: Jinja2 renders them all."""
    from pyshared_tools.outputs import prerender

    src = make_source()
    src.write("usr/share/pyshared/demo/__init__.py", "")
    src.write("usr/share/python-support/python3-demo.public", "pyversions=3.11-\n")
    status, compiled = compiled_in_a_run(src.root)
    assert status == 0
    assert [p for p in (prerender._PLACEHOLDER.pattern, prerender._QUOTED.pattern) if p in compiled] == []
    assert "pyshared_farm_link" in (src.root / "debian" / "python3-demo.postinst.debhelper").read_text()
