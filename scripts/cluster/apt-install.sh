#!/usr/bin/env bash
# apt-install.sh PACKAGE...: install Debian packages, without questions, as root. The package
# lists are fetched first if they know no candidate for a package, and again if the install fails
# (an old list can name versions the mirror no longer has).
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 PACKAGE..." >&2; exit 2; }
command -v apt-get >/dev/null 2>&1 || { echo "apt-install: error: no apt-get to install $* (Debian or Ubuntu needed)" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "apt-install: error: installing $* needs root (sudo)" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
apt_install() { apt-get install -y -qq --no-install-recommends "$@" </dev/null >/dev/null; }
if [ "$(apt-cache policy "$@" 2>/dev/null | grep -c 'Candidate: [0-9]')" -lt $# ]; then
    apt-get update -qq </dev/null
fi
apt_install "$@" || { apt-get update -qq </dev/null && apt_install "$@"; }
