# tests/lib.sh: helpers for the shell tests.  A test file lives in
# tests/<group>/NAME.sh and starts with
#	. "$(dirname "$0")/../lib.sh"
# which also makes the repository root the working directory.
# Each test reports one line: "PASS name", "FAIL name: why" or
# "SKIP name: why"; tests/run.sh counts them.  Names are prefixed with the
# test file's name so that the runner's log says where a line came from.

# Paths are made absolute so that tests may cd, and so that an unprivileged
# user (setpriv) can reach them.
REPO=$(cd "$(dirname "$0")/../.." && pwd) || exit 111
cd "$REPO" || exit 111
TESTS_LIB_DIR=$REPO/tests
abspath() {
	case $1 in
	/*) printf '%s\n' "$1" ;;
	*) printf '%s/%s\n' "$REPO" "$1" ;;
	esac
}
KRESCUE=$(abspath "${KRESCUE:-build/krescue}")
FIXTURES=$(abspath "${FIXTURES:-../shared/fixtures}")
# Debian's interpreter: it has python3-cryptography, -yaml and
# -prometheus-client; a python3 earlier in PATH (pyenv, venv) may not.
PYTHON=${PYTHON:-/usr/bin/python3}
export KRESCUE FIXTURES PYTHON
export LC_ALL=C TZ=UTC

MKTREE="$PYTHON $TESTS_LIB_DIR/lib/mktree.py"
KCHECK="$PYTHON $TESTS_LIB_DIR/lib/kcheck.py"

T_FILE=$(basename "$0" .sh)
T_FAILED=0

pass() { printf 'PASS %s: %s\n' "$T_FILE" "$1"; }
fail() {
	printf 'FAIL %s: %s: %s\n' "$T_FILE" "$1" "$2"
	T_FAILED=1
	return 1
}
skip() { printf 'SKIP %s: %s: %s\n' "$T_FILE" "$1" "$2"; }

# One temp dir per test file, removed on exit (KEEP_TMP=1 keeps it).
# 0755 so that the unprivileged-user tests can walk into it.
TMP=$(mktemp -d "${TMPDIR:-/tmp}/krescue-test.XXXXXX") || exit 111
chmod 0755 "$TMP"
t_cleanup() {
	if [ "${KEEP_TMP:-0}" = 1 ]; then
		echo "# kept $TMP" >&2
	else
		# a test may have left a directory mode 000 behind
		chmod -R u+rwx "$TMP" 2>/dev/null
		rm -rf "$TMP"
	fi
}
trap 't_cleanup' EXIT
trap 'exit 130' INT TERM HUP

# finish: last line of a test file; the exit status says whether all passed.
finish() { exit "$T_FAILED"; }

# run cmd...: run a command, keeping stdout in $OUT, stderr in $ERR and the
# exit status in $RC.
OUT=$TMP/.out
ERR=$TMP/.err
RC=0
run() {
	RC=0
	"$@" >"$OUT" 2>"$ERR" || RC=$?
}

# first line of the captured stderr, for failure messages
why_err() { head -n 1 "$ERR" | cut -c 1-200; }

# expect_exit CODE name cmd...: pass if cmd exits with CODE (a list such as
# "3|111" is accepted too); output stays in $OUT and $ERR.
expect_exit() {
	ee_want=$1 ee_name=$2
	shift 2
	run "$@"
	case "|$ee_want|" in
	*"|$RC|"*) pass "$ee_name" ;;
	*) fail "$ee_name" "exit $RC, want $ee_want ($(why_err))" ;;
	esac
}

# tree_hash DIR: one sha256 over every entry below DIR: type, mode, owner,
# relative path and symlink target, plus the content hash of every file.
tree_hash() {
	(
		cd "$1" || exit 1
		find . -printf '%y %m %U:%G %p -> %l\n' | sort
		find . -type f -exec sha256sum {} + | sort -k 2
	) | sha256sum | cut -d ' ' -f 1
}

# mktree ARGS...: build a node root (see tests/lib/mktree.py); fails the
# whole file if that breaks, since every later result would be meaningless.
mktree() {
	if ! $MKTREE "$@" >"$TMP/.mktree" 2>&1; then
		fail "mktree $*" "$(tail -n 1 "$TMP/.mktree")"
		exit 1
	fi
}

# kcheck ARGS...: run tests/lib/kcheck.py; its report lands in $KOUT.
KOUT=$TMP/.kcheck
kcheck() { $KCHECK "$@" >"$KOUT" 2>&1; }
why_kcheck() { head -n 3 "$KOUT" | tr '\n' ' ' | cut -c 1-300; }

# require_krescue: one FAIL (not dozens) when the binary is missing.
require_krescue() {
	if [ ! -x "$KRESCUE" ]; then
		fail "krescue" "$KRESCUE is not built (run make)"
		exit 1
	fi
}

# strip_trailing FILE: the file without trailing blanks on each line.
strip_trailing() { sed 's/[[:space:]]*$//' "$1"; }

# expired_disk IMG: a 64 MiB ext4 image labelled k8snode holding an
# expired kubeadm 1.28.4 node whose kubelet finished its bootstrap, the
# disk the media boots (tests/e2e/media.sh, secureboot.sh) renew or check
expired_disk() {
	mktree kubeadm "$TMP/expired-disk" --version 1.28.4 --expired \
	    --kubelet-finalize
	mkdir -p "$TMP/expired-disk/etc/systemd/system"
	truncate -s 64M "$1"
	mkfs.ext4 -q -L k8snode -d "$TMP/expired-disk" "$1"
}

# qemu_run TIMEOUT NAME RUN-QEMU-ARGS...: scripts/image/run-qemu.sh; the
# console without CRs in $TMP/NAME.txt, the result line(s) in $RESULT
# ("(timed out ...)" when qemu was stopped), how many in $NRESULT, qemu's
# exit status in $BRC, the wall time in $SECS
qemu_run() {
	qr_timeout=$1 qr_name=$2
	shift 2
	qr_start=$(date +%s)
	sh scripts/image/run-qemu.sh -t "$qr_timeout" "$@" \
	    </dev/null >"$TMP/$qr_name.log" 2>&1
	BRC=$?
	SECS=$(($(date +%s) - qr_start))
	tr -d '\r' <"$TMP/$qr_name.log" >"$TMP/$qr_name.txt"
	RESULT=$(grep -a '^KRESCUE-RESULT: ' "$TMP/$qr_name.txt")
	NRESULT=$(grep -a -c 'KRESCUE-RESULT: ' "$TMP/$qr_name.txt")
	echo "# $qr_name: qemu exit $BRC after ${SECS}s: $RESULT"
	[ "$BRC" = 124 ] && RESULT="(timed out after ${qr_timeout}s)"
	return 0
}

# qemu_boot TIMEOUT NAME RUN-QEMU-ARGS...: qemu_run with a fresh copy of
# $TMP/disk.img as $TMP/NAME.img
qemu_boot() {
	cp "$TMP/disk.img" "$TMP/$2.img"
	qb_t=$1 qb_n=$2
	shift 2
	qemu_run "$qb_t" "$qb_n" -d "$TMP/$qb_n.img" "$@"
}

# readback_check NAME: $TMP/NAME.img (an expired_disk after a renewal)
# read back with debugfs must pass `krescue check` with the unit staged
readback_check() {
	mkdir -p "$TMP/$1.out"
	for d in etc var root; do
		debugfs -R "rdump /$d $TMP/$1.out" "$TMP/$1.img" >/dev/null 2>&1
	done
	run "$KRESCUE" check --root "$TMP/$1.out"
	if [ "$RC" = 0 ] && [ -f "$TMP/$1.out/etc/systemd/system/krescue-finish.service" ]; then
		pass "$1: disk read back: check exit 0, unit staged"
	else
		fail "$1: disk read back" "check exit $RC"
	fi
}

# require_qemu NAME [PACKAGE...]: qemu-system-x86_64, installed (with the
# packages given) when missing; without it NAME is skipped and the
# program ends
require_qemu() {
	rq_name=$1
	shift
	command -v qemu-system-x86_64 >/dev/null 2>&1 ||
	    sh scripts/install-pkgs.sh qemu-system-x86 "$@" >/dev/null 2>&1
	if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
		skip "$rq_name" "qemu-system-x86_64 cannot be installed"
		finish
	fi
}

# require_image: build/vmlinuz and build/krescue.initrd, built when
# missing; a failed build fails the program and ends it
require_image() {
	[ -s build/vmlinuz ] && [ -s build/krescue.initrd ] && return 0
	if ! sh scripts/image/mkinitrd.sh >"$TMP/mkinitrd.log" 2>&1; then
		fail "make image" "$(tail -n 1 "$TMP/mkinitrd.log")"
		finish
	fi
}
