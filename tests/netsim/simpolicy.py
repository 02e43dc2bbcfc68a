"""simpolicy: what the fleet *should* decide, computed from the policy rules.

The BR §3.2.2.9 phase table and non-corroboration table are data (as in quorum/phase.h and
docs/domain-rules.md); the research k-of-n policy follows quorum/policy.h. Together with the attack
model (what a captured perspective sees) this gives every expected decision; nothing is
hard-coded per case.
"""

import datetime

# (effective date, enforced, min remote perspectives, min RIRs of corroborating remotes)
BR_PHASES = [
    ("2025-03-15", False, 2, 0),
    ("2025-09-15", True, 2, 0),
    ("2026-03-15", True, 3, 2),
    ("2026-06-15", True, 4, 2),
    ("2026-12-15", True, 5, 2),
]
# (remote perspectives used from, allowed non-corroborations)
NON_CORROBORATION = [(2, 1), (6, 2)]


def allowed_non_corroborations(remotes):
    allowed = 0
    for start, n in NON_CORROBORATION:
        if remotes >= start:
            allowed = n
    return allowed


class Policy:
    def __init__(self, settings):
        self.settings = dict(settings)
        if settings.get("research_k"):
            if not settings.get("research_not_br_compliant"):
                raise ValueError("a research policy needs research_not_br_compliant: true")
            self.kind = "k-of-n"
            self.k = int(settings["research_k"])
            self.n = int(settings["research_n"])
            self.min_rirs = int(settings.get("research_min_rirs", 0))
            self.primary_required = not settings.get("research_primary_optional", False)
            self.enforced, self.min_remotes = True, self.n
        else:
            self.kind = "br"
            date = settings.get("effective_date", "today")
            if date == "today":
                date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
            datetime.date.fromisoformat(date)
            phase = ("0001-01-01", False, 0, 0)
            for row in BR_PHASES:
                if row[0] <= date:
                    phase = row
            self.date, (self.phase, self.enforced, self.min_remotes, self.min_rirs) = date, phase
            self.primary_required = True

    def describe(self):
        if self.kind == "k-of-n":
            return f"research {self.k}-of-{self.n}" + (
                f", >={self.min_rirs} RIRs" if self.min_rirs >= 2 else "") + (
                "" if self.primary_required else ", primary optional")
        if self.date == self.phase:
            return f"BR phase {self.phase}"
        return f"BR {self.date} (phase {self.phase})"

    def required(self, remotes):
        if self.kind == "k-of-n":
            return self.k
        return max(0, remotes - allowed_non_corroborations(remotes))

    def decide(self, primary_ok, remotes):
        """remotes: [(rir, corroborated)]. True = CORROBORATED (as quorum/quorum.cc decides)."""
        if not self.enforced:
            return primary_ok
        if self.primary_required and not primary_ok:
            return False
        if len(remotes) < self.min_remotes:
            return False
        ok = [rir for rir, good in remotes if good]
        min_rirs = self.min_rirs if self.min_rirs >= 2 else 0
        return len(ok) >= self.required(len(remotes)) and len(set(ok)) >= min_rirs

    def max_capture_without_certificate(self, remotes):
        """Remote perspectives an attacker may hold (with the primary) and still fail."""
        return self.required(len(remotes)) - 1


# --- the attack model: what one captured perspective sees -----------------------------------
# "victim": the owner's content (owner passes, attacker fails); "attacker": the attacker's
# content; "open": CAA stripped (anyone passes CAA); "fail": nothing valid (blocked, bogus).
VIEW_OK = {"victim": (True, False), "attacker": (False, True), "open": (True, True),
           "fail": (False, False)}


# A delay attack holds each connection or query of a captured perspective once (the relay,
# simservers.DelayRelay). One held for the whole check deadline or longer times the check out;
# one held at most DELAY_SHORT_FRACTION of it leaves room for the few sequential exchanges a
# check makes (DNS-01 on the signed zone: TXT, DNSKEY, CAA at two names) and its resolver's
# first retransmission timer. In between the outcome depends on the resolver's retry timing,
# so scenarios may not ask for it (delay_view() says None).
DELAY_SHORT_FRACTION = 8


def delay_view(delay_ms, check_ms):
    """"fail" (times out), "victim" (unaffected) or None (not predictable)."""
    if delay_ms >= check_ms:
        return "fail"
    if delay_ms * DELAY_SHORT_FRACTION <= check_ms:
        return "victim"
    return None


def captured_view(kind, target, method, zone, delay_ms=0, check_ms=0):
    uses_web = method in ("http-01", "tls-alpn-01")
    if kind in ("drop", "reject", "delay"):
        if target == "web" and not uses_web:
            return "victim"
        if kind == "delay":
            return delay_view(delay_ms, check_ms)
        return "fail"
    if target == "web":  # prefix or sub-prefix hijack of the victim's web server
        return "attacker" if uses_web else "victim"
    # target "ns": the attacker's DNS answers for the victim's zone.
    if zone == "signed":
        return "fail"  # every rewritten answer is bogus under DNSSEC
    if kind == "intercept":  # forwards, only strips CAA
        return "open" if method == "caa" else "victim"
    return "open" if method == "caa" else "attacker"
