#!/bin/sh
# tests/cli/stage.sh: `krescue stage` writes the next-boot unit, its
# relative .wants/ link, script and flag; `systemd-analyze verify` accepts
# the unit; --remove takes it away; a rollback after renew + stage still
# restores the certificates.  Must-fail: no systemd on the node, a .wants
# link leaving the root, bad usage, a missing root; each changes nothing.
. "$(dirname "$0")/../lib.sh"
require_krescue

if ! "$KRESCUE" --help 2>&1 | grep -q 'krescue stage'; then
	fail stage "this krescue has no stage verb"
	finish
fi

UNIT=/etc/systemd/system/krescue-finish.service
LINK=/etc/systemd/system/multi-user.target.wants/krescue-finish.service
FLAG=/var/lib/krescue/finish-pending
SCRIPT=/var/lib/krescue/finish.sh

N=$TMP/node
mktree kubeadm "$N" --version 1.28.4 --expired --kubelet-finalize
mkdir -p "$N/etc/systemd/system"

# --- staging -----------------------------------------------------------
expect_exit 0 "stage on a kubeadm node" "$KRESCUE" stage --root "$N"
ok=1
for f in $UNIT $SCRIPT $FLAG; do
	[ -f "$N$f" ] || { fail "staged files" "$f missing"; ok=0; }
done
[ "$ok" = 1 ] && pass "staged files present"

if [ -L "$N$LINK" ] && [ "$(readlink "$N$LINK")" = ../krescue-finish.service ] &&
    [ -f "$N$LINK" ]; then
	pass "relative .wants link resolves to the unit"
else
	fail "relative .wants link" "$(readlink "$N$LINK" 2>&1)"
fi

modes=$(stat -c '%a' "$N$UNIT" "$N$SCRIPT" "$N$FLAG" | tr '\n' ' ')
if [ "$modes" = "644 755 644 " ]; then
	pass "modes 0644 unit, 0755 script, 0644 flag"
else
	fail "modes" "$modes"
fi

ok=1
for want in '^Type=oneshot$' '^Before=kubelet.service$' \
    '^After=local-fs.target$' "^ConditionPathExists=$FLAG\$" \
    "^ExecStartPre=/bin/rm -f $FLAG\$" "^ExecStart=/bin/sh $SCRIPT\$"; do
	grep -q "$want" "$N$UNIT" || { fail "unit content" "no $want"; ok=0; }
done
grep -q '^\[Install\]' "$N$UNIT" && { fail "unit content" "has [Install]"; ok=0; }
[ "$ok" = 1 ] && pass "unit: oneshot, before kubelet, flag condition, flag removed first"

# the script removes the flag before anything else and parses
# (after setting a private umask: it copies admin credentials)
first=$(grep -v '^#' "$N$SCRIPT" | grep -v '^state=' | grep -v '^umask 077$' |
    head -n 1)
if [ "$first" = 'rm -f "$state/finish-pending"' ] && sh -n "$N$SCRIPT" &&
    grep -q '^umask 077$' "$N$SCRIPT"; then
	pass "finish script: private umask, removes the flag first, parses"
else
	fail "finish script" "first command: $first"
fi

left=$(find "$N/etc/systemd/system" "$N/var/lib/krescue" -name '.*.krescue-*')
if [ -n "$left" ]; then
	fail "no temp files left" "$left"
else
	pass "no temp files left"
fi

if command -v systemd-analyze >/dev/null 2>&1; then
	mkdir -p "$TMP/verify"
	cp "$N$UNIT" "$TMP/verify/"
	if systemd-analyze verify --man=no "$TMP/verify/krescue-finish.service" \
	    >"$TMP/verify.out" 2>&1; then
		pass "systemd-analyze verify accepts the unit"
	else
		fail "systemd-analyze verify" "$(head -n 2 "$TMP/verify.out" | tr '\n' ' ')"
	fi
	# and it is a real check: a broken copy must be refused
	sed 's|^ExecStart=/bin/sh|ExecStart=/nonexistent/sh|' "$N$UNIT" \
	    >"$TMP/verify/krescue-finish.service"
	if systemd-analyze verify --man=no "$TMP/verify/krescue-finish.service" \
	    >/dev/null 2>&1; then
		fail "systemd-analyze verify refuses a broken unit" "accepted ExecStart=/nonexistent/sh"
	else
		pass "systemd-analyze verify refuses a broken unit"
	fi
else
	skip "systemd-analyze verify" "systemd-analyze is not installed"
fi

# the health check after boot: unit after kubelet, relative link, the
# script (parses), the flag, and this very krescue binary (runs)
H=/etc/systemd/system/krescue-health.service
if grep -q '^After=kubelet.service' "$N$H" &&
    grep -q '^ConditionPathExists=/var/lib/krescue/health-pending' "$N$H" &&
    [ "$(readlink "$N/etc/systemd/system/multi-user.target.wants/krescue-health.service")" = \
    ../krescue-health.service ] && [ -f "$N/var/lib/krescue/health-pending" ] &&
    sh -n "$N/var/lib/krescue/health.sh" &&
    grep -q 'krescue" -q health' "$N/var/lib/krescue/health.sh"; then
	pass "health unit after kubelet, linked, flagged, script parses"
