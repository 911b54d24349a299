#!/bin/sh
# tests/cli/check-kubespray.sh: `krescue check` on a Kubespray node (certs in
# /etc/kubernetes/ssl, /etc/kubernetes/pki an absolute symlink to it, host
# etcd certs in /etc/ssl/etcd/ssl), and absolute symlinks that must resolve
# inside --root, never on this machine.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_krescue

NOW=2026-11-24T11:41:55Z
KS=$TMP/ks
KSE=$TMP/ks-expired
mktree kubespray "$KS"
mktree kubespray "$KSE" --expired
tab=$(printf '\t')

expect_exit 0 ks-exit-ok "$KRESCUE" check --root "$KS" --now "$NOW"
expect_exit 3 ks-exit-expired "$KRESCUE" check --root "$KSE" --now "$NOW"

# --- the JSON document -------------------------------------------------------

run "$KRESCUE" check -o json --root "$KS" --now "$NOW"
cp "$OUT" "$TMP/ks.json"
if [ "$RC" -ne 0 ]; then
	fail ks-json "exit $RC, want 0 ($(why_err))"
elif ! kcheck schema "$TMP/ks.json"; then
	fail ks-json "$(why_kcheck)"
else
	pass ks-json-schema
	layout=$($KCHECK top "$TMP/ks.json" layout)
	CD=$($KCHECK top "$TMP/ks.json" cert_dir)
	# certificatesDir says ssl; pki is the compatibility symlink to it:
	# either name is a correct answer.
	case $CD in
	/etc/kubernetes/ssl | /etc/kubernetes/pki) cd_ok=1 ;;
	*) cd_ok=0 ;;
	esac
	if [ "$layout" != kubespray ]; then
		fail ks-json-top "layout \"$layout\", want kubespray"
	elif [ "$cd_ok" = 0 ]; then
		fail ks-json-top "cert_dir \"$CD\""
	else
		pass ks-json-top
	fi

	E=/etc/ssl/etcd/ssl
	sort >"$TMP/want" <<-EOF
	admin.conf${tab}kubeconfig${tab}/etc/kubernetes/admin.conf${tab}None${tab}ca
	apiserver${tab}leaf${tab}$CD/apiserver.crt${tab}$CD/apiserver.key${tab}ca
	apiserver-kubelet-client${tab}leaf${tab}$CD/apiserver-kubelet-client.crt${tab}$CD/apiserver-kubelet-client.key${tab}ca
	ca${tab}ca${tab}$CD/ca.crt${tab}$CD/ca.key${tab}None
	controller-manager.conf${tab}kubeconfig${tab}/etc/kubernetes/controller-manager.conf${tab}None${tab}ca
	etcd-admin-node1${tab}etcd-host${tab}$E/admin-node1.pem${tab}$E/admin-node1-key.pem${tab}etcd-host-ca
	etcd-host-ca${tab}etcd-host-ca${tab}$E/ca.pem${tab}$E/ca-key.pem${tab}None
	etcd-member-node1${tab}etcd-host${tab}$E/member-node1.pem${tab}$E/member-node1-key.pem${tab}etcd-host-ca
	etcd-node-node1${tab}etcd-host${tab}$E/node-node1.pem${tab}$E/node-node1-key.pem${tab}etcd-host-ca
	front-proxy-ca${tab}ca${tab}$CD/front-proxy-ca.crt${tab}$CD/front-proxy-ca.key${tab}None
	front-proxy-client${tab}leaf${tab}$CD/front-proxy-client.crt${tab}$CD/front-proxy-client.key${tab}front-proxy-ca
	kubelet-client${tab}kubelet${tab}/var/lib/kubelet/pki/kubelet-client-current.pem${tab}/var/lib/kubelet/pki/kubelet-client-current.pem${tab}ca
	root-kubeconfig${tab}kubeconfig${tab}/root/.kube/config${tab}None${tab}ca
	scheduler.conf${tab}kubeconfig${tab}/etc/kubernetes/scheduler.conf${tab}None${tab}ca
	EOF
	# External etcd: kubeadm's etcd-* and apiserver-etcd-client items may be
	# listed only as externally managed.
	$KCHECK list "$TMP/ks.json" |
	    awk -F '\t' '!($1 ~ /^(etcd-(ca|server|peer|healthcheck-client)|apiserver-etcd-client)$/ && $7 == "True")' |
	    cut -f 1,2,4,5,6 | sort >"$TMP/got"
	if diff -u "$TMP/want" "$TMP/got" >"$TMP/diff"; then
		pass ks-json-items
	else
		fail ks-json-items "items differ (name kind path key_path ca)"
		head -n 40 "$TMP/diff" | sed 's/^/# /'
	fi
	bad=$($KCHECK list "$TMP/ks.json" | awk -F '\t' '$3 != "ok" && $7 != "True" { print $1 "=" $3 }' | tr '\n' ' ')
	if [ -z "$bad" ]; then pass ks-json-all-ok; else fail ks-json-all-ok "$bad"; fi

	# what the JSON says is what is in the tree's files (openssl)
	if kcheck enddates "$KS" "$TMP/ks.json"; then
		pass ks-enddates-match-tree
	else
		fail ks-enddates-match-tree "$(why_kcheck)"
	fi
	hostpaths=$($KCHECK list "$TMP/ks.json" | cut -f 4 | grep -F -- "$KS" | head -n 1)
	if [ -z "$hostpaths" ]; then
		pass ks-node-paths
	else
		fail ks-node-paths "a path names the host directory: $hostpaths"
	fi
fi

run "$KRESCUE" check -o json --root "$KSE" --now "$NOW"
cp "$OUT" "$TMP/kse.json"
if [ "$RC" -ne 3 ]; then
	fail ks-json-expired "exit $RC, want 3 ($(why_err))"
