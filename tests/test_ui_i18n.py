"""Translations: the German .qm is loaded for a German locale (tray menu, tooltip, numerus forms),
English stays English, and the shipped .ts is (at least as) fully translated (as when committed).

The locale is forced with QLocale.setDefault, which is what QTranslator.load(QLocale(), ...) in
i18n.install reads; LANG/LANGUAGE=de work too, but only when set before Qt first reads the system
locale, i.e. in a new process. i18n.install keeps the translators it installed on the app (the
QApplication lives for the whole test session), so the fixtures swap them and put back the
previous locale and translators afterwards: the other UI tests stay English.
"""

from __future__ import annotations

import re
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest
from conftest import VENV_BIN
from PySide6.QtCore import QLocale, Qt, QTranslator
from test_ui_app import TIMEOUT_MS
from test_ui_tray import menu_texts

from syncassistant.ui import i18n
from syncassistant.ui.state import AppState, RepoView, Summary, overall_summary, repo_summary
from syncassistant.ui.transfers_window import TransfersModel

pytest_plugins = ("test_ui_app",)  # the UI fixtures: sync_app, linked_pair

TRANSLATIONS = Path(str(resources.files("syncassistant.ui") / "translations"))
GERMAN_TS = TRANSLATIONS / "syncassistant_de.ts"
# the share of strings in syncassistant_de.ts translated when it was last updated (503 of 503);
# lower it only on purpose (new English strings waiting for a translator)
GERMAN_FINISHED_AT_LEAST = 1.0

ENGLISH_MENU = ["Open folder", "Pause syncing", "Sync now", "Transfers…", "Conflicts…", "Recent changes…",
                "Connect another device…", "Join with a code…", "Settings…", "Quit"]
GERMAN_MENU = ["Ordner öffnen", "Synchronisierung pausieren", "Jetzt synchronisieren", "Übertragungen…",
               "Konflikte…", "Letzte Änderungen…", "Weiteres Gerät verbinden…", "Mit Code beitreten…",
               "Einstellungen…", "Beenden"]


def _use_locale(qapp, locale: QLocale) -> Iterator[list[QTranslator]]:
    before = QLocale()
    had = list(i18n._installed)  # no public way to make install() load again
    for t in had:
        qapp.removeTranslator(t)
    i18n._installed.clear()
    QLocale.setDefault(locale)
    try:
        yield i18n.install(qapp)
    finally:
        for t in i18n._installed:
            qapp.removeTranslator(t)
            t.deleteLater()
        i18n._installed.clear()
        QLocale.setDefault(before)
        if had:  # as it was: the English translator back on the app
            i18n.install(qapp)


@pytest.fixture
def german(qapp) -> Iterator[list[QTranslator]]:
    yield from _use_locale(qapp, QLocale(QLocale.Language.German, QLocale.Country.Germany))


@pytest.fixture
def english(qapp) -> Iterator[list[QTranslator]]:
    yield from _use_locale(qapp, QLocale(QLocale.Language.English, QLocale.Country.UnitedStates))


def test_german_locale_loads_the_german_translation(german):
    assert len(german) == 1 and not isinstance(german[0], i18n.EnglishPlurals)
    assert Path(german[0].filePath()).name == "syncassistant_de.qm"
    assert german[0].language() == "de"


def test_tray_menu_and_tooltip_in_german(qtbot, german, sync_app, linked_pair):
    a, b = linked_pair
    app = sync_app(a, b)
    texts = menu_texts(app)
    assert texts[0].startswith("A: ") and texts[1].startswith("B: ")
    assert texts[2:] == GERMAN_MENU
    assert app.tray.menu.accessibleName() == "SyncAssistant-Menü"
    app.tray.pause_action.trigger()
    # both folders paused: the overall line (one paused folder alone shows "A: Pausiert")
    qtbot.waitUntil(lambda: app.tray.icon.toolTip() == "SyncAssistant: Synchronisierung ist pausiert",
                    timeout=TIMEOUT_MS)
    assert menu_texts(app)[:2] == ["A: Pausiert", "B: Pausiert"]
    assert app.tray.pause_action.text() == "Synchronisierung fortsetzen"
    app.tray.pause_action.trigger()
    qtbot.waitUntil(lambda: app.tray.icon.toolTip() == "SyncAssistant: Alles ist aktuell", timeout=TIMEOUT_MS)
    assert menu_texts(app)[0].startswith("A: Aktuell")


