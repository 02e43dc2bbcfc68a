// `mpic check` as a user runs it: the real binary (from MPIC_BIN_DIR, set by mpic_test),
// usage errors, and DNS-01 / CAA checks against the lab printing one JSON object.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "checks/internal/dns_lab_testing.h"
#include "checks/key_authorization.h"

namespace mpic::checks {
namespace {

using testing::LabEnv;

struct CliRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string Quote(const std::string& arg) {
  std::string q = "'";
  for (char c : arg) {
    if (c == '\'') {
      q += "'\\''";
    } else {
      q += c;
    }
  }
  return q + "'";
}

// Runs `mpic check ARGS...`, bounded by timeout(1).
CliRun MpicCheck(const std::vector<std::string>& args) {
  CliRun run;
  const char* dir = std::getenv("MPIC_BIN_DIR");
  if (dir == nullptr) {
    ADD_FAILURE() << "MPIC_BIN_DIR is not set (run through ctest)";
    return run;
  }
  std::string err_file = ::testing::TempDir() + "mpic_check_stderr.txt";
  std::string cmd = "timeout 30 " + Quote(std::string(dir) + "/mpic") + " check";
  for (const auto& a : args) cmd += " " + Quote(a);
  cmd += " 2>" + Quote(err_file);
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) {
    ADD_FAILURE() << "popen failed";
    return run;
  }
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) run.out.append(buf.data(), n);
  int status = pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream in(err_file);
  std::stringstream ss;
  ss << in.rdbuf();
  run.err = ss.str();
  return run;
}

std::vector<std::string> LabFlags() {
  return {"--root-hints", LabEnv::lab()->root_hints_file(), "--trust-anchor",
          LabEnv::lab()->trust_anchor_file()};
}

std::vector<std::string> Concat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

TEST(MpicCheckCli, UsageErrorsExit2) {
  const std::string ka = testing::kKeyAuthorization;
  const std::vector<std::vector<std::string>> cases = {
      {},
      {"--identifier", "x.secure.lab", "--key-authorization", ka},
      {"--method", "dns-02", "--identifier", "x.secure.lab"},
      {"--method", "dns-01", "--key-authorization", ka},
      {"--method", "dns-01", "--identifier", "x.secure.lab"},
      {"--method", "http-01", "--identifier", "x.secure.lab", "--key-authorization", ka},
      {"--method", "caa", "--identifier", "x.secure.lab"},
      {"--method", "dns-01", "--identifier", "x.secure.lab", "--key-authorization", ka, "--token",
       "abc"},
      {"--method", "dns-01", "--identifier", "x.secure.lab", "--key-authorization", ka,
       "--caa-issuer", "ca.example"},
      {"--method", "http-01", "--identifier", "x.secure.lab", "--token", "t", "--wildcard",
       "--key-authorization", ka},
      {"--method", "dns-01", "--identifier", "x.secure.lab", "--key-authorization", ka,
       "--http-port", "8080"},
      {"--method", "dns-01", "--identifier", "x.secure.lab", "--key-authorization", ka,
       "--lab-allow", "not-a-cidr"},
      {"--method", "dns-01", "--identifier", "x.secure.lab", "--key-authorization", ka,
       "--lab-allow", "127.0.0.0/8", "--http-port", "0"},
      {"--method", "dns-01", "--identifier", "x.secure.lab", "--key-authorization", ka,
       "--timeout-ms", "0"},
      {"--method", "dns-01", "--identifier", "x.secure.lab", "--key-authorization", ka, "--stub",
       "127.0.0.1", "--root-hints", "/nonexistent"},
      {"--method", "dns-01", "--identifier", "x.secure.lab", "--key-authorization", ka,
       "--require-ad"},
      {"--method", "dns-01", "--identifier", "x.secure.lab", "--key-authorization", ka,
       "--root-hints", "/nonexistent/root.hints"},
      {"--method", "dns-01", "--identifier", "x.secure.lab", "--key-authorization", ka,
       "--no-such-flag"},
      {"--method", "dns-01", "--identifier", "x.secure.lab", "--key-authorization", ka,
       "positional"},
  };
  for (const auto& args : cases) {
    std::string shown;
    for (const auto& a : args) shown += " " + a;
    CliRun r = MpicCheck(args);
    EXPECT_EQ(r.exit_code, 2) << "mpic check" << shown << "\n" << r.err;
    EXPECT_TRUE(r.out.empty()) << shown << ": " << r.out;
    EXPECT_NE(r.err.find("mpic check: "), std::string::npos) << shown << ": " << r.err;
  }
}

