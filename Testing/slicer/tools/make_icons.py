"""Draw the extension and module icons (128×128 PNG): a sagittal lumbar motion segment.

Two vertebral bodies with a disc between them, seen from the side (anterior left), with the
endplate marrow next to the disc highlighted as a Modic lesion. Run from the repository root:
`.venv/bin/python Testing/slicer/tools/make_icons.py`.
"""

from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

ROOT = Path(__file__).resolve().parents[3]
SIZE = 128
SCALE = 4  # draw large, then downsample for smooth edges

BONE = (226, 220, 203, 255)
BONE_EDGE = (120, 110, 95, 255)
DISC = (96, 150, 200, 255)
LESION = {"extension": (214, 69, 65, 255), "analysis": (214, 69, 65, 255), "cohort": (230, 150, 40, 255)}


def _draw(kind: str) -> Image.Image:
    s = SCALE
    img = Image.new("RGBA", (SIZE * s, SIZE * s), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    lesion = LESION[kind]
    w = 4 * s
    # vertebral bodies (anterior = left), posterior elements to the right
    upper = (14 * s, 8 * s, 78 * s, 54 * s)
    lower = (14 * s, 74 * s, 78 * s, 120 * s)
    for x0, y0, x1, y1 in (upper, lower):
        d.rounded_rectangle((x0, y0, x1, y1), radius=10 * s, fill=BONE, outline=BONE_EDGE, width=w)
        # pedicle + spinous process
        cy = (y0 + y1) // 2
        d.polygon([(x1 - 2 * s, cy - 12 * s), (x1 + 22 * s, cy - 6 * s), (x1 + 36 * s, cy + 6 * s),
                   (x1 + 30 * s, cy + 14 * s), (x1 + 16 * s, cy + 8 * s), (x1 - 2 * s, cy + 8 * s)],
                  fill=BONE, outline=BONE_EDGE, width=w // 2)
    # disc
    d.rounded_rectangle((16 * s, 56 * s, 76 * s, 72 * s), radius=7 * s, fill=DISC)
    # Modic lesion: bands of marrow on both endplates next to the disc
    d.rounded_rectangle((22 * s, 42 * s, 70 * s, 52 * s), radius=4 * s, fill=lesion)
    d.rounded_rectangle((22 * s, 76 * s, 70 * s, 86 * s), radius=4 * s, fill=lesion)
    if kind == "cohort":
        # small bar chart: cohort statistics
        for i, h in enumerate((18, 30, 12)):
            x = 90 * s + i * 11 * s
            d.rectangle((x, (126 - h) * s, x + 8 * s, 126 * s), fill=(60, 60, 60, 255))
    img = img.filter(ImageFilter.SMOOTH)
    return img.resize((SIZE, SIZE), Image.LANCZOS)


def main() -> None:
    targets = {
        "extension": ROOT / "Resources/Icons/ModicRadiomics.png",
        "analysis": ROOT / "ModicAnalysis/Resources/Icons/ModicAnalysis.png",
        "cohort": ROOT / "ModicCohortStats/Resources/Icons/ModicCohortStats.png",
    }
    for kind, path in targets.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        _draw(kind).save(path, optimize=True)
        print(path)


if __name__ == "__main__":
    main()
