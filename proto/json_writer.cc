#include "proto/json_writer.h"

#include <google/protobuf/descriptor.h>

#include <charconv>
#include <cmath>

namespace mpic::proto {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

constexpr char kHex[] = "0123456789abcdef";

// Length of the valid UTF-8 sequence starting at s[i], or 0 (RFC 3629: no overlongs, no
// surrogates, nothing above U+10FFFF).
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  auto cont = [&](size_t k) { return k < s.size() && (byte(k) & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) return cont(i + 1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(i + 1) || !cont(i + 2)) return 0;
    const unsigned char c1 = byte(i + 1);
    if (c == 0xE0 && c1 < 0xA0) return 0;  // overlong
    if (c == 0xED && c1 > 0x9F) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(i + 1) || !cont(i + 2) || !cont(i + 3)) return 0;
    const unsigned char c1 = byte(i + 1);
    if (c == 0xF0 && c1 < 0x90) return 0;  // overlong
    if (c == 0xF4 && c1 > 0x8F) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

void AppendBase64(std::string_view data, std::string* out) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const size_t begin = out->size();
  out->resize(begin + 2 + (data.size() + 2) / 3 * 4);  // quotes and padded groups
  char* o = out->data() + begin;
  *o++ = '"';
  size_t i = 0;
  auto at = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(data[k])); };
  for (; i + 3 <= data.size(); i += 3) {
    const uint32_t v = (at(i) << 16) | (at(i + 1) << 8) | at(i + 2);
    for (int shift : {18, 12, 6, 0}) *o++ = kAlphabet[(v >> shift) & 63];
  }
  if (const size_t rest = data.size() - i; rest > 0) {
    uint32_t v = at(i) << 16;
    if (rest == 2) v |= at(i + 1) << 8;
    *o++ = kAlphabet[(v >> 18) & 63];
    *o++ = kAlphabet[(v >> 12) & 63];
    *o++ = rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    *o++ = '=';
  }
  *o = '"';
}

template <typename T>
void AppendInteger(T value, bool quoted, std::string* out) {
  char buffer[24];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  (void)ec;  // 24 bytes hold any 64-bit integer
  if (quoted) out->push_back('"');
  out->append(buffer, end);
  if (quoted) out->push_back('"');
}

Status AppendMessage(const Message& message, std::string* out, int depth);

// One value of `field` (element `index` when repeated, else index < 0).
Status AppendValue(const Message& message, const FieldDescriptor* field, int index,
                   std::string* out, int depth) {
  const Reflection* r = message.GetReflection();
  const bool rep = index >= 0;
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      AppendInteger(rep ? r->GetRepeatedInt32(message, field, index) : r->GetInt32(message, field),
                    false, out);
      break;
    case FieldDescriptor::CPPTYPE_UINT32:
      AppendInteger(
          rep ? r->GetRepeatedUInt32(message, field, index) : r->GetUInt32(message, field), false,
          out);
      break;
    case FieldDescriptor::CPPTYPE_INT64:
      AppendInteger(rep ? r->GetRepeatedInt64(message, field, index) : r->GetInt64(message, field),
                    true, out);
      break;
    case FieldDescriptor::CPPTYPE_UINT64:
      AppendInteger(
          rep ? r->GetRepeatedUInt64(message, field, index) : r->GetUInt64(message, field), true,
          out);
      break;
    case FieldDescriptor::CPPTYPE_DOUBLE:
      AppendJsonDouble(
          rep ? r->GetRepeatedDouble(message, field, index) : r->GetDouble(message, field), out);
      break;
    case FieldDescriptor::CPPTYPE_FLOAT:
      AppendJsonDouble(
          rep ? r->GetRepeatedFloat(message, field, index) : r->GetFloat(message, field), out);
      break;
    case FieldDescriptor::CPPTYPE_BOOL:
      out->append((rep ? r->GetRepeatedBool(message, field, index) : r->GetBool(message, field))
                      ? "true"
                      : "false");
      break;
    case FieldDescriptor::CPPTYPE_ENUM: {
      const int number =
          rep ? r->GetRepeatedEnumValue(message, field, index) : r->GetEnumValue(message, field);
      if (const auto* value = field->enum_type()->FindValueByNumber(number)) {
        AppendJsonString(value->name(), out);
      } else {
        AppendInteger(number, false, out);  // unknown value: its number, as protobuf does
      }
      break;
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string scratch;
      const std::string& value =
          rep ? r->GetRepeatedStringReference(message, field, index, &scratch)
              : r->GetStringReference(message, field, &scratch);
      if (field->type() == FieldDescriptor::TYPE_BYTES) {
        AppendBase64(value, out);
      } else {
        AppendJsonString(value, out);
      }
      break;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return AppendMessage(
          rep ? r->GetRepeatedMessage(message, field, index) : r->GetMessage(message, field), out,
          depth + 1);
  }
  return {};
}

