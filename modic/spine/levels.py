"""Level naming of a parsed vertebral column (step 6 of `modic.spine.parse`): S1 where the column turns
posteriorly into the sacrum (`find_sacrum`), or given by the parser's fused sacral block, or where the column ends
inside the image (`column_ends_in_view`), or where its lowest body is cut by the lower edge of the field of view
(`column_cut_by_view`); otherwise the lowest body is called L5 and the naming is uncertain.

Chain regions are `modic.spine.column.Region`s: `centroid` is (row = inferior, col = posterior) mm on the working grid.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from modic.spine.model import LEVELS

if TYPE_CHECKING:
    from modic.spine.column import Region

SETTINGS = {
    "sacral_turn_deg": 22.0, "sacral_jump_deg": 12.0, "usual_lean_deg": -8.0, "lean_margin_deg": 5.0,
    "fat_suppressed_names": ("FS", "STIR", "SPAIR", "TIRM", "FATSAT", "SPIR"),
    "column_end_s1": True, "column_end_ratio": 0.7,
    "cut_s1": True, "cut_probe_mm": 2.0, "cut_min_mm": 5.0,
    "fused_gap_mm": 1.0, "fused_turn_deg": 8.0, "turn_disc_fraction": 0.6,
}


def name_column(column: dict, px: float, names: list[str], body_gaps_mm: list[float | None] | None = None
                ) -> tuple[list[str], bool, str]:
    """(level names top to bottom, whether anchored on the sacrum, why) of a column found by the parser
    (`chain`, `gaps`, `sacrum` from its sacral block, `slices` of the images `names`); px = working-grid mm.
    `body_gaps_mm`: the gap between each pair of consecutive followed bodies (`fused_sacrum`)."""
    chain = column["chain"]
    if len(chain) < 2:
        return [], False, ""
    ends = None     # S1 anchored where the column ends or splits, with the naming left uncertain
    if column.get("sacrum") is None and find_sacrum(chain, beyond_lean=True, body_gaps_mm=body_gaps_mm)[0] is None:
        if body_gaps_mm:
            ends = fused_sacrum(chain, body_gaps_mm)
        if ends is None and SETTINGS["column_end_s1"] and len(chain) >= 3:
            ends = column_ends_in_view(column, px, names)
        if ends is None and SETTINGS["cut_s1"] and len(chain) >= 3:
            ends = column_cut_by_view(column, px)
    levels, certain, reason = name_levels(chain, column.get("gaps"), column.get("sacrum") or ends, body_gaps_mm)
    # where the column ends is not the sacrum itself; a fused block without a turn may be a merged disc
    return levels, certain and ends is None and not column.get("sacrum_uncertain"), reason


def fused_sacrum(chain: list[Region], body_gaps_mm: list[float | None]) -> tuple[int, str] | None:
    """(index of S1, why) when the two lowest bodies of the chain touch — no disc between them: their followed
    marrow is at most `fused_gap_mm` apart along the column — and the step between them points `fused_turn_deg` or
    more posterior, and further posterior than the step above. Lumbar bodies are always separated by a disc; S1
    and S2 are fused. This is the sacral block of `modic.spine.column.sacral_block` split in two (a field of view
    that ends in the sacrum), so its upper part is S1. None otherwise."""
    if len(chain) < 3 or len(body_gaps_mm) != len(chain) - 1 or body_gaps_mm[-1] is None:
        return None
    angles = chain_angles(chain)
    if body_gaps_mm[-1] > SETTINGS["fused_gap_mm"] or angles[-1] < SETTINGS["fused_turn_deg"] \
            or angles[-1] <= angles[-2]:
        return None
    return len(chain) - 2, (f"sacrum recognised: the two lowest bodies touch (no disc between them, "
                            f"{body_gaps_mm[-1]:.1f} mm) below a {angles[-1]:.0f}° posterior step: the upper is S1, "
                            "the lower S2; naming uncertain (a collapsed L5-S1 disc can look alike)")


def fat_suppressed(name: str) -> bool:
    """A fat-suppressed sequence by its name (FS, STIR, T2-FS, SPAIR, TIRM …): never searched alone for the column,
    since its dark marrow between bright discs lets a chain of discs pass for one of bodies."""
    key = name.upper().replace("-", "").replace("_", "")
    return any(tok in key for tok in SETTINGS["fat_suppressed_names"])


def column_ends_in_view(column: dict, px: float, names: list[str]) -> tuple[int, str] | None:
    """(index of S1, why) when the column ends inside the image: one spacing below its lowest body (straight on,
    or turning up to 40° posteriorly) there is no marrow — on a non-fat-suppressed image the signal there is
    under `column_end_ratio` × the bodies' marrow at every angle — although the image goes on. A lumbar column
    always continues into the sacrum, so the lowest body is then taken as S1 (naming stays uncertain); None
    otherwise (the image ends first, or something marrow-like lies below)."""
    chain = column["chain"]
    step = chain[-1].centroid - chain[-2].centroid
    radius = 0.3 * float(np.linalg.norm(step))
    for name, img in zip(names, column["slices"], strict=False):
        if fat_suppressed(name):
            continue
        vals = [_mean_in_disc(img, r.centroid, 0.3 * radius, px) for r in chain]
        marrow = float(np.median([v for v in vals if v is not None] or [np.nan]))
        if not np.isfinite(marrow) or marrow <= 0:
            continue
        below = []
        for deg in range(0, 41, 10):
            a = np.radians(deg)
            rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])   # turns the step posteriorly
            below.append(_mean_in_disc(img, chain[-1].centroid + rot @ step, radius, px))
        if any(v is None for v in below):
            continue                       # the image ends below the column: nothing can be said
        if max(below) < SETTINGS["column_end_ratio"] * marrow:
            return len(chain) - 1, (f"no sacrum recognised, but the column ends inside the image (no marrow below "
                                    f"the lowest body on {name}: {max(below) / marrow:.2f} of the bodies' signal): "
                                    "the lowest body is taken as S1, naming uncertain")
    return None


def column_cut_by_view(column: dict, px: float) -> tuple[int, str] | None:
    """(index of S1, why) when the column's lowest body is cut by the lower edge of the field of view: along at
    least `cut_min_mm` of its width, the pixel `cut_probe_mm` below one of its pixels lies outside the slab or in the
    zero padding outside the reconstructed field of view. Its visible part is the top of a body, whose centroid
    says nothing of the lumbosacral turn, and a lumbar series is planned to reach the sacrum: a body the field of
    view cuts is taken as S1 (naming uncertain). None otherwise, or when the body's pixels are not in the column's
    label maps (a body joined from another slab)."""
    low = column["chain"][-1]
    maps = column.get("labels")
    if not maps or low.scale >= len(maps) or (low.slab is not None and low.slab != column.get("k")):
        return None
    img = column["slices"][0]
    rows, cols = np.nonzero(maps[low.scale] == low.label)
    if not rows.size:
        return None
    below = rows + max(int(round(SETTINGS["cut_probe_mm"] / px)), 1)
    out = below >= img.shape[0]
    out[~out] = img[below[~out], cols[~out]] <= 0
    if np.unique(cols[out]).size * px < SETTINGS["cut_min_mm"]:
        return None
    return len(column["chain"]) - 1, ("no lumbosacral turn found, but the lowest body is cut by the lower edge of the "
                                      "field of view: taken as S1 (a lumbar series reaches the sacrum), naming "
                                      "uncertain")


def _mean_in_disc(img: np.ndarray, centre_mm: np.ndarray, radius_mm: float, px: float) -> float | None:
    """Median signal in a disc (mm) of a 2D slice, or None when the disc leaves the slice or its field of view."""
    r0, c0 = centre_mm / px
    rad = radius_mm / px
    if r0 - rad < 0 or c0 - rad < 0 or r0 + rad >= img.shape[0] or c0 + rad >= img.shape[1]:
        return None
    rr, cc = np.ogrid[:img.shape[0], :img.shape[1]]
    vals = img[(rr - r0) ** 2 + (cc - c0) ** 2 <= rad ** 2]
    if not vals.size or np.mean(vals > 0) < 0.9:
        return None                        # outside the reconstructed field of view (zero padding)
    return float(np.median(vals))


def step_deg(step: np.ndarray) -> float:
    """Direction (degrees) of a (row = inferior, col = posterior) step from the working grid's inferior axis; + is
    posterior."""
    return float(np.degrees(np.arctan2(step[1], step[0])))


def chain_angles(chain: list[Region]) -> list[float]:
    """`step_deg` of each step of a chain, top to bottom (+ = posterior)."""
    return [step_deg(st) for st in np.diff([r.centroid for r in chain], axis=0)]


def last_turn(chain: list[Region]) -> float:
    return step_deg(chain[-1].centroid - chain[-2].centroid)


def lean_beyond_usual(angles: list[float]) -> float:
    """How far (degrees, + posterior) a column leans beyond the usual range in the image: the median of its step
    angles above its two lowest steps (which may turn into the sacrum; chains of ≥ 5 steps only, else 0), less
    `usual_lean_deg` and then `lean_margin_deg` towards 0. The supine lumbar column's steps point −3° … −15° on the
    development scans (median per scan); a patient lying tilted, or a field of view turned in-plane, adds to all."""
    if len(angles) < 5:
        return 0.0
    excess = float(np.median(angles[:-2])) - SETTINGS["usual_lean_deg"]
    return float(np.sign(excess) * max(0.0, abs(excess) - SETTINGS["lean_margin_deg"]))


def find_sacrum(chain: list[Region], beyond_lean: bool = False, body_gaps_mm: list[float | None] | None = None
                ) -> tuple[int | None, str]:
    """Index of the S1 body in the chain, or None, and why.

    The lumbosacral junction is where the column turns posteriorly: the step from L5 to S1 points
    `sacral_turn_deg` or more posterior of the image's inferior axis and turns by `sacral_jump_deg` or more
    from the step above (lumbar steps point anteriorly or straight down in sagittal MR of a supine patient).
    `beyond_lean` (the final naming, not the column search, which follows the column down to the turn as before):
    a column that leans more than usual in the image (`lean_beyond_usual`) has that excess taken off its steps first.
    """
    angles = chain_angles(chain)   # + = posterior
    lean = lean_beyond_usual(angles) if beyond_lean else 0.0
    for n in range(1, len(angles)):
        if angles[n] - lean >= SETTINGS["sacral_turn_deg"] and angles[n] - angles[n - 1] >= SETTINGS["sacral_jump_deg"]:
            if n + 1 < len(angles) and angles[n + 1] >= angles[n] + 8 \
                    and (angles[n + 1] - angles[n] > angles[n] - angles[n - 1] or _disc_below(body_gaps_mm, n + 1)):
                continue                   # the column bends more sharply below: the sacrum is lower down
            return n + 1, (f"sacrum recognised: the column turns {angles[n]:.0f}° posterior below the body above it "
                           f"({angles[n] - angles[n - 1]:.0f}° more than the step above"
                           + (f"; the column leans {lean:+.0f}° beyond the usual" if lean else "") + ")")
    if len(angles) == 1 and angles[0] >= SETTINGS["sacral_turn_deg"] + SETTINGS["sacral_jump_deg"]:
        return 1, f"sacrum assumed from a {angles[0]:.0f}° posterior step (only two bodies in view)"
    last = f"{angles[-1]:.0f}°" if angles else "none"
    return None, f"no lumbosacral turn found (lowest step {last}): levels counted up from L5, naming uncertain"


def _disc_below(body_gaps_mm: list[float | None] | None, step: int) -> bool:
    """Whether the bodies of chain step `step` are apart like the chain's other bodies (gap ≥ `turn_disc_fraction` ×
    the median of the others): a disc lies between them, so that step is not within the fused sacrum."""
    frac = SETTINGS["turn_disc_fraction"]
    if not frac or not body_gaps_mm or step >= len(body_gaps_mm) or body_gaps_mm[step] is None:
        return False
    others = [g for i, g in enumerate(body_gaps_mm) if i != step and g is not None]
    return bool(others) and body_gaps_mm[step] >= frac * float(np.median(others))


def name_levels(chain: list[Region], gaps: list[int] | None = None, sacrum: tuple[int, str] | None = None,
                body_gaps_mm: list[float | None] | None = None) -> tuple[list[str], bool, str]:
    """Level names (top to bottom; "" below S1 or above T10), whether anchored on the sacrum, and why.
    `gaps[i]` bodies are missing just above chain[i] (they are counted, not drawn); `sacrum` = (index of S1,
    why) when the sacrum was recognised otherwise (`sacral_block`)."""
    n = len(chain)
    position = np.cumsum(np.arange(n) * 0 + 1 + np.asarray(gaps if gaps is not None else [0] * n)) - 1
    s1, reason = find_sacrum(chain, beyond_lean=True, body_gaps_mm=body_gaps_mm)
    if s1 is None and sacrum is not None:
        s1, reason = sacrum
    bottom, anchor = (s1, LEVELS.index("S1")) if s1 is not None else (n - 1, LEVELS.index("L5"))
    names = []
    for i in range(n):
        j = anchor - int(position[bottom] - position[i])
        names.append(LEVELS[j] if 0 <= j < len(LEVELS) and i <= bottom else "")
    if gaps is not None and any(gaps[: bottom + 1]):
        reason += f"; {sum(gaps[: bottom + 1])} body(ies) not found inside the column were counted"
    return names, s1 is not None, reason
