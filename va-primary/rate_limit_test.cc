#include "va-primary/rate_limit.h"

#include <gtest/gtest.h>

#include <string>

namespace mpic::va_primary {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class RateLimitTest : public ::testing::Test {
 protected:
  RateLimiter Make(RateLimiter::Options options) {
    return RateLimiter(options, [this] { return now_; });
  }
  void Advance(RateLimiter::Clock::duration d) { now_ += d; }
  static RateLimiter::Rule Rule(uint32_t per_minute, uint32_t burst = 0) {
    RateLimiter::Rule r;
    r.per_minute = per_minute;
    r.burst = burst;
    return r;
  }
  static RateLimiter::Options Limits(RateLimiter::Rule account, RateLimiter::Rule identifier,
                                     std::size_t max_keys = 65536) {
    RateLimiter::Options o;
    o.account = account;
    o.identifier = identifier;
    o.max_keys = max_keys;
    return o;
  }

  RateLimiter::Clock::time_point now_{std::chrono::hours(1)};
};

TEST_F(RateLimitTest, OffByDefaultLetsEverythingThrough) {
  RateLimiter limiter = Make({});
  EXPECT_FALSE(limiter.enabled());
  for (int i = 0; i < 1000; ++i) ASSERT_FALSE(limiter.Admit("acct", "example.com"));
  EXPECT_EQ(limiter.identifier_keys(), 0u);
}

TEST_F(RateLimitTest, BurstThenTheRefillRate) {
  RateLimiter limiter = Make(Limits({}, Rule(6, 3)));
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(limiter.Admit("", "example.com")) << i;
  auto refused = limiter.Admit("", "example.com");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->limit, "identifier");
  EXPECT_NE(refused->message.find("per-identifier limit"), std::string::npos) << refused->message;
  EXPECT_NE(refused->message.find("rate_limits.per_identifier 6/min burst 3"), std::string::npos)
      << refused->message;
  EXPECT_NE(refused->message.find("retry in 10 s"), std::string::npos) << refused->message;
  // 6 per minute: one token every 10 s.
  Advance(seconds(9));
  EXPECT_TRUE(limiter.Admit("", "example.com"));
  Advance(seconds(1));
  EXPECT_FALSE(limiter.Admit("", "example.com"));
  EXPECT_TRUE(limiter.Admit("", "example.com"));
  // Another identifier has its own bucket.
  EXPECT_FALSE(limiter.Admit("", "other.example"));
  // A long pause refills to the burst, never beyond.
  Advance(std::chrono::hours(1));
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(limiter.Admit("", "example.com")) << i;
  EXPECT_TRUE(limiter.Admit("", "example.com"));
}

TEST_F(RateLimitTest, BurstDefaultsToTheRate) {
  RateLimiter limiter = Make(Limits(Rule(2), {}));
  EXPECT_FALSE(limiter.Admit("https://ca.example/acct/1", "a.example"));
  EXPECT_FALSE(limiter.Admit("https://ca.example/acct/1", "b.example"));
  auto refused = limiter.Admit("https://ca.example/acct/1", "c.example");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->limit, "account");
  EXPECT_NE(refused->message.find("per-account"), std::string::npos);
  EXPECT_FALSE(limiter.Admit("https://ca.example/acct/2", "a.example"));
  // No account URI: not account-limited.
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(limiter.Admit("", "a.example"));
}

TEST_F(RateLimitTest, ARefusalTakesNoTokenFromTheOtherLimit) {
  RateLimiter limiter = Make(Limits(Rule(60, 2), Rule(60, 1)));
  EXPECT_FALSE(limiter.Admit("acct", "example.com"));
  // The identifier refuses: the account's bucket is left alone.
  auto refused = limiter.Admit("acct", "example.com");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->limit, "identifier");
  EXPECT_FALSE(limiter.Admit("acct", "other.example"));  // the account's second token
  refused = limiter.Admit("acct", "third.example");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->limit, "account");
  // The account refused: third.example's bucket was not even created.
  EXPECT_EQ(limiter.identifier_keys(), 2u);
}

TEST_F(RateLimitTest, MemoryIsBoundedAndEvictionNeverForgetsAnActiveKey) {
  RateLimiter limiter = Make(Limits({}, Rule(60, 2), 3));
  EXPECT_FALSE(limiter.Admit("", "a"));
  EXPECT_FALSE(limiter.Admit("", "a"));  // a's bucket is empty now
  EXPECT_FALSE(limiter.Admit("", "b"));
  EXPECT_FALSE(limiter.Admit("", "c"));
  EXPECT_EQ(limiter.identifier_keys(), 3u);
  // Full, and the oldest (a) has not refilled: a new key is refused, not let in by forgetting a.
  auto refused = limiter.Admit("", "d");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->limit, "identifier");
  EXPECT_NE(refused->message.find("rate_limits.max_keys"), std::string::npos) << refused->message;
  EXPECT_EQ(limiter.identifier_keys(), 3u);
  // 2 s later every bucket has refilled (1 token/s, burst 2): the oldest goes, d comes in.
  Advance(seconds(2));
  EXPECT_FALSE(limiter.Admit("", "d"));
  EXPECT_EQ(limiter.identifier_keys(), 3u);
  // a was evicted only because it was full: a fresh bucket for it allows exactly its burst.
  Advance(seconds(2));
  EXPECT_FALSE(limiter.Admit("", "a"));  // evicts b (full), a back with burst - 1
  EXPECT_FALSE(limiter.Admit("", "a"));
  EXPECT_TRUE(limiter.Admit("", "a"));
  EXPECT_EQ(limiter.identifier_keys(), 3u);
}

TEST_F(RateLimitTest, UsingAKeyKeepsItFromBeingEvicted) {
  RateLimiter limiter = Make(Limits({}, Rule(60, 1), 2));
  EXPECT_FALSE(limiter.Admit("", "a"));
  EXPECT_FALSE(limiter.Admit("", "b"));
  Advance(seconds(1));
  EXPECT_FALSE(limiter.Admit("", "a"));  // a used again: b is now the least recently used
  EXPECT_FALSE(limiter.Admit("", "c"));  // b (refilled) evicted
  EXPECT_TRUE(limiter.Admit("", "a"));   // a is still tracked, and still empty
}

TEST_F(RateLimitTest, TheClockGoingBackwardsAddsNoTokens) {
  RateLimiter limiter = Make(Limits({}, Rule(60, 1)));
  EXPECT_FALSE(limiter.Admit("", "a"));
  Advance(-seconds(30));
  EXPECT_TRUE(limiter.Admit("", "a"));
}

TEST_F(RateLimitTest, Describe) {
  EXPECT_EQ(RateLimiter::Describe({}), "off");
  EXPECT_EQ(RateLimiter::Describe(Rule(60)), "60/min burst 60");
  EXPECT_EQ(RateLimiter::Describe(Rule(60, 5)), "60/min burst 5");
}

}  // namespace
}  // namespace mpic::va_primary
