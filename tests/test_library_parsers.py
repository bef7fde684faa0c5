"""The parsers the project took from python-debian or shares with itself: a dpkg status
file (Deb822.iter_paragraphs), relation fields (PkgRelation.parse_relations), Debian
versions (debian_support.Version) and pyshared-scan's --supported (pyversions)."""

import subprocess
import sys

import pytest
from conftest import CHECKOUT

from pyshared_tools.archive import cli, model
from pyshared_tools.errors import UsageError
from pyshared_tools.outputs import relations


def test_the_status_file_is_read_as_deb822(tmp_path):
    status = tmp_path / "status"
    status.write_text(
        "Package: one\nStatus: install ok installed\nDescription: x\n Package: fake\n Version: 9\n"
        "Version: 1.0-1\n\n"
        "package: two\nversion: 2:3.4\n\n"  # field names are case-insensitive
        "Package: three\n\n"
    )
    assert relations._installed_versions(str(status)) == {"one": "1.0-1", "two": "2:3.4"}


@pytest.mark.parametrize("version", ["1.0", "1:2.3-4", "1.0~rc1+dfsg-2.1", "2:1.0:3-1"])
def test_a_debian_version_is_accepted(version):
    relations._check_version(version, "demo")


@pytest.mark.parametrize(
    "version", ["", "1.0\n", "1.0\nPackage: evil", "1.0, evil", "1.0 ", "abc", "1:", "a:1.0"]
)
def test_a_version_that_is_not_debian_s_is_refused(version):
    with pytest.raises(UsageError, match="not a valid Debian version"):
        relations._check_version(version, "demo")


def test_relation_names_are_python_debian_s():
    text = "a (<< 1), b | c:any [amd64] <!nocheck>, d(>=2)"
    assert model.relation_names(text) == {"a", "b", "c", "d"}
    assert model.relation_names("") == frozenset()
    assert model.relation_names(" , ") == frozenset()


def test_an_unparsable_relation_writes_nothing_on_stderr():
    code = "from pyshared_tools.archive import model; print(sorted(model.relation_names('a, b (<< ,')))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=CHECKOUT, capture_output=True, text=True, check=True
    )
    assert result.stderr == ""
    assert "a" in result.stdout


def test_supported_reads_python3_versions():
    assert cli.supported_versions(" 3.12, 3.11,3.11") == [(3, 11), (3, 12)]


@pytest.mark.parametrize("text", ["", "3.11,", "2.7", "3", "3.x", "3.-1", "3.1_1", "3. 11", "python3.11"])
def test_supported_refuses_what_is_not_a_list_of_python3_versions(text):
    with pytest.raises(UsageError, match="is not a list of Python 3 versions"):
        cli.supported_versions(text)
