# vm5k monorepo. `make setup` is idempotent; every other target depends on it.
VENV    ?= .venv
PY      := $(VENV)/bin/python
PACKAGES := $(sort $(wildcard packages/vm5k-*))
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: setup test unit e2e demo lint bench clean

setup: $(VENV)/.installed

# Debian packages come from each package's debian-packages.txt; Python ones from pyproject.toml.
$(VENV)/.installed: scripts/setup.sh $(wildcard packages/*/pyproject.toml packages/*/debian-packages.txt)
	bash scripts/setup.sh $(VENV)
	touch $@

test: setup
	bash scripts/test.sh

unit: setup
	$(PY) -m pytest -m "not lab" packages

demo: setup
	KEEP=$(KEEP) bash scripts/demo.sh

lint: setup
	$(PY) -m ruff check packages tests bench

bench: setup
	for b in bench/*.sh; do bash $$b; done

clean:
	rm -rf $(VENV) packages/*/src/*.egg-info
