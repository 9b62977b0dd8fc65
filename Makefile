# make run   — install missing Debian packages, build, run the BN → GN fine-tuning demo
# make test  — install missing Debian packages, build, run every test (ctest)
# Variables: BUILD (build dir), JOBS (parallel jobs), CMAKE_ARGS (e.g. -DMINIDL_CUDA=OFF)

BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_ARGS ?=
PACKAGES := cmake g++ make libopenblas-dev doctest-dev libstb-dev zlib1g-dev nlohmann-json3-dev \
            libcli11-dev dataset-fashion-mnist

.PHONY: all deps configure build run test bench bench-layers bench-layers-cuda torch-check clean

all: build

# apt-get only for what is missing; sudo only when not root.
deps:
	@missing=$$(for p in $(PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "Installing missing Debian packages:" $$missing; \
	  sudo=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -q $$missing; \
	fi

configure: deps
	cmake -S . -B $(BUILD) $(CMAKE_ARGS)

build: configure
	cmake --build $(BUILD) -j $(JOBS)

run: build
	$(BUILD)/bin/finetune --csv $(BUILD)/finetune.csv

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The benchmarks time minidl and PyTorch (Debian's python3-torch) on the same cases, one after
# the other on this machine, and print a table of ratios.
torch-check:
	@/usr/bin/python3 -c 'import torch' 2>/dev/null || \
	  { echo "the benchmarks need Debian's python3-torch: apt-get install python3-torch"; exit 1; }

# Whole-model training steps and inference (bench/train_step vs bench/torch_train.py).
bench: build torch-check
	/usr/bin/python3 bench/train_compare.py $(BUILD) --threads 2 --jsonl $(BUILD)/bench-train.jsonl

# Single layers (bench/layers vs bench/torch_layers.py).
bench-layers: build torch-check
	$(BUILD)/bench/layers --threads 2 | tee $(BUILD)/bench-layers-minidl.jsonl
	/usr/bin/python3 bench/torch_layers.py --threads 2 | tee $(BUILD)/bench-layers-torch.jsonl
	/usr/bin/python3 bench/compare.py $(BUILD)/bench-layers-minidl.jsonl $(BUILD)/bench-layers-torch.jsonl

# The GPU cases on a GPU machine, against the PyTorch with CUDA that `python3` there has.
bench-layers-cuda: build
	$(BUILD)/bench/layers --device cuda | tee $(BUILD)/bench-layers-cuda-minidl.jsonl
	python3 bench/torch_layers.py --device cuda | tee $(BUILD)/bench-layers-cuda-torch.jsonl
	python3 bench/compare.py $(BUILD)/bench-layers-cuda-minidl.jsonl $(BUILD)/bench-layers-cuda-torch.jsonl

clean:
	rm -rf $(BUILD)
