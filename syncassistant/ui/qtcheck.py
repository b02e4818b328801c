"""Refusing a PySide6 build that would crash the app later.

PySide6 6.12.0's abi3 wheels were built for Python >= 3.12, where None and True are immortal;
on Python 3.10/3.11 every call of a void method drops a reference to None (and every
`Signal.emit()` one to True), and after a few thousand calls the interpreter aborts with
"none_dealloc: deallocating None". 6.11.x is fine, and so is 6.12 on Python 3.12+.
`problem()` finds this with a few harmless calls, so the app can say what to do instead of
dying minutes later.
"""

from __future__ import annotations

import sys

CALLS = 64


def problem() -> str | None:
    """A one-line reason if this PySide6 drops references to None/True, else None."""
    if sys.version_info >= (3, 12):
        return None
    import PySide6
    from PySide6.QtCore import QObject, Signal

    class Probe(QObject):
        ping = Signal()

    probe = Probe()
    none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(CALLS):
        probe.setObjectName("probe")  # a void method: must return a new reference to None
    none_lost = none_before - sys.getrefcount(None)
    for _ in range(CALLS):
        probe.ping.emit()
    true_lost = true_before - sys.getrefcount(True)
    if none_lost < CALLS // 2 and true_lost < CALLS // 2:
        return None
    # give back what the probe took, so reporting the problem does not crash us
    import ctypes

    incref = ctypes.pythonapi.Py_IncRef
    incref.argtypes = [ctypes.py_object]
    for obj, lost in ((None, none_lost), (True, true_lost)):
        for _ in range(max(0, lost)):
            incref(obj)
    return (f"PySide6 {PySide6.__version__} is built for Python 3.12 or newer and crashes on Python "
            f"{sys.version_info.major}.{sys.version_info.minor}: install PySide6-Essentials 6.11 "
            f"(pip install 'PySide6-Essentials<6.12') or use Python 3.12+")
