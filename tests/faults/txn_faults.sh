#!/bin/sh
# txn_faults.sh: crash txn.c at every fault step (KRESCUE_FAULT=<step>),
# then recover, and check the node holds exactly the old or the new set
# of files (never a mix), the one the step implies, with no temp file or
# journal left; then roll back and check the old set.
# Run from the repository root; prints one PASS/FAIL/SKIP line per case.
set -u

HDEPS=build/deps-host
NAME=txn_faults
if [ ! -f "$HDEPS/.stamp" ] || ! command -v gcc >/dev/null 2>&1; then
	echo "SKIP $NAME: host deps ($HDEPS) or gcc missing"
	exit 0
fi

tmp=$(mktemp -d /tmp/krescue-faults.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

D=$tmp/txn_driver
if ! gcc -std=c11 -D_DEFAULT_SOURCE -Wall -Wextra -Werror -Wformat=2 \
    -Wshadow -DMBEDTLS_CONFIG_FILE='"krescue_mbedtls_config.h"' -g \
    -fsanitize=address,undefined -fno-sanitize-recover=all \
    -Itoolkit -I"$HDEPS/include" tests/faults/txn_driver.c toolkit/txn.c \
    toolkit/root.c toolkit/util.c -L"$HDEPS/lib" -lmbedtls -lmbedx509 \
    -lmbedcrypto -lyaml -o "$D" 2>"$tmp/build.log"; then
	echo "FAIL $NAME: driver does not build"
	sed 's/^/# /' "$tmp/build.log"
	exit 1
fi

failed=0
n=0
pass() { echo "PASS $NAME: $*"; }
fail() { echo "FAIL $NAME: $*"; failed=1; }

# A fresh old set in $r.
fresh() {
	n=$((n + 1))
	r=$tmp/r$n
	mkdir "$r" && "$D" setup "$r"
}

# state_is ROOT WANT: the tree is exactly WANT (old|new) and clean.
state_is() {
	[ "$("$D" state "$1" 2>&1)" = "$2" ]
}

# Which set a crash at this step leaves after recovery: "before" (none of
# the change) or "after" (all of it).
phase() {
	case $1 in
	journal-staging|backup-*|temp-*|journal-prepared) echo before ;;
	*) echo after ;;
	esac
}

"$D" steps >"$tmp/steps" || { fail "cannot list the steps"; exit 1; }
for w in commit recover undo abort; do
	grep "^$w " "$tmp/steps" | cut -d' ' -f2 >"$tmp/$w.steps"
done
nsteps=$(wc -l <"$tmp/steps")
if [ "$nsteps" -ge 40 ]; then
	pass "$nsteps fault steps listed"
else
	fail "only $nsteps fault steps listed"
fi

# 1. A crash at every step of a commit.
while read -r step; do
	fresh || { fail "commit $step: setup"; continue; }
	KRESCUE_FAULT=$step "$D" commit "$r" >/dev/null 2>"$tmp/err"
	rc=$?
	if [ $rc -ne 99 ]; then
		fail "commit $step: the fault did not fire (exit $rc)"
		continue
	fi
	if ! rec=$("$D" recover "$r" 2>"$tmp/err"); then
		fail "commit $step: recovery failed"
		sed 's/^/# /' "$tmp/err"
		continue
	fi
	if [ "$(phase "$step")" = before ]; then want=old; else want=new; fi
	if ! state_is "$r" $want; then
		fail "commit $step: after recovery ($rec):" \
		    "$("$D" state "$r" 2>&1), want $want"
		continue
	fi
	rec2=$("$D" recover "$r" 2>/dev/null)
	if [ "$rec2" != none ]; then
		fail "commit $step: a second recovery did something ($rec2)"
		continue
	fi
	"$D" rollback "$r" >/dev/null 2>"$tmp/err"
	rbrc=$?
	if [ $want = new ] && [ $rbrc -ne 0 ]; then
		fail "commit $step: rollback failed"
		sed 's/^/# /' "$tmp/err"
		continue
	fi
	if ! state_is "$r" old; then
		fail "commit $step: after rollback: $("$D" state "$r" 2>&1)"
		continue
	fi
	pass "commit crash at $step: recovery ($rec) gives the $want set," \
	    "rollback the old set"
done <"$tmp/commit.steps"

# 2. A crash at every step of a rollback (itself a transaction).
while read -r step; do
	fresh || { fail "rollback $step: setup"; continue; }
	if ! "$D" commit "$r" >/dev/null 2>&1 || ! state_is "$r" new; then
		fail "rollback $step: the commit did not give the new set"
		continue
	fi
	KRESCUE_FAULT=$step "$D" rollback "$r" >/dev/null 2>"$tmp/err"
	rc=$?
	if [ $rc -ne 99 ]; then
		fail "rollback $step: the fault did not fire (exit $rc)"
		continue
	fi
	if ! rec=$("$D" recover "$r" 2>/dev/null); then
		fail "rollback $step: recovery failed"
		continue
	fi
	if [ "$(phase "$step")" = before ]; then want=new; else want=old; fi
	if ! state_is "$r" $want; then
		fail "rollback $step: after recovery:" \
		    "$("$D" state "$r" 2>&1), want $want"
		continue
	fi
	if ! "$D" rollback "$r" >/dev/null 2>&1 || ! state_is "$r" old; then
		fail "rollback $step: rolling back again:" \
		    "$("$D" state "$r" 2>&1)"
		continue
	fi
	pass "rollback crash at $step: recovery ($rec) gives the $want set," \
	    "rolling back again the old set"
