#!/bin/sh
# tests/cli/docs.sh: the manual page docs/krescue.8 renders without
# warnings (man -l, groff -ww, mandoc -Tlint) and documents the binary:
# every verb of `krescue --help` in SYNOPSIS and in its own COMMANDS
# subsection, every option of `krescue VERB --help` in that subsection,
# every exit status and the FILES the brief names.  A negative control runs
# the same comparison on a copy with a verb and an option taken out.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_krescue

MAN=docs/krescue.8
if [ ! -f "$MAN" ]; then
	fail exists "$MAN is missing"
	finish
fi

if ! command -v man >/dev/null 2>&1 || ! command -v groff >/dev/null 2>&1
then
	sh scripts/install-pkgs.sh man-db groff-base >/dev/null 2>&1
fi

# --- it renders, without a single warning --------------------------------

if ! command -v man >/dev/null 2>&1; then
	fail man-l "man is not installed (sh scripts/install-pkgs.sh man-db)"
else
	MANWIDTH=80 man --warnings=w -l "$MAN" >"$TMP/man.txt" 2>"$TMP/man.err"
	rc=$?
	if [ "$rc" -ne 0 ]; then
		fail man-l "man -l exits $rc: $(head -n 1 "$TMP/man.err")"
	elif [ -s "$TMP/man.err" ]; then
		fail man-l "warnings: $(head -n 3 "$TMP/man.err" | tr '\n' ' ')"
	elif [ "$(wc -l <"$TMP/man.txt")" -lt 100 ]; then
		fail man-l "only $(wc -l <"$TMP/man.txt") lines rendered"
	else
		pass man-l
	fi
fi

if command -v groff >/dev/null 2>&1; then
	if groff -man -Tutf8 -ww -z "$MAN" 2>"$TMP/groff.err" &&
	    [ ! -s "$TMP/groff.err" ]; then
		pass groff-ww
	else
		fail groff-ww "$(head -n 3 "$TMP/groff.err" | tr '\n' ' ')"
	fi
else
	fail groff-ww "groff is not installed (sh scripts/install-pkgs.sh groff-base)"
fi

command -v mandoc >/dev/null 2>&1 ||
	sh scripts/install-pkgs.sh mandoc >/dev/null 2>&1
if command -v mandoc >/dev/null 2>&1; then
	if mandoc -Tlint -W warning "$MAN" >"$TMP/lint" 2>&1; then
		pass mandoc-lint
	else
		fail mandoc-lint "$(head -n 3 "$TMP/lint" | tr '\n' ' ')"
	fi
else
	skip mandoc-lint "mandoc is not installed and could not be installed"
fi

# --- sections --------------------------------------------------------------

for s in NAME SYNOPSIS DESCRIPTION OPTIONS COMMANDS "EXIT STATUS" FILES \
    EXAMPLES; do
	if grep -q "^$s\$" "$TMP/man.txt"; then
		pass "section $s"
	else
		fail "section $s" "no '$s' heading in the rendered page"
	fi
done

# --- the binary's verbs and options ---------------------------------------

"$KRESCUE" --help >"$TMP/help" 2>&1 || fail help "krescue --help exits non-zero"
sed -n 's/^  krescue \([a-z][a-z-]*\).*/\1/p' "$TMP/help" >"$TMP/verbs"
nverbs=$(wc -l <"$TMP/verbs")
if [ "$nverbs" -lt 10 ]; then
	fail verbs "only $nverbs verbs parsed from krescue --help"
	finish
fi
for v in $(cat "$TMP/verbs"); do
	"$KRESCUE" "$v" --help >"$TMP/help.$v" 2>&1
done

