"""A magic-wormhole between two JSON-line pipes: the one process that runs Twisted.

`python -m syncassistant.engine.network.wormhole_pipe --mailbox URL (--allocate | --code CODE)`
connects to the wormhole mailbox server, allocates a code (the inviter) or uses one (the joiner),
and then carries JSON objects: each line read on stdin is sent to the other side as one
wormhole message, and each message from the other side is written to stdout as
``{"message": OBJECT}``. Before them it writes ``{"code": CODE}``; on failure
``{"error": KIND, "detail": TEXT}`` and exits 1. End of stdin closes the wormhole and exits 0.

Why a child process: Twisted's reactor runs once per process and cannot be restarted, and the
callers are a CLI (one invite), the tray (a Qt event loop that must not block, any number of
invites over its life) and tests (two sides in one process). A child per invitation has its
own reactor, its whole life bounded by the parent (:class:`invite.WormholePipe` kills its
process group on timeout or cancel), and keeps Twisted out of the engine's process. The
messages are a few hundred bytes; they travel in the mailbox's encrypted messages, so no
transit relay is needed (that is for file transfers and dilation).

Error kinds: ``relay`` (the mailbox server cannot be reached), ``wrong-code`` (key confirmation
failed: a mistyped code, or someone guessed), ``crowded`` (the code is in use by two others
already), ``bad-code`` (not of the form 7-word-word), ``closed`` (the other side went away),
``error`` (anything else).
"""

from __future__ import annotations

import argparse
import json
import sys


def _kind(exc: BaseException) -> str:
    from wormhole import errors

    if isinstance(exc, errors.ServerConnectionError):
        return "relay"
    if isinstance(exc, errors.WrongPasswordError):
        return "wrong-code"
    if isinstance(exc, errors.KeyFormatError):
        return "bad-code"
    if isinstance(exc, errors.WormholeClosed | errors.LonelyError):
        return "closed"
    if isinstance(exc, errors.ServerError) and "crowded" in str(exc):
        return "crowded"
    return "error"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="wormhole_pipe")
    p.add_argument("--mailbox", required=True)
    p.add_argument("--appid", required=True)
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--allocate", action="store_true")
    g.add_argument("--code")
    args = p.parse_args(argv)

    import wormhole
    from twisted.internet import reactor, stdio
    from twisted.protocols.basic import LineReceiver

    out = sys.stdout
    state = {"status": 0, "closing": False}

    def emit(obj: dict) -> None:
        out.write(json.dumps(obj) + "\n")
        out.flush()

    def fail(exc: BaseException) -> None:
        if state["status"] == 0:
            state["status"] = 1
            emit({"error": _kind(exc), "detail": str(exc) or type(exc).__name__})
        stop()

    def stop() -> None:
        if reactor.running:  # type: ignore[attr-defined]
            reactor.stop()  # type: ignore[attr-defined]

    w = wormhole.create(args.appid, args.mailbox, reactor)

    class Lines(LineReceiver):
        delimiter = b"\n"

        def lineReceived(self, line: bytes) -> None:
            if line.strip():
                w.send_message(line.strip())

        def connectionLost(self, reason: object = None) -> None:
            # stdin closed: the parent is done; close the wormhole (lets the mailbox go)
            state["closing"] = True
            d = w.close()
            d.addBoth(lambda _: stop())

    def on_code(code: str) -> None:
        emit({"code": code})

    def on_message(data: bytes) -> None:
        try:
            obj = json.loads(data)
        except ValueError:
            fail(ValueError("the other side sent something that is not JSON"))
            return
        emit({"message": obj})
        w.get_message().addCallbacks(on_message, on_error)

    def on_error(f: object) -> None:
        exc = getattr(f, "value", f)
        if state["closing"]:
            return
        fail(exc)  # type: ignore[arg-type]

    w.get_code().addCallbacks(on_code, on_error)
    w.get_message().addCallbacks(on_message, on_error)
    if args.allocate:
        w.allocate_code()
    else:
        try:
            w.set_code(args.code)
        except Exception as e:  # KeyFormatError and friends are raised at once
            emit({"error": _kind(e), "detail": str(e) or type(e).__name__})
            return 1
    stdio.StandardIO(Lines())
    reactor.run()  # type: ignore[attr-defined]
    return state["status"]


if __name__ == "__main__":
    sys.exit(main())
