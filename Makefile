# corral: `make corpus` and `make test` are enough on a fresh Debian machine with Python 3.11.
SHELL := /bin/bash
VENV   := .venv
PY     := $(VENV)/bin/python
INPUT  ?= data/sample
OUT    ?= out/corpus
CONFIG ?= sample
BEAM_ARGS ?=
SET    ?=

.PHONY: setup corpus sample test clean

setup:
	@bash scripts/setup.sh

# The corpus job on the bundled sample (or INPUT=<dir>), into OUT.
corpus: setup
	$(PY) -m pipeline.cli corpus --input "$(INPUT)" --output "$(OUT)" --config "$(CONFIG)" $(foreach s,$(SET),--set $(s)) $(BEAM_ARGS)

# Regenerate the bundled sample under data/sample (deterministic; committed).
sample: setup
	$(PY) -m scripts.make_sample data/sample

test: setup
	$(PY) -m pytest -q

clean:
	rm -rf out
