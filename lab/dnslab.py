#!/usr/bin/env python3
"""dnslab: a private DNSSEC-signed DNS hierarchy served by real NSD on loopback.

    python3 lab/dnslab.py serve --dir /tmp/x [--ready-file F] [--ignore-stdin]

Picks a free block 127.A.B.0/24 (held with an flock for the lab's whole life), generates
keys and zones (root ".", TLD "lab." and its children), signs them with dnssec-signzone,
starts one NSD per authoritative server on its own address of the block, waits until
every server answers, writes DIR/lab.json and prints one line {"ready":true,...}.
Then reads JSON commands from stdin (set, rekey, stop, ping, info), one per line, and
answers each with one JSON line. EOF on stdin means the parent died: clean up and exit.
See README.md beside this file for the address plan, the zones and the protocol.

Python 3 standard library only; needs nsd, dnssec-keygen and dnssec-signzone, and the
right to bind port 53 (root or CAP_NET_BIND_SERVICE).
"""

import argparse
import base64
import ctypes
import fcntl
import hashlib
import json
import os
import random
import re
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time

LOCK_DIR = "/tmp/mpic-dnslab-locks"
BLOCK_ATTEMPTS = 64
READY_TIMEOUT_S = 20.0
RELOAD_TIMEOUT_S = 10.0
TOOL_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 5.0
DEFAULT_TTL = 60
ALGORITHM = "ECDSAP256SHA256"  # DNSSEC algorithm 13: fast keys, short signatures.

# Last octet of each server's address inside the block.
HOST = {
    "root": 1,
    "tld": 2,
    "secure": 3,
    "insecure": 4,
    "bogus": 5,
    "expired": 6,
    "dead": 7,  # the blackhole: accepts and reads, never answers
}
# Addresses the zones' data points at ("www" names). Nothing listens there by default.
DATA_HOST = {"secure": 200, "insecure": 201, "bogus": 202, "expired": 203}
# A fixed ULA (fd00::/8, "lab" in hex) for www.secure.lab. AAAA; not routed anywhere.
WWW_AAAA = "fd00:6c61:6200::200"
FREE_HOSTS = range(100, 200)  # handed to tests for their own web/TLS servers

# Types the lab manages itself; "set" refuses them.
MANAGED_TYPES = {"SOA", "RRSIG", "NSEC", "NSEC3", "NSEC3PARAM", "DNSKEY"}
TYPE_RE = re.compile(r"^[A-Z][A-Z0-9]*$")
NAME_RE = re.compile(r"^(@|[A-Za-z0-9_*.-]+)$")

QTYPE = {"A": 1, "NS": 2, "SOA": 6, "TXT": 16, "AAAA": 28, "DS": 43, "DNSKEY": 48}


class LabError(Exception):
    """A failure to report to the caller ({"ok":false,"error":...})."""


class Terminate(BaseException):
    """Raised from signal handlers; unwinds to cleanup."""


def log(msg):
    print(f"dnslab[{os.getpid()}]: {msg}", file=sys.stderr, flush=True)


def find_tool(name):
    path = os.environ.get("PATH", "") + ":/usr/sbin:/sbin:/usr/bin:/bin"
    found = shutil.which(name, path=path)
    if not found:
        raise LabError(f"{name} not found (install nsd / bind9-utils)")
    return found


def norm_name(name, origin=None):
    """Lower-cases, makes absolute ("www" relative to origin, "@" is origin)."""
    name = name.strip().lower()
    if name == "@" and origin is not None:
        return origin
    if not name.endswith("."):
        if origin is None:
            name += "."
        else:
            name = name + "." + (origin if origin != "." else "")
    if name != "." and name.startswith("."):
        raise LabError(f"bad name {name!r}")
    return name


def in_zone(name, zone):
    return zone == "." or name == zone or name.endswith("." + zone)


def name_wire(name):
    out = b""
    for label in name.rstrip(".").split(".") if name != "." else []:
        raw = label.encode()
        out += bytes([len(raw)]) + raw
    return out + b"\x00"


# ---------------------------------------------------------------------------------------
# DNSSEC helpers (RFC 4034).


