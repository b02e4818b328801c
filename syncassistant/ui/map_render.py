"""Drawing the network map with Qt (QPainter on a QImage), for when Graphviz is not installed.

Used by ``syncassistant map --format png`` and usable by any window (``render_image`` returns
a QImage).  The drawing follows :meth:`NetMap.to_dot`: clones are boxes (description and short
UUID), edges are arrows labelled with the remote's name and cost; edges of the arborescence are
bold blue, unusable edges dashed grey, clones the root cannot reach grey.  Layout is layered
left to right by distance from the root in the tree (then in the whole graph); clones reached
by nothing go in a last column.  Works offscreen (no display needed).
"""

from __future__ import annotations

import json
import math
import os
from collections import deque
from collections.abc import Collection
from dataclasses import dataclass, field

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QGuiApplication,
    QImage,
    QPainter,
    QPainterPath,
    QPen,
    QPolygonF,
)

from ..engine.network.netmap import EdgeRef, NetMap

BOX_W, BOX_H = 190.0, 50.0
COL_GAP, ROW_GAP = 120.0, 46.0
MARGIN, TITLE_H = 30.0, 34.0
CURVE = 26.0  # how far parallel / opposite edges bow apart

TREE_COLOR = QColor("#1f5fd1")
EDGE_COLOR = QColor("#4d4d4d")
DOWN_COLOR = QColor("#9a9a9a")
GREY_FILL = QColor("#d9d9d9")
GREY_TEXT = QColor("#666666")

_app: QGuiApplication | None = None


def _ensure_app() -> None:
    """Painting text needs a QGuiApplication; make an offscreen one if none exists."""
    global _app
    if QGuiApplication.instance() is not None:
        return
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    # A QApplication (not just a QGuiApplication): in a process that later shows widgets (the
    # tray, or a test session) a QGuiApplication instance would make every QWidget abort.
    from PySide6.QtWidgets import QApplication

    _app = QApplication(["syncassistant-map"])


@dataclass
class _Node:
    uuid: str
    description: str
    grey: bool
    rect: QRectF = field(default_factory=QRectF)


def _layers(nodes: list[str], edges: list[dict], root: str | None) -> dict[str, int]:
    """Column of each node: BFS depth over tree edges from the root, then over all edges."""
    depth: dict[str, int] = {}
    start = root if root in nodes else (nodes[0] if nodes else None)
    for only_tree in (True, False):
        if start is None:
            break
        if start not in depth:
            depth[start] = 0
        queue = deque(sorted(depth, key=depth.__getitem__))
        while queue:
            u = queue.popleft()
            for e in edges:
                if e["src"] == u and (e["in_tree"] or not only_tree) and e["dst"] not in depth:
                    depth[e["dst"]] = depth[u] + 1
                    queue.append(e["dst"])
    last = max(depth.values(), default=-1) + 1
    for n in nodes:
        depth.setdefault(n, last)
    return depth


def _border_point(rect: QRectF, toward: QPointF) -> QPointF:
    """Where the ray from the centre of ``rect`` toward ``toward`` leaves the rectangle."""
    c = rect.center()
    dx, dy = toward.x() - c.x(), toward.y() - c.y()
    if dx == 0 and dy == 0:
        return c
    sx = (rect.width() / 2) / abs(dx) if dx else math.inf
    sy = (rect.height() / 2) / abs(dy) if dy else math.inf
    s = min(sx, sy)
    return QPointF(c.x() + dx * s, c.y() + dy * s)


def render_image(netmap: NetMap, root: str | None = None,
                 down_edges: Collection[EdgeRef] = frozenset()) -> QImage:
    """The map as a QImage (white background)."""
    _ensure_app()
    doc = json.loads(netmap.to_json(root, down_edges))
    nodes = {n["uuid"]: _Node(n["uuid"], n["description"], n["unreachable"]) for n in doc["nodes"]}
    edges: list[dict] = doc["edges"]
    order = sorted(nodes)
    depth = _layers(order, edges, root)

    columns: dict[int, list[str]] = {}
    for uuid in order:
        columns.setdefault(depth[uuid], []).append(uuid)
    row_of: dict[str, float] = {}
    for col in sorted(columns):
        def barycentre(uuid: str) -> tuple[float, str]:
            ps = [row_of[e["src"]] for e in edges if e["dst"] == uuid and e["src"] in row_of]
            return (sum(ps) / len(ps) if ps else math.inf, nodes[uuid].description or uuid)

        columns[col].sort(key=barycentre)
        for i, uuid in enumerate(columns[col]):
            row_of[uuid] = float(i)
    rows = max((len(c) for c in columns.values()), default=1)
    ncols = max(columns, default=0) + 1
    height_rows = rows * BOX_H + (rows - 1) * ROW_GAP
    for col, members in columns.items():
        offset = (height_rows - (len(members) * BOX_H + (len(members) - 1) * ROW_GAP)) / 2
        for i, uuid in enumerate(members):
            x = MARGIN + col * (BOX_W + COL_GAP)
            y = MARGIN + TITLE_H + 2 * CURVE + offset + i * (BOX_H + ROW_GAP)
            nodes[uuid].rect = QRectF(x, y, BOX_W, BOX_H)

    width = int(2 * MARGIN + ncols * BOX_W + (ncols - 1) * COL_GAP)
    height = int(2 * MARGIN + TITLE_H + 4 * CURVE + height_rows)  # room for arcs above and below
    image = QImage(max(width, 320), max(height, 120), QImage.Format.Format_ARGB32)
    image.fill(QColor("white"))
    p = QPainter(image)
    try:
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        base = QFont()
        base.setPointSizeF(9.0)
        small = QFont(base)
        small.setPointSizeF(8.0)
        title = QFont(base)
        title.setBold(True)
        p.setFont(title)
        p.setPen(QColor("black"))
        if root is not None:
            weight = doc["tree_weight"]
            text = f"arborescence from {nodes[root].description if root in nodes else ''} " \
                   f"({root[:8]}): weight {weight:g} per byte"
        else:
            text = "repository network (no root chosen)"
        p.drawText(QRectF(MARGIN, MARGIN / 2, image.width() - 2 * MARGIN, TITLE_H),
                   Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text)
        _draw_edges(p, nodes, edges, small)
        _draw_nodes(p, nodes, root, base, small)
    finally:
        p.end()
    return image


