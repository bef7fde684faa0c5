"""ELF facts as small pure functions over a file's bytes (auditwheel style).

pyelftools costs ~50 ms to import and builds an object per symbol, which
takes ~100 ms on a large extension such as lxml's etree.  The facts asked of
every extension on every package build (which PyInit_ functions it exports,
its DT_NEEDED entries, its ELF class, byte order and machine, the Python
symbols it imports) are therefore read in one pass over the section table,
.dynsym and .dynamic by the small reader below, which the tests check against
pyelftools (tests/helpers/elfref.py) on every shared object of twenty archive
packages.  A byte search rules most files out first: a symbol name that is not
in the file cannot be exported by it.
"""

import errno
import os
import stat
import struct
from collections import namedtuple

from pyshared_tools.errors import TreeError

ELF_MAGIC = b"\x7fELF"

_INIT_PREFIX = "PyInit_"
_LEGACY_SUFFIX = "module"  # Python 2 era spelling: foomodule.so holds module foo

# The ELF header after e_ident, by e_ident[EI_CLASS]; byte order by e_ident[EI_DATA].
_HEADER_FORMATS = {1: "HHIIIIIHHHHHH", 2: "HHIQQQIHHHHHH"}
_BYTE_ORDERS = {1: "<", 2: ">"}
# Section header (sh_type, sh_offset, sh_size, sh_link, sh_entsize as indices)
# and symbol entry (st_name, st_info, st_shndx as indices), by EI_CLASS.
_SECTION_FORMATS = {1: ("IIIIIIIIII", 1, 4, 5, 6, 9), 2: ("IIQQQQIIQQ", 1, 4, 5, 6, 9)}
_SYMBOL_FORMATS = {1: ("IIIBBH", 0, 3, 5), 2: ("IBBHQQ", 0, 1, 3)}
# Dynamic section entry (d_tag, d_val), by EI_CLASS.
_DYNAMIC_FORMATS = {1: "iI", 2: "qQ"}
_SHT_STRTAB = 3
_SHT_DYNAMIC = 6
_SHT_DYNSYM = 11
_DT_NULL = 0
_DT_NEEDED = 1
_STB_WEAK = 2
_STB_GLOBAL_OR_WEAK = (1, _STB_WEAK)
_STT_FUNC = 2
# Names of the symbols an extension takes from the interpreter (libpython).
_PYTHON_SYMBOL_PREFIXES = (b"Py", b"_Py")


ElfFacts = namedtuple(
    "ElfFacts",
    (
        "elf_class",  # int: e_ident[EI_CLASS], 1 (32-bit) or 2 (64-bit)
        "byte_order",  # int: e_ident[EI_DATA], 1 (little-endian) or 2 (big-endian)
        "machine",  # int: e_machine
        "module",  # str | None: the module the init function of the file's stem initialises
        "init_functions",  # tuple[str, ...]: exported init functions (PyInit_*), sorted
        "needed",  # tuple[str, ...]: DT_NEEDED sonames, in file order
        "python_imports",  # tuple[str, ...]: undefined Py*/_Py* dynamic symbols, sorted
        # tuple[str, ...]: those of python_imports bound STB_WEAK, sorted: optional
        # references the dynamic linker leaves null when no loaded object defines them
        "weak_imports",
    ),
    defaults=((),),
)


def read_candidate(path: str | os.PathLike, where: str | None = None) -> bytes:
    """Return the bytes of a file the caller lstat'ed as regular; never follow a link."""
    where = where or os.fsdecode(path)
    try:
        # O_NONBLOCK: a FIFO swapped in since the caller's lstat must not hang us.
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _changed("symbolic link where a regular file was expected", where) from exc
        raise _unreadable(exc, where) from exc
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise _changed("not a regular file", where)
        with open(fd, "rb", closefd=False) as stream:
            return stream.read()
    except OSError as exc:
        raise _unreadable(exc, where) from exc
    finally:
        os.close(fd)


def is_elf(data: bytes) -> bool:
    return data[:4] == ELF_MAGIC


def extension_facts(data: bytes, stem: str, where: str | None = None) -> ElfFacts | None:
    """Everything the checks ask of a Python 3 extension named `stem`, in one
    pass over its tables; None for a file that is not ELF.

    A file without any PyInit_ name in its bytes exports no init function and
    is not parsed beyond its header: its `needed`, `python_imports` and
    `weak_imports` are empty.
    """
    if not is_elf(data):
        return None
    _check_tables_inside(data, where)
    elf_class, byte_order = data[4], data[5]
    machine = struct.unpack_from(_BYTE_ORDERS[byte_order] + "H", data, 18)[0]
    if _INIT_PREFIX.encode() not in data:
        return ElfFacts(elf_class, byte_order, machine, None, (), (), (), ())
    init_functions, needed, imports, weak = _read_dynamic_tables(data, where)
    names = {_INIT_PREFIX + name: name for name in _module_names(stem)}
    module = next((names[symbol] for symbol in names if symbol in init_functions), None)
    return ElfFacts(elf_class, byte_order, machine, module, init_functions, needed, imports, weak)


def needed_sonames(data: bytes, where: str | None = None) -> tuple[str, ...]:
    """The DT_NEEDED entries (sonames the object links to), in file order."""
    if not is_elf(data):
        return ()
    _check_tables_inside(data, where)
    return _read_dynamic_tables(data, where)[1]


