# Two commands do all the set-up: `make lab` and `make test`. Both create .venv when it is missing.
# Keep your own (e.g. CUDA) torch: install it into .venv first; an importable torch is never replaced.
PYTHON ?= python3.11
TORCH ?= torch==2.13.0
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.msmix-installed

.PHONY: lab test venv clean-venv

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/pip install "$(TORCH)"
	$(BIN)/pip install -e ".[dev]"
	touch $(STAMP)

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/01_train_mosi.ipynb

test: $(STAMP)
	$(BIN)/python -m pytest tests/
	$(BIN)/python -m pytest --nbval notebooks/

clean-venv:
	rm -rf $(VENV)
