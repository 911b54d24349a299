#!/bin/sh
# tests/cli/check.sh: `krescue check` on kubeadm trees built from the real
# kubeadm fixtures: kubeadm's table byte for byte, exit codes, --warn, the
# JSON document, must-fail cases, usage and I/O errors.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_krescue

# kubeadm v1.28.4 ran `certs check-expiration` at this time (residual 364d).
NOW=2026-11-24T11:41:55Z
# The v1.20.2 tree was made at 11:53:41 with no backdating: its certs are
# not valid before that.
NOW20=2026-11-24T11:55:00Z
# 10 days before the v1.28.4 leaves expire (2027-11-24 11:40/11:41 UTC).
SOON=2027-11-14T11:41:55Z

K128=$TMP/k128
K120=$TMP/k120
EXP=$TMP/expired
mktree kubeadm "$K128" --version 1.28.4
mktree kubeadm "$K120" --version 1.20.2
mktree kubeadm "$EXP" --version 1.28.4 --expired
K128_HASH=$(tree_hash "$K128")

# show_diff FILE: a diff as comment lines under the FAIL (at most 40)
show_diff() { head -n 40 "$1" | sed 's/^/# /'; }

# --- kubeadm's own table, byte for byte (trailing blanks aside) ----------

run "$KRESCUE" check -o kubeadm --now "$NOW" --root "$K128"
strip_trailing "$FIXTURES/kubeadm-v1.28.4/check-expiration.txt" >"$TMP/want"
strip_trailing "$OUT" >"$TMP/got"
if [ ! -s "$TMP/got" ]; then
	fail golden-kubeadm-1.28.4 "no output, exit $RC ($(why_err))"
elif diff -u "$TMP/want" "$TMP/got" >"$TMP/diff"; then
	pass golden-kubeadm-1.28.4
else
	fail golden-kubeadm-1.28.4 "differs from check-expiration.txt"
	show_diff "$TMP/diff"
fi

# kubeadm 1.20 left the CERTIFICATE AUTHORITY column empty for the
# kubeconfig rows (admin.conf, controller-manager.conf, scheduler.conf);
# krescue deliberately prints "ca" there, as kubeadm >= 1.21 does.  The
# expected table is the fixture with "ca" put at that column in those rows
# (the column keeps its width: the header is wider than any value).
awk 'NR == 1 { pos = index($0, "CERTIFICATE AUTHORITY") }
	pos > 0 && $1 ~ /\.conf$/ && substr($0, pos, 2) == "  " {
		$0 = substr($0, 1, pos - 1) "ca" substr($0, pos + 2)
	}
	{ print }' "$FIXTURES/kubeadm-v1.20.2/check-expiration.txt" >"$TMP/want20"
changed=$(diff "$FIXTURES/kubeadm-v1.20.2/check-expiration.txt" \
    "$TMP/want20" | grep -c '^>')
strip_trailing "$TMP/want20" >"$TMP/want"
run "$KRESCUE" check -o kubeadm --now "$NOW20" --root "$K120"
strip_trailing "$OUT" >"$TMP/got"
if [ "$changed" -ne 3 ]; then
	fail golden-kubeadm-1.20.2 "expected 3 kubeconfig rows to adjust in the fixture, found $changed"
elif [ ! -s "$TMP/got" ]; then
	fail golden-kubeadm-1.20.2 "no output, exit $RC ($(why_err))"
elif diff -u "$TMP/want" "$TMP/got" >"$TMP/diff"; then
	pass golden-kubeadm-1.20.2
else
	fail golden-kubeadm-1.20.2 "differs from check-expiration.txt (+ca)"
	show_diff "$TMP/diff"
fi

# --- exit codes ----------------------------------------------------------

