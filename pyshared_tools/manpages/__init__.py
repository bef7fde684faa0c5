"""The man pages, written at build time from the option table and the argparse parsers.

  dh_pyshared     dh_pyshared(1), with the roff helpers both pages use
  pyshared_scan   pyshared-scan(1)

May import anything: the pages describe both tools.
"""