class Key:
    """One CSK (flags 257) that signs everything in its zone."""

    def __init__(self, base_path, zone):
        self.base_path = base_path  # .../Kzone.+013+tag (without .key / .private)
        self.zone = zone
        with open(base_path + ".key") as f:
            lines = [ln for ln in f if ln.strip() and not ln.startswith(";")]
        fields = lines[0].split()
        i = fields.index("DNSKEY")
        self.flags, self.proto, self.alg = int(fields[i + 1]), int(fields[i + 2]), int(fields[i + 3])
        self.pubkey_b64 = "".join(fields[i + 4:])
        self.rdata = struct.pack("!HBB", self.flags, self.proto, self.alg) + base64.b64decode(
            self.pubkey_b64)
        self.tag = key_tag(self.rdata)

    def dnskey_text(self):
        return f"{self.flags} {self.proto} {self.alg} {self.pubkey_b64}"

    def ds_text(self):
        digest = hashlib.sha256(name_wire(self.zone) + self.rdata).hexdigest().upper()
        return f"{self.tag} {self.alg} 2 {digest}"


def key_tag(rdata):
    acc = 0
    for i, b in enumerate(rdata):
        acc += b if i & 1 else b << 8
    acc += (acc >> 16) & 0xFFFF
    return acc & 0xFFFF


def utc_stamp(t):
    return time.strftime("%Y%m%d%H%M%S", time.gmtime(t))


# ---------------------------------------------------------------------------------------
# A tiny DNS client: enough to ask for a SOA serial (readiness and reload checks).


def _skip_name(msg, off):
    while True:
        if off >= len(msg):
            raise ValueError("truncated name")
        n = msg[off]
        if n == 0:
            return off + 1
        if n & 0xC0 == 0xC0:
            return off + 2
        off += 1 + n


