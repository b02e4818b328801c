#!/usr/bin/env bash
# Build SyncAssistant-<arch>.AppImage with python-appimage and appimagetool.
#
#   packaging/appimage/build.sh            # from anywhere; output goes to dist/
#
# Steps: (1) a venv with python-appimage, (2) a wheel of this checkout, (3) a python-appimage
# "app" recipe (requirements, desktop file, icon, AppStream metadata), (4) `python-appimage build
# app --no-packaging`: a relocatable CPython AppDir with the wheel and its deps pip-installed,
# (5) our AppRun and git-annex symlinks put in, (6) appimagetool packs the AppDir.
#
# Environment (all optional):
#   PYTHON_VERSION   CPython of the base image (default 3.12)
#   BASE_IMAGE       a local python3.X.Y-cpXY-cpXY-<manylinux>_<arch>.AppImage, instead of
#                    downloading the newest one from python-appimage's GitHub releases
#   APPIMAGETOOL     a local appimagetool (AppImage or extracted AppRun), instead of the one
#                    python-appimage downloads from GitHub into ~/.cache/python-appimage
#   WORK             scratch directory (default build/appimage; build/ is git-ignored)
#   OUT              where the .AppImage is written (default dist/)
#   STOP_AFTER       recipe | appdir: stop after that step (for checking without packaging)
#
# Needs network access to PyPI (python-appimage, the app's deps) and, unless BASE_IMAGE and
# APPIMAGETOOL are given, to github.com. Needs no FUSE: AppImages are run with
# --appimage-extract-and-run.
set -euo pipefail

HERE="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd -- "$HERE/../.." && pwd)"
APP_ID="io.github.syncassistant.SyncAssistant"
PYTHON_VERSION="${PYTHON_VERSION:-3.12}"
PYTHON_APPIMAGE_VERSION="1.4.6"
WORK="${WORK:-$ROOT/build/appimage}"
OUT="${OUT:-$ROOT/dist}"
ARCH="$(uname -m)"
STOP_AFTER="${STOP_AFTER:-}"
HOST_PYTHON="${HOST_PYTHON:-python3}"

step() { printf '\n==> %s\n' "$*"; }
die() { printf 'build.sh: %s\n' "$*" >&2; exit 1; }

# Run an AppImage without FUSE (containers, CI). An extracted AppDir's AppRun runs as is.
run_appimage() {
    local tool="$1"; shift
    case "$tool" in
        *.AppImage) APPIMAGE_EXTRACT_AND_RUN=1 "$tool" --appimage-extract-and-run "$@" ;;
        *) "$tool" "$@" ;;
    esac
}

case "$(readlink -f -- "$WORK")" in
    / | "$ROOT" | "$HOME") die "refusing to use $WORK as the scratch directory (it is wiped)" ;;
esac
rm -rf "$WORK"
mkdir -p "$WORK" "$OUT"

step "1/6 python-appimage $PYTHON_APPIMAGE_VERSION in $WORK/tools"
"$HOST_PYTHON" -m venv "$WORK/tools"
"$WORK/tools/bin/pip" install --quiet --disable-pip-version-check \
    "python-appimage==$PYTHON_APPIMAGE_VERSION"

step "2/6 wheel of $ROOT"
# Build from a clean copy of the tracked files, so a developer's .venv, build/ or stray
# egg-info never end up in the wheel (or the source tree gets build/ written into it).
mkdir -p "$WORK/src"
git -C "$ROOT" ls-files -z --cached --others --exclude-standard \
    | tar -C "$ROOT" --null --no-recursion --ignore-failed-read -T - -cf - \
    | tar -xf - -C "$WORK/src"
"$WORK/tools/bin/pip" wheel --quiet --disable-pip-version-check --no-deps \
    -w "$WORK/wheels" "$WORK/src"
wheel="$(ls "$WORK"/wheels/syncassistant-*.whl)"
echo "$wheel"

step "3/6 recipe in $WORK/recipe/syncassistant"
recipe="$WORK/recipe/syncassistant"
res="$ROOT/syncassistant/resources"
mkdir -p "$recipe"
echo "$wheel" > "$recipe/requirements.txt"
cp "$res/$APP_ID.desktop" "$recipe/"
# python-appimage looks for <Icon=>.svg|png and *.appdata.xml next to the desktop file.
cp "$res/icons/syncassistant.svg" "$recipe/$APP_ID.svg"
cp "$res/$APP_ID.metainfo.xml" "$recipe/$APP_ID.appdata.xml"
ls -l "$recipe"
[ "$STOP_AFTER" = recipe ] && { echo "stopped after the recipe (STOP_AFTER=recipe)"; exit 0; }

