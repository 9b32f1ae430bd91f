# corral: `make corpus` and `make test` are enough on a fresh Debian machine with Python 3.11.
SHELL := /bin/bash
VENV   := .venv
PY     := $(VENV)/bin/python
INPUT  ?= data/sample
OUT    ?= out/corpus
CONFIG ?= sample
BEAM_ARGS ?=
SET    ?=

.PHONY: setup corpus models tokenize sample test clean

setup:
	@bash scripts/setup.sh

JOB_ARGS = --input "$(INPUT)" --output "$(OUT)" --config "$(CONFIG)" $(foreach s,$(SET),--set $(s)) $(BEAM_ARGS)

# The corpus job on the bundled sample (or INPUT=<dir>), into OUT; trains the CommonCrawl models
# first when they are missing or were made from another input or config.
corpus: setup
	$(PY) -m pipeline.cli models --if-missing $(JOB_ARGS)
	$(PY) -m pipeline.cli corpus $(JOB_ARGS)

# Train the CommonCrawl filter models (SentencePiece + KenLM per language, reference classifier).
models: setup
	$(PY) -m pipeline.cli models $(JOB_ARGS)

# Train the SentencePiece BPE tokenizer when none exists (TOKENIZER_ARGS=--retrain to redo it),
# then encode the corpus in OUT into memory-mappable token shards.
TOKENIZER_ARGS ?=
tokenize: setup
	$(PY) -m pipeline.cli tokenize --corpus "$(OUT)" --config "$(CONFIG)" $(foreach s,$(SET),--set $(s)) $(TOKENIZER_ARGS) $(BEAM_ARGS)

# Regenerate the bundled sample under data/sample (deterministic; committed).
sample: setup
	$(PY) -m scripts.make_sample data/sample

test: setup
	$(PY) -m pytest -q

clean:
	rm -rf out
