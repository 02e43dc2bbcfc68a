#include "perspective/config.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>

#include "common/asio.h"
#include "lab/pki.h"
#include "perspective/factories.h"

namespace mpic::perspective {
namespace {

namespace fs = std::filesystem;

class ConfigLoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mpic-config-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto pki = lab::Pki::Create(dir_ + "/pki");
    ASSERT_TRUE(pki) << pki.error().detail;
    pki_ = *pki;
    auto leaf = pki_.Issue("eu-fra-1", {"eu-fra-1"}, {"127.0.0.1"});
    ASSERT_TRUE(leaf) << leaf.error().detail;
    leaf_ = *leaf;
    auto other = pki_.Issue("other", {"other"}, {});
    ASSERT_TRUE(other) << other.error().detail;
    other_ = *other;
    hints_ = Write("root.hints", ". 3600000 NS a.root-servers.lab.\n");
    anchor_ = Write("root.key", ". 60 IN DS 1 13 2 00\n");
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string Write(const std::string& name, const std::string& text) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }

  // A valid config; tests break one thing at a time.
  v1::RemoteConfig Good() {
    v1::RemoteConfig c;
    c.mutable_identity()->set_name("eu-fra-1");
    c.mutable_identity()->set_rir(v1::RIPE_NCC);
    c.mutable_identity()->mutable_location()->set_latitude(50.11);
    c.mutable_identity()->mutable_location()->set_longitude(8.68);
    c.set_listen("127.0.0.1:0");
    c.set_metrics_listen("[::1]:9100");
    c.mutable_tls()->set_ca_file(pki_.ca_cert);
    c.mutable_tls()->set_cert_file(leaf_.cert_file);
    c.mutable_tls()->set_key_file(leaf_.key_file);
    c.mutable_resolver()->mutable_unbound()->set_root_hints_file(hints_);
    c.mutable_resolver()->mutable_unbound()->set_trust_anchor_file(anchor_);
    c.mutable_lab()->add_allow_cidrs("127.0.0.0/8");
    c.mutable_lab()->set_http_port(5002);
    return c;
  }

  // Expects a validation error whose detail mentions `needle`.
  void ExpectBad(const std::function<void(v1::RemoteConfig*)>& breaker, const std::string& needle) {
    v1::RemoteConfig c = Good();
    breaker(&c);
    auto st = ValidateRemoteConfig(c);
    ASSERT_FALSE(st) << "expected an error mentioning " << needle;
    EXPECT_EQ(st.error().type, ProblemType::kMalformed);
    EXPECT_NE(st.error().detail.find(needle), std::string::npos) << st.error().detail;
  }

  std::string dir_;
  lab::Pki pki_;
  lab::CertPair leaf_;
  lab::CertPair other_;
  std::string hints_;
  std::string anchor_;
};

TEST_F(ConfigLoaderTest, LoadsJsonWithBothFieldSpellings) {
  std::string path = Write("remote.json", R"({
    "identity": {"name": "eu-fra-1", "rir": "RIPE_NCC",
                 "location": {"latitude": 50.11, "longitude": 8.68}},
    "listen": "127.0.0.1:0",
    "readyFile": "/tmp/ready.json",
    "max_check_ms": 5000,
    "resolver": {"unbound": {"root_hints_file": "/x"}},
    "lab": {"allowCidrs": ["127.0.0.0/8"]}
  })");
  auto c = LoadRemoteConfig(path);
  ASSERT_TRUE(c) << c.error().detail;
  EXPECT_EQ(c->identity().name(), "eu-fra-1");
  EXPECT_EQ(c->identity().rir(), v1::RIPE_NCC);
  EXPECT_EQ(c->ready_file(), "/tmp/ready.json");
  EXPECT_EQ(c->max_check_ms(), 5000u);
  EXPECT_EQ(c->resolver().unbound().root_hints_file(), "/x");
  EXPECT_EQ(c->lab().allow_cidrs_size(), 1);
}