def test_numerus_forms_in_german(german):
    assert i18n.tr("Summary", "Syncing %n file(s)", 1) == "1 Datei wird synchronisiert"
    assert i18n.tr("Summary", "Syncing %n file(s)", 3) == "3 Dateien werden synchronisiert"
    assert i18n.tr("Summary", "Syncing %n file(s)", 0) == "0 Dateien werden synchronisiert"
    assert i18n.tr("TransfersWindow", "%n running", 1) == "1 läuft"
    assert i18n.tr("TransfersWindow", "%n running", 2) == "2 laufen"
    assert i18n.tr("TransfersWindow", "%n waiting", 1) == "1 wartet"
    assert i18n.tr("TransfersWindow", "%n waiting", 5) == "5 warten"
    # the summary lines built from them (tooltip and status lines)
    running = {"state": "running", "idle": True, "remotes": [{"name": "b", "last_sync": 1.0, "error": None}],
               "conflicts": [], "errors": {}}
    v = RepoView("/x/Docs", status=dict(running), running=True)
    assert repo_summary(v) == Summary("idle", "Aktuell")
    v.transfers = {"1": {"id": "1", "state": "running", "size": 10, "bytes_done": 0}}
    assert overall_summary([v]).text == "1 Datei wird synchronisiert, noch 10 Bytes"
    v.transfers = {"1": {"id": "1", "state": "running", "size": 10_000_000, "bytes_done": 1_000_000},
                   "2": {"id": "2", "state": "queued", "size": 3_000_000, "bytes_done": 0}}
    assert overall_summary([v]) == Summary("syncing", "2 Dateien werden synchronisiert, noch 12 MB")
    v.transfers = {}
    v.status = {**running, "conflicts": [{"id": "c"}]}
    assert overall_summary([v]) == Summary("conflict", "1 ungelöster Konflikt")
    v.status = {**running, "conflicts": [{"id": "c"}, {"id": "d"}]}
    assert overall_summary([v]) == Summary("conflict", "2 ungelöste Konflikte")
    v.status = {**running, "remotes": [{"name": "usb", "error": "not mounted", "offline": True}]}
    assert repo_summary(v) == Summary("offline", "usb nicht erreichbar")


def test_transfers_headers_in_german(german):
    # strings behind transfers_window's _ctx() wrapper: extracted by update.sh, not by plain lupdate
    model = TransfersModel(AppState())
    headers = [model.headerData(i, Qt.Orientation.Horizontal) for i in range(model.columnCount())]
    assert headers == ["Datei", "Richtung", "Gegenstelle", "Fortschritt", "Geschwindigkeit", "Restzeit"]


def test_english_locale_stays_english(qtbot, english, sync_app, linked_pair):
    assert len(english) == 1 and isinstance(english[0], i18n.EnglishPlurals)
    a, b = linked_pair
    app = sync_app(a, b)
    assert menu_texts(app)[2:] == ENGLISH_MENU
    assert i18n.tr("Summary", "Syncing %n file(s)", 1) == "Syncing 1 file"
    assert i18n.tr("Summary", "Syncing %n file(s)", 2) == "Syncing 2 files"
    assert i18n.tr("TransfersWindow", "%n running", 2) == "2 running"
    headers = [TransfersModel(AppState()).headerData(i, Qt.Orientation.Horizontal) for i in range(6)]
    assert headers == ["File", "Direction", "Remote", "Progress", "Speed", "Time left"]


def messages(ts: Path) -> list[ET.Element]:
    """The current messages of a .ts (not those lupdate marked vanished or obsolete)."""
    return [m for m in ET.parse(ts).getroot().iter("message")
            if m.find("translation").get("type") not in ("vanished", "obsolete")]


def test_german_ts_is_translated_at_least_as_far_as_committed():
    msgs = messages(GERMAN_TS)
    unfinished = [m for m in msgs if m.find("translation").get("type") == "unfinished"]
    total = len(msgs)
    finished = total - len(unfinished)
    share = finished / total
    print(f"syncassistant_de.ts: {finished} of {total} strings translated ({share:.1%}), "
          f"{len(unfinished)} unfinished")
    assert total >= 290  # every string of syncassistant/ui, not a partial extraction
    assert share >= GERMAN_FINISHED_AT_LEAST, [m.find("source").text for m in unfinished]
    for m in msgs:
        if m.find("translation").get("type") == "unfinished":
            continue
        source = m.find("source").text
        tr = m.find("translation")
        forms = [f.text or "" for f in tr.findall("numerusform")] if m.get("numerus") == "yes" else [tr.text or ""]
        assert len(forms) == (2 if m.get("numerus") == "yes" else 1) and all(forms), source
        for form in forms:  # the same placeholders (%1, %2, %n) as the English text
            assert sorted(re.findall(r"%\d|%n", form)) == sorted(re.findall(r"%\d|%n", source)), (source, form)


def test_german_qm_is_compiled_from_the_ts(tmp_path):
    lrelease = Path(VENV_BIN) / "pyside6-lrelease"
    if not lrelease.exists():
        pytest.skip("pyside6-lrelease is not installed")
    out = tmp_path / "de.qm"
    subprocess.run([str(lrelease), "-silent", "-nounfinished", str(GERMAN_TS), "-qm", str(out)], check=True)
    assert out.read_bytes() == (TRANSLATIONS / "syncassistant_de.qm").read_bytes(), \
        "syncassistant_de.qm is stale: run syncassistant/ui/translations/update.sh"


def test_relative_times_follow_the_ui_language(qapp):
    import datetime

    import humanize

    for locale, text in ((QLocale(QLocale.Language.German, QLocale.Country.Germany), "vor 2 Minuten"),
                         (QLocale(QLocale.Language.English, QLocale.Country.UnitedStates), "2 minutes ago")):
        gen = _use_locale(qapp, locale)
        next(gen)
        try:
            assert humanize.naturaltime(datetime.timedelta(minutes=2)) == text
        finally:
            gen.close()
    assert humanize.naturaltime(datetime.timedelta(minutes=2)) == "2 minutes ago"
