"""pyshared-scan: what dh_pyshared would fix, read from built packages archive-wide.

The pipeline, one module per job:

  inputs       the command line's .debs, unpacked trees and Packages indexes -> tasks
  workers      tasks read in worker processes (deb, tree), with the cache and a progress bar
  deb, tree    one package's members -> judge
  tarstream    data.tar headers read as dpkg-deb writes them (tarfile for any other)
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

May import: the foundation (errors, lazy, ...), rules (layouts, tags, elf,
checks, pyversions: the rules dh_pyshared applies), indexes (every index
compression; deb.py's forward-only and zstd streams) and outputs.relations
(the Conflicts + Replaces dh_pyshared would write for a module-clash); never
dh_pyshared's engine or its debhelper side.  Of the library only
manpages/pyshared_scan.py imports archive.  tests/test_architecture.py checks
both directions and that the tables above name every module.
"""
