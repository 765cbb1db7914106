"""Cohort statistics as in the paper: Table 1 (morphology), Table 2 (Dunn), radiomics selection,
SVM classifier with honest validation, pain/age correlations, ODI scoring, and the report.

Submodules are imported on use (`from modic.stats.report import run_stats`), so importing this
package stays cheap.
"""

__all__ = ["classifier", "cohort", "correlation", "figures", "odi", "posthoc", "report", "selection",
           "table1"]
