// What va-primary takes from the shared proto helpers (proto/convert.h, proto/config_loader.h),
// in one place: the primary builds its resolver, dialer, credentials and outcome protos exactly
// as va-remote does.
#pragma once

#include "proto/config_loader.h"
#include "proto/convert.h"

namespace mpic::va_primary::internal {

using proto::LoadPrimaryConfig;
using proto::MakeChannelCredentials;
using proto::MakeDialer;
using proto::MakeResolver;
using proto::MakeServerCredentials;
using proto::MethodToProto;
using proto::OutcomeToProto;
using proto::ProblemToProto;

}  // namespace mpic::va_primary::internal
