#!/bin/sh
# tests/ansible/fleet.sh: scripts/ansible/krescue-fleet.yml on a Kubespray
# cluster of node directories (tests/ansible/mkcluster.py): 3 control
# planes with host etcd and one shared CA, 2 workers with expired kubelet
# certs.  Inventory in Kubespray's shape, ansible_connection=local, no
# Python on the "nodes"; nothing is restarted (krescue_restart=false).
. "$(dirname "$0")/../lib.sh"
require_krescue

if ! command -v ansible-playbook >/dev/null 2>&1; then
	skip "all" "ansible-playbook not installed (Debian: ansible-core)"
	finish
fi

PLAYBOOK=$REPO/scripts/ansible/krescue-fleet.yml
export ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 ANSIBLE_RETRY_FILES_ENABLED=0
export ANSIBLE_LOCAL_TEMP="$TMP/.ansible-local" ANSIBLE_REMOTE_TEMP="$TMP/.ansible-remote"
export ANSIBLE_HOME="$TMP/.ansible" ANSIBLE_DEPRECATION_WARNINGS=0
export ANSIBLE_STDOUT_CALLBACK=default
# lib.sh sets LC_ALL=C; Ansible refuses anything but a UTF-8 locale
ansible_playbook() { LC_ALL=C.UTF-8 LANG=C.UTF-8 ansible-playbook "$@"; }
ansible_lint() { LC_ALL=C.UTF-8 LANG=C.UTF-8 ansible-lint "$@"; }

# cluster DIR [--etcd-valid]: build the nodes and their inventory
cluster() {
	if ! $PYTHON "$REPO/tests/ansible/mkcluster.py" "$@" >"$TMP/.mk" 2>&1; then
		fail "mkcluster $*" "$(tail -n 1 "$TMP/.mk")"
		exit 1
	fi
}

# play DIR LOG [ansible-playbook options]: run the playbook on DIR's cluster
play() {
	p_dir=$1 p_log=$2
	shift 2
	RC=0
	ansible_playbook -i "$p_dir/inventory.yaml" "$PLAYBOOK" \
	    -e krescue_become=false -e krescue_restart=false \
	    -e krescue_binary="$KRESCUE" "$@" >"$p_log" 2>&1 || RC=$?
}

# state DIR NODE: hash of a node's files, without krescue's own state
# (/var/lib/krescue: lock, backups) which a rollback adds to by design
state() {
	(
		cd "$1/$2" || exit 1
		find . -path ./var/lib/krescue -prune -o \
		    -printf '%y %m %U:%G %p -> %l\n' | sort
		find . -path ./var/lib/krescue -prune -o -type f \
		    -exec sha256sum {} + | sort -k 2
	) | sha256sum | cut -d ' ' -f 1
}

# kubelet_pem ROOT: the file kubelet-client-current.pem points at, in ROOT
# (the link is absolute, as the kubelet writes it)
kubelet_pem() {
	kp_l=$(readlink "$1/var/lib/kubelet/pki/kubelet-client-current.pem")
	case $kp_l in
	/*) printf '%s%s\n' "$1" "$kp_l" ;;
	*) printf '%s/var/lib/kubelet/pki/%s\n' "$1" "$kp_l" ;;
	esac
}

# recap LOG NODE FIELD: a number from the PLAY RECAP line of NODE
recap() {
	sed -n "s/^$2 *:.* $3=\([0-9]*\).*/\1/p" "$1" | tail -n 1
}

CAS="etc/kubernetes/ssl/ca.crt etc/kubernetes/ssl/ca.key
etc/kubernetes/ssl/front-proxy-ca.crt etc/kubernetes/ssl/front-proxy-ca.key
etc/kubernetes/ssl/sa.key etc/kubernetes/ssl/sa.pub
etc/ssl/etcd/ssl/ca.pem etc/ssl/etcd/ssl/ca-key.pem"
CPS="node1 node2 node3"
WORKERS="node4 node5"
ALL="$CPS $WORKERS"

# --- lint first: cheap, and says what is wrong before a long run
run ansible_playbook -i localhost, --syntax-check "$PLAYBOOK"
if [ "$RC" -eq 0 ]; then pass "syntax-check"
else fail "syntax-check" "exit $RC: $(grep -m1 ERROR "$OUT")"; fi

