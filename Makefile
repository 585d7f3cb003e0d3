# A thin wrapper around CMake (as Neovim's): `make run` and `make check` do all
# set-up on a fresh Debian machine. CMake stays usable on its own.
BUILD ?= build
BUILD_ASAN ?= build-asan
BUILD_FUZZ ?= build-fuzz
FUZZ_SECONDS ?= 45
HL7_FUZZ_SECONDS ?= 15
CMAKE ?= cmake
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all deps build run serve demo check test test-asan valgrind fuzz peers bench-quick bench bench-http screenshots clean format format-check lint abi-baseline

all: build

deps:
	@scripts/install-deps

$(BUILD)/Makefile:
	$(CMAKE) -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: $(BUILD)/Makefile
	$(CMAKE) --build $(BUILD) -j $(JOBS)

# The nurse workstation and the HTTP API on http://127.0.0.1:8080/, with the
# bundled protocols on ./var/vigil.db (the settings of ./vigil.conf). The
# first start creates the user admin and prints its password once.
run: deps build
	$(BUILD)/vigil serve

serve: run

# The bundled protocol through a simulated uneventful visit, in the terminal.
demo: build
	$(BUILD)/vigil simulate protocols/ketamine_iv --scenario protocols/ketamine_iv/scenarios/uneventful.lua

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The browser tests again, saving their screenshots of the board, a visit, a
# score form, the discharge summary and a patient's course as docs/screenshots/*.png (committed,
# linked from README.md): run after changing the workstation's looks.
screenshots: build
	cd tests/browser && npm ci --no-audit --no-fund --prefer-offline && \
	  VIGIL_BIN=$(CURDIR)/$(BUILD)/vigil VIGIL_SCREENSHOTS=$(CURDIR)/docs/screenshots node workstation.test.js && \
	  VIGIL_BIN=$(CURDIR)/$(BUILD)/vigil VIGIL_SCREENSHOTS=$(CURDIR)/docs/screenshots node course.test.js

# Records libvigil.so's binary interface as tests/shared/libvigil.abi, which
# ctest abi compares the library with: run it when the interface changes on
# purpose, and raise VIGIL_SOVERSION (CMakeLists.txt) when the change breaks
# programs built against the last vigil.h (libabigail's abidw).
abi-baseline: build
	@# Public types only, no places, and source paths relative to the tree: the
	@# same interface reads the same from any checkout.
	abidw --headers-dir include/vigil --drop-private-types --drop-undefined-syms --no-corpus-path --no-show-locs \
	  --no-comp-dir-path $(BUILD)/libvigil.so | sed 's#$(CURDIR)/##' > tests/shared/libvigil.abi

$(BUILD_ASAN)/Makefile:
	$(CMAKE) -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=Debug -DVIGIL_SANITIZE=ON

test-asan: $(BUILD_ASAN)/Makefile
	$(CMAKE) --build $(BUILD_ASAN) -j $(JOBS)
	cd $(BUILD_ASAN) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j $(JOBS) -LE nosan

# The libFuzzer target of the HTTP server and the API (docs/fuzzing.md), in a
# clang build of its own, for FUZZ_SECONDS (`make fuzz FUZZ_SECONDS=3600`),
# then the hl7 plugin's codec and ADT reading for HL7_FUZZ_SECONDS.
# The inputs of bugs it found (tests/fuzz/regressions) are replayed first.
# New inputs go to $(BUILD_FUZZ)/corpus; a crash leaves its input in
# $(BUILD_FUZZ)/ and fails the target. Per-input leak checks are off (the
# engine keeps what the inputs record, and scanning for it every input would
# cost most of the time); LeakSanitizer still checks once at exit.
$(BUILD_FUZZ)/Makefile:
	CC=clang $(CMAKE) -S . -B $(BUILD_FUZZ) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVIGIL_FUZZ=ON -DVIGIL_TESTS=OFF