def query_soa_serial(addr, zone, timeout):
    """Returns the SOA serial the server at addr gives authoritatively, or None."""
    qid = random.randrange(65536)
    packet = struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 0) + name_wire(zone) + struct.pack(
        "!HH", QTYPE["SOA"], 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        try:
            s.sendto(packet, (addr, 53))
            deadline = time.monotonic() + timeout
            while True:
                s.settimeout(max(0.01, deadline - time.monotonic()))
                msg, _ = s.recvfrom(4096)
                if len(msg) >= 12 and struct.unpack("!H", msg[:2])[0] == qid:
                    break
        except (OSError, socket.timeout):
            return None
    try:
        _, flags, qd, an, _, _ = struct.unpack("!HHHHHH", msg[:12])
        if flags & 0x000F != 0 or not flags & 0x0400:  # rcode NOERROR and AA
            return None
        off = 12
        for _ in range(qd):
            off = _skip_name(msg, off) + 4
        for _ in range(an):
            off = _skip_name(msg, off)
            rtype, _, _, rdlen = struct.unpack("!HHIH", msg[off:off + 10])
            off += 10
            if rtype == QTYPE["SOA"]:
                p = _skip_name(msg, _skip_name(msg, off))
                return struct.unpack("!I", msg[p:p + 4])[0]
            off += rdlen
    except (ValueError, struct.error, IndexError):
        return None
    return None


# ---------------------------------------------------------------------------------------
# Processes.

_libc = ctypes.CDLL(None, use_errno=True)
PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36


def _child_setup(parent_pid):
    def setup():
        # If the lab dies (even by SIGKILL) its NSDs get SIGTERM.
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent_pid:
            os._exit(1)
    return setup


def run_tools(cmds, cwd):
    """Runs commands in parallel; raises LabError with stderr if one fails."""
    procs = []
    try:
        for cmd in cmds:
            procs.append((cmd, subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL,
                                                stdout=subprocess.PIPE,
                                                stderr=subprocess.PIPE, text=True)))
        deadline = time.monotonic() + TOOL_TIMEOUT_S
        outs = []
        for cmd, p in procs:
            try:
                out, err = p.communicate(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                raise LabError(f"{os.path.basename(cmd[0])} timed out")
            if p.returncode != 0:
                raise LabError(f"{os.path.basename(cmd[0])} failed: {err.strip() or out.strip()}")
            outs.append(out)
        return outs
    finally:
        for _, p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


# ---------------------------------------------------------------------------------------
# The lab.


class Zone:
    def __init__(self, name, role, mode, server, ns_name):
        self.name = name          # "secure.lab."
        self.role = role          # server role: "secure"
        self.mode = mode          # secure | insecure | bogus | expired
        self.server = server      # Server or None
        self.ns_name = ns_name
        self.records = []         # [(owner, ttl, type, rdata)] without SOA/DNSKEY/DNSSEC
        self.serial = 1
        self.key = None
        self.key_gen = 0
        self.file_label = "root" if name == "." else name.rstrip(".")
        self.mtime_ns = 0

    @property
    def signed(self):
        return self.mode != "insecure"

    def add(self, owner, rtype, rdata, ttl=DEFAULT_TTL):
        self.records.append((norm_name(owner, self.name), ttl, rtype, rdata))

    def replace(self, owner, rtype, rdatas, ttl=DEFAULT_TTL):
        self.records = [r for r in self.records if not (r[0] == owner and r[2] == rtype)]
        for rd in rdatas:
            self.records.append((owner, ttl, rtype, rd))

    def text(self):
        hostmaster = "hostmaster." + (self.name if self.name != "." else "lab.")
        lines = [f"$ORIGIN {self.name}", f"$TTL {DEFAULT_TTL}",
                 f"{self.name} {DEFAULT_TTL} IN SOA {self.ns_name} {hostmaster} "
                 f"{self.serial} 1800 900 604800 {DEFAULT_TTL}"]
        if self.key is not None:
            lines.append(f"{self.name} {DEFAULT_TTL} IN DNSKEY {self.key.dnskey_text()}")
        for owner, ttl, rtype, rdata in self.records:
            lines.append(f"{owner} {ttl} IN {rtype} {rdata}")
        return "\n".join(lines) + "\n"


class Server:
    def __init__(self, role, addr, zone_name, zone_file, base_dir):
        self.role = role
        self.addr = addr
        self.zone_name = zone_name
        self.dir = os.path.join(base_dir, "nsd", role)
        self.conf = os.path.join(self.dir, "nsd.conf")
        self.zone_file = zone_file
        self.proc = None

    def write_conf(self, zones_dir):
        os.makedirs(self.dir, exist_ok=True)
        d = self.dir
        conf = f"""# Generated by dnslab.py; one NSD per lab server.
server:
  ip-address: {self.addr}
  port: 53
  do-ip4: yes
  do-ip6: no
  server-count: 1
  reuseport: no
  username: ""
  chroot: ""
  zonesdir: "{zones_dir}"
  pidfile: "{d}/nsd.pid"
  xfrdfile: "{d}/xfrd.state"
  xfrdir: "{d}"
  zonelistfile: "{d}/zone.list"
  database: ""
  logfile: "{d}/nsd.log"
  verbosity: 0
  hide-version: yes
  tcp-count: 32
  rrl-size: 1024
  rrl-ratelimit: 0
  rrl-whitelist-ratelimit: 0
  zonefiles-check: yes
  zonefiles-write: 0
remote-control:
  control-enable: no
zone:
  name: "{self.zone_name}"
  zonefile: "{self.zone_file}"
"""
        with open(self.conf, "w") as f:
            f.write(conf)

    def start(self, nsd_path):
        err = open(os.path.join(self.dir, "stderr.log"), "ab")
        try:
            self.proc = subprocess.Popen(
                [nsd_path, "-d", "-c", self.conf], stdin=subprocess.DEVNULL,
                stdout=err, stderr=err, start_new_session=True,
                preexec_fn=_child_setup(os.getpid()))
        finally:
            err.close()

    def log_tail(self):
        out = []
        for name in ("stderr.log", "nsd.log"):
            try:
                with open(os.path.join(self.dir, name), errors="replace") as f:
                    out.extend(f.read().splitlines()[-5:])
            except OSError:
                pass
        return " | ".join(out)


class Blackhole:
    """UDP and TCP sockets on port 53 that read everything and never answer."""

    MAX_CONNS = 256

    def __init__(self, addr, selector):
        self.sel = selector
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind((addr, 53))
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind((addr, 53))
        self.tcp.listen(64)
        self.conns = []
        for s in (self.udp, self.tcp):
            s.setblocking(False)
            self.sel.register(s, selectors.EVENT_READ, self._on_ready)

    def _on_ready(self, sock):
        try:
            if sock is self.udp:
                for _ in range(64):
                    self.udp.recvfrom(65535)
            elif sock is self.tcp:
                conn, _ = self.tcp.accept()
                conn.setblocking(False)
                self.conns.append(conn)
                self.sel.register(conn, selectors.EVENT_READ, self._on_ready)
                if len(self.conns) > self.MAX_CONNS:
                    self._drop(self.conns[0])
            elif not sock.recv(65535):
                self._drop(sock)
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            if sock not in (self.udp, self.tcp):
                self._drop(sock)

    def _drop(self, conn):
        try:
            self.sel.unregister(conn)
        except (KeyError, ValueError):
            pass
        conn.close()
        if conn in self.conns:
            self.conns.remove(conn)

    def close(self):
        for conn in list(self.conns):
            self._drop(conn)
        for s in (self.udp, self.tcp):
            try:
                self.sel.unregister(s)
            except (KeyError, ValueError):
                pass
            s.close()


class Lab:
    def __init__(self, base_dir, created_dir):
        self.dir = os.path.abspath(base_dir)
        self.created_dir = created_dir
        self.zones_dir = os.path.join(self.dir, "zones")
        self.keys_dir = os.path.join(self.dir, "keys")
        self.work_dir = os.path.join(self.dir, "work")
        self.lock_fd = None
        self.block = None
        self.servers = {}
        self.zones = {}
        self.blackhole = None
        # poll(2), unlike epoll, accepts any stdin (a file, /dev/null).
        self.sel = selectors.PollSelector()
        self.tools = {}
        self.descriptor = None

    # -- setup -------------------------------------------------------------------------

    def addr(self, host):
        return f"{self.block}.{host}"

    def acquire_block(self):
        os.makedirs(LOCK_DIR, exist_ok=True)
        try:
            os.chmod(LOCK_DIR, 0o1777)
        except OSError:
            pass
        rng = random.SystemRandom()
        for _ in range(BLOCK_ATTEMPTS):
            block = f"127.{rng.randint(100, 199)}.{rng.randint(0, 255)}"
            fd = os.open(os.path.join(LOCK_DIR, block + ".lock"), os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            if self._ports_free(block):
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()} {self.dir}\n".encode())
                self.lock_fd, self.block = fd, block
                return
            os.close(fd)  # something outside the lab protocol holds a port there
        raise LabError(f"no free 127.x.y.0/24 block after {BLOCK_ATTEMPTS} attempts")

    def _ports_free(self, block):
        for host in HOST.values():
            for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                with socket.socket(socket.AF_INET, kind) as s:
                    if kind == socket.SOCK_STREAM:
                        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    try:
                        s.bind((f"{block}.{host}", 53))
                    except PermissionError:
                        raise LabError("cannot bind port 53: run as root or grant "
                                       "CAP_NET_BIND_SERVICE")
                    except OSError:
                        return False
        return True

    def build_zones(self):
        a = self.addr
        root = Zone(".", "root", "secure", None, "a.root-servers.lab.")
        lab = Zone("lab.", "tld", "secure", None, "ns.lab.")
        children = [
            Zone("secure.lab.", "secure", "secure", None, "ns.secure.lab."),
            Zone("insecure.lab.", "insecure", "insecure", None, "ns.insecure.lab."),
            Zone("bogus.lab.", "bogus", "bogus", None, "ns.bogus.lab."),
            Zone("expired.lab.", "expired", "expired", None, "ns.expired.lab."),
        ]
        # Root: the lab. delegation with glue; the root server's own name lives in lab.
        root.add(".", "NS", root.ns_name)
        root.add("a.root-servers.lab.", "A", a(HOST["root"]))
        root.add("lab.", "NS", lab.ns_name)
        root.add("ns.lab.", "A", a(HOST["tld"]))
        # lab.: its own data, then one delegation per child (DS added once keys exist).
        lab.add("lab.", "NS", lab.ns_name)
        lab.add("ns.lab.", "A", a(HOST["tld"]))
        lab.add("a.root-servers.lab.", "A", a(HOST["root"]))
        for z in children + [Zone("dead.lab.", "dead", "insecure", None, "ns.dead.lab.")]:
            lab.add(z.name, "NS", z.ns_name)
            lab.add(z.ns_name, "A", a(HOST[z.role]))
        for z in children:
            z.add("@", "NS", z.ns_name)
            z.add(z.ns_name, "A", a(HOST[z.role]))
            z.add("www", "A", a(DATA_HOST[z.role]))
        s = children[0]
        s.add("@", "CAA", '0 issue "ca.example"')
        s.add("www", "AAAA", WWW_AAAA)
        s.add("txt", "TXT", '"part1" "part2"')
        s.add("_acme-challenge.www", "TXT", '"lab-token"')
        s.add("aonly", "A", a(DATA_HOST["secure"]))
        s.add("cname-secure", "CNAME", "www.secure.lab.")
        s.add("chain1", "CNAME", "chain2.secure.lab.")
        s.add("chain2", "CNAME", "chain3.secure.lab.")
        s.add("chain3", "CNAME", "www.secure.lab.")
        s.add("cname-insecure", "CNAME", "www.insecure.lab.")
        s.add("cname-bogus", "CNAME", "www.bogus.lab.")
        s.add("cname-expired", "CNAME", "www.expired.lab.")
        s.add("loop1", "CNAME", "loop2.secure.lab.")
        s.add("loop2", "CNAME", "loop1.secure.lab.")
        for z in children[1:]:
            z.add("www", "TXT", f'"{z.mode}"')
        for z in [root, lab] + children:
            self.zones[z.name] = z
            label = z.file_label
            srv = Server(z.role, a(HOST[z.role]), z.name, label + (
                ".zone.signed" if z.signed else ".zone"), self.dir)
            z.server = srv
            self.servers[z.role] = srv

    def gen_keys(self, zones):
        cmds = []
        for z in zones:
            z.key_gen += 1
            kdir = os.path.join(self.keys_dir, z.file_label, f"gen{z.key_gen}")
            os.makedirs(kdir, exist_ok=True)
            cmds.append([self.tools["dnssec-keygen"], "-q", "-a", ALGORITHM, "-f", "KSK",
                         "-n", "ZONE", "-K", kdir, z.name])
        outs = run_tools(cmds, self.work_dir)
        keys = []
        for z, out in zip(zones, outs):
            kdir = os.path.join(self.keys_dir, z.file_label, f"gen{z.key_gen}")
            keys.append(Key(os.path.join(kdir, out.strip().splitlines()[-1]), z.name))
        return keys

    def write_zones(self, zones):
        """Writes each zone's text and signs the signed ones (in parallel).

        Nothing NSD serves changes unless every zone succeeded: signed output and checked
        unsigned text go to .tmp files that replace the served files at the end.
        """
        cmds = []
        now = time.time()
        for z in zones:
            served = os.path.join(self.zones_dir, z.server.zone_file)
            source = served + ".tmp" if not z.signed else os.path.join(
                self.zones_dir, z.file_label + ".zone")
            with open(source, "w") as f:
                f.write(z.text())
            if not z.signed:
                cmds.append([self.tools["nsd-checkzone"], z.name, source])
                continue
            if z.mode == "expired":
                start, end = now - 30 * 86400, now - 10 * 86400
            else:
                start, end = now - 3600, now + 30 * 86400
            cmds.append([self.tools["dnssec-signzone"], "-q", "-z", "-P", "-O", "full",
                         "-N", "keep", "-s", utc_stamp(start), "-e", utc_stamp(end),
                         "-K", os.path.dirname(z.key.base_path), "-d", self.work_dir,
                         "-o", z.name, "-f", served + ".tmp", source, z.key.base_path])
        run_tools(cmds, self.work_dir)
        for z in zones:
            path = os.path.join(self.zones_dir, z.server.zone_file)
            if z.mode == "bogus":
                self._corrupt_signatures(path + ".tmp")
            os.replace(path + ".tmp", path)
            # NSD reloads on SIGHUP only if the mtime changed: keep it strictly increasing.
            z.mtime_ns = max(time.time_ns(), z.mtime_ns + 1_000_000_000)
            os.utime(path, ns=(z.mtime_ns, z.mtime_ns))

    @staticmethod
    def _corrupt_signatures(path):
        """Breaks every RRSIG except the DNSKEY one: keys validate, data is bogus."""
        out = []
        with open(path) as f:
            for line in f:
                fields = line.split()
                if len(fields) > 12 and fields[3] == "RRSIG" and fields[4] != "DNSKEY":
                    i = line.index(fields[12], len(" ".join(fields[:12])))
                    c = line[i]
                    line = line[:i] + ("B" if c == "A" else "A") + line[i + 1:]
                out.append(line)
        with open(path, "w") as f:
            f.writelines(out)

    def set_ds(self, child):
        """Puts the child's current DS into its parent; returns the parent."""
        parent = self.zones["." if child.name == "lab." else "lab."]
        assert child.name != "."
        parent.replace(child.name, "DS", [child.key.ds_text()])
        return parent

    def write_anchors(self):
        key = self.zones["."].key
        tag, alg, dtype, digest = key.ds_text().split()
        tmp = os.path.join(self.dir, "root.key.tmp")
        with open(tmp, "w") as f:
            f.write(f"; dnslab trust anchor for its own root (unbound trust-anchor-file)\n"
                    f". IN DS {tag} {alg} {dtype} {digest}\n")
        os.replace(tmp, os.path.join(self.dir, "root.key"))
        tmp = os.path.join(self.dir, "bind.keys.tmp")
        with open(tmp, "w") as f:
            f.write(f'trust-anchors {{\n  . static-ds {tag} {alg} {dtype} "{digest}";\n}};\n')
        os.replace(tmp, os.path.join(self.dir, "bind.keys"))

    def write_hints(self):
        with open(os.path.join(self.dir, "root.hints"), "w") as f:
            f.write("; dnslab root hints (the lab's own root server)\n"
                    f".                        3600000  NS  a.root-servers.lab.\n"
                    f"a.root-servers.lab.      3600000  A   {self.addr(HOST['root'])}\n")

    def start(self):
        t0 = time.monotonic()
        for tool in ("nsd", "nsd-checkzone", "dnssec-keygen", "dnssec-signzone"):
            self.tools[tool] = find_tool(tool)
        for d in (self.zones_dir, self.keys_dir, self.work_dir):
            os.makedirs(d, exist_ok=True)
        self.acquire_block()
        self.build_zones()
        signed = [z for z in self.zones.values() if z.signed]
        for z, key in zip(signed, self.gen_keys(signed)):
            z.key = key
        children = [z for z in self.zones.values() if z.name.count(".") == 2]
        self.write_zones(children)
        for z in children:
            if z.signed:
                self.set_ds(z)
        for srv in self.servers.values():
            srv.write_conf(self.zones_dir)
        for z in children:  # children start while the parents are signed
            z.server.start(self.tools["nsd"])
        lab, root = self.zones["lab."], self.zones["."]
        self.write_zones([lab])
        self.set_ds(lab)
        self.write_zones([root])
        lab.server.start(self.tools["nsd"])
        root.server.start(self.tools["nsd"])
        self.write_anchors()
        self.write_hints()
        self.start_blackhole()
        self.wait_ready()
        self.descriptor = self.describe(time.monotonic() - t0)
        tmp = os.path.join(self.dir, "lab.json.tmp")
        with open(tmp, "w") as f:
            json.dump(self.descriptor, f, indent=2)
        os.replace(tmp, os.path.join(self.dir, "lab.json"))

    # Hooks for labs built on this one (tests/netsim): where the blackhole lives and how
    # readiness is checked (e.g. from inside a network namespace).
    def start_blackhole(self):
        self.blackhole = Blackhole(self.addr(HOST["dead"]), self.sel)

    def wait_ready(self):
        self.wait_serving(list(self.zones.values()), READY_TIMEOUT_S)

    def wait_serving(self, zones, timeout):
        deadline = time.monotonic() + timeout
        pending = list(zones)
        while pending:
            for z in list(pending):
                if z.server.proc is not None and z.server.proc.poll() is not None:
                    raise LabError(f"nsd for {z.name} exited with {z.server.proc.returncode}: "
                                   f"{z.server.log_tail()}")
                if query_soa_serial(z.server.addr, z.name, 0.25) == z.serial:
                    pending.remove(z)
            if not pending:
                return
            if time.monotonic() > deadline:
                raise LabError("servers not serving in time: " + ", ".join(
                    f"{z.name} @{z.server.addr} (serial {z.serial}) {z.server.log_tail()}"
                    for z in pending))
            time.sleep(0.02)

    def describe(self, elapsed):
        expect = {"secure": "secure", "insecure": "insecure", "bogus": "bogus",
                  "expired": "bogus"}
        zones = {}
        for z in self.zones.values():
            zones[z.name] = {"server": z.server.addr, "signed": z.signed, "ns": z.ns_name,
                             "expect": expect[z.mode]}
        zones["dead.lab."] = {"server": self.addr(HOST["dead"]), "signed": False,
                              "ns": "ns.dead.lab.", "expect": "unreachable"}
        used = set(HOST.values()) | set(DATA_HOST.values())
        return {
            "block": self.block,
            "dir": self.dir,
            "root_hints": os.path.join(self.dir, "root.hints"),
            "trust_anchor": os.path.join(self.dir, "root.key"),
            "trust_anchor_bind": os.path.join(self.dir, "bind.keys"),
            "tld": "lab.",
            "servers": {role: self.addr(host) for role, host in HOST.items()},
            "zones": zones,
            "www": {f"www.{r}.lab.": self.addr(h) for r, h in DATA_HOST.items()},
            "www_aaaa": WWW_AAAA,
            "free_addresses": [self.addr(h) for h in FREE_HOSTS if h not in used],
            "pid": os.getpid(),
            "start_seconds": round(elapsed, 3),
        }

    # -- commands ----------------------------------------------------------------------

    def zone_arg(self, req):
        name = req.get("zone")
        if not isinstance(name, str):
            raise LabError("missing \"zone\"")
        z = self.zones.get(norm_name(name))
        if z is None:
            raise LabError(f"unknown zone {name!r} (have {', '.join(self.zones)})")
        return z

    def reload(self, zones):
        for z in zones:
            if z.server.proc is None or z.server.proc.poll() is not None:
                raise LabError(f"nsd for {z.name} is not running: {z.server.log_tail()}")
            z.server.proc.send_signal(signal.SIGHUP)
        self.wait_serving(zones, RELOAD_TIMEOUT_S)

    def cmd_set(self, req):
        z = self.zone_arg(req)
        name = req.get("name")
        rtype = req.get("type")
        ttl = req.get("ttl", DEFAULT_TTL)
        rdata = req.get("rdata", [])
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise LabError(f"bad \"name\": {name!r}")
        if not isinstance(rtype, str) or not TYPE_RE.match(rtype.upper()):
            raise LabError(f"bad \"type\": {rtype!r}")
        rtype = rtype.upper()
        if rtype in MANAGED_TYPES:
            raise LabError(f"{rtype} is managed by the lab (use rekey)")
        if not isinstance(ttl, int) or isinstance(ttl, bool) or not 0 <= ttl < 2**31:
            raise LabError(f"bad \"ttl\": {ttl!r}")
        if not isinstance(rdata, list) or not all(isinstance(r, str) for r in rdata):
            raise LabError("\"rdata\" must be a list of strings")
        if any(not r.strip() or "\n" in r or "\r" in r for r in rdata):
            raise LabError("rdata entries must be non-empty single lines")
        owner = norm_name(name, z.name)
        if not in_zone(owner, z.name):
            raise LabError(f"{owner} is not in zone {z.name}")
        old_records, old_serial = list(z.records), z.serial
        z.replace(owner, rtype, [r.strip() for r in rdata], ttl)
        z.serial += 1
        try:
            self.write_zones([z])
        except LabError:
            z.records, z.serial = old_records, old_serial
            raise
        self.reload([z])
        return {"ok": True, "serial": z.serial}

    def cmd_rekey(self, req):
        z = self.zone_arg(req)
        if not z.signed:
            raise LabError(f"{z.name} is unsigned")
        old_dir = os.path.dirname(z.key.base_path)
        (z.key,) = self.gen_keys([z])
        z.serial += 1
        changed = [z]
        if z.name == ".":
            self.write_zones([z])
            self.write_anchors()  # same path, new DS: the next resolver picks it up
        else:
            parent = self.set_ds(z)
            parent.serial += 1
            changed.append(parent)
            self.write_zones(changed)
        self.reload(changed)
        shutil.rmtree(old_dir, ignore_errors=True)
        return {"ok": True, "serial": z.serial, "ds": z.key.ds_text(), "key_tag": z.key.tag}

    def handle(self, line):
        try:
            req = json.loads(line)
            if not isinstance(req, dict):
                raise LabError("request must be a JSON object")
        except ValueError as e:
            return {"ok": False, "error": f"bad JSON: {e}"}, False
        cmd = req.get("cmd")
        try:
            if cmd == "set":
                reply = self.cmd_set(req)
            elif cmd == "rekey":
                reply = self.cmd_rekey(req)
            elif cmd == "ping":
                reply = {"ok": True}
            elif cmd == "info":
                reply = dict(self.descriptor, ok=True)
            elif cmd == "stop":
                reply = {"ok": True}
            else:
                raise LabError(f"unknown cmd {cmd!r} (set, rekey, ping, info, stop)")
        except LabError as e:
            reply = {"ok": False, "error": str(e)}
        except Exception as e:  # keep serving whatever went wrong
            reply = {"ok": False, "error": f"{type(e).__name__}: {e}"}
        if "id" in req:
            reply["id"] = req["id"]
        return reply, cmd == "stop"

    def serve(self, read_stdin):
        buf = b""
        if read_stdin:
            self.sel.register(0, selectors.EVENT_READ, None)
        while True:
            for key, _ in self.sel.select(timeout=1.0):
                if key.data is not None:
                    key.data(key.fileobj)
                    continue
                try:
                    chunk = os.read(0, 65536)
                except ConnectionError:
                    chunk = b""
                if not chunk:
                    return  # EOF: the parent is gone
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    if not line.strip():
                        continue
                    reply, stop = self.handle(line.decode(errors="replace"))
                    emit(reply)
                    if stop:
                        return
            for srv in self.servers.values():
                if srv.proc is not None and srv.proc.poll() is not None:
                    log(f"nsd {srv.role} exited unexpectedly ({srv.proc.returncode}): "
                        f"{srv.log_tail()}")
                    srv.proc = None

    # -- cleanup -----------------------------------------------------------------------

    def cleanup(self):
        procs = [s.proc for s in self.servers.values() if s.proc is not None]
        for p in procs:
            if p.poll() is None:
                try:
                    os.kill(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for p in procs:
            try:
                p.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for p in procs:
            # Each NSD leads its own process group: this also reaps its xfrd and server
            # children should the main process have died without taking them along.
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            if p.poll() is None:
                try:
                    p.wait(timeout=2.0)
                except subprocess.TimeoutExpired:
                    log(f"nsd {p.pid} did not exit")
        for s in self.servers.values():
            s.proc = None
        # We are a subreaper: NSD's server processes, orphaned when their parent exits
        # first, became our children. Reap them so nothing is left, not even zombies.
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                time.sleep(0.01)
        if self.blackhole is not None:
            self.blackhole.close()
            self.blackhole = None
        if self.lock_fd is not None:
            os.close(self.lock_fd)  # releases the flock
            self.lock_fd = None
        if self.created_dir:
            shutil.rmtree(self.dir, ignore_errors=True)


def emit(obj):
    sys.stdout.write(json.dumps(obj, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def _on_signal(signum, _frame):
    raise Terminate(signum)


def cmd_serve(args):
    # Orphaned NSD descendants become our children (reaped in cleanup), not init's.
    _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, _on_signal)
    created = not os.path.exists(args.dir)
    os.makedirs(args.dir, exist_ok=True)
    lab = Lab(args.dir, created)
    code = 0
    try:
        lab.start()
        log(f"ready in {lab.descriptor['start_seconds']} s on {lab.block}.0/24")
        if args.ready_file:
            tmp = args.ready_file + ".tmp"
            with open(tmp, "w") as f:
                json.dump(lab.descriptor, f)
            os.replace(tmp, args.ready_file)
        emit(dict({"ready": True}, **lab.descriptor))
        lab.serve(read_stdin=not args.ignore_stdin)
    except Terminate as t:
        log(f"signal {t.args[0]}: stopping")
    except LabError as e:
        log(f"error: {e}")
        code = 1
    except ConnectionError:
        # The parent closed our stdout: it is gone. Keep the exit quiet.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        lab.cleanup()
    return code


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="generate, sign and serve the lab")
    serve.add_argument("--dir", required=True, help="working directory (created if absent, "
                       "and then removed on exit)")
    serve.add_argument("--ready-file", help="written with the descriptor once ready")
    serve.add_argument("--ignore-stdin", action="store_true",
                       help="do not read commands; run until SIGTERM/SIGINT")
    args = parser.parse_args()
    sys.exit(cmd_serve(args))


if __name__ == "__main__":
    main()
