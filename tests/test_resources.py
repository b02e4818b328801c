"""Desktop integration resources: the icon set, the desktop entries and the AppStream metadata.

Icons must parse, render (offscreen, through QtSvg as the tray does) at tray and app sizes, and
keep their colour meaning; the desktop files and metainfo must pass the freedesktop validators;
the reverse-DNS id must be the same everywhere it appears.
"""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

import syncassistant.resources

APP_ID = "io.github.syncassistant.SyncAssistant"
ROOT = Path(__file__).resolve().parent.parent
RESOURCES = Path(syncassistant.resources.__file__).resolve().parent
ICONS = RESOURCES / "icons"
DESKTOP = RESOURCES / f"{APP_ID}.desktop"
AUTOSTART = RESOURCES / "autostart.desktop"
METAINFO = RESOURCES / f"{APP_ID}.metainfo.xml"
FLATPAK_MANIFEST = ROOT / "packaging" / "flatpak" / f"{APP_ID}.yml"

SVG_NS = "{http://www.w3.org/2000/svg}"
STATE_ICONS = ["idle", "syncing", "paused", "offline", "error", "conflict"]
ICON_FILES = ["syncassistant.svg", *(f"state-{s}.svg" for s in STATE_ICONS)]

# What each tray state's badge must look like: a hue range in degrees, or "grey".
BADGE_COLOURS = {
    "idle": (90, 160),  # green
    "syncing": (195, 235),  # blue
    "error": (345, 10),  # red (wraps around 0)
    "conflict": (20, 45),  # orange
    "paused": "grey",
    "offline": "grey",
}


def render(path: Path, size: int) -> QImage:
    renderer = QSvgRenderer(str(path))
    assert renderer.isValid(), f"QSvgRenderer cannot load {path.name}"
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    renderer.render(painter)
    painter.end()
    return image


def opaque_pixels(image: QImage) -> list[QColor]:
    return [
        c
        for y in range(image.height())
        for x in range(image.width())
        if (c := image.pixelColor(x, y)).alpha() >= 200
    ]


def read_desktop(path: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(path, encoding="utf-8")
    return parser["Desktop Entry"]


def run_validator(*cmd: str) -> subprocess.CompletedProcess[str]:
    if shutil.which(cmd[0]) is None:
        pytest.skip(f"{cmd[0]} is not installed")
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


# -- icons ----------------------------------------------------------------------------------------
def test_icon_set_is_complete() -> None:
    present = sorted(p.name for p in ICONS.glob("*.svg"))
    assert present == sorted(ICON_FILES)


@pytest.mark.parametrize("name", ICON_FILES)
def test_svg_parses_with_a_24px_viewbox(name: str) -> None:
    root = ET.parse(ICONS / name).getroot()
    assert root.tag == f"{SVG_NS}svg"
    assert root.get("viewBox") == "0 0 24 24"
    # Hand-written and self-contained: nothing that a tray host could fail to fetch or run.
    text = (ICONS / name).read_text(encoding="utf-8")
    assert "<script" not in text and 'xlink:href="http' not in text and "<image" not in text


@pytest.mark.parametrize("size", [16, 22, 64, 128])
@pytest.mark.parametrize("name", ICON_FILES)
def test_svg_renders_non_empty(qapp, name: str, size: int) -> None:
    image = render(ICONS / name, size)
    pixels = opaque_pixels(image)
    # A badge (or the folder) fills a good part of the square ...
    assert len(pixels) > 0.4 * size * size, f"{name} at {size}px is mostly empty"
    # ... and a white glyph on it is visible, not lost to anti-aliasing.
    white = [c for c in pixels if min(c.red(), c.green(), c.blue()) >= 235]
    coloured = [c for c in pixels if min(c.red(), c.green(), c.blue()) < 200]
    assert white, f"{name} at {size}px has no visible white glyph"
    assert len(coloured) > len(white), f"{name} at {size}px: the glyph swamps the badge"


@pytest.mark.parametrize("state", STATE_ICONS)
def test_state_badge_keeps_its_colour(qapp, state: str) -> None:
    pixels = opaque_pixels(render(ICONS / f"state-{state}.svg", 64))
    badge = [c for c in pixels if min(c.red(), c.green(), c.blue()) < 200]
    # The most common badge colour is the fill.
    counts: dict[int, int] = {}
    for c in badge:
        counts[c.rgb()] = counts.get(c.rgb(), 0) + 1
    fill = QColor.fromRgb(max(counts, key=counts.__getitem__))
    expected = BADGE_COLOURS[state]
    if expected == "grey":
        assert fill.hsvSaturation() < 60, f"{state} should be grey, is {fill.name()}"
        return
    lo, hi = expected
    hue = fill.hsvHue()
    in_range = lo <= hue <= hi if lo <= hi else (hue >= lo or hue <= hi)
    assert fill.hsvSaturation() > 120 and in_range, f"{state} badge has the wrong colour {fill.name()}"


# -- desktop entries and AppStream ---------------------------------------------------------------
@pytest.mark.parametrize("path", [DESKTOP, AUTOSTART], ids=lambda p: p.name)
def test_desktop_file_validates(path: Path) -> None:
    result = run_validator("desktop-file-validate", str(path))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "error:" not in output and "warning:" not in output, output


def test_metainfo_validates() -> None:
    result = run_validator("appstreamcli", "validate", "--no-net", "--no-color", str(METAINFO))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # Infos (e.g. AppStream 0.16 not knowing <developer>) are fine; warnings and errors are not.
    problems = [line for line in output.splitlines() if re.match(r"\s*[EW]:", line)]
    assert not problems, output


def test_ids_agree() -> None:
    root = ET.parse(METAINFO).getroot()
    assert root.get("type") == "desktop-application"
    assert root.findtext("id") == APP_ID
    assert root.findtext("launchable[@type='desktop-id']") == DESKTOP.name == f"{APP_ID}.desktop"
    entry = read_desktop(DESKTOP)
    assert entry["Icon"] == APP_ID
    assert entry["Exec"].split()[:2] == ["syncassistant", "tray"]
    autostart = read_desktop(AUTOSTART)
    assert autostart["Icon"] == APP_ID
    assert autostart["Exec"].split()[:2] == ["syncassistant", "tray"]
    assert autostart["X-GNOME-Autostart-enabled"] == "true"
    # The flatpak installs the metainfo, desktop file and icon under the same id.
    manifest = FLATPAK_MANIFEST.read_text(encoding="utf-8")
    assert re.search(rf"^id: {re.escape(APP_ID)}$", manifest, re.M)


def test_metainfo_release_matches_project_version() -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    releases = ET.parse(METAINFO).getroot().findall("releases/release")
    assert releases, "metainfo lists no release"
    assert releases[0].get("version") == version, "add a <release> for the new version, newest first"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", releases[0].get("date", ""))
