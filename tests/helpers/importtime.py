"""What one dh_pyshared run of a plain Python 3 package imports, as -X importtime lists it."""


def plain_run_imports(make_source):
    """(the modules a run over a two-file upstream install imports, its source package)."""
    src = make_source()
    src.write("usr/lib/python3.11/site-packages/demo/__init__.py", "")
    src.write("usr/lib/python3.11/site-packages/demo/core.py", "VALUE = 1\n")
    result = src.run(env={"PYTHONPROFILEIMPORTTIME": "1"})
    return {line.split("|")[-1].strip() for line in result.stderr.splitlines()}, src
