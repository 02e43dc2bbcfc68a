#!/usr/bin/env python3
"""netsim: routing and DNS attacks against a real mpic fleet in network namespaces.

    netsim.py run SCENARIO.json [--out DIR] [--bin-dir DIR] [--keep DIR]
    netsim.py report RESULTS.json [--out PNG]
    netsim.py selftest [--bin-dir DIR] [--out DIR]     (the ctest `netsim`)
    netsim.py cleanup                                  (remove leftovers of crashed runs)

`run` builds the emulated network (one namespace per host, veth links to a core router),
the DNS hierarchy (real NSD, DNSSEC-signed), the victim's and the attacker's servers and the
real va-remote/va-primary processes, then applies each attack of the scenario by changing
routes, `ip rule`s and nftables rules in the core, validates for the domain owner and for the
attacker, and compares every decision with the one the policy rules predict. Prints a table,
writes results.json and results.csv. Exit 0 iff every decision was as expected; 1 when one
was not; 2 for bad usage; 3 when something could not start. Python 3 standard library only;
root needed. See docs/netsim.md.
"""

import argparse
import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # leave no __pycache__ in the source tree

import simfleet  # noqa: E402
import simnet  # noqa: E402
import simpolicy  # noqa: E402
import simservers  # noqa: E402

SKIP = 77  # ctest SKIP_RETURN_CODE
METHODS = ("http-01", "dns-01", "tls-alpn-01", "caa", "dns-persist-01")
KINDS = ("prefix-hijack", "subprefix-hijack", "intercept", "drop", "reject", "delay")
TOKEN = "netsim-token_0123456789abcdefghijklmnop"
RIRS = ("ARIN", "RIPE_NCC", "APNIC", "LACNIC", "AFRINIC")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,62}$")
DEFAULT_TIMEOUTS = {"check_ms": 2000, "remote_ms": 3000, "grace_ms": 300}
# A thumbprint (RFC 7638) per ACME account: the same token, two different key authorizations.
KEY_AUTHORIZATION = {
    who: TOKEN + "." + simservers.b64url(simservers.hashlib.sha256(who.encode()).digest())
    for who in ("owner", "attacker")}


class Terminate(BaseException):
    pass


def log(msg):
    print(f"netsim: {msg}", file=sys.stderr, flush=True)


def _on_signal(signum, _frame):
    raise Terminate(signum)


# --- scenario ------------------------------------------------------------------------------


class ScenarioError(Exception):
    pass