if command -v ansible-lint >/dev/null 2>&1; then
	(cd "$REPO/scripts/ansible" && ansible_lint --offline -q \
	    krescue-fleet.yml roles/krescue) >"$TMP/.lint" 2>&1
	lrc=$?
	if [ "$lrc" -eq 0 ]; then pass "ansible-lint"
	else fail "ansible-lint" "exit $lrc: $(grep -m1 -v '^$' "$TMP/.lint")"; fi
else
	skip "ansible-lint" "ansible-lint not installed (Debian: ansible-lint)"
fi

# --- the main cluster: everything expired
C=$TMP/c
cluster "$C"
for n in $ALL; do
	eval "before_$n=\$(tree_hash \"\$C/\$n\")"
done
for f in $CAS; do
	sha256sum "$C/node1/$f" | cut -d ' ' -f 1
done >"$TMP/cas.before"
has_kubelet=0
if "$KRESCUE" --help 2>&1 | grep -q 'krescue kubelet'; then has_kubelet=1; fi

# check mode: krescue renew --dry-run, nothing changes anywhere
play "$C" "$TMP/check.log" --check
ok=1
for n in $ALL; do
	eval "b=\$before_$n"
	[ "$(tree_hash "$C/$n")" = "$b" ] || { ok=0; why="$n changed"; }
done
if [ "$RC" -ne 0 ]; then
	fail "check mode" "exit $RC: $(grep -m1 -A3 'FAILED\|ERROR' "$TMP/check.log" | tr '\n' ' ' | cut -c 1-300)"
elif [ "$ok" -eq 0 ]; then
	fail "check mode changes nothing" "$why"
elif ! grep -q 'would renew' "$TMP/check.log" ||
    ! grep -q 'dry run: would renew' "$TMP/check.log"; then
	fail "check mode" "no dry-run plan in the output"
else
	pass "check mode: renew --dry-run, every node tree unchanged"
fi
if grep -q 'NODE  *CERTIFICATE  *EXPIRES' "$TMP/check.log" &&
    grep -q 'node4 *kubelet-client .* expired' "$TMP/check.log"; then
	pass "one cluster-wide table"
else
	fail "one cluster-wide table" "no table in the output"
fi

# the real run
play "$C" "$TMP/run1.log" -e krescue_kubeconfig_dest="$TMP/admin.conf"
if [ "$RC" -eq 0 ]; then pass "run: exit 0"
else fail "run" "exit $RC: $(grep -m1 -A3 'FAILED\|ERROR' "$TMP/run1.log" | tr '\n' ' ' | cut -c 1-300)"; fi

for n in $CPS; do
	expect_exit 0 "$n: krescue check exit 0 after the run" \
	    "$KRESCUE" check --root "$C/$n"
done
ok=1
for n in $CPS $WORKERS; do
	for f in $CAS; do
		[ -f "$C/$n/$f" ] || continue
		if ! cmp -s "$C/$n/$f" "$C/node1/$f"; then ok=0; why="$n/$f"; fi
	done
done
i=0
for f in $CAS; do
	i=$((i + 1))
	[ "$(sha256sum "$C/node1/$f" | cut -d ' ' -f 1)" = \
	    "$(sed -n "${i}p" "$TMP/cas.before")" ] || { ok=0; why="node1/$f"; }
done
if [ "$ok" -eq 1 ]; then pass "CAs and sa keys byte-identical, everywhere"
else fail "CAs unchanged" "$why differs"; fi

# every renewed leaf chains to the unchanged CA (openssl, not krescue)
ok=1
for n in $CPS; do
	d=$C/$n/etc/kubernetes/ssl
	for c in apiserver apiserver-kubelet-client; do
		openssl verify -CAfile "$d/ca.crt" "$d/$c.crt" >/dev/null 2>&1 ||
		    { ok=0; why="$n $c"; }
	done
	openssl verify -CAfile "$d/front-proxy-ca.crt" \
	    "$d/front-proxy-client.crt" >/dev/null 2>&1 || { ok=0; why="$n fp"; }
	e=$C/$n/etc/ssl/etcd/ssl
	for k in member admin node; do
		openssl verify -CAfile "$e/ca.pem" "$e/$k-$n.pem" \
		    >/dev/null 2>&1 || { ok=0; why="$n etcd $k"; }
	done
	openssl verify -CAfile "$d/ca.crt" "$(kubelet_pem "$C/$n")" \
	    >/dev/null 2>&1 || { ok=0; why="$n kubelet"; }
