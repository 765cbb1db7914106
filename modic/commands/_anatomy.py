"""The `--anatomy auto|none|LABELMAP` option of `modic segment` / `modic analyze`."""

from __future__ import annotations

import argparse
from collections.abc import Mapping

import SimpleITK as sitk

from modic.errors import ModicInputError


def add_anatomy_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--anatomy", default="auto", metavar="auto|none|LABELMAP",
                   help="spine anatomy confining the one-click lesion to the seed's vertebral body (+ the body "
                        "across the disc) and checking imported masks: auto = parse the spine from the images "
                        "(default), none = the method without anatomy, or a label map in modic.spine label values "
                        "(e.g. spine_labels.nrrd from `modic spine`)")


def resolve_anatomy(choice: str | None, images: Mapping[str, sitk.Image]):
    """(Spine or None, note) for an --anatomy value; auto falls back to no anatomy (with a note) when the spine
    parser is unavailable or fails on these images."""
    choice = (choice or "auto").strip()
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
    from modic.io import read_image
    from modic.spine.model import spine_from_label_map

    labels = read_image(choice, what="anatomy label map")
    try:
        spine = spine_from_label_map(labels, info={"source": f"label map {choice}"})
    except ValueError as exc:
        raise ModicInputError(f"--anatomy {choice}: not a modic.spine label map ({exc}) — use spine_labels.nrrd "
                              "from `modic spine` or values 10–78") from None
    return spine, f"anatomy from {choice}"