def load_scenario(path):
    with open(path) as f:
        s = json.load(f)
    if not isinstance(s, dict) or "fleets" not in s or "attacks" not in s:
        raise ScenarioError(f"{path}: needs \"fleets\" and \"attacks\"")
    persp = s.get("perspectives", {})
    primary = persp.get("primary")
    pool = persp.get("remotes", [])
    if not primary or not pool:
        raise ScenarioError("perspectives.primary and perspectives.remotes are required")
    names = [primary["name"]] + [p["name"] for p in pool]
    if len(set(names)) != len(names):
        raise ScenarioError("perspective names must be unique")
    for p in [primary] + pool:
        if not NAME_RE.match(str(p.get("name", ""))):
            raise ScenarioError(f"perspective name {p.get('name')!r}: letters, digits, '-'")
        if p.get("rir") not in RIRS or not all(isinstance(p.get(k), (int, float))
                                               for k in ("lat", "lon")):
            raise ScenarioError(f"perspective {p['name']}: needs rir ({', '.join(RIRS)}), "
                                "lat and lon")
    fleet_names = [f.get("name") for f in s["fleets"]]
    if not fleet_names or len(set(fleet_names)) != len(fleet_names) or not all(
            isinstance(n, str) and NAME_RE.match(n) for n in fleet_names):
        raise ScenarioError("fleets need unique names (letters, digits, '-')")
    for f in s["fleets"]:
        r = f.get("remotes")
        if isinstance(r, int):
            if not 1 <= r <= len(pool):
                raise ScenarioError(f"fleet {f.get('name')}: remotes must be 1..{len(pool)}")
            f["remotes"] = [p["name"] for p in pool[:r]]
        elif not isinstance(r, list) or any(n not in names[1:] for n in r):
            raise ScenarioError(f"fleet {f.get('name')}: remotes must be a count or pool names")
        f["policy_obj"] = simpolicy.Policy(f.get("policy", {"effective_date": "today"}))
        if f["policy_obj"].kind == "k-of-n" and f["policy_obj"].n != len(f["remotes"]):
            raise ScenarioError(f"fleet {f['name']}: research_n must equal its remote count")
    for a in s["attacks"]:
        if a.get("kind") not in KINDS:
            raise ScenarioError(f"attack {a.get('name')}: kind must be one of {', '.join(KINDS)}")
        a.setdefault("target", "ns" if a["kind"] == "intercept" else "web")
        if a["target"] not in simnet.TARGETS:
            raise ScenarioError(f"attack {a.get('name')}: target must be web or ns")
        if a["kind"] == "intercept" and a["target"] != "ns":
            raise ScenarioError(f"attack {a.get('name')}: intercept works on target ns")
        a.setdefault("methods", list(METHODS))
        if any(m not in METHODS for m in a["methods"]):
            raise ScenarioError(f"attack {a.get('name')}: methods from {', '.join(METHODS)}")
        a.setdefault("zones", ["unsigned"])
        if any(z not in simfleet.ZONES for z in a["zones"]):
            raise ScenarioError(f"attack {a.get('name')}: zones from signed, unsigned")
        a.setdefault("capture", "sweep")
        a.setdefault("order", "primary-first")
        if a["order"] not in ("primary-first", "remotes-first"):
            raise ScenarioError(f"attack {a.get('name')}: order primary-first or remotes-first")
        if isinstance(a["capture"], list) and any(
                not isinstance(g, list) or any(n not in names for n in g) for g in a["capture"]):
            raise ScenarioError(f"attack {a.get('name')}: capture lists must name perspectives")
        if any(fl not in fleet_names for fl in a.get("fleets", [])):
            raise ScenarioError(f"attack {a.get('name')}: unknown fleet in \"fleets\"")
    s["timeouts"] = dict(DEFAULT_TIMEOUTS, **s.get("timeouts", {}))
    check_ms = s["timeouts"]["check_ms"]
    for a in s["attacks"]:
        if a["kind"] != "delay":
            continue
        a.setdefault("delay_ms", 5000)
        if not isinstance(a["delay_ms"], int) or a["delay_ms"] <= 0 or (
                simpolicy.delay_view(a["delay_ms"], check_ms) is None):
            raise ScenarioError(
                f"attack {a.get('name')}: delay_ms must be >= check_ms ({check_ms}: the delayed "
                f"checks time out) or <= check_ms/{simpolicy.DELAY_SHORT_FRACTION} (they still "
                "finish); in between the outcome is not predictable")
    s["pool"] = {p["name"]: p for p in pool}
    return s


def capture_sets(attack, primary, remotes):
    """The perspective sets this attack captures, each a list of names (primary included)."""
    everyone = [primary] + remotes
    if attack["kind"] == "subprefix-hijack":
        return [everyone]  # longest-prefix match: nobody can be spared
    order = everyone if attack["order"] == "primary-first" else remotes + [primary]
    cap = attack["capture"]
    if cap == "sweep":
        return [order[:k] for k in range(len(order) + 1)]
    if cap == "all":
        return [everyone]
    if isinstance(cap, dict) and "counts" in cap:
        return [order[:k] for k in cap["counts"] if 0 <= k <= len(order)]
    if isinstance(cap, list):
        return [[n for n in group if n in everyone] for group in cap]
    raise ScenarioError(f"attack {attack.get('name')}: bad capture {cap!r}")


# --- the run -------------------------------------------------------------------------------


