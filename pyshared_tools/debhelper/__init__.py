"""The debhelper side: what dh_pyshared reads from and writes to debian/ like every dh_*.

  options      the option table (dh's common options and ours), parsed as Dh_Getopt does
  control      debian/control, package selection, the debhelper log files
  buildenv     DEB_HOST_* and dpkg-architecture: the host the packages are built for
  substvars    debian/<package>.substvars and ${python3:Depends}
  autoscripts  debian/<package>.<script>.debhelper snippets with their markers

May import: the foundation and rules.
"""
