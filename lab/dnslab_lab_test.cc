// Starts real labs and checks them with dig, always "@<lab server>" (never the system
// resolver), and with a fresh libunbound context per lookup doing full recursion from the
// lab's own root, as the resolver will.

#include "lab/dnslab.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unbound.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <future>
#include <iterator>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace mpic::lab {
namespace {

// Runs dig (bounded by its own +time/+tries and by timeout(1)); returns stdout.
std::string Dig(const std::string& server, const std::string& args) {
  std::string cmd = "timeout 10 dig +norec +time=2 +tries=1 @" + server + " " + args + " 2>&1";
  std::string out;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return out;
  std::array<char, 4096> buf;
  std::size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  pclose(pipe);
  return out;
}

struct Record {
  std::string owner;
  std::string type;
  std::string rdata;  // fields joined by one space
};

// Parses "+noall +answer" output (owner ttl class type rdata...).
std::vector<Record> Answer(const std::string& server, const std::string& args) {
  std::vector<Record> records;
  std::istringstream in(Dig(server, "+noall +answer " + args));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == ';') continue;
    std::istringstream fields(line);
    std::vector<std::string> f{std::istream_iterator<std::string>(fields), {}};
    if (f.size() < 5) continue;
    Record r{f[0], f[3], ""};
    for (std::size_t i = 4; i < f.size(); ++i) r.rdata += (i > 4 ? " " : "") + f[i];
    records.push_back(r);
  }
  return records;
}

std::multiset<std::string> Rdata(const std::vector<Record>& records, const std::string& type) {
  std::multiset<std::string> out;
  for (const auto& r : records) {
    if (r.type == type) out.insert(r.rdata);
  }
  return out;
}

bool HasRrsigOver(const std::vector<Record>& records, const std::string& covered) {
  for (const auto& r : records) {
    if (r.type == "RRSIG" && r.rdata.rfind(covered + " ", 0) == 0) return true;
  }
  return false;
}

// Command lines of live processes mentioning `needle` (zombies have an empty cmdline).
std::vector<std::string> ProcessesMentioning(const std::string& needle) {
  std::vector<std::string> found;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return found;
  while (dirent* e = readdir(proc)) {
    std::string pid = e->d_name;
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream f("/proc/" + pid + "/cmdline", std::ios::binary);
    std::string cmdline((std::istreambuf_iterator<char>(f)), {});
    for (char& c : cmdline) {
      if (c == '\0') c = ' ';
    }
    if (cmdline.find(needle) != std::string::npos) found.push_back(pid + ": " + cmdline);
  }
  closedir(proc);
  return found;
}

struct Validated {
  int rcode = -1;
  bool havedata = false;
  bool secure = false;
  bool bogus = false;
};

// One fresh libunbound context per lookup (LAB-NOTES #5), full recursion from the lab root.
Validated Resolve(const DnsLab& lab, const std::string& name, int type) {
  Validated v;
  ub_ctx* ctx = ub_ctx_create();
  if (ctx == nullptr) return v;
  bool ok = ub_ctx_set_option(ctx, "root-hints:", lab.root_hints_file().c_str()) == 0 &&
            ub_ctx_add_ta_file(ctx, lab.trust_anchor_file().c_str()) == 0 &&
            ub_ctx_set_option(ctx, "do-not-query-localhost:", "no") == 0 &&
            ub_ctx_set_option(ctx, "do-ip6:", "no") == 0;
  ub_result* result = nullptr;
  if (ok && ub_resolve(ctx, name.c_str(), type, 1, &result) == 0) {
    v = {result->rcode, result->havedata != 0, result->secure != 0, result->bogus != 0};
    ub_resolve_free(result);
  }
  ub_ctx_delete(ctx);
  return v;
}

class DnsLabTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto started = DnsLab::Start();
    ASSERT_TRUE(started.has_value()) << started.error();
    lab_ = std::move(*started).release();
  }
  static void TearDownTestSuite() {
    delete lab_;
    lab_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(lab_, nullptr) << "lab failed to start"; }

  static DnsLab* lab_;
};
DnsLab* DnsLabTest::lab_ = nullptr;

