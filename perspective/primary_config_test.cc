#include "perspective/primary_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "lab/pki.h"
#include "perspective/config.h"

namespace mpic::perspective {
namespace {

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/va-primary-config-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto pki = lab::Pki::Create(dir_ + "/pki");
    ASSERT_TRUE(pki.has_value()) << pki.error().detail;
    auto pair = pki->Issue("nyc", {"nyc"}, {"127.0.0.1"});
    ASSERT_TRUE(pair.has_value()) << pair.error().detail;
    ca_ = pki->ca_cert;
    cert_ = pair->cert_file;
    key_ = pair->key_file;
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }

  static void SetIdentity(v1::PerspectiveIdentity* id, const std::string& name, v1::Rir rir,
                          double lat, double lon) {
    id->set_name(name);
    id->set_rir(rir);
    id->mutable_location()->set_latitude(lat);
    id->mutable_location()->set_longitude(lon);
  }

  void AddRemote(v1::PrimaryConfig* c, const std::string& name, v1::Rir rir, double lat,
                 double lon) {
    v1::RemoteEndpoint* r = c->add_remotes();
    SetIdentity(r->mutable_identity(), name, rir, lat, lon);
    r->set_address("127.0.0.1:" + std::to_string(20000 + c->remotes_size()));
  }

  // A valid BR 2026-06-15 config: primary in New York, four remotes on four continents.
  v1::PrimaryConfig Base() {
    v1::PrimaryConfig c;
    SetIdentity(c.mutable_identity(), "nyc", v1::ARIN, 40.71, -74.01);
    c.set_listen("127.0.0.1:0");
    for (v1::TlsFiles* tls : {c.mutable_server_tls(), c.mutable_client_tls()}) {
      tls->set_ca_file(ca_);
      tls->set_cert_file(cert_);
      tls->set_key_file(key_);
    }
    AddRemote(&c, "fra", v1::RIPE_NCC, 50.11, 8.68);
    AddRemote(&c, "syd", v1::APNIC, -33.87, 151.21);
    AddRemote(&c, "sao", v1::LACNIC, -23.55, -46.63);
    AddRemote(&c, "sfo", v1::ARIN, 37.77, -122.42);
    c.mutable_policy()->set_effective_date("2026-06-15");
    c.set_audit_log(dir_ + "/audit.jsonl");
    c.add_authorized_clients("ca-client");
    return c;
  }

  static std::string Error(const v1::PrimaryConfig& c) {
    auto s = ValidatePrimaryConfig(c, quorum::Date{2026, 7, 1});
    return s ? "" : s.error().detail;
  }

  std::string dir_, ca_, cert_, key_;
};

TEST_F(ConfigTest, AcceptsAValidBrConfig) {
  auto s = ValidatePrimaryConfig(Base(), quorum::Date{2026, 7, 1});
  ASSERT_TRUE(s.has_value()) << s.error().detail;
  EXPECT_EQ(s->remotes_per_validation, 4);
  EXPECT_EQ(s->phase, "2026-06-15");
  EXPECT_TRUE(s->policy.enforced());
  EXPECT_EQ(s->remotes.size(), 4u);
  EXPECT_EQ(s->remote_timeout, std::chrono::milliseconds(kDefaultRemoteTimeoutMs));
  EXPECT_EQ(s->straggler_grace, std::chrono::milliseconds(0));
  EXPECT_TRUE(s->warnings.empty());
}

TEST_F(ConfigTest, TodayUsesTheGivenDate) {
  v1::PrimaryConfig c = Base();
  c.mutable_policy()->set_effective_date("today");
  c.set_selection_secret("0123456789abcdef");  // 3 of a pool of 4
  auto s = ValidatePrimaryConfig(c, quorum::Date{2026, 4, 1});
  ASSERT_TRUE(s.has_value()) << s.error().detail;
  EXPECT_EQ(s->phase, "2026-03-15");
  EXPECT_EQ(s->remotes_per_validation, 3);
}

TEST_F(ConfigTest, RefusesTooFewRemotesForThePhase) {
  v1::PrimaryConfig c = Base();
  c.mutable_policy()->set_effective_date("2026-12-15");  // needs 5

  EXPECT_NE(Error(c).find("needs at least 5"), std::string::npos) << Error(c);
}

