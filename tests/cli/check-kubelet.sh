#!/bin/sh
# tests/cli/check-kubelet.sh: `krescue check` on a node after kubeadm's
# kubelet-finalize phase: kubelet.conf points at
# /var/lib/kubelet/pki/kubelet-client-current.pem, an absolute symlink to
# the rotated kubelet-client-<time>.pem (cert + EC key in one file).
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_krescue

NOW=2026-11-24T11:41:55Z
KF=$TMP/kf
KFE=$TMP/kf-expired
mktree kubeadm "$KF" --version 1.28.4 --kubelet-finalize
mktree kubeadm "$KFE" --version 1.28.4 --kubelet-finalize --expired
PEM=/var/lib/kubelet/pki/kubelet-client-current.pem

expect_exit 0 kubelet-exit-ok "$KRESCUE" check --root "$KF" --now "$NOW" &&
    if grep -q '^kubelet-client ' "$OUT"; then
	pass kubelet-table-lists-it
    else
	fail kubelet-table-lists-it "no kubelet-client row in the table"
    fi
expect_exit 3 kubelet-exit-expired "$KRESCUE" check --root "$KFE" --now "$NOW"

run "$KRESCUE" check -o json --root "$KF" --now "$NOW"
cp "$OUT" "$TMP/kf.json"
row=$($KCHECK list "$TMP/kf.json" 2>&1 | awk -F '\t' '$1 == "kubelet-client"' | cut -f 2-6)
tab=$(printf '\t')
if [ "$RC" -ne 0 ]; then
	fail kubelet-json "exit $RC, want 0 ($(why_err))"
elif [ "$row" != "kubelet${tab}ok${tab}$PEM${tab}$PEM${tab}ca" ]; then
	fail kubelet-json "kubelet-client row: $(echo "$row" | tr '\t' ' ')"
elif $KCHECK list "$TMP/kf.json" | grep -q '^kubelet\.conf	'; then
	fail kubelet-json "kubelet.conf listed though it embeds no certificate"
else
	pass kubelet-json
fi
if kcheck enddates "$KF" "$TMP/kf.json"; then
	pass kubelet-enddates-match-tree
else
	fail kubelet-enddates-match-tree "$(why_kcheck)"
fi

# kubeadm's table does not list the kubelet (nor /root/.kube/config)
run "$KRESCUE" check -o kubeadm --root "$KF" --now "$NOW"
strip_trailing "$OUT" >"$TMP/got"
strip_trailing "$FIXTURES/kubeadm-v1.28.4/check-expiration.txt" >"$TMP/want"
if [ -s "$TMP/got" ] && diff -u "$TMP/want" "$TMP/got" >"$TMP/diff"; then
	pass kubelet-golden-unchanged
else
	fail kubelet-golden-unchanged "table differs from check-expiration.txt (exit $RC)"
	head -n 40 "$TMP/diff" | sed 's/^/# /'
fi

run "$KRESCUE" check -o json --root "$KFE" --now "$NOW"
st=$($KCHECK list "$OUT" 2>&1 | awk -F '\t' '$1 == "kubelet-client" { print $3 }')
if [ "$RC" -eq 3 ] && [ "$st" = expired ]; then
	pass kubelet-json-expired
else
	fail kubelet-json-expired "exit $RC, kubelet-client \"$st\"; want 3, expired"
fi

# only the kubelet's cert expired: the fresh tree with the expired tree's
# rotated file and the symlink re-pointed at it
B=$TMP/kubelet-only
cp -a "$KF" "$B"
old=$(readlink "$B$PEM")
rm "$B$old" "$B$PEM"
new=$(readlink "$KFE$PEM")
cp -p "$KFE$new" "$B$new"
ln -s "$new" "$B$PEM"
run "$KRESCUE" check -o json --root "$B" --now "$NOW"
others=$($KCHECK list "$OUT" 2>&1 | awk -F '\t' '$1 != "kubelet-client" && $3 != "ok" { print $1 "=" $3 }' | tr '\n' ' ')
st=$($KCHECK list "$OUT" 2>&1 | awk -F '\t' '$1 == "kubelet-client" { print $3 }')
if [ "$RC" -eq 3 ] && [ "$st" = expired ] && [ -z "$others" ]; then
	pass kubelet-only-expired
else
	fail kubelet-only-expired "exit $RC, kubelet-client \"$st\", others: $others"
fi

# a dangling kubelet-client-current.pem (its target deleted)
B=$TMP/kubelet-dangling
cp -a "$KF" "$B"
rm "$B$(readlink "$B$PEM")"
run "$KRESCUE" check -o json --root "$B" --now "$NOW"
st=$($KCHECK list "$OUT" 2>&1 | awk -F '\t' '$1 == "kubelet-client" { print $3 }')
if [ "$RC" -eq 3 ] && { [ "$st" = missing ] || [ "$st" = invalid ]; }; then
	pass kubelet-dangling-symlink
else
	fail kubelet-dangling-symlink "exit $RC, kubelet-client \"$st\"; want 3, missing or invalid"
fi

# the kubelet's rotated file signed by another CA
B=$TMP/kubelet-foreign
cp -a "$KF" "$B"
f=$B$(readlink "$B$PEM")
"$PYTHON" -c 'import sys
t = open(sys.argv[1]).read()
i = t.index("-----END CERTIFICATE-----") + len("-----END CERTIFICATE-----\n")
open(sys.argv[2], "w").write(t[:i]); open(sys.argv[3], "w").write(t[i:])' \
    "$f" "$TMP/kc.crt" "$TMP/kc.key"
if $MKTREE foreign-ca "$TMP/kc.crt" >"$TMP/.fca" 2>&1; then
	cat "$TMP/kc.crt" "$TMP/kc.key" >"$f"
	run "$KRESCUE" check -o json --root "$B" --now "$NOW"
	st=$($KCHECK list "$OUT" 2>&1 | awk -F '\t' '$1 == "kubelet-client" { print $3 }')
	if [ "$RC" -eq 3 ] && [ "$st" = invalid ]; then
		pass kubelet-foreign-ca
	else
		fail kubelet-foreign-ca "exit $RC, kubelet-client \"$st\"; want 3, invalid"
	fi
else
	fail kubelet-foreign-ca "mktree foreign-ca: $(tail -n 1 "$TMP/.fca")"
fi

finish
