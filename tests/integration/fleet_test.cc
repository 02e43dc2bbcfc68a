// `mpic fleet up` and `mpic validate` as a user runs them: the real binaries (mpic, va-primary,
// va-remote, pebble-challtestsrv) on the real DNS lab, over mutual TLS on loopback.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "checks/key_authorization.h"
#include "lab/dnslab.h"
#include "lab/pki.h"
#include "tests/integration/command.h"

namespace mpic::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
namespace fs = std::filesystem;

int Count(const std::string& haystack, const std::string& needle) {
  int n = 0;
  for (size_t pos = haystack.find(needle); pos != std::string::npos;
       pos = haystack.find(needle, pos + needle.size())) {
    ++n;
  }
  return n;
}

// A fresh directory under /tmp, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/mpic-fleet-test.XXXXXX";
    if (mkdtemp(tmpl) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Processes whose command line mentions `needle` (fleet children carry their config path,
// which lies under the fleet's --dir).
std::vector<std::string> ProcessesMentioning(const std::string& needle) {
  std::vector<std::string> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "cmdline", std::ios::binary);
    std::stringstream buf;
    buf << in.rdbuf();
    std::string cmdline = buf.str();
    for (char& c : cmdline) {
      if (c == '\0') c = ' ';
    }
    if (cmdline.find(needle) != std::string::npos) found.push_back(name + ": " + cmdline);
  }
  return found;
}

std::string Mpic() { return BinDir() + "/mpic"; }

TEST(FleetUp, ValidatesThreeMethodsAndRejectsAWrongKeyAuthorization) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  CommandResult r = RunCommand({Mpic(), "fleet", "up", "--dir", dir.path()}, 150s);
  ASSERT_FALSE(r.timed_out) << r.out << r.err;
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(Count(r.out, "decision: CORROBORATED"), 3) << r.out << r.err;
  EXPECT_EQ(Count(r.out, "decision: NOT_CORROBORATED"), 1) << r.out << r.err;
  EXPECT_EQ(Count(r.out, "=> as expected"), 4) << r.out;
  EXPECT_NE(r.out.find("4/4 decisions as expected"), std::string::npos) << r.out;
  // Every method appears with the primary and five remotes across RIRs.
  for (const char* needle : {"http-01 for http.secure.lab", "dns-01 for dns.secure.lab",
                             "tls-alpn-01 for tls.secure.lab", "us-east-iad-1 (primary)",
                             "eu-fra-1", "af-jnb-1", "LACNIC", "APNIC"}) {
    EXPECT_NE(r.out.find(needle), std::string::npos) << needle << "\n" << r.out;
  }
  // One audit record per decision, and nothing left running.
  std::ifstream audit(dir.path() + "/audit.jsonl");
  int records = 0;
  for (std::string line; std::getline(audit, line);) records += !line.empty();
  EXPECT_EQ(records, 4);
  EXPECT_EQ(ProcessesMentioning(dir.path()), std::vector<std::string>{});
}

TEST(FleetUp, JsonReportWithSixRemotes) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  CommandResult r =
      RunCommand({Mpic(), "fleet", "up", "--remotes", "6", "--json", "--dir", dir.path()}, 150s);
  ASSERT_FALSE(r.timed_out) << r.err;
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  json j = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.out;
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["fleet"]["remotes"].size(), 6u);
  ASSERT_EQ(j["validations"].size(), 4u);
  for (int i = 0; i < 4; ++i) {
    const json& v = j["validations"][i];
    const bool good = i < 3;
    EXPECT_EQ(v["decision"], good ? "CORROBORATED" : "NOT_CORROBORATED") << v.dump();
    const json& response = v["response"];
    EXPECT_EQ(response["remotes"].size(), 6u) << response.dump();
    EXPECT_EQ(response["primary"]["perspective"]["name"], "us-east-iad-1");
    if (good) {
      EXPECT_EQ(response["quorum"], "6/6") << response.dump();
      EXPECT_EQ(response["primary"]["corroborates"], true);
    } else {
      EXPECT_NE(response["primary"].value("corroborates", false), true);
      EXPECT_TRUE(response.contains("problem")) << response.dump();
    }
  }
  EXPECT_EQ(ProcessesMentioning(dir.path()), std::vector<std::string>{});
}

