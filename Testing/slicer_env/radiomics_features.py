"""Paper-configuration PyRadiomics features of one phantom case with whichever `radiomics` is importable.

    python Testing/slicer_env/radiomics_features.py OUT.json

Used by slicer_env.py to compare upstream PyRadiomics (what SlicerRadiomics gives a Slicer user) with
pyradiomics-bhklab (our default) in the same Python environment.
"""

import json
import sys


def main(out: str) -> int:
    import radiomics

    from modic.features import extract_case, load_params
    from modic.phantom import make_case

    case = make_case("compare", 1, 7)
    result = extract_case(case.images, case.masks, params=load_params(), case_id=case.case_id)
    with open(out, "w") as handle:
        json.dump({"radiomics": {"version": getattr(radiomics, "__version__", "?"), "file": radiomics.__file__},
                   "features": result.values}, handle)
    print(f"{len(result.values)} features with radiomics {getattr(radiomics, '__version__', '?')}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