TEST_F(DnsLabTest, DescriptorIsConsistent) {
  EXPECT_EQ(lab_->block().rfind("127.", 0), 0u);
  EXPECT_EQ(lab_->server("root"), lab_->block() + ".1");
  EXPECT_EQ(lab_->server("."), lab_->server("root"));
  EXPECT_EQ(lab_->server("lab"), lab_->server("tld"));
  EXPECT_EQ(lab_->server("secure.lab."), lab_->server("secure"));
  EXPECT_EQ(lab_->server("secure.lab"), lab_->server("secure"));
  EXPECT_EQ(lab_->server("no.such.zone."), "");
  std::set<std::string> servers;
  for (const char* role : {"root", "tld", "secure", "insecure", "bogus", "expired", "dead"}) {
    ASSERT_NE(lab_->server(role), "") << role;
    servers.insert(lab_->server(role));
  }
  EXPECT_EQ(servers.size(), 7u) << "every server has its own address";
  ASSERT_GT(lab_->free_address_count(), 10u);
  EXPECT_EQ(servers.count(lab_->free_address(0)), 0u);
  EXPECT_EQ(lab_->free_address(lab_->free_address_count()), "");
  std::ifstream hints(lab_->root_hints_file());
  std::string text((std::istreambuf_iterator<char>(hints)), {});
  EXPECT_NE(text.find(lab_->server("root")), std::string::npos) << text;
  std::ifstream anchor(lab_->trust_anchor_file());
  text.assign(std::istreambuf_iterator<char>(anchor), {});
  EXPECT_NE(text.find(". IN DS "), std::string::npos) << text;
}

TEST_F(DnsLabTest, RootSoaIsSigned) {
  auto records = Answer(lab_->server("root"), "+dnssec . SOA");
  EXPECT_EQ(Rdata(records, "SOA").size(), 1u);
  EXPECT_TRUE(HasRrsigOver(records, "SOA"));
}

TEST_F(DnsLabTest, LabDsInRoot) {
  auto records = Answer(lab_->server("root"), "+dnssec lab. DS");
  EXPECT_EQ(Rdata(records, "DS").size(), 1u);
  EXPECT_TRUE(HasRrsigOver(records, "DS"));
}

TEST_F(DnsLabTest, SecureZoneIsSignedWithDsInLab) {
  auto records = Answer(lab_->server("secure"), "+dnssec www.secure.lab. A");
  EXPECT_EQ(Rdata(records, "A"), std::multiset<std::string>{lab_->block() + ".200"});
  EXPECT_TRUE(HasRrsigOver(records, "A"));
  EXPECT_TRUE(HasRrsigOver(Answer(lab_->server("secure"), "+dnssec secure.lab. DNSKEY"), "DNSKEY"));
  EXPECT_EQ(Rdata(Answer(lab_->server("tld"), "secure.lab. DS"), "DS").size(), 1u);
  EXPECT_EQ(Rdata(Answer(lab_->server("secure"), "txt.secure.lab. TXT"), "TXT"),
            std::multiset<std::string>{"\"part1\" \"part2\""});
  EXPECT_EQ(Rdata(Answer(lab_->server("secure"), "secure.lab. CAA"), "CAA"),
            std::multiset<std::string>{"0 issue \"ca.example\""});
}

TEST_F(DnsLabTest, InsecureHasNoDsInLab) {
  std::string out = Dig(lab_->server("tld"), "insecure.lab. DS");
  EXPECT_NE(out.find("status: NOERROR"), std::string::npos) << out;
  EXPECT_NE(out.find("flags: qr aa"), std::string::npos) << out;
  EXPECT_TRUE(Rdata(Answer(lab_->server("tld"), "insecure.lab. DS"), "DS").empty());
  EXPECT_EQ(Rdata(Answer(lab_->server("insecure"), "www.insecure.lab. A"), "A").size(), 1u);
}