TEST_F(ConfigLoaderTest, UnknownFieldRejected) {
  std::string path = Write("typo.json", R"({"listen": "127.0.0.1:0", "lsten": "x"})");
  auto c = LoadRemoteConfig(path);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().type, ProblemType::kMalformed);
  EXPECT_NE(c.error().detail.find(path), std::string::npos) << c.error().detail;
  EXPECT_NE(c.error().detail.find("lsten"), std::string::npos) << c.error().detail;
  // Nested too.
  auto nested = ParseRemoteConfig(R"({"identity": {"nmae": "x"}})", "inline");
  ASSERT_FALSE(nested);
  EXPECT_NE(nested.error().detail.find("nmae"), std::string::npos) << nested.error().detail;
}

TEST_F(ConfigLoaderTest, BadJsonAndWrongTypes) {
  std::string path = Write("bad.json", R"({"listen": )");
  auto c = LoadRemoteConfig(path);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().detail.find(path), std::string::npos) << c.error().detail;
  EXPECT_FALSE(ParseRemoteConfig(R"({"max_check_ms": "lots"})", "inline"));
  EXPECT_FALSE(ParseRemoteConfig(R"({"identity": {"rir": "MOON"}})", "inline"));
  EXPECT_FALSE(ParseRemoteConfig("[]", "inline"));
}

TEST_F(ConfigLoaderTest, SyntaxErrorsGiveLineAndColumn) {
  // A missing comma at the start of line 3.
  std::string path =
      Write("comma.json", "{\n  \"listen\": \"127.0.0.1:0\"\n  \"max_check_ms\": 5\n}\n");
  auto c = LoadRemoteConfig(path);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().type, ProblemType::kMalformed);
  EXPECT_NE(c.error().detail.find(path + ":3:3: JSON syntax error"), std::string::npos)
      << c.error().detail;
  // Cut short: the position is the end of the text.
  auto cut = ParseRemoteConfig("{\"listen\": ", "inline");
  ASSERT_FALSE(cut);
  EXPECT_NE(cut.error().detail.find("inline:1:12: JSON syntax error"), std::string::npos)
      << cut.error().detail;
  // The wrong bracket as the last byte.
  auto bracket = ParseRemoteConfig("{\"listen\": \"x\"]", "inline");
  ASSERT_FALSE(bracket);
  EXPECT_NE(bracket.error().detail.find("inline:1:15: JSON syntax error"), std::string::npos)
      << bracket.error().detail;
  // A field error in well-formed JSON has no position: protobuf names the field.
  auto field = ParsePrimaryConfig("{\n\"lsten\": 1}", "inline");
  ASSERT_FALSE(field);
  EXPECT_EQ(field.error().detail.find("syntax"), std::string::npos) << field.error().detail;
}

TEST_F(ConfigLoaderTest, MissingFile) {
  auto c = LoadRemoteConfig(dir_ + "/nope.json");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().detail.find(dir_ + "/nope.json"), std::string::npos);
  auto p = LoadPrimaryConfig(dir_ + "/nope.json");
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().detail.find("nope.json"), std::string::npos);
}

TEST_F(ConfigLoaderTest, LoadsPrimaryConfig) {
  std::string path = Write("primary.json", R"({
    "identity": {"name": "primary", "rir": "ARIN"},
    "remotes": [{"identity": {"name": "r1"}, "address": "127.0.0.1:1"}],
    "policy": {"effective_date": "today"},
    "audit_log": "/tmp/audit.jsonl"
  })");
  auto p = LoadPrimaryConfig(path);
  ASSERT_TRUE(p) << p.error().detail;
  EXPECT_EQ(p->remotes_size(), 1);
  EXPECT_EQ(p->policy().effective_date(), "today");
  EXPECT_FALSE(LoadPrimaryConfig(Write("p2.json", R"({"remotes": [{"adress": "x"}]})")));
}

TEST_F(ConfigLoaderTest, GoodConfigValidates) {
  auto st = ValidateRemoteConfig(Good());
  EXPECT_TRUE(st) << st.error().detail;
  v1::RemoteConfig no_metrics = Good();
  no_metrics.clear_metrics_listen();
  EXPECT_TRUE(ValidateRemoteConfig(no_metrics));
}