TEST_F(ConfigTest, RefusesTooFewRirs) {
  v1::PrimaryConfig c = Base();
  c.clear_remotes();
  AddRemote(&c, "fra", v1::RIPE_NCC, 50.11, 8.68);
  AddRemote(&c, "mad", v1::RIPE_NCC, 40.42, -3.70);
  AddRemote(&c, "mow", v1::RIPE_NCC, 55.75, 37.62);
  c.mutable_policy()->set_effective_date("2026-03-15");  // 3 remotes, >= 2 RIRs
  const std::string e = Error(c);
  EXPECT_NE(e.find("RIR"), std::string::npos) << e;
  EXPECT_NE(e.find("needs at least 2"), std::string::npos) << e;
  // The 2025-09-15 phase has no RIR rule: the same fleet is fine there.
  c.mutable_policy()->set_effective_date("2025-09-15");
  c.set_remotes_per_validation(3);
  EXPECT_EQ(Error(c), "");
}

TEST_F(ConfigTest, RefusesPerspectivesCloserThan500Km) {
  v1::PrimaryConfig c = Base();
  AddRemote(&c, "ams", v1::RIPE_NCC, 52.37, 4.90);  // ~365 km from Frankfurt
  EXPECT_NE(Error(c).find("apart"), std::string::npos) << Error(c);
  c = Base();
  AddRemote(&c, "bos", v1::ARIN, 42.36, -71.06);  // ~300 km from the primary in New York
  EXPECT_NE(Error(c).find("from primary"), std::string::npos) << Error(c);
}

TEST_F(ConfigTest, RefusesBadRemotes) {
  v1::PrimaryConfig c = Base();
  AddRemote(&c, "fra", v1::RIPE_NCC, -1.29, 36.82);
  EXPECT_NE(Error(c).find("used more than once"), std::string::npos) << Error(c);

  c = Base();
  c.mutable_remotes(1)->set_address(c.remotes(0).address());
  EXPECT_NE(Error(c).find("used by another remote"), std::string::npos) << Error(c);

  c = Base();
  c.mutable_remotes(0)->set_address("no-port");
  EXPECT_NE(Error(c).find("not host:port"), std::string::npos) << Error(c);

  c = Base();
  c.mutable_remotes(0)->mutable_identity()->set_rir(v1::RIR_UNSPECIFIED);
  EXPECT_NE(Error(c).find("remotes[0].identity.rir"), std::string::npos) << Error(c);

  c = Base();
  c.mutable_remotes(0)->mutable_identity()->mutable_location()->set_latitude(123);
  EXPECT_NE(Error(c).find("remotes[0]"), std::string::npos) << Error(c);

  c = Base();
  c.mutable_remotes(0)->mutable_identity()->set_name("nyc");  // the primary's name
  EXPECT_NE(Error(c).find("used more than once"), std::string::npos) << Error(c);
}

TEST_F(ConfigTest, RefusesMissingIdentityTlsAndAudit) {
  v1::PrimaryConfig c = Base();
  c.mutable_identity()->set_name("");
  EXPECT_NE(Error(c).find("primary identity.name: required"), std::string::npos) << Error(c);

  c = Base();
  c.mutable_client_tls()->set_key_file(dir_ + "/missing.pem");
  EXPECT_NE(Error(c).find("client_tls.key_file"), std::string::npos) << Error(c);

  c = Base();
  c.mutable_server_tls()->set_ca_file("");
  EXPECT_NE(Error(c).find("server_tls.ca_file: required"), std::string::npos) << Error(c);

  c = Base();
  c.set_audit_log("");
  EXPECT_NE(Error(c).find("audit_log is required"), std::string::npos) << Error(c);

  c = Base();
  c.set_audit_log(dir_ + "/no/such/dir/audit.jsonl");
  EXPECT_NE(Error(c).find("not writable"), std::string::npos) << Error(c);

  c = Base();
  c.set_listen("");
  EXPECT_NE(Error(c).find("listen: \"\" is empty"), std::string::npos) << Error(c);
}