done
if [ "$ok" -eq 1 ]; then pass "renewed control-plane certs verify against the old CAs (openssl)"
else fail "chain" "$why does not verify"; fi

if [ "$has_kubelet" -eq 1 ]; then
	ok=1
	for n in $WORKERS; do
		"$KRESCUE" check --root "$C/$n" >/dev/null 2>&1 || { ok=0; why="$n check"; }
		p=$(kubelet_pem "$C/$n")
		openssl verify -CAfile "$C/$n/etc/kubernetes/ssl/ca.crt" "$p" \
		    >/dev/null 2>&1 || { ok=0; why="$n verify"; }
		openssl x509 -in "$p" -noout -subject 2>/dev/null |
		    grep -q "system:node:$n" || { ok=0; why="$n subject"; }
		[ -e "$C/$n/etc/kubernetes/ssl/ca.key" ] && { ok=0; why="$n has ca.key"; }
	done
	[ -e "$C/bin/node4/ca" ] && { ok=0; why="CA left in the worker's temp dir"; }
	if [ "$ok" -eq 1 ]; then pass "workers: kubelet client cert renewed from node1's CA, no CA key left behind"
	else fail "workers" "$why"; fi
else
	for n in $WORKERS; do
		eval "b=\$before_$n"
		[ "$(tree_hash "$C/$n")" = "$b" ] ||
		    fail "workers untouched without the kubelet verb" "$n changed"
	done
	if grep -q 'NOT renewed, kubelet client certificate due' "$TMP/run1.log"; then
		pass "workers: reported as pending (no kubelet verb in this krescue)"
	else
		fail "workers pending" "no pending message"
	fi
	skip "workers renewed" "this krescue has no 'kubelet --ca-from' verb"
fi

if [ -z "$(ls -A "$C/bin" 2>/dev/null)" ]; then pass "binary removed from every node"
else fail "binary removed" "$(ls "$C/bin" | tr '\n' ' ')"; fi

if [ -f "$TMP/admin.conf" ] &&
    [ "$(stat -c %a "$TMP/admin.conf")" = 600 ] &&
    cmp -s "$TMP/admin.conf" "$C/node1/etc/kubernetes/admin.conf"; then
	pass "kubeconfig on the controller refreshed (0600)"
else
	fail "kubeconfig on the controller" "missing, not 0600 or not node1's admin.conf"
fi

# second run: a healthy cluster, nothing changes, and it says so
for n in $ALL; do
	eval "after_$n=\$(tree_hash \"\$C/\$n\")"
done
play "$C" "$TMP/run2.log"
ok=1
for n in $ALL; do
	c=$(recap "$TMP/run2.log" "$n" changed)
	[ "$c" = 0 ] || { ok=0; why="$n changed=$c"; }
	eval "a=\$after_$n"
	[ "$(tree_hash "$C/$n")" = "$a" ] || { ok=0; why="$n tree changed"; }
done
if [ "$RC" -ne 0 ]; then
	fail "second run" "exit $RC"
elif [ "$ok" -eq 0 ]; then
	fail "second run changes nothing" "$why"
elif ! grep -q 'nothing to do' "$TMP/run2.log"; then
	fail "second run says so" "no 'nothing to do' in the output"
else
	pass "second run: changed=0 everywhere, trees unchanged, says nothing to do"
fi

# --- a failure on the second control plane: renew refuses (a planted
# apiserver key that does not match its certificate)
F=$TMP/f
cluster "$F" --etcd-valid
openssl genrsa -traditional -out "$F/node2/etc/kubernetes/ssl/apiserver.key" 2048 2>/dev/null ||
    openssl genrsa -out "$F/node2/etc/kubernetes/ssl/apiserver.key" 2048 2>/dev/null
chmod 0600 "$F/node2/etc/kubernetes/ssl/apiserver.key"
for n in $ALL; do
	eval "fb_$n=\$(tree_hash \"\$F/\$n\")"
