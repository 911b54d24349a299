#!/bin/sh
# tests/cli/packaging.sh: the textfile export units (systemd-analyze
# verify, and their ExecStart run for real against fixture trees), the
# Prometheus alert rules (promtool check rules and a promtool unit test fed
# with krescue's real label sets; the metric names against what
# `krescue check -o prometheus` emits), `make deb` (contents, dpkg -i into a
# throw-away root, krescue version from there, dpkg -r/-P leave nothing)
# and `make dist` (SHA256SUMS verify, reproducible).
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_krescue

SVC=packaging/krescue-textfile.service
TIMER=packaging/krescue-textfile.timer
RULES=packaging/krescue-alerts.yml
VERSION=$(cat VERSION)

FRESH=$TMP/fresh
EXPIRED=$TMP/expired
mktree kubeadm "$FRESH" --version 1.28.4
mktree kubeadm "$EXPIRED" --version 1.28.4 --expired
mkdir -p "$TMP/empty"

# --- systemd units ---------------------------------------------------------

if ! command -v systemd-analyze >/dev/null 2>&1; then
	sh scripts/install-pkgs.sh systemd >/dev/null 2>&1
fi
if ! command -v systemd-analyze >/dev/null 2>&1; then
	skip systemd-analyze "systemd-analyze is absent and the systemd package could not be installed"
else
	# ExecStart runs krescue through /bin/sh, so verify needs no installed
	# binary.  Its exit status ignores "ignoring" warnings: any output fails.
	if systemd-analyze verify --man=no "$SVC" "$TIMER" >"$TMP/verify" 2>&1 &&
	    [ ! -s "$TMP/verify" ]; then
		pass verify
	else
		fail verify "$(head -n 3 "$TMP/verify" | tr '\n' ' ')"
	fi
	# Documentation=man:krescue(8) resolves to our page
	mkdir -p "$TMP/man/man8"
	cp docs/krescue.8 "$TMP/man/man8/"
	if MANPATH=$TMP/man systemd-analyze verify "$SVC" "$TIMER" \
	    >"$TMP/verify" 2>&1 && [ ! -s "$TMP/verify" ]; then
		pass verify-documentation
	else
		fail verify-documentation "$(head -n 3 "$TMP/verify" | tr '\n' ' ')"
	fi
	# the same check on a broken copy must complain
	mkdir -p "$TMP/badunits"
	cp "$SVC" "$TMP/badunits/"
	sed 's/^OnCalendar=.*/OnCalendar=every tuesday-ish/' "$TIMER" \
	    >"$TMP/badunits/krescue-textfile.timer"
	if systemd-analyze verify --man=no "$TMP/badunits/krescue-textfile.service" \
	    "$TMP/badunits/krescue-textfile.timer" >"$TMP/verify" 2>&1 &&
	    [ ! -s "$TMP/verify" ]; then
		fail verify-negative "a timer with a bad OnCalendar= passed"
	else
		pass verify-negative
	fi
fi

# unit settings the monitoring depends on
key() { sed -n "s/^$2=//p" "$1"; }
ok23=
for code in $(key "$SVC" SuccessExitStatus); do
	case $code in 2 | 3) ok23="$ok23$code" ;; esac
done
case $ok23 in
23 | 32) pass success-exit-status ;;
*) fail success-exit-status "SuccessExitStatus= must accept 2 and 3" ;;
esac
if [ "$(key "$SVC" Type)" = oneshot ]; then
	pass oneshot
else
	fail oneshot "Type= is not oneshot"
fi
if [ "$(key "$TIMER" Persistent)" = true ] &&
    [ -n "$(key "$TIMER" RandomizedDelaySec)" ] &&
    [ "$(key "$TIMER" OnCalendar)" = hourly ]; then
	pass timer-settings
else
	fail timer-settings "want OnCalendar=hourly, Persistent=true, RandomizedDelaySec="
fi

# ExecStart for real: systemd's $$ is the shell's $; krescue is found on
# PATH; a wrapper points it at a fixture tree.
exec_start=$(key "$SVC" ExecStart | sed 's/\$\$/$/g')
mkdir -p "$TMP/bin" "$TMP/textfile"
cat >"$TMP/bin/krescue" <<WRAP
#!/bin/sh
exec "$KRESCUE" "\$@" --root "\$KRESCUE_TEST_ROOT"
WRAP
chmod 0755 "$TMP/bin/krescue"
unit_run() {
	(
		cd "$TMP" || exit 111
		PATH=$TMP/bin:$PATH
		TEXTFILE_DIR=$TMP/textfile
		KRESCUE_TEST_ROOT=$1
		export PATH TEXTFILE_DIR KRESCUE_TEST_ROOT
		eval "$exec_start"
	) >"$TMP/unit.out" 2>&1
}
PROM=$TMP/textfile/krescue.prom
leftovers() { find "$TMP/textfile" -type f ! -name krescue.prom | wc -l; }

