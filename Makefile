# Convenience wrapper around CMake. `make` builds, `make test` runs the suite, `make demo` runs the
# CPU demo end to end, `make deps` installs Debian packages, `make bench` prints benchmark figures.
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=
CTEST_FLAGS ?=

.PHONY: all build configure test test-unit demo bench deps sanitize clean

all: build

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

configure: $(BUILD)/CMakeCache.txt

build: configure
	cmake --build $(BUILD) -j $(JOBS)

# Passive OpenMP waits: ctest runs JOBS tests at once, each with its own thread team; spinning
# waiters would fight over the cores.
test: build
	cd $(BUILD) && OMP_WAIT_POLICY=passive ctest --output-on-failure -j $(JOBS) $(CTEST_FLAGS)

demo: deps build
	scripts/demo.sh $(BUILD)

bench: build
	$(BUILD)/bin/cytocon-bench --device cpu --preset tiny
	$(BUILD)/bin/cytocon-bench --device cpu --preset paper

deps:
	scripts/deps.sh

sanitize:
	$(MAKE) test BUILD=build-asan CMAKE_FLAGS="-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCYTOCON_SANITIZE=address,undefined -DCYTOCON_CUDA=off"

clean:
	rm -rf $(BUILD)