class Sim:
    def __init__(self, scenario, bin_dir, work):
        self.s = scenario
        self.bin_dir = bin_dir
        self.work = work
        used = set()
        for f in scenario["fleets"]:
            used.update(f["remotes"])
        self.remote_names = [n for n in scenario["pool"] if n in used]
        self.primary = scenario["perspectives"]["primary"]
        self.net = simnet.Network(self.primary["name"], self.remote_names, log)
        self.dns = None
        self.fleet = None
        self.servers = []
        self.interceptors = []
        self.relay = None  # the delaying relay of the delay attack being applied

    def start(self):
        t0 = time.monotonic()
        simnet.remove_leftovers(log)
        self.net.build()
        self.net.add_victim_backends()
        owner_txt = simservers.txt_digest(KEY_AUTHORIZATION["owner"])
        self.dns = simfleet.SimDns(os.path.join(self.work, "dns"), self.net, owner_txt)
        self.dns.start()
        log(f"DNS: root, lab., {', '.join(simfleet.ZONES.values())} on real NSD "
            f"({self.dns.descriptor['start_seconds']:.1f} s)")
        certs = os.path.join(self.work, "alpn")
        os.makedirs(certs, exist_ok=True)
        names = ["www." + z.rstrip(".") for z in simfleet.ZONES.values()]
        for who, host in (("owner", "victim"), ("attacker", "attacker")):
            d = os.path.join(certs, who)
            os.makedirs(d, exist_ok=True)
            ka = KEY_AUTHORIZATION[who]
            self.servers.append(simservers.start_web(self.net.ns(host), TOKEN, ka))
            self.servers.append(simservers.start_alpn(self.net.ns(host), {
                n: simservers.make_alpn_cert(d, n, ka) for n in names}))
        attacker_txt = simservers.txt_digest(KEY_AUTHORIZATION["attacker"])
        def attacker_persist(width):
            return simfleet.persist_value(simfleet.ACCOUNT["attacker"], width)
        for kind, addr in simnet.VICTIM_NS.items():
            self.interceptors.append(simservers.DnsInterceptor(
                self.net.ns("attacker"), addr, simnet.VICTIM_NS_BACKEND[kind],
                simnet.ATTACKER_WEB, attacker_txt, attacker_persist))
        members = {self.primary["name"]: [self.net.addr("primary")], "mpic-ca-client": []}
        for n in self.remote_names:
            members[n] = [self.net.addr(n)]
        simfleet.make_pki(self.bin_dir, os.path.join(self.work, "pki"), members)
        self.fleet = simfleet.Fleet(self.net, self.bin_dir, self.work, self.dns.dir,
                                    self.s["timeouts"])
        self.fleet.start_remotes([self.s["pool"][n] for n in self.remote_names],
                                 self.primary["name"])
        log(f"fleet: {len(self.remote_names)} va-remote ready; the whole set-up took "
            f"{time.monotonic() - t0:.1f} s")

    def stop(self):
        """Every step runs whatever the previous ones did; the namespaces go last."""
        steps = [self.fleet.stop] if self.fleet is not None else []
        steps.append(self.stop_relay)
        steps += [srv.stop for srv in self.interceptors + self.servers]
        if self.dns is not None:
            steps.append(self.dns.cleanup)
        steps.append(self.net.destroy)
        for step in steps:
            try:
                step()
            except Exception as e:  # keep cleaning up
                log(f"cleanup: {type(e).__name__}: {e}")

    def stop_relay(self):
        if self.relay is not None:
            relay, self.relay = self.relay, None
            relay.stop()

    def apply(self, attack, captured):
        self.stop_relay()
        self.net.reset()
        kind, target = attack["kind"], attack["target"]
        for i in self.interceptors:
            i.mode = "strip-caa" if kind == "intercept" else "forge"
        if kind in ("prefix-hijack", "intercept"):
            self.net.hijack(captured, target)
        elif kind == "subprefix-hijack":
            self.net.subprefix_hijack(target)
        elif kind in ("drop", "reject"):
            self.net.drop(captured, target, reject=kind == "reject")
        elif kind == "delay":  # the relay itself is started per case (start_relay)
            self.net.delay(captured, target, attack["delay_ms"])

    def start_relay(self, delay_ms):
        """A fresh delaying relay on the relay host (the previous one stopped first), so that
        nothing held for one case is delivered during the next."""
        self.stop_relay()
        self.relay = simservers.DelayRelay(
            self.net.ns("relay"), delay_ms, simnet.VICTIM_WEB, simnet.VICTIM_WEB_BACKEND,
            {simnet.VICTIM_NS[z]: simnet.VICTIM_NS_BACKEND[z] for z in simnet.VICTIM_NS})

    def run(self):
        rows = []
        _table["width"] = max(17, 2 * (1 + max(len(f["remotes"]) for f in self.s["fleets"])))
        for fleet in self.s["fleets"]:
            policy = fleet["policy_obj"]
            remotes = [self.s["pool"][n] for n in fleet["remotes"]]
            self.fleet.start_primary(self.primary, remotes, fleet.get("policy", {}),
                                     fleet["name"])
            log(f"fleet {fleet['name']}: va-primary with {len(remotes)} remotes, "
                f"{policy.describe()}")
            print(f"== fleet {fleet['name']} ({policy.describe()}); verdict columns: "
                  f"{self.primary['name']} (primary), "
                  f"{', '.join(r['name'] for r in remotes)}", flush=True)
            for attack in self.s["attacks"]:
                if attack.get("fleets") and fleet["name"] not in attack["fleets"]:
                    continue
                for captured in capture_sets(attack, self.primary["name"], fleet["remotes"]):
                    self.apply(attack, captured)
                    for zone in attack["zones"]:
                        for method in attack["methods"]:
                            if attack["kind"] == "delay":
                                self.start_relay(attack["delay_ms"])
                            rows.append(self.one(fleet, policy, remotes, attack, captured,
                                                 zone, method))
                            print_row(rows[-1])
        self.stop_relay()
        self.net.reset()
        return rows

    def one(self, fleet, policy, remotes, attack, captured, zone, method):
        zname = simfleet.ZONES[zone].rstrip(".")
        identifier = ("caa." if method == "caa" else "www.") + zname
        t = self.s["timeouts"]
        view = simpolicy.captured_view(attack["kind"], attack["target"], method, zone,
                                       attack.get("delay_ms", 0), t["check_ms"])
        everyone = [self.primary] + remotes
        results, errors = {}, {}

        def go(who):
            try:
                results[who] = self.fleet.validate(method, identifier, KEY_AUTHORIZATION[who],
                                                   simfleet.ACCOUNT[who])
            except (simfleet.FleetError, subprocess.TimeoutExpired, ValueError) as e:
                errors[who] = str(e)
        t0 = time.monotonic()
        threads = [threading.Thread(target=go, args=(w,)) for w in ("owner", "attacker")]
        for th in threads:
            th.start()
        for th in threads:
            th.join(timeout=60)
        row = {"fleet": fleet["name"], "policy": policy.describe(), "attack": attack["name"],
               "kind": attack["kind"], "target": attack["target"], "method": method,
               "zone": zone, "identifier": identifier, "captured": captured,
               "captured_count": len(captured), "perspectives": len(everyone),
               "order": [p["name"] for p in everyone], "capture_order": attack["order"],
               "primary_captured": self.primary["name"] in captured, "view": view,
               "delay_ms": attack.get("delay_ms") if attack["kind"] == "delay" else None,
               "network": list(self.net.active), "problems": []}
        for who in ("owner", "attacker"):
            ok = [view_ok(view if p["name"] in captured else "victim", who) for p in everyone]
            expected = policy.decide(ok[0], [(p["rir"], good) for p, good in
                                             zip(everyone[1:], ok[1:])])
            r = {"expected": "CORROBORATED" if expected else "NOT_CORROBORATED"}
            if who in errors or who not in results:
                r.update(decision="ERROR", error=errors.get(who, "no answer"), verdicts={})
                row["problems"].append(f"{who}: {r['error']}")
            else:
                resp = results[who]
                r["decision"] = resp.get("decision", "DECISION_UNSPECIFIED")
                r["quorum"] = resp.get("quorum", "")
                r["problem"] = (resp.get("problem") or {}).get("type", "").rsplit(":", 1)[-1]
                r["verdicts"], r["details"] = {}, {}
                for pr in [resp.get("primary", {})] + resp.get("remotes", []):
                    name = pr.get("perspective", {}).get("name", "?")
                    r["verdicts"][name] = verdict(pr)
                    r["details"][name] = evidence_summary(pr)
                for p, good in zip(everyone, ok):
                    v = r["verdicts"].get(p["name"], "?")
                    if v in ("valid", "invalid") and (v == "valid") != good:
                        row["problems"].append(
                            f"{who}: {p['name']} answered {v}, the attack model says "
                            f"{'valid' if good else 'not valid'}")
                if method == "dns-persist-01":  # a pass must come from a record for `who`
                    for name, v in r["verdicts"].items():
                        got = r["details"].get(name, {}).get("dcv", {}).get("persist_accounturi")
                        if v == "valid" and got != simfleet.ACCOUNT[who]:
                            row["problems"].append(
                                f"{who}: {name} passed dns-persist-01 on accounturi {got!r}, "
                                f"not {simfleet.ACCOUNT[who]!r}")
                if r["decision"] != r["expected"]:
                    row["problems"].append(f"{who}: decision {r['decision']}, expected "
                                           f"{r['expected']}")
            row[who] = r
        row["attacker_certificate"] = row["attacker"]["decision"] == "CORROBORATED"
        row["owner_certificate"] = row["owner"]["decision"] == "CORROBORATED"
        # DNSSEC: no perspective may accept a poisoned answer of a signed zone.
        if attack["target"] == "ns" and zone == "signed" and attack["kind"] in (
                "prefix-hijack", "subprefix-hijack", "intercept"):
            for who in ("owner", "attacker"):
                for name in captured:
                    v = row[who].get("verdicts", {}).get(name)
                    if v == "valid":
                        row["problems"].append(f"DNSSEC: {name} accepted a poisoned answer "
                                               f"({who})")
                    detail = row[who].get("details", {}).get(name, {})
                    if v == "invalid" and not any("bogus" in part.get("dnssec", [])
                                                  for part in detail.values()
                                                  if isinstance(part, dict)):
                        row["problems"].append(f"DNSSEC: {name} failed, but not on a bogus "
                                               f"answer ({who}): {detail}")
        if self.relay is not None:  # what the delaying relay held and passed on in this case
            row["relay"] = self.relay.stats()
            if row["delay_ms"] < t["check_ms"] and captured and not row["relay"]["forwarded"]:
                row["problems"].append("short delay: the relay forwarded nothing")
        row["ok"] = not row["problems"]
        row["note"] = ""
        if attack["kind"] == "subprefix-hijack" and row["attacker_certificate"]:
            row["note"] = ("sub-prefix hijack captures every perspective: MPIC cannot stop it "
                           "(only DNSSEC, RPKI/ROV or route monitoring can)")
        elif "relay" in row and captured:
            row["note"] = (f"relay held {row['relay']['held']} connections/queries for "
                           f"{row['delay_ms']} ms, passed on {row['relay']['forwarded']} answers "
                           "of the real victim")
        row["seconds"] = round(time.monotonic() - t0, 2)
        return row