unit_run "$FRESH"
rc=$?
if [ "$rc" -eq 0 ] && [ -s "$PROM" ] && [ "$(leftovers)" -eq 0 ] &&
    grep -q '^krescue_certificate_valid{name="apiserver"' "$PROM"; then
	pass unit-writes-textfile
else
	fail unit-writes-textfile "exit $rc, $(leftovers) temp files, $(head -n 1 "$TMP/unit.out")"
fi
cp "$PROM" "$TMP/fresh.prom"

unit_run "$EXPIRED"
rc=$?
if [ "$rc" -eq 3 ] && [ "$(leftovers)" -eq 0 ] &&
    grep -q '^krescue_certificate_valid{name="apiserver".*} 0$' "$PROM"; then
	pass unit-expired-exit-3-writes
else
	fail unit-expired-exit-3-writes "exit $rc (want 3), $(leftovers) temp files"
fi
cp "$PROM" "$TMP/expired.prom"

unit_run "$TMP/empty"
rc=$?
if [ "$rc" -eq 1 ] && [ "$(leftovers)" -eq 0 ] &&
    cmp -s "$PROM" "$TMP/expired.prom"; then
	pass unit-failure-keeps-old-file
else
	fail unit-failure-keeps-old-file "exit $rc (want 1), $(leftovers) temp files, file changed or gone"
fi

# a real parser reads the exported file
if $PYTHON - "$TMP/fresh.prom" >"$TMP/parse" 2>&1 <<'PY'
import sys
from prometheus_client.parser import text_string_to_metric_families
fams = {f.name: f for f in text_string_to_metric_families(open(sys.argv[1]).read())}
want = {"krescue_certificate_expiry_timestamp_seconds",
        "krescue_certificate_not_before_timestamp_seconds",
        "krescue_certificate_valid", "krescue_check_timestamp_seconds"}
assert set(fams) == want, sorted(fams)
names = {s.labels["name"] for s in fams["krescue_certificate_valid"].samples}
assert {"apiserver", "ca", "admin.conf", "kubelet.conf"} <= names, names
assert all(s.value == 1 for s in fams["krescue_certificate_valid"].samples)
assert len(fams["krescue_check_timestamp_seconds"].samples) == 1
PY
then
	pass textfile-parses
else
	fail textfile-parses "$(tail -n 1 "$TMP/parse")"
fi

# --- alert rules -------------------------------------------------------------

# metric names in the rules: every one is emitted, the three that matter
# are used.  Checked on the real file and, as a control, on a misspelt copy.
rule_metrics() {
	$PYTHON - "$1" "$TMP/fresh.prom" <<'PY'
import re, sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
emitted = set(re.findall(r"^(krescue_[a-z_]+)[{ ]", open(sys.argv[2]).read(), re.M))
rules = [r for g in doc["groups"] for r in g["rules"]]
assert len(rules) >= 4, "fewer than 4 rules"
used = set()
for r in rules:
    assert r.get("alert") and r.get("expr"), r
    used |= set(re.findall(r"\bkrescue_[a-z_]+", r["expr"]))
unknown = used - emitted
assert not unknown, "not emitted by krescue: %s" % sorted(unknown)
need = {"krescue_certificate_expiry_timestamp_seconds",
        "krescue_certificate_valid", "krescue_check_timestamp_seconds"}
assert need <= used, "unused: %s" % sorted(need - used)
PY
}
if rule_metrics "$RULES" >"$TMP/rules.out" 2>&1; then
	pass rules-metric-names
else
	fail rules-metric-names "$(tail -n 1 "$TMP/rules.out")"
fi
sed 's/krescue_certificate_valid/krescue_certificate_is_valid/' "$RULES" \
    >"$TMP/bad-rules.yml"
if rule_metrics "$TMP/bad-rules.yml" >/dev/null 2>&1; then
	fail rules-metric-names-negative "a misspelt metric name passed"
else
	pass rules-metric-names-negative
fi

