"""Engine: one package tree, from what is there to the changes made.

  inventory    one walk of debian/<package>/: every entry, lstat'ed once (Inventory)
  links        symlink resolution that never leaves the tree
  views        the modules each Python version sees through the layouts (Views)
  placement    where every module goes: a list of Placement (reads, changes nothing)
  plan         the Placements turned into ordered, validated Actions (Plan)
  retarget     links elsewhere in the package that point into moved modules
  journal      apply a Plan through an on-disk journal, resumable after a kill

May import: the foundation and rules.  Nothing here knows debhelper's files or
the maintainer scripts: that is outputs/, which reads the Plans.
"""
