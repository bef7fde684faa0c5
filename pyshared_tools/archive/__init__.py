"""pyshared-scan: what dh_pyshared would fix, read from built packages archive-wide.

The pipeline, one module per job:

  inputs    the command line's .debs, unpacked trees and Packages indexes -> tasks
  workers   tasks read in worker processes (deb, tree), with the cache and a progress bar
  deb, tree one package's members -> judge
  judge     one package's findings and module paths, by the library's rules
  contents  a Contents index, names only, in one streamed pass
  store     findings and paths in a temporary SQLite file (memory flat in the number
            of packages); the cross-package checks (path-collision, module-clash)
  cache     per-.deb records kept across runs, keyed by sha256
  records   --records files and the shard checks of `merge`
  report    table, --json and --rebuild-list
  cli       options and main()

docs/scan-schema.md documents the output; codes.CODES is its code table as data.
"""
