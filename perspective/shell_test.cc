#include "perspective/shell.h"

#include <gtest/gtest.h>

namespace mpic::perspective {
namespace {

google::protobuf::RepeatedPtrField<std::string> Names(std::initializer_list<const char*> names) {
  google::protobuf::RepeatedPtrField<std::string> out;
  for (const char* n : names) out.Add(n);
  return out;
}

TEST(AuthorizationTest, IdentityMustBeNamed) {
  EXPECT_TRUE(IdentityAllowed({"va-primary", "localhost"}, Names({"va-primary"})));
  EXPECT_TRUE(IdentityAllowed({"mpic-ca-client", "Primary.Example"}, Names({"primary.example"})));
  EXPECT_FALSE(IdentityAllowed({"mpic-ca-client", "localhost"}, Names({"va-primary"})));
  EXPECT_FALSE(IdentityAllowed({}, Names({"va-primary"})));
  EXPECT_FALSE(IdentityAllowed({"va-primary-2"}, Names({"va-primary"})));  // exact names only
}

TEST(AuthorizationTest, NoAuthContextIsDeniedWhenAListIsSet) {
  const grpc::Status denied = AuthorizePeer(nullptr, Names({"va-primary"}), "authorized_primaries");
  EXPECT_EQ(denied.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(denied.error_message().find("authorized_primaries"), std::string::npos);
  // An empty list (lab mode only) lets any fleet certificate through.
  EXPECT_TRUE(AuthorizePeer(nullptr, Names({}), "authorized_primaries").ok());
}

}  // namespace
}  // namespace mpic::perspective
