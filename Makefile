# Two commands set everything up on a fresh machine: `make test` and `make demo`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST_ARGS ?=
# The suite runs on two pytest-xdist workers (this project's machines have 2 cores); override
# with `make test PYTEST_WORKERS=0` to run it in one process.
PYTEST_WORKERS ?= 2

.PHONY: test demo bench parity dot venv lint clean

venv: $(STAMP)

# Re-install when the package metadata changes.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip >/dev/null
	$(BIN)/python -m pip install -e '.[dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

# graphviz's `dot` renders the computational graphs. Installed with apt-get where we are root on
# Debian/Ubuntu; elsewhere the exact command is printed and the rendering tests fail with it.
dot:
	@if command -v dot >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing graphviz (dot) with apt-get"; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q graphviz >/dev/null 2>&1 || \
	  { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q graphviz >/dev/null; }; \
	else \
	  echo "graphviz's dot was not found; install it with one of:"; \
	  echo "  sudo apt-get install graphviz   |   brew install graphviz   |   conda install -c conda-forge python-graphviz"; \
	fi

# The whole suite, then the kernel tests again as plain Python (NUMBA_DISABLE_JIT=1) so that
# coverage tools see the kernels' code.
test: $(STAMP) dot
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)
	NUMBA_DISABLE_JIT=1 $(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) -m nojit $(PYTEST_ARGS)

# The main job: train LeNet-5 on the digits bundled with scikit-learn (runs/lenet5-digits/),
# and render the lecture's computational graph (out/).
demo: $(STAMP) dot
	$(BIN)/python -m autograd_cnn train
	$(BIN)/python -m autograd_cnn graph --out out

# pyflakes (from the dev extra) over the package, kernels, tests and benchmarks (.ci/lint.py).
lint: $(STAMP)
	$(BIN)/python .ci/lint.py

# Installs the comparison targets (PyTorch, micrograd) into .venv, then runs every benchmark.
bench: $(STAMP)
	$(BIN)/python -m pip install -q -r benchmarks/requirements.txt
	$(BIN)/python benchmarks/run.py

# PyTorch 2.13 (CPU) as the oracle: every op_cases entry, layer, loss and optimiser against it
# (tests/parity/, collected only with AUTOGRAD_CNN_PARITY=1, so `make test` never needs torch).
parity: $(STAMP)
	$(BIN)/python -m pip install -q 'torch==2.13.0'
	AUTOGRAD_CNN_PARITY=1 $(BIN)/python -m pytest tests/parity -q -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) out build dist *.egg-info
