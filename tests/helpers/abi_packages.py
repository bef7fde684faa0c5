"""The archive packages the abi3 and libpython checks are proved on, and what abi3info
says an abi3 extension needs."""

from conftest import SUFFIX_311

LIMITED_311 = 0x030B0000


# Outside the stable ABI, and in it only since 3.13 (both exported by libpython3.11).
NOT_STABLE = "PyDict_SetDefault(object, object, object);"


# Modules linked against libpython3.11 (apt-cache rdepends libpython3.11, small ones).
LIBPYTHON_PACKAGES = {
    "python3-deeptoolsintervals": f"deeptoolsintervals/tree{SUFFIX_311}",
    "python3-plist": f"plist{SUFFIX_311}",
    "python3-pypamtest": f"pypamtest{SUFFIX_311}",
    "python3-roslz4": f"roslz4/_roslz4{SUFFIX_311}",
}


ABI3_PACKAGES = {
    "python3-bcrypt": ("bcrypt/_bcrypt.abi3.so",),
    "python3-cryptography": (
        "cryptography/hazmat/bindings/_openssl.abi3.so",
        "cryptography/hazmat/bindings/_rust.abi3.so",
    ),
    "python3-nacl": ("nacl/_sodium.abi3.so",),
}


def abi3info_needs(data):
    """The highest version abi3info gives for the strong undefined symbols pyelftools lists."""
    import io

    import abi3info
    from elftools.elf.elffile import ELFFile

    added = {
        s.name: (e.added.major, e.added.minor)
        for s, e in [*abi3info.FUNCTIONS.items(), *abi3info.DATAS.items()]
    }
    symbols = [
        s for section in ELFFile(io.BytesIO(data)).iter_sections("SHT_DYNSYM") for s in section.iter_symbols()
    ]
    return max(
        added.get(s.name, (3, 2))
        for s in symbols
        if s["st_shndx"] == "SHN_UNDEF" and s["st_info"]["bind"] != "STB_WEAK"
    )
