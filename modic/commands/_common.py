"""Arguments shared by the per-case subcommands (images, seed, reference, masks)."""

from __future__ import annotations

import argparse

import SimpleITK as sitk

from modic.errors import ModicInputError
from modic.geometry import parse_point_lps
from modic.io import read_image, same_file

SEQ_ARGS = {"T1": "t1", "T2": "t2", "FS": "fs"}


class _Once(argparse.Action):
    """Store the value; an option given twice is an error (argparse would silently keep the last one, and
    `--t1 a --t1 b` is usually a T2 typed as T1)."""

    def __call__(self, parser, namespace, values, option_string=None):
        if getattr(namespace, self.dest, None) is not None:
            parser.error(f"{option_string} given twice ({getattr(namespace, self.dest)} and {values}) — give each "
                         "sequence once")
        setattr(namespace, self.dest, values)


def add_image_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("images (any non-empty subset; NRRD, NIfTI, MetaImage or a DICOM folder)")
    g.add_argument("--t1", metavar="PATH", action=_Once, help="T1-weighted image")
    g.add_argument("--t2", metavar="PATH", action=_Once, help="T2-weighted image")
    g.add_argument("--fs", metavar="PATH", action=_Once, help="fat-suppressed (STIR / T2-FS) image")
    add_study_arguments(p)


def add_study_arguments(p: argparse.ArgumentParser) -> None:
    """--study and the per-sequence series overrides (any command that reads images; also `modic detect`)."""
    g = p.add_argument_group("DICOM study (instead of --t1/--t2/--fs; see `modic series STUDY`)")
    g.add_argument("--study", metavar="DIR", help="study folder exported from PACS, or its DICOMDIR: the sagittal "
                   "T1, T2 and STIR/FS series are recognised from their tags")
    for seq, a in SEQ_ARGS.items():
        g.add_argument(f"--{a}-series", metavar="SERIES",
                       help=f"use this series as {seq} (series number, description or UID)")


def add_point_arguments(p: argparse.ArgumentParser, seed_required: bool = False) -> None:
    p.add_argument("--seed-lps", metavar="X;Y;Z", required=seed_required,
                   help="a point inside the lesion, LPS mm (write --seed-lps=\"-4.1;38.5;-165\" if it starts with -)")
    p.add_argument("--reference-lps", metavar="X;Y;Z",
                   help="a point in normal vertebral marrow, LPS mm (normalisation and typing reference)")
    p.add_argument("--roi-lps", metavar="X;Y;Z;X;Y;Z", help="optional search box: two opposite corners, LPS mm")


def add_mask_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("lesion mask (instead of a seed)")
    g.add_argument("--mask", metavar="PATH",
                   help="label map (.nrrd/.nii.gz, e.g. ITK-SNAP) or Slicer .seg.nrrd, resampled onto each sequence")
    g.add_argument("--mask-t1", metavar="PATH", help="mask on the T1 grid")
    g.add_argument("--mask-t2", metavar="PATH", help="mask on the T2 grid")
    g.add_argument("--mask-fs", metavar="PATH", help="mask on the FS grid")
    g.add_argument("--label", type=int, default=1, help="lesion label value in the label map (default 1)")
    g.add_argument("--segment-name", metavar="NAME", help="segment name in a .seg.nrrd file")


OVERWRITE_HELP = {
    "folder": "write into an --out folder that holds other files: modic's own earlier outputs there are replaced, "
              "every other file is left untouched (without it such a folder is refused; docs/OUTPUTS.md)",
    "file": "replace an existing output file that modic did not write (without it, only a file modic wrote "
            "before is replaced; an input is never replaced; docs/OUTPUTS.md)"}


def add_overwrite_argument(p: argparse.ArgumentParser, kind: str = "folder") -> None:
    """`--overwrite`: the one switch that lets a command write where other files are (docs/OUTPUTS.md).

    kind: "folder" for commands writing an output folder, "file" for a single output file."""
    p.add_argument("--overwrite", action="store_true", help=OVERWRITE_HELP[kind])


