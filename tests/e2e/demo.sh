#!/bin/sh
# tests/e2e/demo.sh: `make demo`, the README's main command, end to end:
# it must finish, and what it leaves must be right, not just its exit code:
# one "KRESCUE-RESULT: ok" line on the rescue console, the node disk read
# back with every certificate valid and chaining to the unchanged CAs, the
# next-boot units staged, the old files in the disk's backup, and the etcd
# proof printed.
. "$(dirname "$0")/../lib.sh"
require_krescue

D=$REPO/build/demo
if ! timeout 900 make -s demo >"$TMP/demo.log" 2>&1; then
	fail "make demo" "$(tail -n 3 "$TMP/demo.log" | tr '\n' ' ')"
	finish
fi
pass "make demo exits 0"

n=$(grep -c '^KRESCUE-RESULT: ' "$D/console.log")
if [ "$n" = 1 ] && grep -q '^KRESCUE-RESULT: ok ' "$D/console.log"; then
	pass "demo: the rescue boot printed one KRESCUE-RESULT: ok line"
else
	fail "demo: result line" "$n result lines: $(grep KRESCUE-RESULT "$D/console.log")"
fi

run "$KRESCUE" check --root "$D/after" -o json
if [ "$RC" = 0 ] && $PYTHON -c '
import json, sys
d = json.load(open(sys.argv[1]))
names = {c["name"] for c in d["certificates"] if c["status"] == "ok"}
need = {"apiserver", "admin.conf", "etcd-server", "kubelet-client",
        "root-kubeconfig"}
sys.exit(0 if d["status"] == "ok" and need <= names else 1)' "$OUT"; then
	pass "demo: the disk read back checks ok (kubelet client cert too)"
else
	fail "demo: disk check" "exit $RC"
fi

# CAs untouched: byte for byte what the dead node had
same=1
for f in ca.crt ca.key front-proxy-ca.crt etcd/ca.crt sa.key sa.pub; do
	cmp -s "$D/node/etc/kubernetes/pki/$f" "$D/after/etc/kubernetes/pki/$f" ||
	    same=0
done
[ $same = 1 ] && pass "demo: CAs and sa keys unchanged" ||
    fail "demo: CAs and sa keys" "changed"
P=$D/after/etc/kubernetes/pki
openssl verify -CAfile "$P/ca.crt" "$P/apiserver.crt" >/dev/null 2>&1 &&
    pass "demo: apiserver.crt verifies against the unchanged CA now" ||
    fail "demo: openssl verify" "apiserver.crt does not verify"

U=$D/after/etc/systemd/system/multi-user.target.wants
if [ -L "$U/krescue-finish.service" ] && [ -L "$U/krescue-health.service" ] &&
    [ -f "$D/after/var/lib/krescue/finish-pending" ]; then
	pass "demo: the next-boot units are staged"
else
	fail "demo: staging" "$(ls -la "$U" 2>&1 | tr '\n' ' ')"
fi
b=$(find "$D/after/var/lib/krescue/backup" -name manifest 2>/dev/null | head -n 1)
[ -n "$b" ] && grep -q 'apiserver.crt' "$b" &&
    pass "demo: the backup on the disk holds the old apiserver.crt" ||
    fail "demo: backup" "no manifest naming apiserver.crt"

grep -q 'renewed healthcheck-client: .* is healthy' "$TMP/demo.log" &&
    grep -q 'old (expired) healthcheck-client: refused' "$TMP/demo.log" &&
    pass "demo: etcd accepted the renewed certificate and refused the old" ||
    fail "demo: etcd proof" "$(grep -i healthcheck "$TMP/demo.log" | head -n 2)"
finish