command -v promtool >/dev/null 2>&1 ||
	sh scripts/install-pkgs.sh prometheus >/dev/null 2>&1
if ! command -v promtool >/dev/null 2>&1; then
	skip promtool "Debian's prometheus package (promtool) is not installable here; the YAML checks above still ran"
else
	if promtool check rules "$RULES" >"$TMP/promtool" 2>&1 &&
	    grep -q 'SUCCESS: 4 rules found' "$TMP/promtool"; then
		pass promtool-check-rules
	else
		fail promtool-check-rules "$(tr '\n' ' ' <"$TMP/promtool" | cut -c 1-200)"
	fi
	# promtool's rule unit test, with the label sets krescue really emits:
	# at 2h, apiserver expires in 10 days, etcd-peer expired at 1h,
	# admin.conf is valid in time but broken (valid 0); the check
	# timestamp stays at 0, so it is stale from 3h (+15m for:).
	# Annotations are prose: compared without them.
	$PYTHON -c 'import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
for g in doc["groups"]:
    for r in g["rules"]:
        r.pop("annotations", None)
yaml.safe_dump(doc, open(sys.argv[2], "w"))' "$RULES" "$TMP/rules-bare.yml"
	if ! $PYTHON - "$TMP/fresh.prom" "$TMP/rules-bare.yml" \
	    >"$TMP/ruletest.yml" 2>"$TMP/ruletest.err" <<'PY'
import re, sys
labels = {}
for line in open(sys.argv[1]):
    m = re.match(r'krescue_certificate_valid(\{.*\}) ', line)
    if m:
        labels[re.search(r'name="([^"]*)"', m.group(1)).group(1)] = m.group(1)[1:-1]
def series(metric, name, values):
    return "      - series: '%s{%s,instance=\"cp-1\"}'\n        values: '%s'\n" % (
        metric, labels[name], values)
exp = "krescue_certificate_expiry_timestamp_seconds"
val = "krescue_certificate_valid"
def alert(name):
    l = dict(re.findall(r'(\w+)="([^"]*)"', labels[name]))
    return "          - exp_labels: {%s, instance: cp-1, severity: %s}\n" % (
        ", ".join('%s: "%s"' % kv for kv in l.items()), "%s")
print("rule_files: ['%s']" % sys.argv[2])
print("evaluation_interval: 1m")
print("tests:\n  - interval: 1m\n    input_series:")
sys.stdout.write(series(exp, "apiserver", "%dx300" % (2 * 3600 + 10 * 86400)))
sys.stdout.write(series(val, "apiserver", "1x300"))
sys.stdout.write(series(exp, "etcd-peer", "3600x300"))
sys.stdout.write(series(val, "etcd-peer", "1x60 0x240"))
sys.stdout.write(series(exp, "admin.conf", "%dx300" % (400 * 86400)))
sys.stdout.write(series(val, "admin.conf", "0x300"))
print("      - series: 'krescue_check_timestamp_seconds{instance=\"cp-1\"}'\n        values: '0x300'")
print("    alert_rule_test:")
def case(t, name, who, sev):
    print("      - eval_time: %s\n        alertname: %s\n        exp_alerts:" % (t, name))
    if not who:
        print("          []")
    for w in who:
        print(alert(w) % sev, end="")
case("2h", "KrescueCertificateExpiringSoon", ["apiserver"], "warning")
case("2h", "KrescueCertificateExpired", ["etcd-peer"], "critical")
case("2h", "KrescueCertificateInvalid", ["admin.conf"], "critical")
case("2h", "KrescueCheckNotRunning", [], "")
print("      - eval_time: 4h\n        alertname: KrescueCheckNotRunning\n        exp_alerts:\n          - exp_labels: {instance: cp-1, severity: warning}")
PY
	then
		fail promtool-test-rules "could not write the test: $(tail -n 1 "$TMP/ruletest.err")"
	elif promtool test rules "$TMP/ruletest.yml" >"$TMP/promtool" 2>&1; then
		pass promtool-test-rules
	else
		fail promtool-test-rules "$(grep -v '^ *$' "$TMP/promtool" | head -n 4 | tr '\n' ' ' | cut -c 1-300)"
	fi
fi

# --- make deb ------------------------------------------------------------------

ARCH=$(dpkg --print-architecture)
DEB=$TMP/deb/krescue_${VERSION}_$ARCH.deb
if ! OUT=$TMP/deb make -s deb >"$TMP/make.out" 2>&1 || [ ! -f "$DEB" ]; then
	fail make-deb "$(tail -n 2 "$TMP/make.out" | tr '\n' ' ')"
	finish
