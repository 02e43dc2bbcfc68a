#include "tools/netsim_command.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "tools/netsim_fleet.h"

namespace mpic::tools {
namespace {

TEST(NetsimCommand, PassesArgumentsThrough) {
  EXPECT_EQ(NetsimArgv("/usr/bin/python3", "/src/tests/netsim/netsim.py",
                       {"run", "s.json", "--out", "/tmp/r"}),
            (std::vector<std::string>{"/usr/bin/python3", "/src/tests/netsim/netsim.py", "run",
                                      "s.json", "--out", "/tmp/r"}));
}

TEST(NetsimCommand, OnlyReportRunsWithoutRoot) {
  EXPECT_TRUE(NetsimNeedsRoot({"run", "s.json"}));
  EXPECT_TRUE(NetsimNeedsRoot({"selftest"}));
  EXPECT_TRUE(NetsimNeedsRoot({"cleanup"}));
  EXPECT_FALSE(NetsimNeedsRoot({"report", "r.json"}));
  EXPECT_FALSE(NetsimNeedsRoot({"pki", "--dir", "d"}));
  EXPECT_FALSE(NetsimNeedsRoot({"fleet", "--spec", "f"}));  // checks for itself
  EXPECT_FALSE(NetsimNeedsRoot({}));
}

int RunMpicNetsim(std::vector<std::string> args, std::string* out, std::string* err) {
  args.insert(args.begin(), {"mpic", "netsim"});
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  std::ostringstream o, e;
  const int code = RunNetsim(static_cast<int>(argv.size()), argv.data(), 2, o, e);
  *out = o.str();
  *err = e.str();
  return code;
}

TEST(NetsimCommand, PkiWritesTheCaAndOneServerAndClientCertificatePerMember) {
  char dir_template[] = "/tmp/mpic-netsim-pki-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string dir = dir_template;
  std::string out, err;
  ASSERT_EQ(RunMpicNetsim({"pki", "--dir", dir, "--member", "remote-1=10.77.1.2,fd00::2", "--member",
                 "ca-client"},
                &out, &err),
            0)
      << err;
  for (const char* file : {"ca.pem", "remote-1.pem", "remote-1.key", "ca-client.pem"}) {
    EXPECT_TRUE(std::filesystem::exists(dir + "/" + file)) << file;
  }
  EXPECT_EQ(std::filesystem::status(dir + "/remote-1.key").permissions() &
                std::filesystem::perms::others_read,
            std::filesystem::perms::none);

  // Bad input: a member whose address is not an IP, no member at all.
  EXPECT_EQ(RunMpicNetsim({"pki", "--dir", dir, "--member", "x=not-an-ip"}, &out, &err), 1);
  EXPECT_NE(err.find("not-an-ip"), std::string::npos) << err;
  EXPECT_EQ(RunMpicNetsim({"pki", "--dir", dir}, &out, &err), 2);
  std::filesystem::remove_all(dir);
}

// What simfleet.py writes: the remotes in one spec, the primary in another.
const char* kRemotesSpec = R"({
  "dir": "/w", "bin_dir": "/b", "pki_dir": "/w/pki",
  "root_hints": "/w/dns/root.hints", "trust_anchor": "/w/dns/root.key",
  "lab": {"allow_cidrs": ["10.77.0.0/16"], "allow_private_ranges": true},
  "max_check_ms": 8000, "ready_timeout_ms": 20000,
  "remotes": [
    {"identity": {"name": "eu-fra-1", "rir": "RIPE_NCC",
                  "location": {"latitude": 50.1, "longitude": 8.7}, "region": "Frankfurt"},
     "netns": "ns1-r1", "listen": "10.77.3.2:7000", "authorized_primaries": ["us-east-iad-1"]},
    {"identity": {"name": "ap-sin-1", "rir": "APNIC"}, "netns": "ns1-r2",
     "listen": "10.77.4.2:7000", "authorized_primaries": ["us-east-iad-1"], "max_concurrent": 8}
  ]})";

const char* kPrimarySpec = R"({
  "dir": "/w", "pki_dir": "/w/pki", "root_hints": "/h", "trust_anchor": "/k",
  "lab": {"allow_cidrs": ["10.77.0.0/16"], "allow_private_ranges": true},
  "primary": {
    "identity": {"name": "us-east-iad-1", "rir": "ARIN"}, "netns": "ns1-primary",
    "listen": "10.77.2.2:7000", "file_name": "va-primary-br-6",
    "remotes": [{"identity": {"name": "eu-fra-1", "rir": "RIPE_NCC"},
                 "address": "10.77.3.2:7000", "tls_server_name": "eu-fra-1"}],
    "policy": {"research_k": 1, "research_n": 1, "research_not_br_compliant": true},
    "remote_timeout_ms": 6000, "straggler_grace_ms": 300,
    "audit_log": "/w/audit.jsonl", "authorized_clients": ["mpic-ca-client"]}})";

