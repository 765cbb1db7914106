"""ModicRadiomics batch example for 3D Slicer's console mode.

Analyse one case (three volumes + a lesion point) and write its feature table, or run a whole cohort
from a manifest:

    Slicer --no-splash --no-main-window --python-script slicer_batch.py -- \\
        case --t1 T1.nrrd --t2 T2.nrrd --fs FS.nrrd --seed-lps="4.3;12.9;-183.9" --out case.csv

    Slicer --no-splash --no-main-window --python-script slicer_batch.py -- \\
        cohort --manifest manifest.csv --out features.csv [--jobs 2] [--stats report/]

    Slicer --no-splash --no-main-window --python-script slicer_batch.py -- \\
        spine --image T2=T2.nrrd [--image T1=T1.nrrd] --out spine/

The seed point is in LPS millimetres (as ITK-SNAP, SimpleITK and the `modic` CLI write it); use
--seed-ras for a point copied from Slicer's views; write `--seed-lps="-4.3;..."` (with `=`) when the
first coordinate is negative. The script exits with 0 on success, 1 on an unexpected error, 2 on bad
input, 3 when some cohort cases failed or the run was cancelled; every failure prints one line on
stderr. Slicer does not quit when a `--python-script` raises, so the script always ends the
application itself (`slicer.util.exit`, then `sys.exit`).

Everything below `main()` uses only MRML nodes and the modules' headless logic, so the functions run
on any vtkMRMLScene (also outside Slicer, on the `slicer-core` wheel).
"""

import argparse
import os
import sys

EXIT_OK, EXIT_ERROR, EXIT_INPUT, EXIT_PARTIAL = 0, 1, 2, 3


def _addModulePaths():
    """Make ModicAnalysisLib, ModicCohortStatsLib and modic importable.

    Installed, this file sits in <qt-scripted-modules>/Resources/Scripts, two levels below the
    packages; in the source tree it sits in ModicAnalysis/Resources/Scripts.
    """
    here = os.path.dirname(os.path.abspath(__file__))
    for candidate in (os.path.join(here, "..", ".."), os.path.join(here, "..", "..", "..", "ModicCohortStats"),
                      os.path.join(here, "..", "..", "..")):
        candidate = os.path.normpath(candidate)
        if os.path.isdir(candidate) and candidate not in sys.path:
            sys.path.append(candidate)


def loadVolume(scene, path, name):
    """Read an image file (.nrrd, .nii.gz, .mha, ...) into a new scalar volume node of `scene`."""
    if not os.path.isfile(path):
        raise ValueError(f"Image not found: {path}")
    volumeNode = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", name)
    storageNode = scene.AddNewNodeByClass("vtkMRMLVolumeArchetypeStorageNode")
    storageNode.SetFileName(path)
    storageNode.SetSingleFile(True)
    if not storageNode.ReadData(volumeNode):
        raise ValueError(f"Could not read image {path}")
    volumeNode.SetAndObserveStorageNodeID(storageNode.GetID())
    return volumeNode


def analyzeCase(scene, imagePaths, seedLps=None, segmentationPath=None, outCsv=None, modelPath="default",
                params=None, caseId="case", progress=None, overwrite=False):
    """Load the volumes, analyse one case and (optionally) write its feature table.

    `imagePaths`: {"T1": path, "T2": path, "FS": path} (any non-empty subset). `seedLps`: lesion point
    (LPS mm), unless `segmentationPath` (a .seg.nrrd or label map on one of the grids) is given.
    Returns ModicAnalysisLib.logic.CaseNodes (segmentation node, table node, plain results).
    """
    _addModulePaths()
    from ModicAnalysisLib import conversion, core
    from ModicAnalysisLib.logic import ModicAnalysisCaseLogic

    if outCsv:  # the output rules of docs/OUTPUTS.md, checked before the analysis
        from modic.io import check_output_file

        check_output_file(outCsv, overwrite, inputs=[*imagePaths.values(), segmentationPath, params])
    volumeNodes = {seq: loadVolume(scene, path, f"{caseId} {seq}") for seq, path in imagePaths.items() if path}
    inputSegmentation = None
    if segmentationPath:
        from modic.io import read_image

        mask = read_image(segmentationPath, what="segmentation")
        inputSegmentation = conversion.segmentationFromLabelMaps(scene, {"mask": mask},
                                                                 names={"mask": "Modic lesion"})
    if modelPath == "default":
        modelPath = core.defaultModelPath()
    logic = ModicAnalysisCaseLogic(scene)
    result = logic.analyzeCase(volumeNodes, seedPointLps=seedLps, inputSegmentationNode=inputSegmentation,
                               modelPath=modelPath, params=params, caseId=caseId, progress=progress)
    if outCsv:
        logic.writeTable(result.tableNode, outCsv, overwrite=overwrite)
    return result