# compare MAN RENDERED: print one line per thing missing from the page
compare() {
	$PYTHON - "$1" "$2" "$TMP" <<'PY'
import re, sys
man, rendered, tmp = sys.argv[1:4]
src = open(man, encoding="utf-8").read()
# roff source as text: \- is "-", font escapes and \& vanish, \~ is a space
text = re.sub(r"\\f[BIRP]", "", src)
text = text.replace("\\-", "-").replace("\\&", "").replace("\\~", " ")
out = open(rendered, encoding="utf-8", errors="replace").read()

def section(doc, name):
    m = re.search(r"^%s\n(.*?)(?=^[A-Z][A-Z ]+\n|\Z)" % re.escape(name),
                  doc, re.M | re.S)
    return m.group(1) if m else ""

synopsis = section(out, "SYNOPSIS")
subsections = {}
for m in re.finditer(r'^\.SS "?([a-z][a-z-]*)"?\n(.*?)(?=^\.S[HS] |\Z)',
                     text, re.M | re.S):
    subsections[m.group(1)] = m.group(2)

def has_opt(body, opt):
    return re.search(r"(^|[^A-Za-z0-9-])%s([^A-Za-z0-9-]|$)"
                     % re.escape(opt), body, re.M) is not None

def help_options(path):
    # options of the usage block (up to the first blank line) and of the
    # lines that describe one option ("  --root DIR   ...")
    lines = open(path, encoding="utf-8").read().split("\n")
    opts, usage = [], True
    for line in lines:
        if usage and not line.strip():
            usage = False
        if usage:
            seg = line
        elif re.match(r"^\s+-", line):
            seg = re.split(r"\s{2,}", line.strip(), 1)[0]
        else:
            continue
        for o in re.findall(r"(?<![A-Za-z0-9-])(--?[a-z][a-z-]*)", seg):
            if o not in opts:
                opts.append(o)
    return opts

missing = []
verbs = open(tmp + "/verbs").read().split()
for v in verbs:
    if not re.search(r"krescue\s+%s(\s|$)" % re.escape(v), synopsis):
        missing.append("synopsis %s" % v)
    body = subsections.get(v)
    if body is None:
        missing.append("subsection %s" % v)
        continue
    for o in help_options("%s/help.%s" % (tmp, v)):
        if o in ("-h", "--help"):
            continue
        if not has_opt(body, o):
            missing.append("option %s %s" % (v, o))
opts_sec = section(out, "OPTIONS")
for o in re.findall(r"\[(-[a-z]) \| (-[a-z])\]", open(tmp + "/help").read()
                    )[:1]:
    for x in o:
        if not has_opt(opts_sec, x):
            missing.append("global option %s" % x)
status = section(out, "EXIT STATUS")
for code in ("0", "1", "2", "3", "100", "111"):
    if not re.search(r"^\s+%s(\s|$)" % code, status, re.M):
        missing.append("exit status %s" % code)
files = section(out, "FILES")
for f in ("/etc/kubernetes/pki/", "/etc/kubernetes/ssl/",
          "/etc/ssl/etcd/ssl/", "/var/lib/kubelet/pki/",
          "/var/lib/krescue/journal", "/var/lib/krescue/backup/",
          "/etc/kubernetes/kubeadm-config.yaml"):
    if f not in files:
        missing.append("file %s" % f)
for line in missing:
    print(line)
PY
}

compare "$MAN" "$TMP/man.txt" >"$TMP/missing" 2>"$TMP/compare.err"
if [ -s "$TMP/compare.err" ]; then
	fail compare "the comparison broke: $(tail -n 1 "$TMP/compare.err")"
fi
for what in synopsis subsection option "global option" "exit status" file
do
	name=$(echo "$what" | tr ' ' '-')
	if grep -q "^$what " "$TMP/missing"; then
		fail "man lists every $name" \
		    "$(grep "^$what " "$TMP/missing" | cut -d ' ' -f 2- |
			tr '\n' ',' | cut -c 1-200)"
	else
		pass "man lists every $name"
	fi
done
nopts=$(cat "$TMP"/help.* | grep -c -- '--root')
[ "$nopts" -ge 5 ] || fail "options parsed" "--root found in only $nopts verb helps"

# --- negative control: the comparison notices a verb and an option gone ---

awk '/^\.SS stage$/ { skip = 1; next }
	skip && /^\.S[HS] / { skip = 0 }
	/^\.SY "krescue stage"$/ { syn = 1 }
	syn { if (/^\.YS$/) syn = 0; next }
	!skip' "$MAN" | sed '/^\.BI \\-\\-expiring\\-within /d' >"$TMP/bad.8"
MANWIDTH=80 man -l "$TMP/bad.8" >"$TMP/bad.txt" 2>/dev/null
compare "$TMP/bad.8" "$TMP/bad.txt" >"$TMP/bad.missing" 2>&1
if grep -q '^synopsis stage$' "$TMP/bad.missing" &&
    grep -q '^subsection stage$' "$TMP/bad.missing" &&
    grep -q '^option renew --expiring-within$' "$TMP/bad.missing"; then
	pass negative-control
else
	fail negative-control "a page without stage and --expiring-within passed: $(tr '\n' ' ' <"$TMP/bad.missing" | cut -c 1-200)"
fi

finish
