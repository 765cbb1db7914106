"""The sacrum where the column shows no clear lumbosacral turn (part of step 3 of `modic.spine.parse`, called from
`modic.spine.column.extend_down`): a shallow turn into a fused marrow block (`sacral_block`), or a fused block
that holds or follows the column's lowest body (`fused_block`). Its top part, one body height tall, is S1.

Regions carry (row = inferior, col = posterior) mm centroids on the working grid (`modic.spine.frame`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from modic.spine.levels import last_turn, step_deg
from modic.spine.settings import SETTINGS

if TYPE_CHECKING:
    from modic.spine.column import Region


def sacral_block(column: dict, pool: list[Region], px: float, step: float, marrow: float, area: float) -> None:
    """A shallow lumbosacral turn: directly below the lowest body (one spacing down, pointing posteriorly by
    `sacral_block_deg` or more, and turning posteriorly from the step above) lies a region of marrow signal
    much larger than a body (≥ `sacral_block_area` × the median body area): the sacrum, whose segments are
    fused. Its top part, one body height tall along the column, is S1 (`column["sacrum"]`)."""
    chain = column["chain"]
    last = chain[-1]
    best = None
    for r in pool:
        d = r.centroid - last.centroid
        dist = float(np.hypot(*d))
        angle = step_deg(d)
        if not (0.75 * step <= dist <= 1.6 * step) or angle < SETTINGS["sacral_block_deg"] or angle > 45.0:
            continue
        if angle - last_turn(chain) < 3.0 or r.area < SETTINGS["sacral_block_area"] * area:
            continue
        if not 0.6 <= r.mean / (marrow or 1.0) <= 1.6:
            continue
        if best is None or dist < float(np.hypot(*(best.centroid - last.centroid))):
            best = r
    if best is None:
        return
    rows, cols = np.nonzero(column["labels"][best.scale] == best.label)
    s1 = _append_top(column, best.scale, rows, cols, px, best)
    column["sacrum"] = (len(chain) - 1, f"sacrum recognised: a fused marrow block {best.area / area:.1f}× a body's "
                        f"area lies below the column ({step_deg(s1.centroid - last.centroid):.0f}° "
                        "posterior); its top part is S1")


def _lowest_step(chain: list[Region]) -> np.ndarray:
    """Unit vector of the column's lowest step (row, col)."""
    d = chain[-1].centroid - chain[-2].centroid
    return d / (np.linalg.norm(d) or 1.0)


def _body_height(chain: list[Region]) -> float:
    """Median body height (mm) along the column's lowest step."""
    u = _lowest_step(chain)
    return float(np.median([np.sqrt(12 * u @ r.cov @ u) for r in chain]))


def _along(chain: list[Region], rows: np.ndarray, cols: np.ndarray, px: float) -> tuple[np.ndarray, np.ndarray]:
    """Pixels' position (mm) along the column's lowest step from its lowest body's centroid, and across it."""
    u = _lowest_step(chain)
    dr, dc = rows * px - chain[-1].centroid[0], cols * px - chain[-1].centroid[1]
    return dr * u[0] + dc * u[1], dc * u[0] - dr * u[1]


def _append_top(column: dict, scale: int, rows: np.ndarray, cols: np.ndarray, px: float, like: Region) -> Region:
    """Append the top part (one body height along the column) of a fused block's pixels (of watershed variant
    `scale`) to the chain as S1; shape figures are copied from `like`."""
    chain, labels = column["chain"], column["labels"][scale]
    t, _ = _along(chain, rows, cols, px)
    top = t <= t.min() + _body_height(chain)
    new = int(labels.max()) + 1
    labels[rows[top], cols[top]] = new
    coords = np.stack([rows[top], cols[top]], axis=1) * px
    vals = column["slices"][0][rows[top], cols[top]]
    s1 = replace(like, label=new, centroid=coords.mean(axis=0), area=float(top.sum() * px * px),
                 mean=float(vals.mean()), cv=float(vals.std() / (abs(vals.mean()) or 1.0)), cov=np.cov(coords.T),
                 scale=scale, slab=None)
    chain.append(s1)
    column["gaps"].append(0)
    return s1


def fused_block(column: dict, px: float, step: float, marrow: float, area: float) -> None:
    """The sacrum without a lumbosacral turn: the column goes on as one fused marrow block — a watershed region (no
    dark line across it) of marrow signal, ≥ `sacral_block_area` × the median body area and ≥ 1.5 body heights long
    along the column — that either holds the lowest body, or the two lowest, as its top part (the top one of them is
    S1; the field of view cuts the sacrum, and a body below S1 is a sacral segment), or starts one disc below the
    lowest body (≤ `fused_disc_mm` past its inferior end, within 0.4 spacing of the column's line; its top part is
    appended as S1). Lumbar bodies are separated by discs; S1 and S2 are fused. Without the turn a merged, collapsed
    disc could look alike, so the naming stays uncertain (`column["sacrum_uncertain"]`).
    """
    chain = column["chain"]
    if len(chain) < 3 or column.get("sacrum") is not None:
        return
    last = chain[-1]
    owns = [column["labels"][r.scale] == r.label for r in chain[-2:]]      # second-lowest, lowest body
    tops = [float(_along(chain, *np.nonzero(o), px)[0].min()) for o in owns]
    height = _body_height(chain)
    best = None
    for scale, labels in enumerate(column["labels"]):
        counts = np.bincount(labels.ravel())
        for lab in np.nonzero(counts * px * px >= SETTINGS["sacral_block_area"] * area)[0]:
            rows, cols = np.nonzero(labels == lab)
            if lab == 0 or not 0.6 <= float(np.median(column["slices"][0][rows, cols])) / (marrow or 1.0) <= 1.6:
                continue
            t, p = _along(chain, rows, cols, px)
            if t.max() - t.min() < 1.5 * height:
                continue                   # not longer than a body and a half: a disc could end it
            inside = [float(np.mean(labels[o] == lab)) for o in owns]
            s1 = None
            if inside[1] >= 0.8 and inside[0] >= 0.8 and t.min() >= tops[0] - 0.25 * height:
                s1 = len(chain) - 2        # the two lowest bodies are the block's top part: S1 and a sacral segment
            elif inside[1] >= 0.8 and t.min() >= tops[1] - 0.25 * height:
                s1 = len(chain) - 1        # the lowest body is the block's top part
            elif inside[1] <= 0.1 and 0.5 * height - 2.0 <= t.min() <= 0.5 * height + SETTINGS["fused_disc_mm"] \
                    and abs(np.median(p[t <= t.min() + height])) <= 0.4 * step:
                s1 = len(chain)            # one disc below the lowest body: its top part is appended
            if s1 is not None and (best is None or t.min() < best[0]):
                best = (float(t.min()), s1, scale, rows, cols, counts[lab] * px * px)
    if best is None:
        return
    _, s1, scale, rows, cols, block = best
    what = {len(chain) - 2: "holds the two lowest bodies as its top part (the lower one a sacral segment)",
            len(chain) - 1: "holds the lowest body as its top part"}.get(s1, "starts one disc below the lowest body")
    if s1 == len(chain):
        _append_top(column, scale, rows, cols, px, last)
    column["sacrum"] = (s1, f"sacrum recognised: a fused marrow block {block / area:.1f}× a body's area {what}; "
                        "its top part is S1 (no lumbosacral turn: naming uncertain)")
    column["sacrum_uncertain"] = True
