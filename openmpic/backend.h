// What the Open MPIC server needs from the primary: one asynchronous call per validated
// request. va-primary implements it over its validation state machine; tests use a fake.
//
//   class PrimaryBackend : public mpic::openmpic::Backend {
//     void Validate(const mpic::openmpic::BackendRequest& request,
//                   mpic::openmpic::BackendCallback done) override {
//       // run request.orchestration.max_attempts attempts (disjoint cohorts), audit each
//       // with request.trace_identifier, then: done(BackendResult{final, earlier});
//     }
//   };
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "mpic/v1/primary.pb.h"
#include "openmpic/orchestration.h"

namespace mpic::openmpic {

struct BackendRequest {
  v1::ValidateRequest validate;  // identifier, method, token/key authorization, CAA domains...
  Orchestration orchestration;   // effective perspective/quorum counts, attempts, cohort
  std::string trace_identifier;  // the caller's, or one the server made up; audit it
  // acme-dns-01 / acme-tls-alpn-01 sent as a digest only (see DecodeOptions): SHA-256 of the
  // key authorization. Only set when the server was told the backend accepts it.
  std::optional<std::array<uint8_t, 32>> key_authorization_sha256;
  std::string certificate_type;  // CAA: "tls-server" | "s-mime" ("" for DCV)
  std::string client;            // who asked: certificate subject or "api-key:<name>"
  // W3C Trace Context headers exactly as received (each field line's value; usually none or
  // one): the backend parses them (common/trace_context.h) and carries the trace on.
  std::vector<std::string> traceparent;
  std::vector<std::string> tracestate;
};

// One attempt's outcome, as the primary produced it.
struct AttemptResult {
  v1::ValidateResponse response;
  int64_t finished_unix_ns = 0;  // when the attempt's decision was made (timestamp_ns)
};

struct BackendResult {
  AttemptResult final;               // the attempt that decided (last one)
  std::vector<AttemptResult> earlier;  // attempts before it, in order; never counted
};

// kMalformed / kRejectedIdentifier / kUnauthorized errors become 400 (the request could not be
// validated as asked); kRateLimited a 429 (the primary's rate limits); kUnavailable a 503 with
// Retry-After (the primary is at its in-flight bound: nothing started); anything else a 500. A
// failed validation is NOT an error: it is a BackendResult whose decision is NOT_CORROBORATED.
using BackendCallback = std::function<void(Result<BackendResult>)>;

class Backend {
 public:
  virtual ~Backend() = default;
  // Must not block. `done` is called exactly once, from any thread; the server posts back to
  // its own executor. The server stops waiting after its backend deadline (answering 504) and
  // then ignores a late `done`.
  virtual void Validate(const BackendRequest& request, BackendCallback done) = 0;
};

}  // namespace mpic::openmpic
