"""pyshared-scan: what dh_pyshared would fix, read from built packages archive-wide.

The pipeline, one module per job:

  inputs       the command line's .debs, unpacked trees and Packages indexes -> tasks
  workers      tasks read in worker processes (deb, tree), with the cache and a progress bar
  deb, tree    one package's members -> judge
  judge        one package's findings and module paths, by the library's rules
  contents     a Contents index, names only, in one streamed pass
  store        findings and paths in a temporary SQLite file (memory flat in the number
               of packages); the cross-package checks (path-collision, module-clash)
  cache        per-.deb records kept across runs, keyed by sha256
  records      --records files and the shard checks of `merge`
  report       table, --json and --rebuild-list
  cli          options and main()

and what they share:

  model        the records: DebControl (a binary package's control fields),
               ScannedPackage (who ships a path), Finding; escaped names and errors
  codes        the finding codes as data (docs/scan-schema.md documents the output,
               codes.CODES is its code table), the program's name, the schema number
  compression  an index file whatever its compression (by its magic bytes); the
               forward-only and zstd streams deb.py reads members with

archive sits on top of the library.  It imports, of pyshared_tools, exactly:
__version__, errors, lazy, pyversions, layouts, tags, elf, checks, relations.
That is the rules dh_pyshared applies (layouts, tags, elf, checks, pyversions),
the Conflicts + Replaces it would write for a module-clash (relations), its
errors and its lazy deb822; never dh_pyshared's engine (scan, modules, plan,
steps, apply), its debhelper side (options, control, substvars, ...) or its
script outputs.  Of the library only scan_manpage.py (the page, from cli's
parsers, codes and the limits of deb and store) and relations.py
(compression.open_index, for dh_pyshared's --contents) import archive.
tests/test_archive_imports.py checks both, and that the tables above name
every module.
"""
