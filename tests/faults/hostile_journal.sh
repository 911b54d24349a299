#!/bin/sh
# hostile_journal.sh: the journal comes from the node's disk, which may be
# hostile.  A journal whose backup name or temp suffix climbs out of the
# root (correctly sealed, since the seal is only a checksum) must be
# refused, and nothing outside the root may be touched.
. "$(dirname "$0")/../lib.sh"
require_krescue

# reseal FILE: recompute the journal's "end <sha256>" line
reseal() {
	grep -v '^end ' "$1" >"$1.body"
	printf 'end %s\n' "$(sha256sum <"$1.body" | cut -c 1-64)" >>"$1.body"
	mv "$1.body" "$1"
}

# a real staged journal, from a renewal killed after writing it
base() {
	rm -rf "$TMP/w"
	mkdir -p "$TMP/w/victim"
	echo keep >"$TMP/w/victim/hosts"
	mktree kubeadm "$TMP/w/root" --version 1.28.4 --expired
	KRESCUE_FAULT=journal-prepared "$KRESCUE" -q renew --root "$TMP/w/root" \
	    --only apiserver >/dev/null 2>&1
	J=$TMP/w/root/var/lib/krescue/journal
	[ -f "$J" ] || { fail "setup" "no journal after the injected crash"; finish; }
}

# 1. backup name climbing out of the root
base
sed -i 's|^backup .*|backup ../../../../victim|' "$J"
reseal "$J"
run "$KRESCUE" recover --root "$TMP/w/root"
if [ -f "$TMP/w/victim/hosts" ] && [ "$RC" != 0 ]; then
	pass "a journal naming ../../victim as its backup is refused, the host file stays"
else
	fail "hostile backup name" "exit $RC, victim $(ls "$TMP/w/victim" 2>&1)"
fi

# 2. a temp suffix with a slash, through a planted symlink
base
sed -i '0,/^file [a-z0-9]* /s||file /hosts |' "$J"
reseal "$J"
ln -s "$TMP/w/victim" "$TMP/w/root/etc/kubernetes/pki/.apiserver.crt.krescue-"
run "$KRESCUE" recover --root "$TMP/w/root"
if [ -f "$TMP/w/victim/hosts" ] && [ "$RC" != 0 ]; then
	pass "a journal whose temp suffix is /hosts is refused, the host file stays"
else
	fail "hostile temp suffix" "exit $RC, victim $(ls "$TMP/w/victim" 2>&1)"
fi

# 3. and the same through renew (which recovers first) and rollback
for verb in renew rollback; do
	base
	sed -i 's|^backup .*|backup ../../../../victim|' "$J"
	reseal "$J"
	run "$KRESCUE" "$verb" --root "$TMP/w/root"
	if [ -f "$TMP/w/victim/hosts" ] && [ "$RC" != 0 ]; then
		pass "$verb refuses to start on a hostile journal"
	else
		fail "$verb on a hostile journal" "exit $RC"
	fi
done
finish