TEST_F(ConfigTest, PolicyRules) {
  v1::PrimaryConfig c = Base();
  c.mutable_policy()->set_effective_date("2026-13-01");
  EXPECT_NE(Error(c).find("YYYY-MM-DD"), std::string::npos) << Error(c);

  c = Base();
  c.mutable_policy()->set_effective_date("");
  EXPECT_NE(Error(c).find("effective_date is required"), std::string::npos) << Error(c);

  // Research k-of-n only with the explicit acknowledgement, and then loudly.
  c = Base();
  c.mutable_policy()->Clear();
  c.mutable_policy()->set_research_k(2);
  c.mutable_policy()->set_research_n(3);
  EXPECT_NE(Error(c).find("research_not_br_compliant"), std::string::npos) << Error(c);
  c.mutable_policy()->set_research_not_br_compliant(true);
  c.set_remotes_per_validation(4);
  c.set_selection_secret("0123456789abcdef0123456789abcdef");
  auto s = ValidatePrimaryConfig(c, quorum::Date{2026, 7, 1});
  ASSERT_TRUE(s.has_value()) << s.error().detail;
  EXPECT_FALSE(s->policy.br_compliant());
  ASSERT_FALSE(s->warnings.empty());
  EXPECT_NE(s->warnings[0].find("NOT BR"), std::string::npos);
  EXPECT_EQ(s->phase, "");

  c.mutable_policy()->set_effective_date("2026-06-15");
  EXPECT_NE(Error(c).find("mutually exclusive"), std::string::npos) << Error(c);

  // The not-enforced phase is accepted, with a warning.
  c = Base();
  c.mutable_policy()->set_effective_date("2025-03-15");
  c.set_remotes_per_validation(2);
  c.set_selection_secret("0123456789abcdef");
  s = ValidatePrimaryConfig(c, quorum::Date{2026, 7, 1});
  ASSERT_TRUE(s.has_value()) << s.error().detail;
  EXPECT_FALSE(s->policy.enforced());
  EXPECT_FALSE(s->warnings.empty());
}

TEST_F(ConfigTest, CohortSizeAndSecret) {
  v1::PrimaryConfig c = Base();
  c.mutable_policy()->set_effective_date("2026-03-15");  // min 3 of a pool of 4
  EXPECT_NE(Error(c).find("selection_secret must be at least 16"), std::string::npos) << Error(c);
  c.set_selection_secret("short");
  EXPECT_NE(Error(c).find("selection_secret must be at least 16"), std::string::npos) << Error(c);
  c.set_selection_secret("0123456789abcdef");
  EXPECT_EQ(Error(c), "");

  c.set_remotes_per_validation(5);
  EXPECT_NE(Error(c).find("exceeds the 4 remote(s)"), std::string::npos) << Error(c);
  c.set_remotes_per_validation(2);
  EXPECT_NE(Error(c).find("below the 3"), std::string::npos) << Error(c);

  // The whole pool every time: no secret needed, but a short one is still a mistake.
  c = Base();
  EXPECT_EQ(Error(c), "");
  c.set_selection_secret("short");
  EXPECT_NE(Error(c).find("selection_secret is 5 bytes"), std::string::npos) << Error(c);
}

TEST_F(ConfigTest, TimeoutsAreBounded) {
  v1::PrimaryConfig c = Base();
  c.set_remote_timeout_ms(kMaxTimeoutMs + 1);
  EXPECT_NE(Error(c).find("remote_timeout_ms"), std::string::npos) << Error(c);
  c = Base();
  c.set_straggler_grace_ms(kMaxStragglerGraceMs + 1);
  EXPECT_NE(Error(c).find("straggler_grace_ms"), std::string::npos) << Error(c);
  c = Base();
  c.set_remote_timeout_ms(1500);
  c.set_straggler_grace_ms(200);
  auto s = ValidatePrimaryConfig(c, quorum::Date{2026, 7, 1});
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->remote_timeout.count(), 1500);
  EXPECT_EQ(s->straggler_grace.count(), 200);
}

// Issue 15, defect 2 (--check-config side): timeouts that leave a remote no reply margin.
TEST_F(ConfigTest, TimeoutsMustLeaveAReplyMargin) {
  v1::PrimaryConfig c = Base();
  c.set_remote_timeout_ms(kMinRemoteTimeoutMs - 1);
  EXPECT_NE(Error(c).find("remote_timeout_ms 499 is below 500"), std::string::npos) << Error(c);
  c = Base();
  c.set_remote_timeout_ms(1000);
  c.set_straggler_grace_ms(1000);
  EXPECT_NE(Error(c).find("straggler_grace_ms 1000 is not below"), std::string::npos) << Error(c);
  c.set_straggler_grace_ms(999);
  EXPECT_EQ(Error(c), "");
}

// A far remote may get a longer deadline of its own; the longest bounds the validation.
TEST_F(ConfigTest, PerRemoteTimeouts) {
  v1::PrimaryConfig c = Base();
  c.set_remote_timeout_ms(2000);
  c.mutable_remotes(1)->set_timeout_ms(4500);
  auto s = ValidatePrimaryConfig(c, quorum::Date{2026, 7, 1});
  ASSERT_TRUE(s.has_value()) << s.error().detail;
  EXPECT_EQ(s->remote_timeout.count(), 4500);
  c.mutable_remotes(1)->set_timeout_ms(100);
  EXPECT_NE(Error(c).find("remotes[1].timeout_ms 100 is below 500"), std::string::npos) << Error(c);
  c.mutable_remotes(1)->set_timeout_ms(kMaxTimeoutMs + 1);
  EXPECT_NE(Error(c).find("remotes[1].timeout_ms"), std::string::npos) << Error(c);
}

