"""Synthetic lumbar spine MRI cohort with Modic lesions (`modic phantom`).

No public lumbar MRI with Modic masks exists, so this generator is the project's test data. A continuous
physical model (LPS mm) of L1–S1 with a band-like Modic lesion along one or both endplates of a disc is
sampled on each sequence's own 2D-sagittal grid (T1, T2, FS), with slice partial volume, bias field,
Rician noise and scanner gain/offset. Everything is a pure function of (seed, case index).

Signal model 2 (opt-in: `case_spec(..., signal_model=2)`, `modic phantom --signal-model 2`; the default, 1, is
generator 1's signals bit for bit) makes the types overlap the way patients' do (issue 12 item 18): each case draws
its marrow fat fraction (older → fattier), a scanner intensity scale of the spine against the rest of the image per
sequence, tissue-specific scanner contrast, how far its lesion is expressed, a texture that is the same for every type
and, in some lesions, patches of a neighbouring type's signal (`modic.phantom.spec.CONTRAST_PARAMS`). Every lesion
keeps its type's signal pattern against its own marrow — the clinical definition — while its radiomics features
overlap with other types'.

Signal model 3 (opt-in: `--signal-model 3`) goes further: on each sequence the size of a lesion's contrast against its
marrow has the same distribution for every type and only its direction is the type's, so variance, edge and texture
features carry no type information; some lesions are mottled I/II mixtures labelled by their dominant part
(`modic.phantom.spec.SIGNAL3_PARAMS`; measured in benchmarks/phantom_difficulty.md).

Signal model 4 (`--signal-model 4`, `modic demo`'s default cohort) is model 3 as a study reads it
(`modic.phantom.spec.READER_PARAMS`): the label is a reader's call that names a neighbouring type for 14 % of the
lesions (the shape follows the label, as the paper's Table 1 does; the tissue is `true_type`), and the T1 and FS
ROIs are drawn wider than the lesion (`PhantomCase.truth_masks` and the cohort's `truth_*` files hold the lesion).

Public API: `make_case`, `generate_cohort`, `default_counts`, `case_spec`, `cohort_specs`,
`make_lesion_mask` (fast mask-only path), `shape_features`, `PhantomCase`, `ANATOMY_LABELS`.
"""

from modic.phantom.cohort import GENERATOR_VERSION, generate_cohort
from modic.phantom.model import ANATOMY_LABELS, DISC_NAMES
from modic.phantom.spec import CaseSpec, case_spec, cohort_specs, default_counts, resolve_counts
from modic.phantom.synth import (
    PhantomCase,
    clinical_record,
    make_case,
    make_lesion_mask,
    scores_from_shape,
    shape_features,
    synthesize,
)

__all__ = [
    "ANATOMY_LABELS", "DISC_NAMES", "GENERATOR_VERSION", "CaseSpec", "PhantomCase", "case_spec",
    "clinical_record", "cohort_specs", "default_counts", "generate_cohort", "make_case",
    "make_lesion_mask", "resolve_counts", "scores_from_shape", "shape_features", "synthesize",
]
