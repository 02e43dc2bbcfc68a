#include "va-primary/admission.h"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <vector>

namespace mpic::va_primary {
namespace {

using std::chrono::milliseconds;
using Clock = Admission::Clock;

constexpr auto kFar = std::chrono::hours(1);

struct Outcome {
  std::optional<Admission::Ticket> ticket;
  bool admitted() const { return ticket && ticket->has_value(); }
  bool refused() const { return ticket && !ticket->has_value(); }
};

Admission::Callback Record(Outcome& out) {
  return [&out](Admission::Ticket t) { out.ticket = std::move(t); };
}

TEST(AdmissionTest, AdmitsUpToTheLimitThenQueuesThenRefuses) {
  asio::io_context io;
  auto admission = Admission::Make(io.get_executor(), {2, 1, milliseconds(60'000)});
  Outcome a, b, c, d;
  admission->Acquire(Clock::now() + kFar, Record(a));
  admission->Acquire(Clock::now() + kFar, Record(b));
  admission->Acquire(Clock::now() + kFar, Record(c));
  admission->Acquire(Clock::now() + kFar, Record(d));
  EXPECT_TRUE(a.admitted());
  EXPECT_TRUE(b.admitted());
  EXPECT_FALSE(c.ticket.has_value());  // queued
  ASSERT_TRUE(d.refused());
  EXPECT_NE(d.ticket->error().detail.find("max_in_flight"), std::string::npos);
  EXPECT_NE(d.ticket->error().detail.find("queue full"), std::string::npos);
  auto counts = admission->counts();
  EXPECT_EQ(counts.in_flight, 2);
  EXPECT_EQ(counts.queued, 1);
  EXPECT_EQ(counts.refused_full, 1u);

  // Releasing a slot hands it to the waiter (on the executor).
  (*a.ticket)->get()->Release();
  io.poll();
  EXPECT_TRUE(c.admitted());
  counts = admission->counts();
  EXPECT_EQ(counts.in_flight, 2);
  EXPECT_EQ(counts.queued, 0);

  b.ticket.reset();
  c.ticket.reset();
  io.poll();
  EXPECT_EQ(admission->counts().in_flight, 0);
}

// A configuration reload changes max_in_flight: raised, waiters start at once; lowered, nothing
// running is stopped but released slots are not handed on until below the new limit.
TEST(AdmissionTest, SetLimitsRaisesAndLowersTheBound) {
  asio::io_context io;
  auto admission = Admission::Make(io.get_executor(), {1, 4, milliseconds(60'000)});
  Outcome a, b, c;
  admission->Acquire(Clock::now() + kFar, Record(a));
  admission->Acquire(Clock::now() + kFar, Record(b));
  admission->Acquire(Clock::now() + kFar, Record(c));
  ASSERT_TRUE(a.admitted());
  EXPECT_FALSE(b.ticket.has_value());
  EXPECT_FALSE(c.ticket.has_value());

  admission->SetLimits(3, 3);
  io.restart();
  io.poll();
  EXPECT_TRUE(b.admitted());
  EXPECT_TRUE(c.admitted());
  EXPECT_EQ(admission->counts().in_flight, 3);
  EXPECT_EQ(admission->counts().queued, 0);
  EXPECT_EQ(admission->options().max_in_flight, 3);

  admission->SetLimits(1, 1);
  Outcome d;
  admission->Acquire(Clock::now() + kFar, Record(d));
  EXPECT_FALSE(d.ticket.has_value());  // queued behind the new limit
  a.ticket.reset();                    // 3 -> 2 running: still above 1, d keeps waiting
  io.restart();
  io.poll();
  EXPECT_FALSE(d.ticket.has_value());
  EXPECT_EQ(admission->counts().in_flight, 2);
  b.ticket.reset();  // 2 -> 1
  io.restart();
  io.poll();
  EXPECT_FALSE(d.ticket.has_value());
  c.ticket.reset();  // the slot goes to d
  io.restart();
  io.poll();
  EXPECT_TRUE(d.admitted());
  EXPECT_EQ(admission->counts().in_flight, 1);
  d.ticket.reset();
  io.restart();
  io.poll();
  EXPECT_EQ(admission->counts().in_flight, 0);
}

TEST(AdmissionTest, AWaiterIsRefusedAtItsQueueDeadline) {
  asio::io_context io;
  auto admission = Admission::Make(io.get_executor(), {1, 4, milliseconds(20)});
  Outcome a, b;
  admission->Acquire(Clock::now() + kFar, Record(a));
  admission->Acquire(Clock::now() + kFar, Record(b));
  ASSERT_TRUE(a.admitted());
  EXPECT_FALSE(b.ticket.has_value());
  io.run_one();  // the waiter's timer
  ASSERT_TRUE(b.refused());
  EXPECT_NE(b.ticket->error().detail.find("retry later"), std::string::npos);
  auto counts = admission->counts();
  EXPECT_EQ(counts.queued, 0);
  EXPECT_EQ(counts.refused_timeout, 1u);
  // A slot released after the waiter gave up goes back to the pool.
  a.ticket.reset();
  io.poll();
  EXPECT_EQ(admission->counts().in_flight, 0);
}

TEST(AdmissionTest, TheCallersDeadlineBoundsTheWait) {
  asio::io_context io;
  auto admission = Admission::Make(io.get_executor(), {1, 4, milliseconds(60'000)});
  Outcome a, b, c;
  admission->Acquire(Clock::now() + kFar, Record(a));
  // Already past its deadline: refused at once rather than queued.
  admission->Acquire(Clock::now() - milliseconds(1), Record(b));
  ASSERT_TRUE(b.refused());
  // A near deadline: refused when it passes, long before max_wait.
  admission->Acquire(Clock::now() + milliseconds(10), Record(c));
  EXPECT_FALSE(c.ticket.has_value());
  io.run_one();
  EXPECT_TRUE(c.refused());
}

TEST(AdmissionTest, WaitersAreServedInArrivalOrder) {
  asio::io_context io;
  auto admission = Admission::Make(io.get_executor(), {1, 8, milliseconds(60'000)});
  Outcome first;
  admission->Acquire(Clock::now() + kFar, Record(first));
  std::vector<int> order;
  std::vector<std::shared_ptr<Admission::Slot>> held;
  for (int i = 0; i < 3; ++i) {
    admission->Acquire(Clock::now() + kFar, [&, i](Admission::Ticket t) {
      ASSERT_TRUE(t.has_value());
      order.push_back(i);
      held.push_back(*t);
    });
  }
  first.ticket.reset();
  io.poll();
  ASSERT_EQ(order, std::vector<int>{0});
  held.front()->Release();
  io.poll();
  held[1]->Release();
  io.poll();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
}

TEST(AdmissionTest, TheObserverSeesEveryCount) {
  asio::io_context io;
  std::vector<int> in_flight;
  auto admission =
      Admission::Make(io.get_executor(), {1, 0, milliseconds(10)},
                      [&](const Admission::Counts& c) { in_flight.push_back(c.in_flight); });
  Outcome a, b;
  admission->Acquire(Clock::now() + kFar, Record(a));
  admission->Acquire(Clock::now() + kFar, Record(b));  // no queue: refused
  EXPECT_TRUE(b.refused());
  a.ticket.reset();
  ASSERT_FALSE(in_flight.empty());
  EXPECT_EQ(in_flight.front(), 1);
  EXPECT_EQ(in_flight.back(), 0);
}

}  // namespace
}  // namespace mpic::va_primary