TEST_F(ConfigLoaderTest, IdentityRules) {
  ExpectBad([](auto* c) { c->clear_identity(); }, "identity");
  ExpectBad([](auto* c) { c->mutable_identity()->clear_name(); }, "identity.name");
  ExpectBad([](auto* c) { c->mutable_identity()->set_name("eu fra"); }, "identity.name");
  ExpectBad([](auto* c) { c->mutable_identity()->set_rir(v1::RIR_UNSPECIFIED); }, "identity.rir");
  ExpectBad([](auto* c) { c->mutable_identity()->clear_location(); }, "identity.location");
  ExpectBad([](auto* c) { c->mutable_identity()->mutable_location()->set_latitude(90.5); },
            "latitude");
  ExpectBad([](auto* c) { c->mutable_identity()->mutable_location()->set_longitude(-181); },
            "longitude");
  ExpectBad([](auto* c) { c->mutable_identity()->mutable_location()->set_latitude(NAN); },
            "latitude");
}

TEST_F(ConfigLoaderTest, ListenRules) {
  for (const char* bad : {"", "127.0.0.1", "localhost:80", "127.0.0.1:70000", "::1:80",
                          "[127.0.0.1]:80", "127.0.0.1:x", "[::1]80"}) {
    ExpectBad([bad](auto* c) { c->set_listen(bad); }, "listen");
  }
  ExpectBad([](auto* c) { c->set_metrics_listen("nope"); }, "metrics_listen");
  for (const char* good : {"0.0.0.0:443", "[::]:0", "[::1]:8443", "127.0.0.1:65535"}) {
    EXPECT_TRUE(ValidateListenAddress(good, "listen")) << good;
  }
}

TEST_F(ConfigLoaderTest, TlsRules) {
  ExpectBad([](auto* c) { c->mutable_tls()->clear_ca_file(); }, "tls.ca_file");
  ExpectBad([](auto* c) { c->mutable_tls()->clear_cert_file(); }, "tls.cert_file");
  ExpectBad([](auto* c) { c->mutable_tls()->clear_key_file(); }, "tls.key_file");
  ExpectBad([this](auto* c) { c->mutable_tls()->set_ca_file(dir_ + "/missing.pem"); },
            "missing.pem");
  ExpectBad([this](auto* c) { c->mutable_tls()->set_cert_file(hints_); }, "tls.cert_file");
  ExpectBad([this](auto* c) { c->mutable_tls()->set_key_file(leaf_.cert_file); }, "tls.key_file");
  // A key that is not the certificate's.
  ExpectBad([this](auto* c) { c->mutable_tls()->set_key_file(other_.key_file); }, "match");
}

TEST_F(ConfigLoaderTest, ResolverRules) {
  ExpectBad(
      [this](auto* c) {
        c->mutable_resolver()->mutable_unbound()->set_root_hints_file(dir_ + "/none");
      },
      "resolver.unbound.root_hints_file");
  ExpectBad(
      [this](auto* c) {
        c->mutable_resolver()->mutable_unbound()->set_trust_anchor_file(dir_ + "/none");
      },
      "resolver.unbound.trust_anchor_file");
  ExpectBad([](auto* c) { c->mutable_resolver()->mutable_stub(); }, "resolver.stub.server");
  ExpectBad([](auto* c) { c->mutable_resolver()->mutable_stub()->set_server("not an ip"); },
            "resolver.stub.server");
  // Outside lab mode a stub must require authenticated answers.
  ExpectBad(
      [](auto* c) {
        c->clear_lab();
        c->mutable_resolver()->mutable_stub()->set_server("127.0.0.1:53");
      },
      "require_ad");
  v1::RemoteConfig stub = Good();
  stub.clear_lab();
  stub.mutable_resolver()->mutable_stub()->set_server("127.0.0.1:53");
  stub.mutable_resolver()->mutable_stub()->set_require_ad(true);
  stub.add_authorized_primaries("va-primary");  // required outside lab mode
  auto st = ValidateRemoteConfig(stub);
  EXPECT_TRUE(st) << st.error().detail;
}

