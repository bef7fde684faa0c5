# Sourced by tests/run and examples/run: installs what they need from
# Debian's archive (the machine must be Debian bookworm; run as root).
# patchelf: --fix-libpython; python3-pip: installs PYPI_PACKAGES.
RUNTIME_PACKAGES="python3 python3-debian python3-jinja2 python3-packaging python3-sh
    python3-tqdm python3-lz4 gcc libc6-dev python3-dev dpkg-dev patchelf python3-pip"
# Not in Debian: abi3info carries CPython's stable ABI list (Misc/stable_abi.toml);
# the tests compare pyshared_tools/rules/stable_abi.table, which the tool reads, with
# what it gives (setup.cfg's extra "regenerate" names it too).  Pinned: a new
# release changes the table only when someone regenerates it on purpose.
PYPI_PACKAGES="abi3info==2026.9.25"
# Not in bookworm: ruff, the linter and formatter pyproject.toml configures;
# tests/run runs it before pytest.  Pinned: a new release brings new rules.
TEST_PYPI_PACKAGES="ruff==0.17.6"
# Building the dh-pyshared .deb and the example source package, checking them,
# and installing the example into a throwaway bookworm root.
PACKAGING_PACKAGES="build-essential debhelper dh-python fakeroot lintian debootstrap ca-certificates"
# apache2, mod_wsgi and libpython3.11: the hosts tests/test_hosts.py loads extensions in.
# gcc-multilib: tests/test_multiarch_install.py builds an i386 extension with gcc -m32.
# python3-pyelftools: tests/helpers/elfref.py, the reference pyshared_tools/rules/elf.py is checked against.
TEST_PACKAGES="python3-pytest python3-hypothesis python3-venv python3-pip python3-pyelftools
    hyperfine piuparts shellcheck apache2 libapache2-mod-wsgi-py3 libpython3.11 python3.11-dbg
    apt-utils python3-zstandard gcc-multilib"

install_dependencies() {
    install_debian_packages "$1"
    pypi=$PYPI_PACKAGES
    [ "$1" = tests ] && pypi="$pypi $TEST_PYPI_PACKAGES"
    # /usr/bin/python3 -m pip: the python3 first on PATH may be another one.
    /usr/bin/python3 -c 'import sys, importlib.metadata as m
sys.exit(any(m.version(n) != v for n, v in (p.split("==") for p in sys.argv[1:])))' $pypi 2>/dev/null \
        || /usr/bin/python3 -m pip install -q --break-system-packages --root-user-action=ignore \
            $pypi
}

install_debian_packages() {
    packages=$RUNTIME_PACKAGES
    [ "$1" = packaging ] || [ "$1" = tests ] && packages="$packages $PACKAGING_PACKAGES"
    [ "$1" = tests ] && packages="$packages $TEST_PACKAGES"
    missing=$(dpkg-query -W -f '${db:Status-Abbrev} ${Package}\n' $packages 2>/dev/null \
        | awk '$1 != "ii" {print $2}'; for p in $packages; do
            dpkg-query -W "$p" >/dev/null 2>&1 || echo "$p"; done)
    [ -z "$missing" ] && return 0
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo=sudo
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    # shellcheck disable=SC2086
    $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
}
