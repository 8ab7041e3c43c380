# Convenience wrapper around CMake. `make` builds, `make test` runs the suite, `make demo` runs the
# CPU demo end to end, `make reproduce` the study of docs/reproduction.md, `make deps` installs
# what is missing (apt/dnf as root; otherwise it says what to get), `make bench` prints benchmark
# figures, `make test-emulated` runs the GPU tests on the CUDA emulator.
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=
# The CUDA backend is compiled for this machine's GPU when one answers nvidia-smi, and left out
# otherwise (a CUDA build for five architectures takes ~20 minutes on 2 cores). CMake's own
# default stays `auto`; CI compiles it explicitly (.ci/run). Override: make CUDA_FLAGS=...
HAVE_GPU := $(shell nvidia-smi -L >/dev/null 2>&1 && echo 1)
ifeq ($(HAVE_GPU),1)
CUDA_FLAGS ?= -DCYTOCON_CUDA=auto -DCYTOCON_CUDA_ARCHITECTURES=native
else
CUDA_FLAGS ?= -DCYTOCON_CUDA=off
endif
CTEST_FLAGS ?=
# The emulator needs the CUDA toolkit's and cuDNN's headers only (no driver, no GPU).
CUDA_HEADERS := $(firstword $(foreach d,$(CUDA_HOME)/include /usr/local/cuda/include /usr/include,\
  $(if $(wildcard $(d)/cuda_runtime.h),$(if $(wildcard $(d)/cudnn.h),$(d)))))

.PHONY: all build configure test test-emulated demo reproduce bench deps sanitize sanitize-emulated clean

all: build

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CUDA_FLAGS) $(CMAKE_FLAGS)

configure: $(BUILD)/CMakeCache.txt

build: configure
	cmake --build $(BUILD) -j $(JOBS)

# Passive OpenMP waits: ctest runs JOBS tests at once, each with its own thread team; spinning
# waiters would fight over the cores. Without a GPU the gpu-labelled tests skip themselves in
# $(BUILD), so `make test` then also runs them on the CUDA emulator (test-emulated).
test: build
	cd $(BUILD) && OMP_WAIT_POLICY=passive ctest --output-on-failure -j $(JOBS) $(CTEST_FLAGS)
ifneq ($(HAVE_GPU),1)
ifeq ($(CUDA_HEADERS),)
	@echo "make test: emulated GPU suite skipped: no CUDA headers (cuda_runtime.h and cudnn.h; set CUDA_HOME, docs/cuda-emulator.md)"
else
	$(MAKE) test-emulated
endif
endif

# The CUDA backend's own code compiled as C++ and run on the CPU (docs/cuda-emulator.md): every
# gpu-labelled test, the emulator's tests and the races check (labels gpu, emu), in $(EMU_BUILD).
EMU_BUILD ?= build-emu
test-emulated:
	$(MAKE) build BUILD=$(EMU_BUILD) CUDA_FLAGS=-DCYTOCON_CUDA=emulate
	cd $(EMU_BUILD) && OMP_WAIT_POLICY=passive ctest --output-on-failure -j $(JOBS) -L "gpu|emu"

demo: deps build
	scripts/demo.sh $(BUILD)

# The pre-registered study of docs/reproduction.md: hours on 2 cores, resumes when rerun.
REPRODUCE_OUT ?= reproduce-out
reproduce: build
	scripts/reproduce.sh $(BUILD) $(REPRODUCE_OUT)

bench: build
	$(BUILD)/bin/cytocon-bench --device cpu --preset tiny
	$(BUILD)/bin/cytocon-bench --device cpu --preset paper

deps:
	scripts/deps.sh

# Address + UB sanitizers over the whole CPU suite. MPICH's own start-up allocations are reported
# as leaks by LeakSanitizer, so the mpi-labelled tests run with leak detection off; cairo's and
# fontconfig's process-lifetime font caches are suppressed (tests/lsan.supp says why).
sanitize: export LSAN_OPTIONS = suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0
sanitize:
	$(MAKE) build BUILD=build-asan CUDA_FLAGS=-DCYTOCON_CUDA=off CMAKE_FLAGS="-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCYTOCON_SANITIZE=address,undefined"
	cd build-asan && OMP_WAIT_POLICY=passive ctest --output-on-failure -j $(JOBS) -LE "mpi|gpu"
	cd build-asan && OMP_WAIT_POLICY=passive ASAN_OPTIONS=detect_leaks=0 ctest --output-on-failure -j $(JOBS) -L mpi

# The CUDA code on the emulator under ASan+UBSan: out-of-bounds kernel accesses are reported with
# their source line (docs/cuda-emulator.md). The whole-network and probe tests are left out: tens
# of minutes under the sanitizers; every kernel they run is in the others.
sanitize-emulated:
	$(MAKE) build BUILD=build-emu-asan CUDA_FLAGS=-DCYTOCON_CUDA=emulate CMAKE_FLAGS="-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCYTOCON_SANITIZE=address,undefined"
	cd build-emu-asan && OMP_WAIT_POLICY=passive ASAN_OPTIONS=detect_leaks=0 ctest --output-on-failure -j $(JOBS) -L "gpu|emu" -E "GpuNetwork|GpuProbe|GpuTrain|mpi.train"

clean:
	rm -rf $(BUILD)
