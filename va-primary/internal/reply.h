// How the primary judges one remote's reply (pure: no I/O, no clock), so that every case —
// transport error, timeout, a reply from the wrong identity, a reply missing what was asked,
// a verdict — is table-tested directly.
#pragma once

#include <grpcpp/support/status.h>

#include <string>

#include "mpic/v1/perspective.pb.h"
#include "mpic/v1/primary.pb.h"
#include "quorum/quorum.h"
#include "va-primary/request.h"

namespace mpic::va_primary::internal {

struct ReplyVerdict {
  quorum::Outcome outcome = quorum::Outcome::kError;
  // For mpic_remote_rpc_errors_total: the gRPC code name, "MALFORMED_REPLY", or "" (none).
  std::string rpc_error;
};

// Fills `result` (status, error, the outcomes moved out of `reply`, corroborates) and returns
// how the reply counts. Corroborates iff the RPC succeeded, the remote answered with its
// configured name and RIR (BR §3.2.2.9 counts RIRs and places), every requested outcome is
// present, for the requested method and identifier, and valid. A serverInternal problem counts
// as an error, exactly as for the primary's own check (perspective::ClassifyOutcomes).
[[nodiscard]] ReplyVerdict ClassifyReply(const CheckedRequest& request,
                                         const v1::PerspectiveIdentity& configured,
                                         const grpc::Status& status, v1::CheckResponse reply,
                                         v1::PerspectiveResult* result);

}  // namespace mpic::va_primary::internal
