#!/usr/bin/perl
# debhelper sequence add-on for dh_pyshared: `dh $@ --with pyshared`, or
# `Build-Depends: dh-sequence-pyshared`.
#
# dh_pyshared must run after dh_python3 (where that is used), and before
# dh_usrlocal (which refuses files in usr/local, a layout dh_pyshared moves),
# dh_link, dh_strip and dh_shlibdeps (which would compute Depends from a
# libpython link that --fix-libpython drops), dh_installdeb and dh_gencontrol
# (which read its snippets and substvars).
#
# dh loads the add-ons named in Build-Depends in name order ("pyshared" before
# "python3"), DH_EXTRA_ADDONS before those and --with after them, in the order
# given, and insert_after/insert_before an absent command insert nothing.  So
# neither insert_after("dh_python3", ...) nor dh_python3's own anchor
# (insert_before("dh_installinit", ...)) gives that order in every case.
# dh_installinit is in every binary sequence, dh_python3 always goes before
# it and the commands above all come after it.  The cost: our postinst block
# comes after dh_installinit's (a sysvinit service starts before the modules
# are byte-compiled, which costs that start only the compilation).

use strict;
use warnings;
use Debian::Debhelper::Dh_Lib;

insert_after("dh_installinit", "dh_pyshared");

1;