def _draw_edges(p: QPainter, nodes: dict[str, _Node], edges: list[dict], font: QFont) -> None:
    # parallel edges (several remotes, or both directions) bow apart
    groups: dict[frozenset[str], list[dict]] = {}
    for e in edges:
        groups.setdefault(frozenset((e["src"], e["dst"])), []).append(e)
    metrics = QFontMetricsF(font)
    labels: list[tuple[QPointF, str, QColor]] = []
    for members in groups.values():
        members.sort(key=lambda e: (e["src"], e["remote"]))
        for i, e in enumerate(members):
            a, b = nodes[e["src"]].rect, nodes[e["dst"]].rect
            ca, cb = a.center(), b.center()
            dx, dy = cb.x() - ca.x(), cb.y() - ca.y()
            length = math.hypot(dx, dy) or 1.0
            nx_, ny_ = -dy / length, dx / length
            # the normal flips with the direction, so A->B and B->A bow to opposite sides
            bow = CURVE * (i + 0.5) if len(members) > 1 else 0.0
            span = abs(dx) / (BOX_W + COL_GAP)
            if span > 1.2 or (abs(dx) < 1 and abs(dy) > BOX_H + ROW_GAP * 1.5):
                bow += CURVE * 1.6 * max(span, 1.0)  # skip-level edges arc around the boxes between
            ctrl = QPointF((ca.x() + cb.x()) / 2 + nx_ * bow, (ca.y() + cb.y()) / 2 + ny_ * bow)
            start, end = _border_point(a, ctrl), _border_point(b, ctrl)
            path = QPainterPath(start)
            path.quadTo(ctrl, end)
            if e["in_tree"]:
                pen, color = QPen(TREE_COLOR, 2.6), TREE_COLOR
            elif not e["reachable"] or e["down"]:
                pen, color = QPen(DOWN_COLOR, 1.2, Qt.PenStyle.DashLine), DOWN_COLOR
            else:
                pen, color = QPen(EDGE_COLOR, 1.2), EDGE_COLOR
            p.setPen(pen)
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawPath(path)
            _arrowhead(p, ctrl, end, color)
            mid = QPointF(0.25 * start.x() + 0.5 * ctrl.x() + 0.25 * end.x(),
                          0.25 * start.y() + 0.5 * ctrl.y() + 0.25 * end.y())
            label = f"{e['remote']} {e['cost']:g}"
            if abs(e["weight"] - e["cost"]) > 1e-9:
                label += f" ({e['weight']:g})"
            labels.append((mid, label, color))
    p.setFont(font)
    for mid, label, color in labels:  # on top of every line
        w = metrics.horizontalAdvance(label) + 6
        h = metrics.height() + 2
        box = QRectF(mid.x() - w / 2, mid.y() - h / 2, w, h)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QBrush(QColor(255, 255, 255, 225)))
        p.drawRoundedRect(box, 3, 3)
        p.setPen(color)
        p.drawText(box, Qt.AlignmentFlag.AlignCenter, label)


def _arrowhead(p: QPainter, ctrl: QPointF, tip: QPointF, color: QColor) -> None:
    angle = math.atan2(tip.y() - ctrl.y(), tip.x() - ctrl.x())
    size = 9.0
    left = QPointF(tip.x() - size * math.cos(angle - 0.4), tip.y() - size * math.sin(angle - 0.4))
    right = QPointF(tip.x() - size * math.cos(angle + 0.4), tip.y() - size * math.sin(angle + 0.4))
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QBrush(color))
    p.drawPolygon(QPolygonF([tip, left, right]))


def _draw_nodes(p: QPainter, nodes: dict[str, _Node], root: str | None, font: QFont, small: QFont) -> None:
    for node in nodes.values():
        p.setPen(QPen(QColor("#999999") if node.grey else QColor("black"), 2.6 if node.uuid == root else 1.2))
        p.setBrush(QBrush(GREY_FILL if node.grey else QColor("white")))
        p.drawRoundedRect(node.rect, 8, 8)
        inner = node.rect.adjusted(8, 4, -8, -4)
        p.setPen(GREY_TEXT if node.grey else QColor("black"))
        p.setFont(font)
        desc = QFontMetricsF(font).elidedText(node.description or "(no description)",
                                              Qt.TextElideMode.ElideMiddle, inner.width())
        top, bottom = QRectF(inner.x(), inner.y(), inner.width(), inner.height() / 2), \
            QRectF(inner.x(), inner.y() + inner.height() / 2, inner.width(), inner.height() / 2)
        p.drawText(top, Qt.AlignmentFlag.AlignCenter, desc)
        p.setFont(small)
        p.setPen(GREY_TEXT)
        p.drawText(bottom, Qt.AlignmentFlag.AlignCenter, node.uuid[:8])


def render_png(netmap: NetMap, root: str | None = None,
               down_edges: Collection[EdgeRef] = frozenset()) -> bytes:
    """The map as PNG bytes."""
    image = render_image(netmap, root, down_edges)
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buf, "PNG"):
        raise RuntimeError("Qt could not encode the map as PNG")
    buf.close()
    return bytes(data.data())
