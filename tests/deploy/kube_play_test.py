#!/usr/bin/env python3
"""deploy_kube_play_test: the rendered overlays, run for real with `podman kube play`.

Inside a private network namespace of its own (unshare --net; nothing can leave the machine),
this test builds the image with scripts/image.sh, makes one podman network per region on
documentation ranges (RFC 5737), starts the DNS lab (lab/dnslab.py), a validating recursive
resolver and pebble-challtestsrv on addresses the pods can reach, renders a lab fleet (the
primary and three remotes) with `mpic deploy render`, plays every overlay, and asserts:
  * every perspective becomes ready: `mpic deploy probe` inside the pod says SERVING on the
    mTLS port and on the plaintext health-only port the manifests' native gRPC probes use;
  * `mpic validate` gets CORROBORATED for HTTP-01, DNS-01 and TLS-ALPN-01;
  * with one remote's pod stopped, the decision still comes: CORROBORATED, the stopped remote
    counted as failed (BR 3.2.2.9: with 3 remotes, 1 may fail);
  * SIGTERM to the primary's pod while a validation is in flight loses no audit record: every
    decision a client received is in the audit log on the pod's volume.
Every pod, volume, secret, network, image tag and process it made is removed on exit, also on
failure. Prints timings (image build, kube play to all ready) for docs/BENCHMARKS.md.

  MPIC_BIN_DIR=build/bin tests/deploy/kube_play_test.py     (root; podman, runc, unbound, nsd,
                                                            pebble-challtestsrv: scripts/setup.sh)
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BIN = os.environ.get("MPIC_BIN_DIR", os.path.join(ROOT, "build", "bin"))
MPIC = os.path.join(BIN, "mpic")
PREFIX = f"mpic-kp-{os.getpid()}"

# Regions: one podman network each, on documentation ranges.
NETWORKS = {
    "us-east": ("192.0.2.0/26", "192.0.2.10"),
    "eu": ("192.0.2.64/26", "192.0.2.74"),
    "ap": ("198.51.100.0/26", "198.51.100.10"),
    "sa": ("198.51.100.64/26", "198.51.100.74"),
}
# Services on local addresses of the test's namespace, reached by the pods through their
# gateways.
RECURSIVE = "203.0.113.53"
HTTP = "203.0.113.80"
TLS = "203.0.113.81"
HTTP_PORT, TLS_PORT, MANAGEMENT = 5002, 5001, "127.0.0.1:8055"


def log(msg):
    print(f"[kube_play_test] {msg}", flush=True)


def run(cmd, check=True, timeout=300, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} -> {r.returncode}\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}")
    return r


class Test:
    def __init__(self, work):
        self.work = work
        self.procs = []
        self.played = []
        self.networks = []
        self.volumes_before = None
        self.image = None
        self.failures = []
        self.passes = 0
        self.env = dict(os.environ)
        conf = os.path.join(work, "containers.conf")
        with open(os.path.join(ROOT, "deploy", "containers", "containers.conf")) as f:
            base = f.read()
        # Network definitions in the test's folder, never in /etc.
        os.makedirs(os.path.join(work, "cni"))
        with open(conf, "w") as f:
            f.write(base + f'\n[network]\nnetwork_config_dir = "{work}/cni"\n')
        self.env["CONTAINERS_CONF"] = conf

    def check(self, ok, what):
        if ok:
            self.passes += 1
            log(f"ok: {what}")
        else:
            self.failures.append(what)
            log(f"FAIL: {what}")

    def podman(self, *args, check=True, timeout=300):
        return run(["podman", *args], check=check, timeout=timeout, env=self.env)

    # --- the lab ------------------------------------------------------------------------
    def start_lab(self):
        lab_dir = os.path.join(self.work, "lab")
        ready = os.path.join(self.work, "lab-ready.json")
        p = subprocess.Popen(
            [sys.executable, os.path.join(ROOT, "lab", "dnslab.py"), "serve",
             "--dir", lab_dir, "--ready-file", ready],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=open(os.path.join(self.work, "lab.log"), "w"),
            text=True)
        self.procs.append(p)
        self.lab = p
        deadline = time.time() + 120
        while not os.path.exists(ready):
            if p.poll() is not None or time.time() > deadline:
                raise RuntimeError("DNS lab did not start; see lab.log")
            time.sleep(0.2)
        time.sleep(0.2)
        with open(ready) as f:
            self.lab_info = json.load(f)
        self.lab_dir = lab_dir
        log(f"DNS lab up: {self.lab_info.get('block')}")

    def lab_set(self, name, rtype, rdata):
        self.lab.stdin.write(json.dumps({"cmd": "set", "zone": "secure.lab.", "name": name,
                                         "type": rtype, "rdata": rdata}) + "\n")
        self.lab.stdin.flush()
        reply = json.loads(self.lab.stdout.readline())
        while "ok" not in reply:  # the ready descriptor comes first on stdout
            reply = json.loads(self.lab.stdout.readline())
        if not reply.get("ok"):
            raise RuntimeError(f"lab set {name} {rtype}: {reply}")

    def start_services(self):
        # Local addresses of the namespace (on lo: no dummy interfaces needed); the pods reach
        # them through their gateways.
        for a in (RECURSIVE, HTTP, TLS):
            run(["ip", "addr", "add", f"{a}/32", "dev", "lo"])
        udir = os.path.join(self.work, "unbound")
        os.makedirs(udir)
        conf = os.path.join(udir, "unbound.conf")
        with open(conf, "w") as f:
            f.write(f"""server:
  interface: {RECURSIVE}@53
  access-control: 0.0.0.0/0 allow
  do-ip6: no
  do-not-query-localhost: no
  root-hints: "{self.lab_dir}/root.hints"
  trust-anchor-file: "{self.lab_dir}/root.key"
  username: ""
  chroot: ""
  directory: "{udir}"
  pidfile: "{udir}/unbound.pid"
  use-syslog: no
  logfile: "{udir}/unbound.log"
  verbosity: 1
  num-threads: 1
  cache-max-ttl: 0
  cache-max-negative-ttl: 0
