"""Noise-adaptive denoising before spine parsing (`modic.spine.denoise`, parser version 27): the noise estimate,
what the filter keeps, and parsing at clinical noise — a real development scan with Rician noise added and the
built-in phantom's fat-suppressed image alone."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
import SimpleITK as sitk
from test_spine_parse import ROOT, _load_real, _score, needs_realmri

from modic.spine import parse_spine
from modic.spine.denoise import denoise_slices, relative_noise


def _slices_with_lines(noise: float, seed: int = 0) -> np.ndarray:
    """[lateral, SI, AP] stack: flat 1.0 with 2-pixel dark lines (0.5) every 30 rows, Gaussian noise `noise`."""
    arr = np.ones((7, 160, 120))
    for r in range(15, 160, 30):
        arr[:, r:r + 2, 10:110] = 0.5
    return (arr + np.random.default_rng(seed).normal(0, noise, arr.shape)).astype(np.float32)


@pytest.mark.parametrize("noise", [0.01, 0.04])
def test_relative_noise_estimates_the_noise_as_a_fraction_of_the_bright_signal(noise):
    arr = _slices_with_lines(noise)
    hi = np.quantile(arr[arr > 0], 0.99)
    est = relative_noise(arr)
    assert abs(est * hi - noise) < 0.15 * noise, (est * hi, noise)
    assert relative_noise(np.zeros((3, 10, 10))) == 0.0


def test_denoising_flattens_the_noise_and_keeps_thin_dark_lines():
    arr = _slices_with_lines(0.08)
    out = denoise_slices(arr, relative_noise(arr), px=1.0)
    flat, line = (slice(None), slice(50, 70), slice(20, 100)), (slice(None), slice(45, 47), slice(20, 100))
    assert out[flat].std() < 0.4 * arr[flat].std()
    contrast = out[flat].mean() - out[line].mean()
    assert contrast > 0.8 * 0.5, contrast            # the 2-pixel line keeps > 80 % of its depth
    clean = _slices_with_lines(0.0)
    assert np.abs(denoise_slices(clean, 0.001, px=1.0) - clean).max() < 0.01   # a clean image stays as it is


def test_a_window_filtered_with_its_margin_holds_what_the_whole_slice_gives():
    """`FrameDenoiser` filters the column-search slabs whole and the other slices only inside the window the bodies are
    followed in: inside it the values must be exactly those of filtering whole slices, outside it the input's."""
    from modic.spine.denoise import FrameDenoiser

    arr = _slices_with_lines(0.05, seed=3)
    arr[:, :, :60] *= np.linspace(0.6, 1.0, 60)[None, None, :]      # not flat: the filter's weights vary
    whole = denoise_slices(arr, 0.05, px=1.0)
    parts = {"T2": arr.copy()}
    d = FrameDenoiser(parts, px=1.0, noise={"T2": 0.05})
    d.filter([2, 4])
    window = (slice(40, 110), slice(30, 90))
    d.filter(window=window)
    out = parts["T2"]
    np.testing.assert_array_equal(out[[2, 4]], whole[[2, 4]])                   # slabs: whole slices
    np.testing.assert_array_equal(out[:, 40:110, 30:90], whole[:, 40:110, 30:90])
    np.testing.assert_array_equal(out[0, :40], arr[0, :40])                     # outside the window: as given
    report = d.report()["T2"]                    # what was filtered: 2 slices whole, 5 in the window + 9 px margin
    assert report == {"relative_noise": 0.05, "denoised": True, "slices_whole": 2, "slices_in_window": 5,
                      "window_share": pytest.approx((119 - 31) * (99 - 21) / (160 * 120), abs=1e-3)}
    assert np.abs(out[0, 40:110, 30:90] - arr[0, 40:110, 30:90]).max() > 0.05   # and the window was filtered


def test_filtering_only_what_the_parser_reads_parses_as_filtering_everything(monkeypatch):
    """Every step after the column search reads the frame inside the follow window only: the built-in phantom's three
    images (all denoised) give the same label map, voxel for voxel, when every slice is filtered whole (without the
    window's filtering 32 voxels differ)."""
    from modic.phantom import case_spec, synthesize
    from modic.spine.denoise import FrameDenoiser

    case = synthesize(case_spec(1, 0, 2))
    images = {k: case.images[k] for k in ("T1", "T2", "FS")}
    parts = parse_spine(images)
    assert all(v["denoised"] for v in parts.info["denoising"].values())
    whole_filter = FrameDenoiser.filter
    monkeypatch.setattr(FrameDenoiser, "filter", lambda self, slices=None, window=None: whole_filter(self))
    everything = parse_spine(images)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(parts.labels), sitk.GetArrayFromImage(everything.labels))


@needs_realmri
def test_a_real_scan_at_clinical_noise_is_parsed_like_the_clean_one():
    """VB2_06 (development) at 4 mm with Rician noise at marrow SNR 15: version 26 found 5 of its 7 labelled bodies
    and named none (Dice 0.58); denoised, all are found and named as on the clean scan (Dice 0.86)."""
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from spine_accuracy import reslice, rician

    image, labels, levels = _load_real("VB2_06")
    image, labels = reslice(image, labels, 4.0)
    arr = sitk.GetArrayFromImage(image).astype(np.float32)
    marrow = float(np.median(arr[np.isin(sitk.GetArrayFromImage(labels), list(levels))]))
    spine = parse_spine({"T2": rician(image, marrow / 15.0, [zlib.crc32(b"images/VB2_06.nii.gz"), 0])})
    found, named, dices = _score(spine, labels, levels)
    assert spine.info["denoising"]["T2"]["denoised"] is True
    assert 0.015 < spine.info["denoising"]["T2"]["relative_noise"] < 0.05
    assert found == 7 and named == 7, (found, named, dices)
    assert np.mean(dices) > 0.78, dices


def test_a_fat_suppressed_image_alone_is_parsed():
    """The built-in phantom's FS image alone (a STIR-only study: dark, noisy marrow): version 26 found none of the six
    bodies (its chain ran down the bright canal); denoised, all six are found and named from the sacrum."""
    from modic.phantom import case_spec, synthesize
    from modic.phantom.anatomy import spine_from_phantom_anatomy

    case = synthesize(case_spec(0, 0, 1))
    truth = spine_from_phantom_anatomy(case.anatomy)
    spine = parse_spine({"FS": case.images["FS"]})
    assert spine.info["denoising"]["FS"]["denoised"] is True
    found = {v.level for v in spine.vertebrae()}
    assert found == {"L1", "L2", "L3", "L4", "L5", "S1"}, found
    dices = {}
    for level in found:
        parsed = sitk.GetArrayFromImage(spine.body_mask(level)).astype(bool)
        true = sitk.GetArrayFromImage(sitk.Resample(truth.body_mask(level), spine.labels, sitk.Transform(),
                                                    sitk.sitkNearestNeighbor, 0)).astype(bool)
        dices[level] = 2 * (parsed & true).sum() / (parsed.sum() + true.sum())
    assert min(dices.values()) > 0.7 and np.mean(list(dices.values())) > 0.85, dices
