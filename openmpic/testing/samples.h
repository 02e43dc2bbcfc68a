// Hand-built primary results for tests and the schema check: what va-primary would answer for
// an HTTP-01, a DNS-01 (second attempt) and a CAA request, with the decoded request each came
// from. Values are fixed so tests can assert them.
//
//   auto sample = mpic::openmpic::testing::HttpSample(/*valid=*/true);
//   auto body = EncodeResponse(sample.request, sample.orchestration, sample.result);
#pragma once

#include "openmpic/backend.h"
#include "openmpic/request.h"

namespace mpic::openmpic::testing {

struct Sample {
  DecodedRequest request;
  Orchestration orchestration;
  BackendResult result;
};

// Primary + 4 remotes. valid: all pass (4/4). !valid: remote 0 unauthorized, remote 3 timed
// out, decision NOT_CORROBORATED.
[[nodiscard]] Sample HttpSample(bool valid);
// Second attempt corroborated after a first one that was not; records, rcode, AD, CNAME chain.
[[nodiscard]] Sample DnsSample();
// CAA found at the parent for the primary, absent for a remote.
[[nodiscard]] Sample CaaSample();

// A v1 result that echoes the request: `ok` remotes of `remotes` corroborate (the primary
// always passes). Used by the fake backends.
[[nodiscard]] BackendResult MakeResult(const v1::ValidateRequest& request, int remotes, int ok);

}  // namespace mpic::openmpic::testing
