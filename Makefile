# make demo / make test: each sets up .venv (and, as root, the Debian packages) idempotently first.
PY := .venv/bin/python
PIP := .venv/bin/pip
STAMP := .venv/.unheard-installed
DEBIAN_PACKAGES := espeak-ng ffmpeg chromium chromium-driver
# the command each package brings, to tell whether it is installed
DEBIAN_COMMANDS := espeak-ng ffmpeg chromium chromedriver

.PHONY: demo test lint format setup system-packages clean

demo: setup
	.venv/bin/unheard demo

test: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	$(PY) -m pytest -q

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

format: setup
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

setup: system-packages $(STAMP)

# Debian packages: installed only when a command is missing; needs root (CI runs as root).
system-packages:
	@missing=""; for c in $(DEBIAN_COMMANDS); do command -v $$c >/dev/null 2>&1 || missing="$$missing $$c"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = "0" ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEBIAN_PACKAGES); \
		else \
			echo "missing:$$missing; run 'sudo apt-get install -y $(DEBIAN_PACKAGES)'" >&2; exit 1; \
		fi; \
	fi

# torch is pinned to the CPU wheel this machine kind carries on disk; an unpinned torch would pull
# a multi-GB CUDA build.
$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv .venv
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e '.[dev,offline,serve,datasets,lhotse,phonemes]'
	touch $(STAMP)

clean:
	rm -rf .venv runs .pytest_cache .ruff_cache
