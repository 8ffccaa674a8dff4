# The two commands of the README. Each installs what it needs into .venv first (once; again when
# pyproject.toml changes). Pass pytest options with ARGS, e.g. make bench ARGS="--model clip:./my-model".
VENV ?= .venv
STAMP := $(VENV)/.installed
ARGS ?=

.PHONY: bench test setup clean-reports

bench: $(STAMP)
	$(VENV)/bin/pytest benchmarks -n 4 $(ARGS)

test: $(STAMP)
	$(VENV)/bin/pytest tests $(ARGS)

setup: $(STAMP)

$(STAMP): pyproject.toml scripts/setup.sh
	scripts/setup.sh $(VENV)
	touch $(STAMP)

clean-reports:
	rm -rf reports/*.xml reports/*.html reports/*.json