// Issue 15, defect 4: validations in flight are bounded.
TEST_F(ConfigTest, MethodTimeoutsOverrideTheGlobalDeadlines) {
  v1::PrimaryConfig c = Base();
  c.set_max_check_ms(5000);
  c.set_remote_timeout_ms(6000);
  v1::MethodTimeout* dns = c.add_method_timeouts();
  dns->set_method("DNS_01");
  dns->set_max_check_ms(1500);
  dns->set_remote_timeout_ms(2000);
  v1::MethodTimeout* http = c.add_method_timeouts();
  http->set_method("HTTP_01");
  http->set_remote_timeout_ms(15000);  // max_check_ms from the global value
  c.mutable_remotes(0)->set_timeout_ms(9000);
  auto s = ValidatePrimaryConfig(c, quorum::Date{2026, 7, 1});
  ASSERT_TRUE(s.has_value()) << s.error().detail;
  using std::chrono::milliseconds;
  EXPECT_EQ(s->DeadlinesFor(v1::DNS_01).max_check, milliseconds(1500));
  EXPECT_EQ(s->DeadlinesFor(v1::DNS_01).remote_timeout, milliseconds(2000));
  EXPECT_EQ(s->DeadlinesFor(v1::HTTP_01).max_check, milliseconds(5000));
  EXPECT_EQ(s->DeadlinesFor(v1::HTTP_01).remote_timeout, milliseconds(15000));
  // No entry (and a CAA-only request): the global values.
  EXPECT_EQ(s->DeadlinesFor(v1::TLS_ALPN_01).max_check, milliseconds(5000));
  EXPECT_EQ(s->DeadlinesFor(v1::METHOD_UNSPECIFIED).remote_timeout, milliseconds(6000));
  // A remote's own timeout_ms is its deadline whatever the method.
  EXPECT_EQ(s->RemoteTimeoutFor(c.remotes(0), v1::DNS_01), milliseconds(9000));
  EXPECT_EQ(s->RemoteTimeoutFor(c.remotes(1), v1::DNS_01), milliseconds(2000));
  // The longest bounds include the methods' (they bound a validation and the shutdown).
  EXPECT_EQ(s->remote_timeout, milliseconds(15000));
  EXPECT_EQ(s->longest_max_check, milliseconds(5000));
}

TEST_F(ConfigTest, MethodTimeoutsFollowTheGlobalRules) {
  auto with = [&](const std::string& method, uint32_t check, uint32_t remote) {
    v1::PrimaryConfig c = Base();
    v1::MethodTimeout* t = c.add_method_timeouts();
    t->set_method(method);
    t->set_max_check_ms(check);
    t->set_remote_timeout_ms(remote);
    return c;
  };
  EXPECT_NE(Error(with("DNS-01", 1000, 0)).find("method_timeouts[0].method \"DNS-01\" is not a "
                                                "DCV method (one of HTTP_01, DNS_01"),
            std::string::npos)
      << Error(with("DNS-01", 1000, 0));
  EXPECT_NE(Error(with("CAA", 1000, 0)).find("is not a DCV method"), std::string::npos);
  EXPECT_NE(Error(with("METHOD_UNSPECIFIED", 1000, 0)).find("is not a DCV method"),
            std::string::npos);
  EXPECT_NE(Error(with("DNS_01", 0, 0)).find("sets neither"), std::string::npos);
  EXPECT_NE(Error(with("DNS_01", 0, 400)).find("remote_timeout_ms 400 is below 500"),
            std::string::npos)
      << Error(with("DNS_01", 0, 400));
  EXPECT_NE(Error(with("DNS_01", 0, 60001)).find("exceeds 60000"), std::string::npos);
  EXPECT_NE(Error(with("DNS_01", 60001, 0)).find("max_check_ms 60001 exceeds"),
            std::string::npos);
  EXPECT_EQ(Error(with("DNS_01", 1000, 500)), "");

  v1::PrimaryConfig twice = with("DNS_01", 1000, 0);
  *twice.add_method_timeouts() = twice.method_timeouts(0);
  EXPECT_NE(Error(twice).find("method_timeouts[1] (DNS_01): method given more than once"),
            std::string::npos)
      << Error(twice);

  // A grace period the method's deadline cannot outlast, as for the global value.
  v1::PrimaryConfig grace = with("DNS_01", 0, 800);
  grace.set_straggler_grace_ms(800);
  EXPECT_NE(Error(grace).find("straggler_grace_ms 800 is not below method_timeouts[0] (DNS_01)"),
            std::string::npos)
      << Error(grace);
}

