"""Noise-adaptive denoising of the working frame before the spine is sought (step 1b of `modic.spine.parse`).

The parser reads thin dark lines (cortex, endplates) and region outlines; at clinical signal-to-noise ratios
(marrow SNR 15–30 on a 4 mm sagittal T2, lower on STIR, where the marrow is dark) noise splits the regions and
breaks the chain. Each image's noise is estimated on its working slices (scikit-image `estimate_sigma`, a robust
wavelet estimate) and its sagittal slices are denoised by non-local means (`denoise_nl_means`) with a filtering
strength proportional to that estimate, so that a clean image is left practically as it is and a noisy one is
smoothed where it is flat while its edges and thin lines are kept.
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
    s = {**DENOISE_SETTINGS, **(settings or {})}
    hi = bright_level(arr) if hi is None else hi
    patch = max(int(round(s["patch_mm"] / px)) | 1, 3)
    search = max(int(round(s["search_mm"] / px)), 1)
    out = np.empty(arr.shape, np.float32)
    for i in range(arr.shape[0]):
        if not np.any(arr[i]):
            out[i] = arr[i]
            continue
        out[i] = denoise_nl_means(arr[i] / hi, h=s["h"] * noise, sigma=noise, patch_size=patch,
                                  patch_distance=search, fast_mode=True) * hi
    return out


def denoise_frame(arrays: dict[str, np.ndarray], px: float, settings: dict | None = None) -> dict[str, dict]:
    """Denoise every array of a working frame in place where its noise is at least `min_noise`; returns, per image,
    {"relative_noise": …, "denoised": bool} (recorded in `Spine.info["denoising"]`)."""
    s = {**DENOISE_SETTINGS, **(settings or {})}
    report = {}
    for name, arr in arrays.items():
        hi = bright_level(arr)
        noise = relative_noise(arr, s["estimate_slices"], hi)
        done = bool(s["enabled"] and noise > 0 and noise >= s["min_noise"])
        if done:
            arrays[name] = denoise_slices(arr, noise, px, s, hi)
        report[name] = {"relative_noise": round(noise, 5), "denoised": done}
    return report
