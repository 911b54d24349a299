#!/bin/sh
# tests/fuzz/run.sh [SECONDS]: build krescue's libFuzzer targets and run
# each one for SECONDS (default 10; `tests/fuzz/run.sh 300` for a longer
# run).  Prints one line per target:
#   PASS fuzz-<target> | FAIL fuzz-<target>: why | SKIP fuzz-<target>: why
# and exits 1 when a target failed.
#
# Installs nothing.  It needs clang and the libFuzzer runtime; on Debian:
#   sh scripts/install-pkgs.sh clang libfuzzer-14-dev
# mbedTLS and libyaml are built once, with clang and the sanitizers plus
# coverage instrumentation, from the verified tarballs in build/src into
# build/deps-fuzz.  Environment: FUZZ_CC (compiler), FUZZ_OUT (default
# build/fuzz: binaries, corpora, crash artifacts, logs), FUZZ_TARGETS.
set -u

secs=${1:-10}
case $secs in
''|*[!0-9]*)
	echo "usage: tests/fuzz/run.sh [SECONDS]" >&2
	exit 100
	;;
esac

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 111
out=${FUZZ_OUT:-build/fuzz}
deps=build/deps-fuzz
fix=${FIXTURES:-../shared/fixtures}
targets=${FUZZ_TARGETS:-kubeconfig kubeadm_config x509}
failed=0

skip_all() {
	for t in $targets; do
		echo "SKIP fuzz-$t: $1"
	done
	exit 0
}

# --- a clang with libFuzzer ------------------------------------------------
cc=${FUZZ_CC:-}
if [ -z "$cc" ]; then
	for c in clang clang-19 clang-18 clang-17 clang-16 clang-15 clang-14; do
		if command -v "$c" >/dev/null 2>&1; then
			cc=$c
			break
		fi
	done
fi
[ -n "$cc" ] || skip_all "no clang (Debian: sh scripts/install-pkgs.sh clang libfuzzer-14-dev)"

mkdir -p "$out" || exit 111
probe="$out/probe"
printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
    'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
    'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)' \
    '{ (void)d; (void)n; return 0; }' > "$probe.c"
if ! "$cc" -fsanitize=fuzzer,address,undefined "$probe.c" -o "$probe" \
    >"$probe.log" 2>&1; then
	skip_all "$cc cannot link -fsanitize=fuzzer (no libFuzzer runtime; Debian: sh scripts/install-pkgs.sh libfuzzer-14-dev)"
fi
rm -f "$probe" "$probe.c" "$probe.log"

# --- mbedTLS and libyaml, instrumented ---------------------------------------
stale=0
if [ ! -f "$deps/.stamp" ]; then
	stale=1
else
	for f in scripts/build-deps.sh toolkit/mbedtls_config.h \
	    build/src/mbedtls_3.6.6.orig.tar.bz2 \
	    build/src/libyaml_0.2.5.orig.tar.gz; do
		[ "$f" -nt "$deps/.stamp" ] && stale=1
	done
	[ "$(cat "$deps/.stamp")" = "$cc" ] || stale=1
fi
if [ "$stale" -eq 1 ]; then
	for f in build/src/mbedtls_3.6.6.orig.tar.bz2 \
	    build/src/libyaml_0.2.5.orig.tar.gz; do
		if [ ! -f "$f" ]; then
			for t in $targets; do
				echo "FAIL fuzz-$t: $f is missing (make fetches it)"
			done
			exit 1
		fi
	done
	echo "fuzz: building mbedTLS and libyaml with $cc into $deps" >&2
	if ! sh scripts/build-deps.sh "$top/$deps" "$cc" \
	    "-g -fsanitize=address,undefined -fsanitize=fuzzer-no-link" \
	    >"$out/deps.log" 2>&1; then
		for t in $targets; do
			echo "FAIL fuzz-$t: building the instrumented deps failed (see $out/deps.log)"
		done
		exit 1
	fi
	echo "$cc" > "$deps/.stamp"
fi

# --- seeds and dictionaries --------------------------------------------------
seed() {	# seed TARGET FILE...
	d="$out/seeds/$1"
	shift
	mkdir -p "$d"
	for f in "$@"; do
		[ -f "$f" ] || continue
		n=$(printf '%s' "$f" | sed 's|^\.*/*||; s|/|_|g')
		cp "$f" "$d/$n"
	done
}

rm -rf "$out/seeds"
seed kubeconfig "$fix"/*/*.conf "$fix"/*/renewed/*.conf
seed kubeadm_config "$fix"/*/kubeadm-config.yaml "$fix"/*/manifests/*.yaml
seed x509 "$fix"/*/pki/*.crt "$fix"/*/pki/*.key "$fix"/*/pki/sa.pub \
    "$fix"/*/pki/etcd/*.crt "$fix"/*/pki/etcd/*.key
# DER forms of a few certificates and keys, when openssl is there
if command -v openssl >/dev/null 2>&1; then
	for v in "$fix"/*/; do
		vn=$(basename "$v")
		for c in ca apiserver front-proxy-client; do
			[ -f "$v/pki/$c.crt" ] || continue
			openssl x509 -in "$v/pki/$c.crt" -outform DER \
			    -out "$out/seeds/x509/$vn-$c.der" 2>/dev/null
			openssl pkey -in "$v/pki/$c.key" -outform DER \
			    -out "$out/seeds/x509/$vn-$c.key.der" 2>/dev/null
		done
	done