TEST_F(ConfigTest, MethodTimeoutsFromJson) {
  auto c = ParsePrimaryConfig(
      R"({"method_timeouts": [{"method": "DNS_01", "max_check_ms": 1000}]})", "test");
  ASSERT_TRUE(c.has_value()) << c.error().detail;
  ASSERT_EQ(c->method_timeouts_size(), 1);
  EXPECT_EQ(c->method_timeouts(0).method(), "DNS_01");
  EXPECT_EQ(c->method_timeouts(0).max_check_ms(), 1000u);
}

TEST_F(ConfigTest, ReloadAppliesLiveFields) {
  const v1::PrimaryConfig running = Base();
  v1::PrimaryConfig next = Base();
  next.mutable_remotes()->RemoveLast();
  next.mutable_policy()->set_effective_date("2026-03-15");  // 3 remotes suffice
  next.clear_authorized_clients();
  next.add_authorized_clients("ca-client-2");
  next.set_max_in_flight(8);
  next.set_remote_timeout_ms(3000);
  v1::MethodTimeout* t = next.add_method_timeouts();
  t->set_method("DNS_01");
  t->set_max_check_ms(1000);
  next.mutable_client_tls()->set_cert_file(cert_);  // same files: allowed anyway
  auto s = CheckPrimaryReload(running, next, quorum::Date{2026, 7, 1});
  ASSERT_TRUE(s.has_value()) << s.error().detail;
  EXPECT_EQ(s->remotes.size(), 3u);
  EXPECT_EQ(s->max_in_flight, 8);
  EXPECT_EQ(s->config.authorized_clients(0), "ca-client-2");
  EXPECT_EQ(ChangedFields(running, next),
            (std::vector<std::string>{"remotes", "policy", "remote_timeout_ms",
                                      "authorized_clients", "max_in_flight", "method_timeouts"}));
  // Nothing changed at all: applied (a SIGHUP to re-read the TLS files).
  EXPECT_TRUE(CheckPrimaryReload(running, running, quorum::Date{2026, 7, 1}).has_value());
}

TEST_F(ConfigTest, ReloadRefusesRestartOnlyFields) {
  const v1::PrimaryConfig running = Base();
  auto refused = [&](const v1::PrimaryConfig& next) {
    auto s = CheckPrimaryReload(running, next, quorum::Date{2026, 7, 1});
    return s ? std::string() : s.error().detail;
  };
  v1::PrimaryConfig c = Base();
  c.set_listen("127.0.0.1:4443");
  EXPECT_EQ(refused(c).rfind("restart to change listen (a reload applies only remotes, ", 0), 0u)
      << refused(c);
  c = Base();
  c.set_ready_file(dir_ + "/ready.json");
  c.set_metrics_listen("127.0.0.1:0");
  EXPECT_EQ(refused(c).rfind("restart to change ready_file, metrics_listen (", 0), 0u)
      << refused(c);
  c = Base();
  c.set_audit_log(dir_ + "/other.jsonl");
  EXPECT_EQ(refused(c).rfind("restart to change audit_log (", 0), 0u) << refused(c);
  c = Base();
  c.mutable_identity()->set_region("elsewhere");
  EXPECT_EQ(refused(c).rfind("restart to change identity (", 0), 0u) << refused(c);
  c = Base();
  c.mutable_lab()->add_allow_cidrs("127.0.0.0/8");
  EXPECT_EQ(refused(c).rfind("restart to change lab (", 0), 0u) << refused(c);
  c = Base();
  ASSERT_EQ(std::system(("cp " + ca_ + " " + dir_ + "/ca2.pem").c_str()), 0);
  c.mutable_server_tls()->set_ca_file(dir_ + "/ca2.pem");  // the same CA, another path
  EXPECT_NE(refused(c).find("restart to change server_tls"), std::string::npos) << refused(c);
  c = Base();
  c.mutable_resolver()->mutable_stub()->set_server("127.0.0.1");
  c.mutable_resolver()->mutable_stub()->set_require_ad(true);
  EXPECT_EQ(refused(c).rfind("restart to change resolver (", 0), 0u) << refused(c);
}

