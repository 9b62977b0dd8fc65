# make run       — install missing Debian packages, build, run the BN → GN swap comparison and the fine-tuning one (BN, frozen BN, GN, BN → GN)
# make test-tsan — the fast tests under ThreadSanitizer (build-tsan/, CPU only)
# make test      — install missing Debian packages, build, run every test (ctest)
# make test-asan — the same tests built with ASan + UBSan (build-asan/, CPU only)
# make fuzz      — the libFuzzer targets of fuzz/ with clang (build-fuzz/fuzz/fuzz_*)
# make fuzz-smoke — each fuzz target for FUZZ_SECONDS on its seeds and past findings
# Variables: BUILD (build dir), JOBS (parallel jobs), CMAKE_ARGS (e.g. -DMINIDL_CUDA=OFF)

BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_ARGS ?=
PACKAGES := cmake g++ make libopenblas-dev doctest-dev libstb-dev zlib1g-dev nlohmann-json3-dev \
            libcli11-dev dataset-fashion-mnist libopenmpi-dev openmpi-bin

.PHONY: all deps configure build run test bench bench-layers bench-busy bench-layers-cuda torch-check clean \
        fuzz-deps fuzz fuzz-smoke test-asan test-tsan

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
	$(BUILD)/bin/swap --csv $(BUILD)/swap.csv
	$(BUILD)/bin/finetune --csv $(BUILD)/finetune.csv

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The benchmarks time minidl and PyTorch (Debian's python3-torch) on the same cases, one after
# the other on this machine, 3 rounds each side alternating (medians: a shared machine's load
# swings single runs), and print a table of ratios. make bench takes ~30 min on 2 cores with two
# CPU paths; --rounds 1 in the scripts for a quick look.
torch-check:
	@/usr/bin/python3 -c 'import torch' 2>/dev/null || \
	  { echo "the benchmarks need Debian's python3-torch: apt-get install python3-torch"; exit 1; }

# Whole-model training steps and inference (bench/train_step vs bench/torch_train.py), on every
# CPU path this machine runs (MINIDL_CPU), PyTorch held to the same instruction set.
bench: build torch-check
	/usr/bin/python3 bench/train_compare.py $(BUILD) --threads 2 --jsonl $(BUILD)/bench-train.jsonl

# Single layers (bench/layers vs bench/torch_layers.py), on every CPU path this machine runs.
bench-layers: build torch-check
	/usr/bin/python3 bench/layers_compare.py $(BUILD) --threads 2 --jsonl $(BUILD)/bench-layers.jsonl

# minidl alone beside a busy neighbour (a second bench/train_step on one thread): the batch-32
# cases on 1 and 2 threads, alternating, and the ratio (~5 min; no PyTorch needed).
bench-busy: build
	/usr/bin/python3 bench/busy_compare.py $(BUILD) --filter _b32

# The GPU cases on a GPU machine, against the PyTorch with CUDA that `python3` there has.
bench-layers-cuda: build
	$(BUILD)/bench/layers --device cuda | tee $(BUILD)/bench-layers-cuda-minidl.jsonl
	python3 bench/torch_layers.py --device cuda | tee $(BUILD)/bench-layers-cuda-torch.jsonl
	python3 bench/compare.py $(BUILD)/bench-layers-cuda-minidl.jsonl $(BUILD)/bench-layers-cuda-torch.jsonl

# Sanitizers and fuzzing use clang (Debian's clang, libclang-rt-14-dev, libomp-dev) and skip CUDA.
FUZZ_PACKAGES := clang libclang-rt-14-dev libomp-dev
FUZZ_SECONDS ?= 20
# FUZZ_RUNS=N: N inputs per target from a fixed seed instead (CI: the same inputs on every machine).
FUZZ_RUNS ?=
FUZZ_LIMIT = $(if $(FUZZ_RUNS),-runs=$(FUZZ_RUNS) -seed=1,-max_total_time=$(FUZZ_SECONDS))
FUZZ_TARGETS := npy safetensors idx idx_gz cifar image
SANITIZE_CMAKE := -DMINIDL_CUDA=OFF -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo

fuzz-deps: deps
	@$(MAKE) --no-print-directory deps PACKAGES="$(FUZZ_PACKAGES)"

# The fast tests under ASan + UBSan (the programs' end-to-end runs, the kill test and the mpirun
# jobs are left to `make test`: they take minutes there, and OpenMPI's own allocations would
# read as leaks); any report fails the run.
test-asan: fuzz-deps
	cmake -S . -B build-asan $(SANITIZE_CMAKE) -DMINIDL_SANITIZE=address,undefined
	cmake --build build-asan -j $(JOBS) --target minidl_tests
	cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ./bin/minidl_tests --test-case-exclude="*command line*,*end to end*,*killed*,*README*,*mpirun*"

# The code that runs on several threads under ThreadSanitizer: the loader's prefetch thread and
# the OpenMP kernels on 2 threads (tests/test_threads.cpp), and every other fast test. clang's
# OpenMP runtime tells TSan about its barriers and reductions through Archer (an OMPT tool, loaded
# by OMP_TOOL_LIBRARIES); OpenBLAS, the tests' GEMM reference, is not instrumented: one thread.
ARCHER := $(firstword $(wildcard /usr/lib/llvm-*/lib/libarcher.so))
test-tsan: fuzz-deps
	cmake -S . -B build-tsan $(SANITIZE_CMAKE) -DMINIDL_SANITIZE=thread
	cmake --build build-tsan -j $(JOBS) --target minidl_tests
	cd build-tsan && OMP_TOOL_LIBRARIES=$(ARCHER) OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=1 \
	  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:ignore_noninstrumented_modules=1 \
	  ./bin/minidl_tests --test-case-exclude="*command line*,*end to end*,*killed*,*README*,*mpirun*"

fuzz: fuzz-deps
	cmake -S . -B build-fuzz $(SANITIZE_CMAKE) -DMINIDL_SANITIZE=address,undefined -DMINIDL_FUZZ=ON -DMINIDL_BUILD_TESTS=OFF
	cmake --build build-fuzz -j $(JOBS) $(addprefix --target fuzz_,$(FUZZ_TARGETS))

# Each target for FUZZ_SECONDS from its seeds (new inputs go to build-fuzz/corpus/<target>/, never
# into the repo); a crash stops with the input saved as build-fuzz/crash-*: add it to
# fuzz/regressions/<target>/ once fixed.
fuzz-smoke: fuzz
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p build-fuzz/corpus/$$t; \
	  echo "fuzz_$$t: $(FUZZ_LIMIT)"; \
	  ASAN_OPTIONS=detect_leaks=0 build-fuzz/fuzz/fuzz_$$t $(FUZZ_LIMIT) -timeout=10 -rss_limit_mb=2048 \
	    -print_final_stats=1 -artifact_prefix=build-fuzz/ build-fuzz/corpus/$$t \
	    $$(for d in fuzz/corpus/$$t fuzz/regressions/$$t; do [ -d $$d ] && echo $$d; done) \
	    > build-fuzz/fuzz_$$t.log 2>&1; status=$$?; \
	  grep -E "^stat::number_of_executed_units|^#[0-9]+.*DONE|ERROR|SUMMARY" build-fuzz/fuzz_$$t.log; \
	  [ $$status -eq 0 ] || { tail -40 build-fuzz/fuzz_$$t.log; exit 1; }; \
	done

clean:
	rm -rf $(BUILD) build-asan build-fuzz
