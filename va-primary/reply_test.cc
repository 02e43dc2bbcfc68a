// How one remote's reply counts (internal/reply.h): every case as a row.
#include "va-primary/internal/reply.h"

#include <gtest/gtest.h>

#include "perspective/wire.h"

namespace mpic::va_primary::internal {
namespace {

v1::PerspectiveIdentity Identity(const std::string& name, v1::Rir rir) {
  v1::PerspectiveIdentity id;
  id.set_name(name);
  id.set_rir(rir);
  return id;
}

CheckedRequest DnsAndCaa() {
  CheckedRequest r;
  r.identifier = "example.com";
  r.dcv = checks::Method::kDns01;
  r.method = v1::DNS_01;
  r.caa = true;
  return r;
}

v1::CheckOutcome Outcome(v1::Method method, const std::string& identifier, bool valid,
                         ProblemType problem = ProblemType::kUnauthorized) {
  v1::CheckOutcome o;
  o.set_method(method);
  o.set_identifier(identifier);
  o.set_valid(valid);
  if (!valid) *o.mutable_problem() = perspective::ProblemToProto(Error{problem, "x"});
  return o;
}

v1::CheckResponse Reply(const v1::PerspectiveIdentity& who, bool dcv_valid, bool caa_valid,
                        ProblemType problem = ProblemType::kUnauthorized) {
  v1::CheckResponse r;
  *r.mutable_perspective() = who;
  *r.mutable_dcv() = Outcome(v1::DNS_01, "example.com", dcv_valid, problem);
  *r.mutable_caa() = Outcome(v1::CAA, "example.com", caa_valid, problem);
  return r;
}

TEST(ClassifyReplyTest, Table) {
  const auto me = Identity("eu-fra-1", v1::RIPE_NCC);
  struct Row {
    const char* name;
    grpc::Status status;
    v1::CheckResponse reply;
    quorum::Outcome outcome;
    v1::PerspectiveStatus perspective_status;
    bool corroborates;
    std::string rpc_error;
  };
  v1::CheckResponse missing_caa = Reply(me, true, true);
  missing_caa.clear_caa();
  v1::CheckResponse other_method = Reply(me, true, true);
  other_method.mutable_dcv()->set_method(v1::HTTP_01);
  v1::CheckResponse other_identifier = Reply(me, true, true);
  other_identifier.mutable_caa()->set_identifier("attacker.example");
  v1::CheckResponse upper_case = Reply(me, true, true);
  upper_case.mutable_dcv()->set_identifier("EXAMPLE.com.");
  v1::CheckResponse valid_with_problem = Reply(me, true, true);
  *valid_with_problem.mutable_dcv()->mutable_problem() =
      perspective::ProblemToProto(Error{ProblemType::kDns, "contradiction"});
  const Row rows[] = {
      {"all valid", grpc::Status::OK, Reply(me, true, true), quorum::Outcome::kCorroborated,
       v1::ANSWERED, true, ""},
      {"identifier case and dot", grpc::Status::OK, upper_case, quorum::Outcome::kCorroborated,
       v1::ANSWERED, true, ""},
      {"dcv invalid", grpc::Status::OK, Reply(me, false, true), quorum::Outcome::kInvalid,
       v1::ANSWERED, false, ""},
      {"caa invalid", grpc::Status::OK, Reply(me, true, false, ProblemType::kCaa),
       quorum::Outcome::kInvalid, v1::ANSWERED, false, ""},
      {"internal error is an error, not invalid", grpc::Status::OK,
       Reply(me, false, true, ProblemType::kServerInternal), quorum::Outcome::kError,
       v1::ANSWERED, false, ""},
      {"valid with a problem fails closed", grpc::Status::OK, valid_with_problem,
       quorum::Outcome::kInvalid, v1::ANSWERED, false, ""},
      {"deadline", grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "late"), {},
       quorum::Outcome::kTimeout, v1::TIMED_OUT, false, "DEADLINE_EXCEEDED"},
      {"unavailable", grpc::Status(grpc::StatusCode::UNAVAILABLE, "down"), {},
       quorum::Outcome::kError, v1::RPC_ERROR, false, "UNAVAILABLE"},
      {"impostor", grpc::Status::OK, Reply(Identity("impostor", v1::RIPE_NCC), true, true),
       quorum::Outcome::kError, v1::IDENTITY_MISMATCH, false, ""},
      {"other RIR", grpc::Status::OK, Reply(Identity("eu-fra-1", v1::ARIN), true, true),
       quorum::Outcome::kError, v1::IDENTITY_MISMATCH, false, ""},
      {"missing outcome", grpc::Status::OK, missing_caa, quorum::Outcome::kError, v1::RPC_ERROR,
       false, "MALFORMED_REPLY"},
      {"other method", grpc::Status::OK, other_method, quorum::Outcome::kError, v1::RPC_ERROR,
       false, "MALFORMED_REPLY"},
      {"other identifier", grpc::Status::OK, other_identifier, quorum::Outcome::kError,
       v1::RPC_ERROR, false, "MALFORMED_REPLY"},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    v1::PerspectiveResult result;
    const ReplyVerdict verdict = ClassifyReply(DnsAndCaa(), me, row.status, row.reply, &result);
    EXPECT_EQ(verdict.outcome, row.outcome);
    EXPECT_EQ(result.status(), row.perspective_status);
    EXPECT_EQ(result.corroborates(), row.corroborates);
    EXPECT_EQ(verdict.rpc_error, row.rpc_error);
    if (row.perspective_status != v1::ANSWERED) {
      EXPECT_FALSE(result.error().empty());
    }
  }
}

TEST(ClassifyReplyTest, OnlyTheRequestedChecksCount) {
  const auto me = Identity("eu-fra-1", v1::RIPE_NCC);
  CheckedRequest caa_only = DnsAndCaa();
  caa_only.dcv.reset();
  caa_only.method = v1::METHOD_UNSPECIFIED;
  v1::CheckResponse reply;
  *reply.mutable_perspective() = me;
  *reply.mutable_caa() = Outcome(v1::CAA, "example.com", true);
  v1::PerspectiveResult result;
  EXPECT_EQ(ClassifyReply(caa_only, me, grpc::Status::OK, reply, &result).outcome,
            quorum::Outcome::kCorroborated);
}

}  // namespace
}  // namespace mpic::va_primary::internal
