"""Noise-adaptive denoising of the working frame before the spine is sought (step 1b of `modic.spine.parse`).

The parser reads thin dark lines (cortex, endplates) and region outlines; at clinical signal-to-noise ratios
(marrow SNR 15–30 on a 4 mm sagittal T2, lower on STIR, where the marrow is dark) noise splits the regions and
breaks the chain. Each image's noise is estimated on its working slices (scikit-image `estimate_sigma`, a robust
wavelet estimate) and its sagittal slices are denoised by non-local means (`denoise_nl_means`) with a filtering
strength proportional to that estimate, so that a clean image is left practically as it is and a noisy one is
smoothed where it is flat while its edges and thin lines are kept. `FrameDenoiser` filters only what the parser
reads (the column-search slabs, then the window the bodies are followed in), with the same result there.
"""

from __future__ import annotations

import numpy as np
from skimage.restoration import denoise_nl_means, estimate_sigma

DENOISE_SETTINGS = {
    "enabled": True,
    "h": 0.8,               # filtering strength: h = 0.8 × the estimated noise (as in scikit-image's NL-means example)
    "patch_mm": 5.0,        # patch side (mm on the working grid)
    "search_mm": 6.0,       # how far (mm) similar patches are sought
    "min_noise": 0.003,     # below this relative noise (of the 99th percentile) an image is left as it is (speed)
    "estimate_slices": 5,   # central sagittal slices the noise is estimated on (median)
}


def bright_level(arr: np.ndarray) -> float:
    """The 99th percentile of an array's non-zero values (1.0 when there are none): the scale noise is given in."""
    v = arr[arr > 0]
    return (float(np.quantile(v, 0.99)) if v.size else 1.0) or 1.0


def relative_noise(arr: np.ndarray, n_slices: int = 5, hi: float | None = None) -> float:
    """Noise standard deviation of a [lateral, SI, AP] array as a fraction of its 99th percentile of non-zero
    values (`hi`, computed when not given): the median of `estimate_sigma` over the `n_slices` central sagittal
    slices (0 for an empty array)."""
    if not np.any(arr > 0):
        return 0.0
    hi = bright_level(arr) if hi is None else hi
    m = arr.shape[0] // 2
    lo, up = max(m - n_slices // 2, 0), min(m + n_slices - n_slices // 2, arr.shape[0])
    est = [float(estimate_sigma(arr[i] / hi)) for i in range(lo, up) if np.any(arr[i])]
    return float(np.median(est)) if est else 0.0


def denoise_slices(arr: np.ndarray, noise: float, px: float, settings: dict | None = None,
                   hi: float | None = None) -> np.ndarray:
    """`arr` ([lateral, SI, AP], pixel `px` mm) denoised slice by slice by non-local means for a relative noise
    `noise` (fraction of the 99th percentile `hi`, computed when not given); float32, same scale as `arr`."""
    out = np.asarray(arr, np.float32).copy()
    every = {**(settings or {}), "enabled": True, "min_noise": 0.0}     # asked for: filtered whatever the noise
    FrameDenoiser({"image": out}, px, every, noise={"image": noise}, hi={"image": hi}).filter()
    return out


def _nl_means(sl: np.ndarray, noise: float, hi: float, patch: int, search: int, h: float) -> np.ndarray:
    return denoise_nl_means(sl / hi, h=h * noise, sigma=noise, patch_size=patch, patch_distance=search,
                            fast_mode=True) * hi


class FrameDenoiser:
    """Denoises the arrays of a working frame in place, in parts, each pixel at most once: first the sagittal slices
    the column search reads (whole), then, once the column is known, the other slices inside the window the bodies
    are followed in. Non-local means reads only pixels within `search` + `patch` // 2 of each pixel, so a window
    filtered with that margin holds exactly what filtering the whole slice gives there (on a noisy 1 mm isotropic
    T2 scan about 60 % of the filtering time).

    `noise` / `hi` (per image) are estimated when not given; images under `min_noise` are left as they are.
    """

    def __init__(self, arrays: dict[str, np.ndarray], px: float, settings: dict | None = None,
                 noise: dict[str, float] | None = None, hi: dict[str, float | None] | None = None) -> None:
        self.arrays, self.settings = arrays, {**DENOISE_SETTINGS, **(settings or {})}
        s = self.settings
        self.hi = {n: (hi or {}).get(n) or bright_level(a) for n, a in arrays.items()}
        self.noise = {n: (noise or {}).get(n, None) for n in arrays}
        for n, a in arrays.items():
            if self.noise[n] is None:
                self.noise[n] = relative_noise(a, s["estimate_slices"], self.hi[n])
        self.active = [n for n in arrays if s["enabled"] and self.noise[n] > 0 and self.noise[n] >= s["min_noise"]]
        for n in self.active:
            arrays[n] = np.asarray(arrays[n], np.float32)
        self.patch = max(int(round(s["patch_mm"] / px)) | 1, 3)
        self.search = max(int(round(s["search_mm"] / px)), 1)
        self.done: set[int] = set()        # slices filtered (whole, or inside the window)
        self.whole: set[int] = set()       # … of which whole
        self.window_share = 0.0            # share of a slice's pixels inside the window (margin included)
        self.pixels = 0                    # pixels filtered (each image counted)

    def filter(self, slices: list[int] | None = None, window: tuple[slice, slice] | None = None) -> None:
        """Filter `slices` (default: all not filtered yet) — whole, or only inside `window` (rows, cols of a slice);
        a windowed slice is not filtered again."""
        nk = next(iter(self.arrays.values())).shape[0] if self.arrays else 0
        todo = [k for k in (range(nk) if slices is None else slices) if k not in self.done]
        m = self.search + self.patch // 2 + 1
        for name in self.active:
            arr = self.arrays[name]
            rows, cols = window if window is not None else (slice(0, arr.shape[1]), slice(0, arr.shape[2]))
            r0, r1, _ = rows.indices(arr.shape[1])
            c0, c1, _ = cols.indices(arr.shape[2])
            a0, a1, b0, b1 = max(r0 - m, 0), min(r1 + m, arr.shape[1]), max(c0 - m, 0), min(c1 + m, arr.shape[2])
            for k in todo:
                part = arr[k, a0:a1, b0:b1]
                if not np.any(part):
                    continue
                done = _nl_means(part, self.noise[name], self.hi[name], self.patch, self.search, self.settings["h"])
                arr[k, r0:r1, c0:c1] = done[r0 - a0:r1 - a0, c0 - b0:c1 - b0]
                self.pixels += part.size
            if window is not None:
                self.window_share = (a1 - a0) * (b1 - b0) / float(arr.shape[1] * arr.shape[2])
        self.done.update(todo)
        if window is None:
            self.whole.update(todo)

    def report(self) -> dict[str, dict]:
        """Per image {"relative_noise": …, "denoised": bool} (recorded in `Spine.info["denoising"]`); a denoised
        image also says what was filtered: `slices_whole` (sagittal slices filtered whole: the column-search
        slabs), `slices_in_window` (the others, filtered inside the follow window) and `window_share` (that
        window with the filter's margin, as a share of a slice)."""
        out = {}
        for n in self.arrays:
            out[n] = {"relative_noise": round(self.noise[n], 5), "denoised": n in self.active}
            if n in self.active:
                out[n].update(slices_whole=len(self.whole), slices_in_window=len(self.done - self.whole),
                              window_share=round(self.window_share, 3))
        return out