def view_ok(view, who):
    return simpolicy.VIEW_OK[view][0 if who == "owner" else 1]


def verdict(pr):
    status = pr.get("status", "")
    if status == "ANSWERED":
        return "valid" if pr.get("corroborates") else "invalid"
    return {"TIMED_OUT": "timeout", "RPC_ERROR": "error", "CANCELLED": "cancelled",
            "NOT_STARTED": "not-started", "IDENTITY_MISMATCH": "error"}.get(status, "error")


def evidence_summary(pr):
    """What a perspective saw, for results.json: problem, address used, DNSSEC statuses."""
    out = {}
    if pr.get("error"):
        out["error"] = pr["error"]
    for part in ("dcv", "caa"):
        o = pr.get(part)
        if not o:
            continue
        ev = o.get("evidence", {})
        d = {"valid": bool(o.get("valid"))}
        if o.get("problem"):
            d["problem"] = o["problem"].get("type", "").rsplit(":", 1)[-1]
            d["detail"] = o["problem"].get("detail", "")[:200]
        if ev.get("address_used"):
            d["address_used"] = ev["address_used"]
        if ev.get("caa_name"):
            d["caa_name"] = ev["caa_name"]
        if ev.get("persist_accounturi"):
            d["persist_accounturi"] = ev["persist_accounturi"]
        d["dnssec"] = sorted({lk.get("dnssec", "") or "none" for lk in ev.get("lookups", [])})
        out[part] = d
    return out


