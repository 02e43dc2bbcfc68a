#include "tools/netsim_command.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

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

}  // namespace
}  // namespace mpic::tools