TEST_F(ConfigLoaderTest, LabRules) {
  ExpectBad([](auto* c) { c->mutable_lab()->add_allow_cidrs("127.0.0.0/33"); },
            "lab.allow_cidrs[1]");
  ExpectBad([](auto* c) { c->mutable_lab()->add_allow_cidrs("garbage"); }, "lab.allow_cidrs");
  ExpectBad([](auto* c) { c->mutable_lab()->clear_allow_cidrs(); }, "lab.http_port");
  ExpectBad(
      [](auto* c) {
        c->mutable_lab()->clear_allow_cidrs();
        c->mutable_lab()->clear_http_port();
        c->mutable_lab()->set_tls_port(8443);
      },
      "lab.tls_port");
  ExpectBad([](auto* c) { c->mutable_lab()->set_tls_port(70000); }, "lab.tls_port");
}

// Issue 15, defect 6: a lab may open loopback and documentation ranges only (private ones with
// an explicit acknowledgement), never the world, link-local or the cloud metadata address.
TEST_F(ConfigLoaderTest, LabRangesAreLoopbackOrDocumentationOnly) {
  for (const char* open : {"0.0.0.0/0", "169.254.0.0/16", "169.254.169.254/32", "8.8.8.0/24",
                           "::/0", "fe80::/10", "126.0.0.0/7", "192.0.2.0/23"}) {
    ExpectBad([open](auto* c) { c->mutable_lab()->add_allow_cidrs(open); }, "not a lab range");
  }
  ExpectBad([](auto* c) { c->mutable_lab()->add_allow_cidrs("10.77.0.0/16"); },
            "allow_private_ranges");
  for (const char* fine : {"127.1.2.0/24", "::1/128", "192.0.2.0/24", "198.51.100.64/26",
                           "203.0.113.53/32", "2001:db8:1::/48"}) {
    v1::RemoteConfig lab = Good();
    lab.mutable_lab()->add_allow_cidrs(fine);
    EXPECT_TRUE(ValidateRemoteConfig(lab)) << fine;
  }
  v1::RemoteConfig netsim = Good();
  netsim.mutable_lab()->add_allow_cidrs("10.77.0.0/16");
  netsim.mutable_lab()->set_allow_private_ranges(true);
  EXPECT_TRUE(ValidateRemoteConfig(netsim));
  const auto reasons = NonProductionReasons(netsim.lab());
  ASSERT_FALSE(reasons.empty());
  EXPECT_NE(reasons.front().find("10.77.0.0/16"), std::string::npos) << reasons.front();
  EXPECT_TRUE(NonProductionReasons(v1::LabSettings()).empty());
  ExpectBad(
      [](auto* c) {
        c->clear_lab();
        c->add_authorized_primaries("x");
        c->mutable_lab()->set_allow_private_ranges(true);
      },
      "allow_private_ranges");
}

// Issue 15, defect 5: outside lab mode a remote names the primaries allowed to call it.
TEST_F(ConfigLoaderTest, AuthorizedPrimariesRequiredOutsideLabMode) {
  ExpectBad([](auto* c) { c->clear_lab(); }, "authorized_primaries: required");
  v1::RemoteConfig production = Good();
  production.clear_lab();
  production.add_authorized_primaries("va-primary");
  EXPECT_TRUE(ValidateRemoteConfig(production));
  EXPECT_TRUE(ValidateRemoteConfig(Good()));  // lab mode: any fleet certificate
  ExpectBad([](auto* c) { c->add_authorized_primaries(""); }, "authorized_primaries[0]");
  ExpectBad([](auto* c) { c->add_authorized_primaries("a b"); }, "authorized_primaries[0]");
}

TEST_F(ConfigLoaderTest, CustomTrustAnchorIsFlagged) {
  const auto warnings = ResolverWarnings(Good().resolver());
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_NE(warnings[0].find("trust_anchor_file"), std::string::npos);
  EXPECT_TRUE(ResolverWarnings(v1::ResolverSettings()).empty());
}

TEST_F(ConfigLoaderTest, LimitRules) {
  ExpectBad([](auto* c) { c->set_max_check_ms(kMaxMaxCheckMs + 1); }, "max_check_ms");
  ExpectBad([](auto* c) { c->set_max_concurrent(kMaxMaxConcurrent + 1); }, "max_concurrent");
}

