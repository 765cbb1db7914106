# ModicRadiomics — the two Quick-start commands are `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3)
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DEMO_OUT ?= demo_output
# pytest-xdist workers for `make test` (CI has 2 cores); each test file stays on one worker (module fixtures)
TEST_JOBS ?= 2

.PHONY: demo test test-slicer slicer-facts venv lint benchmark clean dicom3tools

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/modic demo --out $(DEMO_OUT)

test: $(STAMP) dicom3tools
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q -p no:cacheprovider -n $(TEST_JOBS) --dist loadfile

# the DICOM validator dciodvfy (Debian package dicom3tools) checks the SEG/SR files in the tests
dicom3tools:
	@command -v dciodvfy >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && apt-get install -y -qq dicom3tools) || echo "note: apt-get could not install dicom3tools"; \
	  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then \
	    (sudo apt-get update -qq && sudo apt-get install -y -qq dicom3tools) || echo "note: could not install dicom3tools"; \
	  else echo "note: dciodvfy not found (apt-get install dicom3tools) — the DICOM validation tests will skip"; fi; }

# The tests in Python environments built like Slicer 5.10's and 5.12's (Python 3.12, Slicer's bundled numpy /
# SciPy / SimpleITK, our requirements installed as the module installs them) plus upstream PyRadiomics at
# SlicerRadiomics' commit vs pyradiomics-bhklab. Needs python3.12 and network (PyPI; GitHub unless
# PYRADIOMICS_SRC points at a PyRadiomics clone). Not part of `make test` (see docs/SLICER.md).
test-slicer: $(STAMP)
	$(PY) Testing/slicer_env/slicer_env.py $(if $(PYRADIOMICS_SRC),--pyradiomics-src $(PYRADIOMICS_SRC))

# Regenerate Testing/slicer/data/slicer_api_facts.json from clones of Slicer and CTK (git dirs).
slicer-facts: $(STAMP)
	$(PY) Testing/slicer/tools/extract_slicer_facts.py --slicer-git $(SLICER_GIT) --ctk-git $(CTK_GIT)

benchmark: $(STAMP)
	$(PY) benchmarks/run_benchmarks.py

clean:
	rm -rf $(DEMO_OUT) build *.egg-info
