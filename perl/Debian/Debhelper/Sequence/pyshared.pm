#!/usr/bin/perl
# debhelper sequence add-on for dh_pyshared: `dh $@ --with pyshared`, or
# `Build-Depends: dh-sequence-pyshared`.
#
# dh_pyshared must run after dh_python3 (where that is used) and before
# dh_installdeb and dh_gencontrol, which read the maintainer-script snippets
# and substvars it writes.  dh_python3 is not always in the sequence, and dh
# loads add-ons from Build-Depends in name order ("pyshared" before
# "python3") and then those of --with in the order given, so neither
# insert_after("dh_python3", ...) nor an anchor next to dh_python3's own
# (before dh_installinit) gives that order in every case.  dh_installdeb is in
# every binary sequence and always after dh_python3.

use strict;
use warnings;
use Debian::Debhelper::Dh_Lib;

insert_before("dh_installdeb", "dh_pyshared");

1;
