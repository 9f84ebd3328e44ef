# The two commands of the README: `make run` and `make test`. Everything else supports them.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export NUMBA_CACHE_DIR ?= $(CURDIR)/var/numba-cache
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: run test check lint format system-packages browser-packages proxy-packages train evaluate crossval layers bench bench-platform bench-live bench-load bench-fair bench-long clean superuser

$(BIN)/.runtime: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(BIN)/.dev: $(BIN)/.runtime requirements-dev.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

# ffmpeg decodes m4a/aac and webm (what browsers record); Debian-like systems only.
system-packages:
	@command -v ffmpeg >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq ffmpeg; }

browser-packages:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium chromium-driver; }

# nginx, the buffering proxy of deploy/nginx.conf, which the slow-client test runs.
proxy-packages:
	@command -v nginx >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq nginx-light; }

run: $(BIN)/.runtime system-packages proxy-packages
	$(BIN)/python -m classifier_site.run

test: $(BIN)/.dev system-packages browser-packages proxy-packages
	$(BIN)/python -m classifier_site.embedded_db $(BIN)/pytest $(PYTEST_ARGS)

# The full suite (what CI runs): tests/ml, tests/platform and tests/system, slow ones included.
# A contributor's loop is `make check`: lint and the fast layers, a few minutes.
check: lint system-packages
	$(BIN)/python -m classifier_site.embedded_db $(BIN)/pytest tests/ml tests/platform -m "not slow" $(PYTEST_ARGS)

# Style, the import contracts (pyproject.toml: [tool.importlinter]) and the type checker.
lint: $(BIN)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

format: $(BIN)/.dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

CORPUS ?= ../shared/corpus
# The shipped recipe: the cnn2d-sources MFCC network (what the cross-validation trains) beside the
# pretrained AudioSet network, joined by a combiner fitted on held-out outputs.
PRESET ?= cnn2d-yamnet
NETWORK ?= cnn2d-sources
CROSSVAL := ml/results/crossval-$(NETWORK)
PRETRAINED_CACHE := var/pretrained-groups.npz

# The shipped model: every source in training; epochs, calibration, the combiner and the "unsure"
# margin from the network's cross-validation (its saved outputs, ml/results/crossval-$(NETWORK).{json,npz};
# remake them with `make crossval`, about 75 minutes on 2 cores). About 20 minutes.
train: $(BIN)/.runtime system-packages
	@mkdir -p var
	$(BIN)/python -m ml.training.train --corpus $(CORPUS) --out ml/models/mfcc --preset $(PRESET) \
		--from-crossval $(CROSSVAL).json $(CROSSVAL).npz --pretrained-cache $(PRETRAINED_CACHE)

# The shipped model heard every source, so its honest figures are the cross-validation's: the seed,
# the MFCC network alone, the pretrained network alone and the combined model, on real-world and
# game sources apart, with the worst sources (the combiner nested by fold; a few minutes).
evaluate: $(BIN)/.runtime
	@mkdir -p var
	$(BIN)/python -m ml.training.combine --crossval $(CROSSVAL).json $(CROSSVAL).npz \
		--seed-crossval ml/results/crossval-seed.json ml/results/crossval-seed.npz \
		--corpus $(CORPUS) --pretrained-cache $(PRETRAINED_CACHE) --json ml/results/combined-$(PRESET).json

crossval: $(BIN)/.runtime system-packages
	$(BIN)/python -m ml.training.crossval --corpus $(CORPUS) --preset $(NETWORK) --json $(CROSSVAL).json \
		--probabilities $(CROSSVAL).npz
	$(BIN)/python -m ml.training.crossval --corpus $(CORPUS) --preset seed --json ml/results/crossval-seed.json \
		--probabilities ml/results/crossval-seed.npz

# The speech/music lanes: mixtures made from the corpus (speech over music at -25 to +5 dB, over
# noise, each kind alone; sources kept apart by fold), then the heads over YAMNet's last layer,
# cross-validated by fold and refitted on all (ml/models/layers/heads.npz, the figures in
# ml/results/layers.json). About 15 minutes on 2 cores.
layers: $(BIN)/.runtime
	@mkdir -p var
	$(BIN)/python -m ml.training.layer_data --corpus $(CORPUS) --out var/layer-data.npz
	$(BIN)/python -m ml.training.layers --data var/layer-data.npz --out ml/models/layers \
		--report ml/results/layers.json

bench: $(BIN)/.runtime
	$(BIN)/python -m ml.research.bench --corpus $(CORPUS)

bench-platform: $(BIN)/.dev
	$(BIN)/python -m classifier_site.embedded_db $(BIN)/python bench/platform_latency.py

bench-live: $(BIN)/.dev
	$(BIN)/python -m classifier_site.embedded_db $(BIN)/python bench/live_latency.py

# The multi-machine layout on this machine under load, with a worker killed (needs Redis).
bench-load: $(BIN)/.dev
	$(BIN)/python -m classifier_site.embedded_db $(BIN)/python bench/load.py

bench-fair: $(BIN)/.dev
	$(BIN)/python -m classifier_site.embedded_db $(BIN)/python bench/fairness.py

bench-long: $(BIN)/.dev
	$(BIN)/python -m classifier_site.embedded_db $(BIN)/python bench/long_recording.py

clean:
	rm -rf $(VENV) var tests/artifacts

# The key `make run` signs with; `make superuser` makes it too, so either can come first.
var/secret_key:
	@mkdir -p var && umask 077 && $(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))' > $@

# An admin account (for /admin/), on whichever database run/test use; ARGS="--noinput --username x
# --email y" with DJANGO_SUPERUSER_PASSWORD for scripts.
superuser: $(BIN)/.runtime var/secret_key
	$(BIN)/python -m classifier_site.embedded_db sh -c '$(BIN)/python manage.py migrate --noinput -v 0 && $(BIN)/python manage.py createsuperuser $(ARGS)'
