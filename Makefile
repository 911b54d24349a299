# krescue: one entry point for building, testing and benchmarking.
#   make            build/krescue, static (musl + mbedTLS + libyaml)
#   make check      every test; ends with "N passed, N failed"
#   make bench      benchmarks, with ratios against peers
#   make install    PREFIX=/usr/local (DESTDIR honoured)
#   make clean

PREFIX  ?= /usr/local
DESTDIR ?=
VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

BUILD   := build
DEPS    := $(BUILD)/deps
HDEPS   := $(BUILD)/deps-host

# Debian packages the build needs, and those the tests drive.
BUILD_PKGS := musl-tools make bzip2 file gcc binutils ca-certificates
TEST_PKGS  := openssl python3 python3-cryptography python3-yaml \
	      python3-prometheus-client util-linux etcd-server etcd-client \
	      ansible-core ansible-lint qemu-system-x86 \
	      ipxe-qemu ovmf e2fsprogs cpio xorriso mtools grub-pc-bin \
	      grub-efi-amd64-bin grub-common dosfstools systemd osslsigncode \
	      clang libfuzzer-14-dev

WARN    := -Wall -Wextra -Werror -Wformat=2 -Wshadow
CSTD    := -std=c11 -D_DEFAULT_SOURCE
CFLAGS  ?= -O2
KCFLAGS := $(CSTD) $(WARN) $(CFLAGS) -DKRESCUE_VERSION='"$(VERSION)"' \
	   -DMBEDTLS_CONFIG_FILE='"krescue_mbedtls_config.h"'
LIBS    := -lmbedtls -lmbedx509 -lmbedcrypto -lyaml

SRCS    := $(sort $(wildcard toolkit/*.c))
HDRS    := $(wildcard toolkit/*.h)
OBJS    := $(SRCS:toolkit/%.c=$(BUILD)/obj/%.o)
LIBSRCS := $(filter-out toolkit/main.c,$(SRCS))
HOBJS   := $(LIBSRCS:toolkit/%.c=$(BUILD)/hobj/%.o)

SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
HCC     ?= gcc
UNITSRC := $(sort $(wildcard tests/unit/test_*.c))
UNITS   := $(UNITSRC:tests/unit/%.c=$(BUILD)/unit/%)

.PHONY: all build deps check unit bench install clean fuzz
.SECONDARY:

all: build
build: $(BUILD)/krescue

deps: $(DEPS)/.stamp

$(BUILD)/.pkgs: scripts/install-pkgs.sh Makefile
	@mkdir -p $(BUILD)
	@sh scripts/install-pkgs.sh $(BUILD_PKGS)
	@touch $@

$(BUILD)/src/.stamp: scripts/deps.lock scripts/fetch-deps.sh | $(BUILD)/.pkgs
	@sh scripts/fetch-deps.sh
	@touch $@

$(DEPS)/.stamp: $(BUILD)/src/.stamp scripts/build-deps.sh toolkit/mbedtls_config.h
	@sh scripts/build-deps.sh $(CURDIR)/$(DEPS) musl-gcc
	@touch $@

$(HDEPS)/.stamp: $(BUILD)/src/.stamp scripts/build-deps.sh toolkit/mbedtls_config.h
	@sh scripts/build-deps.sh $(CURDIR)/$(HDEPS) $(HCC) "-g $(SAN)"
	@touch $@

$(BUILD)/obj/%.o: toolkit/%.c $(HDRS) $(DEPS)/.stamp
	@mkdir -p $(@D)
	musl-gcc $(KCFLAGS) -I$(DEPS)/include -c $< -o $@

$(BUILD)/krescue: $(OBJS)
	musl-gcc -static -o $@ $(OBJS) -L$(DEPS)/lib $(LIBS)
	strip $@
	@file $@ | grep -q 'statically linked' || \
	    { echo "error: $@ is not statically linked" >&2; rm -f $@; exit 1; }

# Unit tests: the toolkit's modules (all but main.c), built with the host
# compiler and AddressSanitizer + UndefinedBehaviorSanitizer.
$(BUILD)/hobj/%.o: toolkit/%.c $(HDRS) $(HDEPS)/.stamp
	@mkdir -p $(@D)
	$(HCC) $(KCFLAGS) -g $(SAN) -I$(HDEPS)/include -c $< -o $@

$(BUILD)/unit/%: tests/unit/%.c tests/unit/unit.h $(HOBJS)
	@mkdir -p $(@D)
	$(HCC) $(KCFLAGS) -g $(SAN) -Itoolkit -I$(HDEPS)/include $< $(HOBJS) \
	    -L$(HDEPS)/lib $(LIBS) -o $@

unit: $(UNITS)

check: build unit
	@sh scripts/install-pkgs.sh $(TEST_PKGS)
	@sh tests/run.sh

bench: build
	@sh tests/bench/run.sh

# the long fuzzing run (make check runs 10 s per target)
FUZZ_SECONDS ?= 300
fuzz:
	@sh scripts/install-pkgs.sh clang libfuzzer-14-dev
	@sh tests/fuzz/run.sh $(FUZZ_SECONDS)

install: build
	install -d $(DESTDIR)$(PREFIX)/sbin
	install -m 0755 $(BUILD)/krescue $(DESTDIR)$(PREFIX)/sbin/krescue

clean:
	rm -rf $(BUILD)

.PHONY: demo
demo:
	@sh scripts/demo.sh

# --- rescue image (issue 6): kernel + initramfs, ISO, PXE, qemu tests -----
#   make image        build/vmlinuz, build/krescue.initrd (prints the size)
#   make iso          build/krescue.iso (hybrid BIOS + UEFI with Secure
#                     Boot: Debian's signed shim and GRUB; dd to USB)
#   make pxe          build/pxe/ (kernel, initrd, iPXE scripts, pxelinux)
#   make check-image  tests/e2e/*.sh: qemu (TCG) boots of the image
.PHONY: image iso pxe check-image
image: build
	@sh scripts/image/mkinitrd.sh

iso: image
	@sh scripts/image/mkiso.sh

pxe: image
	@sh scripts/image/mkpxe.sh

check-image: image
	@for t in tests/e2e/*.sh; do sh "$$t" || st=1; done; exit $${st:-0}

# --- packaging (issue 7): man page, textfile units, .deb, release tarball -
#   make install-extras  man page and systemd units (DESTDIR honoured);
#                        `make install` runs it too
#   make deb             build/dist/krescue_<version>_<arch>.deb (dpkg-deb)
#   make dist            build/dist/krescue-<version>.tar.gz + SHA256SUMS
.PHONY: install-extras deb dist
install: install-extras

install-extras:
	install -d $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 0644 docs/krescue.8 $(DESTDIR)$(PREFIX)/share/man/man8/krescue.8
	install -d $(DESTDIR)$(PREFIX)/lib/systemd/system
	install -m 0644 packaging/krescue-textfile.service \
	    packaging/krescue-textfile.timer $(DESTDIR)$(PREFIX)/lib/systemd/system/

deb: build
	@sh scripts/mkdeb.sh

dist: build
	@sh scripts/mkdist.sh