TEST(NetsimFleetSpec, RemotesSpecBecomesTheirConfigs) {
  auto spec = ParseNetsimFleetSpec(kRemotesSpec);
  ASSERT_TRUE(spec.has_value()) << spec.error().detail;
  EXPECT_EQ(spec->dir, "/w");
  EXPECT_EQ(spec->bin_dir, "/b");
  EXPECT_EQ(spec->ready_timeout, std::chrono::milliseconds(20000));
  EXPECT_FALSE(spec->primary.has_value());
  ASSERT_EQ(spec->remotes.size(), 2u);
  const lab::RemoteSpec& r = spec->remotes[0];
  EXPECT_EQ(r.member.netns, "ns1-r1");
  EXPECT_EQ(r.max_concurrent, 64u);  // the default
  EXPECT_EQ(spec->remotes[1].max_concurrent, 8u);
  const v1::RemoteConfig c = lab::RemoteConfigFor(r, "/w/run/eu-fra-1.ready");
  EXPECT_EQ(c.identity().rir(), v1::RIPE_NCC);
  EXPECT_DOUBLE_EQ(c.identity().location().latitude(), 50.1);
  EXPECT_EQ(c.identity().region(), "Frankfurt");
  EXPECT_EQ(c.listen(), "10.77.3.2:7000");
  EXPECT_EQ(c.metrics_listen(), "");  // off unless the spec asks
  EXPECT_EQ(c.tls().cert_file(), "/w/pki/eu-fra-1.pem");
  EXPECT_EQ(c.resolver().unbound().root_hints_file(), "/w/dns/root.hints");
  EXPECT_EQ(c.resolver().unbound().trust_anchor_file(), "/w/dns/root.key");
  EXPECT_EQ(c.lab().allow_cidrs(0), "10.77.0.0/16");
  EXPECT_TRUE(c.lab().allow_private_ranges());
  EXPECT_EQ(c.max_check_ms(), 8000u);
  EXPECT_EQ(c.authorized_primaries(0), "us-east-iad-1");
}

TEST(NetsimFleetSpec, PrimarySpecBecomesItsConfig) {
  auto spec = ParseNetsimFleetSpec(kPrimarySpec);
  ASSERT_TRUE(spec.has_value()) << spec.error().detail;
  EXPECT_TRUE(spec->remotes.empty());
  ASSERT_TRUE(spec->primary.has_value());
  EXPECT_EQ(spec->primary->member.FileName(), "va-primary-br-6");
  const v1::PrimaryConfig c = lab::PrimaryConfigFor(*spec->primary, "/w/run/p.ready");
  EXPECT_EQ(c.identity().name(), "us-east-iad-1");
  ASSERT_EQ(c.remotes_size(), 1);
  EXPECT_EQ(c.remotes(0).address(), "10.77.3.2:7000");
  EXPECT_EQ(c.remotes(0).tls_server_name(), "eu-fra-1");
  EXPECT_EQ(c.policy().research_k(), 1u);
  EXPECT_TRUE(c.policy().research_not_br_compliant());
  EXPECT_EQ(c.remotes_per_validation(), 1u);
  EXPECT_EQ(c.remote_timeout_ms(), 6000u);
  EXPECT_EQ(c.straggler_grace_ms(), 300u);
  EXPECT_EQ(c.max_check_ms(), 10000u);  // the default
  EXPECT_EQ(c.authorized_clients(0), "mpic-ca-client");
  EXPECT_EQ(c.audit_log(), "/w/audit.jsonl");
  EXPECT_FALSE(c.selection_secret().empty());
}

