// Decode cost of a typical Open MPIC request: nlohmann-json (what openmpic/ uses) against
// simdjson (Debian's libsimdjson-dev), and the full decode + validate + encode path.
//
//   build/bench/openmpic_bench --benchmark_min_time=1
//
// "Extract" variants parse and pull every field of the request into C++ values with type
// checks and unknown-field detection: the part of the decoder a JSON library decides.
#include <benchmark/benchmark.h>

#include <nlohmann/json.hpp>
#include <string>

#include "openmpic/request.h"
#include "openmpic/response.h"
#include "openmpic/testing/samples.h"

#if MPIC_HAVE_SIMDJSON
#include <simdjson.h>
#endif

namespace {

const std::string& Body() {
  static const std::string body = R"({
  "check_type": "dcv",
  "domain_or_ip_target": "www.example.com",
  "trace_identifier": "ac2d0392-8699-4037-a0e0-0a6db1ff8b89",
  "orchestration_parameters": {"perspective_count": 6, "quorum_count": 4, "max_attempts": 2},
  "dcv_check_parameters": {
    "validation_method": "acme-http-01",
    "token": "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA",
    "key_authorization": "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.)"
                                  R"(9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI"
  }
})";
  return body;
}

struct Extracted {
  std::string check_type, target, trace, method, token, key_authorization;
  int64_t perspective_count = 0, quorum_count = 0, max_attempts = 0;
  int unknown = 0;
};

bool ExtractNlohmann(const std::string& body, Extracted& out) {
  using json = nlohmann::json;
  json root = json::parse(body, nullptr, false);
  if (root.is_discarded() || !root.is_object()) return false;
  for (const auto& [key, value] : root.items()) {
    if (key == "check_type" && value.is_string()) {
      out.check_type = value.get<std::string>();
    } else if (key == "domain_or_ip_target" && value.is_string()) {
      out.target = value.get<std::string>();
    } else if (key == "trace_identifier" && value.is_string()) {
      out.trace = value.get<std::string>();
    } else if (key == "orchestration_parameters" && value.is_object()) {
      for (const auto& [k, v] : value.items()) {
        if (!v.is_number_integer()) return false;
        if (k == "perspective_count") out.perspective_count = v.get<int64_t>();
        else if (k == "quorum_count") out.quorum_count = v.get<int64_t>();
        else if (k == "max_attempts") out.max_attempts = v.get<int64_t>();
        else ++out.unknown;
      }
    } else if (key == "dcv_check_parameters" && value.is_object()) {
      for (const auto& [k, v] : value.items()) {
        if (!v.is_string()) return false;
        if (k == "validation_method") out.method = v.get<std::string>();
        else if (k == "token") out.token = v.get<std::string>();
        else if (k == "key_authorization") out.key_authorization = v.get<std::string>();
        else ++out.unknown;
      }
    } else {
      ++out.unknown;
    }
  }
  return true;
}

void BM_NlohmannExtract(benchmark::State& state) {
  for (auto _ : state) {
    Extracted out;
    benchmark::DoNotOptimize(ExtractNlohmann(Body(), out));
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_NlohmannExtract);

#if MPIC_HAVE_SIMDJSON
bool ExtractSimdjson(simdjson::dom::parser& parser, const simdjson::padded_string& body,
                     Extracted& out) {
  simdjson::dom::element root;
  if (parser.parse(body).get(root)) return false;
  simdjson::dom::object object;
  if (root.get(object)) return false;
  for (auto field : object) {
    std::string_view key = field.key;
    std::string_view text;
    if (key == "check_type" && !field.value.get(text)) {
      out.check_type = text;
    } else if (key == "domain_or_ip_target" && !field.value.get(text)) {
      out.target = text;
    } else if (key == "trace_identifier" && !field.value.get(text)) {
      out.trace = text;
    } else if (simdjson::dom::object params;
               key == "orchestration_parameters" && !field.value.get(params)) {
      for (auto inner : params) {
        int64_t n = 0;
        if (inner.value.get(n)) return false;
        if (inner.key == "perspective_count") out.perspective_count = n;
        else if (inner.key == "quorum_count") out.quorum_count = n;
        else if (inner.key == "max_attempts") out.max_attempts = n;
        else ++out.unknown;
      }
    } else if (simdjson::dom::object dcv;
               key == "dcv_check_parameters" && !field.value.get(dcv)) {
      for (auto inner : dcv) {
        std::string_view v;
        if (inner.value.get(v)) return false;
        if (inner.key == "validation_method") out.method = v;
        else if (inner.key == "token") out.token = v;
        else if (inner.key == "key_authorization") out.key_authorization = v;
        else ++out.unknown;
      }
    } else {
      ++out.unknown;
    }
  }
  return true;
}

void BM_SimdjsonExtract(benchmark::State& state) {
  simdjson::dom::parser parser;  // reused, as a server would keep one per thread
  for (auto _ : state) {
    // The body arrives in a std::string; simdjson needs padding, so the copy is counted.
    simdjson::padded_string body(Body());
    Extracted out;
    benchmark::DoNotOptimize(ExtractSimdjson(parser, body, out));
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_SimdjsonExtract);
#endif

// The whole request path of openmpic/: parse, every validation rule, the v1 mapping.
void BM_DecodeRequest(benchmark::State& state) {
  mpic::openmpic::DecodeOptions options;
  options.default_caa_domains = {"ca.example"};
  for (auto _ : state) {
    auto decoded = mpic::openmpic::DecodeRequest(Body(), options);
    if (!decoded) state.SkipWithError("decode failed");
    benchmark::DoNotOptimize(decoded);
  }
}
BENCHMARK(BM_DecodeRequest);

// The response path: primary + 4 remotes with HTTP evidence, encoded and serialized.
void BM_EncodeResponse(benchmark::State& state) {
  auto sample = mpic::openmpic::testing::HttpSample(true);
  for (auto _ : state) {
    std::string text = mpic::openmpic::EncodeResponse(sample.request, sample.orchestration,
                                                      sample.result)
                           .dump();
    benchmark::DoNotOptimize(text);
  }
}
BENCHMARK(BM_EncodeResponse);

}  // namespace

BENCHMARK_MAIN();