def inspect_shared_object(path: str | os.PathLike, stem: str, where: str | None = None) -> ElfFacts | None:
    """extension_facts() of a file the caller lstat'ed as regular."""
    where = where or os.fsdecode(path)
    return extension_facts(read_candidate(path, where), stem, where)


def _module_names(stem):
    names = [stem]
    if stem.endswith(_LEGACY_SUFFIX):
        names.append(stem[: -len(_LEGACY_SUFFIX)])
    return [name for name in names if name and name.isascii()]


def _read_dynamic_tables(data, where):
    """(exported PyInit_* functions, DT_NEEDED sonames, undefined Py*/_Py* symbols,
    those of them bound weak) from .dynsym and .dynamic: what pyelftools would
    list, for these names, fast."""
    order, sections = _section_headers(data, where)
    type_at, offset_at, size_at, link_at, entsize_at = _SECTION_FORMATS[data[4]][1:]
    symbol_format, name_at, info_at, shndx_at = _SYMBOL_FORMATS[data[4]]
    symbol_struct = struct.Struct(order + symbol_format)
    dynamic_struct = struct.Struct(order + _DYNAMIC_FORMATS[data[4]])
    init_prefix = _INIT_PREFIX.encode()
    init_functions, needed, imports, weak = set(), [], set(), set()
    for section in sections:
        kind = section[type_at]
        if kind not in (_SHT_DYNSYM, _SHT_DYNAMIC):
            continue
        minimum_entry = symbol_struct.size if kind == _SHT_DYNSYM else dynamic_struct.size
        if section[link_at] >= len(sections) or section[entsize_at] < minimum_entry:
            raise _corrupt(where)
        strings = sections[section[link_at]]
        if strings[type_at] != _SHT_STRTAB:
            raise _corrupt(where)
        string_table = _slice_inside(data, strings[offset_at], strings[size_at], where)
        table = _slice_inside(data, section[offset_at], section[size_at], where)
        entsize = section[entsize_at]
        if kind == _SHT_DYNAMIC:
            for position in range(0, len(table) - dynamic_struct.size + 1, entsize):
                tag, value = dynamic_struct.unpack_from(table, position)
                if tag == _DT_NULL:
                    break
                if tag == _DT_NEEDED:
                    needed.append(_string_at(string_table, value, where))
            continue
        for position in range(0, len(table) - symbol_struct.size + 1, entsize):
            symbol = symbol_struct.unpack_from(table, position)
            offset, info = symbol[name_at], symbol[info_at]
            if symbol[shndx_at] == 0:
                if string_table.startswith(_PYTHON_SYMBOL_PREFIXES, offset):
                    name = _string_at(string_table, offset, where)
                    imports.add(name)
                    if info >> 4 == _STB_WEAK:
                        weak.add(name)
            elif (
                string_table.startswith(init_prefix, offset)
                and info >> 4 in _STB_GLOBAL_OR_WEAK
                and info & 0xF == _STT_FUNC
            ):
                init_functions.add(_string_at(string_table, offset, where))
    return tuple(sorted(init_functions)), tuple(needed), tuple(sorted(imports)), tuple(sorted(weak))


def _section_headers(data, where):
    """(struct byte-order prefix, every section header as a tuple); the caller
    has checked with _check_tables_inside() that the table lies in the file."""
    order = _BYTE_ORDERS[data[5]]
    header = struct.unpack_from(order + _HEADER_FORMATS[data[4]], data, 16)
    shoff, shentsize, shnum = header[5], header[10], header[11]
    section_struct = struct.Struct(order + _SECTION_FORMATS[data[4]][0])
    if shnum and shentsize < section_struct.size:
        raise _corrupt(where)
    return order, [section_struct.unpack_from(data, shoff + i * shentsize) for i in range(shnum)]


def _string_at(string_table, offset, where):
    end = string_table.find(b"\0", offset)
    if offset >= len(string_table) or end == -1:
        raise _corrupt(where)
    return string_table[offset:end].decode("utf-8", "surrogateescape")


def _slice_inside(data, offset, size, where):
    if offset + size > len(data):
        raise _corrupt(where)
    return data[offset : offset + size]


def _check_tables_inside(data, where):
    """Catch truncation cheaply: the header's program and section tables must fit in the file."""
    try:
        header_format = _BYTE_ORDERS[data[5]] + _HEADER_FORMATS[data[4]]
        fields = struct.unpack_from(header_format, data, 16)
    except (IndexError, KeyError, struct.error) as exc:
        raise _corrupt(where) from exc
    phoff, shoff, _, _, phentsize, phnum, shentsize, shnum, _ = fields[4:]
    if max(phoff + phentsize * phnum, shoff + shentsize * shnum) > len(data):
        raise _corrupt(where)


def _corrupt(where):
    return TreeError(
        "truncated or corrupt ELF file",
        where,
        "rebuild it or remove it from the package",
    )


def _changed(what, where):
    return TreeError(what, where, "do not change the package tree while dh_pyshared runs")


def _unreadable(exc, where):
    return TreeError(
        f"cannot read file ({exc.strerror})",
        where,
        "make it readable or remove it from the package",
    )