done <"$tmp/commit.steps"

# 3. A crash while recovery rolls forward (the commit crashed before its
#    first rename).
while read -r step; do
	fresh || { fail "recover $step: setup"; continue; }
	KRESCUE_FAULT=rename-1 "$D" commit "$r" >/dev/null 2>&1
	KRESCUE_FAULT=$step "$D" recover "$r" >/dev/null 2>&1
	rc=$?
	if [ $rc -ne 99 ]; then
		fail "recover $step: the fault did not fire (exit $rc)"
		continue
	fi
	if ! "$D" recover "$r" >/dev/null 2>&1; then
		fail "recover $step: the second recovery failed"
	elif state_is "$r" new; then
		pass "crash in roll-forward at $step: the new set"
	else
		fail "recover $step: $("$D" state "$r" 2>&1), want new"
	fi
done <"$tmp/recover.steps"

# 4. A damaged temp forces an undo; then a crash at every undo step.
fresh
KRESCUE_FAULT=rename-3 "$D" commit "$r" >/dev/null 2>&1
"$D" damage "$r" kubelet-client-2026.pem
rec=$("$D" recover "$r" 2>/dev/null)
if [ "$rec" = back ] && state_is "$r" old; then
	pass "a damaged temp after 2 renames: undone from the backup, old set"
else
	fail "damaged temp: recovery $rec, $("$D" state "$r" 2>&1), want old"
fi
while read -r step; do
	fresh || { fail "undo $step: setup"; continue; }
	KRESCUE_FAULT=rename-3 "$D" commit "$r" >/dev/null 2>&1
	"$D" damage "$r" kubelet-client-2026.pem
	KRESCUE_FAULT=$step "$D" recover "$r" >/dev/null 2>&1
	rc=$?
	if [ $rc -ne 99 ]; then
		fail "undo $step: the fault did not fire (exit $rc)"
		continue
	fi
	if ! "$D" recover "$r" >/dev/null 2>&1; then
		fail "undo $step: the second recovery failed"
	elif state_is "$r" old; then
		pass "crash in undo at $step: the old set"
	else
		fail "undo $step: $("$D" state "$r" 2>&1), want old"
	fi
done <"$tmp/undo.steps"

# 5. A crash while abandoning a staged change.
while read -r step; do
	fresh || { fail "abort $step: setup"; continue; }
	KRESCUE_FAULT=temp-write-2 "$D" commit "$r" >/dev/null 2>&1
	KRESCUE_FAULT=$step "$D" recover "$r" >/dev/null 2>&1
	rc=$?
	if [ $rc -ne 99 ]; then
		fail "abort $step: the fault did not fire (exit $rc)"
		continue
	fi
	if ! "$D" recover "$r" >/dev/null 2>&1; then
		fail "abort $step: the second recovery failed"
	elif state_is "$r" old &&
	    [ -z "$(ls "$r/var/lib/krescue/backup")" ]; then
		pass "crash in abandon at $step: the old set, no backup left"
	else
		fail "abort $step: $("$D" state "$r" 2>&1), want old and" \
		    "no backup"
	fi
done <"$tmp/abort.steps"

# 6. A damaged journal is refused, not guessed at; nothing moves.
fresh
KRESCUE_FAULT=rename-2 "$D" commit "$r" >/dev/null 2>&1
sums() { find "$r" -type f ! -name journal ! -name lock -exec cat {} + |
    cksum; }
before=$(sums)
printf 'x' >>"$r/var/lib/krescue/journal"
if "$D" recover "$r" >/dev/null 2>&1; then
	fail "a damaged journal was accepted"
elif [ "$before" = "$(sums)" ]; then
	pass "a damaged journal is refused, no file touched"
else
	fail "a damaged journal is refused, but files changed"
fi

# 7. A backup damaged on disk is refused by rollback; nothing moves.
fresh
"$D" commit "$r" >/dev/null 2>&1
b=$(ls -d "$r"/var/lib/krescue/backup/*)
printf 'x' >>"$b/2"
if "$D" rollback "$r" >/dev/null 2>"$tmp/err"; then
	fail "a corrupt backup was restored"
elif state_is "$r" new && grep -q corrupt "$tmp/err"; then
	pass "a corrupt backup is refused with a message, the new set stays"
else
	fail "corrupt backup: $("$D" state "$r" 2>&1); $(cat "$tmp/err")"
fi

exit $failed
