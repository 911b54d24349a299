#!/bin/sh
# tests/e2e/nextboot.sh: the node's next boot after a rescue run.
#
# A minimal Debian bookworm root (mmdebstrap --variant=minbase plus
# systemd-sysv) gets a stand-in kubelet.service that records what it sees
# and powers the machine off, and the kubeadm 1.28.4 tree with everything
# expired.  Then:
#   a. the rescue image renews it (krescue.action=renew) -> KRESCUE-RESULT ok;
#   b. the disk boots as a node (Debian's kernel, a tiny initramfs that loads
#      virtio/ext4 and switch_roots to /sbin/init): krescue-finish.service
#      runs once, before kubelet.service, and removes its flag;
#   c. it boots again: krescue-finish.service does not run a second time.
# The disks are read back with debugfs after each power-off.
#
# The root is built once and cached as build/nextboot/root-HASH.tar, HASH
# over the package list, the mmdebstrap options and the apt sources used.
# mmdebstrap uses the machine's own apt sources (/etc/apt/sources.list.d/
# *.sources, else /etc/apt/sources.list), never a mirror of its own.
# Every qemu run has a hard timeout (NEXTBOOT_TIMEOUT, default 180 s).
. "$(dirname "$0")/../lib.sh"
require_krescue

NEXTBOOT_TIMEOUT=${NEXTBOOT_TIMEOUT:-180}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-150}
CACHE=$REPO/build/nextboot
SUITE=bookworm
PACKAGES="systemd-sysv"
# docs, man pages and translations are of no use to this test
MMOPTS="--variant=minbase --dpkgopt=path-exclude=/usr/share/doc/*
--dpkgopt=path-exclude=/usr/share/man/*
--dpkgopt=path-exclude=/usr/share/info/*
--dpkgopt=path-exclude=/usr/share/locale/*
--dpkgopt=path-include=/usr/share/locale/locale.alias"

if [ "$(id -u)" != 0 ]; then
	skip nextboot "needs root (mmdebstrap, and mkfs.ext4 -d keeping root's owners)"
	finish
fi
require_qemu nextboot
for tool in mmdebstrap mkfs.ext4 debugfs cpio; do
	command -v $tool >/dev/null 2>&1 ||
	    sh scripts/install-pkgs.sh mmdebstrap e2fsprogs cpio >/dev/null 2>&1
done
if ! command -v mmdebstrap >/dev/null 2>&1; then
	skip nextboot "mmdebstrap cannot be installed"
	finish
fi
require_image

# --- the root file system ----------------------------------------------------

# apt_mirrors: one "deb [signed-by=KEY] URI SUITE COMPONENTS" line per suite
# of the machine's apt sources that belongs to $SUITE (SUITE, SUITE-updates,
# SUITE-security), deb822 first, then the one-line format.
apt_mirrors() {
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk -v want="$SUITE" '
			BEGIN { RS = ""; FS = "\n" }
			{
				types = ""; uris = ""; suites = ""; comps = ""; key = ""
				enabled = "yes"
				for (i = 1; i <= NF; i++) {
					line = $i
					if (line ~ /^#/) continue
					val = line; sub(/^[^:]*:[ \t]*/, "", val)
					if (line ~ /^Types:/) types = val
					else if (line ~ /^URIs:/) uris = val
					else if (line ~ /^Suites:/) suites = val
					else if (line ~ /^Components:/) comps = val
					else if (line ~ /^Signed-By:/) key = val
					else if (line ~ /^Enabled:/) enabled = val
				}
				if (enabled == "no" || types !~ /(^| )deb( |$)/) next
				opt = (key ~ /^\//) ? "[signed-by=" key "] " : ""
				nu = split(uris, u, /[ \t]+/)
				ns = split(suites, s, /[ \t]+/)
				for (j = 1; j <= ns; j++) {
					if (s[j] != want && index(s[j], want "-") != 1)
						continue
					for (k = 1; k <= nu; k++)
						print "deb " opt u[k] " " s[j] " " comps
				}
			}' "$f"
	done
	[ -f /etc/apt/sources.list ] &&
	    awk -v want="$SUITE" '$1 == "deb" {
		i = ($2 ~ /^\[/) ? 4 : 3
		if ($i == want || index($i, want "-") == 1) print }' \
		/etc/apt/sources.list
	return 0
}