SYMBOL = {"valid": "V", "invalid": "x", "timeout": "T", "error": "E", "cancelled": "c",
          "not-started": "-"}
_table = {"printed_header": False, "width": 14}  # verdict column width: 2 per perspective


def short_decision(d):
    return {"CORROBORATED": "yes", "NOT_CORROBORATED": "no"}.get(d, d.lower()[:6])


def print_row(row):
    w = _table["width"]
    if not _table["printed_header"]:
        print("verdicts: primary first, then each remote in fleet order; V valid, x invalid, "
              "T timeout, E error, c cancelled after the decision; * = captured")
        print(f"{'FLEET':<8} {'ATTACK':<22} {'METHOD':<14} {'ZONE':<8} {'CAPT':>5}  "
              f"{'OWNER VERDICTS':<{w}} {'ATTACKER VERDICTS':<{w}} {'OWNER':<6} "
              f"{'ATTACKER':<8} {'CERT FOR ATTACKER':<17} CHECK")
        _table["printed_header"] = True
    def verdicts(who):
        v = row[who].get("verdicts", {})
        return "".join(SYMBOL.get(v.get(n), "?") + ("*" if n in row["captured"] else " ")
                       for n in row["order"])
    cert = "YES" if row["attacker_certificate"] else "no"
    if row["attacker"]["expected"] == "CORROBORATED":
        cert += " (expected)"
    print(f"{row['fleet']:<8} {row['attack']:<22} {row['method']:<14} {row['zone']:<8} "
          f"{row['captured_count']:>2}/{row['perspectives']:<2}  {verdicts('owner'):<{w}} "
          f"{verdicts('attacker'):<{w}} {short_decision(row['owner']['decision']):<6} "
          f"{short_decision(row['attacker']['decision']):<8} {cert:<17} "
          f"{'ok' if row['ok'] else 'MISMATCH'}", flush=True)
    for p in row["problems"]:
        print(f"    ! {p}", flush=True)
    if row["note"]:
        print(f"    note: {row['note']}", flush=True)


CSV_FIELDS = ["fleet", "policy", "attack", "kind", "target", "method", "zone", "identifier",
              "captured_count", "perspectives", "primary_captured", "captured", "view",
              "owner_decision", "owner_expected", "owner_verdicts", "attacker_decision",
              "attacker_expected", "attacker_verdicts", "attacker_certificate", "ok", "note",
              "seconds"]


