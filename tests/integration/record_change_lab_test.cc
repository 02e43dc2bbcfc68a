// A record changed between two validations is seen by the second, at every perspective: the
// fleet in lab mode (each perspective resolving from the lab's root, DNSSEC-validating, one
// fresh resolver state per validation) keeps no answer, key or delegation across validations.
// The zone is re-signed on every change, so a cached RRset or RRSIG anywhere would show up as
// the old value being corroborated (or the new one refused) by some perspective.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>

#include "checks/key_authorization.h"
#include "lab/local_fleet.h"
#include "lab/primary_client.h"
#include "tests/integration/command.h"

namespace mpic {
namespace {

using namespace std::chrono_literals;

constexpr const char* kZone = "secure.lab.";
constexpr const char* kName = "rotate.secure.lab";

v1::ValidateRequest Dns01(const std::string& key_authorization) {
  v1::ValidateRequest request;
  request.set_identifier(kName);
  request.set_method(v1::DNS_01);
  request.set_key_authorization(key_authorization);
  request.set_skip_caa(true);
  return request;
}

// Every perspective (the primary and each remote) answered and agrees with `corroborates`.
void ExpectEveryPerspective(const v1::ValidateResponse& response, bool corroborates,
                            const std::string& what) {
  ASSERT_EQ(response.primary().status(), v1::ANSWERED) << what;
  EXPECT_EQ(response.primary().corroborates(), corroborates) << what << ": primary";
  ASSERT_EQ(response.remotes_size(), 3) << what;
  for (const v1::PerspectiveResult& remote : response.remotes()) {
    ASSERT_EQ(remote.status(), v1::ANSWERED) << what << ": " << remote.perspective().name();
    EXPECT_EQ(remote.corroborates(), corroborates) << what << ": " << remote.perspective().name();
  }
  EXPECT_EQ(response.decision(), corroborates ? v1::CORROBORATED : v1::NOT_CORROBORATED) << what;
}

TEST(RecordChangeLabTest, EveryPerspectiveSeesTheNewTxtAtTheNextValidation) {
  char dir[] = "/tmp/mpic-record-change-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  lab::LocalFleet::Options options;
  options.remotes = 3;
  options.dir = dir;
  options.bin_dir = testing::BinDir();
  options.start_responder = false;  // DNS-01 only
  options.effective_date = "2026-03-15";  // three remotes meet this phase's minimum
  options.straggler_grace_ms = 2000;      // every row shows its own result
  auto fleet = lab::LocalFleet::Start(options, std::cerr, [] { return false; });
  ASSERT_TRUE(fleet) << fleet.error().detail;
  lab::LocalFleet& f = **fleet;
  auto channel = lab::DialPrimary(f.primary().address, f.client_tls());
  ASSERT_TRUE(channel) << channel.error().detail;

  const std::string challenge = "_acme-challenge." + std::string(kName) + ".";
  const std::string first = "token-1.account-thumbprint-first-0123456789abcdef";
  const std::string second = "token-2.account-thumbprint-second-0123456789abcde";
  auto set_txt = [&](const std::string& key_authorization) {
    auto st = f.lab().Set(kZone, challenge, "TXT",
                          {"\"" + checks::Dns01TxtValue(key_authorization) + "\""});
    ASSERT_TRUE(st) << st.error();
  };
  auto validate = [&](const std::string& key_authorization) {
    lab::ValidateCall call = lab::CallValidate(**channel, Dns01(key_authorization), 30s);
    EXPECT_TRUE(call.status.ok()) << lab::DescribeStatus(call.status);
    return call.response;
  };

  set_txt(first);
  ExpectEveryPerspective(validate(first), true, "first record, first value");

  // The record changes (and the zone is re-signed): the next validation sees the new value
  // from every perspective, and the old one is refused by every perspective.
  set_txt(second);
  ExpectEveryPerspective(validate(first), false, "second record, old value");
  ExpectEveryPerspective(validate(second), true, "second record, new value");

  // And back: nothing about the second value survives either.
  set_txt(first);
  ExpectEveryPerspective(validate(second), false, "first record again, old value");
  ExpectEveryPerspective(validate(first), true, "first record again, new value");

  f.Stop(&std::cerr);
  std::string remove = std::string("rm -rf ") + dir;
  EXPECT_EQ(std::system(remove.c_str()), 0);
}

}  // namespace
}  // namespace mpic
