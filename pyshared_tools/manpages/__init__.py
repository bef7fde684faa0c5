"""The man pages, written at build time from the option table and the argparse parsers.

  dh_pyshared     dh_pyshared(1)
  pyshared_scan   pyshared-scan(1)
  roff            the roff helpers both pages use: escaping, fonts, sections, the date

May import: the foundation, rules, debhelper (the option table) and archive
(pyshared-scan's parsers and finding codes).
"""
