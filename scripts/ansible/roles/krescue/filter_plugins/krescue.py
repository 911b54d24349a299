# Filters of the krescue role.  They run on the Ansible controller only
# (the nodes need nothing but a POSIX shell) and turn what `krescue check
# -o json` printed on every node into one table and one verdict.

import json

BEGIN = "KRESCUE-BEGIN"
END = "KRESCUE-END"
DUE = ("expired", "expiring", "not-yet-valid")


def krescue_between(text):
    """The text between the KRESCUE-BEGIN and KRESCUE-END marker lines.

    raw runs through a terminal on ssh: a login banner, "\\r\\n" and stderr
    may surround what the command printed; the markers find it anyway.
    """
    text = (text or "").replace("\r\n", "\n")
    start = text.find(BEGIN + "\n")
    end = text.rfind("\n" + END)
    if start < 0 or end < start:
        raise ValueError("krescue: no output between the markers: %r"
                         % text[-300:])
    return text[start + len(BEGIN) + 1:end + 1]


def krescue_report(text):
    """The JSON document of `krescue check -o json`, between the markers."""
    return json.loads(krescue_between(text))


def krescue_hashes(text):
    """{node path: sha256} from `sha256sum` lines between the markers."""
    out = {}
    for line in krescue_between(text).splitlines():
        parts = line.split(None, 1)
        if len(parts) == 2:
            out[parts[1].lstrip("*")] = parts[0]
    return out


def krescue_due(report, kinds):
    """Names of the certificates of these kinds that need a renewal."""
    if isinstance(kinds, str):
        kinds = [kinds]
    return [c["name"] for c in (report or {}).get("certificates", [])
            if c.get("kind") in kinds and c.get("status") in DUE]


def krescue_table(hostvars, hosts):
    """One line per certificate of every node: node, cert, expiry, problem."""
    rows = [("NODE", "CERTIFICATE", "EXPIRES", "STATUS", "PROBLEM")]
    for h in hosts:
        rep = hostvars[h].get("krescue_check") or {}
        for c in rep.get("certificates", []):
            probs = c.get("problems") or []
            if c.get("externally_managed"):
                probs = probs + ["CA key not on this node"]
            rows.append((h, c.get("name", "?"), c.get("not_after") or "-",
                         c.get("status", "?"), "; ".join(probs)))
        for e in rep.get("errors", []):
            rows.append((h, "-", "-", "error", str(e)))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return ["  ".join(r[i].ljust(widths[i]) for i in range(4)) + "  " + r[4]
            for r in rows]


def _present(hostvars, h, name):
    rep = hostvars[h].get("krescue_check") or {}
    for c in rep.get("certificates", []):
        if c.get("name") == name:
            return c
    return None


def krescue_gate(hostvars, hosts, control_planes, etcd_members):
    """Problems that must stop the run before anything is written.

    A CA key missing where renewal needs it (ca and front-proxy-ca on
    every control plane, Kubespray's etcd CA on every etcd member), and
    shared files (CAs, their keys, sa.key/sa.pub) that differ between the
    nodes holding them.
    """
    out = []
    need = [(h, n) for h in control_planes for n in ("ca", "front-proxy-ca")]
    need += [(h, "etcd-host-ca") for h in etcd_members]
    for h, name in need:
        if h not in hosts:
            continue
        c = _present(hostvars, h, name)
        if c is None:
            out.append("%s: no %s certificate found" % (h, name))
        elif c.get("externally_managed"):
            out.append("%s: the %s key (%s) is missing: krescue cannot sign"
                       " with it" % (h, name, c.get("key_path") or "?"))
    seen = {}
    for h in hosts:
        for path, digest in sorted((hostvars[h].get("krescue_shared")
                                    or {}).items()):
            seen.setdefault(path, {}).setdefault(digest, []).append(h)
    for path, by_digest in sorted(seen.items()):
        if len(by_digest) > 1:
            groups = sorted(by_digest.values(), key=len, reverse=True)
            out.append("%s differs between nodes: %s" % (
                path, " | ".join(",".join(g) for g in groups)))
    return out


STATES = (("krescue_etcd_state", "etcd"),
          ("krescue_cp_state", "control plane"),
          ("krescue_worker_state", "kubelet"))


def krescue_summary(hosts, hostvars, check_mode=False):
    """Lines saying what the run did (or, in check mode, would do)."""
    done, pending = [], []
    for h in hosts:
        hv = hostvars[h]
        what = [label for var, label in STATES
                if hv.get(var) in ("renewed", "would renew")]
        if what:
            done.append("%s (%s)" % (h, ", ".join(what)))
        if hv.get("krescue_worker_state") == "pending":
            pending.append(h)
    if done:
        head = "would renew" if check_mode else "renewed"
        lines = ["krescue: %s: %s" % (head, "; ".join(done))]
    else:
        lines = ["krescue: nothing to do: no certificate was due, "
                 "nothing changed"]
    if pending:
        lines.append("krescue: NOT renewed, kubelet client certificate due "
                     "on %s: this krescue has no `kubelet --ca-from` verb "
                     "yet (docs/runbook.md section 6)" % ", ".join(pending))
    return lines


class FilterModule(object):
    def filters(self):
        return {
            "krescue_between": krescue_between,
            "krescue_report": krescue_report,
            "krescue_hashes": krescue_hashes,
            "krescue_due": krescue_due,
            "krescue_table": krescue_table,
            "krescue_gate": krescue_gate,
            "krescue_summary": krescue_summary,
        }
