#!/usr/bin/python3
"""kcheck.py: inspect `krescue check` output for the shell tests.

  kcheck.py list JSON          one line per certificate:
                               name<TAB>kind<TAB>status<TAB>path<TAB>key_path
                               <TAB>ca<TAB>externally_managed (None = null)
  kcheck.py problems JSON NAME the problems of one certificate, one a line
  kcheck.py top JSON KEY       a top-level field ("status", "layout", ...)
  kcheck.py schema JSON        check the document's shape against the contract
  kcheck.py enddates ROOT JSON compare every certificate's not_after with
                               `openssl x509 -enddate` on the file in ROOT
  kcheck.py prom JSON PROM     compare the Prometheus text with the JSON

Every check prints "problem: ..." lines for what is wrong and exits 1;
exit 0 means everything checked agreed.  Node paths (absolute symlinks
included) are resolved inside ROOT, never on this machine.
"""

import base64
import calendar
import datetime
import json
import os
import subprocess
import sys

import yaml

CERT_KINDS = ("ca", "leaf", "kubeconfig", "kubelet", "etcd-host-ca",
              "etcd-host")
STATUSES = ("ok", "expiring", "expired", "not-yet-valid", "invalid",
            "missing")
CAS = ("ca", "etcd-ca", "front-proxy-ca", "etcd-host-ca", None)


def load(path):
    with open(path) as f:
        return json.load(f)


def rfc3339(s):
    d = datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ")
    return calendar.timegm(d.timetuple())


def resolve_in_root(root, path):
    """Host path of node path `path`, following symlinks inside root.

    Like openat2(RESOLVE_IN_ROOT): absolute targets restart at root and
    ".." never climbs above it.  Returns None when the path is dangling.
    """
    todo = [c for c in path.split("/") if c]
    done = []
    hops = 0
    while todo:
        c = todo.pop(0)
        if c == ".":
            continue
        if c == "..":
            if done:
                done.pop()
            continue
        host = os.path.join(root, *(done + [c]))
        if os.path.islink(host):
            hops += 1
            if hops > 40:
                return None
            target = os.readlink(host)
            parts = [p for p in target.split("/") if p]
            if target.startswith("/"):
                done = []
            todo = parts + todo
            continue
        done.append(c)
    host = os.path.join(root, *done)
    return host if os.path.exists(host) else None


def openssl_enddate(pem):
    env = dict(os.environ, LC_ALL="C")
    r = subprocess.run(["openssl", "x509", "-enddate", "-noout"], input=pem,
                       capture_output=True, env=env)
    if r.returncode != 0:
        return None
    line = r.stdout.decode().strip()
    if not line.startswith("notAfter="):
        return None
    d = datetime.datetime.strptime(line[len("notAfter="):],
                                   "%b %d %H:%M:%S %Y GMT")
    return calendar.timegm(d.timetuple())


def kubeconfig_cert(root, host_path):
    """PEM of the client cert a kubeconfig carries (embedded or a file)."""
    with open(host_path) as f:
        doc = yaml.safe_load(f)
    users = doc.get("users") or []
    want = None
    ctx = doc.get("current-context")
    for c in doc.get("contexts") or []:
        if c.get("name") == ctx:
            want = (c.get("context") or {}).get("user")
    for u in users:
        if want is None or u.get("name") == want:
            user = u.get("user") or {}
            if user.get("client-certificate-data"):
                return base64.b64decode(user["client-certificate-data"])
            if user.get("client-certificate"):
                p = resolve_in_root(root, user["client-certificate"])
                if p:
                    with open(p, "rb") as f:
                        return f.read()
    return None


def cmd_list(a):
    doc = load(a[0])
    for c in doc["certificates"]:
        print("\t".join(str(c.get(k)) for k in
                        ("name", "kind", "status", "path", "key_path", "ca",
                         "externally_managed")))
    return 0


def cmd_problems(a):
    doc = load(a[0])
    found = False
    for c in doc["certificates"]:
        if c.get("name") == a[1]:
            found = True
            for p in c.get("problems") or []:
                print(p)
    return 0 if found else 1


def cmd_top(a):
    v = load(a[0]).get(a[1])
    print("null" if v is None else v)
    return 0


def cmd_schema(a):
    doc = load(a[0])
    bad = []
    for k, t in (("krescue", str), ("root", str), ("now", str),
                 ("layout", str), ("cert_dir", str), ("status", str),
                 ("certificates", list)):
        if not isinstance(doc.get(k), t):
            bad.append("top-level %r missing or not %s" % (k, t.__name__))
    if doc.get("layout") not in ("kubeadm", "kubespray"):
        bad.append("layout %r" % doc.get("layout"))
    if doc.get("status") not in ("ok", "expiring", "expired", "invalid"):
        bad.append("status %r" % doc.get("status"))
    names = set()
    for c in doc.get("certificates") or []:
        n = c.get("name")
        if n in names:
            bad.append("duplicate certificate %r" % n)
        names.add(n)
        if c.get("kind") not in CERT_KINDS:
            bad.append("%s: kind %r" % (n, c.get("kind")))
        if c.get("status") not in STATUSES:
            bad.append("%s: status %r" % (n, c.get("status")))
        if c.get("ca") not in CAS:
            bad.append("%s: ca %r" % (n, c.get("ca")))
        if not isinstance(c.get("path"), str) or not c["path"].startswith("/"):
            bad.append("%s: path %r is not a node path" % (n, c.get("path")))
        kp = c.get("key_path")
        if kp is not None and not (isinstance(kp, str) and kp.startswith("/")):
            bad.append("%s: key_path %r" % (n, kp))
        if not isinstance(c.get("externally_managed"), bool):
            bad.append("%s: externally_managed not a bool" % n)
        if not isinstance(c.get("problems"), list):
            bad.append("%s: problems not a list" % n)
        if c.get("status") in ("ok", "expiring", "expired", "not-yet-valid"):
            try:
                na = rfc3339(c["not_after"])
                rfc3339(c["not_before"])
                if na != c.get("not_after_unix"):
                    bad.append("%s: not_after %s != not_after_unix %r" %
                               (n, c["not_after"], c.get("not_after_unix")))
                res = na - rfc3339(doc["now"])
                if res != c.get("residual_seconds"):
                    bad.append("%s: residual_seconds %r, want %d" %
                               (n, c.get("residual_seconds"), res))
            except (KeyError, TypeError, ValueError) as e:
                bad.append("%s: bad times (%s)" % (n, e))
    for b in bad:
        print("problem: " + b)
    return 1 if bad else 0


