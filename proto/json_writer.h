// A fast writer of the proto3 JSON mapping for the audit trail (one record per decision):
// walks the message by reflection and appends compact JSON, with the options the audit log
// uses — proto field names, every field present (zeros, "", false, empty arrays included),
// enums by name, 64-bit integers as strings, bytes as base64. About an order of magnitude
// cheaper than protobuf's MessageToJsonString, which serializes to binary and parses it back.
//
//   std::string out;
//   if (auto st = mpic::proto::AppendProtoJson(response, &out); !st) ... st.error().detail
//
// Maps, google.protobuf.* well-known types and Any are refused (kServerInternal): mpic.v1 has
// none, and their JSON forms are special. Strings that are not valid UTF-8 get U+FFFD for each
// bad byte, so a record is always valid JSON.
#pragma once

#include <google/protobuf/message.h>

#include <string>
#include <string_view>

#include "common/error.h"

namespace mpic::proto {

[[nodiscard]] Status AppendProtoJson(const google::protobuf::Message& message, std::string* out);

// `text` as a JSON string literal (quotes included), escaping control characters, '"' and '\'
// and replacing invalid UTF-8.
void AppendJsonString(std::string_view text, std::string* out);

// The shortest text that reads back as the same double (std::to_chars); non-finite values as
// the proto3 JSON strings "NaN", "Infinity", "-Infinity".
void AppendJsonDouble(double value, std::string* out);

}  // namespace mpic::proto