fuzz: $(BUILD_FUZZ)/Makefile
	$(CMAKE) --build $(BUILD_FUZZ) -j $(JOBS) --target fuzz_http
	mkdir -p $(BUILD_FUZZ)/corpus
	cd $(BUILD_FUZZ) && tests/fuzz/fuzz_http $(CURDIR)/tests/fuzz/regressions/*
	cd $(BUILD_FUZZ) && tests/fuzz/fuzz_http -max_total_time=$(FUZZ_SECONDS) -timeout=10 -detect_leaks=0 \
	  -print_final_stats=1 -dict=$(CURDIR)/tests/fuzz/http.dict corpus $(CURDIR)/tests/fuzz/corpus
	$(CMAKE) --build $(BUILD_FUZZ) -j $(JOBS) --target fuzz_hl7
	mkdir -p $(BUILD_FUZZ)/corpus_hl7
	cd $(BUILD_FUZZ) && tests/fuzz/fuzz_hl7 -max_total_time=$(HL7_FUZZ_SECONDS) -timeout=10 \
	  -print_final_stats=1 -dict=$(CURDIR)/tests/fuzz/hl7.dict corpus_hl7 $(CURDIR)/tests/fuzz/corpus_hl7

# The core tests under valgrind: no leaks, no invalid access. Not the programs
# whose subject is a `vigil serve` they start: valgrind does not follow the
# children (the server runs natively; ASan's stage runs them with the
# sanitized server), and their own client code took a quarter of the stage
# (test_cluster 379 s, test_export_off_loop 365 s, at load 7). Nor test_oom:
# ASan's stage fails every allocation of it with leak checks, where valgrind
# tried every seventh without checking the children's leaks, in 28 minutes.
VALGRIND_SKIP = test_cluster test_export_off_loop test_security_http test_course_http test_oom
valgrind: build
	@set -e; for t in $(BUILD)/tests/test_*; do \
	  case $$t in *.log) continue;; esac; [ -x $$t ] || continue; \
	  case " $(VALGRIND_SKIP) " in *" $${t##*/} "*) echo "valgrind: $$t skipped (a server's test)"; continue;; esac; \
	  echo "valgrind $$t"; \
	  VIGIL_TEST_SLOW=1 valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=9 \
	    --child-silent-after-fork=yes $$t > $$t.valgrind.log 2>&1 \
	    || { cat $$t.valgrind.log; exit 1; }; \
	done

# The peers (bench/peers): XState 5 and bpmn-engine from npm, at the versions
# of the committed package-lock.json. Debian's nodejs has no npm (NodeSource's
# has it built in): install Debian's npm only if there is none.
PEERS = bench/peers
$(PEERS)/node_modules/.package-lock.json: $(PEERS)/package.json $(PEERS)/package-lock.json
	@command -v npm >/dev/null || { if [ "$$(id -u)" = 0 ]; then apt-get install -y npm; else sudo apt-get install -y npm; fi; }
	cd $(PEERS) && npm ci --no-audit --no-fund

peers: $(PEERS)/node_modules/.package-lock.json

# vigil and XState at N = 1,000 (about a second each), and bpmn-engine on 20
# visits (a few seconds: it takes about 0.1 s per visit), so that none rots.
bench-quick: build peers
	$(BUILD)/bench/vigil-bench --n 1000
	node --expose-gc $(PEERS)/xstate.js --n 1000
	@# bpmn-engine reads the real clock when it arms a timer (bench/README.md): on a
	@# loaded machine a run may miss an event and fail its checksums. A second try
	@# tells that from rot, which fails every time.
	node --expose-gc $(PEERS)/bpmn.js --n 20 || node --expose-gc $(PEERS)/bpmn.js --n 20

# The full run, on demand (about 10 minutes): vigil in every mode, XState and
# bpmn-engine, and the same run's limits, one after another; writes
# bench/RESULTS.md, its charts (gnuplot) and README.md's table.
bench: build peers
	bench/run-all.sh $(BUILD)

# The HTTP API over loopback (bench/README.md): wrk on reading a visit and
# recording vitals, and an alert's delay to 100 event-stream subscribers.
# Installs wrk (Debian package) if missing.
bench-http: build
	@command -v wrk >/dev/null || { if [ "$$(id -u)" = 0 ]; then apt-get install -y wrk; else sudo apt-get install -y wrk; fi; }
	$(BUILD)/bench/vigil-http-bench

# Everything CI runs: dependencies, the normal build and tests, the sanitizer
# build and tests, the core tests under valgrind, the HTTP fuzz target for
# FUZZ_SECONDS, and the quick benchmark (so it cannot rot).
check: deps
	$(MAKE) format-check
	$(MAKE) lint
	$(MAKE) build
	$(MAKE) test
	$(MAKE) test-asan
	$(MAKE) valgrind
	$(MAKE) fuzz
	$(MAKE) bench-quick

# The C style of .clang-format on every C file of the project: `make format`
# applies it, `make format-check` (part of `make check`) fails on a file that
# differs, naming it. The files: git's, tracked and new (not ignored); outside
# git (a tarball) every .c and .h found but in build folders (build*, and any
# folder with a CMakeCache.txt: seventh review, item 9). None found fails
# (sixth review, item 10: it passed checking nothing).
C_FILES = $(wildcard $(shell git ls-files --cached --others --exclude-standard '*.c' '*.h' 2>/dev/null || \
  find . \( -name 'build*' -o -name node_modules -o -name var -o -name .git \
    -o -type d -exec test -f '{}/CMakeCache.txt' \; \) -prune -o \
  \( -name '*.c' -o -name '*.h' \) -type f -print | sed 's|^\./||'))
format:
	clang-format -i $(C_FILES)

format-check:
	@test -n "$(C_FILES)" || { echo "format-check: no C files found (neither git's nor under $(CURDIR))" >&2; exit 1; }
	@clang-format --dry-run --Werror $(C_FILES) && echo "format-check: $(words $(C_FILES)) files as .clang-format says"

# cppcheck over every room, with each room's include/ (cmake/rooms.cmake): a
# finding fails the target. A false positive is suppressed at its line with a
# comment saying why (cppcheck-suppress). Then no two files may include each
# other, directly or around a circle, nor two units (a .c file with its
# header) call each other through their headers (scripts/include-circles,
# then with --units), and no include may go round the walls: a name with ..
# or an absolute one, a plugin including more than plugin.h and plugins/common
# (scripts/include-walls). Then, from the build ($(BUILD): lint builds first),
# every file the compiler read for a room's objects is the room's own, a room's
# it USES or the system's (scripts/include-rooms: the compiler's dependency
# files, so a macro, a symlink or a -I cannot walk round), and every vigil_ or
# vigil__ symbol a room's library uses is defined by a room it uses or links
# (scripts/symbol-rooms). Before those, the rooms' USES, LINKS, include paths
# and public headers are the plan's (cmake/rooms.plan), with no cycle between
# rooms (scripts/room-plan), and the plan is what docs/architecture.md's rooms
# table says each room may use (scripts/plan-doc). Every library on a room's program's link line is
# a room's, the system's or the room's own archive, read as the room's
# (scripts/link-rooms: a static library that is no room passed every other
# wall). Last, every global symbol the build's libraries
# define is vigil_ (declared in include/vigil/) or vigil__ (scripts/symbol-names),
# and no two objects of any room's library call each other but the pairs
# docs/architecture.md lists (scripts/symbol-circles).
ROOM_INCLUDES = $(addprefix -I,$(shell find core author server export -type d -name include))
lint: build
	@cppcheck --quiet --error-exitcode=1 --enable=warning,performance --std=c11 --inline-suppr \
	  -Iinclude $(ROOM_INCLUDES) core author cli export server plugins && echo "lint: cppcheck found nothing"
	@scripts/include-circles
	@scripts/include-circles --units
	@scripts/include-walls
	@scripts/room-plan $(BUILD)
	@scripts/plan-doc
	@scripts/include-rooms $(BUILD)
	@scripts/type-copies $(BUILD)
	@scripts/symbol-rooms $(BUILD)
	@scripts/link-rooms $(BUILD)
	@scripts/symbol-names $$(find $(BUILD) -name 'libvigil_*.a' | sort) $$(scripts/link-rooms --objects $(BUILD) | awk '{ print $$2 }')
	@for lib in $$(find $(BUILD) -name 'libvigil_*.a' | sort); do scripts/symbol-circles $$lib || exit 1; done

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ)