TEST_F(ConfigLoaderTest, RemoteReloadAppliesLiveFields) {
  v1::RemoteConfig running = Good();
  running.add_authorized_primaries("us-east-iad-1");
  v1::RemoteConfig next = running;
  next.clear_authorized_primaries();
  next.add_authorized_primaries("us-east-iad-2");
  next.set_max_check_ms(3000);
  next.set_max_concurrent(8);
  EXPECT_TRUE(CheckRemoteReload(running, next)) << CheckRemoteReload(running, next).error().detail;
  EXPECT_EQ(ChangedFields(running, next),
            (std::vector<std::string>{"max_check_ms", "max_concurrent", "authorized_primaries"}));
  EXPECT_TRUE(CheckRemoteReload(running, running));  // nothing changed: a TLS re-read
}

TEST_F(ConfigLoaderTest, RemoteReloadRefusesRestartOnlyFieldsAndBadConfigs) {
  const v1::RemoteConfig running = Good();
  auto refused = [&](const std::function<void(v1::RemoteConfig*)>& change) {
    v1::RemoteConfig next = running;
    change(&next);
    Status st = CheckRemoteReload(running, next);
    return st ? std::string() : st.error().detail;
  };
  EXPECT_EQ(refused([](v1::RemoteConfig* c) { c->set_listen("127.0.0.1:8443"); }),
            "restart to change listen (a reload applies only authorized_primaries, max_check_ms "
            "and max_concurrent)");
  EXPECT_EQ(refused([](v1::RemoteConfig* c) {
              c->mutable_identity()->set_name("eu-fra-2");
              c->set_ready_file("/tmp/ready.json");
            }).rfind("restart to change identity, ready_file (", 0),
            0u);
  EXPECT_EQ(refused([](v1::RemoteConfig* c) { c->mutable_lab()->set_http_port(5003); })
                .rfind("restart to change lab (", 0),
            0u);
  EXPECT_EQ(refused([&](v1::RemoteConfig* c) { c->mutable_tls()->set_cert_file(other_.cert_file);
                                               c->mutable_tls()->set_key_file(other_.key_file); })
                .rfind("restart to change tls (", 0),
            0u);
  EXPECT_EQ(refused([](v1::RemoteConfig* c) { c->set_health_listen("127.0.0.1:0"); })
                .rfind("restart to change health_listen (", 0),
            0u);
  // Every --check-config rule first: a bad new config is refused as bad, whatever changed.
  EXPECT_NE(refused([](v1::RemoteConfig* c) { c->set_max_check_ms(kMaxMaxCheckMs + 1); })
                .find("max_check_ms"),
            std::string::npos);
  EXPECT_NE(refused([](v1::RemoteConfig* c) { c->mutable_identity()->clear_name(); })
                .find("identity"),
            std::string::npos);
}

TEST_F(ConfigLoaderTest, Builders) {
  asio::io_context io;
  v1::RemoteConfig c = Good();
  auto server = MakeServerCredentials(c.tls());
  ASSERT_TRUE(server) << server.error().detail;
  EXPECT_NE(*server, nullptr);
  auto channel = MakeChannelCredentials(c.tls());
  ASSERT_TRUE(channel) << channel.error().detail;
  c.mutable_tls()->set_key_file(other_.key_file);
  EXPECT_FALSE(MakeServerCredentials(c.tls()));

  auto dialer = MakeDialer(io.get_executor(), Good().lab());
  ASSERT_TRUE(dialer) << dialer.error().detail;
  EXPECT_EQ((*dialer)->http_port(), 5002);
  EXPECT_EQ((*dialer)->tls_port(), 443);
  EXPECT_TRUE((*dialer)->policy().lab_mode());
  v1::LabSettings ports_without_lab;
  ports_without_lab.set_http_port(8080);
  EXPECT_FALSE(MakeDialer(io.get_executor(), ports_without_lab));
  auto production = MakeDialer(io.get_executor(), v1::LabSettings());
  ASSERT_TRUE(production);
  EXPECT_FALSE((*production)->policy().lab_mode());

  v1::ResolverSettings stub;
  stub.mutable_stub()->set_server("127.0.0.1:5353");
  stub.mutable_stub()->set_require_ad(true);
  auto resolver = MakeResolver(io.get_executor(), stub, v1::LabSettings());
  ASSERT_TRUE(resolver) << resolver.error().detail;
  EXPECT_NE((*resolver)->Describe().find("127.0.0.1"), std::string::npos);
}

}  // namespace
}  // namespace mpic::perspective
