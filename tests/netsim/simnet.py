"""simnet: the emulated network of netsim — namespaces, veth links, routes and attacks.

One Linux network namespace per host, all named PREFIX-<ownerpid>-<role>; every host is
linked to the core router by one veth pair created *inside* the core namespace (nothing is
ever created in, or linked to, the initial namespace; there is no default route anywhere), so
no packet can leave the emulated network. Attacks are `ip rule` / route / nftables changes in
the core, applied and removed between validations. See docs/netsim.md for the address plan.
Delay attacks route the captured perspectives' traffic to a second attacker host, the relay,
which holds it back and then forwards it to the real victim (simservers.DelayRelay): real
packets, no `tc netem` needed.
"""

import contextlib
import ctypes
import os
import re
import signal
import subprocess
import time

PREFIX = "mpicsim"
CLONE_NEWNET = 0x40000000
CMD_TIMEOUT_S = 20.0

# --- the address plan (docs/netsim.md) ------------------------------------------------------
LAB_NET = "10.77.0.0/16"           # infrastructure: links and the DNS hierarchy
DNS_SERVICE = {"root": "10.77.0.1", "tld": "10.77.0.2"}   # on the dns host's loopback
VICTIM_WEB_PREFIX = "198.51.100.0/24"   # TEST-NET-2: the victim's web/TLS prefix
VICTIM_WEB = "198.51.100.80"
VICTIM_WEB_SUBPREFIX = "198.51.100.0/25"
VICTIM_NS_PREFIX = "203.0.113.0/24"     # TEST-NET-3: the victim's name-server prefix
VICTIM_NS_SUBPREFIX = "203.0.113.0/25"
VICTIM_NS = {"signed": "203.0.113.53", "unsigned": "203.0.113.54"}
ATTACKER_PREFIX = "192.0.2.0/24"        # TEST-NET-1: the attacker's own prefix
ATTACKER_WEB = "192.0.2.80"
ALLOW_CIDRS = [LAB_NET, VICTIM_WEB_PREFIX, VICTIM_NS_PREFIX, ATTACKER_PREFIX]
ROUTED = ALLOW_CIDRS  # what every host routes to the core (no default route)
HIJACK_TABLE = 100     # core routing table that sends the victim's prefixes to the attacker
DELAY_TABLE = 101      # core routing table that sends the victim's prefixes to the relay
RULE_PREF_BASE = 1000  # core `ip rule` preferences: 1000 + link number
# Link numbers: 10.77.<link>.1 is the core, 10.77.<link>.2 the host.
LINK_DNS, LINK_VICTIM, LINK_ATTACKER, LINK_RELAY, LINK_PRIMARY, LINK_REMOTE0 = 1, 2, 3, 4, 10, 11
# The victim's name servers also listen on these link addresses: the interceptor's path to
# the real servers (the attacker holds 203.0.113.x itself while it intercepts).
VICTIM_NS_BACKEND = {"signed": "10.77.2.53", "unsigned": "10.77.2.54"}
# The victim's web/TLS servers listen on every address: its link address is the relay's path.
VICTIM_WEB_BACKEND = "10.77.2.2"

TARGETS = {"web": (VICTIM_WEB_PREFIX, VICTIM_WEB_SUBPREFIX),
           "ns": (VICTIM_NS_PREFIX, VICTIM_NS_SUBPREFIX)}

_libc = ctypes.CDLL(None, use_errno=True)
PR_SET_PDEATHSIG = 1


class NetError(Exception):
    pass


def link_addr(link, host=2):
    return f"10.77.{link}.{host}"


def run(cmd, input_text=None, check=True, timeout=CMD_TIMEOUT_S):
    p = subprocess.run(cmd, input=input_text, capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise NetError(f"{' '.join(cmd)}: {p.stderr.strip() or p.stdout.strip()}")
    return p


def ip_batch(netns, lines):
    """Runs `ip` commands in one process: `ip -n NS -batch -`."""
    if lines:
        run(["ip", "-n", netns, "-batch", "-"], input_text="\n".join(lines) + "\n")


@contextlib.contextmanager
def in_netns(name):
    """Switches the calling thread into namespace `name`; sockets created inside stay there."""
    with open("/proc/thread-self/ns/net") as orig, open(f"/run/netns/{name}") as target:
        if _libc.setns(target.fileno(), CLONE_NEWNET) != 0:
            raise NetError(f"setns {name}: errno {ctypes.get_errno()}")
        try:
            yield
        finally:
            if _libc.setns(orig.fileno(), CLONE_NEWNET) != 0:
                os._exit(70)  # never keep running in the wrong namespace


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def owner_alive(pid):
    """The run that named a namespace still runs: that pid is alive and is a netsim harness
    (a pid reused by another program does not keep a leftover alive)."""
    if not pid_alive(pid):
        return False
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"netsim" in f.read()
    except OSError:
        return False


def list_netns():
    p = run(["ip", "netns", "list"], check=False)
    return [line.split()[0] for line in p.stdout.splitlines() if line.strip()]


def kill_netns_processes(name):
    """SIGKILLs whatever still runs inside namespace `name` (bounded)."""
    for _ in range(5):
        p = run(["ip", "netns", "pids", name], check=False)
        pids = [int(x) for x in p.stdout.split() if x.isdigit() and int(x) != os.getpid()]
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.1)


