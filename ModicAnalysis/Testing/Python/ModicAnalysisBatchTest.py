"""Batch-mode test for real Slicer: the documented console example on a phantom case written to disk."""

import os
import sys
import tempfile
import unittest


class ModicAnalysisBatchTest(unittest.TestCase):
    def test_ConsoleExample(self):
        import slicer
        from ModicAnalysisLib.gui import ensureDependencies

        # a clean Slicer / the extension factory lacks the requirements: install them without asking
        self.assertTrue(ensureDependencies(interactive=False), "required Python packages are missing")

        here = os.path.dirname(os.path.abspath(__file__))
        for scripts in (os.path.join(here, "..", "..", "Resources", "Scripts"),
                        os.path.join(os.path.dirname(slicer.modules.modicanalysis.path), "Resources", "Scripts")):
            if os.path.isfile(os.path.join(scripts, "slicer_batch.py")):
                sys.path.insert(0, os.path.normpath(scripts))
                break
        import slicer_batch

        from modic.geometry import format_point
        from modic.io import write_image
        from modic.phantom import make_case

        slicer.mrmlScene.Clear()
        case = make_case("batch", 2, 3)
        with tempfile.TemporaryDirectory() as folder:
            paths = {}
            for seq, image in case.images.items():
                paths[seq] = os.path.join(folder, f"{seq}.nrrd")
                write_image(image, paths[seq])
            out = os.path.join(folder, "features.csv")
            code = slicer_batch.main(["case", "--t1", paths["T1"], "--t2", paths["T2"], "--fs", paths["FS"],
                                      f"--seed-lps={format_point(case.seed_lps)}", "--case-id", "batch",
                                      "--out", out])
            self.assertEqual(code, 0)
            with open(out) as handle:
                header = handle.readline().strip().split(",")
            self.assertEqual(header[0], "case_id")
            self.assertGreater(len(header), 100)


if __name__ == "__main__":
    unittest.main()
