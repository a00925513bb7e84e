# shellcheck shell=bash
# Installing test prerequisites, shared by scripts/test and scripts/check-docker
# (source it). Each installs only what it is asked for.

# Python packages, quietly.
pip_install() {
    python3 -m pip install --quiet --disable-pip-version-check "$@"
}

# Debian packages: as root directly, otherwise through sudo when it is there.
# The package lists are refreshed only when the first attempt fails.
apt_install() {
    local sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get install -y --no-install-recommends "$@" >/dev/null \
        || { "${sudo[@]}" apt-get update >/dev/null \
             && "${sudo[@]}" apt-get install -y --no-install-recommends "$@" >/dev/null; }
}
