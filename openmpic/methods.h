// The Open MPIC validation methods and what mpic does with each: one table, so supporting a
// new method is one line here plus its parameter rules in request.cc.
//
//   const mpic::openmpic::MethodInfo* info = mpic::openmpic::FindMethod("acme-dns-01");
//   if (info && info->v1_method != mpic::v1::METHOD_UNSPECIFIED) { ... }  // supported
#pragma once

#include <span>
#include <string_view>

#include "mpic/v1/common.pb.h"

namespace mpic::openmpic {

struct MethodInfo {
  std::string_view name;       // Open MPIC `validation_method`
  v1::Method v1_method;        // METHOD_UNSPECIFIED: known to the spec, not implemented yet
  std::string_view br_section; // CA/B Forum TLS BR section of the method
};

// Every method of the Open MPIC enum (spec 3.x and the core models up to 3.9).
[[nodiscard]] std::span<const MethodInfo> Methods();
// nullptr for a name the spec does not know.
[[nodiscard]] const MethodInfo* FindMethod(std::string_view name);
// The Open MPIC name of a v1 DCV method ("" for anything else).
[[nodiscard]] std::string_view MethodName(v1::Method method);

}  // namespace mpic::openmpic
