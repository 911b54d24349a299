#!/bin/sh
# tests/cli/restart.sh: `krescue restart` on a node tree standing in for a
# live node, through the test aids (KRESCUE_RESTART_ANY_ROOT,
# KRESCUE_SYSTEMCTL, KRESCUE_CRICTL): the manifests go out to a 0700 hold
# directory and come back byte-identical with their modes, the kubelet is
# restarted, the API server (openssl s_server) is probed.  Must-fail: a
# --root other than / without --dry-run; a failing systemctl, a signal in
# the middle, an API server that does not answer -- each leaves the
# manifests in place.
. "$(dirname "$0")/../lib.sh"
require_krescue

if ! "$KRESCUE" --help 2>&1 | grep -q 'krescue restart'; then
	fail restart "this krescue has no restart verb"
	finish
fi

N=$TMP/node
mktree kubeadm "$N" --version 1.28.4
M=$N/etc/kubernetes/manifests
PKI=$N/etc/kubernetes/pki
COMPONENTS="etcd kube-apiserver kube-controller-manager kube-scheduler"

PIDS=
r_cleanup() {
	for p in $PIDS; do
		kill "$p" 2>/dev/null
	done
	t_cleanup
}
trap 'r_cleanup' EXIT

# what the manifests are: content and mode, to compare after each run
manifests_state() {
	(cd "$M" && for c in $COMPONENTS; do
		printf '%s %s\n' "$(stat -c '%a %U:%G' "$c.yaml" 2>&1)" \
		    "$(sha256sum "$c.yaml" 2>&1)"
	done)
}
chmod 0640 "$M/kube-scheduler.yaml"	# an unusual mode must survive too
manifests_state >"$TMP/manifests.before"
manifests_intact() {
	manifests_state >"$TMP/manifests.after"
	if ! cmp -s "$TMP/manifests.before" "$TMP/manifests.after"; then
		fail "$1" "manifests differ: $(diff "$TMP/manifests.before" \
		    "$TMP/manifests.after" | tr '\n' ' ' | cut -c 1-200)"
		return 1
	fi
	left=$(find "$N/etc/kubernetes" -maxdepth 1 -name 'manifests.krescue-*')
	if [ -n "$left" ]; then
		fail "$1" "hold directory left: $left"
		return 1
	fi
	pass "$1"
}

# --- fakes: systemctl records its arguments; crictl plays the kubelet ------
LOG=$TMP/calls.log
cat >"$TMP/systemctl" <<'EOF'
#!/bin/sh
echo "systemctl $*" >>"$FAKE_LOG"
exit "${FAKE_SYSTEMCTL_RC:-0}"
EOF
# A container runs while its manifest is in the manifest directory; a
# manifest that comes back (new ctime) means a new container id.
cat >"$TMP/crictl" <<'EOF'
#!/bin/sh
name=
for a; do
	[ "$prev" = --name ] && name=$a
	prev=$a