TEST_F(ConfigTest, ReloadRunsEveryCheckConfigRule) {
  const v1::PrimaryConfig running = Base();
  v1::PrimaryConfig next = Base();
  next.mutable_remotes()->RemoveLast();  // 3 remotes cannot meet the 2026-06-15 phase
  auto s = CheckPrimaryReload(running, next, quorum::Date{2026, 7, 1});
  ASSERT_FALSE(s.has_value());
  EXPECT_NE(s.error().detail.find("needs at least 4"), std::string::npos) << s.error().detail;
  next = Base();
  next.clear_authorized_clients();  // required outside lab mode
  s = CheckPrimaryReload(running, next, quorum::Date{2026, 7, 1});
  ASSERT_FALSE(s.has_value());
  EXPECT_NE(s.error().detail.find("authorized_clients"), std::string::npos) << s.error().detail;
}

TEST_F(ConfigTest, EveryLiveFieldExists) {
  // A live field that no longer exists (renamed) would silently turn into a restart-only one.
  for (const std::string& name : PrimaryLiveFields()) {
    EXPECT_NE(v1::PrimaryConfig::descriptor()->FindFieldByName(name), nullptr) << name;
  }
  for (const std::string& name : RemoteLiveFields()) {
    EXPECT_NE(v1::RemoteConfig::descriptor()->FindFieldByName(name), nullptr) << name;
  }
}

TEST_F(ConfigTest, MaxInFlight) {
  auto s = ValidatePrimaryConfig(Base(), quorum::Date{2026, 7, 1});
  ASSERT_TRUE(s.has_value()) << s.error().detail;
  EXPECT_EQ(s->max_in_flight, static_cast<int>(kDefaultMaxInFlight));
  v1::PrimaryConfig c = Base();
  c.set_max_in_flight(3);
  s = ValidatePrimaryConfig(c, quorum::Date{2026, 7, 1});
  ASSERT_TRUE(s.has_value()) << s.error().detail;
  EXPECT_EQ(s->max_in_flight, 3);
  c.set_max_in_flight(kMaxMaxInFlight + 1);
  EXPECT_NE(Error(c).find("max_in_flight"), std::string::npos) << Error(c);
}

// Issue 15: per-account and per-identifier rate limits.
TEST_F(ConfigTest, RateLimits) {
  auto s = ValidatePrimaryConfig(Base(), quorum::Date{2026, 7, 1});
  ASSERT_TRUE(s.has_value()) << s.error().detail;
  EXPECT_FALSE(s->rate_limits.enabled());
  EXPECT_EQ(s->rate_limits.Describe(), "off");
  v1::PrimaryConfig c = Base();
  c.mutable_rate_limits()->mutable_per_account()->set_per_minute(60);
  c.mutable_rate_limits()->mutable_per_identifier()->set_per_minute(10);
  c.mutable_rate_limits()->mutable_per_identifier()->set_burst(3);
  s = ValidatePrimaryConfig(c, quorum::Date{2026, 7, 1});
  ASSERT_TRUE(s.has_value()) << s.error().detail;
  EXPECT_TRUE(s->rate_limits.enabled());
  EXPECT_EQ(s->rate_limits.per_account.burst, 60u);  // burst defaults to the rate
  EXPECT_EQ(s->rate_limits.per_identifier.burst, 3u);
  EXPECT_EQ(s->rate_limits.max_keys, kDefaultRateLimitMaxKeys);
  EXPECT_EQ(s->rate_limits.Describe(),
            "per account 60/min burst 60, per identifier 10/min burst 3, at most 65536 keys each");
  // A burst without a rate, numbers past their bounds.
  v1::PrimaryConfig bad = Base();
  bad.mutable_rate_limits()->mutable_per_account()->set_burst(5);
  EXPECT_NE(Error(bad).find("rate_limits.per_account.burst is set but per_minute is 0"),
            std::string::npos)
      << Error(bad);
  bad = Base();
  bad.mutable_rate_limits()->mutable_per_identifier()->set_per_minute(kMaxRateLimitPerMinute + 1);
  EXPECT_NE(Error(bad).find("rate_limits.per_identifier.per_minute"), std::string::npos)
      << Error(bad);
  bad = Base();
  bad.mutable_rate_limits()->mutable_per_identifier()->set_per_minute(1);
  bad.mutable_rate_limits()->mutable_per_identifier()->set_burst(kMaxRateLimitBurst + 1);
  EXPECT_NE(Error(bad).find("rate_limits.per_identifier.burst"), std::string::npos) << Error(bad);
  bad = Base();
  bad.mutable_rate_limits()->set_max_keys(kMaxRateLimitMaxKeys + 1);
  EXPECT_NE(Error(bad).find("rate_limits.max_keys"), std::string::npos) << Error(bad);
}

