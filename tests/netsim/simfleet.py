"""simfleet: the DNS hierarchy, the mTLS PKI and the real va-primary/va-remote processes (the
latter started by `mpic netsim fleet`, the lab's one fleet launcher).

The DNS reuses dnslab (zones, keys, dnssec-signzone, NSD configuration, cleanup) with its own
addresses: root and lab. on the dns host, the victim's signed and unsigned zones on the
victim host, each NSD started inside its namespace.
"""

import json
import os
import re
import select
import signal
import subprocess
import sys

import simnet
from simnet import in_netns, pdeathsig_preexec


def _dnslab_dir():
    """dnslab.py: installed beside us (share/mpic/dnslab), else in the source tree (lab/)."""
    here = os.path.dirname(os.path.abspath(__file__))
    data = os.environ.get("MPIC_DATA_DIR")
    for d in ([os.path.join(data, "dnslab")] if data else []) + [
            os.path.join(here, "..", "dnslab"), os.path.join(here, "..", "..", "lab")]:
        if os.path.isfile(os.path.join(d, "dnslab.py")):
            return d
    raise ImportError("dnslab.py not found (set MPIC_DATA_DIR to mpic's share/mpic)")


sys.path.insert(0, _dnslab_dir())
import dnslab  # noqa: E402  (reused: Zone, Key, Server, signing, cleanup)

READY_TIMEOUT_S = 30.0
PORT = 7000
CA_ISSUER = "ca.example"
ACCOUNT = {"owner": "https://ca.example/acct/owner", "attacker": "https://ca.example/acct/evil"}
ZONES = {"signed": "victim-signed.lab.", "unsigned": "victim-unsigned.lab."}
PERSIST_LABEL = "_validation-persist"


def persist_value(account, width=0):
    """The dns-persist-01 TXT value (draft-ietf-acme-dns-persist §4.1, BR §3.2.2.4.22) that
    authorizes CA_ISSUER for `account`. `width`: pad with blanks after the issuer domain name
    (RFC 8659 §4.2 allows *WSP there) to that many octets, so that the attacker's DNS can put
    its own record in place of the owner's without changing the message length; None when the
    record is longer than `width`."""
    tail = f"; accounturi={account}"
    if width and len(CA_ISSUER) + len(tail) > width:
        return None
    return CA_ISSUER + " " * max(0, width - len(CA_ISSUER) - len(tail)) + tail


class FleetError(Exception):
    pass


class NetnsServer(dnslab.Server):
    """A dnslab NSD started inside a namespace, optionally on extra addresses."""

    def __init__(self, netns, extra, *args):
        super().__init__(*args)
        self.netns, self.extra = netns, extra

    def write_conf(self, zones_dir):
        super().write_conf(zones_dir)
        with open(self.conf) as f:
            text = f.read()
        extra = "".join(f"  ip-address: {a}\n" for a in self.extra)
        with open(self.conf, "w") as f:
            f.write(text.replace("  port: 53\n", extra + "  port: 53\n", 1))

    def start(self, nsd_path):
        err = open(os.path.join(self.dir, "stderr.log"), "ab")
        try:
            self.proc = subprocess.Popen(
                ["ip", "netns", "exec", self.netns, nsd_path, "-d", "-c", self.conf],
                stdin=subprocess.DEVNULL, stdout=err, stderr=err, start_new_session=True,
                preexec_fn=dnslab._child_setup(os.getpid()))
        finally:
            err.close()