def cmd_enddates(a):
    root, doc = a[0], load(a[1])
    bad = []
    n = 0
    for c in doc["certificates"]:
        name = c.get("name")
        host = resolve_in_root(root, c["path"])
        if host is None:
            bad.append("%s: %s does not exist in the root" % (name, c["path"]))
            continue
        if c.get("kind") == "kubeconfig":
            pem = kubeconfig_cert(root, host)
        else:
            with open(host, "rb") as f:
                pem = f.read()
        want = openssl_enddate(pem) if pem else None
        if want is None:
            bad.append("%s: openssl cannot read a cert from %s" %
                       (name, c["path"]))
            continue
        try:
            got = rfc3339(c["not_after"])
        except (KeyError, TypeError, ValueError):
            got = None
        if got != want or c.get("not_after_unix") != want:
            bad.append("%s: json not_after %r (%r), openssl says %d" %
                       (name, c.get("not_after"), c.get("not_after_unix"),
                        want))
        n += 1
    if n == 0:
        bad.append("no certificate checked")
    for b in bad:
        print("problem: " + b)
    return 1 if bad else 0


def cmd_prom(a):
    from prometheus_client.parser import text_string_to_metric_families
    doc = load(a[0])
    with open(a[1]) as f:
        text = f.read()
    bad = []
    try:
        fams = list(text_string_to_metric_families(text))
    except Exception as e:          # the parser raises plain ValueErrors
        print("problem: prometheus text does not parse: %s" % e)
        return 1
    samples = [s for f in fams for s in f.samples]

    def named(metric):
        return [s for s in samples if s.name == metric]

    exp = named("krescue_certificate_expiry_timestamp_seconds")
    # a certificate that could not be read has no times: no samples then
    certs = [c for c in doc["certificates"]
             if c.get("not_after_unix") is not None]
    if not certs:
        bad.append("no certificate with a not_after in the JSON")
    if len(exp) != len(certs):
        bad.append("%d expiry samples for %d certificates" %
                   (len(exp), len(certs)))
    for c in certs:
        mine = [s for s in exp if s.labels.get("name") == c["name"]]
        if len(mine) != 1:
            bad.append("%s: %d expiry samples" % (c["name"], len(mine)))
            continue
        s = mine[0]
        if s.labels.get("path") != c["path"]:
            bad.append("%s: path label %r, json %r" %
                       (c["name"], s.labels.get("path"), c["path"]))
        if s.labels.get("ca", "") != (c.get("ca") or ""):
            bad.append("%s: ca label %r, json %r" %
                       (c["name"], s.labels.get("ca"), c.get("ca")))
        if s.value != c.get("not_after_unix"):
            bad.append("%s: expiry %r, json not_after_unix %r" %
                       (c["name"], s.value, c.get("not_after_unix")))
        nb = [x for x in named("krescue_certificate_not_before_timestamp_seconds")
              if x.labels.get("name") == c["name"]]
        if len(nb) != 1 or nb[0].value != rfc3339(c["not_before"]):
            bad.append("%s: not_before sample %r, json %r" %
                       (c["name"], [x.value for x in nb], c["not_before"]))
        v = [x for x in named("krescue_certificate_valid")
             if x.labels.get("name") == c["name"]]
        want = 1 if c["status"] in ("ok", "expiring") else 0
        if len(v) != 1 or v[0].value != want:
            bad.append("%s: valid sample %r, want %d for status %s" %
                       (c["name"], [x.value for x in v], want, c["status"]))
    ts = named("krescue_check_timestamp_seconds")
    if len(ts) != 1 or ts[0].value != rfc3339(doc["now"]):
        bad.append("krescue_check_timestamp_seconds %r, json now %s" %
                   ([x.value for x in ts], doc["now"]))
    for b in bad:
        print("problem: " + b)
    return 1 if bad else 0


CMDS = {"list": (cmd_list, 1), "problems": (cmd_problems, 2),
        "top": (cmd_top, 2), "schema": (cmd_schema, 1),
        "enddates": (cmd_enddates, 2), "prom": (cmd_prom, 2)}


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in CMDS or \
            len(sys.argv) - 2 != CMDS[sys.argv[1]][1]:
        sys.stderr.write(__doc__)
        return 100
    try:
        return CMDS[sys.argv[1]][0](sys.argv[2:])
    except (OSError, ValueError, KeyError, TypeError) as e:
        print("problem: %s: %s" % (type(e).__name__, e))
        return 1


if __name__ == "__main__":
    sys.exit(main())
