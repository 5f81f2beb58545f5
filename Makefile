# Two commands do all the set-up: `make lab` and `make test`. Both create .venv when it is missing.
# Keep your own (e.g. CUDA) torch: install it into .venv first; an importable torch is never replaced.
#
# Variables (e.g. `make TORCH_INDEX=https://download.pytorch.org/whl/cpu lab`):
#   PYTHON        the interpreter that creates .venv
#   TORCH         the torch requirement, installed from your pip index (on Linux, PyPI's default
#                 wheel is a CUDA build of several GB)
#   TORCH_INDEX   the index to install TORCH from instead (pip --index-url); empty: your pip's own.
#                 https://download.pytorch.org/whl/cpu gives the CPU build
#   JUPYTER_ARGS  extra options of `jupyter lab`, e.g. JUPYTER_ARGS="--port 9999 --no-browser"
PYTHON ?= python3.11
TORCH ?= torch==2.13.0
TORCH_INDEX ?=
JUPYTER_ARGS ?=
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.msmix-installed

# Jupyter refuses to start as root (as in Docker) unless told --allow-root; `id -u` runs only
# when the lab recipe is expanded.
ALLOW_ROOT = $(if $(filter 0,$(shell id -u)),--allow-root)

# MMSA 2.2.1's wheel, whose model classes the parity tests load (tests/models/mmsa_reference.py).
# Offline, the download fails quietly and those tests skip (CI sets MSMIX_REQUIRE_MMSA: they fail).
MMSA_WHEEL := .whl/MMSA-2.2.1-py3-none-any.whl

.PHONY: lab test venv clean-venv device-wheels

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/pip install $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX) )"$(TORCH)"
	$(BIN)/pip install -e ".[dev]"
	touch $(STAMP)

lab: $(STAMP)
	$(BIN)/jupyter lab $(ALLOW_ROOT) $(JUPYTER_ARGS) notebooks/01_train_mosi.ipynb

$(MMSA_WHEEL): | $(STAMP)
	-$(BIN)/pip download --quiet --no-deps --dest .whl MMSA==2.2.1

test: $(STAMP) $(MMSA_WHEEL)
	$(BIN)/python -m pytest tests/
	$(BIN)/python -m pytest --nbval notebooks/

# What benchmarks/device_check.sh installs on a GPU machine that can reach no index: MMSA 2.2.1 and
# the two of its imports such an image may lack (pure-Python wheels).
device-wheels: | $(STAMP)
	$(BIN)/pip download --quiet --no-deps --dest .whl MMSA==2.2.1 easydict==1.14 nvidia-ml-py==13.615.71

clean-venv:
	rm -rf $(VENV)
