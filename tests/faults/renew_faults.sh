#!/bin/sh
# renew_faults.sh: kill `krescue renew` at every write step of its
# transaction (KRESCUE_FAULT, see toolkit/txn.h) and check what the next
# run leaves: exactly the old set of files, or exactly the new set, never a
# mix; no temp files, no journal; and that rollback then gives the old set.
#
# The change under test touches every kind of entry: a certificate and its
# key (apiserver), a kubeconfig rewritten in place (admin.conf), a new file
# (kubelet-client-<time>.pem) and a symlink switched to it
# (kubelet-client-current.pem): 5 entries.
. "$(dirname "$0")/../lib.sh"
require_krescue

ONLY=apiserver,admin.conf,kubelet-client
ENTRIES=5
BASE=$TMP/base
mktree kubeadm "$BASE" --version 1.28.4 --expired --kubelet-finalize

# state DIR: one line per target: content hash, or the link target and
# the hash of what it points to; plus every kubelet-client-*.pem there is.
state() {
	(
		cd "$1" || exit 1
		for f in etc/kubernetes/pki/apiserver.crt \
		    etc/kubernetes/pki/apiserver.key etc/kubernetes/admin.conf; do
			printf '%s %s\n' "$f" "$(sha256sum <"$f" | cut -c 1-64)"
		done
		# the kubelet's link is absolute: resolve it inside the tree
		target=$(readlink var/lib/kubelet/pki/kubelet-client-current.pem)
		printf 'link %s %s\n' "$target" \
		    "$(sha256sum <".$target" | cut -c 1-64)"
		ls var/lib/kubelet/pki
	)
}

OLD=$(state "$BASE")

# new_set DIR: every target changed and the three renewed items are valid.
new_set() {
	(
		cd "$1" || exit 1
		for f in etc/kubernetes/pki/apiserver.crt \
		    etc/kubernetes/pki/apiserver.key etc/kubernetes/admin.conf; do
			cmp -s "$f" "$BASE/$f" && { echo "$f unchanged"; exit 1; }
		done
		[ "$(readlink var/lib/kubelet/pki/kubelet-client-current.pem)" != \
		    "$(readlink "$BASE/var/lib/kubelet/pki/kubelet-client-current.pem")" ] ||
		    { echo "kubelet link unchanged"; exit 1; }
	) || return 1
	"$KRESCUE" check --root "$1" -o json >"$TMP/.json" 2>/dev/null
	$PYTHON - "$TMP/.json" <<'PY' || return 1
import json, sys
doc = json.load(open(sys.argv[1]))
want = {"apiserver", "admin.conf", "kubelet-client"}
got = {c["name"]: c for c in doc["certificates"] if c["name"] in want}
bad = [n for n in want if n not in got or got[n]["status"] != "ok"]
if bad:
    print("not valid after recovery:", bad,
          [got[n]["problems"] for n in bad if n in got])
    sys.exit(1)
PY
}

leftovers() {
	find "$1" -name '.*.krescue-*' -o -path '*/var/lib/krescue/journal*' |
	    head -n 3
}

steps() {
	for s in journal-staging backup-dir; do echo "$s old"; done
	i=1
	while [ $i -le $ENTRIES ]; do echo "backup-file-$i old"; i=$((i + 1)); done
	echo "backup-manifest old"
	i=1
	while [ $i -le $ENTRIES ]; do
		echo "temp-write-$i old"
		echo "temp-fsync-$i old"
		i=$((i + 1))
	done
	echo "journal-prepared old"
	i=1
	while [ $i -le $ENTRIES ]; do echo "rename-$i new"; i=$((i + 1)); done
	for s in dirsync journal-done done; do echo "$s new"; done
}

steps >"$TMP/steps"
while read -r step want; do
	T=$TMP/t-$step
	cp -a "$BASE" "$T"
	rc=0
	KRESCUE_FAULT=$step "$KRESCUE" -q renew --root "$T" --only "$ONLY" \
	    >"$TMP/.out" 2>&1 || rc=$?
	if [ $rc -ne 99 ]; then
		fail "crash at $step" "exit $rc, want 99 (the step did not fire)"
		continue
	fi
	run "$KRESCUE" recover --root "$T"
	if [ "$RC" -ne 0 ]; then
		fail "recover after $step" "exit $RC: $(why_err)"
		continue
	fi
	left=$(leftovers "$T")
	if [ -n "$left" ]; then
		fail "recover after $step" "left behind: $left"
		continue
	fi
	if [ "$want" = old ]; then
		if [ "$(state "$T")" = "$OLD" ]; then
			pass "crash at $step, then recover: the complete old set"
		else
			fail "crash at $step" "not the old set after recovery"
		fi
	else
		if why=$(new_set "$T"); then
			pass "crash at $step, then recover: the complete new set"
		else
			fail "crash at $step" "not the new set after recovery: $why"
		fi
	fi
	# and rollback always leads back to the old set
	"$KRESCUE" -q rollback --root "$T" >/dev/null 2>&1
	if [ "$(state "$T")" = "$OLD" ]; then
		pass "crash at $step, recover, rollback: the old set"
	else
		fail "crash at $step, recover, rollback" "not the old set"
	fi
	rm -rf "$T"
done <"$TMP/steps"

# a crash in the middle of a rollback is settled too
T=$TMP/t-rollback
cp -a "$BASE" "$T"
"$KRESCUE" -q renew --root "$T" --only "$ONLY" >/dev/null 2>&1
rc=0
KRESCUE_FAULT=rename-2 "$KRESCUE" -q rollback --root "$T" >/dev/null 2>&1 ||
    rc=$?
"$KRESCUE" recover --root "$T" >/dev/null 2>&1
if [ $rc -eq 99 ] && [ -z "$(leftovers "$T")" ] &&
    { [ "$(state "$T")" = "$OLD" ] || new_set "$T" >/dev/null; }; then
	pass "crash inside rollback, then recover: old or new set, no leftovers"
else
	fail "crash inside rollback" "exit $rc, or a mixed tree after recover"
fi
finish
