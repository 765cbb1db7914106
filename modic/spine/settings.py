"""Settings of the spine parser (`modic.spine.parse` and its column search `modic.spine.column`): lengths in mm,
areas in mm², angles in degrees, the rest dimensionless. Recorded with every parse in `Spine.info["settings"]`."""

SETTINGS = {
    "inplane_mm": 1.0, "lateral_mm": 2.0, "dark_line_mm": 3.0, "marker_mm": (2.5, 4.0, 6.0),
    "signal_split_quantiles": (0.4, 0.8),
    "body_area_mm2": (300.0, 2600.0), "body_minor_mm": (14.0, 50.0), "body_major_mm": (18.0, 65.0),
    "body_solidity": 0.82, "spacing_mm": (22.0, 52.0), "height_weight": 8.0, "gap_penalty": 2.0,
    "slab_fractions": (0.35, 0.42, 0.5, 0.58, 0.65), "disc_reach_mm": 16.0, "disc_gap_px": 1, "disc_lateral_slices": 2,
    "sacral_block_deg": 8.0, "sacral_block_area": 1.8, "fused_disc_mm": 16.0, "anterior_mm": 25.0,
    "follow_dilate_mm": 2.0, "follow_k": 2.5, "follow_min_cover": 0.3, "follow_stop_sd": 3.0, "follow_step_sd": 1.0,
    "follow_min_sd_fraction": 0.05,
    "half_width_mm": 45.0, "body_pad_mm": 1.0,
    "column_per_image": True, "column_single_margin": 2.0, "follow_all_images": True, "continue_to_sacrum": True,
    "extend_up": True, "up_min_cover": 0.3, "up_clear_mm": 2.0,
    "join_slabs": True, "join_match": 0.25, "join_min_step": 0.6,
    "max_forward_turn_deg": 15.0, "sacral_step_deg": 15.0, "check_below_turn": True,
    "below_turn_area": 0.85,
    "round_power": 2.5, "round_margin_mm": 1.0, "runaway_width": 1.5, "stunted_width": 0.6, "runaway_margin_mm": 10.0,
    "neighbour_width_mm": 8.0,
    # a column of fewer than `fallback_bodies` bodies is sought again with a second dark-line map, smoothed by
    # `fallback_line_sigma_mm`, pooled with the first (a textured marrow splits bodies on the finer map)
    "fallback_bodies": 4, "fallback_line_sigma_mm": 1.4, "line_sigma_mm": 0.7,
}