expect_exit 0 exit-ok "$KRESCUE" check --root "$K128" --now "$NOW"
expect_exit 0 exit-ok-1.20.2 "$KRESCUE" check --root "$K120" --now "$NOW20"
expect_exit 0 exit-ok-table "$KRESCUE" check -o table --root "$K128" --now "$NOW"
expect_exit 2 exit-expiring "$KRESCUE" check --root "$K128" --now "$SOON"
expect_exit 0 warn-shorter "$KRESCUE" check --root "$K128" --now "$SOON" --warn 5d
expect_exit 2 warn-longer "$KRESCUE" check --root "$K128" --now "$NOW" --warn 400d
# the leaves have 9d 23h 59m left at SOON
expect_exit 0 warn-hours-shorter "$KRESCUE" check --root "$K128" --now "$SOON" --warn 216h
expect_exit 2 warn-hours-longer "$KRESCUE" check --root "$K128" --now "$SOON" --warn 240h
expect_exit 3 exit-expired "$KRESCUE" check --root "$EXP" --now "$NOW"
# the fresh tree a week after its leaves expired
expect_exit 3 exit-expired-later "$KRESCUE" check --root "$K128" \
    --now 2027-12-01T00:00:00Z
# before the CAs' NotBefore (2026-11-24 11:35:55)
expect_exit 3 exit-not-yet-valid "$KRESCUE" check --root "$K128" \
    --now 2026-11-24T11:00:00Z

# --- the JSON document ---------------------------------------------------

run "$KRESCUE" check -o json --root "$K128" --now "$NOW"
cp "$OUT" "$TMP/k128.json"
if [ "$RC" -ne 0 ]; then
	fail json-exit "exit $RC, want 0 ($(why_err))"
elif ! kcheck schema "$TMP/k128.json"; then
	fail json-schema "$(why_kcheck)"
