# corral: `make corpus` and `make test` are enough on a fresh Debian machine with Python 3.11.
SHELL := /bin/bash
VENV   := .venv
PY     := $(VENV)/bin/python
INPUT  ?= data/sample
OUT    ?= out/corpus
CONFIG ?= sample
BEAM_ARGS ?=
SET    ?=
# Local worker processes for corpus, models and tokenize (the engine: pipeline/launch/runners.py).
WORKERS ?= 1

.PHONY: setup corpus models tokenize pretrain stats all ablate sample bad-fixtures test lint peers clean

setup:
	@bash scripts/setup.sh

JOB_ARGS = --input "$(INPUT)" --output "$(OUT)" --config "$(CONFIG)" $(foreach s,$(SET),--set $(s)) --workers $(WORKERS) $(BEAM_ARGS)

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
	$(PY) -m pipeline.cli tokenize --corpus "$(OUT)" --config "$(CONFIG)" $(foreach s,$(SET),--set $(s)) --workers $(WORKERS) $(TOKENIZER_ARGS) $(BEAM_ARGS)

# Train the tiny LLaMA preset on the bundled sample's token shards (`make tokenize` first);
# PRETRAIN_CONFIG=pretrain_1b etc. for the larger presets, PRETRAIN_ARGS="--fresh" to restart.
PRETRAIN_CONFIG ?= pretrain_sample
PRETRAIN_ARGS   ?=
pretrain: setup
	$(PY) -m pipeline.cli pretrain --config "$(PRETRAIN_CONFIG)" $(PRETRAIN_ARGS)

# The report of the corpus in OUT: Table 1, the funnel, distributions and examples, in STATS_OUT
# (report.md, report.html, report.json, PNG plots). Epochs use the pretrain run in TRAIN_RUN when it
# has logged a step, else TOKENS_BUDGET (the paper's 1.4T). STATS_ARGS="--compare A B" compares two runs.
STATS_OUT     ?= out/stats
TRAIN_RUN     ?= out/pretrain
TOKENS_BUDGET ?= 1.4T
STATS_ARGS    ?=
stats: setup
	$(PY) -m pipeline.cli stats "$(OUT)" --output "$(STATS_OUT)" --tokens-budget "$(TOKENS_BUDGET)" \
	  $(if $(wildcard $(TRAIN_RUN)/metrics.jsonl),--train-run "$(TRAIN_RUN)") $(STATS_ARGS)

# The whole chain on the bundled sample (or INPUT=...): corpus -> tokenize -> pretrain -> stats.
ALL_STEPS := corpus tokenize pretrain stats
all:
	@start=$$(date +%s); i=0; n=$(words $(ALL_STEPS)); \
	for step in $(ALL_STEPS); do \
	  i=$$((i + 1)); echo "== make all [$$i/$$n] $$step (started at +$$(( $$(date +%s) - start ))s)"; \
	  $(MAKE) --no-print-directory $$step || { echo "== make all: $$step failed"; exit 1; }; \
	done; \
	echo "== make all: done in $$(( $$(date +%s) - start ))s; report: $(STATS_OUT)/report.html"

# Does a filter help? The same model trained on the corpus of config A and of config B (VARIANTS="a b c"
# for more), seeds 1..SEEDS, TOKENS training tokens a run (default: ABLATE_TRAIN's steps), evaluated on
# input documents held out before either config filtered them; report in ABLATE_OUT (README "Ablate").
A            ?= sample
B            ?= sample-nofilter
VARIANTS     ?= $(A) $(B)
SEEDS        ?= 3
TOKENS       ?=
ABLATE_TRAIN ?= pretrain_ablate
ABLATE_JOBS  ?= 2
ABLATE_OUT   ?= out/ablate
ABLATE_ARGS  ?=
ablate: setup
	$(PY) -m pipeline.cli ablate $(VARIANTS) --input "$(INPUT)" --output "$(ABLATE_OUT)" --seeds $(SEEDS) \
	  $(if $(TOKENS),--tokens $(TOKENS)) --train-config "$(ABLATE_TRAIN)" --jobs $(ABLATE_JOBS) $(foreach s,$(SET),--set $(s)) \
	  --workers $(WORKERS) $(ABLATE_ARGS) $(BEAM_ARGS)

# Regenerate the bundled sample under data/sample (deterministic; committed).
sample: setup
	$(PY) -m scripts.make_sample data/sample

# Write the bad-input suite (tests/hardening) into tests/fixtures/bad to look at; the tests make their
# own copy, plus the 50 MB line and the decompression bombs, in a temporary folder.
bad-fixtures: setup
	$(PY) -m scripts.make_bad_fixtures tests/fixtures/bad

test: setup
	$(PY) -m pytest -q

# Style (ruff, configured in pyproject.toml) and the layers (import-linter's contract there).
lint: setup
	$(VENV)/bin/ruff check pipeline dedup filters train benchmarks tests scripts
	$(VENV)/bin/lint-imports

# datatrove 0.10.1 (requirements-peers.txt) in its own .venv-peers, for `.venv/bin/python -m benchmarks.peers`
# (BENCHMARKS.md, "Peers"); make test never needs it. Rebuilt when requirements-peers.txt changes.
PEERS_VENV := .venv-peers
PYTHON     ?= python3
peers: $(PEERS_VENV)/.installed
$(PEERS_VENV)/.installed: requirements-peers.txt
	rm -rf $(PEERS_VENV)
	$(PYTHON) -m venv $(PEERS_VENV)
	$(PEERS_VENV)/bin/pip install -q -r requirements-peers.txt
	HF_HUB_OFFLINE=1 $(PEERS_VENV)/bin/python -c "import benchmarks.peers_datatrove, spacy; spacy.blank('en')"
	touch $@

clean:
	rm -rf out