MIRRORS=$(apt_mirrors | awk '!seen[$0]++')
if [ -z "$MIRRORS" ]; then
	skip nextboot "no $SUITE entry in the machine's apt sources for mmdebstrap"
	finish
fi
KEY=$(printf '%s\n%s\n%s\n%s\n' "$SUITE" "$PACKAGES" "$MMOPTS" "$MIRRORS" |
    sha256sum | cut -c 1-16)
ROOTTAR=$CACHE/root-$KEY.tar
mkdir -p "$CACHE"
if [ ! -s "$ROOTTAR" ]; then
	echo "# building the $SUITE root with mmdebstrap (cached as $ROOTTAR)"
	mm_start=$(date +%s)
	set --
	while IFS= read -r m; do
		[ -n "$m" ] && set -- "$@" "$m"
	done <<EOF
$MIRRORS
EOF
	rm -rf "$CACHE/part.tar"
	# MMOPTS and PACKAGES split into words, their globs kept as they are
	set -f
	# shellcheck disable=SC2086
	mmdebstrap --quiet --format=tar $MMOPTS \
	    --include="$(echo $PACKAGES | tr ' ' ,)" \
	    "$SUITE" "$CACHE/part.tar" "$@" >"$TMP/mmdebstrap.log" 2>&1
	mm_rc=$?
	set +f
	if [ "$mm_rc" = 0 ]; then
		mv -f "$CACHE/part.tar" "$ROOTTAR"
		echo "# mmdebstrap: $(($(date +%s) - mm_start))s, $(du -m "$ROOTTAR" | cut -f 1) MB"
	else
		rm -rf "$CACHE/part.tar"
		cp "$TMP/mmdebstrap.log" "$CACHE/mmdebstrap.log"
		if grep -qiE 'could not resolve|failed to fetch|temporary failure|unable to connect|connection (refused|timed out)|network is unreachable' \
		    "$TMP/mmdebstrap.log"; then
			skip nextboot "mmdebstrap cannot reach the apt archive: $(grep -iE -m 1 'resolve|fetch|connect|unreachable' "$TMP/mmdebstrap.log" | cut -c 1-200)"
			finish
		fi
		fail "mmdebstrap" "$(tail -n 1 "$TMP/mmdebstrap.log" | cut -c 1-200) (log: $CACHE/mmdebstrap.log)"
		finish
	fi
	# old roots of other package lists
	find "$CACHE" -maxdepth 1 -name 'root-*.tar' ! -name "root-$KEY.tar" \
	    -exec rm -f {} +
fi

R=$TMP/root
mkdir -p "$R"
if ! tar -C "$R" --numeric-owner -xpf "$ROOTTAR" 2>"$TMP/tar.err"; then
	fail "unpack the root" "$(head -n 1 "$TMP/tar.err")"
	finish
fi

# The stand-in kubelet records what it sees when it starts: whether the
# finish unit already ran and removed its flag, one line per boot in
# /var/log/kubelet-standin.log.  A second unit, ordered after it and after
# krescue-health.service (which the staging orders after the kubelet),
# records the health unit's state and powers the machine off.
cat >"$R/usr/local/sbin/kubelet-standin" <<'EOF'
#!/bin/sh
# a stand-in for the kubelet: what does it see when it starts?
state=/var/lib/krescue
log=/var/log/kubelet-standin.log
if [ -e "$state/finish-pending" ]; then flag=yes; else flag=no; fi
result=$(cat "$state/finish-result" 2>/dev/null || echo none)
u=krescue-finish.service
unit="ActiveState=$(systemctl show -P ActiveState $u) Result=$(systemctl show -P Result $u) ConditionResult=$(systemctl show -P ConditionResult $u) ExecMainStatus=$(systemctl show -P ExecMainStatus $u)"
after=$(systemctl show -p After kubelet.service | tr ' ' '\n' |
    grep -c '^krescue-finish.service$\|=krescue-finish.service$')
