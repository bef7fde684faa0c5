"""Rules: the facts dh_pyshared and pyshared-scan decide by, as data and small pure functions.

  layouts      where each helper and build system put modules (RULES), and the
               search parents, Contents prefixes and PROMISE paths derived from it
  tags         the PEP 3149 tags each CPython version imports, in its lookup order
  pyversions   supported and default Python 3 versions (debian_defaults, X-Python3-Version)
  elf          facts read from one ELF file: PyInit_ exports, DT_NEEDED, undefined symbols
  checks       the ABI checks (libpython, stable ABI) over those facts
  stable_abi_generate
               writes stable_abi.table (CPython's stable ABI as data, which checks
               reads) from the abi3info package

May import: the foundation (pyshared_tools, errors, lazy, commands, files, log).
Nothing here walks a package tree or writes a file of debian/.
"""
