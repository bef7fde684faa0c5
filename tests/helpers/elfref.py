"""The reference answers of pyelftools for what pyshared_tools/rules/elf.py reads by hand."""

import io

from elftools.elf.elffile import ELFFile
from elftools.elf.enums import ENUM_E_MACHINE


def reference_facts(data, stem):
    """What elf.extension_facts(data, stem) must return, computed with pyelftools."""
    elf = ELFFile(io.BytesIO(data))
    symbols = [s for section in elf.iter_sections("SHT_DYNSYM") for s in section.iter_symbols()]
    init_functions = sorted(
        s.name
        for s in symbols
        if s.name.startswith("PyInit_")
        and s["st_shndx"] != "SHN_UNDEF"
        and s["st_info"]["bind"] in ("STB_GLOBAL", "STB_WEAK")
        and s["st_info"]["type"] == "STT_FUNC"
    )
    if b"PyInit_" not in data:
        assert not init_functions
        needed, imports, weak = (), (), ()
    else:
        needed = tuple(
            tag.needed
            for section in elf.iter_sections("SHT_DYNAMIC")
            for tag in section.iter_tags("DT_NEEDED")
        )
        undefined = [s for s in symbols if s["st_shndx"] == "SHN_UNDEF" and s.name.startswith(("Py", "_Py"))]
        imports = tuple(sorted({s.name for s in undefined}))
        weak = tuple(sorted({s.name for s in undefined if s["st_info"]["bind"] == "STB_WEAK"}))
    names = [stem] + ([stem[: -len("module")]] if stem.endswith("module") and stem != "module" else [])
    module = next((name for name in names if f"PyInit_{name}" in init_functions), None)
    return (
        elf.elfclass // 32,
        1 if elf.little_endian else 2,
        _number(elf.header["e_machine"]),
        module,
        tuple(init_functions),
        needed,
        imports,
        weak,
    )


def _number(machine):
    """pyelftools names the machines it knows (EM_X86_64) and gives the others as numbers."""
    return ENUM_E_MACHINE[machine] if isinstance(machine, str) else machine


def exported_functions(data):
    """Names of the functions the dynamic symbol table defines as global or weak."""
    return frozenset(
        symbol.name
        for section in ELFFile(io.BytesIO(data)).iter_sections("SHT_DYNSYM")
        for symbol in section.iter_symbols()
        if symbol["st_shndx"] != "SHN_UNDEF"
        and symbol["st_info"]["bind"] in ("STB_GLOBAL", "STB_WEAK")
        and symbol["st_info"]["type"] == "STT_FUNC"
    )


def dt_needed(data):
    """The DT_NEEDED entries (sonames the object links to), in file order."""
    return tuple(
        tag.needed
        for section in ELFFile(io.BytesIO(data)).iter_sections("SHT_DYNAMIC")
        for tag in section.iter_tags("DT_NEEDED")
    )
