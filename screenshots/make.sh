#!/usr/bin/env bash
# Screenshots of the tray app under Xvfb with a real tray host (trayer), on demo repositories
# with real content, a real conflict and real transfers (throttled so they are mid-way).
# Needs: xvfb trayer imagemagick x11-utils (see ../../shared/recipes/tray_xvfb.sh).
# Usage: screenshots/make.sh [OUT_DIR [--only history|cloud|devices|conditions]]   (default: the screenshots/ folder itself;
#        --only history: only the Recent changes shots, without waiting for transfers)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
OUT=${1:-$HERE}
shift || true
VENV=${VENV:-$ROOT/.venv}
WORK=$(mktemp -d /tmp/sa.XXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

# 1. Xvfb on a free display (-displayfd reports it when ready)
Xvfb -displayfd 5 -screen 0 1280x800x24 -nolisten tcp 5>"$WORK/display" 2>"$WORK/xvfb.log" &
PIDS+=($!)
for _ in $(seq 100); do [ -s "$WORK/display" ] && break; sleep 0.1; done
export DISPLAY=":$(head -n1 "$WORK/display")"
unset DBUS_SESSION_BUS_ADDRESS  # no session bus: Qt uses the XEmbed tray, notifications fall back

# 2. trayer as the XEmbed system tray, bottom right; wait until it owns _NET_SYSTEM_TRAY_S0
trayer --edge bottom --align right --widthtype request --height 28 --transparent true --alpha 0 \
       --tint 0xd8d8d8 --SetDockType true --expand true >"$WORK/trayer.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do
  "$VENV/bin/python" - <<'EOF' 2>/dev/null && break
import ctypes, ctypes.util, sys
x = ctypes.CDLL(ctypes.util.find_library("X11"))
x.XOpenDisplay.restype = ctypes.c_void_p
x.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]; x.XInternAtom.restype = ctypes.c_ulong
x.XGetSelectionOwner.argtypes = [ctypes.c_void_p, ctypes.c_ulong]; x.XGetSelectionOwner.restype = ctypes.c_ulong
d = x.XOpenDisplay(None)
sys.exit(0 if d and x.XGetSelectionOwner(d, x.XInternAtom(d, b"_NET_SYSTEM_TRAY_S0", 0)) else 1)
EOF
  sleep 0.1
done

# 3. the app on demo repositories; it saves the PNGs itself (bounded to 5 minutes)
mkdir -p "$OUT"
timeout 300 "$VENV/bin/python" "$HERE/make.py" "$OUT" "$WORK/demo" "$@"
rc=$?
echo "make.py rc=$rc"
ls -la "$OUT"/*.png
exit $rc