else
	pass json-schema
	ok=1
	for kv in "layout=kubeadm" "cert_dir=/etc/kubernetes/pki" \
	    "status=ok" "root=$K128" "now=$NOW"; do
		got=$($KCHECK top "$TMP/k128.json" "${kv%%=*}")
		[ "$got" = "${kv#*=}" ] ||
		    { fail json-top "${kv%%=*} is \"$got\", want \"${kv#*=}\""; ok=0; }
	done
	[ "$ok" = 1 ] && pass json-top

	# name, kind, path, key path and CA of every item kubeadm v1.28.4
	# leaves on a stacked-etcd control plane, and nothing else.
	$KCHECK list "$TMP/k128.json" | cut -f 1,2,4,5,6 | sort >"$TMP/got"
	P=/etc/kubernetes/pki
	tab=$(printf '\t')
	sort >"$TMP/want" <<-EOF
	admin.conf${tab}kubeconfig${tab}/etc/kubernetes/admin.conf${tab}None${tab}ca
	apiserver${tab}leaf${tab}$P/apiserver.crt${tab}$P/apiserver.key${tab}ca
	apiserver-etcd-client${tab}leaf${tab}$P/apiserver-etcd-client.crt${tab}$P/apiserver-etcd-client.key${tab}etcd-ca
	apiserver-kubelet-client${tab}leaf${tab}$P/apiserver-kubelet-client.crt${tab}$P/apiserver-kubelet-client.key${tab}ca
	ca${tab}ca${tab}$P/ca.crt${tab}$P/ca.key${tab}None
	controller-manager.conf${tab}kubeconfig${tab}/etc/kubernetes/controller-manager.conf${tab}None${tab}ca
	etcd-ca${tab}ca${tab}$P/etcd/ca.crt${tab}$P/etcd/ca.key${tab}None
	etcd-healthcheck-client${tab}leaf${tab}$P/etcd/healthcheck-client.crt${tab}$P/etcd/healthcheck-client.key${tab}etcd-ca
	etcd-peer${tab}leaf${tab}$P/etcd/peer.crt${tab}$P/etcd/peer.key${tab}etcd-ca
	etcd-server${tab}leaf${tab}$P/etcd/server.crt${tab}$P/etcd/server.key${tab}etcd-ca
	front-proxy-ca${tab}ca${tab}$P/front-proxy-ca.crt${tab}$P/front-proxy-ca.key${tab}None
	front-proxy-client${tab}leaf${tab}$P/front-proxy-client.crt${tab}$P/front-proxy-client.key${tab}front-proxy-ca
	kubelet.conf${tab}kubeconfig${tab}/etc/kubernetes/kubelet.conf${tab}None${tab}ca
	root-kubeconfig${tab}kubeconfig${tab}/root/.kube/config${tab}None${tab}ca
	scheduler.conf${tab}kubeconfig${tab}/etc/kubernetes/scheduler.conf${tab}None${tab}ca
	EOF
	if diff -u "$TMP/want" "$TMP/got" >"$TMP/diff"; then
		pass json-items
	else
		fail json-items "items differ from kubeadm's set (name kind path key_path ca)"
		show_diff "$TMP/diff"
	fi
	bad=$($KCHECK list "$TMP/k128.json" | awk -F '\t' '$3 != "ok" { print $1 "=" $3 }' | tr '\n' ' ')
	if [ -z "$bad" ]; then pass json-all-ok; else fail json-all-ok "$bad"; fi
	subj=$("$PYTHON" -c 'import json, sys
d = json.load(open(sys.argv[1]))
print([c["subject"] for c in d["certificates"] if c["name"] == "apiserver"][0])' \
	    "$TMP/k128.json" 2>&1)
	if [ "$subj" = "CN=kube-apiserver" ]; then
		pass json-subject
	else
		fail json-subject "apiserver subject \"$subj\""
	fi
fi

# the expired tree: every leaf and kubeconfig expired, the CAs fine
run "$KRESCUE" check -o json --root "$EXP" --now "$NOW"
cp "$OUT" "$TMP/exp.json"
if [ "$RC" -ne 3 ]; then
	fail json-expired "exit $RC, want 3 ($(why_err))"
elif ! kcheck schema "$TMP/exp.json"; then
	fail json-expired "$(why_kcheck)"
else
	bad=$($KCHECK list "$TMP/exp.json" | awk -F '\t' '
		$2 == "ca" && $3 != "ok" { print $1 "=" $3 }
		$2 != "ca" && $3 != "expired" { print $1 "=" $3 }' | tr '\n' ' ')
	top=$($KCHECK top "$TMP/exp.json" status)
	if [ -n "$bad" ]; then
		fail json-expired "unexpected statuses: $bad"
	elif [ "$top" != expired ]; then
		fail json-expired "top-level status \"$top\", want expired"
	else
		pass json-expired
	fi
fi

run "$KRESCUE" check -o json --root "$K128" --now "$SOON"
st=$($KCHECK top "$OUT" status 2>&1)
if [ "$RC" -eq 2 ] && [ "$st" = expiring ]; then
	pass json-expiring
else
	fail json-expiring "exit $RC, status \"$st\", want 2 and expiring"
fi

# without --now the clock is read: the JSON's "now" is the current time
run "$KRESCUE" check -o json --root "$K128"
t0=$(date -u +%s)
jnow=$($KCHECK top "$OUT" now 2>&1)
t1=$(date -u -d "$jnow" +%s 2>/dev/null || echo 0)
d=$((t1 - t0))
if [ "$d" -ge -60 ] && [ "$d" -le 60 ]; then
	pass default-now
else
	fail default-now "json now \"$jnow\", the clock says $(date -u +%Y-%m-%dT%H:%M:%SZ)"
fi

# --- certificatesDir from --config ---------------------------------------
# The PKI moved to /etc/kubernetes/certs and a kubeadm config saying so at
# a non-default place.  --config names a file on the node (inside --root).
CD=$TMP/certsdir
cp -a "$K128" "$CD"
mv "$CD/etc/kubernetes/pki" "$CD/etc/kubernetes/certs"
sed 's|^certificatesDir: .*|certificatesDir: /etc/kubernetes/certs|' \
    "$CD/etc/kubernetes/kubeadm-config.yaml" >"$CD/root/cluster.yaml"
rm "$CD/etc/kubernetes/kubeadm-config.yaml"
run "$KRESCUE" check -o json --config /root/cluster.yaml --root "$CD" --now "$NOW"
p=$($KCHECK list "$OUT" 2>&1 | awk -F '\t' '$1 == "apiserver" { print $4 }')
if [ "$RC" -eq 0 ] && [ "$p" = /etc/kubernetes/certs/apiserver.crt ]; then
	pass config-certificates-dir
else
	fail config-certificates-dir "exit $RC, apiserver path \"$p\" ($(why_err))"
fi

# --- must-fail cases -------------------------------------------------------

# broken NAME: a copy of the fresh tree to damage
broken() {
	cp -a "$K128" "$TMP/$1"
	B=$TMP/$1
	BP=$B/etc/kubernetes/pki
}

# expect_broken NAME TREE CERT STATUSES REGEX: exit 3 in table and JSON;
# some line of the table run (stdout or stderr) names CERT and matches
# REGEX; in the JSON, CERT has one of STATUSES ("a|b") and a problem
# matching REGEX, and every other certificate is still ok.
expect_broken() {
	eb_name=$1 eb_tree=$2 eb_cert=$3 eb_st=$4 eb_re=$5
	run "$KRESCUE" check --root "$eb_tree" --now "$NOW"
	if [ "$RC" -ne 3 ]; then
		fail "$eb_name" "exit $RC, want 3 ($(why_err))"
		return
	fi
	cat "$OUT" "$ERR" >"$TMP/msgs"
	if ! grep -F -- "$eb_cert" "$TMP/msgs" | grep -Eiq -- "$eb_re"; then
		fail "$eb_name" "no output line names $eb_cert and matches /$eb_re/"
		return
	fi
	run "$KRESCUE" check -o json --root "$eb_tree" --now "$NOW"
	if [ "$RC" -ne 3 ]; then
		fail "$eb_name" "-o json: exit $RC, want 3 ($(why_err))"
		return
	fi
	cp "$OUT" "$TMP/broken.json"
	st=$($KCHECK list "$TMP/broken.json" 2>&1 |
	    awk -F '\t' -v c="$eb_cert" '$1 == c { print $3 }')
	case "|$eb_st|" in
	*"|$st|"*) ;;
	*)
		fail "$eb_name" "json status of $eb_cert is \"$st\", want $eb_st"
		return
		;;
	esac
	if ! $KCHECK problems "$TMP/broken.json" "$eb_cert" |
	    grep -Eiq -- "$eb_re"; then
		fail "$eb_name" "json problems of $eb_cert do not match /$eb_re/"
		return
	fi
	others=$($KCHECK list "$TMP/broken.json" | awk -F '\t' -v c="$eb_cert" \
	    '$1 != c && $3 != "ok" { print $1 "=" $3 }' | tr '\n' ' ')
	if [ -n "$others" ]; then
		fail "$eb_name" "other certificates flagged too: $others"
		return
	fi
	pass "$eb_name"
}

