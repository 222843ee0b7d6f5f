# Two entry points (see README): `make run` runs the main job, `make test` runs the tests.
# Each first runs tools/install.sh, which installs whatever is missing (idempotent).
VENV ?= .venv
BIN := $(VENV)/bin
export OMP_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1
export TOKENIZERS_PARALLELISM ?= false
export HF_HUB_OFFLINE ?= 1
export HF_DATASETS_OFFLINE ?= 1

.PHONY: install run test check-sync nbtest pytest docs clean
install:
	@bash tools/install.sh

run: install
	$(BIN)/adapt_nb run --overwrite $(ARGS)

# the notebooks (2 workers) and pytest run side by side: CI has 2 cores and 15 minutes
test: install check-sync
	@$(MAKE) --no-print-directory -j2 --output-sync=target nbtest pytest

check-sync:
	@PATH=$(BIN):$$PATH bash tools/check_sync.sh

nbtest:
	$(BIN)/nbdev_test --n_workers 2 --timing

pytest:
	$(BIN)/python -m pytest -q tests

docs: install
	$(BIN)/python tools/build_docs.py --check

clean:
	rm -rf _docs _proc _site .pytest_cache