// Issue 15, defect 5: outside lab mode the primary names the CA clients allowed to call it.
TEST_F(ConfigTest, AuthorizedClientsRequiredOutsideLabMode) {
  v1::PrimaryConfig c = Base();
  c.clear_authorized_clients();
  EXPECT_NE(Error(c).find("authorized_clients: required outside lab mode"), std::string::npos)
      << Error(c);
  c.mutable_lab()->add_allow_cidrs("127.0.0.0/8");
  auto s = ValidatePrimaryConfig(c, quorum::Date{2026, 7, 1});
  ASSERT_TRUE(s.has_value()) << s.error().detail;
  // Lab mode, any client: both are reasons this is not production.
  ASSERT_EQ(s->non_production.size(), 2u);
  EXPECT_NE(s->non_production[0].find("127.0.0.0/8"), std::string::npos);
  EXPECT_NE(s->non_production[1].find("authorized_clients"), std::string::npos);
  s = ValidatePrimaryConfig(Base(), quorum::Date{2026, 7, 1});
  ASSERT_TRUE(s.has_value());
  EXPECT_TRUE(s->non_production.empty());
}

TEST_F(ConfigTest, EveryProblemIsListed) {
  v1::PrimaryConfig c = Base();
  c.set_audit_log("");
  c.set_listen("");
  const std::string e = Error(c);
  EXPECT_NE(e.find("audit_log"), std::string::npos);
  EXPECT_NE(e.find("listen"), std::string::npos);
}

TEST_F(ConfigTest, OpenMpicIsOffUnlessListenIsSet) {
  auto s = ValidatePrimaryConfig(Base(), quorum::Date{2026, 7, 1});
  ASSERT_TRUE(s.has_value());
  EXPECT_FALSE(s->openmpic.enabled);
  v1::PrimaryConfig c = Base();
  c.mutable_openmpic()->set_allow_monitoring(true);  // a setting without a listen address
  EXPECT_NE(Error(c).find("openmpic.listen is empty"), std::string::npos) << Error(c);
}

TEST_F(ConfigTest, OpenMpicDefaultsToMutualTlsWithTheServerFiles) {
  v1::PrimaryConfig c = Base();
  c.mutable_openmpic()->set_listen("127.0.0.1:0");
  auto s = ValidatePrimaryConfig(c, quorum::Date{2026, 7, 1});
  ASSERT_TRUE(s.has_value()) << s.error().detail;
  const OpenMpicOptions& o = s->openmpic;
  EXPECT_TRUE(o.enabled);
  EXPECT_FALSE(o.plaintext);
  EXPECT_EQ(o.tls.ca_file(), ca_);
  EXPECT_EQ(o.tls.cert_file(), cert_);
  EXPECT_EQ(o.api_key_header, "x-api-key");
  EXPECT_TRUE(o.api_keys.empty());
  EXPECT_FALSE(o.allow_monitoring);
  EXPECT_EQ(o.max_attempts, 1);
  EXPECT_EQ(o.max_body_bytes, kDefaultOpenMpicMaxBodyBytes);
  EXPECT_EQ(o.read_timeout.count(), kDefaultOpenMpicReadTimeoutMs);
  EXPECT_EQ(o.max_connections, kDefaultOpenMpicMaxConnections);
}

TEST_F(ConfigTest, OpenMpicPlaintextOnlyInLabMode) {
  v1::PrimaryConfig c = Base();
  c.mutable_openmpic()->set_listen("127.0.0.1:0");
  c.mutable_openmpic()->set_plaintext_lab_only(true);
  EXPECT_NE(Error(c).find("plaintext is refused outside lab mode"), std::string::npos) << Error(c);
  c.mutable_lab()->add_allow_cidrs("127.0.0.0/8");
  auto s = ValidatePrimaryConfig(c, quorum::Date{2026, 7, 1});
  ASSERT_TRUE(s.has_value()) << s.error().detail;
  EXPECT_TRUE(s->openmpic.plaintext);
  c.mutable_openmpic()->mutable_tls()->set_ca_file(ca_);
  EXPECT_NE(Error(c).find("both plaintext_lab_only and tls"), std::string::npos) << Error(c);
}