echo "kubelet started; finish-pending present: $flag; finish-result: $result; krescue-finish: $unit; kubelet after krescue-finish: $after; uptime: $(cut -d ' ' -f 1 /proc/uptime)" >>"$log"
sync
echo "kubelet-standin: recorded"
EOF
cat >"$R/usr/local/sbin/kubelet-standin-off" <<'EOF'
#!/bin/sh
# after the stand-in kubelet and the health unit: record, power off
state=/var/lib/krescue
u=krescue-health.service
if [ -e "$state/health-pending" ]; then flag=yes; else flag=no; fi
echo "poweroff; health-pending present: $flag; krescue-health: ActiveState=$(systemctl show -P ActiveState $u) ConditionResult=$(systemctl show -P ConditionResult $u); uptime: $(cut -d ' ' -f 1 /proc/uptime)" >>/var/log/kubelet-standin.log
sync
echo "kubelet-standin: powering off"
exec systemctl --no-block poweroff
EOF
chmod 0755 "$R/usr/local/sbin/kubelet-standin" \
    "$R/usr/local/sbin/kubelet-standin-off"
cat >"$R/etc/systemd/system/kubelet.service" <<'EOF'
[Unit]
Description=kubelet stand-in for krescue's next-boot test
After=local-fs.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/kubelet-standin
StandardOutput=journal+console

[Install]
WantedBy=multi-user.target
EOF
cat >"$R/etc/systemd/system/kubelet-standin-off.service" <<'EOF'
[Unit]
Description=power off after the kubelet stand-in
After=kubelet.service krescue-health.service

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/kubelet-standin-off
StandardOutput=journal+console

[Install]
WantedBy=multi-user.target
EOF
mkdir -p "$R/etc/systemd/system/multi-user.target.wants"
for u in kubelet.service kubelet-standin-off.service; do
	ln -sf "/etc/systemd/system/$u" \
	    "$R/etc/systemd/system/multi-user.target.wants/$u"
done
# no logins on the console: nothing waits for a human
for u in serial-getty@.service getty@.service getty-static.service; do
	ln -sf /dev/null "$R/etc/systemd/system/$u"
done
echo k8snode >"$R/etc/hostname"

K=$TMP/kubeadm
mktree kubeadm "$K" --version 1.28.4 --expired --kubelet-finalize
cp -a "$K/." "$R/"

DISK=$TMP/node.img
truncate -s 1G "$DISK"
if ! mkfs.ext4 -q -L k8snode -d "$R" "$DISK" 2>"$TMP/mkfs.err"; then
	fail "mkfs.ext4 -d" "$(head -n 1 "$TMP/mkfs.err")"
	finish
fi
rm -rf "$R"

# --- the node's own initramfs ------------------------------------------------
# The rescue image's initrd already holds BusyBox and the module closure
# (virtio, ext4, ...); a second archive appended to it adds /nextboot-init,
# run instead of /init by rdinit=: load the modules, mount /dev/vda
# read-write, switch_root to the node's systemd.
NI=$TMP/initrd-overlay
mkdir -p "$NI"
cat >"$NI/nextboot-init" <<'EOF'
#!/bin/sh
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in crc32c_intel crc32c_generic virtio_pci virtio_blk ext4; do
	modprobe -q "$m" 2>/dev/null
done
i=0
while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do
	sleep 0.2
	i=$((i + 1))
done
mkdir -p /newroot
if ! mount -t ext4 -o rw /dev/vda /newroot; then
	echo "nextboot-init: cannot mount /dev/vda"
	poweroff -f
fi
for d in dev proc sys; do
	mount --move /$d /newroot/$d
done
echo "nextboot-init: switch_root to /dev/vda"
exec switch_root /newroot /sbin/init
EOF
chmod 0755 "$NI/nextboot-init"
if ! (cd "$NI" && echo nextboot-init | cpio -o -H newc -R 0:0 --quiet) |
    gzip -n >"$TMP/overlay.cpio.gz"; then
	fail "node initramfs" "cpio failed"
	finish
fi
cat build/krescue.initrd "$TMP/overlay.cpio.gz" >"$TMP/node.initrd"

