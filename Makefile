# The two commands of the README. Each installs what it needs into .venv first (once; again when
# pyproject.toml changes). Pass pytest options with ARGS, e.g. make bench ARGS="--model clip:./my-model".
VENV ?= .venv
STAMP := $(VENV)/.installed
ARGS ?=

VLM_STAMP := $(VENV)/.installed-vlm

.PHONY: bench test setup setup-vlm clean-reports

bench: $(STAMP)
	$(VENV)/bin/pytest benchmarks -n 4 $(ARGS)

# The tests run every model family the `vlm:` adapter supports, so they need the vlm extras (setup-vlm).
test: $(VLM_STAMP)
	$(VENV)/bin/pytest tests $(ARGS)

setup: $(STAMP)

# torchvision (with the torch build it matches) and num2words, for Qwen-VL, SmolVLM, InternVL, LLaVA-OneVision ...
setup-vlm: $(VLM_STAMP)

$(STAMP): pyproject.toml scripts/setup.sh
	scripts/setup.sh $(VENV)
	touch $(STAMP)

$(VLM_STAMP): pyproject.toml scripts/setup.sh
	scripts/setup.sh --vlm $(VENV)
	touch $(STAMP) $(VLM_STAMP)

clean-reports:
	rm -rf reports/*.xml reports/*.html reports/*.json