done
play "$F" "$TMP/fail1.log"
ok=1
[ "$RC" -ne 0 ] || { ok=0; why="exit 0"; }
[ "$(tree_hash "$F/node2")" = "$fb_node2" ] || { ok=0; why="node2 changed"; }
[ "$(tree_hash "$F/node3")" = "$fb_node3" ] || { ok=0; why="node3 changed"; }
"$KRESCUE" check --root "$F/node1" >/dev/null 2>&1 || { ok=0; why="node1 not renewed"; }
for n in $WORKERS; do
	eval "b=\$fb_$n"
	[ "$(tree_hash "$F/$n")" = "$b" ] || { ok=0; why="$n changed"; }
done
if [ "$ok" -eq 0 ]; then
	fail "refusal on node2 stops the run" "$why"
elif ! grep -q 'control plane failed on node2' "$TMP/fail1.log" ||
    ! grep -q 'node2: nothing was written' "$TMP/fail1.log" ||
    ! grep -q 'node1: renewed' "$TMP/fail1.log" ||
    ! grep -q 'node3: not touched' "$TMP/fail1.log" ||
    ! grep -q 'private key does not match' "$TMP/fail1.log"; then
	fail "refusal on node2: clear message" "$(grep -m1 'failed on' "$TMP/fail1.log")"
else
	pass "renew refused on node2: run stops, node1 renewed, node2 and node3 and workers untouched, clear message"
fi

# --- the nodes disagree on a shared file: stop before anything is written
printf 'x' >>"$F/node3/etc/kubernetes/ssl/sa.pub"
for n in $ALL; do
	eval "fb_$n=\$(tree_hash \"\$F/\$n\")"
done
play "$F" "$TMP/gate.log"
ok=1
[ "$RC" -ne 0 ] || { ok=0; why="exit 0"; }
for n in $ALL; do
	eval "b=\$fb_$n"
	[ "$(tree_hash "$F/$n")" = "$b" ] || { ok=0; why="$n changed"; }
done
if [ "$ok" -eq 0 ]; then
	fail "sa.pub differs: stop before writing" "$why"
elif ! grep -q 'sa.pub differs between nodes: node1,node2 | node3' "$TMP/gate.log"; then
	fail "sa.pub differs: clear message" "$(grep -m1 'differs' "$TMP/gate.log")"
else
	pass "nodes disagree on sa.pub: stopped before anything was written, says which"
fi

# --- a failure after the renewal of the second control plane (its health
# check fails): node2 is rolled back, node3 untouched
G=$TMP/g
cluster "$G" --etcd-valid
for n in $ALL; do
	eval "gb_$n=\$(state \"\$G\" \"\$n\")"
	eval "gt_$n=\$(tree_hash \"\$G/\$n\")"
done
sed 's/^    node2:$/    node2:\n      krescue_health_command: "echo apiserver not ready on node2; exit 1"/' \
    "$G/inventory.yaml" >"$G/inv2" && mv "$G/inv2" "$G/inventory.yaml"
play "$G" "$TMP/fail2.log"
ok=1
[ "$RC" -ne 0 ] || { ok=0; why="exit 0"; }
[ "$(state "$G" node2)" = "$gb_node2" ] || { ok=0; why="node2 not rolled back"; }
[ "$(tree_hash "$G/node3")" = "$gt_node3" ] || { ok=0; why="node3 changed"; }
"$KRESCUE" check --root "$G/node1" >/dev/null 2>&1 || { ok=0; why="node1 not renewed"; }
"$KRESCUE" rollback --root "$G/node2" --list 2>/dev/null | grep -q . ||
    { ok=0; why="no backup on node2"; }
if [ "$ok" -eq 0 ]; then
	fail "health failure on node2: rollback and stop" "$why"
elif ! grep -q 'node2: rolled back' "$TMP/fail2.log" ||
    ! grep -q 'apiserver not ready on node2' "$TMP/fail2.log" ||
    ! grep -q 'node3: not touched' "$TMP/fail2.log"; then
	fail "health failure on node2: clear message" "$(grep -m1 'failed on' "$TMP/fail2.log")"
else
	pass "health failure on node2: node2 rolled back, node1 renewed, node3 untouched, clear message"
fi

finish