def write_results(rows, out_dir, scenario_name, meta):
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump({"scenario": scenario_name, **meta, "rows": rows}, f, indent=1)
    with open(os.path.join(out_dir, "results.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=CSV_FIELDS)
        w.writeheader()
        for r in rows:
            flat = {k: r.get(k) for k in CSV_FIELDS}
            flat["captured"] = " ".join(r["captured"])
            for who in ("owner", "attacker"):
                flat[f"{who}_decision"] = r[who]["decision"]
                flat[f"{who}_expected"] = r[who]["expected"]
                flat[f"{who}_verdicts"] = " ".join(f"{k}={v}" for k, v in
                                                   r[who].get("verdicts", {}).items())
            w.writerow(flat)


def summarize(rows):
    bad = [r for r in rows if not r["ok"]]
    won = [r for r in rows if r["attacker_certificate"]]
    print(f"\n{len(rows)} attack cases, {2 * len(rows)} validations: "
          f"{len(rows) - len(bad)} as the policy predicts, {len(bad)} not; the attacker "
          f"obtained a certificate in {len(won)} (each one predicted by the quorum rules: "
          f"{'yes' if all(r['attacker']['expected'] == 'CORROBORATED' for r in won) else 'NO'})")
    if any(r["kind"] == "subprefix-hijack" and r["attacker_certificate"] for r in rows):
        print("sub-prefix hijack: every perspective is captured at once; MPIC cannot stop it "
              "(DNSSEC for DNS-based checks, RPKI/ROV and route monitoring are the defences)")
    return not bad


# --- commands ------------------------------------------------------------------------------


def preflight():
    """(skip, problem): skip when this machine cannot run netsim at all (not root, no network
    namespaces); a missing tool is a plain failure (scripts/setup.sh installs them all)."""
    if os.geteuid() != 0:
        return True, "netsim needs root (network namespaces, ports 53/80/443)"
    for tool in ("ip", "nft", "nsd", "dnssec-signzone", "openssl"):
        if not shutil.which(tool, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin"):
            return False, f"{tool} not found (scripts/setup.sh installs it)"
    probe = f"{simnet.PREFIX}-{os.getpid()}-cap"
    p = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True, timeout=10)
    if p.returncode != 0:
        return True, f"cannot create network namespaces: {p.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True, timeout=10)
    return False, None


def find_bin_dir(arg):
    # Installed: share/mpic/netsim -> ../../../bin; the source tree: tests/netsim -> build/bin.
    d = arg or os.environ.get("MPIC_BIN_DIR")
    if not d:
        installed = os.path.join(HERE, "..", "..", "..", "bin")
        d = installed if os.access(os.path.join(installed, "mpic"), os.X_OK) else \
            os.path.join(HERE, "..", "..", "build", "bin")
    for b in ("va-primary", "va-remote", "mpic"):
        if not os.access(os.path.join(d, b), os.X_OK):
            raise ScenarioError(f"{b} not found in {d} (build it, or pass --bin-dir)")
    return os.path.abspath(d)


def run_scenario(scenario, bin_dir, out_dir, keep=None):
    work = keep or tempfile.mkdtemp(prefix="mpic-netsim.")
    os.makedirs(work, exist_ok=True)
    sim = Sim(scenario, bin_dir, work)
    old = {s: signal.signal(s, _on_signal) for s in (signal.SIGTERM, signal.SIGINT,
                                                      signal.SIGHUP)}
    t0 = time.monotonic()
    ok = False
    try:
        sim.start()
        rows = sim.run()
        elapsed = time.monotonic() - t0
        write_results(rows, out_dir, scenario.get("name", ""), {
            "seconds": round(elapsed, 1),
            "fleets": [{"name": f["name"], "remotes": f["remotes"],
                        "policy": f["policy_obj"].describe()} for f in scenario["fleets"]]})
        ok = summarize(rows)
        print(f"results: {out_dir}/results.json, {out_dir}/results.csv ({elapsed:.0f} s)")
        return rows, ok
    finally:
        for s in old:
            signal.signal(s, signal.SIG_IGN)
        sim.stop()
        for s, h in old.items():
            signal.signal(s, h)
        if keep is None and ok:
            shutil.rmtree(work, ignore_errors=True)
        elif not ok:
            log(f"work directory kept for debugging: {work}")


def cmd_run(args):
    _, problem = preflight()
    if problem:
        log(problem)
        return 3
    try:
        scenario = load_scenario(args.scenario)
        bin_dir = find_bin_dir(args.bin_dir)
    except (ScenarioError, ValueError, OSError, KeyError, TypeError, AttributeError) as e:
        log(f"bad scenario: {e}")
        return 2
    out = args.out or os.path.join(os.getcwd(), "netsim-results")
    try:
        _, ok = run_scenario(scenario, bin_dir, out, args.keep)
    except Terminate as t:
        log(f"signal {t.args[0]}: stopped")
        return 130
    except (simnet.NetError, simfleet.FleetError, simfleet.dnslab.LabError,
            subprocess.SubprocessError, OSError) as e:
        log(f"error: {e}")
        return 3
    return 0 if ok else 1


def cmd_cleanup(_args):
    if os.geteuid() != 0:
        log("needs root")
        return 3
    simnet.remove_leftovers(log)
    return 0


def cmd_selftest(args):
    skip, problem = preflight()
    if problem:
        log(f"{'SKIP' if skip else 'FAIL'}: {problem}")
        return SKIP if skip else 1
    bin_dir = find_bin_dir(args.bin_dir)
    t0 = time.monotonic()
    # 1. A leftover of a "crashed" run (owner pid dead) must be removed by the next run.
    dead = subprocess.Popen(["true"])
    dead.wait(timeout=10)
    ghost = f"{simnet.PREFIX}-{dead.pid}-core"
    subprocess.run(["ip", "netns", "add", ghost], check=True, timeout=10)
    removed = simnet.remove_leftovers(log)
    if ghost not in removed or ghost in simnet.list_netns():
        log(f"FAIL: leftover namespace {ghost} was not removed")
        return 1
    # 2. The matrix, then (unless --scenario) dns-persist-01 under a one-perspective hijack.
    scenario = load_scenario(args.scenario or os.path.join(HERE, "scenarios", "ci-matrix.json"))
    out = args.out or tempfile.mkdtemp(prefix="mpic-netsim-results.")
    try:
        rows, ok = run_scenario(scenario, bin_dir, out)
        if not args.scenario:
            persist_rows, persist_ok = run_scenario(
                load_scenario(os.path.join(HERE, "scenarios", "dns-persist.json")), bin_dir,
                os.path.join(out, "dns-persist"))
            rows, ok = rows + persist_rows, ok and persist_ok
    except Terminate:
        return 130
    failures = []
    if not ok:
        failures.append("some decisions differ from what the policy rules predict")
    if not args.scenario and not any(persist_hijack_refused(r) for r in rows):
        failures.append("dns-persist-01: no case where one hijacked remote served the "
                        "attacker's record, passed it, and the quorum still refused the "
                        "attacker and approved the owner")
    # 3. Coverage: the matrix must really exercise what the issue asks for.
    methods = {r["method"] for r in rows}
    for m in METHODS:  # dns-persist-01 comes from dns-persist.json, not run with --scenario
        if m not in methods and not (m == "dns-persist-01" and args.scenario):
            failures.append(f"method {m} not exercised")
    if not any(r["attacker_certificate"] for r in rows):
        failures.append("no case where the captured quorum lets the attacker through")
    if not any(r["owner_certificate"] and r["captured_count"] > 0 for r in rows):
        failures.append("no case where the owner is approved despite captured perspectives")
    signed_ns = [r for r in rows if r["zone"] == "signed" and r["target"] == "ns"
                 and r["kind"] in ("prefix-hijack", "subprefix-hijack", "intercept")]
    if not signed_ns or any(r["attacker_certificate"] for r in signed_ns):
        failures.append("DNSSEC: signed-zone poisoning not exercised or not stopped")
    delays = [r for r in rows if r["kind"] == "delay" and r["captured_count"] > 0]
    if not any(r["view"] == "fail" for r in delays):
        failures.append("no delay attack long enough to time the captured checks out")
    if not any(r["delay_ms"] < scenario["timeouts"]["check_ms"] and r["owner_certificate"]
               and (r["target"] == "ns" or r["method"] in ("http-01", "tls-alpn-01"))
               for r in delays):
        failures.append("no short delay of the checked traffic through which the owner was "
                        "approved (the relay must forward)")
    # 4. Nothing left behind.
    mine = [n for n in simnet.list_netns() if n.startswith(f"{simnet.PREFIX}-{os.getpid()}-")]
    if mine:
        failures.append(f"namespaces left behind: {mine}")
    # 5. The report renders (when gnuplot is there).
    if shutil.which("gnuplot"):
        png = os.path.join(out, "results.png")
        if report(os.path.join(out, "results.json"), png) != 0 or not os.path.getsize(png):
            failures.append("netsim report did not produce a PNG")
    for f in failures:
        log(f"FAIL: {f}")
    if not failures and not args.out:
        shutil.rmtree(out, ignore_errors=True)
        out = "removed; pass --out DIR to keep them"
    log(f"selftest {'passed' if not failures else 'FAILED'} in {time.monotonic() - t0:.0f} s "
        f"(results: {out})")
    return 0 if not failures else 1


def persist_hijack_refused(row):
    """Issue 16: a DNS hijack of one remote perspective (unsigned zone) serves a dns-persist-01
    record naming the attacker's account; that remote passes the attacker, the others refuse
    it, and the decision is NOT_CORROBORATED for the attacker, CORROBORATED for the owner."""
    if (row["method"] != "dns-persist-01" or row["kind"] != "prefix-hijack"
            or row["target"] != "ns" or row["zone"] != "unsigned"
            or row["captured_count"] != 1 or row["primary_captured"]):
        return False
    hijacked = row["captured"][0]
    attacker, owner = row["attacker"], row["owner"]
    others = [v for n, v in attacker.get("verdicts", {}).items() if n != hijacked]
    return (attacker.get("verdicts", {}).get(hijacked) == "valid"
            and attacker.get("details", {}).get(hijacked, {}).get("dcv", {}).get(
                "persist_accounturi") == simfleet.ACCOUNT["attacker"]
            and others and all(v == "invalid" for v in others)
            and attacker["decision"] == "NOT_CORROBORATED"
            and owner["decision"] == "CORROBORATED" and row["ok"])


def report(results, png):
    """Attack success against captured perspectives, one line per fleet/policy (gnuplot)."""
    with open(results) as f:
        data = json.load(f)
    rows = [r for r in data["rows"] if r["kind"] not in ("subprefix-hijack",)]
    series = {}
    for r in rows:
        # Only cases where a captured perspective hands the attacker a pass: that is where the
        # quorum is the only defence.
        if simpolicy.VIEW_OK[r["view"]][1]:
            key = f"{r['fleet']}: {r['policy']}"
            if r.get("capture_order") == "remotes-first":
                key += " [remotes captured first]"
            k = r["captured_count"]
            n, won = series.setdefault(key, {}).get(k, (0, 0))
            series[key][k] = (n + 1, won + (1 if r["attacker_certificate"] else 0))
    if not series:
        log("no attack cases that could succeed in this results file")
        return 1
    tmp = tempfile.mkdtemp(prefix="mpic-netsim-plot.")
    try:
        plots = []
        for i, (key, points) in enumerate(sorted(series.items())):
            path = os.path.join(tmp, f"s{i}.dat")
            with open(path, "w") as f:
                for k in sorted(points):
                    n, won = points[k]
                    f.write(f"{k} {won / n:.4f}\n")
            title = key.replace('"', "'")
            plots.append(f'"{path}" using 1:2 with linespoints lw 2 pt 7 title "{title}"')
        script = "\n".join([
            "set terminal pngcairo size 1000,600 enhanced font 'sans,10'" if _has_cairo()
            else "set terminal png size 1000,600",
            f"set output '{png}'",
            f"set title 'mpic netsim: attacker obtains a certificate ({data.get('scenario', '')})'",
            "set xlabel 'captured perspectives (the primary first unless noted)'",
            "set ylabel 'fraction of attack cases approved for the attacker'",
            "set yrange [-0.05:1.05]", "set xtics 1", "set grid", "set key right bottom box opaque",
            "plot " + ", \\\n  ".join(plots), ""])
        p = subprocess.run(["gnuplot"], input=script, capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            log(f"gnuplot failed: {p.stderr.strip()}")
            return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"plot: {png}")
    return 0


def _has_cairo():
    p = subprocess.run(["gnuplot", "-e", "set terminal"], capture_output=True, text=True,
                       timeout=30)
    return "pngcairo" in (p.stdout + p.stderr)


def cmd_report(args):
    if not shutil.which("gnuplot"):
        log("gnuplot not found (Debian package gnuplot-nox)")
        return 3
    out = args.out or os.path.splitext(args.results)[0] + ".png"
    try:
        return report(args.results, out)
    except (OSError, ValueError, KeyError) as e:
        log(f"cannot read {args.results}: {e}")
        return 2


def main():
    parser = argparse.ArgumentParser(prog="mpic netsim", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="run a scenario against a real fleet")
    p.add_argument("scenario")
    p.add_argument("--out", help="directory for results.json / results.csv")
    p.add_argument("--bin-dir", help="where va-primary, va-remote and mpic are")
    p.add_argument("--keep", help="work directory to keep (configs, logs, zones, PKI)")
    p = sub.add_parser("report", help="plot a results.json (gnuplot PNG)")
    p.add_argument("results")
    p.add_argument("--out", help="PNG file (default: beside the results)")
    p = sub.add_parser("selftest", help="the CI matrix with its assertions")
    p.add_argument("--bin-dir")
    p.add_argument("--out")
    p.add_argument("--scenario")
    sub.add_parser("cleanup", help="remove namespaces left by crashed runs")
    args = parser.parse_args()
    handler = {"run": cmd_run, "report": cmd_report, "selftest": cmd_selftest,
               "cleanup": cmd_cleanup}[args.command]
    sys.exit(handler(args))


if __name__ == "__main__":
    main()
