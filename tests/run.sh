#!/bin/sh
# tests/run.sh: run every test and count the results (`make check`).
#
# Test programs: build/unit/test_* (C, sanitizers), then tests/cli/*.sh,
# tests/interop/*.sh, tests/faults/*.sh, a short fuzzing run
# (tests/fuzz/run.sh, 10 s per target), tests/ansible/*.sh and
# tests/e2e/*.sh (qemu boots of the rescue image), in that order.  Each prints
# lines "PASS name", "FAIL name: why" or "SKIP name: why"; other lines are
# shown indented.  A program that exits non-zero without printing a FAIL
# (a sanitizer abort, a crash, a timeout), or that reports nothing at all,
# counts as one failure.  The last line is "N passed, N failed" (plus
# ", N skipped" when some were skipped); the exit status is 1 if anything
# failed.
#
# Environment:
#	TESTS=pattern	run only the programs whose path contains one of
#			the space-separated shell patterns (e.g. TESTS=cli/check
#			or TESTS='test_x509 *kubespray*')
#	TEST_TIMEOUT	seconds per program (default 600)
#	KRESCUE, FIXTURES, PYTHON, KEEP_TMP: see tests/lib.sh

cd "$(dirname "$0")/.." || exit 111
timeout_s=${TEST_TIMEOUT:-600}

work=$(mktemp -d "${TMPDIR:-/tmp}/krescue-run.XXXXXX") || exit 111
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM HUP
log=$work/results

selected() {
	[ -z "${TESTS:-}" ] && return 0
	for pat in $TESTS; do
		# shellcheck disable=SC2254
		case $1 in
		*$pat*) return 0 ;;
		esac
	done
	return 1
}

# run_one PATH CMD...: run one test program, stream and record its lines.
run_one() {
	name=$1
	shift
	out=$work/out
	: >"$out"
	{
		rc=0
		timeout -k 10 "$timeout_s" "$@" </dev/null 2>&1 || rc=$?
		echo "$rc" >"$work/rc"
	} | while IFS= read -r line || [ -n "$line" ]; do
		case $line in
		"PASS "* | "FAIL "* | "SKIP "*)
			printf '%s\n' "$line"
			printf '%s\n' "$line" >>"$out"
			;;
		*) printf '    %s\n' "$line" ;;
		esac
	done
	rc=$(cat "$work/rc")
	cat "$out" >>"$log"
	if [ "$rc" -ne 0 ] && ! grep -q '^FAIL ' "$out"; then
		if [ "$rc" -eq 124 ]; then
			why="timed out after ${timeout_s}s"
		else
			why="exited with status $rc without reporting a failure"
		fi
		printf 'FAIL %s: %s\n' "$name" "$why" | tee -a "$log"
	elif [ ! -s "$out" ]; then
		printf 'FAIL %s: reported no results (status %s)\n' "$name" "$rc" |
		    tee -a "$log"
	fi
}

: >"$log"
ran=0
for t in build/unit/test_*; do
	if [ ! -f "$t" ] || [ ! -x "$t" ]; then continue; fi
	selected "$t" || continue
	ran=$((ran + 1))
	run_one "$t" "./$t"
done
for t in tests/cli/*.sh tests/interop/*.sh tests/faults/*.sh \
    tests/fuzz/run.sh tests/ansible/*.sh tests/e2e/*.sh; do
	[ -f "$t" ] || continue
	selected "$t" || continue
	ran=$((ran + 1))
	if [ -x "$t" ]; then
		run_one "$t" "./$t"
	else
		run_one "$t" sh "$t"
	fi
done

passed=$(grep -c '^PASS ' "$log")
failed=$(grep -c '^FAIL ' "$log")
skipped=$(grep -c '^SKIP ' "$log")
if [ "$ran" -eq 0 ]; then
	echo "no test programs matched${TESTS:+ TESTS=$TESTS}" >&2
	failed=$((failed + 1))
fi
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
