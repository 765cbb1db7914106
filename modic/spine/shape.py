"""A vertebral body is round in axial section: its sagittal outline shortens towards its lateral ends.

The parser follows each body from the mid-sagittal slab to the left and right with the mid-sagittal outline as a
template (`modic.spine.parse.follow_bodies`), so a lateral sagittal slice keeps the full mid-sagittal
anterior-posterior depth wherever the signal there looks like marrow (psoas, pedicles, partial volume). On the
development part of the real T2 scans (VB2, lumbar bodies), the labelled depth shrinks from 38 mm in the middle to
33, 26 and 18 mm at 50–75 %, 75–90 % and 90–100 % of the half-width. The followed outline stays at 38–39 mm there,
so 18 % of a body's volume was added in its lateral half.

`round_bodies` keeps, in each sagittal slice, the part of the body within the chord of a superellipse of exponent
`power`. The superellipse has the body's mid-sagittal depth and its followed lateral half-width, and is measured
across the local spine axis. Exponent 2 is an ellipse; larger exponents give a rounded rectangle.

Working-grid arrays are [lateral, inferior, posterior]; 2D coordinates are (row = inferior, col = posterior) mm.
"""

from __future__ import annotations

import numpy as np

from modic.spine.endplates import _coords


def chord_fraction(rel: float, power: float) -> float:
    """Depth of a superellipse |x|^p + |y|^p <= 1 at lateral position `rel` (0 = centre, 1 = edge), as a fraction
    of its central depth."""
    rel = min(abs(rel), 1.0)
    return float((1.0 - rel ** power) ** (1.0 / power))


def round_bodies(masks: list[np.ndarray], centroids: list[np.ndarray], k0: int, px: float, power: float,
                 margin_mm: float = 1.0) -> list[np.ndarray]:
    """Each 3D body mask (top to bottom) cut in every sagittal slice to the superellipse chord of its depth.

    `centroids` are the mid-sagittal centroids (mm), `k0` the mid-sagittal slice index, `px` the in-plane pixel (mm).
    Depth and anterior-posterior centre are measured across the local spine axis (the direction between the
    neighbouring bodies' centroids), over the central half of the body's height in slice `k0`. A body seen in fewer
    than 3 slices, absent from `k0`, or alone (no axis), is kept as it is.
    """
    n = len(masks)
    out = []
    for i, m in enumerate(masks):
        ks = np.nonzero(m.any(axis=(1, 2)))[0]
        if power <= 0 or len(ks) < 3 or not m[k0].any():
            out.append(m)
            continue
        axis = centroids[min(i + 1, n - 1)] - centroids[max(i - 1, 0)]
        length = float(np.linalg.norm(axis))
        if not length:                        # a single body: no spine axis to measure across
            out.append(m)
            continue
        u = axis / length
        t, w = _coords(m.shape[1:], px, centroids[i], u)
        tv, wv = t[m[k0]], w[m[k0]]
        lo, hi = np.quantile(tv, (0.25, 0.75))
        central = wv[(tv >= lo) & (tv <= hi)]
        if central.size < 10:
            out.append(m)
            continue
        w_lo, w_hi = float(central.min()), float(central.max())
        centre, half_depth = (w_lo + w_hi) / 2, (w_hi - w_lo) / 2
        k_mid, half_width = (ks.min() + ks.max()) / 2, (ks.max() - ks.min()) / 2 + 0.5
        cut = m.copy()
        for k in ks:
            f = chord_fraction((k - k_mid) / half_width, power)
            cut[k] &= np.abs(w - centre) <= f * half_depth + margin_mm
        out.append(cut)
    return out