else
	bad=$($KCHECK list "$TMP/kse.json" | awk -F '\t' '
		$7 == "True" { next }
		$1 ~ /^(ca|front-proxy-ca|etcd-host-ca)$/ { if ($3 != "ok") print $1 "=" $3; next }
		$3 != "expired" { print $1 "=" $3 }' | tr '\n' ' ')
	n=$($KCHECK list "$TMP/kse.json" |
	    grep -cE '^etcd-(member|admin|node)-node1	etcd-host	expired	')
	if [ -n "$bad" ]; then
		fail ks-json-expired "unexpected statuses: $bad"
	elif [ "$n" -ne 3 ]; then
		fail ks-json-expired "$n of the 3 host etcd leaves reported expired"
	else
		pass ks-json-expired
	fi
fi

# --- absolute symlinks resolve inside --root --------------------------------
# /etc/kubernetes/pki -> $DECOY, an absolute path that exists twice: inside
# the root with the fresh PKI, and on this machine with an expired one.
# Resolving on the host would find expired certs (and exit 3).
DECOY=$TMP/decoy-pki
R=$TMP/inroot
EX=$TMP/k128-expired
mktree kubeadm "$R" --version 1.28.4
mktree kubeadm "$EX" --version 1.28.4 --expired
cp -a "$EX/etc/kubernetes/pki" "$DECOY"
mkdir -p "$R$(dirname "$DECOY")"
mv "$R/etc/kubernetes/pki" "$R$DECOY"
ln -s "$DECOY" "$R/etc/kubernetes/pki"
run "$KRESCUE" check -o json --root "$R" --now "$NOW"
cp "$OUT" "$TMP/inroot.json"
if [ "$RC" -ne 0 ]; then
	fail abs-symlink-in-root "exit $RC, want 0 ($(why_err))"
elif ! kcheck enddates "$R" "$TMP/inroot.json"; then
	fail abs-symlink-in-root "$(why_kcheck)"
else
	# apiserver's expiry as the tree's file says, not the host decoy's
	want=$(openssl x509 -noout -enddate -in "$R$DECOY/apiserver.crt")
	decoy=$(openssl x509 -noout -enddate -in "$DECOY/apiserver.crt")
	got=$("$PYTHON" -c 'import json, sys
d = json.load(open(sys.argv[1]))
print([c["not_after"] for c in d["certificates"] if c["name"] == "apiserver"][0])' \
	    "$TMP/inroot.json" 2>&1)
	# openssl: "notAfter=Nov 24 11:40:57 2027 GMT"; json: RFC 3339
	gotssl=$(date -u -d "$got" '+notAfter=%b %e %H:%M:%S %Y GMT' 2>&1)
	if [ "$gotssl" = "$want" ] && [ "$want" != "$decoy" ]; then
		pass abs-symlink-in-root
	else
		fail abs-symlink-in-root "apiserver not_after $got; tree: $want; host decoy: $decoy"
	fi
fi
# and kubeadm's table is unchanged by the symlinked cert dir
run "$KRESCUE" check -o kubeadm --root "$R" --now "$NOW"
strip_trailing "$OUT" >"$TMP/got"
strip_trailing "$FIXTURES/kubeadm-v1.28.4/check-expiration.txt" >"$TMP/want"
if [ -s "$TMP/got" ] && diff -u "$TMP/want" "$TMP/got" >"$TMP/diff"; then
	pass abs-symlink-golden
else
	fail abs-symlink-golden "table differs from check-expiration.txt (exit $RC)"
	head -n 40 "$TMP/diff" | sed 's/^/# /'
fi

# the Kubespray tree itself: pki -> /etc/kubernetes/ssl must not be read
# from this machine either; a cert dir read through the symlink must be
# the tree's (same check, through the compatibility name)
if [ "$(readlink "$KS/etc/kubernetes/pki")" = /etc/kubernetes/ssl ]; then
	pass ks-tree-has-abs-symlink
else
	fail ks-tree-has-abs-symlink "mktree did not make pki -> /etc/kubernetes/ssl"
fi

# --- must-fail on the Kubespray layout ---------------------------------------

B=$TMP/ks-foreign-etcd
cp -a "$KS" "$B"
if $MKTREE foreign-ca "$B/etc/ssl/etcd/ssl/node-node1.pem" >"$TMP/.fca" 2>&1; then
	run "$KRESCUE" check -o json --root "$B" --now "$NOW"
	st=$($KCHECK list "$OUT" 2>&1 | awk -F '\t' '$1 == "etcd-node-node1" { print $3 }')
	if [ "$RC" -eq 3 ] && [ "$st" = invalid ]; then
		pass ks-etcd-foreign-ca
	else
		fail ks-etcd-foreign-ca "exit $RC, etcd-node-node1 \"$st\"; want 3, invalid"
	fi
else
	fail ks-etcd-foreign-ca "mktree foreign-ca: $(tail -n 1 "$TMP/.fca")"
fi

B=$TMP/ks-etcd-keymode
cp -a "$KS" "$B"
chmod 0644 "$B/etc/ssl/etcd/ssl/member-node1-key.pem"
run "$KRESCUE" check -o json --root "$B" --now "$NOW"
st=$($KCHECK list "$OUT" 2>&1 | awk -F '\t' '$1 == "etcd-member-node1" { print $3 }')
if [ "$RC" -eq 3 ] && [ "$st" = invalid ]; then
	pass ks-etcd-unsafe-key-mode
else
	fail ks-etcd-unsafe-key-mode "exit $RC, etcd-member-node1 \"$st\"; want 3, invalid"
fi

finish