TEST_F(ConfigTest, OpenMpicApiKeysComeFromAFile) {
  v1::PrimaryConfig c = Base();
  c.mutable_openmpic()->set_listen("127.0.0.1:0");
  c.mutable_openmpic()->set_api_keys_file(dir_ + "/missing");
  EXPECT_NE(Error(c).find("cannot be read"), std::string::npos) << Error(c);

  const std::string path = dir_ + "/keys";
  std::ofstream(path) << "# CA front ends\n\nca-east " << std::string(40, 'a') << "\n"
                      << "ca-west " << std::string(40, 'b') << "\n";
  c.mutable_openmpic()->set_api_keys_file(path);
  c.mutable_openmpic()->set_api_key_header("X-Mpic-Key");
  auto s = ValidatePrimaryConfig(c, quorum::Date{2026, 7, 1});
  ASSERT_TRUE(s.has_value()) << s.error().detail;
  ASSERT_EQ(s->openmpic.api_keys.size(), 2u);
  EXPECT_EQ(s->openmpic.api_keys[0].name, "ca-east");
  EXPECT_EQ(s->openmpic.api_keys[1].value, std::string(40, 'b'));
  EXPECT_EQ(s->openmpic.api_key_header, "X-Mpic-Key");

  std::ofstream(path) << "short tooshort\n";
  EXPECT_NE(Error(c).find("shorter than 32"), std::string::npos) << Error(c);
  std::ofstream(path) << "a " << std::string(40, 'a') << "\nb " << std::string(40, 'a') << "\n";
  EXPECT_NE(Error(c).find("same key is given twice"), std::string::npos) << Error(c);
  std::ofstream(path) << "a " << std::string(40, 'a') << "\na " << std::string(40, 'b') << "\n";
  EXPECT_NE(Error(c).find("used more than once"), std::string::npos) << Error(c);
  std::ofstream(path) << "lonely\n";
  EXPECT_NE(Error(c).find("expected \"name value\""), std::string::npos) << Error(c);
  std::ofstream(path) << "# nothing\n";
  EXPECT_NE(Error(c).find("holds no key"), std::string::npos) << Error(c);
  std::ofstream(path) << "a " << std::string(40, 'a') << "\n";
  c.mutable_openmpic()->set_api_key_header("x api key");
  EXPECT_NE(Error(c).find("not a header name"), std::string::npos) << Error(c);
}

TEST_F(ConfigTest, OpenMpicLimitsAreBounded) {
  v1::PrimaryConfig c = Base();
  v1::OpenMpicSettings* o = c.mutable_openmpic();
  o->set_listen("127.0.0.1:0");
  o->set_max_attempts(kMaxOpenMpicAttempts + 1);
  o->set_max_body_bytes(10);
  o->set_read_timeout_ms(kMaxTimeoutMs + 1);
  o->set_max_connections(kMaxOpenMpicMaxConnections + 1);
  const std::string e = Error(c);
  for (const char* field : {"openmpic.max_attempts", "openmpic.max_body_bytes",
                            "openmpic.read_timeout_ms", "openmpic.max_connections"}) {
    EXPECT_NE(e.find(field), std::string::npos) << field << ": " << e;
  }
  o->set_max_attempts(3);
  o->set_max_body_bytes(4096);
  o->set_read_timeout_ms(2000);
  o->set_backend_timeout_ms(30000);
  o->set_max_connections(16);
  o->set_allow_monitoring(true);
  auto s = ValidatePrimaryConfig(c, quorum::Date{2026, 7, 1});
  ASSERT_TRUE(s.has_value()) << s.error().detail;
  EXPECT_EQ(s->openmpic.max_attempts, 3);
  EXPECT_EQ(s->openmpic.max_body_bytes, 4096u);
  EXPECT_EQ(s->openmpic.read_timeout.count(), 2000);
  EXPECT_EQ(s->openmpic.backend_timeout.count(), 30000);
  EXPECT_EQ(s->openmpic.max_connections, 16u);
  EXPECT_TRUE(s->openmpic.allow_monitoring);
  o->add_default_caa_domains("ca.example");
  s = ValidatePrimaryConfig(c, quorum::Date{2026, 7, 1});
  ASSERT_TRUE(s.has_value()) << s.error().detail;
  EXPECT_EQ(s->openmpic.default_caa_domains, std::vector<std::string>{"ca.example"});
  o->add_default_caa_domains("not a domain");
  EXPECT_NE(Error(c).find("openmpic.default_caa_domains"), std::string::npos) << Error(c);
  o->clear_default_caa_domains();
  o->set_listen("nowhere");
  EXPECT_NE(Error(c).find("openmpic.listen"), std::string::npos) << Error(c);
}

}  // namespace
}  // namespace mpic::perspective