# boot NAME PARAMS [run-qemu options]: serial log in $TMP/NAME.txt, qemu's
# exit status in $BRC, the wall time in $SECS
boot() {
	b_name=$1 b_params=$2
	shift 2
	b_start=$(date +%s)
	sh scripts/image/run-qemu.sh -a "$b_params" -d "$DISK" "$@" \
	    </dev/null >"$TMP/$b_name.log" 2>&1
	BRC=$?
	SECS=$(($(date +%s) - b_start))
	tr -d '\r' <"$TMP/$b_name.log" >"$TMP/$b_name.txt"
	echo "# $b_name: qemu exit $BRC after ${SECS}s"
}

# readback DIR: the disk's state files into DIR (no mount, no loop device)
readback() {
	rm -rf "$1"
	mkdir -p "$1"
	for d in /var/lib/krescue /var/log /etc/systemd/system; do
		mkdir -p "$1$(dirname $d)"
		debugfs -R "rdump $d $1$(dirname $d)" "$DISK" >/dev/null 2>&1
	done
}

# a node boot as systemd would do it on the real machine
NODE_PARAMS="quiet rdinit=/nextboot-init systemd.show_status=1 systemd.log_color=0"
node_boot() {
	boot "$1" "$NODE_PARAMS" -t "$NEXTBOOT_TIMEOUT" -i "$TMP/node.initrd"
	if [ "$BRC" = 124 ]; then
		fail "$1: powers off" "timed out after ${NEXTBOOT_TIMEOUT}s: $(tail -n 3 "$TMP/$1.txt" | tr '\n' ' ' | cut -c 1-300)"
	elif grep -q 'kubelet-standin: recorded' "$TMP/$1.txt" &&
	    grep -q 'kubelet-standin: powering off' "$TMP/$1.txt"; then
		pass "$1: systemd started the stand-in kubelet, which powered off (${SECS}s)"
	else
		fail "$1: stand-in kubelet" "not started: $(tail -n 3 "$TMP/$1.txt" | tr '\n' ' ' | cut -c 1-300)"
	fi
}

# --- a. the rescue run --------------------------------------------------------
boot rescue "quiet krescue.root=LABEL=k8snode krescue.action=renew krescue.settle=5" \
    -t "$BOOT_TIMEOUT"
RESULT=$(grep '^KRESCUE-RESULT: ' "$TMP/rescue.txt")
case $RESULT in
"KRESCUE-RESULT: ok "*) pass "rescue boot: $RESULT (${SECS}s)" ;;
*)
	fail "rescue boot" "${RESULT:-no result line}: $(tail -n 3 "$TMP/rescue.txt" | tr '\n' ' ' | cut -c 1-300)"
	finish
	;;
esac
O=$TMP/after-rescue
readback "$O"
if [ -f "$O/var/lib/krescue/finish-pending" ] &&
    [ -f "$O/etc/systemd/system/krescue-finish.service" ]; then
	pass "after the rescue: krescue-finish.service staged, flag set"
else
	fail "after the rescue: staged" "$(ls "$O/var/lib/krescue" 2>&1 | tr '\n' ' ')"
	finish
fi

# --- b. the first node boot ---------------------------------------------------
node_boot boot1
O=$TMP/after-boot1
readback "$O"
S=$O/var/lib/krescue
REC=$O/var/log/kubelet-standin.log
echo "# boot1: finish.log: $(tr '\n' '|' <"$S/finish.log" 2>/dev/null)"
echo "# boot1: stand-in: $(tr '\n' '|' <"$REC" 2>/dev/null)"
case $(cat "$S/finish-result" 2>/dev/null) in
"ok "*) pass "boot1: finish-result: $(cat "$S/finish-result")" ;;
*) fail "boot1: finish-result" "'$(cat "$S/finish-result" 2>/dev/null)' (finish.log: $(tr '\n' '|' <"$S/finish.log" 2>/dev/null))" ;;
esac
[ ! -e "$S/finish-pending" ] && [ -f "$S/finish.log" ] &&
    pass "boot1: the flag finish-pending is gone" ||
    fail "boot1: the flag" "finish-pending still there or no finish.log"