def input_paths(args: argparse.Namespace) -> list[str]:
    """Every input file/folder named on the command line (outputs must not be, contain or lie in them)."""
    names = ("t1", "t2", "fs", "mask", "mask_t1", "mask_t2", "mask_fs", "params", "model", "manifest",
             "features", "items", "spine", "anatomy", "study")
    values = ((n, getattr(args, n, None)) for n in names)
    return [str(v) for n, v in values if v and not (n == "anatomy" and str(v).lower() in ("none", "auto"))]


def load_images(args: argparse.Namespace) -> dict[str, sitk.Image]:
    return load_images_and_study(args)[0]


def load_images_and_study(args: argparse.Namespace, sagittal: bool = False):
    """(images by sequence, the `modic.dicom.Study` or None). --t1/--t2/--fs win over the study's series;
    the study's notes (which series was taken and why, slices dropped) go to stderr. `sagittal`: refuse a series
    that is not sagittal (the spine is to be parsed from them), naming its file."""
    import sys

    images: dict[str, sitk.Image] = {}
    study = None
    if getattr(args, "study", None):
        from modic.dicom.study import load_study

        overrides = {seq: getattr(args, f"{a}_series", None) for seq, a in SEQ_ARGS.items()}
        study = load_study(args.study, overrides)
        for seq, vol in study.volumes.items():
            sys.stderr.write(f"{seq}: series {vol.info.label()} — {vol.info.reason}\n")
        for note in study.notes:
            sys.stderr.write(f"note: {note}\n")
        images.update(study.images)
    elif any(getattr(args, f"{a}_series", None) for a in SEQ_ARGS.values()):
        raise ModicInputError("--t1-series/--t2-series/--fs-series need --study")
    given = {seq: getattr(args, a) for seq, a in SEQ_ARGS.items() if getattr(args, a, None)}
    if pair := same_file(given):
        raise ModicInputError(f"--{SEQ_ARGS[pair[0]]} and --{SEQ_ARGS[pair[1]]} name the same image {given[pair[1]]} "
                              "— give each sequence its own series")
    images.update({seq: read_image(path, what=f"{seq} image") for seq, path in given.items()})
    from modic.checks import check_image, check_not_label_map

    for seq, image in images.items():
        where = f"{seq} image {getattr(args, SEQ_ARGS[seq], None) or args.study}"
        check_image(image, where)
        check_not_label_map(image, where)   # a mask given as --t2: features of a label map, silently
        if sagittal:
            from modic.spine.frame import check_sagittal

            check_sagittal(image, where)
    if not images:
        raise ModicInputError("no image given — pass at least one of --t1, --t2, --fs, or --study")
    return images, study


def load_masks(args: argparse.Namespace, images: dict[str, sitk.Image]) -> dict[str, sitk.Image] | None:
    """Masks on each sequence's grid from --mask / --mask-<seq>, or None when none was given."""
    from modic.checks import check_lesion_mask
    from modic.segment import import_mask

    own = {seq: getattr(args, f"mask_{a}", None) for seq, a in SEQ_ARGS.items()}
    if not args.mask and not any(own.values()):
        return None
    masks = {}
    for seq, image in images.items():
        path = own.get(seq) or args.mask
        if not path:
            raise ModicInputError(f"no mask for {seq} — pass --mask or --mask-{SEQ_ARGS[seq]}")
        masks[seq] = import_mask(path, image, label=args.label, segment=args.segment_name)
        check_lesion_mask(masks[seq], path, f"{seq} image {getattr(args, SEQ_ARGS[seq])}")
    return masks


def point(text: str | None, what: str):
    return None if text is None else parse_point_lps(text, what=what)


def roi(text: str | None):
    if text is None:
        return None
    parts = [p for p in text.replace(",", ";").split(";") if p.strip()]
    if len(parts) != 6:
        raise ModicInputError(f"--roi-lps needs six numbers 'x;y;z;x;y;z' (two LPS corners), got {text!r}")
    return [parse_point_lps(";".join(parts[:3]), "--roi-lps"), parse_point_lps(";".join(parts[3:]), "--roi-lps")]