// `mpic fleet up --keep-running --json` in the background: read its description, validate
// against it with `mpic validate`, then stop it with SIGTERM.
class BackgroundFleet {
 public:
  // `extra` flags after the standard ones; its stderr goes to `err_file` ("" : /dev/null).
  explicit BackgroundFleet(const std::string& dir, std::vector<std::string> extra = {},
                           const std::string& err_file = "") {
    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0) return;
    std::vector<std::string> args = {Mpic(),   "fleet", "up", "--keep-running",
                                     "--json", "--dir", dir};
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    int err_fd = err_file.empty()
                     ? null_fd
                     : open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      dup2(null_fd, 0);
      dup2(out[1], 1);
      dup2(err_fd >= 0 ? err_fd : null_fd, 2);
      execv(argv[0], argv.data());
      _exit(127);
    }
    if (err_fd >= 0 && err_fd != null_fd) close(err_fd);
    close(null_fd);
    close(out[1]);
    fd_ = out[0];
  }
  ~BackgroundFleet() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (fd_ >= 0) close(fd_);
  }

  // The first stdout line, within `limit`.
  std::string ReadLine(std::chrono::milliseconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    std::string line;
    while (fd_ >= 0) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      char c;
      if (read(fd_, &c, 1) != 1) break;
      if (c == '\n') return line;
      line += c;
    }
    return "";
  }

  // SIGTERM, then its exit code (bounded; -1 if it had to be killed).
  int Terminate(std::chrono::milliseconds limit) {
    if (pid_ <= 0) return -1;
    kill(pid_, SIGTERM);
    auto deadline = std::chrono::steady_clock::now() + limit;
    int status = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(50ms);
    }
    return -1;
  }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
};

TEST(FleetKeepRunning, MpicValidateAgainstIt) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string err_file = dir.path() + "/fleet.err";
  BackgroundFleet fleet(dir.path(), {}, err_file);
  std::string line = fleet.ReadLine(120s);
  json j = json::parse(line, nullptr, false);
  ASSERT_TRUE(j.is_object()) << "no fleet description: \"" << line << "\"";
  const std::string primary = j["primary"].value("address", "");
  ASSERT_FALSE(primary.empty()) << line;
  const std::string ca_file = j["pki"].value("ca", "");
  std::vector<std::string> base = {Mpic(),         "validate",
                                   "--primary",    primary,
                                   "--ca-cert",    ca_file,
                                   "--cert",       j["pki"].value("client_cert", ""),
                                   "--key",        j["pki"].value("client_key", ""),
                                   "--caa-issuer", "ca.example"};
  ASSERT_EQ(j["challenges"].size(), 3u);
  for (const json& c : j["challenges"]) {
    auto argv = base;
    argv.insert(argv.end(),
                {"--method", c.value("method", ""), "--identifier", c.value("identifier", ""),
                 "--key-authorization", c.value("key_authorization", "")});
    CommandResult r = RunCommand(argv, 60s);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(Count(r.out, "decision: CORROBORATED"), 1) << r.out << r.err;
    EXPECT_NE(r.out.find("us-east-iad-1 (primary)"), std::string::npos) << r.out;
  }
  // --json: the ValidateResponse in the proto3 JSON mapping; a wrong key authorization is a
  // decision (exit 0), not an RPC failure.
  const json& dns = j["challenges"][1];
  const std::string dns_name = dns.value("identifier", "");
  auto argv = base;
  argv.insert(argv.end(), {"--method", "dns-01", "--identifier", dns_name, "--key-authorization",
                           dns.value("token", "") + ".d3JvbmctdGh1bWJwcmludA", "--json"});
  CommandResult wrong = RunCommand(argv, 60s);
  EXPECT_EQ(wrong.exit_code, 0) << wrong.err;
  json response = json::parse(wrong.out, nullptr, false);
  ASSERT_TRUE(response.is_object()) << wrong.out;
  EXPECT_EQ(response["decision"], "NOT_CORROBORATED");
  EXPECT_EQ(response["remotes"].size(), 5u);

  // A client certificate from another CA is refused: an RPC failure, exit 1.
  TempDir other;
  auto ca = lab::CertificateAuthority::Create("not the fleet CA");
  ASSERT_TRUE(ca.has_value());
  lab::LeafSpec spec;
  spec.common_name = "intruder";
  spec.server = false;
  spec.client = true;
  auto leaf = ca->Issue(spec);
  ASSERT_TRUE(leaf.has_value());
  ASSERT_TRUE(lab::WriteFile(other.path() + "/c.pem", leaf->cert_pem, 0644));
  ASSERT_TRUE(lab::WriteFile(other.path() + "/c.key", leaf->key_pem, 0600));
  CommandResult refused = RunCommand({Mpic(),
                                      "validate",
                                      "--primary",
                                      primary,
                                      "--ca-cert",
                                      ca_file,
                                      "--cert",
                                      other.path() + "/c.pem",
                                      "--key",
                                      other.path() + "/c.key",
                                      "--method",
                                      "dns-01",
                                      "--identifier",
                                      dns_name,
                                      "--key-authorization",
                                      dns.value("key_authorization", ""),
                                      "--caa-issuer",
                                      "ca.example",
                                      "--timeout-ms",
                                      "10000"},
                                     30s);
  EXPECT_EQ(refused.exit_code, 1) << refused.out << refused.err;
  EXPECT_NE(refused.err.find("grpc "), std::string::npos) << refused.err;

  // Issue 15: a remote dies (SIGKILL). The fleet says so, with what it means for the quorum,
  // and keeps serving: 4 of 5 remotes still corroborate.
  pid_t victim = -1;
  for (const std::string& p : ProcessesMentioning(dir.path() + "/config/af-jnb-1.json")) {
    if (p.find("va-remote") != std::string::npos) victim = std::stoi(p.substr(0, p.find(':')));
  }
  ASSERT_GT(victim, 0) << "no va-remote af-jnb-1 found";
  ASSERT_EQ(kill(victim, SIGKILL), 0);
  const std::string expected =
      "mpic fleet: remote af-jnb-1 killed by signal 9; 4 of 5 remotes left; quorum ";
  std::string said;
  for (int i = 0; i < 100 && said.find(expected) == std::string::npos; ++i) {
    std::this_thread::sleep_for(100ms);
    std::ifstream in(err_file);
    std::stringstream buf;
    buf << in.rdbuf();
    said = buf.str();
  }
  EXPECT_NE(said.find(expected), std::string::npos) << said;
  EXPECT_NE(said.find("still reachable: validations continue"), std::string::npos) << said;
  const json& http = j["challenges"][0];
  auto again = base;
  again.insert(again.end(), {"--method", http.value("method", ""), "--identifier",
                             http.value("identifier", ""), "--key-authorization",
                             http.value("key_authorization", "")});
  CommandResult after = RunCommand(again, 60s);
  EXPECT_EQ(after.exit_code, 0) << after.err;
  EXPECT_EQ(Count(after.out, "decision: CORROBORATED"), 1) << after.out << after.err;

  EXPECT_EQ(fleet.Terminate(30s), 0);
  EXPECT_EQ(ProcessesMentioning(dir.path()), std::vector<std::string>{});
}

