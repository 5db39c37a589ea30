# Two commands do all set-up on a fresh machine:
#   make serve   install, index the bundled corpus, start the chat UI on http://127.0.0.1:7860
#   make test    install (with test extras and a headless browser), lint, run the tests
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export GRADIO_ANALYTICS_ENABLED := False
export ANONYMIZED_TELEMETRY := False
export HF_HUB_OFFLINE := 1

.PHONY: install serve index test lint eval bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# the CPU build of torch first: a plain `torch` requirement would pull CUDA wheels (GBs)
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

index: install
	$(BIN)/python -m assistant index

serve: index
	$(BIN)/python -m assistant serve

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: install
	./scripts/browser-deps.sh
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

# the union test bed: every chapter with a question set indexed as one survey (see eval/README.md)
eval: install
	$(BIN)/python -m assistant eval --union --alone

bench: install
	$(BIN)/python -m assistant bench

clean:
	rm -rf $(VENV) index/builds index/chroma index/manifest.json
