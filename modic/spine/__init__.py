"""Spine anatomy: vertebral bodies, discs and endplate zones of the lumbar spine, named by level."""

from modic.spine.model import (
    CSV_COLUMNS,
    DISCS,
    LEVELS,
    Spine,
    Structure,
    disc_label,
    endplate_label,
    label_name,
    spine_from_label_map,
    vertebra_label,
)


def parse_spine(images, random_state: int = 0) -> Spine:
    """Find and name vertebral bodies, discs and endplate zones (see `modic.spine.parse.parse_spine`)."""
    from modic.spine.parse import parse_spine as _parse

    return _parse(images, random_state=random_state)


def require_bodies(spine: Spine, source: str) -> Spine:
    """`spine` when it holds at least one vertebral body, else a `ModicInputError` (one line: which images, why,
    what to do). `parse_spine` returns an empty spine for an image without a lumbar column; the commands and the
    Slicer module stop there instead of writing an empty result."""
    from modic.errors import ModicInputError

    if not spine.vertebrae():
        why = spine.info.get("naming") or "no chain of vertebral bodies found"
        raise ModicInputError(f"no vertebral bodies found in {source} ({why}) — give a sagittal MR image of the "
                              "lumbar spine that shows the vertebral bodies (T1, T2, STIR or a gradient echo)")
    return spine


__all__ = ["CSV_COLUMNS", "DISCS", "LEVELS", "Spine", "Structure", "disc_label", "endplate_label", "label_name",
           "parse_spine", "require_bodies", "spine_from_label_map", "vertebra_label"]