done
m=$FAKE_ROOT/etc/kubernetes/manifests
here=
for f in "$m"/*.yaml; do
	[ -f "$f" ] || continue
	c=$(basename "$f" .yaml)
	here="$here $c"
	[ -z "$name" ] || [ "^$c\$" = "$name" ] || continue
	echo "$c-$(stat -c %z "$f" | tr -dc 0-9)"
done
echo "crictl ${name:-all}:${here:- none}" >>"$FAKE_LOG"
EOF
chmod 0755 "$TMP/systemctl" "$TMP/crictl"
export FAKE_LOG="$LOG" FAKE_ROOT="$N"

free_port() {
	$PYTHON -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# the "API server": s_server with apiserver.crt, on 127.0.0.1
mkdir -p "$TMP/www"
printf ok >"$TMP/www/healthz"
PORT=$(free_port)
(cd "$TMP/www" && exec timeout 300 openssl s_server -accept "127.0.0.1:$PORT" \
    -cert "$PKI/apiserver.crt" -key "$PKI/apiserver.key" -CAfile "$PKI/ca.crt" \
    -Verify 1 -WWW -quiet >"$TMP/s_server.log" 2>&1) &
PIDS="$PIDS $!"
i=0
until $PYTHON -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' \
    "$PORT" 2>/dev/null; do
	i=$((i + 1))
	if [ $i -gt 50 ]; then
		fail "s_server" "did not start: $(head -n 2 "$TMP/s_server.log")"
		finish
	fi
	sleep 0.2
done
SERVER="--server https://127.0.0.1:$PORT --tls-server-name kubernetes"

# with the test aids
live() {
	KRESCUE_RESTART_ANY_ROOT=1 KRESCUE_SYSTEMCTL="$TMP/systemctl" \
	    KRESCUE_CRICTL="$TMP/crictl" "$KRESCUE" restart --root "$N" "$@"
}

# --- the plan, and the refusal ---------------------------------------------
h0=$(tree_hash "$N")
expect_exit 0 "--dry-run prints the plan" \
    "$KRESCUE" restart --root "$N" --dry-run
ok=1
for c in $COMPONENTS; do
	grep -q "$c: move /etc/kubernetes/manifests/$c.yaml out" "$OUT" ||
	    { fail "plan names $c" "$(head -n 3 "$OUT" | tr '\n' ' ')"; ok=0; }
done
grep -q 'systemctl restart kubelet' "$OUT" || { fail "plan: kubelet" "missing"; ok=0; }
[ "$ok" = 1 ] && pass "the plan names every manifest and the kubelet"
[ "$(tree_hash "$N")" = "$h0" ] && pass "--dry-run changes nothing" ||
    fail "--dry-run changes nothing" "tree changed"

expect_exit 100 "--root other than / without --dry-run is refused" \
    "$KRESCUE" restart --root "$N"
grep -q 'is not /' "$ERR" && pass "the refusal says why" ||
    fail "the refusal says why" "$(why_err)"
[ "$(tree_hash "$N")" = "$h0" ] && pass "the refusal changes nothing" ||
    fail "the refusal changes nothing" "tree changed"
expect_exit 100 "--wait -1" "$KRESCUE" restart --root "$N" --dry-run --wait -1
expect_exit 100 "an unknown option" "$KRESCUE" restart --bogus

# --- a whole run -----------------------------------------------------------
: >"$LOG"
# shellcheck disable=SC2086
expect_exit 0 "restart with crictl, systemctl and a healthy API server" \
    live --wait 5 $SERVER
[ "$RC" = 0 ] || sed 's/^/# /' "$ERR" | head -n 5
manifests_intact "manifests back, byte-identical, modes kept, no hold dir"
if grep -q '^crictl ^kube-apiserver\$: none$' "$LOG" &&
    grep '^crictl' "$LOG" | tail -n 1 | grep -q 'kube-apiserver'; then
	pass "the manifests were out while the pods were watched"
else
	fail "the manifests were out while the pods were watched" \
	    "$(head -n 12 "$LOG" | tr '\n' '|')"
fi
grep -qx 'systemctl restart kubelet' "$LOG" &&
    pass "systemctl restart kubelet was called" ||
    fail "systemctl restart kubelet was called" "$(cat "$LOG")"
grep -q "HTTP 200" "$OUT" && pass "the health probe is on the console" ||
    fail "the health probe is on the console" "$(tail -n 2 "$OUT")"

# a hold directory of 0700 while out: watch it from a slow crictl
cat >"$TMP/crictl-slow" <<'EOF'
#!/bin/sh
for d in "$FAKE_ROOT"/etc/kubernetes/manifests.krescue-*; do
	[ -d "$d" ] && stat -c 'hold %a' "$d" >>"$FAKE_LOG"
done
exec "$FAKE_CRICTL" "$@"
EOF
chmod 0755 "$TMP/crictl-slow"
: >"$LOG"
# shellcheck disable=SC2086
FAKE_CRICTL="$TMP/crictl" KRESCUE_RESTART_ANY_ROOT=1 \
    KRESCUE_SYSTEMCTL="$TMP/systemctl" KRESCUE_CRICTL="$TMP/crictl-slow" \
    "$KRESCUE" restart --root "$N" --wait 2 --no-kubelet $SERVER \
    >"$OUT" 2>"$ERR" || true
if grep -qx 'hold 700' "$LOG" && ! grep -q '^hold [0-6]' "$LOG" &&
    ! grep -q '^systemctl' "$LOG"; then
	pass "the hold directory is 0700; --no-kubelet leaves systemctl alone"
else
	fail "hold directory 0700, --no-kubelet" "$(grep -v crictl "$LOG" | tr '\n' ' ')"
fi
manifests_intact "manifests in place after the --no-kubelet run"

# --- failures leave the manifests in place ---------------------------------
: >"$LOG"
export FAKE_SYSTEMCTL_RC=1
# shellcheck disable=SC2086
expect_exit 1 "a failing systemctl fails the restart" live --wait 2 $SERVER
unset FAKE_SYSTEMCTL_RC
grep -qx 'systemctl restart kubelet' "$LOG" ||
    fail "the failing systemctl was called" "$(cat "$LOG")"
manifests_intact "manifests in place after a failing systemctl"

expect_exit 1 "an API server that does not answer fails the restart" \
    live --wait 1 --no-kubelet --server "https://127.0.0.1:$(free_port)" \
    --tls-server-name kubernetes
manifests_intact "manifests in place after a failed health probe"

# a signal while the manifests are out (no crictl: the fixed pause)
KRESCUE_RESTART_ANY_ROOT=1 KRESCUE_SYSTEMCTL="$TMP/systemctl" \
    KRESCUE_CRICTL= "$KRESCUE" restart --root "$N" --wait 20 \
    >"$TMP/sig.out" 2>"$TMP/sig.err" &
kpid=$!
i=0
until [ -n "$(find "$N/etc/kubernetes" -maxdepth 1 -name 'manifests.krescue-*')" ]; do
	i=$((i + 1))
	[ $i -gt 50 ] && break
	sleep 0.1
done
out_now=$(ls "$M" | wc -l)
kill -TERM "$kpid"
rc=0
wait "$kpid" || rc=$?
if [ "$out_now" = 0 ] && [ "$rc" = 1 ] && grep -q 'interrupted' "$TMP/sig.err"; then
	pass "SIGTERM while the manifests are out: exit 1, says so"
else
	fail "SIGTERM while out" "rc=$rc, $out_now manifests left in at the signal, $(head -n 1 "$TMP/sig.err")"
fi
manifests_intact "manifests back after SIGTERM"

# a hold directory left by a killed run is emptied back first
mkdir -m 0700 "$N/etc/kubernetes/manifests.krescue-20260101T000000Z"
mv "$M/kube-scheduler.yaml" "$N/etc/kubernetes/manifests.krescue-20260101T000000Z/"
expect_exit 0 "--dry-run reports a leftover manifest" \
    "$KRESCUE" restart --root "$N" --dry-run
grep -q 'would move kube-scheduler.yaml back' "$OUT" &&
    pass "the dry run names it" || fail "the dry run names it" "$(tail -n 2 "$OUT")"
# shellcheck disable=SC2086
expect_exit 0 "a run puts a leftover manifest back first" \
    live --wait 2 --no-kubelet $SERVER
manifests_intact "leftover restored, byte-identical, mode kept"

finish