fi
pass make-deb

f() { dpkg-deb -f "$DEB" "$1"; }
if [ "$(f Package)" = krescue ] && [ "$(f Version)" = "$VERSION" ] &&
    [ "$(f Architecture)" = "$ARCH" ] && [ "$(f Section)" = admin ] &&
    [ "$(f Description | wc -l)" -ge 5 ] && [ -n "$(f Installed-Size)" ]; then
	pass deb-control
else
	fail deb-control "Package/Version/Architecture/Section/Description wrong: $(f Package) $(f Version) $(f Architecture)"
fi

dpkg-deb -c "$DEB" >"$TMP/deb.list"
if awk '$2 != "root/root" { bad = 1 } END { exit bad }' "$TMP/deb.list"; then
	pass deb-owners-root
else
	fail deb-owners-root "entries not owned by root/root"
fi
for want in '-rwxr-xr-x ./usr/sbin/krescue' \
    '-rw-r--r-- ./usr/share/man/man8/krescue.8.gz' \
    '-rw-r--r-- ./usr/lib/systemd/system/krescue-textfile.service' \
    '-rw-r--r-- ./usr/lib/systemd/system/krescue-textfile.timer' \
    '-rw-r--r-- ./usr/share/doc/krescue/copyright' \
    '-rw-r--r-- ./usr/share/doc/krescue/examples/krescue-alerts.yml'; do
	mode=${want%% *} path=${want#* }
	if awk -v m="$mode" -v p="$path" '$1 == m && $6 == p { ok = 1 }
	    END { exit !ok }' "$TMP/deb.list"; then
		pass "deb has $path"
	else
		fail "deb has $path" "missing or not mode $mode"
	fi
done

X=$TMP/x
dpkg-deb -x "$DEB" "$X" && dpkg-deb -e "$DEB" "$X/DEBIAN"
if cmp -s "$X/usr/sbin/krescue" "$KRESCUE" &&
    zcat "$X/usr/share/man/man8/krescue.8.gz" | cmp -s - docs/krescue.8 &&
    cmp -s "$X/usr/lib/systemd/system/krescue-textfile.service" "$SVC" &&
    cmp -s "$X/usr/lib/systemd/system/krescue-textfile.timer" "$TIMER"; then
	pass deb-contents-match
else
	fail deb-contents-match "binary, man page or units differ from the tree"
fi
# gzip -n: no name, mtime 0 in the header (bytes 4-7)
if [ "$(od -An -tx1 -j3 -N5 "$X/usr/share/man/man8/krescue.8.gz" | tr -d ' ')" = 0000000000 ]; then
	pass man-gzip-n
else
	fail man-gzip-n "krescue.8.gz has a name or a time stamp in its header"
fi
if (cd "$X" && md5sum --quiet -c DEBIAN/md5sums) >"$TMP/md5" 2>&1; then
	pass deb-md5sums
else
	fail deb-md5sums "$(head -n 1 "$TMP/md5")"
fi
if OUT=$TMP/deb2 sh scripts/mkdeb.sh >/dev/null 2>&1 &&
    cmp -s "$DEB" "$TMP/deb2/krescue_${VERSION}_$ARCH.deb"; then
	pass deb-reproducible
else
	fail deb-reproducible "two builds of the same tree differ"
fi

# dpkg -i into a throw-away root with its own admin dir; maintainer
# scripts run on the host with DPKG_ROOT set and must stay inside it.
R=$TMP/root
mkdir -p "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates" \
    "$R/var/lib/dpkg/triggers" "$R/var/lib/prometheus/node-exporter" \
    "$R/var/lib/krescue/backup/20261129T151008Z"
: >"$R/var/lib/dpkg/status"
echo stale >"$R/var/lib/prometheus/node-exporter/krescue.prom"
echo keep >"$R/var/lib/krescue/backup/20261129T151008Z/manifest"
DPKG="dpkg --root=$R --log=/dev/null --force-script-chrootless"
[ "$(id -u)" -eq 0 ] || DPKG="$DPKG --force-not-root"
if $DPKG -i "$DEB" >"$TMP/dpkg.out" 2>&1 &&
    dpkg-query --admindir="$R/var/lib/dpkg" -W -f='${Status}' krescue |
    grep -q 'install ok installed'; then
	pass dpkg-i
else
	fail dpkg-i "$(tail -n 2 "$TMP/dpkg.out" | tr '\n' ' ')"
fi
if "$R/usr/sbin/krescue" version 2>&1 | head -n 1 |
    grep -qx "krescue $VERSION"; then
	pass installed-krescue-version
else
	fail installed-krescue-version "$R/usr/sbin/krescue version does not say krescue $VERSION"
fi
if $DPKG -r krescue >"$TMP/dpkg.out" 2>&1 &&
    [ ! -e "$R/usr/sbin/krescue" ] && [ ! -e "$R/usr/share/man/man8/krescue.8.gz" ] &&
    [ ! -e "$R/usr/lib/systemd/system/krescue-textfile.timer" ] &&
    [ ! -e "$R/var/lib/prometheus/node-exporter/krescue.prom" ]; then
	pass dpkg-r
else
	fail dpkg-r "$(tail -n 2 "$TMP/dpkg.out" | tr '\n' ' ')"
fi
$DPKG -P krescue >"$TMP/dpkg.out" 2>&1
left=$(find "$R" -mindepth 1 ! -path "$R/var*" | wc -l)
if [ "$left" -eq 0 ] &&
    [ -f "$R/var/lib/krescue/backup/20261129T151008Z/manifest" ] &&
    ! dpkg-query --admindir="$R/var/lib/dpkg" -W krescue >/dev/null 2>&1; then
	pass dpkg-purge-clean
else
	fail dpkg-purge-clean "$left paths left outside /var, or the backups went, or dpkg still knows krescue"
fi

# --- make dist -------------------------------------------------------------------

D=$TMP/dist
NAME=krescue-$VERSION
if DIST=$D make -s dist >"$TMP/make.out" 2>&1 && [ -f "$D/$NAME.tar.gz" ]; then
	pass make-dist
else
	fail make-dist "$(tail -n 2 "$TMP/make.out" | tr '\n' ' ')"
	finish
fi
mkdir -p "$TMP/unpacked"
tar -C "$TMP/unpacked" -xzf "$D/$NAME.tar.gz"
U=$TMP/unpacked/$NAME
if [ -s "$U/SHA256SUMS" ] && (cd "$U" && sha256sum --quiet -c SHA256SUMS) \
    >"$TMP/sums" 2>&1 &&
    [ "$(wc -l <"$U/SHA256SUMS")" -eq "$(find "$U" -type f ! -name SHA256SUMS | wc -l)" ]
then
	pass dist-sha256sums
else
	fail dist-sha256sums "SHA256SUMS missing, failing or incomplete: $(head -n 1 "$TMP/sums")"
fi
if (cd "$D" && sha256sum --quiet -c SHA256SUMS) >/dev/null 2>&1; then
	pass dist-outer-sha256sums
else
	fail dist-outer-sha256sums "build/dist/SHA256SUMS does not verify the tarball"
fi
missing=
for want in krescue krescue.8 krescue-textfile.service krescue-textfile.timer \
    krescue-alerts.yml; do
	grep -q "  $want\$" "$U/SHA256SUMS" || missing="$missing $want"
done
for img in vmlinuz krescue.initrd krescue.iso; do
	if [ -f "build/$img" ]; then
		cmp -s "build/$img" "$U/$img" || missing="$missing $img"
	elif [ -e "$U/$img" ]; then
		missing="$missing (unexpected $img)"
	fi
done
if [ -z "$missing" ] && "$U/krescue" version | grep -qx "krescue $VERSION"; then
	pass dist-contents
else
	fail dist-contents "missing or wrong:$missing"
fi
# the checksums are real: a changed byte is caught
printf x >>"$U/krescue.8"
if (cd "$U" && sha256sum --quiet -c SHA256SUMS) >/dev/null 2>&1; then
	fail dist-sha256sums-negative "a modified krescue.8 still verified"
else
	pass dist-sha256sums-negative
fi
if tar -tvzf "$D/$NAME.tar.gz" | awk '$2 != "0/0" { bad = 1 } END { exit bad }'
then
	pass dist-owner-0
else
	fail dist-owner-0 "entries not owned by 0/0"
fi
cp "$D/$NAME.tar.gz" "$TMP/first.tar.gz"
if DIST=$D sh scripts/mkdist.sh >/dev/null 2>&1 &&
    cmp -s "$TMP/first.tar.gz" "$D/$NAME.tar.gz"; then
	pass dist-reproducible
else
	fail dist-reproducible "two builds of the same tree differ"
fi

finish
