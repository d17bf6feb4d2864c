# make test : set up .venv (torch from this machine's disk or PyPI), lint, run the tests and
#             execute every notebook at the smoke profile (nbmake).
# make book : set up .venv and build the Jupyter Book into _build/html from the committed
#             results in results/runs (RERUN=1 recomputes every run from an empty cache).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
# Data: $ADVSEL_DATA when set, else ../shared/data when it exists, else ./data.
ADVSEL_DATA ?= $(if $(wildcard ../shared/data),$(abspath ../shared/data),$(abspath data))
export ADVSEL_DATA
export PYTHONHASHSEED := 0

.PHONY: setup test lint unit notebooks-smoke book results reproduce-check browser-check benchmark device-pack device-restore clean

# The environment: every package at its version in requirements/book.txt (pip constraints), and
# torch by the machine. With an NVIDIA GPU (nvidia-smi answers): the CUDA build the committed
# results were computed with, torch 2.14.1 + torchvision 0.29.1. Without one: the CPU build of
# torch 2.13.0 and no torchvision (advsel reads the data files itself and imports torchvision only
# to download them; PyPI's torchvision needs the CUDA build of torch). pip takes that CPU build
# from a local wheel folder (find-links) or from PyTorch's CPU index, which it reads with
#   PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu make setup
# (without either, PyPI's torch 2.13.0 is the CUDA build). TORCH='torch==X ...' chooses by hand.
# torchattacks is installed without its dependencies: it declares torchvision but never imports it.
HAS_GPU := $(shell nvidia-smi -L >/dev/null 2>&1 && echo 1)
TORCH ?= $(if $(HAS_GPU),torch==2.14.1 torchvision==0.29.1,torch==2.13.0)
CONSTRAINTS := requirements/book.txt

$(VENV)/.installed: pyproject.toml $(CONSTRAINTS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH)
	$(PY) -m pip install -q -c $(CONSTRAINTS) -e '.[dev]'
	$(PY) -m pip install -q --no-deps -c $(CONSTRAINTS) torchattacks
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

setup: $(VENV)/.installed

lint: setup
	$(PY) -m ruff check .

unit: setup
	$(PY) -m pytest -q

notebooks-smoke: setup
	$(PY) scripts/notebooks.py smoke

test: lint unit notebooks-smoke

# RERUN=1: recompute every run of the book from an empty cache (56 minutes measured on
# two CPU cores, see README) before executing the pages; otherwise the committed
# results in results/runs are used and nothing is trained.
RESULTS := results/runs
JOBS ?= 2
results: setup
ifeq ($(RERUN),1)
	rm -rf $(RESULTS).previous && (test ! -d $(RESULTS) || mv $(RESULTS) $(RESULTS).previous)
	mkdir -p $(RESULTS)
	time $(PY) scripts/compute_results.py --profile cpu --jobs $(JOBS)
endif

book: setup results
	$(PY) scripts/export_results.py
	ADVSEL_CACHED_ONLY=1 $(PY) scripts/notebooks.py execute --profile cpu
	$(VENV)/bin/jupyter-book build . -W -n --keep-going
	@echo "book built: _build/html/index.html"

# Retrain committed runs at this commit and compare them bit for bit (default: CIFAR-10 PGD-AT and standard
# training, seed 0, 134 s measured here; FAMILIES='cifar10:ds:0.5 mnist:timed:cat' chooses others, see the script).
FAMILIES ?=
reproduce-check: setup
	$(PY) scripts/check_reproduces.py --jobs $(JOBS) $(if $(FAMILIES),--family $(FAMILIES))

browser-check: setup
	test -x /usr/bin/chromium || (apt-get update && apt-get install -y chromium)
	$(PY) scripts/check_book.py

benchmark: setup
	$(PY) benchmarks/selection_cost.py
	$(PY) benchmarks/cat_draw.py

# The GPU track with the device tool (README, "Advancing the GPU track"): stage the CIFAR-10 zip and
# the torchattacks wheel, move the committed weights aside, print the device command; then put back.
device-pack: setup
	$(PY) scripts/device_pack.py stage

device-restore: setup
	$(PY) scripts/device_pack.py restore

clean:
	rm -rf _build .pytest_cache
