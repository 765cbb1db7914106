"""`modic spine`: find and name the vertebral bodies, discs and endplate zones of a sagittal lumbar MR study."""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

from modic.checks import check_image, check_not_label_map
from modic.commands._common import add_overwrite_argument
from modic.errors import ModicInputError
from modic.io import atomic_directory, check_output_dir, read_image, write_csv, write_image

EPILOG = """examples:
  modic spine --image t2.nrrd --out spine/
  modic spine --image T1=t1.nii.gz --image T2=t2.nii.gz --image FS=stir.nii.gz --out spine/
writes spine/spine_labels.nrrd (on the first image's grid: body 10+k, superior endplate 30+k, inferior
endplate 50+k, disc 70+k, k = 0…8 for T10…S1), spine.csv (one row per structure), spine.json (the same plus
settings and versions) and spine_overview.png (mid-sagittal slice with outlines and level names)."""


def add_parser(sub) -> None:
    p = sub.add_parser("spine", help="find and name vertebral bodies, discs and endplates (L1–S1)",
                       description=__doc__, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--image", action="append", required=True, metavar="[NAME=]PATH",
                   help="a sagittal MR image (T1, T2, STIR/FS or gradient echo; NRRD, NIfTI, MetaImage or a DICOM "
                        "folder); repeat for more sequences of the same study. Optional NAME (T1, T2, FS, GRE …) "
                        "labels it; the labels are written on the first image's grid. Name fat-suppressed images "
                        "(STIR=stir.nii.gz, FS=…): they are then analysed after the others")
    p.add_argument("--random-state", type=int, default=0, help="seed recorded with the result (default 0)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (new or empty, or one `modic spine` "
                                                               "wrote before; see --overwrite)")
    add_overwrite_argument(p)
    p.set_defaults(func=run)


def _named_images(values: list[str]) -> dict:
    from modic.spine.frame import check_sagittal

    images = {}
    for n, value in enumerate(values, start=1):
        name, sep, path = value.partition("=")
        if not sep or "/" in name or "\\" in name or not name:
            name, path = f"image{n}", value
        if name in images:
            raise ModicInputError(f"--image name {name!r} given twice — give each sequence its own NAME=PATH")
        images[name] = read_image(path, what="--image")
        check_image(images[name], f"--image {value}")
        check_not_label_map(images[name], f"--image {value}")
        check_sagittal(images[name], f"--image {value}")
    return images


def versions() -> dict[str, str]:
    """Versions of modic and the libraries the parser relies on."""
    from importlib.metadata import PackageNotFoundError, version

    import modic

    out = {"modic": modic.__version__, "python": platform.python_version()}
    for pkg in ("SimpleITK", "scikit-image", "scipy", "numpy"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "unknown"
    return out


def write_spine_outputs(spine, first_image, folder: Path, title: str = "") -> None:
    """spine_labels.nrrd, spine.csv, spine.json and spine_overview.png in `folder`."""
    from modic.spine.overview import write_overview

    write_image(spine.labels, folder / "spine_labels.nrrd")
    write_csv(spine.table(), folder / "spine.csv", index=False)
    (folder / "spine.json").write_text(json.dumps({**spine.to_json(), "versions": versions()}, indent=2,
                                                  default=str))
    write_overview(spine, first_image, folder / "spine_overview.png", title=title)


def _input_paths(values: list[str]) -> list[str]:
    return [v.partition("=")[2] if "=" in v and "/" not in v.partition("=")[0] else v for v in values]


def run(args: argparse.Namespace) -> int:
    check_output_dir(args.out, args.overwrite, inputs=_input_paths(args.image), command="spine")
    images = _named_images(args.image)
    from modic.spine import parse_spine, require_bodies

    spine = require_bodies(parse_spine(images, random_state=args.random_state),
                           ", ".join(Path(p).name for p in _input_paths(args.image)))
    spine.info["inputs"] = {name: value.partition("=")[2] if "=" in value else value
                            for name, value in zip(images, args.image, strict=True)}
    with atomic_directory(Path(args.out), args.overwrite, inputs=_input_paths(args.image), command="spine") as tmp:
        write_spine_outputs(spine, next(iter(images.values())), tmp, title=Path(args.image[0]).name)
    print(f"{spine.naming_summary()} Written to {args.out}")
    return 0