// `mpic fleet up` against a DNS hierarchy of the user's own: here a DNS lab this test starts
// itself, whose root hints and trust anchor are copied to files of ours. The fleet starts no
// lab and no responder, resolves from that root, and corroborates a DNS-01 published there.
TEST(FleetOwnDns, ResolvesFromTheGivenRoot) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  auto own = lab::DnsLab::Start();
  ASSERT_TRUE(own.has_value()) << own.error();
  const std::string hints = dir.path() + "/my-root.hints";
  const std::string anchor = dir.path() + "/my-root.key";
  fs::copy_file((*own)->root_hints_file(), hints);
  fs::copy_file((*own)->trust_anchor_file(), anchor);
  const std::string ka =
      "OwnDnsTokenOwnDnsTokenOwnDnsToken0123456789.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI";
  auto set = (*own)->Set("secure.lab.", "_acme-challenge.own.secure.lab.", "TXT",
                         {"\"" + checks::Dns01TxtValue(ka) + "\""});
  ASSERT_TRUE(set.has_value()) << set.error();

  const std::string fleet_dir = dir.path() + "/fleet";
  BackgroundFleet fleet(fleet_dir, {"--root-hints", hints, "--trust-anchor", anchor,
                                    "--allow-cidr", (*own)->block() + ".0/24"});
  std::string line = fleet.ReadLine(120s);
  json j = json::parse(line, nullptr, false);
  ASSERT_TRUE(j.is_object()) << "no fleet description: \"" << line << "\"";
  EXPECT_FALSE(j.contains("lab")) << line;
  EXPECT_EQ(j["dns"].value("root_hints", ""), hints) << line;
  EXPECT_TRUE(j["challenges"].empty()) << line;
  CommandResult r = RunCommand({Mpic(), "validate", "--primary", j["primary"].value("address", ""),
                                "--ca-cert", j["pki"].value("ca", ""), "--cert",
                                j["pki"].value("client_cert", ""), "--key",
                                j["pki"].value("client_key", ""), "--method", "dns-01",
                                "--identifier", "own.secure.lab", "--key-authorization", ka,
                                "--caa-issuer", "ca.example"},
                               60s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Count(r.out, "decision: CORROBORATED"), 1) << r.out << r.err;
  EXPECT_EQ(fleet.Terminate(30s), 0);
  EXPECT_EQ(ProcessesMentioning(fleet_dir), std::vector<std::string>{});
}