Status AppendMessage(const Message& message, std::string* out, int depth) {
  const auto* descriptor = message.GetDescriptor();
  if (depth > 32) return Fail(ProblemType::kServerInternal, "JSON: message nested too deeply");
  if (descriptor->file()->package() == "google.protobuf") {
    return Fail(ProblemType::kServerInternal,
                "JSON: well-known type " + descriptor->full_name() + " is not supported");
  }
  out->push_back('{');
  bool first = true;
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    if (field->is_map()) {
      return Fail(ProblemType::kServerInternal,
                  "JSON: map field " + field->full_name() + " is not supported");
    }
    const Reflection* r = message.GetReflection();
    // proto3 JSON with "always print primitive fields": an unset singular message field and an
    // unset member of a oneof are left out; everything else is printed.
    if (!field->is_repeated() &&
        (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE || field->containing_oneof()) &&
        !r->HasField(message, field)) {
      continue;
    }
    if (!first) out->push_back(',');
    first = false;
    AppendJsonString(field->name(), out);
    out->push_back(':');
    if (field->is_repeated()) {
      out->push_back('[');
      const int n = r->FieldSize(message, field);
      for (int k = 0; k < n; ++k) {
        if (k > 0) out->push_back(',');
        if (auto st = AppendValue(message, field, k, out, depth); !st) return st;
      }
      out->push_back(']');
    } else if (auto st = AppendValue(message, field, -1, out, depth); !st) {
      return st;
    }
  }
  out->push_back('}');
  return {};
}

}  // namespace

void AppendJsonString(std::string_view text, std::string* out) {
  out->push_back('"');
  // Bytes that need no escaping are copied in runs (one append per run, not per byte): most
  // strings in a record (names, addresses, values) are one run.
  size_t run = 0;
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    size_t n = 0;
    if (c >= 0x80 && (n = Utf8SequenceLength(text, i)) > 0) {
      i += n;  // valid UTF-8 is copied as it is
      continue;
    }
    out->append(text.data() + run, i - run);
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (c < 0x80) {  // other control characters and DEL
          const char escaped[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
          out->append(escaped, sizeof(escaped));
        } else {
          out->append("\xEF\xBF\xBD");  // U+FFFD for a byte that is not valid UTF-8
        }
    }
    run = ++i;
  }
  out->append(text.data() + run, text.size() - run);
  out->push_back('"');
}

void AppendJsonDouble(double value, std::string* out) {
  if (std::isnan(value)) {
    out->append("\"NaN\"");
    return;
  }
  if (std::isinf(value)) {
    out->append(value > 0 ? "\"Infinity\"" : "\"-Infinity\"");
    return;
  }
  char buffer[32];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  (void)ec;  // 32 bytes hold the shortest form of any double
  out->append(buffer, end);
}

Status AppendProtoJson(const google::protobuf::Message& message, std::string* out) {
  return AppendMessage(message, out, 0);
}

}  // namespace mpic::proto
