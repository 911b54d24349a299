#!/bin/sh
# compare.sh: `krescue check --compare OTHER_ROOT` finds the files every
# control plane must share (CAs with keys, sa keys) when they differ.
. "$(dirname "$0")/../lib.sh"
require_krescue

A=$TMP/a
mktree kubeadm "$A" --version 1.28.4
cp -a "$A" "$TMP/b"
NOW="--now 2026-11-25T00:00:00Z"

expect_exit 0 "identical shared files: exit 0" \
    "$KRESCUE" check --root "$A" --compare "$TMP/b" $NOW
if grep -q 'ca.key  *same' "$OUT" && ! grep -q DIFFERENT "$OUT"; then
	pass "identical shared files are listed as same"
else
	fail "identical shared files are listed as same" "$(head -c 300 "$OUT")"
fi

# sa.pub replaced on the other node: the classic "renewed on one master"
cp -a "$A" "$TMP/c"
openssl genrsa 2048 2>/dev/null | openssl rsa -pubout 2>/dev/null \
    >"$TMP/c/etc/kubernetes/pki/sa.pub"
expect_exit 3 "a different sa.pub: exit 3" \
    "$KRESCUE" check --root "$A" --compare "$TMP/c" $NOW
if grep -q 'sa.pub  *DIFFERENT' "$OUT" && grep -q 'differ' "$ERR"; then
	pass "a different sa.pub is named, with a warning"
else
	fail "a different sa.pub is named" "$(grep sa.pub "$OUT")"
fi

# front-proxy-ca.key missing on the other node
cp -a "$A" "$TMP/d"
rm "$TMP/d/etc/kubernetes/pki/front-proxy-ca.key"
expect_exit 3 "a missing front-proxy-ca.key on the other node: exit 3" \
    "$KRESCUE" check --root "$A" --compare "$TMP/d" $NOW
grep -q 'front-proxy-ca.key  *MISSING THERE' "$OUT" &&
    pass "the missing key is named" ||
    fail "the missing key is named" "$(grep front-proxy "$OUT")"

# json says the same
run "$KRESCUE" check --root "$A" --compare "$TMP/c" $NOW -o json
if $PYTHON -c '
import json, sys
d = json.load(open(sys.argv[1]))
bad = [s["path"] for s in d["shared"] if not s["same"]]
sys.exit(0 if bad == ["/etc/kubernetes/pki/sa.pub"] else 1)' "$OUT"; then
	pass "json lists exactly sa.pub as different"
else
	fail "json lists exactly sa.pub as different" "$(head -c 300 "$OUT")"
fi
expect_exit 111 "--compare to a missing root: exit 111" \
    "$KRESCUE" check --root "$A" --compare "$TMP/nonexistent" $NOW
finish
