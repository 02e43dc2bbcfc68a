"""simservers: the victim's and the attacker's challenge servers, and the attacker's DNS.

Each server is a thread of the harness whose listening socket was created inside the host's
namespace (simnet.in_netns), so it serves only that namespace's addresses:
- ChallengeWeb: HTTP-01 on port 80, answers /.well-known/acme-challenge/<token> with the
  key authorization of its owner (the domain owner's, or the attacker's);
- AlpnServer: TLS-ALPN-01 on port 443 (RFC 8737): per SNI name a self-signed certificate with
  one SAN and the critical acmeIdentifier extension holding SHA-256(key authorization);
- DnsInterceptor: the attacker's DNS on the victim's name-server addresses. It forwards every
  query to the victim's real server (over the attacker's own path) and, per mode, rewrites
  the answer in place: "forge" replaces A rdata with the attacker's web address and
  _acme-challenge TXT with the attacker's digest and strips CAA; "strip-caa" only strips CAA.
  Signed zones: the victim's RRSIGs no longer match (or NSEC proves the CAA exists), so a
  validating resolver sees bogus data.
"""

import base64
import hashlib
import http.server
import os
import random
import socket
import socketserver
import ssl
import struct
import subprocess
import threading

from simnet import in_netns
from simfleet import dnslab  # sys.path set up there

_skip_name = dnslab._skip_name

TYPE_A, TYPE_TXT, TYPE_CAA = 1, 16, 257
NODATA_TYPE = 65280  # private-use type: the victim's server answers NODATA (with NSEC if signed)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def txt_digest(key_authorization):
    """DNS-01 TXT value (RFC 8555 §8.4)."""
    return b64url(hashlib.sha256(key_authorization.encode()).digest())


class _Handler(http.server.BaseHTTPRequestHandler):
    timeout = 5
    protocol_version = "HTTP/1.0"

    def do_GET(self):  # noqa: N802 (http.server API)
        prefix = "/.well-known/acme-challenge/"
        body, status = b"not found\n", 404
        if self.path.startswith(prefix) and self.path[len(prefix):] == self.server.token:
            body, status = self.server.key_authorization.encode(), 200
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class _ThreadingHttp(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class _ThreadingTcp(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


class _Served:
    """A socketserver running on a daemon thread; stop() is bounded."""

    def __init__(self, server):
        self.server = server
        self.thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                                       daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def start_web(netns, token, key_authorization):
    with in_netns(netns):
        server = _ThreadingHttp(("0.0.0.0", 80), _Handler)
    server.token, server.key_authorization = token, key_authorization
    return _Served(server)


def make_alpn_cert(directory, name, key_authorization, timeout=20):
    """Self-signed RFC 8737 certificate: SAN = name, critical acmeIdentifier (OID ...1.31)."""
    digest = hashlib.sha256(key_authorization.encode()).hexdigest()
    base = os.path.join(directory, name)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", base + ".key", "-out", base + ".pem", "-days", "2",
         "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}",
         "-addext", f"1.3.6.1.5.5.7.1.31=critical,DER:0420{digest}"],
        check=True, capture_output=True, timeout=timeout)
    return base + ".pem", base + ".key"


class _AlpnHandler(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.settimeout(5)
        try:
            with self.server.default_ctx.wrap_socket(self.request, server_side=True) as tls:
                tls.recv(1)  # until the client closes
        except (OSError, ssl.SSLError):
            pass


def start_alpn(netns, certs):
    """certs: {sni name: (cert file, key file)}."""
    contexts = {}
    for name, (cert, key) in certs.items():
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        ctx.set_alpn_protocols(["acme-tls/1"])
        contexts[name.lower()] = ctx
    default = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    first = next(iter(certs.values()))
    default.load_cert_chain(*first)
    default.set_alpn_protocols(["acme-tls/1"])

    def pick(sslobj, server_name, _ctx):
        if server_name and server_name.lower() in contexts:
            sslobj.context = contexts[server_name.lower()]
    default.sni_callback = pick
    with in_netns(netns):
        server = _ThreadingTcp(("0.0.0.0", 443), _AlpnHandler)
    server.default_ctx = default
    return _Served(server)


# --- DNS ---------------------------------------------------------------------------------


def _read_name(msg, off):
    labels = []
    for _ in range(128):
        n = msg[off]
        if n == 0:
            return ".".join(labels).lower() + "."
        if n & 0xC0 == 0xC0:
            off = ((n & 0x3F) << 8) | msg[off + 1]
            continue
        labels.append(msg[off + 1:off + 1 + n].decode("ascii", "replace"))
        off += 1 + n
    raise ValueError("name loop")


def answer_records(msg):
    """[(owner, type, rdata offset, rdata length)] of the answer section."""
    _, _, qd, an, _, _ = struct.unpack("!HHHHHH", msg[:12])
    off = 12
    for _ in range(qd):
        off = _skip_name(msg, off) + 4
    out = []
    for _ in range(an):
        owner = _read_name(msg, off)
        off = _skip_name(msg, off)
        rtype, _, _, rdlen = struct.unpack("!HHIH", msg[off:off + 10])
        out.append((owner, rtype, off + 10, rdlen))
        off += 10 + rdlen
    return out


def question(msg):
    off = _skip_name(msg, 12)
    qtype = struct.unpack("!H", msg[off:off + 2])[0]
    return _read_name(msg, 12), qtype, off


class DnsInterceptor:
    """The attacker's DNS on one hijacked name-server address (UDP)."""

    def __init__(self, netns, listen, upstream, forged_a, forged_txt):
        self.upstream = (upstream, 53)
        self.forged_a = socket.inet_aton(forged_a)
        self.forged_txt = forged_txt.encode()
        self.mode = "forge"
        self.stopping = threading.Event()
        with in_netns(netns):
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.bind((listen, 53))
            # Its own path to the victim: created in the attacker's namespace, never elsewhere.
            self.up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.settimeout(0.2)
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while not self.stopping.is_set():
            try:
                query, client = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                reply = self._answer(query)
            except (ValueError, IndexError, struct.error, OSError):
                reply = None
            if reply is not None:
                try:
                    self.sock.sendto(reply, client)
                except OSError:
                    pass

    def _forward(self, query):
        qid = random.randrange(65536)
        self.up.sendto(struct.pack("!H", qid) + query[2:], self.upstream)
        self.up.settimeout(1.0)
        for _ in range(16):
            msg, _ = self.up.recvfrom(65535)
            if msg[:2] == struct.pack("!H", qid):
                return query[:2] + msg[2:]
        return None

    def _answer(self, query):
        _, qtype, qoff = question(query)
        if qtype == TYPE_CAA:  # strip: ask for an absent type, give its NODATA as CAA's
            q = bytearray(query)
            q[qoff:qoff + 2] = struct.pack("!H", NODATA_TYPE)
            reply = self._forward(bytes(q))
            if reply is None:
                return None
            r = bytearray(reply)
            _, _, roff = question(reply)
            r[roff:roff + 2] = struct.pack("!H", TYPE_CAA)
            return bytes(r)
        reply = self._forward(query)
        if reply is None or self.mode != "forge":
            return reply
        r = bytearray(reply)
        for owner, rtype, off, length in answer_records(reply):
            if rtype == TYPE_A and length == 4:
                r[off:off + 4] = self.forged_a
            elif (rtype == TYPE_TXT and owner.startswith("_acme-challenge.")
                  and length == 1 + len(self.forged_txt)):
                r[off + 1:off + length] = self.forged_txt
        return bytes(r)

    def stop(self):
        self.stopping.set()
        self.thread.join(timeout=5)
        self.sock.close()
        self.up.close()
