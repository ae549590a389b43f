PYTHON_VERSION := $(shell cat .python-version)
# Use pyenv's interpreter when pyenv is present, else any python$(PYTHON_VERSION) on PATH.
PY := $(shell (command -v pyenv >/dev/null && pyenv prefix $(PYTHON_VERSION) >/dev/null 2>&1 && echo "$$(pyenv prefix $(PYTHON_VERSION))/bin/python") || command -v python$(PYTHON_VERSION) || echo python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install demo test golden samples docs screenshots chromium bench fuzz hostile clean

$(BIN)/databack: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,bench,dask]'
	@touch $@

install: $(BIN)/databack

demo: install
	@mkdir -p out
	$(BIN)/databack convert samples/phone-sync.har samples/phone-sync.flow -o out/demo
	@echo
	@ls -l out/demo
	@echo
	@echo 'databack is installed in .venv: run .venv/bin/databack --help (or first: source .venv/bin/activate)'
	@echo
	$(BIN)/databack report out/demo  # its last line says where to open it

test: install
	$(BIN)/python -m pytest

golden: install
	UPDATE_GOLDEN=1 $(BIN)/python -m pytest tests/test_golden.py

samples: install
	$(BIN)/python samples/make_samples.py

docs: install
	UPDATE_README=1 $(BIN)/python -m pytest tests/test_readme.py

# the browser the report's tests drive (Debian's package; Playwright never downloads one of its own)
chromium:
	@command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)

screenshots: install chromium
	UPDATE_SCREENSHOTS=1 $(BIN)/python -m pytest tests/test_report_browser.py -k readme

fuzz: install
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest tests/test_properties.py tests/test_limits.py

# peak memory of convert, inspect and scrub on hostile captures (bench/hostile.py; BEFORE=checkout to compare)
hostile: install
	$(BIN)/python bench/hostile.py $(if $(BEFORE),--before $(BEFORE))

bench: install
	@# as an installed package is: byte-compiled (this machine sets PYTHONDONTWRITEBYTECODE, so Python never caches it)
	$(BIN)/python -m compileall -q converters
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) out