def runCohort(scene, manifestPath, outCsv, jobs=1, statsDir=None, params=None, segment=False, progress=None,
              overwrite=False):
    """Extract features for every manifest case; with `statsDir`, also run the statistics there.

    `progress(done, total, message) -> bool` is passed to the batch engine (False cancels).
    Returns (BatchResult, CohortOutputs or None).
    """
    _addModulePaths()
    from ModicCohortStatsLib.logic import ModicCohortStatsLogicCore

    logic = ModicCohortStatsLogicCore(scene)
    if statsDir:  # refuse a bad report folder before the extraction, not after it
        from modic.io import check_output_dir

        check_output_dir(statsDir, overwrite, inputs=[manifestPath, outCsv], command="stats")
    batch = logic.runExtraction(manifestPath, outCsv, params=params, jobs=jobs, segment=segment,
                                progress=progress, overwrite=overwrite)
    outputs = None
    if statsDir and not batch.cancelled:
        outputs = logic.runStatistics(outCsv, manifestPath, statsDir, overwrite=overwrite)
    return batch, outputs


def findVertebrae(scene, imagePaths, outDir=None, overwrite=False):
    """Load the volumes ({"T2": path, ...}; the first is the reference grid), find and name the vertebrae
    (segmentation + level markups in the scene) and optionally write the `modic spine` outputs to `outDir`."""
    _addModulePaths()
    from ModicAnalysisLib import anatomy, conversion

    from modic.io import check_output_dir

    inputs = list(imagePaths.values())
    if outDir:  # checked before the long steps: a folder of the user's files is never touched
        check_output_dir(outDir, overwrite, inputs=inputs, command="spine")
    nodes = {name: loadVolume(scene, path, name) for name, path in imagePaths.items()}
    result = anatomy.findVertebrae(scene, nodes)
    if outDir:
        from pathlib import Path

        from modic.commands.spine import write_spine_outputs
        from modic.io import atomic_directory

        with atomic_directory(Path(outDir), overwrite, inputs=inputs, command="spine") as tmp:
            write_spine_outputs(result.spine, conversion.volumeNodeToSitkImage(next(iter(nodes.values()))), tmp)
    return result


