"""Engine: one package tree, from what is there to the changes made.

  inventory    one walk of debian/<package>/: every entry, lstat'ed once (Inventory)
  links        symlink resolution that never leaves the tree
  views        the modules each Python version sees through the layouts (Views)
  placement    where every module goes: a list of Placement (reads, changes nothing)
  plan         the Placements turned into ordered, validated Actions (Plan), by these steps:
  actions      Action: one step of a plan, what the journal carries out
  destinations placements grouped by destination, checked against the tree; directories
  placed_checks  the checks on what is placed: Python 3 sources, extension ABI, Multi-Arch: same
  dist_info    dist-info RECORD files: dropped or rewritten
  removals     the unlink actions, from four sources, each path once
  retarget     kept links that move, and links elsewhere pointing into moved modules
  farm         what the old helpers' farm leaves for the maintainer scripts
  journal      apply a Plan through an on-disk journal, resumable after a kill

May import: the foundation and rules.  Nothing here knows debhelper's files or
the maintainer scripts: that is outputs/, which reads the Plans.
"""