broken corrupt
truncate -s 600 "$BP/apiserver.crt"
expect_broken corrupt-pem "$B" apiserver invalid \
    'pem|pars|corrupt|malformed|decod|truncat|der|asn|invalid'

broken keymismatch
cp "$BP/apiserver-kubelet-client.key" "$BP/apiserver.key"
expect_broken key-mismatch "$B" apiserver invalid 'match|pair|belong'

broken foreign
if $MKTREE foreign-ca "$BP/front-proxy-client.crt" >"$TMP/.fca" 2>&1; then
	expect_broken foreign-ca "$B" front-proxy-client invalid \
	    'sign|chain|verif|issu|trust|foreign'
else
	fail foreign-ca "mktree foreign-ca: $(tail -n 1 "$TMP/.fca")"
fi

broken missing
rm "$BP/apiserver.crt"
expect_broken missing-file "$B" apiserver missing \
    'missing|no such|not found|does not exist|absent'

# a relative symlink that climbs above the root (pki is 3 levels down)
broken escape
rm "$BP/apiserver.crt"
ln -s ../../../../../etc/passwd "$BP/apiserver.crt"
expect_broken symlink-leaves-root "$B" apiserver 'invalid|missing' \
    'leaves the root'

broken keymode
chmod 0644 "$BP/apiserver.key"
expect_broken unsafe-key-mode "$B" apiserver invalid \
    'mode|permission|0?644|world|group|readable'