n=$(grep -c ' start (' "$S/finish.log" 2>/dev/null)
[ "$n" = 1 ] && pass "boot1: krescue-finish ran once (one start line in finish.log)" ||
    fail "boot1: krescue-finish ran once" "$n start lines in finish.log"
if [ "$(grep -c '^kubelet started' "$REC" 2>/dev/null)" = 1 ]; then
	line=$(grep '^kubelet started' "$REC")
	off=$(grep '^poweroff;' "$REC")
	case $line in
	*"finish-pending present: no; finish-result: ok "*)
		pass "boot1: when the kubelet started, the flag was gone and finish-result said ok" ;;
	*) fail "boot1: finish before kubelet" "$line" ;;
	esac
	case $line in
	*"krescue-finish: ActiveState=inactive Result=success ConditionResult=yes ExecMainStatus=0; kubelet after krescue-finish: 1;"*)
		pass "boot1: krescue-finish.service had finished (success) and kubelet.service is ordered after it" ;;
	*) fail "boot1: krescue-finish.service before kubelet.service" "$line" ;;
	esac
	case $off in
	*"health-pending present: no; krescue-health: ActiveState=active ConditionResult=yes;"*)
		pass "boot1: krescue-health.service started after the kubelet and removed its flag" ;;
	*) fail "boot1: krescue-health.service" "${off:-no poweroff record}" ;;
	esac
else
	fail "boot1: stand-in kubelet record" "$(cat "$REC" 2>/dev/null || echo none)"
fi
# the console agrees: finished before the kubelet was started
f=$(grep -n 'Finished krescue-finish.service' "$TMP/boot1.txt" | head -n 1 | cut -d : -f 1)
k=$(grep -n 'Starting kubelet.service' "$TMP/boot1.txt" | head -n 1 | cut -d : -f 1)
if [ -n "$f" ] && [ -n "$k" ] && [ "$f" -lt "$k" ]; then
	pass "boot1: console: 'Finished krescue-finish.service' (line $f) before 'Starting kubelet.service' (line $k)"
else
	fail "boot1: console order" "Finished krescue-finish at line ${f:-none}, Starting kubelet at line ${k:-none}"
fi
cp "$S/finish-result" "$TMP/result1" 2>/dev/null

# --- c. the boot after: the unit does not run again ---------------------------
node_boot boot2
O=$TMP/after-boot2
readback "$O"
S=$O/var/lib/krescue
REC=$O/var/log/kubelet-standin.log
echo "# boot2: stand-in: $(tail -n 2 "$REC" 2>/dev/null | tr '\n' '|')"
n=$(grep -c ' start (' "$S/finish.log" 2>/dev/null)
[ "$n" = 1 ] && pass "boot2: krescue-finish did not run again (still one start line)" ||
    fail "boot2: krescue-finish did not run again" "$n start lines in finish.log"
if grep -q 'Starting krescue-finish.service' "$TMP/boot2.txt"; then
	fail "boot2: console" "krescue-finish.service was started"
else
	pass "boot2: console: krescue-finish.service not started"
fi
cmp -s "$S/finish-result" "$TMP/result1" &&
    pass "boot2: finish-result unchanged" ||
    fail "boot2: finish-result" "changed: $(cat "$S/finish-result" 2>/dev/null)"
if [ "$(grep -c '^kubelet started' "$REC" 2>/dev/null)" = 2 ]; then
	line=$(grep '^kubelet started' "$REC" | tail -n 1)
	off=$(grep '^poweroff;' "$REC" | tail -n 1)
	case $line in
	*"krescue-finish: ActiveState=inactive "*" ConditionResult=no "*)
		pass "boot2: the kubelet started again; krescue-finish's condition failed (flag absent)" ;;
	*) fail "boot2: krescue-finish skipped" "$line" ;;
	esac
	case $off in
	*"krescue-health: "*" ConditionResult=no;"*)
		pass "boot2: krescue-health.service did not run again either" ;;
	*) fail "boot2: krescue-health skipped" "${off:-no poweroff record}" ;;
	esac
else
	fail "boot2: stand-in kubelet record" "$(cat "$REC" 2>/dev/null || echo none)"
fi

finish