TEST(MpicValidate, UsageErrorsExitTwo) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  auto ca = lab::CertificateAuthority::Create("usage test CA");
  ASSERT_TRUE(ca.has_value());
  const std::string ca_file = dir.path() + "/ca.pem";
  ASSERT_TRUE(lab::WriteFile(ca_file, ca->cert_pem(), 0644));
  const std::vector<std::string> good = {
      Mpic(),      "validate",     "--primary",    "127.0.0.1:1",    "--ca-cert",
      ca_file,     "--cert",       ca_file,        "--key",          ca_file,
      "--method",  "dns-01",       "--identifier", "dns.secure.lab", "--key-authorization",
      "tok.thumb", "--caa-issuer", "ca.example"};
  auto with = [&](std::vector<std::string> extra) {
    auto argv = good;
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  };
  auto without = [&](const std::string& flag) {
    std::vector<std::string> argv;
    for (size_t i = 0; i < good.size(); ++i) {
      if (good[i] == flag) {
        ++i;  // and its value
        continue;
      }
      argv.push_back(good[i]);
    }
    return argv;
  };
  const std::vector<std::vector<std::string>> bad = {
      {Mpic(), "validate"},
      with({"--frobnicate"}),
      with({"positional"}),
      with({"--attempt", "-1"}),
      with({"--timeout-ms", "0"}),
      with({"--timeout-ms", "soon"}),
      with({"--primary", "127.0.0.1:2"}),  // given twice
      without("--primary"),
      without("--ca-cert"),
      without("--identifier"),
      without("--method"),
      without("--key-authorization"),
      without("--caa-issuer"),
      [&] {
        auto argv = good;
        argv[11] = "smtp-01";  // --method value
        return argv;
      }(),
      [&] {
        auto argv = good;
        argv[5] = dir.path() + "/missing.pem";  // --ca-cert value
        return argv;
      }(),
      with({"--token", "other"}),  // the key authorization must start with the token
      with({"--skip-dcv", "--skip-caa"}),
  };
  for (const auto& argv : bad) {
    CommandResult r = RunCommand(argv, 10s);
    std::string joined;
    for (const auto& a : argv) joined += a + " ";
    EXPECT_EQ(r.exit_code, 2) << joined << "\n" << r.err;
    EXPECT_NE(r.err.find("usage: mpic validate"), std::string::npos) << joined << "\n" << r.err;
  }
  CommandResult help = RunCommand({Mpic(), "validate", "--help"}, 10s);
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("usage: mpic validate"), std::string::npos);
}

TEST(MpicValidate, NoPrimaryIsAnRpcFailure) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  auto ca = lab::CertificateAuthority::Create("rpc test CA");
  ASSERT_TRUE(ca.has_value());
  lab::LeafSpec spec;
  spec.common_name = "client";
  spec.server = false;
  spec.client = true;
  auto leaf = ca->Issue(spec);
  ASSERT_TRUE(leaf.has_value());
  ASSERT_TRUE(lab::WriteFile(dir.path() + "/ca.pem", ca->cert_pem(), 0644));
  ASSERT_TRUE(lab::WriteFile(dir.path() + "/c.pem", leaf->cert_pem, 0644));
  ASSERT_TRUE(lab::WriteFile(dir.path() + "/c.key", leaf->key_pem, 0600));
  // Port 1 on loopback: nothing listens; connection refused at once.
  CommandResult r = RunCommand(
      {Mpic(),
       "validate",
       "--primary",
       "127.0.0.1:1",
       "--ca-cert",
       dir.path() + "/ca.pem",
       "--cert",
       dir.path() + "/c.pem",
       "--key",
       dir.path() + "/c.key",
       "--method",
       "http-01",
       "--identifier",
       "http.secure.lab",
       "--key-authorization",
       "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI",
       "--caa-issuer",
       "ca.example",
       "--timeout-ms",
       "3000"},
      30s);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("grpc "), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

TEST(MpicFleet, UsageErrorsExitTwo) {
  for (const std::vector<std::string>& argv :
       std::vector<std::vector<std::string>>{{Mpic(), "fleet"},
                                             {Mpic(), "fleet", "down"},
                                             {Mpic(), "fleet", "up", "--remotes", "3"},
                                             {Mpic(), "fleet", "up", "--remotes", "13"},
                                             {Mpic(), "fleet", "up", "--bogus"},
                                             // own DNS: incomplete, without --keep-running,
                                             // or a range the lab rules refuse
                                             {Mpic(), "fleet", "up", "--root-hints", "/dev/null"},
                                             {Mpic(), "fleet", "up", "--root-hints", "/dev/null",
                                              "--trust-anchor", "/dev/null", "--allow-cidr",
                                              "127.0.0.0/8"},
                                             {Mpic(), "fleet", "up", "--keep-running",
                                              "--root-hints", "/dev/null", "--trust-anchor",
                                              "/dev/null", "--allow-cidr", "0.0.0.0/0"}}) {
    CommandResult r = RunCommand(argv, 10s);
    EXPECT_EQ(r.exit_code, 2) << argv.back() << "\n" << r.err;
    EXPECT_NE(r.err.find("usage: mpic fleet"), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace mpic::testing
