# virtform — build, test and lab targets.
#
#   make            build ./virtform
#   make check      run every test (TAP, under prove); installs missing deps first
#   make asan       build with AddressSanitizer+UBSan and run the same tests
#   make demo       deps, build, lab up, validate, hosts, apply and plan examples/lab
#   make deps       install the Debian packages the project needs
#   make lab-up / lab-down / lab-status / lab-clean (the demo's lab, lab 0;
#                   the tests run on lab 1 of their own: tests/with-lab)
#   make bench      print loader benchmark figures
#   make bench-apply print apply/destroy figures on the lab (30 VMs, 3 hosts)
#   make bench-perf print the performance bar's figures (docs/performance.md)
#   make fuzz       build the libFuzzer targets (clang) and run each FUZZ_SECONDS
#                   (default 60; docs/fuzzing.md)
#   make completion write contrib/completion/ (bash, zsh) from the commands
#   make man        write the manual pages into build/man (virtform.1 and
#                   one virtform-COMMAND.1 per command)
#   make install    install the binary, manual pages, completions and
#                   systemd units under DESTDIR/PREFIX (default /usr/local)

CC      ?= gcc
PKGS    := libvirt yaml-0.1 libxml-2.0 jansson libnl-3.0 libnl-route-3.0 libsodium libgit2 libisofs-1
WERROR  ?=
# CFLAGS is yours (optimisation, sanitizers); VF_CFLAGS is the project's and
# always applies, even when CFLAGS is given on the command line.
CFLAGS  ?= -O2 -g
VF_CFLAGS := -std=gnu11 -Wall -Wextra -Wshadow -Wformat=2 -Wno-unused-parameter \
           -Wmissing-prototypes -Wstrict-prototypes $(WERROR) -pthread -D_GNU_SOURCE -I.
# Targets that install the libraries, or need none, may run before they exist.
NO_LIBS_GOALS := deps deps-if-missing check demo asan clean lab-up lab-down lab-status lab-clean bench bench-apply bench-perf
ifeq ($(filter $(NO_LIBS_GOALS),$(MAKECMDGOALS)),)
  ifneq ($(shell pkg-config --exists $(PKGS) && echo yes),yes)
    $(error libraries missing ($(PKGS)): run 'make deps' as root, or 'make check' which does it)
  endif
endif
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
LDLIBS  += $(PKG_LIBS) -pthread -lcrypt

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
GIT_REV := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)