def _parseArgs(argv):
    parser = argparse.ArgumentParser(prog="slicer_batch.py", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    case = sub.add_parser("case", help="analyse one case")
    for seq in ("t1", "t2", "fs"):
        case.add_argument(f"--{seq}", help=f"{seq.upper()} image file")
    case.add_argument("--seed-lps", help="lesion point 'x;y;z' in LPS mm")
    case.add_argument("--seed-ras", help="lesion point 'x;y;z' in RAS mm (as shown in Slicer)")
    case.add_argument("--segmentation", help="existing lesion mask instead of a seed point")
    case.add_argument("--model", default="default", help="model file (.skops); default: synthetic demo model")
    case.add_argument("--params", help="PyRadiomics parameter file (default: the paper's)")
    case.add_argument("--case-id", default="case")
    case.add_argument("--out", required=True, help="feature table CSV to write")
    case.add_argument("--overwrite", action="store_true", help="replace an existing --out modic did not write")
    cohort = sub.add_parser("cohort", help="extract a cohort from a manifest")
    cohort.add_argument("--manifest", required=True)
    cohort.add_argument("--out", required=True, help="feature table CSV to write")
    cohort.add_argument("--jobs", type=int, default=1)
    cohort.add_argument("--params")
    cohort.add_argument("--segment", action="store_true", help="segment from the manifest's seed_lps")
    cohort.add_argument("--stats", help="also run the statistics into this folder")
    cohort.add_argument("--overwrite", action="store_true",
                        help="replace modic's own earlier outputs where other files are (docs/OUTPUTS.md)")
    spine = sub.add_parser("spine", help="find and name vertebral bodies and discs")
    spine.add_argument("--image", action="append", required=True, help="[NAME=]image file; repeat per sequence")
    spine.add_argument("--out", help="folder for spine_labels.nrrd, spine.csv, spine.json, overview PNG")
    spine.add_argument("--overwrite", action="store_true",
                       help="replace modic's own earlier outputs where other files are (docs/OUTPUTS.md)")
    return parser.parse_args(argv)


def _oneLine(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def main(argv=None, scene=None):
    """Run one command; returns the exit code (never raises for a failing run)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--"]:
        argv = argv[1:]
    try:
        args = _parseArgs(argv)
    except SystemExit as exc:  # argparse printed the usage and the error
        return EXIT_OK if exc.code in (0, None) else EXIT_INPUT
    try:
        if scene is None:
            import slicer

            scene = slicer.mrmlScene
        if args.command == "case":
            from modic.geometry import parse_point_lps

            seedLps = None
            if args.seed_lps:
                seedLps = parse_point_lps(args.seed_lps)
            elif args.seed_ras:
                x, y, z = parse_point_lps(args.seed_ras, what="seed_ras")
                seedLps = (-x, -y, z)
            result = analyzeCase(scene, {"T1": args.t1, "T2": args.t2, "FS": args.fs}, seedLps=seedLps,
                                 segmentationPath=args.segmentation, outCsv=args.out, modelPath=args.model,
                                 params=args.params, caseId=args.case_id, overwrite=args.overwrite)
            analysis = result.analysis
            print(f"{args.case_id}: {len(analysis.features)} features -> {args.out}; signal-pattern type "
                  f"{analysis.signalType}; model prediction {analysis.predictedType} {analysis.probabilities}")
            return EXIT_OK
        if args.command == "spine":
            paths = dict(v.split("=", 1) if "=" in v else (f"image{n}", v) for n, v in enumerate(args.image, 1))
            result = findVertebrae(scene, paths, args.out, overwrite=args.overwrite)
            print(result.spine.naming_summary() + (f" -> {args.out}" if args.out else ""))
            return EXIT_OK
        batch, outputs = runCohort(scene, args.manifest, args.out, jobs=args.jobs, statsDir=args.stats,
                                   params=args.params, segment=args.segment, overwrite=args.overwrite)
        print(f"{batch.n_ok}/{batch.n_cases} cases -> {args.out}"
              + (f"; report in {outputs.outDir}" if outputs else ""))
        return batch.exit_code
    except ValueError as exc:  # ModicInputError is a ValueError: one line, exit code 2
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return EXIT_INPUT
    except Exception as exc:  # anything else: one line (no traceback), exit code 1
        print(f"error: {_oneLine(exc)}", file=sys.stderr)
        return EXIT_ERROR


def exitApplication(code: int) -> None:
    """End Slicer (when running inside it) with `code`, then the Python script itself."""
    try:
        import slicer

        if getattr(slicer, "app", None) is not None:
            slicer.util.exit(code)
    except Exception as exc:  # no application to end: sys.exit below still sets the code
        print(f"warning: could not end the application: {_oneLine(exc)}", file=sys.stderr)
    sys.exit(code)


def run(argv=None) -> None:
    """Script entry point: `main()`, then always exit with its code (also on KeyboardInterrupt etc.)."""
    try:
        code = main(argv)
    except BaseException as exc:  # noqa: BLE001 - the script must end Slicer whatever happens
        print(f"error: {_oneLine(exc)}", file=sys.stderr)
        code = EXIT_ERROR
    exitApplication(code)


if __name__ == "__main__":
    run()
