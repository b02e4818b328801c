"""Translations: a real .qm when one exists for the locale, else English plural forms.

Strings are written with Qt's numerus markers ("Syncing %n file(s)"); Qt substitutes %n itself.
Without a translation "(s)" would show as is, so the source language gets a small translator
that picks singular or plural, the way an English .qm file would.
"""

from __future__ import annotations

import re

from PySide6.QtCore import QCoreApplication, QLocale, QTranslator

_PLURAL = re.compile(r"\((s|es)\)")


class EnglishPlurals(QTranslator):
    """Resolves "file(s)" to "file"/"files" by n; every other string stays as written."""

    def translate(self, context: str, source: str, disambiguation: str | None = None, n: int = -1) -> str:
        # Installed only when no real translation loaded, so every string is English already:
        # return it as its own translation. (Never return None from this override: PySide 6.12
        # then drops a reference to None on each call and the interpreter aborts; and "" would
        # blank the text, since Qt only skips a *null* string.)
        if n < 0 or "(" not in source:
            return source
        return _PLURAL.sub(lambda m: "" if n == 1 else m.group(1), source)

    def isEmpty(self) -> bool:
        return False


_installed: list[QTranslator] = []


def install(app: QCoreApplication) -> list[QTranslator]:
    """Install translators on `app` once (later calls return the same ones); they are children of
    the app, so they live as long as it does."""
    if _installed and all(t.parent() is app for t in _installed):
        return list(_installed)
    _installed.clear()
    installed = _installed
    real = QTranslator(app)
    from importlib import resources

    folder = str(resources.files("syncassistant.ui") / "translations")
    if real.load(QLocale(), "syncassistant", "_", folder):
        app.installTranslator(real)
        installed.append(real)
        _humanize_in(QLocale().name())
    else:
        plurals = EnglishPlurals(app)
        app.installTranslator(plurals)
        installed.append(plurals)
        _humanize_in(None)
    return list(installed)


def _humanize_in(locale: str | None) -> None:
    """humanize writes "vor 2 Minuten" and such in the same language as the UI (it ships its own
    catalogues); English where it has none for the locale."""
    import humanize

    try:
        if locale:
            humanize.i18n.activate(locale)
            return
    except FileNotFoundError:
        pass
    humanize.i18n.deactivate()


def tr(context: str, text: str, n: int = -1) -> str:
    """Translate outside a QObject (models, summaries): same rules as QObject.tr."""
    return QCoreApplication.translate(context, text, None, n)
