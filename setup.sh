#!/usr/bin/env bash
# Installs everything syncassistant and its tests need on Debian 12, idempotently:
# the apt packages (ssh server for ssh:// tests, dbus, udisks2, Xvfb and a tray host for
# screenshots, ...) and a virtualenv in .venv with the app, its test extra and git-annex.
set -euo pipefail
cd "$(dirname "$0")"

APT_PACKAGES=(
  git openssh-server openssh-client dbus dbus-x11 udisks2 udev e2fsprogs util-linux iproute2 lsof rsync
  xvfb trayer imagemagick x11-utils dunst libnotify-bin fonts-dejavu-core
  libegl1 libgl1 libfontconfig1 libdbus-1-3 libxkbcommon0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1
  libxcb-cursor0 libxcb-image0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-randr0
  desktop-file-utils appstream python3-venv
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -e '.[test]'
echo "setup done: .venv/bin/syncassistant is ready"
