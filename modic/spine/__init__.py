"""Spine anatomy: vertebral bodies, discs and endplate zones of the lumbar spine, named by level."""

from modic.spine.model import (
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

__all__ = ["DISCS", "LEVELS", "Spine", "Structure", "disc_label", "endplate_label", "label_name",
           "spine_from_label_map", "vertebra_label"]
