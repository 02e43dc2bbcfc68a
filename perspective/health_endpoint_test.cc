#include "perspective/health_endpoint.h"

#include <grpcpp/channel.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <string>

namespace mpic::perspective {
namespace {

struct Answer {
  grpc::StatusCode code = grpc::StatusCode::UNKNOWN;
  std::string bytes;
};

// One plaintext unary call with raw bytes, as the kubelet's probe makes it.
Answer Call(const std::string& address, const std::string& method, const std::string& body) {
  auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  grpc::Slice slice(body);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, method, grpc::StubOptions(), &request, &response,
                 [&done](grpc::Status s) { done.set_value(std::move(s)); });
  grpc::Status status = done.get_future().get();
  Answer answer{status.error_code(), ""};
  std::vector<grpc::Slice> slices;
  if (status.ok() && response.Dump(&slices).ok()) {
    for (const auto& s : slices) answer.bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return answer;
}

// HealthCheckRequest{service}: field 1, length-delimited.
std::string CheckRequest(const std::string& service) {
  if (service.empty()) return "";
  return std::string("\x0a", 1) + static_cast<char>(service.size()) + service;
}

const std::string kServing("\x08\x01", 2);
const std::string kNotServing("\x08\x02", 2);
constexpr const char* kCheck = "/grpc.health.v1.Health/Check";

TEST(HealthEndpointTest, ServesOnlyHealthInPlaintextAndFollowsTheServingState) {
  auto health = HealthEndpoint::Start("127.0.0.1:0", {"mpic.v1.Perspective"});
  ASSERT_TRUE(health) << health.error().detail;
  const std::string address = (*health)->address();
  ASSERT_NE(address, "127.0.0.1:0");

  // Starts NOT_SERVING: a probe must not pass before the server says so.
  Answer a = Call(address, kCheck, CheckRequest(""));
  ASSERT_EQ(a.code, grpc::StatusCode::OK);
  EXPECT_EQ(a.bytes, kNotServing);

  (*health)->SetServing(true);
  EXPECT_EQ(Call(address, kCheck, CheckRequest("")).bytes, kServing);
  EXPECT_EQ(Call(address, kCheck, CheckRequest("mpic.v1.Perspective")).bytes, kServing);
  EXPECT_EQ(Call(address, kCheck, CheckRequest("mpic.v1.Nothing")).code,
            grpc::StatusCode::NOT_FOUND);

  // Nothing but health is reachable without mTLS.
  EXPECT_EQ(Call(address, "/mpic.v1.Perspective/Check", "").code,
            grpc::StatusCode::UNIMPLEMENTED);

  (*health)->SetServing(false);
  EXPECT_EQ(Call(address, kCheck, CheckRequest("mpic.v1.Perspective")).bytes, kNotServing);

  // The port is owned: a second endpoint on it refuses to start.
  auto second = HealthEndpoint::Start(address, {});
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().detail.find("health_listen"), std::string::npos);

  (*health)->Shutdown();
  (*health)->Shutdown();  // idempotent
  EXPECT_EQ(Call(address, kCheck, CheckRequest("")).code, grpc::StatusCode::UNAVAILABLE);
}

}  // namespace
}  // namespace mpic::perspective
