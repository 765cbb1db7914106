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


__all__ = ["CSV_COLUMNS", "DISCS", "LEVELS", "Spine", "Structure", "disc_label", "endplate_label", "label_name",
           "parse_spine", "spine_from_label_map", "vertebra_label"]