TEST_F(DnsLabTest, DeadServerNeverAnswers) {
  for (const char* transport : {"+notcp", "+tcp"}) {
    std::string out = Dig(lab_->server("dead"), std::string(transport) + " www.dead.lab. A");
    EXPECT_EQ(out.find("status:"), std::string::npos) << out;
  }
}

TEST_F(DnsLabTest, LibunboundSeesEachZoneAsDesigned) {
  constexpr int kA = 1;
  constexpr int kTxt = 16;
  auto v = Resolve(*lab_, "www.secure.lab.", kA);
  EXPECT_TRUE(v.havedata && v.secure && !v.bogus) << v.rcode;
  v = Resolve(*lab_, "chain1.secure.lab.", kA);
  EXPECT_TRUE(v.havedata && v.secure) << v.rcode;
  v = Resolve(*lab_, "nonexistent.secure.lab.", kA);
  EXPECT_EQ(v.rcode, 3);
  EXPECT_TRUE(v.secure);
  v = Resolve(*lab_, "aonly.secure.lab.", kTxt);
  EXPECT_TRUE(v.rcode == 0 && !v.havedata && v.secure);
  v = Resolve(*lab_, "www.insecure.lab.", kA);
  EXPECT_TRUE(v.havedata && !v.secure && !v.bogus) << v.rcode;
  v = Resolve(*lab_, "cname-insecure.secure.lab.", kA);
  EXPECT_TRUE(v.havedata && !v.secure && !v.bogus) << v.rcode;
  v = Resolve(*lab_, "www.bogus.lab.", kA);
  EXPECT_TRUE(v.bogus);
  v = Resolve(*lab_, "cname-bogus.secure.lab.", kA);
  EXPECT_TRUE(v.bogus);
  v = Resolve(*lab_, "www.expired.lab.", kA);
  EXPECT_TRUE(v.bogus);
  v = Resolve(*lab_, "loop1.secure.lab.", kA);
  EXPECT_EQ(v.rcode, 2);  // SERVFAIL
}

TEST_F(DnsLabTest, SetChangesRecordsInEveryKindOfZone) {
  const std::string address = lab_->block() + ".123";
  ASSERT_TRUE(lab_->Set("secure.lab.", "www.secure.lab.", "A", {address}).has_value());
  EXPECT_EQ(Rdata(Answer(lab_->server("secure"), "www.secure.lab. A"), "A"),
            std::multiset<std::string>{address});
  auto v = Resolve(*lab_, "www.secure.lab.", 1);
  EXPECT_TRUE(v.havedata && v.secure);

  ASSERT_TRUE(lab_->Set("secure.lab.", "multi", "TXT", {"\"v1\" \"v2\""}, 30).has_value());
  EXPECT_EQ(Rdata(Answer(lab_->server("secure"), "multi.secure.lab. TXT"), "TXT"),
            std::multiset<std::string>{"\"v1\" \"v2\""});
  ASSERT_TRUE(lab_->Set("secure.lab.", "multi", "TXT", {}).has_value());
  EXPECT_TRUE(Answer(lab_->server("secure"), "multi.secure.lab. TXT").empty());

  for (const char* role : {"insecure", "bogus", "expired"}) {
    std::string zone = std::string(role) + ".lab.";
    ASSERT_TRUE(lab_->Set(zone, "www", "A", {address}).has_value()) << zone;
    EXPECT_EQ(Rdata(Answer(lab_->server(role), "www." + zone + " A"), "A"),
              std::multiset<std::string>{address})
        << zone;
  }
  // The broken zones stay broken after a change.
  EXPECT_TRUE(Resolve(*lab_, "www.bogus.lab.", 1).bogus);
  EXPECT_TRUE(Resolve(*lab_, "www.expired.lab.", 1).bogus);
  v = Resolve(*lab_, "www.insecure.lab.", 1);
  EXPECT_TRUE(v.havedata && !v.secure && !v.bogus);
}