class SimDns(dnslab.Lab):
    """The lab's hierarchy on netsim addresses: `.`, `lab.`, the victim's two zones."""

    def __init__(self, base_dir, net, owner_txt):
        super().__init__(base_dir, created_dir=False)
        self.net = net
        self.owner_txt = owner_txt

    def addr(self, host):  # dnslab.HOST numbering: 1 root, 2 tld
        return simnet.DNS_SERVICE["root" if host == dnslab.HOST["root"] else "tld"]

    def build_zones(self):
        root = dnslab.Zone(".", "root", "secure", None, "a.root-servers.lab.")
        lab = dnslab.Zone("lab.", "tld", "secure", None, "ns.lab.")
        root.add(".", "NS", root.ns_name)
        root.add("a.root-servers.lab.", "A", simnet.DNS_SERVICE["root"])
        root.add("lab.", "NS", lab.ns_name)
        root.add("ns.lab.", "A", simnet.DNS_SERVICE["tld"])
        lab.add("lab.", "NS", lab.ns_name)
        lab.add("ns.lab.", "A", simnet.DNS_SERVICE["tld"])
        lab.add("a.root-servers.lab.", "A", simnet.DNS_SERVICE["root"])
        zones = [root, lab]
        servers = {"root": ("dns", simnet.DNS_SERVICE["root"], []),
                   "tld": ("dns", simnet.DNS_SERVICE["tld"], [])}
        for kind, name in ZONES.items():
            z = dnslab.Zone(name, kind, "secure" if kind == "signed" else "insecure", None,
                            "ns." + name)
            lab.add(name, "NS", z.ns_name)
            lab.add(z.ns_name, "A", simnet.VICTIM_NS[kind])
            z.add("@", "NS", z.ns_name)
            z.add(z.ns_name, "A", simnet.VICTIM_NS[kind])
            z.add("@", "CAA", f'0 issue "{CA_ISSUER}"')
            z.add("www", "A", simnet.VICTIM_WEB)
            z.add("_acme-challenge.www", "TXT", f'"{self.owner_txt}"')
            # dns-persist-01: a standing record naming the CA and the owner's account.
            z.add(PERSIST_LABEL + ".www", "TXT", f'"{persist_value(ACCOUNT["owner"])}"')
            # CAA with RFC 8657 accounturi: only the owner's account may get certificates.
            z.add("caa", "A", simnet.VICTIM_WEB)
            z.add("caa", "CAA", f'0 issue "{CA_ISSUER}; accounturi={ACCOUNT["owner"]}"')
            zones.append(z)
            servers[kind] = ("victim", simnet.VICTIM_NS[kind], [simnet.VICTIM_NS_BACKEND[kind]])
        for z in zones:
            host, addr, extra = servers[z.role]
            srv = NetnsServer(self.net.ns(host), extra, z.role, addr, z.name,
                              z.file_label + (".zone.signed" if z.signed else ".zone"), self.dir)
            z.server = srv
            self.zones[z.name] = z
            self.servers[z.role] = srv

    # dnslab.Lab.start() does the rest: keys, signing, DS, NSD configs, servers, anchors.
    def acquire_block(self):
        pass  # fixed netsim addresses, each in its own namespace: nothing to lock

    def start_blackhole(self):
        pass

    def wait_ready(self):
        with in_netns(self.net.ns("core")):  # the servers are reachable from the core
            self.wait_serving(list(self.zones.values()), dnslab.READY_TIMEOUT_S)

    def describe(self, elapsed):
        return {"dir": self.dir, "root_hints": os.path.join(self.dir, "root.hints"),
                "trust_anchor": os.path.join(self.dir, "root.key"),
                "servers": {r: s.addr for r, s in self.servers.items()},
                "zones": list(self.zones), "start_seconds": round(elapsed, 3)}


# --- PKI ------------------------------------------------------------------------------------


def make_pki(bin_dir, directory, members):
    """Fleet CA and one EC P-256 certificate per member: {name: [ip, ...]}, made by
    `mpic netsim pki` (lab::Pki, the same code as every other fleet): DIR/ca.pem,
    DIR/<name>.pem, DIR/<name>.key (0600); serverAuth and clientAuth, SANs name and ips."""
    argv = [os.path.join(bin_dir, "mpic"), "netsim", "pki", "--dir", directory]
    for name, ips in members.items():
        argv += ["--member", name + ("=" + ",".join(ips) if ips else "")]
    subprocess.run(argv, check=True, capture_output=True, timeout=60)


# --- processes -----------------------------------------------------------------------------


