"""Import a library without paying for the modules it imports but we never use.

python-debian's deb822 imports chardet, email.utils, socket, subprocess,
datetime and debian.changelog at module level, and tries apt_pkg, for
features that reading debian/control never touches: about 40 ms of its 60 ms
import, on every package build.  It also imports debian.debian_support only
to build Version objects, which reading debian/control never asks for, and
logging (with threading, traceback and string) only to ask logging.getLogger
for the logger it warns through.  While it is imported, those names are bound
to forwarding stubs that import the real module on first attribute access, so
nothing is lost if a later python-debian does use one (the logging stub's
getLogger returns a logger that imports logging when it is first used);
apt_pkg is reported missing, which python-debian handles by using its own
parser (the one use_apt_pkg=False selects anyway).  Afterwards sys.modules is
as it was, so a later ``import chardet`` anywhere gets the real module.
Jinja2 is imported the same way (jinja2()).
"""

import importlib
import sys
import types


def _real(name):
    """The module `name`, imported now if a stub (or nothing) stands in for it."""
    real = sys.modules.get(name)
    if real is None or isinstance(real, _Deferred):
        sys.modules.pop(name, None)
        real = importlib.import_module(name)
    return real


class _Deferred(types.ModuleType):
    """Stands in for a module; the first attribute looked up imports it."""

    def __getattr__(self, attribute):
        return getattr(_real(self.__name__), attribute)


class _DeferredLogger:
    """What the logging stub's getLogger(name) returns: the first attribute looked
    up imports logging and answers for logging.getLogger(name)."""

    def __init__(self, name):
        self._name = name

    def __getattr__(self, attribute):
        return getattr(_real("logging").getLogger(self._name), attribute)


class _DeferredLogging(_Deferred):
    """logging, whose getLogger (called at import, as deb822 does) defers too."""

    def getLogger(self, name=None):
        return _DeferredLogger(name)


def import_deferring(module_name, deferred=(), missing=(), transient=()):
    """import_module(module_name) with `deferred` stubbed and `missing` absent;
    a module of `transient` that this import loads (one that a missing module
    made smaller) is dropped from sys.modules afterwards, so that a later
    import of it loads it whole."""
    if module_name in sys.modules:
        return sys.modules[module_name]
    transient = [name for name in transient if name not in sys.modules]
    installed = {}
    for name in deferred:
        if name not in sys.modules:
            installed[name] = (_DeferredLogging if name == "logging" else _Deferred)(name)
    for name in missing:
        if name not in sys.modules:
            installed[name] = None
    for name, stub in installed.items():
        sys.modules[name] = stub
        parent_name, _, child = name.rpartition(".")
        if stub is not None and parent_name:
            # "import email.utils; email.utils.x" looks the stub up on the
            # package; a later real import of the submodule replaces it there.
            setattr(importlib.import_module(parent_name), child, stub)
    try:
        return importlib.import_module(module_name)
    finally:
        for name, stub in installed.items():
            if sys.modules.get(name) is stub:
                del sys.modules[name]
        for name in transient:
            sys.modules.pop(name, None)


def deb822():
    """python-debian's deb822 without what neither debian/control, a .deb's control file,
    a Packages index nor the dpkg status file needs; every caller parses with
    use_apt_pkg=False or from a string, so apt_pkg is reported missing."""
    return import_deferring(
        "debian.deb822",
        deferred=(
            "chardet",
            "email.utils",
            "socket",
            "subprocess",
            "datetime",
            "debian.changelog",
            "debian.debian_support",
            "logging",
        ),
        missing=("apt_pkg",),
    )


class pattern:
    """re.compile(text, flags), compiled when first used: for the module-level
    patterns that a plain run never uses (build profiles, Contents lines,
    dh_python3's snippet calls...), whose compilation at import every run
    would pay.  After the first use the compiled pattern's methods are
    attributes of this object, looked up as quickly as the pattern's own."""

    _METHODS = ("match", "fullmatch", "search", "findall", "finditer", "sub", "subn", "split")

    def __init__(self, text, flags=0):
        self._text = text
        self._flags = flags

    def __getattr__(self, name):
        compiled = self.__dict__.get("_compiled")
        if compiled is None:
            import re

            compiled = self._compiled = re.compile(self._text, self._flags)
            self.__dict__.update({method: getattr(compiled, method) for method in self._METHODS})
        return getattr(compiled, name)


def jinja2():
    """Jinja2 without what rendering our templates (compiled or from source)
    never needs: its bytecode cache's tempfile (with shutil, bz2, lzma) and
    fnmatch, PackageLoader's importlib.util, inspect's linecache, tokenize and
    token (for reading source code), urllib.parse's ipaddress (for bracketed
    hosts in URLs), and OpenSSL's _hashlib: about 6 ms of its import.  hashlib
    is then built from Python's own sha1, which gives ModuleLoader the same
    digest of a template name; it is dropped from sys.modules afterwards, so a
    later ``import hashlib`` gets OpenSSL's."""
    return import_deferring(
        "jinja2",
        deferred=("tempfile", "fnmatch", "importlib.util", "linecache", "tokenize", "token", "ipaddress"),
        missing=("_hashlib",),
        transient=("hashlib",),
    )
