#include "common/trace_context.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

namespace mpic::trace {
namespace {

constexpr std::string_view kTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr std::string_view kParent = "00f067aa0ba902b7";
constexpr std::string_view kValid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

TEST(Traceparent, TheSpecificationsExampleParses) {
  auto p = ParseTraceparent(kValid);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->version, 0);
  EXPECT_EQ(p->trace_id, kTrace);
  EXPECT_EQ(p->parent_id, kParent);
  EXPECT_EQ(p->flags, 1);
  EXPECT_TRUE(p->sampled());
  auto unsampled = ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
  ASSERT_TRUE(unsampled.has_value());
  EXPECT_FALSE(unsampled->sampled());
  // Unknown flag bits are read (and not carried on: see Accept).
  auto flags = ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff");
  ASSERT_TRUE(flags.has_value());
  EXPECT_EQ(flags->flags, 0xff);
}

TEST(Traceparent, EveryFormatRuleIsEnforced) {
  const std::string v(kValid);
  auto invalid = [](const std::string& s) { return !ParseTraceparent(s).has_value(); };
  EXPECT_TRUE(invalid(""));
  EXPECT_TRUE(invalid(v.substr(0, 54)));  // too short
  EXPECT_TRUE(invalid(v + "-"));          // version 00 is exactly 55 characters
  EXPECT_TRUE(invalid(v + "-extra"));
  EXPECT_TRUE(invalid(" " + v.substr(0, 54) + "1"));  // no surrounding whitespace
  // Upper-case hex anywhere.
  EXPECT_TRUE(invalid("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"));
  EXPECT_TRUE(invalid("00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01"));
  EXPECT_TRUE(invalid("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A"));
  EXPECT_TRUE(invalid("0A-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
  // Non-hex characters.
  EXPECT_TRUE(invalid("00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01"));
  EXPECT_TRUE(invalid("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902bz-01"));
  EXPECT_TRUE(invalid("0x-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
  EXPECT_TRUE(invalid("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0-"));
  // Separators in their places only.
  EXPECT_TRUE(invalid("00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
  EXPECT_TRUE(invalid("00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01"));
  EXPECT_TRUE(invalid("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01"));
  EXPECT_TRUE(invalid("00-4bf92f3577b34da6a3ce929d0e0e47360-0f067aa0ba902b7-01"));
  // All-zero ids.
  EXPECT_TRUE(invalid("00-00000000000000000000000000000000-00f067aa0ba902b7-01"));
  EXPECT_TRUE(invalid("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"));
  // Version ff is invalid whatever follows.
  EXPECT_TRUE(invalid("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
  // A NUL inside.
  std::string nul = v;
  nul[10] = '\0';
  EXPECT_TRUE(invalid(nul));
}

TEST(Traceparent, ALaterVersionIsReadAsVersion00) {
  auto later = ParseTraceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  ASSERT_TRUE(later.has_value());
  EXPECT_EQ(later->version, 0xcc);
  EXPECT_EQ(later->trace_id, kTrace);
  // It may append fields after a '-', not glue characters on.
  EXPECT_TRUE(ParseTraceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what")
                  .has_value());
  EXPECT_FALSE(ParseTraceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01what")
                   .has_value());
  // Its first 55 characters still follow every version 00 rule.
  EXPECT_FALSE(
      ParseTraceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0").has_value());
  EXPECT_FALSE(ParseTraceparent("cc-00000000000000000000000000000000-00f067aa0ba902b7-01")
                   .has_value());
}

TEST(Tracestate, Grammar) {
  EXPECT_TRUE(ValidTracestate(""));
  EXPECT_TRUE(ValidTracestate("congo=t61rcWkgMzE"));
  EXPECT_TRUE(ValidTracestate("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"));
  EXPECT_TRUE(ValidTracestate("rojo=1 , \tcongo=2"));            // OWS around members
  EXPECT_TRUE(ValidTracestate("rojo=1,,congo=2"));               // empty members allowed
  EXPECT_TRUE(ValidTracestate("fw529a3039@dt=1,tenant1@vendor=x y"));  // multi-tenant; space
  EXPECT_TRUE(ValidTracestate("a-b_c*d/e=v"));
  EXPECT_FALSE(ValidTracestate("Rojo=1"));       // upper-case key
  EXPECT_FALSE(ValidTracestate("1rojo=1"));      // simple key starts with a letter
  EXPECT_FALSE(ValidTracestate("rojo"));         // no '='
  EXPECT_FALSE(ValidTracestate("rojo="));        // empty value
  EXPECT_TRUE(ValidTracestate("rojo=a "));       // the space is OWS, not part of the value
  EXPECT_FALSE(ValidTracestate("rojo= "));       // an empty value, then OWS
  EXPECT_FALSE(ValidTracestate("rojo=a=b"));     // '=' in a value
  EXPECT_FALSE(ValidTracestate("rojo=\x7f"));    // not printable
  EXPECT_FALSE(ValidTracestate("rojo=1,rojo=2"));  // duplicate key
  EXPECT_FALSE(ValidTracestate("t@=1"));         // empty system id
  EXPECT_FALSE(ValidTracestate("@v=1"));         // empty tenant id
  EXPECT_FALSE(ValidTracestate("t@v123456789012345=1"));  // system id longer than 14
  EXPECT_FALSE(ValidTracestate("t@1v=1"));       // system id starts with a letter
  EXPECT_FALSE(ValidTracestate(std::string(257, 'a') + "=1"));  // key longer than 256
  EXPECT_FALSE(ValidTracestate("k=" + std::string(257, 'v')));  // value longer than 256
  // At most 32 members, at most 512 characters.
  std::string members;
  for (int i = 0; i < 32; ++i) members += (i ? ",k" : "k") + std::to_string(i) + "=v";
  EXPECT_TRUE(ValidTracestate(members));
  EXPECT_FALSE(ValidTracestate(members + ",k32=v"));
  EXPECT_FALSE(ValidTracestate("k=" + std::string(511, 'v')));
}

TEST(Context, AValidTraceparentIsContinued) {
  Context c = Accept({kValid}, {"rojo=1", "congo=2"});
  EXPECT_TRUE(c.from_caller);
  EXPECT_EQ(c.trace_id, kTrace);
  EXPECT_EQ(c.parent_id, kParent);
  EXPECT_EQ(c.flags, 1);
  EXPECT_EQ(c.tracestate, "rojo=1,congo=2");
  // Each child call: same trace, a new parent-id, the sampled flag carried.
  const std::string a = c.Child();
  const std::string b = c.Child();
  auto pa = ParseTraceparent(a);
  auto pb = ParseTraceparent(b);
  ASSERT_TRUE(pa.has_value() && pb.has_value()) << a << " " << b;
  EXPECT_EQ(pa->trace_id, kTrace);
  EXPECT_EQ(pb->trace_id, kTrace);
  EXPECT_NE(pa->parent_id, kParent);
  EXPECT_NE(pa->parent_id, pb->parent_id);
  EXPECT_EQ(pa->flags, 1);
  EXPECT_EQ(a.substr(0, 3), "00-");
}

TEST(Context, UnknownFlagsAreNotCarriedOn) {
  Context c = Accept({"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-fe"}, {});
  EXPECT_TRUE(c.from_caller);
  EXPECT_EQ(c.flags, 0);
  EXPECT_EQ(c.Child().substr(52), "-00");
}

TEST(Context, InvalidOrAbsentStartsANewTrace) {
  for (const auto& headers : std::vector<std::vector<std::string_view>>{
           {},
           {"garbage"},
           {kValid, kValid},
           {"00-00000000000000000000000000000000-00f067aa0ba902b7-01"}}) {
    Context c = Accept(headers, {"rojo=1"});
    EXPECT_FALSE(c.from_caller);
    EXPECT_EQ(c.trace_id.size(), 32u);
    EXPECT_NE(c.trace_id, kTrace);
    EXPECT_TRUE(c.parent_id.empty());
    EXPECT_TRUE(c.tracestate.empty()) << "tracestate is dropped with an invalid traceparent";
    EXPECT_TRUE(ParseTraceparent(c.Child()).has_value());
  }
  EXPECT_NE(NewTrace().trace_id, NewTrace().trace_id);
}

TEST(Context, AnInvalidTracestateIsDroppedTheTraceKept) {
  Context c = Accept({kValid}, {"rojo=1", "Bad"});
  EXPECT_TRUE(c.from_caller);
  EXPECT_EQ(c.trace_id, kTrace);
  EXPECT_TRUE(c.tracestate.empty());
  Context big = Accept({kValid}, {std::string(400, 'a') + "=1", std::string(200, 'b') + "=1"});
  EXPECT_TRUE(big.tracestate.empty());
}

TEST(Ids, RandomHexOfTheRightLength) {
  for (int i = 0; i < 100; ++i) {
    const std::string t = NewTraceId();
    const std::string p = NewParentId();
    ASSERT_EQ(t.size(), 32u);
    ASSERT_EQ(p.size(), 16u);
    ASSERT_TRUE(ParseTraceparent(FormatTraceparent(t, p, 0)).has_value());
  }
  EXPECT_EQ(FormatTraceparent(kTrace, kParent, 1), kValid);
}

// Ids come from a per-thread pool of random bytes: across many refills and several threads,
// no id repeats (a pool handed out twice, or shared between threads, would repeat them).
TEST(Ids, DistinctAcrossPoolRefillsAndThreads) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 2000;  // 2000 x 24 bytes: ~90 refills of the pool per thread
  std::vector<std::vector<std::string>> ids(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&ids, t] {
      for (int i = 0; i < kPerThread; ++i) {
        ids[t].push_back(NewTraceId());
        ids[t].push_back(NewParentId());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::set<std::string> seen;
  for (const auto& list : ids) seen.insert(list.begin(), list.end());
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kThreads * kPerThread * 2));
}

}  // namespace
}  // namespace mpic::trace
