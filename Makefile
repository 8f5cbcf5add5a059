# Every target creates .venv on first use, so a fresh clone needs only `make serve` or `make test`.
PY := .venv/bin/python
VENV_STAMP := .venv/.installed

.PHONY: serve build check test bench schema vectors calibrate clean

$(VENV_STAMP): pyproject.toml
	python3 -m venv .venv
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(VENV_STAMP)

serve: $(VENV_STAMP)
	$(PY) -m mkdocs serve --dirty --no-strict --dev-addr 127.0.0.1:8000

build: $(VENV_STAMP)
	$(PY) -m mkdocs build --strict --site-dir site

check: $(VENV_STAMP)
	$(PY) -m kb check

schema: $(VENV_STAMP)
	$(PY) -m kb schema

test: $(VENV_STAMP)
	$(PY) -m kb check
	$(PY) -m pytest -q
	@if [ -d tests/js ]; then node --test tests/js/; fi

# Refit the expected-time model to kb/measured/*.csv: calculator/calibration.json, docs/accuracy.md tables,
# docs/assets/accuracy/*.svg (deterministic, a few seconds).
calibrate: $(VENV_STAMP)
	$(PY) -m calculator.calibrate

vectors: $(VENV_STAMP)
	$(PY) tools/make_vectors.py

bench: $(VENV_STAMP)
	$(PY) benchmarks/run.py

clean:
	rm -rf site .venv .pytest_cache