BUILD   ?= build
LIB_SRC := $(sort $(wildcard reconcile/*.c providers/*/*.c)) \
           $(filter-out cmd/main.c,$(sort $(wildcard cmd/*.c)))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
MAIN_OBJ := $(BUILD)/cmd/main.o
UNIT_SRC := $(sort $(wildcard tests/unit/test-*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)


PROVE   ?= prove
# --comments: a failing test's diagnostics reach the log (CI shows nothing else)
PROVE_FLAGS ?= --comments

.PHONY: all check asan demo deps deps-if-missing lab-up lab-down lab-status lab-clean bench bench-apply bench-perf bench-tools clean unit \
        fuzz fuzz-build fuzz-bins completion man install

BIN     ?= virtform

all: $(BIN)

$(BIN): $(MAIN_OBJ) $(BUILD)/libvirtform.a
	$(CC) $(VF_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/libvirtform.a: $(LIB_OBJ)
	rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/%.o: %.c $(wildcard */*.h */*/*.h) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(VF_CFLAGS) $(CFLAGS) $(PKG_CFLAGS) $(VF_DEFS) -c -o $@ $<

# Only the version command needs the version strings.
$(BUILD)/cmd/version.o: VF_DEFS = -DVF_VERSION='"$(VERSION)"' -DVF_GIT_REV='"$(GIT_REV)"'

$(BUILD)/tests/%: tests/unit/%.c tests/tap.h $(BUILD)/libvirtform.a
	@mkdir -p $(dir $@)
	$(CC) $(VF_CFLAGS) $(CFLAGS) $(PKG_CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libvirtform.a $(LDLIBS)

# The fuzz targets built with $(CC) and tests/fuzz/replay.c as main: they
# replay the committed corpus and regressions (tests/t0900-fuzz-regressions.sh).
FUZZ_TARGETS := yaml saved hostspec hook
FUZZ_REPLAY := $(FUZZ_TARGETS:%=$(BUILD)/fuzz/replay-%)
$(BUILD)/fuzz/replay-%: tests/fuzz/fuzz-%.c tests/fuzz/replay.c tests/fuzz/fuzz.h $(BUILD)/libvirtform.a
	@mkdir -p $(dir $@)
	$(CC) $(VF_CFLAGS) $(CFLAGS) $(PKG_CFLAGS) $(LDFLAGS) -o $@ $< tests/fuzz/replay.c \
	    $(BUILD)/libvirtform.a $(LDLIBS)

# Drivers of provider code no command calls yet, for the lab tests
# (tests/lab/vf-migrate.c: tests/t3800-migrate-lab.sh).
LAB_BIN := $(BUILD)/lab/vf-migrate
$(BUILD)/lab/%: tests/lab/%.c $(BUILD)/libvirtform.a
	@mkdir -p $(dir $@)
	$(CC) $(VF_CFLAGS) $(CFLAGS) $(PKG_CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libvirtform.a $(LDLIBS)

unit: $(UNIT_BIN) $(FUZZ_REPLAY) $(LAB_BIN)

# `make check` installs what is missing, builds and runs every test once.
check: deps-if-missing
	$(MAKE) $(BIN) unit
	VIRTFORM=$(CURDIR)/$(BIN) VF_BUILD=$(CURDIR)/$(BUILD) \
	    tests/with-lab $(PROVE) $(PROVE_FLAGS) $(UNIT_BIN) tests/t*.sh

asan:
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	$(MAKE) BUILD=build-asan BIN=build-asan/virtform CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined" \
	    LDFLAGS="-fsanitize=address,undefined" check

demo: deps-if-missing
	$(MAKE) virtform
	contrib/lab/lab up
	./virtform validate examples/lab
	./virtform hosts examples/lab
	./virtform apply examples/lab --auto-approve
	./virtform plan examples/lab --detailed-exitcode
	@echo
	@echo "The lab is running with examples/lab applied (state in examples/lab/.virtform):"
	@echo "try './virtform hosts examples/lab', edit examples/lab/vms.yaml and './virtform plan examples/lab';"
	@echo "'./virtform destroy examples/lab' removes the VMs, 'make lab-down' the lab."

deps:
	contrib/deps.sh

deps-if-missing:
	@contrib/deps.sh --if-missing

lab-up: deps-if-missing
	contrib/lab/lab up

lab-down:
	contrib/lab/lab down

lab-status:
	contrib/lab/lab status

lab-clean:
	contrib/lab/lab clean

bench: deps-if-missing
	$(MAKE) $(BIN)
	VIRTFORM=$(CURDIR)/$(BIN) bench/load-10k.sh

bench-apply: deps-if-missing
	$(MAKE) $(BIN)
	VIRTFORM=$(CURDIR)/$(BIN) bench/apply-lab.sh

# The raw floors the performance bar compares virtform with: libvirt only.
BENCH_BIN := $(BUILD)/bench/floor $(BUILD)/bench/raw-apply
# The scheduler's figure: the engine's own code, so linked with the library.
BENCH_BIN += $(BUILD)/bench/schedule
$(BUILD)/bench/schedule: bench/schedule.c $(BUILD)/libvirtform.a
	@mkdir -p $(dir $@)
	$(CC) $(VF_CFLAGS) $(CFLAGS) $(PKG_CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libvirtform.a $(LDLIBS)
$(BUILD)/bench/%: bench/%.c Makefile
	@mkdir -p $(dir $@)
	$(CC) $(VF_CFLAGS) $(CFLAGS) $(shell pkg-config --cflags libvirt) $(LDFLAGS) -o $@ $< \
	    $(shell pkg-config --libs libvirt) -pthread

bench-tools: $(BENCH_BIN)

# bench/perf.sh: no-op plan of 1,000 VMs vs the floor, apply of 40 running
# VMs vs raw define+start (both on the lab), plan's peak RSS at 10,000 VMs.
bench-perf: deps-if-missing
	$(MAKE) $(BIN) bench-tools
	VIRTFORM=$(abspath $(BIN)) VF_BENCH_BIN=$(abspath $(BUILD)/bench) bench/perf.sh

# `make fuzz`: the library compiled by clang with -fsanitize=fuzzer-no-link
# and ASan+UBSan into $(FUZZ_BUILD)/, each target linked with libFuzzer's
# main, then tests/fuzz/run.sh runs them one at a time.
FUZZ_CC      ?= clang-14
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined

fuzz: fuzz-build
	tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-build:
	$(MAKE) CC=$(FUZZ_CC) BUILD=$(FUZZ_BUILD) LDFLAGS= \
	    CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link $(FUZZ_SAN)" fuzz-bins

fuzz-bins: $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz-%)

$(BUILD)/fuzz/fuzz-%: tests/fuzz/fuzz-%.c tests/fuzz/fuzz.h $(BUILD)/libvirtform.a
	@mkdir -p $(dir $@)
	$(CC) $(VF_CFLAGS) $(CFLAGS) $(PKG_CFLAGS) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $< \
	    $(BUILD)/libvirtform.a $(LDLIBS)

# The completion scripts are committed (a package installs them as they
# are); tests/t0055-completion-man.sh checks they are what virtform prints.
completion: $(BIN)
	./$(BIN) completion bash > contrib/completion/virtform.bash
	./$(BIN) completion zsh > contrib/completion/_virtform

# The manual pages, from each command's usage (virtform help --man).
MAN_DIR := $(BUILD)/man
man: $(BIN)
	@mkdir -p $(MAN_DIR)
	./$(BIN) help --man > $(MAN_DIR)/virtform.1
	for c in $$(./$(BIN) help | sed -n '/^Commands:/,/^$$/s/^  \([a-z]*\) .*/\1/p'); do \
	    ./$(BIN) help --man $$c > $(MAN_DIR)/virtform-$$c.1 || exit 1; \
	done

# `make install` (DESTDIR and PREFIX as usual): the binary, the manual
# pages, the bash and zsh completions and the systemd units.
PREFIX  ?= /usr/local
install: $(BIN) man
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/virtform
	install -d $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0644 $(MAN_DIR)/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -D -m 0644 contrib/completion/virtform.bash \
	    $(DESTDIR)$(PREFIX)/share/bash-completion/completions/virtform
	install -D -m 0644 contrib/completion/_virtform \
	    $(DESTDIR)$(PREFIX)/share/zsh/vendor-completions/_virtform
	install -d $(DESTDIR)$(PREFIX)/lib/systemd/system
	install -m 0644 contrib/systemd/*.service contrib/systemd/*.timer \
	    $(DESTDIR)$(PREFIX)/lib/systemd/system/

clean:
	rm -rf build build-asan build-fuzz virtform