class Launcher:
    """One `mpic netsim fleet --spec FILE`: the lab's fleet launcher (lab/fleet_member.h, the
    same code as `mpic fleet up`) writes the members' configs, starts each in its namespace and
    waits for its ready file; it prints one JSON line when all are ready and keeps them running
    until its stdin ends. Its own messages go to `log_file`."""

    def __init__(self, bin_dir, spec, spec_file, log_file):
        with open(spec_file, "w") as f:
            json.dump(spec, f, indent=2)
        self.name, self.log_file = os.path.basename(spec_file), log_file
        with open(log_file, "ab") as log:
            self.popen = subprocess.Popen(
                [os.path.join(bin_dir, "mpic"), "netsim", "fleet", "--spec", spec_file],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                start_new_session=True, preexec_fn=pdeathsig_preexec())
        line = self._first_line(READY_TIMEOUT_S + 15)
        try:
            self.ready = json.loads(line)["ready"] if line else None
        except (ValueError, KeyError, TypeError):
            self.ready = None
        if self.ready is None:
            self.stop()
            how = "not ready" if line is None else f"exited {self.popen.returncode}"
            raise FleetError(f"mpic netsim fleet ({self.name}) {how}:\n{self.tail()}")

    def _first_line(self, timeout):
        """Its first stdout line; "" at EOF (it failed), None when none came in `timeout`."""
        ready, _, _ = select.select([self.popen.stdout], [], [], timeout)
        if not ready:
            return None
        return self.popen.stdout.readline().decode(errors="replace")

    def tail(self, n=20):
        try:
            with open(self.log_file, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def stop(self, timeout=20.0):
        """Closes its stdin: it stops its members (SIGTERM, bounded wait, SIGKILL) and exits;
        SIGKILL after `timeout` (its members then die with it: PR_SET_PDEATHSIG)."""
        try:
            self.popen.stdin.close()
        except OSError:
            pass
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.popen.wait(timeout=2)
        except subprocess.TimeoutExpired:
            pass
        self.popen.stdout.close()


def identity_json(p):
    return {"name": p["name"], "rir": p["rir"],
            "location": {"latitude": p["lat"], "longitude": p["lon"]},
            "region": p.get("region", "")}


class Fleet:
    """The va-remote processes (one launcher for the run) and va-primary (one launcher per
    fleet entry, restarted with its remote set and policy), described for `mpic netsim fleet`
    (spec format: docs/netsim.md)."""

    def __init__(self, net, bin_dir, work, dns_dir, timeouts):
        self.net, self.bin_dir, self.work = net, bin_dir, work
        self.pki = os.path.join(work, "pki")
        self.dns_dir = dns_dir
        self.timeouts = timeouts
        self.remotes = None  # Launcher
        self.primary = None  # Launcher
        self.primary_desc = None
        for d in ("config", "logs"):
            os.makedirs(os.path.join(work, d), exist_ok=True)

    def _spec(self):
        return {"dir": self.work, "bin_dir": self.bin_dir, "pki_dir": self.pki,
                "root_hints": os.path.join(self.dns_dir, "root.hints"),
                "trust_anchor": os.path.join(self.dns_dir, "root.key"),
                # LAB_NET (10.77.0.0/16) is private: acknowledged explicitly; it exists only
                # inside the network namespaces this run created.
                "lab": {"allow_cidrs": simnet.ALLOW_CIDRS, "allow_private_ranges": True},
                "max_check_ms": self.timeouts["check_ms"],
                "ready_timeout_ms": int(READY_TIMEOUT_S * 1000)}

    def _launch(self, spec, tag):
        return Launcher(self.bin_dir, spec,
                        os.path.join(self.work, "config", f"fleet-{tag}.spec.json"),
                        os.path.join(self.work, "logs", f"fleet-{tag}.log"))

    def start_remotes(self, perspectives, primary_name):
        """Starts va-remote for each perspective; only `primary_name`'s certificate may call."""
        spec = self._spec()
        spec["remotes"] = [{"identity": identity_json(p), "netns": self.net.ns(p["name"]),
                            "listen": f"{self.net.addr(p['name'])}:{PORT}",
                            "authorized_primaries": [primary_name], "max_concurrent": 64}
                           for p in perspectives]
        self.remotes = self._launch(spec, "remotes")

    def start_primary(self, identity, remotes, policy, tag):
        """(Re)starts va-primary with this remote set and policy."""
        if self.primary is not None:
            self.primary.stop()
            self.primary = None
        tag = re.sub(r"[^A-Za-z0-9._-]", "_", tag)[:40]
        spec = self._spec()
        spec["primary"] = {
            "identity": identity_json(identity), "netns": self.net.ns("primary"),
            "listen": f"{self.net.addr('primary')}:{PORT}", "file_name": f"va-primary-{tag}",
            "remotes": [{"identity": identity_json(r),
                         "address": f"{self.net.addr(r['name'])}:{PORT}",
                         "tls_server_name": r["name"]} for r in remotes],
            "policy": policy, "remotes_per_validation": len(remotes),
            "remote_timeout_ms": self.timeouts["remote_ms"],
            "straggler_grace_ms": self.timeouts["grace_ms"],
            "audit_log": os.path.join(self.work, "audit.jsonl"),
            "authorized_clients": ["mpic-ca-client"]}
        self.primary_desc = identity
        self.primary = self._launch(spec, f"primary-{tag}")

    def validate(self, method, identifier, key_authorization, account, timeout_s=30):
        """One Validate through `mpic validate --json`, run in the primary's namespace."""
        cmd = ["ip", "netns", "exec", self.net.ns("primary"), f"{self.bin_dir}/mpic", "validate",
               "--primary", f"{self.net.addr('primary')}:{PORT}",
               "--ca-cert", f"{self.pki}/ca.pem", "--cert", f"{self.pki}/mpic-ca-client.pem",
               "--key", f"{self.pki}/mpic-ca-client.key",
               "--server-name", self.primary_desc["name"], "--identifier", identifier,
               "--caa-issuer", CA_ISSUER, "--account-uri", account, "--json",
               "--timeout-ms", str(int(timeout_s * 1000) - 2000)]
        if method == "caa":
            cmd += ["--skip-dcv"]
        elif method == "dns-persist-01":  # no key authorization: the record names the account
            cmd += ["--method", method]
        else:
            cmd += ["--method", method, "--key-authorization", key_authorization]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
        if p.returncode != 0:
            raise FleetError(f"mpic validate exited {p.returncode}: {p.stderr.strip()[-400:]}")
        return json.loads(p.stdout)

    def stop(self):
        """The primary first (no new fan-out), then the remotes."""
        for attr in ("primary", "remotes"):
            launcher = getattr(self, attr)
            if launcher is not None:
                setattr(self, attr, None)
                launcher.stop()