// Each bad spec is refused with the field it concerns named.
TEST(NetsimFleetSpec, BadSpecsNameTheField) {
  const std::string base = kRemotesSpec;
  auto with = [&](const std::string& from, const std::string& to) {
    std::string s = base;
    const size_t at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) s.replace(at, from.size(), to);
    return s;
  };
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{", "spec: not valid JSON"},
      {"[]", "spec: must be a JSON object"},
      {with(R"("dir": "/w", )", ""), "dir: required"},
      {with(R"("dir": "/w")", R"("dir": 7)"), "dir: must be a string"},
      {with(R"("dir": "/w")", R"("dri": "/w")"), "dri: unknown field"},
      {with(R"("trust_anchor": "/w/dns/root.key")", R"("trust_anchor": "")"),
       "trust_anchor: must not be empty"},
      {with(R"(["10.77.0.0/16"])", "[]"), "lab.allow_cidrs: required"},
      {with(R"("allow_private_ranges": true)", R"("allow_private": true)"), "lab: "},
      {with(R"("max_check_ms": 8000)", R"("max_check_ms": -1)"),
       "max_check_ms: must be an integer"},
      {with(R"("ready_timeout_ms": 20000)", R"("ready_timeout_ms": 0)"),
       "ready_timeout_ms: must be positive"},
      {with(R"("name": "eu-fra-1", )", ""), "remotes[0].identity.name: required"},
      {with(R"("name": "eu-fra-1")", R"("name": "../x")"), "remotes[0].identity.name: only"},
      {with(R"("rir": "RIPE_NCC")", R"("rir": "MARS")"), "remotes[0].identity: "},
      {with(R"("netns": "ns1-r1")", R"("netns": "a b")"), "remotes[0].netns: not a namespace"},
      {with(R"("listen": "10.77.3.2:7000", )", ""), "remotes[0].listen: required"},
      {with(R"("max_concurrent": 8)", R"("max_concurrent": "8")"),
       "remotes[1].max_concurrent: must be an integer"},
      {with(R"("netns": "ns1-r2")", R"("netns": "ns1-r2", "authorized": 1)"),
       "remotes[1].authorized: unknown field"},
      {with(R"("name": "ap-sin-1")", R"("name": "eu-fra-1")"), "two members named \"eu-fra-1\""},
      {with(R"(, "authorized_primaries": ["us-east-iad-1"], "max_concurrent": 8)", ""),
       "remotes[1].authorized_primaries: required"},
      {R"({"dir": "/w", "pki_dir": "/p", "root_hints": "/h", "trust_anchor": "/k",
           "lab": {"allow_cidrs": ["10.77.0.0/16"]}})",
       "no members"},
  };
  for (const auto& [text, expected] : cases) {
    auto spec = ParseNetsimFleetSpec(text);
    ASSERT_FALSE(spec.has_value()) << text;
    EXPECT_EQ(spec.error().type, ProblemType::kMalformed);
    EXPECT_NE(spec.error().detail.find(expected), std::string::npos)
        << "expected \"" << expected << "\", got \"" << spec.error().detail << "\"";
  }
  const std::string primary = kPrimarySpec;
  auto primary_with = [&](const std::string& from, const std::string& to) {
    std::string s = primary;
    const size_t at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) s.replace(at, from.size(), to);
    return s;
  };
  const std::vector<std::pair<std::string, std::string>> primary_cases = {
      {primary_with(R"("address": "10.77.3.2:7000", )", ""),
       "primary.remotes[0].address: required"},
      {primary_with(R"("audit_log": "/w/audit.jsonl", )", ""), "primary.audit_log: required"},
      {primary_with(R"("research_k": 1)", R"("research_k": "one")"), "primary.policy: "},
      {primary_with(R"("authorized_clients": ["mpic-ca-client"])", R"("authorized_clients": [])"),
       "primary.authorized_clients: must be a non-empty list"},
      {primary_with(R"("file_name": "va-primary-br-6")", R"("file_name": "a/b")"),
       "primary.file_name: only"},
  };
  for (const auto& [text, expected] : primary_cases) {
    auto spec = ParseNetsimFleetSpec(text);
    ASSERT_FALSE(spec.has_value()) << text;
    EXPECT_NE(spec.error().detail.find(expected), std::string::npos)
        << "expected \"" << expected << "\", got \"" << spec.error().detail << "\"";
  }
}

TEST(NetsimCommand, FleetRefusesABadSpecWithExit2) {
  char dir_template[] = "/tmp/mpic-netsim-fleet-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string dir = dir_template;
  std::string out, err;
  EXPECT_EQ(RunMpicNetsim({"fleet"}, &out, &err), 2);
  EXPECT_NE(err.find("--spec is required"), std::string::npos) << err;
  EXPECT_EQ(RunMpicNetsim({"fleet", "--spec", dir + "/missing.json"}, &out, &err), 2);
  EXPECT_NE(err.find("cannot read"), std::string::npos) << err;
  std::ofstream(dir + "/bad.json") << R"({"dir": "/w"})";
  EXPECT_EQ(RunMpicNetsim({"fleet", "--spec", dir + "/bad.json"}, &out, &err), 2);
  EXPECT_NE(err.find("bad.json: pki_dir: required"), std::string::npos) << err;
  EXPECT_EQ(out, "");
  std::filesystem::remove_all(dir);
}

// A member that cannot start: exit 1, its name and the end of its log on stderr, no ready line.
TEST(NetsimCommand, FleetNamesTheMemberThatFailedWithItsLog) {
  char dir_template[] = "/tmp/mpic-netsim-fleet-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string dir = dir_template;
  // Stand-in binaries (this tests the command's logic; netsim_test runs the real servers).
  for (const char* binary : {"va-remote", "va-primary"}) {
    std::ofstream(dir + "/" + binary) << "#!/bin/sh\necho 'no such address' >&2\nexit 5\n";
    ASSERT_EQ(chmod((dir + "/" + binary).c_str(), 0755), 0);
  }
  nlohmann::json spec = nlohmann::json::parse(kRemotesSpec);
  spec["dir"] = dir + "/work";
  spec["bin_dir"] = dir;
  for (auto& r : spec["remotes"]) r.erase("netns");  // no namespaces: runs without root
  std::ofstream(dir + "/spec.json") << spec.dump();
  std::string out, err;
  EXPECT_EQ(RunMpicNetsim({"fleet", "--spec", dir + "/spec.json"}, &out, &err), 1);
  EXPECT_EQ(out, "");
  EXPECT_NE(err.find("exited with status 5 before it was ready"), std::string::npos) << err;
  EXPECT_NE(err.find("no such address"), std::string::npos) << err;
  EXPECT_TRUE(std::filesystem::exists(dir + "/work/config/eu-fra-1.json"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace mpic::tools