remote-control:
  control-enable: no
""")
        self.procs.append(subprocess.Popen(["/usr/sbin/unbound", "-d", "-c", conf],
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        self.procs.append(subprocess.Popen(
            ["pebble-challtestsrv", "-http01", f"{HTTP}:{HTTP_PORT}", "-tlsalpn01",
             f"{TLS}:{TLS_PORT}", "-management", MANAGEMENT, "-dns01", "", "-https01", ""],
            stdout=open(os.path.join(self.work, "challtestsrv.log"), "w"), stderr=subprocess.STDOUT))
        deadline = time.time() + 20
        while True:
            r = run(["dig", "+time=1", "+tries=1", "+short", f"@{RECURSIVE}", "secure.lab.", "SOA"],
                    check=False)
            if r.returncode == 0 and r.stdout.strip():
                break
            if time.time() > deadline:
                raise RuntimeError("the recursive resolver does not answer")
            time.sleep(0.5)
        import socket
        host, port = MANAGEMENT.split(":")
        while True:
            try:
                socket.create_connection((host, int(port)), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise RuntimeError("pebble-challtestsrv is not listening")
                time.sleep(0.2)
        log(f"recursive resolver {RECURSIVE}, challenge responder {HTTP}/{TLS}")

    def responder(self, path, body):
        import urllib.request
        req = urllib.request.Request(f"http://{MANAGEMENT}{path}", data=json.dumps(body).encode(),
                                     method="POST")
        with urllib.request.urlopen(req, timeout=5) as r:
            if r.status != 200:
                raise RuntimeError(f"challtestsrv {path}: {r.status}")

    # --- PKI ----------------------------------------------------------------------------
    def pki(self):
        d = os.path.join(self.work, "pki")
        os.makedirs(d)
        run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-keyout", f"{d}/ca.key", "-out", f"{d}/ca.crt", "-days", "2",
             "-subj", "/CN=mpic kube play test CA",
             "-addext", "basicConstraints=critical,CA:TRUE,pathlen:0",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        self.pki_dir = d

    def leaf(self, name, dns):
        d = self.pki_dir
        ext = os.path.join(d, f"{name}.ext")
        with open(ext, "w") as f:
            f.write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                    "extendedKeyUsage=serverAuth,clientAuth\n"
                    f"subjectAltName={','.join('DNS:' + n for n in dns)}\n")
        run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", f"{d}/{name}.key", "-out", f"{d}/{name}.csr", "-subj", f"/CN={dns[0]}"])
        run(["openssl", "x509", "-req", "-in", f"{d}/{name}.csr", "-CA", f"{d}/ca.crt",
             "-CAkey", f"{d}/ca.key", "-CAcreateserial", "-days", "2", "-out", f"{d}/{name}.crt",
             "-extfile", ext])
        files = {}
        for key, suffix in (("tls.crt", "crt"), ("tls.key", "key")):
            with open(f"{d}/{name}.{suffix}") as f:
                files[key] = f.read()
        with open(f"{d}/ca.crt") as f:
            files["ca.crt"] = f.read()
        return files

    # --- the fleet ----------------------------------------------------------------------
    def render(self):
        k8s = os.path.join(self.work, "k8s")
        shutil.copytree(os.path.join(ROOT, "deploy", "k8s"), k8s)
        shutil.rmtree(os.path.join(k8s, "overlays"))
        fleet = {
            "image": self.image,
            "namespace": "mpic",
            "resolver": {"stub": {"server": f"{RECURSIVE}:53", "require_ad": True}},
            "lab": {"allow_cidrs": ["203.0.113.0/24"], "http_port": HTTP_PORT,
                    "tls_port": TLS_PORT},
            "primary": {
                "site": "us-east", "egress_cidrs": [NETWORKS["us-east"][0]],
                "identity": {"name": "us-east-iad-1", "rir": "ARIN",
                             "location": {"latitude": 39.0438, "longitude": -77.4874}},
                # 3 remotes, >= 2 RIRs, quorum enforced; with 3 remotes 1 may fail.
                "policy": {"effective_date": "2026-03-15"},
                "remote_timeout_ms": 5000, "straggler_grace_ms": 200,
                "authorized_clients": ["ca-client"],
            },
            "remotes": [
                {"site": "eu", "replicas": 1, "endpoint": f"{NETWORKS['eu'][1]}:8443",
                 "identity": {"name": "eu-fra-1", "rir": "RIPE_NCC",
                              "location": {"latitude": 50.1109, "longitude": 8.6821}}},
                {"site": "ap", "replicas": 1, "endpoint": f"{NETWORKS['ap'][1]}:8443",
                 "identity": {"name": "ap-sin-1", "rir": "APNIC",
                              "location": {"latitude": 1.3521, "longitude": 103.8198}}},
                {"site": "sa", "replicas": 1, "endpoint": f"{NETWORKS['sa'][1]}:8443",
                 "identity": {"name": "sa-gru-1", "rir": "LACNIC",
                              "location": {"latitude": -23.5505, "longitude": -46.6333}}},
            ],
        }
        self.fleet = fleet
        path = os.path.join(k8s, "fleet-lab.json")
        with open(path, "w") as f:
            json.dump(fleet, f, indent=1)
        out = os.path.join(k8s, "overlays")
        r = run([MPIC, "deploy", "render", "--fleet", path, "--out", out], check=False)
        self.check(r.returncode == 0, f"mpic deploy render of the lab fleet: {r.stdout.strip()} {r.stderr.strip()}")
        if r.returncode != 0:
            raise RuntimeError("cannot render")
        self.k8s = k8s

    def play(self):
        secrets = {
            "us-east": [("va-primary-server-tls", self.leaf("primary-server", ["us-east-iad-1", "va-primary"])),
                        ("va-primary-client-tls", self.leaf("primary-client", ["us-east-iad-1"]))],
            "eu": [("va-remote-tls", self.leaf("eu", ["eu-fra-1"]))],
            "ap": [("va-remote-tls", self.leaf("ap", ["ap-sin-1"]))],
            "sa": [("va-remote-tls", self.leaf("sa", ["sa-gru-1"]))],
        }
        self.client = self.leaf("client", ["ca-client"])
        for name, (subnet, _) in NETWORKS.items():
            net = f"{PREFIX}-{name}"
            self.podman("network", "create", "--subnet", subnet, net)
            self.networks.append(net)
        # kube play makes named volumes (the PVC, and one per ConfigMap and emptyDir):
        # every volume that appears from here on is this test's, removed at the end.
        self.volumes_before = set(self.podman("volume", "ls", "-q").stdout.split())
        t0 = time.time()
        for site, (subnet, ip) in NETWORKS.items():
            # podman is one host standing in for one cluster per region: a wrapper
            # kustomization adds the site's Secrets and a name suffix, so that the same names
            # in different regions do not collide here.
            wrap = os.path.join(self.k8s, "podman", site)
            os.makedirs(wrap)
            # podman 4.3 writes a Secret's `data` into its volume still base64-encoded, so the
            # site's certificates come from folders of this test instead (hostPath, in place of
            # the secret volumes; readable by the pods' UID 10001).
            replacements = ""
            for index, (name, files) in enumerate(secrets[site], start=1):
                d = os.path.join(self.work, "secrets", f"{name}-{site}")
                os.makedirs(d)
                for key, body in files.items():
                    with open(os.path.join(d, key), "w") as f:
                        f.write(body)
                    os.chown(os.path.join(d, key), 10001, 10001)
                    os.chmod(os.path.join(d, key), 0o400)
                volume = {"name": ("tls" if site != "us-east" else
                                   ["server-tls", "client-tls"][index - 1]),
                          "hostPath": {"path": d, "type": "Directory"}}
                replacements += (f"      - op: replace\n        path: /spec/template/spec/volumes/"
                                 f"{index}\n        value: {json.dumps(volume)}\n")
            with open(os.path.join(wrap, "kustomization.yaml"), "w") as f:
                # podman 4.3 publishes every containerPort on the host (here: the test's
                # namespace), so two pods' metrics ports would collide: drop the declarations
                # (nothing here refers to them; the processes listen all the same).
                f.write(f"namespace: mpic\nresources:\n  - ../../overlays/{site}\n"
                        f"nameSuffix: -{site}\n"
                        "patches:\n  - target: {kind: Deployment}\n    patch: |-\n"
                        "      - op: remove\n        path: /spec/template/spec/containers/0/ports\n"
                        + replacements)
            path = os.path.join(self.work, f"{site}.yaml")
            with open(path, "w") as f:
                # podman kube play runs Deployments, ConfigMaps, Secrets and PVCs and skips the
                # kinds it has no use for (Service, NetworkPolicy, PodDisruptionBudget).
                f.write(run(["kubectl", "kustomize", wrap]).stdout)
            r = self.podman("kube", "play", "--network", f"{PREFIX}-{site}", "--ip", ip, path,
                            check=False)
            log(f"kube play {site}: {r.returncode} {r.stderr.strip()[-600:]}")
            self.played.append(path)
            self.check(r.returncode == 0, f"podman kube play {site}")
            if r.returncode != 0:
                raise RuntimeError(f"kube play {site} failed")
        # Ready: `mpic deploy probe` inside each pod says SERVING on both ports.
        pending = {"us-east": ("va-primary", "primary"), "eu": ("va-remote", "remote"),
                   "ap": ("va-remote", "remote"), "sa": ("va-remote", "remote")}
        deadline = time.time() + 90
        ready = {}
        while pending and time.time() < deadline:
            for site, (role, probe_role) in list(pending.items()):
                ctr = self.container(site, role)
                r = self.podman("exec", ctr, "/usr/local/bin/mpic", "deploy", "probe", "--role",
                                probe_role, "--config", f"/etc/mpic/config/{role}.json",
                                check=False, timeout=30)
                # Both ports: the mTLS service port and the plaintext health-only port that
                # the manifests' native gRPC probes ask (podman 4.3 does not run those).
                if r.returncode == 0 and "(plaintext health): SERVING" in r.stdout:
                    ready[site] = time.time() - t0
                    log(f"ready: {' / '.join(r.stdout.strip().splitlines())}")
                    del pending[site]
            time.sleep(0.5)
        self.ready_seconds = max(ready.values()) if ready else None
        self.check(not pending, f"all perspectives ready (SERVING) after kube play: "
                                f"{', '.join(f'{k} {v:.1f}s' for k, v in ready.items())}"
                                f"{'; never ready: ' + ', '.join(pending) if pending else ''}")
        if pending:
            for site, (role, _) in pending.items():
                logs = self.podman("logs", "--tail", "30", self.container(site, role), check=False)
                log(f"logs of {site}:\n{logs.stdout[-2000:]}{logs.stderr[-2000:]}")
            raise RuntimeError("perspectives not ready")

    @staticmethod
    def container(site, role):
        # Deployment va-remote + suffix -eu -> pod va-remote-eu-pod-0, container ...-va-remote.
        return f"{role}-{site}-pod-0-{role}"

    # --- validation ---------------------------------------------------------------------
    def validate(self, method, identifier, token, key_authorization):
        d = self.pki_dir
        r = run([MPIC, "validate", "--primary", f"{NETWORKS['us-east'][1]}:4443",
                 "--ca-cert", f"{d}/ca.crt", "--cert", f"{d}/client.crt", "--key", f"{d}/client.key",
                 "--server-name", "va-primary", "--method", method, "--identifier", identifier,
                 "--token", token, "--key-authorization", key_authorization, "--json",
                 "--caa-issuer", "ca.example", "--account-uri", "https://ca.example/acct/1",
                 "--timeout-ms", "30000"], check=False, timeout=60)
        try:
            return json.loads(r.stdout)
        except ValueError:
            return {"error": r.stdout[-500:] + r.stderr[-1500:]}

    def challenges(self):
        import base64
        import hashlib
        import secrets as s
        out = []
        for method, name in (("http-01", "http.secure.lab"), ("dns-01", "dns.secure.lab"),
                             ("tls-alpn-01", "tls.secure.lab")):
            token = base64.urlsafe_b64encode(s.token_bytes(18)).decode().rstrip("=")
            thumb = base64.urlsafe_b64encode(s.token_bytes(32)).decode().rstrip("=")
            out.append((method, name, token, f"{token}.{thumb}"))
        self.lab_set("http.secure.lab.", "A", [HTTP])
        self.lab_set("tls.secure.lab.", "A", [TLS])
        digest = base64.urlsafe_b64encode(hashlib.sha256(out[1][3].encode()).digest()).decode().rstrip("=")
        self.lab_set("_acme-challenge.dns.secure.lab.", "TXT", [f'"{digest}"'])
        self.responder("/add-http01", {"token": out[0][2], "content": out[0][3]})
        self.responder("/add-tlsalpn01", {"host": out[2][1], "content": out[2][3]})
        return out


def main_inside():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))
    work = tempfile.mkdtemp(prefix="mpic-kube-play.")
    t = Test(work)
    try:
        run(["ip", "link", "set", "lo", "up"])
        run(["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"])
        t.image = os.environ["MPIC_KUBE_PLAY_IMAGE"]
        size = t.podman("image", "inspect", "--format", "{{.Size}}", t.image).stdout.strip()
        t.check(int(size) < 150e6, f"image below 150 MB ({int(size) / 1e6:.1f} MB)")
        t.start_lab()
        t.start_services()
        t.pki()
        t.render()
        t.play()
        log(f"kube play to all perspectives ready: {t.ready_seconds:.1f} s")

        decisions = []
        for method, name, token, ka in t.challenges():
            v = t.validate(method, name, token, ka)
            decisions.append(v)
            t.check(v.get("decision") == "CORROBORATED",
                    f"{method} {name}: {v.get('decision')} {str(v.get('error', ''))[:600]}")
        # One remote down: the decision still comes.
        ctr = t.container("sa", "va-remote")
        t.podman("stop", "-t", "10", ctr, check=False)
        method, name, token, ka = t.challenges()[1]
        v = t.validate(method, name, token, ka)
        decisions.append(v)
        t.check(v.get("decision") == "CORROBORATED" and v.get("quorum") == "2/3",
                f"with sa-gru-1 stopped, dns-01 still {v.get('decision')} "
                f"(quorum {v.get('quorum')}, expected 2/3) "
                f"{str(v.get('error', ''))[:600]}")
        # SIGTERM to the primary while a validation is in flight.
        method, name, token, ka = t.challenges()[0]
        d = t.pki_dir
        inflight = subprocess.Popen(
            [MPIC, "validate", "--primary", f"{NETWORKS['us-east'][1]}:4443", "--ca-cert",
             f"{d}/ca.crt", "--cert", f"{d}/client.crt", "--key", f"{d}/client.key",
             "--server-name", "va-primary", "--method", method, "--identifier", name, "--token",
             token, "--key-authorization", ka, "--json", "--timeout-ms", "30000",
             "--caa-issuer", "ca.example", "--account-uri", "https://ca.example/acct/1"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(0.3)
        primary = t.container("us-east", "va-primary")
        t.podman("kill", "--signal", "TERM", primary, check=False)
        out, _ = inflight.communicate(timeout=60)
        try:
            decisions.append(json.loads(out))
        except ValueError:
            log("the in-flight validation got no decision (refused before it started)")
        # The pod's restart policy starts the primary again right after it exits, so "exited"
        # may never be seen: wait (bounded) for its own "stopped" line instead.
        deadline = time.time() + 120
        stopped = False
        while time.time() < deadline and not stopped:
            logs = t.podman("logs", primary, check=False)
            stopped = '"msg":"stopped"' in (logs.stdout + logs.stderr)
            if not stopped:
                time.sleep(0.5)
        if not stopped:
            tail = t.podman("logs", "--tail", "40", primary, check=False)
            raise RuntimeError("va-primary did not stop within 120 s of SIGTERM; its last lines:\n"
                               + tail.stdout[-6000:] + tail.stderr[-6000:])
        mount = t.podman("volume", "inspect", "--format", "{{.Mountpoint}}",
                         "va-primary-audit-us-east").stdout.strip()
        with open(os.path.join(mount, "audit.jsonl")) as f:
            audit = f.read()
        ids = [x.get("request_id") or x.get("requestId") for x in decisions if "decision" in x]
        missing = [i for i in ids if not i or i not in audit]
        t.check(ids and not missing,
                f"after SIGTERM, all {len(ids)} decisions received are in the audit log"
                f"{' (missing ' + ', '.join(map(str, missing)) + ')' if missing else ''}")
    except Exception as e:  # noqa: BLE001 -- reported as a failure, cleanup follows
        t.failures.append(f"aborted: {e}")
        log(f"aborted: {e}")
    finally:
        cleanup(t)
    print(f"{t.passes} passed, {len(t.failures)} failed")
    return 0 if not t.failures else 1


def cleanup(t):
    for path in t.played:
        t.podman("kube", "down", path, check=False, timeout=120)
    for site in NETWORKS:
        for role in ("va-primary", "va-remote"):
            t.podman("pod", "rm", "-f", "-t", "5", f"{role}-{site}-pod-0", check=False)
    if t.volumes_before is not None:
        for v in t.podman("volume", "ls", "-q", check=False).stdout.split():
            if v not in t.volumes_before:
                t.podman("volume", "rm", "-f", v, check=False)
    for net in t.networks:
        t.podman("network", "rm", "-f", net, check=False)
    for p in t.procs:
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    if t.image:
        t.podman("rmi", "-f", t.image, check=False)
    if os.environ.get("MPIC_KEEP") != "1":
        shutil.rmtree(t.work, ignore_errors=True)
    else:
        log(f"kept {t.work}")


def main():
    if os.geteuid() != 0:
        print("kube_play_test: needs root (network namespace, podman)", file=sys.stderr)
        return 77
    for tool in ("podman", "runc", "unshare", "unbound", "pebble-challtestsrv", "kubectl", "dig"):
        if shutil.which(tool) is None and not os.path.exists(f"/usr/sbin/{tool}"):
            print(f"kube_play_test: {tool} missing (scripts/setup.sh)", file=sys.stderr)
            return 1
    if len(sys.argv) > 1 and sys.argv[1] == "--inside":
        return main_inside()
    # The image, tagged for this run only (built outside the private namespace: a first base
    # build fetches Debian's packages).
    env = dict(os.environ, CONTAINERS_CONF=os.path.join(ROOT, "deploy", "containers",
                                                        "containers.conf"))
    image = f"localhost/mpic:{PREFIX}"
    try:
        t0 = time.time()
        r = run([os.path.join(ROOT, "scripts", "image.sh"), "--build-dir", os.path.dirname(BIN),
                 "--tag", image], check=False, timeout=900, env=env)
        if r.returncode != 0:
            print(r.stderr[-3000:], file=sys.stderr)
            print("0 passed, 1 failed")
            return 1
        log(f"scripts/image.sh built {image} in {time.time() - t0:.0f} s")
        # A private network namespace: podman's bridges and every address exist only there.
        return subprocess.call(["unshare", "--net", "--", sys.executable,
                                os.path.abspath(__file__), "--inside"],
                               env=dict(env, MPIC_KUBE_PLAY_IMAGE=image))
    finally:
        run(["podman", "rmi", "-f", image], check=False, env=env)


if __name__ == "__main__":
    sys.exit(main())
