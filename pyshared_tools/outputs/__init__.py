"""Outputs: what the Plans mean for the package beyond its tree.

  collect      every output of a run (substvars, snippets, RECORD files), computed
               for all packages, then written once at the end
  scripts      the maintainer-script snippets' data, from the Plans
  render       the snippets from templates/ (Jinja2, every value through shquote)
  prerender, prerendered
               the common snippet shapes rendered ahead of time, filled in without Jinja2
  relations    Breaks/Replaces/Conflicts against the packages that shipped the farm
  report       --no-act's plan as text and --json
  access       before the first change: may this user make every change planned?

May import: the foundation, rules, engine and debhelper.
"""
