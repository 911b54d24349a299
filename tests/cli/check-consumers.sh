#!/bin/sh
# tests/cli/check-consumers.sh: what `krescue check` reports agrees with
# real consumers of its files and output:
#  - for every certificate in `-o json`, `openssl x509 -enddate` on the
#    tree's file (kubeconfigs: the embedded cert, decoded with python3)
#    gives the JSON's not_after;
#  - `-o prometheus` parses with prometheus_client's own parser and has one
#    krescue_certificate_expiry_timestamp_seconds sample per certificate,
#    equal to the JSON's not_after_unix (and matching not_before, valid and
#    the check timestamp).
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_krescue

if ! "$PYTHON" -c 'import prometheus_client.parser' 2>/dev/null; then
	prom_missing=1
else
	prom_missing=0
fi

# consumers NAME ROOT NOW EXIT: the checks above on one tree
consumers() {
	c_name=$1 c_root=$2 c_now=$3 c_exit=$4
	run "$KRESCUE" check -o json --root "$c_root" --now "$c_now"
	cp "$OUT" "$TMP/$c_name.json"
	if [ "$RC" -ne "$c_exit" ]; then
		fail "$c_name-json" "exit $RC, want $c_exit ($(why_err))"
		return
	fi
	if kcheck schema "$TMP/$c_name.json"; then
		pass "$c_name-json-schema"
	else
		fail "$c_name-json-schema" "$(why_kcheck)"
	fi
	if kcheck enddates "$c_root" "$TMP/$c_name.json"; then
		pass "$c_name-openssl-enddate"
	else
		fail "$c_name-openssl-enddate" "$(why_kcheck)"
	fi
	run "$KRESCUE" check -o prometheus --root "$c_root" --now "$c_now"
	cp "$OUT" "$TMP/$c_name.prom"
	if [ "$RC" -ne "$c_exit" ]; then
		fail "$c_name-prometheus" "exit $RC, want $c_exit ($(why_err))"
	elif [ "$prom_missing" = 1 ]; then
		skip "$c_name-prometheus" "python3-prometheus-client is not installed"
	elif kcheck prom "$TMP/$c_name.json" "$TMP/$c_name.prom"; then
		pass "$c_name-prometheus"
	else
		fail "$c_name-prometheus" "$(why_kcheck)"
	fi
}

NOW=2026-11-24T11:41:55Z
mktree kubeadm "$TMP/k128" --version 1.28.4 --kubelet-finalize
mktree kubeadm "$TMP/k128e" --version 1.28.4 --kubelet-finalize --expired
mktree kubeadm "$TMP/k120" --version 1.20.2
mktree kubespray "$TMP/ks"
mktree kubespray "$TMP/kse" --expired

consumers k128 "$TMP/k128" "$NOW" 0
consumers k128-expired "$TMP/k128e" "$NOW" 3
consumers k120 "$TMP/k120" 2026-11-24T11:55:00Z 0
consumers kubespray "$TMP/ks" "$NOW" 0
consumers kubespray-expired "$TMP/kse" "$NOW" 3
# expiring: 10 days before the leaves expire
consumers k128-expiring "$TMP/k128" 2027-11-14T11:41:55Z 2

finish