TEST_F(DnsLabTest, ErrorsAreReportedAndTheLabKeepsServing) {
  EXPECT_FALSE(lab_->Set("nope.lab.", "www", "A", {"127.0.0.1"}).has_value());
  EXPECT_FALSE(lab_->Set("secure.lab.", "www", "A", {"not-an-address"}).has_value());
  EXPECT_FALSE(lab_->Set("secure.lab.", "www.other.lab.", "A", {"127.0.0.1"}).has_value());
  EXPECT_FALSE(lab_->Rekey("insecure.lab.").has_value());
  EXPECT_TRUE(lab_->Set("secure.lab.", "after-error", "A", {"127.0.0.1"}).has_value());
  EXPECT_EQ(Rdata(Answer(lab_->server("secure"), "after-error.secure.lab. A"), "A").size(), 1u);
}

TEST_F(DnsLabTest, RekeyChangesDnskeyAndDs) {
  auto keys_before = Rdata(Answer(lab_->server("secure"), "secure.lab. DNSKEY"), "DNSKEY");
  auto ds_before = Rdata(Answer(lab_->server("tld"), "secure.lab. DS"), "DS");
  ASSERT_EQ(keys_before.size(), 1u);
  ASSERT_EQ(ds_before.size(), 1u);
  ASSERT_TRUE(lab_->Rekey("secure.lab.").has_value());
  auto keys_after = Rdata(Answer(lab_->server("secure"), "secure.lab. DNSKEY"), "DNSKEY");
  auto ds_after = Rdata(Answer(lab_->server("tld"), "secure.lab. DS"), "DS");
  EXPECT_EQ(keys_after.size(), 1u);
  EXPECT_EQ(ds_after.size(), 1u);
  EXPECT_NE(keys_after, keys_before);
  EXPECT_NE(ds_after, ds_before);
  // A fresh (non-caching) resolver sees the new keys at once and still validates.
  auto v = Resolve(*lab_, "www.secure.lab.", 1);
  EXPECT_TRUE(v.havedata && v.secure) << v.rcode;
}

TEST(DnsLabLifecycle, TwoLabsAtOnceGetDifferentBlocks) {
  // Each lab is created and destroyed on its own thread (PR_SET_PDEATHSIG is per thread).
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  auto run = [&released](std::promise<std::string> block) {
    auto lab = DnsLab::Start();
    if (!lab) {
      block.set_value("error: " + lab.error());
      return;
    }
    std::string answer = Dig((*lab)->server("root"), "+short . SOA");
    block.set_value(answer.find("a.root-servers.lab.") == std::string::npos
                        ? "error: root does not answer: " + answer
                        : (*lab)->block());
    released.wait();
  };
  std::promise<std::string> block1;
  std::promise<std::string> block2;
  auto got1 = block1.get_future();
  auto got2 = block2.get_future();
  std::thread t1(run, std::move(block1));
  std::thread t2(run, std::move(block2));
  std::string b1 = got1.get();
  std::string b2 = got2.get();
  release.set_value();
  t1.join();
  t2.join();
  EXPECT_EQ(b1.rfind("127.", 0), 0u) << b1;
  EXPECT_EQ(b2.rfind("127.", 0), 0u) << b2;
  EXPECT_NE(b1, b2);
}

TEST(DnsLabLifecycle, DestroyLeavesNoProcessOrDirectory) {
  auto lab = DnsLab::Start();
  ASSERT_TRUE(lab.has_value()) << lab.error();
  const std::string dir = (*lab)->dir();
  const int pid = (*lab)->descriptor().at("pid").get<int>();
  EXPECT_GE(ProcessesMentioning(dir + "/nsd/").size(), 6u) << "one NSD per server";
  lab->reset();
  EXPECT_TRUE(ProcessesMentioning(dir).empty());
  EXPECT_NE(kill(pid, 0), 0) << "the lab process is gone";
  EXPECT_FALSE(std::ifstream(dir + "/lab.json").good()) << "directory removed";
}

}  // namespace
}  // namespace mpic::lab