# --- no Kubernetes, no root, no permission -------------------------------

mkdir "$TMP/empty"
expect_exit 1 no-kubernetes "$KRESCUE" check --root "$TMP/empty" --now "$NOW" &&
    if ! cat "$OUT" "$ERR" | grep -q 'no Kubernetes'; then
	fail no-kubernetes-message "no \"no Kubernetes\" message ($(why_err))"
    elif ! head -n 1 "$ERR" | grep -q '^krescue: '; then
	fail no-kubernetes-message "stderr does not start with \"krescue: \""
    else
	pass no-kubernetes-message
    fi

expect_exit 111 root-missing "$KRESCUE" check --root "$TMP/does-not-exist" \
    --now "$NOW" &&
    if [ "$(wc -l <"$ERR")" -eq 1 ] && grep -q '^krescue: ' "$ERR"; then
	pass root-missing-message
    else
	fail root-missing-message "stderr is not one \"krescue: \" line: $(why_err)"
    fi

if ! command -v setpriv >/dev/null 2>&1; then
	skip permission-denied "setpriv is not installed (util-linux)"
elif [ "$(id -u)" -ne 0 ]; then
	skip permission-denied "needs root to switch to uid 65534"
else
	broken noperm
	chmod 000 "$BP"
	# a copy the unprivileged user can surely execute (the checkout may
	# live below a directory it cannot enter)
	cp "$KRESCUE" "$TMP/krescue.nobody"
	chmod 0755 "$TMP/krescue.nobody"
	run setpriv --reuid=65534 --regid=65534 --clear-groups \
	    "$TMP/krescue.nobody" check --root "$B" --now "$NOW"
	chmod 755 "$BP"
	if [ "$RC" -ne 3 ] && [ "$RC" -ne 111 ]; then
		fail permission-denied "exit $RC, want 3 or 111 ($(why_err))"
	elif ! cat "$OUT" "$ERR" | grep -q 'Permission denied'; then
		fail permission-denied "no \"Permission denied\" message ($(why_err))"
	else
		pass permission-denied
	fi
fi

# --- usage errors -----------------------------------------------------------

# exit 100, and the first line on stderr is krescue's ("krescue: ...")
expect_usage() {
	eu_name=$1
	shift
	expect_exit 100 "$eu_name" "$KRESCUE" check --root "$K128" "$@" &&
	    if head -n 1 "$ERR" | grep -q '^krescue: '; then
		pass "$eu_name-message"
	    else
		fail "$eu_name-message" "first stderr line is not \"krescue: ...\": $(why_err)"
	    fi
}
expect_usage usage-unknown-flag --bogus
expect_usage usage-missing-argument --now
expect_usage usage-bad-output -o xml
expect_usage usage-bad-now --now yesterday
expect_usage usage-bad-warn --warn soon
expect_usage usage-extra-argument extra

# --- check never writes --------------------------------------------------

for o in table kubeadm json prometheus; do
	"$KRESCUE" check -o "$o" --root "$K128" --now "$NOW" >/dev/null 2>&1
done
if [ "$(tree_hash "$K128")" = "$K128_HASH" ]; then
	pass read-only
else
	fail read-only "the tree changed while checking it"
fi

finish
