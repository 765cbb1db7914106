"""The `--anatomy auto|none|LABELMAP` option of `modic segment` / `modic analyze`."""

from __future__ import annotations

import argparse
from collections.abc import Mapping

import SimpleITK as sitk

from modic.errors import ModicInputError

# off by default: with the parsed anatomy the seed falls outside every parsed body in about half the real-background
# cases, and on the built-in phantom the method without anatomy is slightly better (0.903 vs 0.878); a correct
# label map lifts real-background lesions from 0.45 to 0.80 (benchmarks/lesion_anatomy_results.md)
DEFAULT_ANATOMY = "none"


def add_anatomy_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--anatomy", default=DEFAULT_ANATOMY, metavar="none|auto|LABELMAP",
                   help="spine anatomy confining the one-click lesion to the seed's vertebral body (+ the body "
                        "across the disc), adding the marrow test to the plausibility check and checking imported "
                        "masks: none = no anatomy (default), auto = parse the spine from the images, or a label map "
                        "in modic.spine label values (spine_labels.nrrd from `modic spine`, or corrected by hand)")
    p.add_argument("--spine", metavar="LABELMAP", help="same as --anatomy LABELMAP")


def anatomy_choice(args: argparse.Namespace) -> str:
    """The --anatomy value, with --spine LABELMAP as its alias."""
    return getattr(args, "spine", None) or getattr(args, "anatomy", None) or DEFAULT_ANATOMY


def resolve_anatomy(choice: str | None, images: Mapping[str, sitk.Image]):
    """(Spine or None, note) for an --anatomy value; auto falls back to no anatomy (with a note) when the spine
    parser is unavailable or fails on these images."""
    choice = (choice or DEFAULT_ANATOMY).strip()
    if choice.lower() == "none":
        return None, "anatomy not used (--anatomy none)"
    if choice.lower() == "auto":
        try:
            from modic.spine import parse_spine
        except ImportError:
            return None, "spine parser not available in this version: segmented without anatomy"
        try:
            order = [s for s in ("T2", "T1", "FS") if s in images]
            return parse_spine({s: images[s] for s in order}), "anatomy parsed from the images (--anatomy auto)"
        except ModicInputError as exc:
            return None, f"spine parsing failed ({exc}): segmented without anatomy"
    import numpy as np

    from modic.io import read_image
    from modic.spine.model import spine_from_label_map

    labels = read_image(choice, what="anatomy label map")
    arr = sitk.GetArrayViewFromImage(labels)
    if np.issubdtype(arr.dtype, np.floating) and not np.array_equal(arr[np.isfinite(arr)],
                                                                     np.round(arr[np.isfinite(arr)])):
        raise ModicInputError(f"{choice} is not a spine label map (it holds non-integer values, like a grey-value "
                              "image): give the label map `modic spine` writes (spine_labels.nrrd)")
    values = set(np.unique(arr).tolist()) - {0}
    valid = {b + k for b in (10, 30, 50, 70) for k in range(9)}
    if not values & set(range(10, 19)) or values - valid:
        raise ModicInputError(f"{choice} is not a spine label map (labels {sorted(values)[:8]}): give the "
                              "label map `modic spine` writes (vertebral bodies 10-18, endplate zones 30-58, discs "
                              "70-77)")
    try:
        spine = spine_from_label_map(labels, info={"source": f"label map {choice}"})
    except ValueError as exc:
        raise ModicInputError(f"{choice}: not a modic.spine label map ({exc}) — use spine_labels.nrrd "
                              "from `modic spine` or values 10–78") from None
    from modic.detect_anatomy import check_spine_overlap

    check_spine_overlap(labels, images, choice)
    return spine, f"anatomy from {choice}"