step "4/6 AppDir: CPython $PYTHON_VERSION base image + pip install of the wheel and its deps"
base_args=()
if [ -n "${BASE_IMAGE:-}" ]; then
    base_args=(--base-image "$(readlink -f -- "$BASE_IMAGE")")
fi
# python-appimage runs the base image with --appimage-extract (no FUSE needed).
(cd "$WORK" && "$WORK/tools/bin/python-appimage" build app --no-packaging \
    --python-version "$PYTHON_VERSION" "${base_args[@]}" "$recipe")
appdir="$WORK/SyncAssistant-$ARCH"
[ -d "$appdir" ] || die "python-appimage did not produce $appdir"

step "5/6 AppRun, git-annex links, metadata"
install -m755 "$HERE/AppRun" "$appdir/AppRun"
ln -sfn "$APP_ID.svg" "$appdir/.DirIcon"
pybin="$(cd "$appdir" && ls -d opt/python3.*/bin)"
annex="$(cd "$appdir" && ls -d opt/python3.*/lib/python3.*/site-packages/git_annex/git-annex)"
# pip wrote console scripts whose shebang is the build machine's temporary AppDir path. Point
# them at the bundled interpreter through PATH (AppRun puts usr/bin first) ...
for script in "$appdir/$pybin"/*; do
    if [ ! -f "$script" ] || [ -L "$script" ]; then continue; fi
    if head -c 64 "$script" | head -n 1 | grep -q '^#!/.*python'; then
        sed -i "1s|^#!.*|#!/usr/bin/env python$PYTHON_VERSION|" "$script"
    fi
done
# ... and make git-annex's (which the engine looks for next to the interpreter) links to the
# binary itself, which picks its role from argv[0]. The same links go in usr/libexec for PATH.
mkdir -p "$appdir/usr/libexec/syncassistant"
for name in git-annex git-annex-shell git-remote-annex git-remote-tor-annex; do
    ln -sfn "../lib/${annex#opt/python3.*/lib/}" "$appdir/$pybin/$name"
    ln -sfn "../../../$annex" "$appdir/usr/libexec/syncassistant/$name"
done
# Qt developer tools that PySide6-Essentials ships and the app never runs (~20 MB).
pyside="$(cd "$appdir" && ls -d opt/python3.*/lib/python3.*/site-packages/PySide6)"
for tool in assistant designer linguist lrelease lupdate qmlformat qmllint qmlls; do
    rm -f "$appdir/$pyside/$tool"
done
rm -rf "$appdir/$pyside/Qt/metatypes"
# appimagetool checks usr/share/metainfo/<id>.appdata.xml against the desktop file.
ls -l "$appdir/usr/share/metainfo" "$appdir/usr/share/applications"
# Leftovers of the base image that would confuse desktop integration.
rm -f "$appdir"/python*.desktop "$appdir"/usr/share/applications/python*.desktop \
      "$appdir"/usr/share/metainfo/python*.appdata.xml
# Smoke test: the bundled interpreter imports the app and its deps, and the CLI answers.
env -u APPIMAGE -u APPDIR "$appdir/AppRun" --help > "$WORK/apprun-help.txt"
"$appdir/usr/bin/python$PYTHON_VERSION" -s -c \
    'import syncassistant, PySide6.QtWidgets, watchdog, git, networkx, keyring, humanize, jeepney'
"$appdir/$pybin/git-annex" version --raw && echo
"$appdir/usr/libexec/syncassistant/git-annex" version --raw && echo
[ "$STOP_AFTER" = appdir ] && { echo "stopped after the AppDir (STOP_AFTER=appdir): $appdir"; exit 0; }

step "6/6 appimagetool"
tool="${APPIMAGETOOL:-}"
if [ -z "$tool" ]; then
    tool="$("$WORK/tools/bin/python" -c \
        'from python_appimage.utils.deps import ensure_appimagetool; print(ensure_appimagetool())')"
fi
target="$OUT/SyncAssistant-$ARCH.AppImage"
ARCH="$ARCH" run_appimage "$tool" "$appdir" "$target"
ls -l "$target"
echo "built $target (not for committing: *.AppImage is git-ignored)"