def remove_leftovers(log):
    """Removes namespaces of earlier runs whose owner process is dead. Returns their names."""
    removed = []
    pattern = re.compile(rf"^{PREFIX}-(\d+)-")
    for name in list_netns():
        m = pattern.match(name)
        if not m or owner_alive(int(m.group(1))):
            continue
        kill_netns_processes(name)
        run(["ip", "netns", "del", name], check=False)
        removed.append(name)
    if removed:
        log(f"removed {len(removed)} leftover namespace(s) of a crashed run: "
            f"{', '.join(sorted(removed))}")
    return removed


class Network:
    """The namespaces and links of one run. `hosts`: role -> link number."""

    def __init__(self, primary_name, remotes, log):
        self.log = log
        self.alias = {primary_name: "primary"}
        self.run_id = f"{PREFIX}-{os.getpid()}"
        self.hosts = {"dns": LINK_DNS, "victim": LINK_VICTIM, "attacker": LINK_ATTACKER,
                      "relay": LINK_RELAY, "primary": LINK_PRIMARY}
        for i, name in enumerate(remotes):
            self.hosts[name] = LINK_REMOTE0 + i
        self.created = []
        self.active = []  # descriptions of the attack currently applied

    def ns(self, role):
        return f"{self.run_id}-{'core' if role == 'core' else self._short(role)}"

    def link(self, role):
        return self.hosts[self.alias.get(role, role)]

    def _short(self, role):
        link = self.link(role)
        named = {LINK_DNS: "dns", LINK_VICTIM: "victim", LINK_ATTACKER: "attacker",
                 LINK_RELAY: "relay", LINK_PRIMARY: "primary"}
        return named.get(link, f"r{link - LINK_REMOTE0 + 1}")

    def core_if(self, role):
        return f"c-{self._short(role)}"[:15]

    def addr(self, role):
        return link_addr(self.link(role))

    # --- building ------------------------------------------------------------------------

    def build(self):
        t0 = time.monotonic()
        names = [self.ns("core")] + [self.ns(r) for r in self.hosts]
        for name in names:
            run(["ip", "netns", "add", name])
            self.created.append(name)
        core = self.ns("core")
        lines = ["link set lo up"]
        for role, link in self.hosts.items():
            cif = self.core_if(role)
            lines += [f"link add {cif} type veth peer name eth0 netns {self.ns(role)}",
                      f"addr add {link_addr(link, 1)}/24 dev {cif}",
                      f"link set {cif} up"]
        # Main table: each prefix to the host that originates it.
        lines += [f"route add 10.77.0.0/24 via {self.addr('dns')}",
                  f"route add {VICTIM_WEB_PREFIX} via {self.addr('victim')}",
                  f"route add {VICTIM_NS_PREFIX} via {self.addr('victim')}",
                  f"route add {ATTACKER_PREFIX} via {self.addr('attacker')}",
                  # The hijack table: the victim's prefixes, as the attacker announces them.
                  f"route add {VICTIM_WEB_PREFIX} via {self.addr('attacker')} table {HIJACK_TABLE}",
                  f"route add {VICTIM_NS_PREFIX} via {self.addr('attacker')} table {HIJACK_TABLE}",
                  # The delay table: the same, to the attacker's delaying relay.
                  f"route add {VICTIM_WEB_PREFIX} via {self.addr('relay')} table {DELAY_TABLE}",
                  f"route add {VICTIM_NS_PREFIX} via {self.addr('relay')} table {DELAY_TABLE}"]
        ip_batch(core, lines)
        sysctl = ["net.ipv4.ip_forward=1", "net.ipv4.conf.all.rp_filter=0",
                  "net.ipv4.conf.default.rp_filter=0"]
        sysctl += [f"net.ipv4.conf.{self.core_if(r)}.rp_filter=0" for r in self.hosts]
        run(["ip", "netns", "exec", core, "sysctl", "-q", "-w"] + sysctl)
        run(["ip", "netns", "exec", core, "nft", "-f", "-"], input_text=(
            "table inet netsim {\n chain forward {\n  type filter hook forward priority 0;"
            " policy accept;\n }\n}\n"))
        for role, link in self.hosts.items():
            lines = ["link set lo up", f"addr add {link_addr(link)}/24 dev eth0",
                     "link set eth0 up"]
            lines += [f"route add {net} via {link_addr(link, 1)}" for net in ROUTED
                      if net != LAB_NET]
            lines.append(f"route add {LAB_NET} via {link_addr(link, 1)}")
            lines += [f"addr add {a}/32 dev lo" for a in self.local_addresses(role)]
            ip_batch(self.ns(role), lines)
        for role in self.hosts:
            run(["ip", "netns", "exec", self.ns(role), "sysctl", "-q", "-w",
                 "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.eth0.rp_filter=0"])
        self.log(f"network: {len(names)} namespaces ({self.run_id}-*), core router, "
                 f"{len(self.hosts)} veth links ({time.monotonic() - t0:.1f} s)")

    def local_addresses(self, role):
        if role == "dns":
            return list(DNS_SERVICE.values())
        if role == "victim":
            return [VICTIM_WEB] + list(VICTIM_NS.values())
        if role == "attacker":
            # It holds the victim's addresses too; only hijacked traffic ever reaches them.
            return [ATTACKER_WEB, VICTIM_WEB] + list(VICTIM_NS.values())
        if role == "relay":  # the same, for traffic routed to it by a delay attack
            return [VICTIM_WEB] + list(VICTIM_NS.values())
        return []

    def add_victim_backends(self):
        ip_batch(self.ns("victim"),
                 [f"addr add {a}/24 dev eth0" for a in VICTIM_NS_BACKEND.values()])

    def destroy(self):
        for name in reversed(self.created):
            kill_netns_processes(name)
            run(["ip", "netns", "del", name], check=False)
        self.created = []

    # --- attacks -------------------------------------------------------------------------

    def reset(self):
        """Removes every attack: the network routes as the prefixes' owners announce them."""
        core = self.ns("core")
        rules = run(["ip", "-n", core, "rule", "show"]).stdout
        lines = [f"rule del pref {m}" for m in re.findall(r"^(\d+):", rules, re.M)
                 if RULE_PREF_BASE <= int(m) < RULE_PREF_BASE + 1000]
        routes = run(["ip", "-n", core, "route", "show"]).stdout
        for _, (_, sub) in TARGETS.items():
            if re.search(rf"^{re.escape(sub)} ", routes, re.M):
                lines.append(f"route del {sub}")
        ip_batch(core, lines)
        run(["ip", "netns", "exec", core, "nft", "flush", "chain", "inet", "netsim", "forward"])
        self.active = []

    def hijack(self, perspectives, target, table=HIJACK_TABLE):
        """Equally-specific hijack: these perspectives' traffic to the target prefix goes to the
        attacker (policy routing at the core, the way a BGP hijack splits the Internet), or
        with table=DELAY_TABLE to the attacker's delaying relay."""
        prefix = TARGETS[target][0]
        ip_batch(self.ns("core"), [
            f"rule add pref {RULE_PREF_BASE + self.link(p)} iif {self.core_if(p)} to {prefix} "
            f"lookup {table}" for p in perspectives])
        if table == HIJACK_TABLE:
            self.active.append(f"hijack {prefix} for {','.join(perspectives) or '-'}")

    def subprefix_hijack(self, target):
        """A more-specific route to the attacker: longest-prefix match captures everyone."""
        sub = TARGETS[target][1]
        ip_batch(self.ns("core"), [f"route add {sub} via {self.addr('attacker')}"])
        self.active.append(f"sub-prefix {sub}")

    def drop(self, perspectives, target, reject=False):
        prefix = TARGETS[target][0]
        verdict = "reject" if reject else "drop"
        rules = "".join(f"add rule inet netsim forward iifname \"{self.core_if(p)}\" ip daddr "
                        f"{prefix} {verdict}\n" for p in perspectives)
        if rules:
            run(["ip", "netns", "exec", self.ns("core"), "nft", "-f", "-"], input_text=rules)
        self.active.append(f"{verdict} {prefix} for {','.join(perspectives) or '-'}")

    def delay(self, perspectives, target, delay_ms):
        """These perspectives' traffic to the target prefix goes to the relay host, where a
        simservers.DelayRelay (started by the caller) holds it delay_ms, then forwards it to
        the real victim."""
        self.hijack(perspectives, target, table=DELAY_TABLE)
        self.active.append(f"delay {delay_ms} ms {TARGETS[target][0]} via relay for "
                           f"{','.join(perspectives) or '-'}")


def pdeathsig_preexec():
    parent = os.getpid()

    def setup():
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)
    return setup