fi
# the cert+key file the kubelet writes
for v in "$fix"/*/; do
	[ -f "$v/pki/apiserver.crt" ] &&
	    cat "$v/pki/apiserver.crt" "$v/pki/apiserver.key" \
	    > "$out/seeds/x509/$(basename "$v")-cert-and-key.pem"
done

mkdir -p "$out/dict"
printf '"%s"\n' apiVersion kind Config clusters cluster contexts context \
    users user name current-context server certificate-authority \
    certificate-authority-data client-certificate client-certificate-data \
    client-key client-key-data "---" "- " ": " "{" "}" "[" "]" \
    > "$out/dict/kubeconfig"
printf '"%s"\n' kubeadm.k8s.io/v1beta2 kubeadm.k8s.io/v1beta3 \
    kubeadm.k8s.io/v1beta4 InitConfiguration JoinConfiguration \
    ClusterConfiguration localAPIEndpoint advertiseAddress bindPort \
    nodeRegistration controlPlane controlPlaneEndpoint networking \
    serviceSubnet dnsDomain apiServer certSANs etcd external caFile \
    certFile keyFile certificatesDir clusterName kubernetesVersion \
    certificateValidityPeriod caCertificateValidityPeriod \
    encryptionAlgorithm 8760h0m0s "10.96.0.0/12" "fd00::/108" \
    "[2001:db8::1]:6443" "---" "- " ": " \
    > "$out/dict/kubeadm_config"
printf '"%s"\n' "-----BEGIN CERTIFICATE-----" "-----END CERTIFICATE-----" \
    "-----BEGIN RSA PRIVATE KEY-----" "-----END RSA PRIVATE KEY-----" \
    "-----BEGIN EC PRIVATE KEY-----" "-----BEGIN PRIVATE KEY-----" \
    "-----END PRIVATE KEY-----" "\\x30\\x82" "\\x06\\x03\\x55\\x1d\\x11" \
    > "$out/dict/x509"

# --- build and run -----------------------------------------------------------
cflags="-std=c11 -D_DEFAULT_SOURCE -g -O1 -fno-omit-frame-pointer \
-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
-DKRESCUE_VERSION=\"fuzz\" \
-DMBEDTLS_CONFIG_FILE=\"krescue_mbedtls_config.h\" -Itoolkit -I$deps/include"
libs="-L$deps/lib -lmbedtls -lmbedx509 -lmbedcrypto -lyaml"

for t in $targets; do
	case $t in
	kubeconfig)	srcs="toolkit/util.c toolkit/yamlcfg.c toolkit/x509.c" ;;
	kubeadm_config)	srcs="toolkit/util.c toolkit/yamlcfg.c toolkit/root.c toolkit/layout.c" ;;
	x509)		srcs="toolkit/util.c toolkit/x509.c" ;;
	*)
		echo "FAIL fuzz-$t: no such target"
		failed=1
		continue
		;;
	esac
	bin="$out/fuzz-$t"
	# shellcheck disable=SC2086
	if ! "$cc" $cflags "tests/fuzz/fuzz_$t.c" $srcs $libs -o "$bin" \
	    >"$out/build-$t.log" 2>&1; then
		echo "FAIL fuzz-$t: does not build (see $out/build-$t.log)"
		failed=1
		continue
	fi
	mkdir -p "$out/corpus/$t" "$out/artifacts"
	rm -f "$out/artifacts/$t-"*
	log="$out/log-$t.txt"
	"$bin" -max_total_time="$secs" -timeout=30 -rss_limit_mb=2560 \
	    -max_len=65536 -close_fd_mask=2 -print_final_stats=1 \
	    -dict="$out/dict/$t" -artifact_prefix="$out/artifacts/$t-" \
	    "$out/corpus/$t" "$out/seeds/$t" >"$log" 2>&1
	rc=$?
	art=$(ls "$out/artifacts/$t-"* 2>/dev/null | head -n 1)
	if [ "$rc" -eq 0 ] && [ -z "$art" ]; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
		echo "PASS fuzz-$t"
		echo "fuzz-$t: ${runs:-?} runs in ${secs}s, corpus $(ls "$out/corpus/$t" | wc -l) files" >&2
	else
		why=$(grep -m 1 -E '^SUMMARY:|ERROR: (AddressSanitizer|UndefinedBehaviorSanitizer|libFuzzer)|runtime error:' "$log")
		echo "FAIL fuzz-$t: ${why:-exit $rc}${art:+ (input: $art)} (log: $log)"
		failed=1
	fi
done
exit "$failed"
