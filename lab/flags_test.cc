#include "lab/flags.h"

#include <gtest/gtest.h>

namespace mpic::lab {
namespace {

Status ParseArgs(Flags& flags, std::vector<std::string> args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return flags.Parse(static_cast<int>(argv.size()), argv.data(), 0);
}

TEST(Flags, ValuesSwitchesRepeatsAndPositionals) {
  Flags flags({{"a", Flags::kValue}, {"r", Flags::kRepeated}, {"s", Flags::kSwitch}});
  ASSERT_TRUE(ParseArgs(flags, {"x", "--a", "1", "--r=2", "--r", "3", "--s", "y"}));
  EXPECT_EQ(flags.Get("a"), "1");
  EXPECT_EQ(flags.GetAll("r"), (std::vector<std::string>{"2", "3"}));
  EXPECT_TRUE(flags.Has("s"));
  EXPECT_EQ(flags.positionals(), (std::vector<std::string>{"x", "y"}));
}

TEST(Flags, Errors) {
  Flags a({{"a", Flags::kValue}, {"s", Flags::kSwitch}});
  EXPECT_FALSE(ParseArgs(a, {"--nope"}));
  Flags b({{"a", Flags::kValue}});
  EXPECT_FALSE(ParseArgs(b, {"--a"}));
  Flags c({{"a", Flags::kValue}});
  EXPECT_FALSE(ParseArgs(c, {"--a", "1", "--a", "2"}));
  Flags d({{"s", Flags::kSwitch}});
  EXPECT_FALSE(ParseArgs(d, {"--s=1"}));
}

TEST(Flags, Integers) {
  Flags flags({{"n", Flags::kValue}, {"m", Flags::kValue}});
  ASSERT_TRUE(ParseArgs(flags, {"--n", "42", "--m", "4x"}));
  EXPECT_EQ(flags.GetInt("n", 0, 100).value(), 42);
  EXPECT_FALSE(flags.GetInt("n", 0, 10));
  EXPECT_FALSE(flags.GetInt("m", 0, 100));
  EXPECT_FALSE(flags.GetInt("absent", 0, 1).value().has_value());
}

}  // namespace
}  // namespace mpic::lab