else
	fail "health unit" "$(ls -la "$N/etc/systemd/system" | tr '\n' ' ')"
fi
if cmp -s "$N/var/lib/krescue/krescue" "$KRESCUE" &&
    [ "$(stat -c %a "$N/var/lib/krescue/krescue")" = 755 ] &&
    "$N/var/lib/krescue/krescue" version >/dev/null 2>&1; then
	pass "the krescue binary is staged beside the script and runs"
else
	fail "staged binary" "missing, different or not executable"
fi
if command -v systemd-analyze >/dev/null 2>&1; then
	cp "$N$H" "$TMP/verify/"
	if systemd-analyze verify --man=no "$TMP/verify/krescue-health.service" \
	    >"$TMP/verify.out" 2>&1; then
		pass "systemd-analyze verify accepts the health unit"
	else
		fail "systemd-analyze verify (health)" "$(head -n 2 "$TMP/verify.out" | tr '\n' ' ')"
	fi
fi

# idempotent: a second run replaces, leaves one of each
expect_exit 0 "stage again" "$KRESCUE" stage --root "$N"
n=$(find "$N/etc/systemd" "$N/var/lib/krescue" -name '*krescue-finish*' -o \
    -name 'finish*' | wc -l)
[ "$n" -eq 4 ] && pass "second stage: still one unit, link, script, flag" ||
    fail "second stage" "$n entries"

# --remove
expect_exit 0 "stage --remove" "$KRESCUE" stage --root "$N" --remove
if [ ! -e "$N$UNIT" ] && [ ! -L "$N$LINK" ] && [ ! -e "$N$FLAG" ] &&
    [ ! -e "$N$SCRIPT" ] && [ ! -e "$N$H" ] &&
    [ ! -e "$N/var/lib/krescue/krescue" ] &&
    [ ! -e "$N/var/lib/krescue/health-pending" ]; then
	pass "--remove took unit, link, flag and script away"
else
	fail "--remove" "something left"
fi
expect_exit 0 "stage --remove when nothing is staged" \
    "$KRESCUE" stage --root "$N" --remove

# SELinux nodes get /.autorelabel
S=$TMP/selinux
mktree kubeadm "$S" --version 1.28.4
mkdir -p "$S/etc/systemd/system" "$S/etc/selinux"
printf 'SELINUX=enforcing\nSELINUXTYPE=targeted\n' >"$S/etc/selinux/config"
expect_exit 0 "stage on an SELinux node" "$KRESCUE" stage --root "$S"
[ -f "$S/.autorelabel" ] && pass "SELinux node: /.autorelabel written" ||
    fail "SELinux node" "no /.autorelabel"
[ -e "$N/.autorelabel" ] && fail "non-SELinux node" "/.autorelabel written" ||
    pass "non-SELinux node: no /.autorelabel"

# renew, stage, rollback: the rollback restores the certificates
R=$TMP/rb
mktree kubeadm "$R" --version 1.28.4 --expired --kubelet-finalize
mkdir -p "$R/etc/systemd/system"
run "$KRESCUE" renew --root "$R"
if [ "$RC" -eq 0 ]; then
	run "$KRESCUE" stage --root "$R"
	run "$KRESCUE" check --root "$R"
	c1=$RC
	run "$KRESCUE" rollback --root "$R"
	run "$KRESCUE" check --root "$R"
	if [ "$c1" -eq 0 ] && [ "$RC" -eq 3 ]; then
		pass "rollback after renew + stage restores the old certificates"
	else
		fail "rollback after renew + stage" "check $c1 then $RC, want 0 then 3"
	fi
else
	fail "renew before stage" "exit $RC ($(why_err))"
fi

# --- must fail, changing nothing -----------------------------------------
X=$TMP/nosystemd
mktree kubeadm "$X" --version 1.28.4 --expired
h=$(tree_hash "$X")
expect_exit 1 "must fail: node without /etc/systemd/system" \
    "$KRESCUE" stage --root "$X"
[ "$(tree_hash "$X")" = "$h" ] && pass "nothing changed without systemd" ||
    fail "nothing changed without systemd" "tree changed"

E=$TMP/escape
mktree kubeadm "$E" --version 1.28.4
mkdir -p "$E/etc/systemd/system" "$TMP/outside"
ln -s ../../../../outside "$E/etc/systemd/system/multi-user.target.wants"
run "$KRESCUE" stage --root "$E"
if [ "$RC" -ne 0 ] && [ -z "$(ls -A "$TMP/outside")" ] && [ ! -e "$E$FLAG" ]; then
	pass "must fail: .wants link leaving the root (exit $RC), no flag"
else
	fail "must fail: .wants link leaving the root" \
	    "exit $RC, outside: $(ls -A "$TMP/outside")"
fi

expect_exit 100 "must fail: unknown option" "$KRESCUE" stage --bogus
expect_exit 100 "must fail: --root without a value" "$KRESCUE" stage --root
expect_exit 100 "must fail: extra argument" "$KRESCUE" stage --root "$N" extra
expect_exit 111 "must fail: missing root" "$KRESCUE" stage --root "$TMP/none"

finish