TEST(MpicCheckCli, HelpExits0) {
  CliRun r = MpicCheck({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("usage: mpic check"), std::string::npos);
}

TEST(MpicCheckCli, Dns01AgainstTheLabPrintsJson) {
  ASSERT_NE(LabEnv::lab(), nullptr);
  const std::string expected = Dns01TxtValue(testing::kKeyAuthorization);
  auto st = LabEnv::lab()->Set("secure.lab.", "_acme-challenge.cli.secure.lab.", "TXT",
                               {"\"" + expected + "\""});
  ASSERT_TRUE(st.has_value()) << st.error();

  CliRun r =
      MpicCheck(Concat({"--method", "dns-01", "--identifier", "cli.secure.lab",
                        "--key-authorization", testing::kKeyAuthorization, "--timeout-ms", "5000"},
                       LabFlags()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["method"], "dns-01");
  EXPECT_EQ(j["identifier"], "cli.secure.lab");
  EXPECT_EQ(j["outcome"], "valid") << r.out;
  EXPECT_TRUE(j["problem"].is_null());
  EXPECT_EQ(j["evidence"]["txt_values"], nlohmann::json::array({expected}));
  ASSERT_EQ(j["evidence"]["dns"].size(), 1u);
  EXPECT_EQ(j["evidence"]["dns"][0]["dnssec"], "secure");
  EXPECT_TRUE(j["duration_ms"].is_number());
  EXPECT_EQ(r.out.back(), '\n');
  EXPECT_EQ(r.out.find('\n'), r.out.size() - 1) << "exactly one line";

  // A wrong key authorization: still a verdict (exit 0), invalid, unauthorized.
  CliRun wrong = MpicCheck(Concat(
      {"--method", "dns-01", "--identifier", "cli.secure.lab", "--key-authorization", "abc.def"},
      LabFlags()));
  ASSERT_EQ(wrong.exit_code, 0) << wrong.err;
  auto w = nlohmann::json::parse(wrong.out, nullptr, false);
  ASSERT_FALSE(w.is_discarded()) << wrong.out;
  EXPECT_EQ(w["outcome"], "invalid");
  EXPECT_EQ(w["problem"]["type"], "urn:ietf:params:acme:error:unauthorized");
}

TEST(MpicCheckCli, CaaAgainstTheLab) {
  ASSERT_NE(LabEnv::lab(), nullptr);
  CliRun ok = MpicCheck(
      Concat({"--method", "caa", "--identifier", "*.deep.secure.lab", "--caa-issuer", "ca.example",
              "--validation-method", "dns-01", "--account-uri", "https://ca.example/acct/1"},
             LabFlags()));
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  auto j = nlohmann::json::parse(ok.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << ok.out;
  EXPECT_EQ(j["method"], "caa");
  EXPECT_EQ(j["outcome"], "valid") << ok.out;
  EXPECT_EQ(j["evidence"]["caa_name"], "secure.lab.");

  CliRun denied = MpicCheck(Concat(
      {"--method", "caa", "--identifier", "deep.secure.lab", "--caa-issuer", "other.example"},
      LabFlags()));
  ASSERT_EQ(denied.exit_code, 0) << denied.err;
  auto d = nlohmann::json::parse(denied.out, nullptr, false);
  ASSERT_FALSE(d.is_discarded()) << denied.out;
  EXPECT_EQ(d["outcome"], "invalid");
  EXPECT_EQ(d["problem"]["type"], "urn:ietf:params:acme:error:caa");
}

TEST(MpicCheckCli, TimeoutIsAVerdict) {
  ASSERT_NE(LabEnv::lab(), nullptr);
  CliRun r =
      MpicCheck(Concat({"--method", "dns-01", "--identifier", "cli.dead.lab", "--key-authorization",
                        testing::kKeyAuthorization, "--timeout-ms", "800"},
                       LabFlags()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_EQ(j["outcome"], "invalid");
  EXPECT_EQ(j["problem"]["type"], "urn:ietf:params:acme:error:dns");
  EXPECT_LT(j["duration_ms"].get<double>(), 1800.0);
}

}  // namespace
}  // namespace mpic::checks
