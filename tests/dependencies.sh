# Sourced by tests/run and examples/demo/run: installs what they need from
# Debian's archive (the machine must be Debian bookworm; run as root).
RUNTIME_PACKAGES="python3 python3-debian python3-jinja2 python3-packaging python3-sh python3-pyelftools
    gcc libc6-dev python3-dev dpkg-dev"
TEST_PACKAGES="python3-pytest python3-hypothesis python3-venv python3-pip dh-python debhelper
    fakeroot hyperfine ca-certificates debootstrap piuparts shellcheck"

install_dependencies() {
    packages=$RUNTIME_PACKAGES
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
