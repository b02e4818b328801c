"""Notifications for what needs a person: real conflicts and engine errors, with the fallbacks."""

from __future__ import annotations

from pathlib import Path

from conftest import git
from test_ui_app import TIMEOUT_MS, FakeNotifier

from syncassistant.engine.events import Event

pytest_plugins = ("test_ui_app",)  # the UI fixtures: sync_app, linked_pair


def conflict_between(a: Path, b: Path) -> None:
    (a / "plan.txt").write_text("plan A\n")
    (b / "plan.txt").write_text("plan B\n")
    for r in (a, b):
        git(r, "annex", "add", "plan.txt")
        git(r, "commit", "-qm", "plan")
    git(b, "fetch", "-q", str(a), "master:refs/heads/synced/master")  # as A's push would


def test_a_real_conflict_is_notified_once(qtbot, sync_app, linked_pair):
    a, b = linked_pair
    conflict_between(a, b)
    app = sync_app(b)
    sent = app.notifications.notifier.sent
    qtbot.waitUntil(lambda: any(s.startswith("Conflict in B") for s, _ in sent), timeout=TIMEOUT_MS)
    summary, body = next((s, m) for s, m in sent if s.startswith("Conflict in B"))
    assert "plan.txt" in body and "Both versions are kept" in body
    # the same conflict again (e.g. a second record) does not nag
    view = app.state.views[str(b.resolve())]
    qtbot.waitUntil(lambda: bool(view.conflicts), timeout=TIMEOUT_MS)
    rec = view.conflicts[0]
    app.bridge.conflict.emit(str(b.resolve()), rec)
    assert sum(1 for s, _ in sent if s.startswith("Conflict in B")) == 1


def test_engine_errors_are_notified_and_can_be_turned_off(qtbot, sync_app, linked_pair):
    a, b = linked_pair
    app = sync_app(a)
    sent = app.notifications.notifier.sent
    with qtbot.waitSignal(app.notifications.shown, timeout=TIMEOUT_MS) as sig:
        app.hub.emit(Event("error", str(a.resolve()), {"where": "commit", "message": "disk full\nmore"}))
    assert sig.args[:2] == ["Syncing A has a problem", "disk full"] and sig.args[2] == "desktop"
    assert sent[-1] == ("Syncing A has a problem", "disk full")
    app.config.set("notifications", False)
    with qtbot.waitSignal(app.notifications.shown, timeout=TIMEOUT_MS) as sig:
        app.hub.emit(Event("error", str(a.resolve()), {"where": "merge", "message": "other"}))
    assert sig.args[2] == "off" and len(sent) == 1


def test_without_a_notification_service_the_tray_or_log_takes_over(qtbot, sync_app, linked_pair):
    a, b = linked_pair
    app = sync_app(a)
    app.notifications.notifier = FakeNotifier(works=False)
    with qtbot.waitSignal(app.notifications.shown, timeout=TIMEOUT_MS) as sig:
        app.notifications.notify("Hello", "there")
    # offscreen there is no tray to show a balloon: the message is logged instead
    assert sig.args[2] in ("tray", "log") and app.notifications.notifier.sent == [("Hello", "there")]
