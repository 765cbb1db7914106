# ModicRadiomics — the two Quick-start commands are `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3)
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DEMO_OUT ?= demo_output

.PHONY: demo test venv lint benchmark clean dicom3tools

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
	$(PY) -m pytest -q -p no:cacheprovider

# the DICOM validator dciodvfy (Debian package dicom3tools) checks the SEG/SR files in the tests
dicom3tools:
	@command -v dciodvfy >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && apt-get install -y -qq dicom3tools) || echo "note: apt-get could not install dicom3tools"; \
	  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then \
	    (sudo apt-get update -qq && sudo apt-get install -y -qq dicom3tools) || echo "note: could not install dicom3tools"; \
	  else echo "note: dciodvfy not found (apt-get install dicom3tools) — the DICOM validation tests will skip"; fi; }

benchmark: $(STAMP)
	$(PY) benchmarks/run_benchmarks.py

clean:
	rm -rf $(DEMO_OUT) build *.egg-info
