#include "routesim/topology.h"

#include <bzlib.h>
#include <zlib.h>

#include <charconv>
#include <fstream>
#include <iterator>
#include <sstream>
#include <unordered_map>

namespace mpic::routesim {
namespace {

// A decompressed topology larger than this is refused (a current CAIDA file is ~12 MB).
constexpr size_t kMaxDecompressed = size_t{1} << 30;
constexpr size_t kChunk = size_t{1} << 20;

std::string Where(std::string_view name, size_t line) {
  return std::string(name) + ":" + std::to_string(line) + ": ";
}

Result<Asn> ParseAsn(std::string_view field, std::string_view name, size_t line) {
  uint64_t value = 0;
  const char* end = field.data() + field.size();
  auto [ptr, ec] = std::from_chars(field.data(), end, value);
  if (field.empty() || ec != std::errc() || ptr != end || value == 0 || value > 0xFFFFFFFFull) {
    return Fail(ProblemType::kMalformed, Where(name, line) + "bad AS number \"" +
                                             std::string(field) +
                                             "\" (expected a decimal 1..4294967295)");
  }
  return static_cast<Asn>(value);
}

Result<std::string> Gunzip(std::string_view bytes, std::string_view name) {
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
    return Fail(ProblemType::kServerInternal, std::string(name) + ": zlib init failed");
  }
  std::string out;
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  zs.avail_in = static_cast<uInt>(bytes.size());
  int rc = Z_OK;
  while (true) {
    size_t old = out.size();
    out.resize(old + kChunk);
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + old);
    zs.avail_out = static_cast<uInt>(kChunk);
    rc = inflate(&zs, Z_NO_FLUSH);
    out.resize(old + kChunk - zs.avail_out);
    if (rc == Z_STREAM_END) {
      if (zs.avail_in == 0) break;
      // Concatenated gzip members (what `cat a.gz b.gz` makes) are one stream.
      if (inflateReset(&zs) != Z_OK) break;
      continue;
    }
    if (rc != Z_OK || out.size() > kMaxDecompressed || (zs.avail_in == 0 && zs.avail_out != 0)) {
      break;
    }
  }
  inflateEnd(&zs);
  if (rc != Z_STREAM_END) {
    return Fail(ProblemType::kMalformed,
                std::string(name) + ": truncated or corrupt gzip data" +
                    (out.size() > kMaxDecompressed ? " (larger than 1 GiB)" : ""));
  }
  return out;
}

Result<std::string> Bunzip(std::string_view bytes, std::string_view name) {
  bz_stream bz{};
  if (BZ2_bzDecompressInit(&bz, 0, 0) != BZ_OK) {
    return Fail(ProblemType::kServerInternal, std::string(name) + ": bzip2 init failed");
  }
  std::string out;
  bz.next_in = const_cast<char*>(bytes.data());
  bz.avail_in = static_cast<unsigned>(bytes.size());
  int rc = BZ_OK;
  while (true) {
    size_t old = out.size();
    out.resize(old + kChunk);
    bz.next_out = out.data() + old;
    bz.avail_out = static_cast<unsigned>(kChunk);
    rc = BZ2_bzDecompress(&bz);
    out.resize(old + kChunk - bz.avail_out);
    if (rc == BZ_STREAM_END) {
      if (bz.avail_in == 0) break;
      // Concatenated streams (pbzip2 output): start a new one on the remaining input.
      char* next = bz.next_in;
      unsigned left = bz.avail_in;
      BZ2_bzDecompressEnd(&bz);
      bz = bz_stream{};
      if (BZ2_bzDecompressInit(&bz, 0, 0) != BZ_OK) break;
      bz.next_in = next;
      bz.avail_in = left;
      rc = BZ_OK;
      continue;
    }
    if (rc != BZ_OK || out.size() > kMaxDecompressed || (bz.avail_in == 0 && bz.avail_out != 0)) {
      break;
    }
  }
  BZ2_bzDecompressEnd(&bz);
  if (rc != BZ_STREAM_END) {
    return Fail(ProblemType::kMalformed, std::string(name) + ": truncated or corrupt bzip2 data");
  }
  return out;
}

}  // namespace

Result<Topology> ParseTopology(std::string_view text, std::string_view name) {
  Topology topology;
  std::unordered_map<uint64_t, Rel> seen;
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    std::string_view fields[5];
    size_t count = 0;
    size_t start = 0;
    while (count < 5) {
      size_t bar = line.find('|', start);
      fields[count++] = line.substr(start, bar == std::string_view::npos ? bar : bar - start);
      if (bar == std::string_view::npos) break;
      start = bar + 1;
    }
    if (count != 3 && count != 4) {
      return Fail(ProblemType::kMalformed,
                  Where(name, line_no) +
                      "expected \"as1|as2|rel\" or \"as1|as2|rel|source\", got " +
                      std::to_string(count) + " field(s)");
    }
    auto a = ParseAsn(fields[0], name, line_no);
    if (!a) return Fail(a.error());
    auto b = ParseAsn(fields[1], name, line_no);
    if (!b) return Fail(b.error());
    Rel rel;
    if (fields[2] == "-1") {
      rel = Rel::kProviderToCustomer;
    } else if (fields[2] == "0") {
      rel = Rel::kPeer;
    } else {
      return Fail(ProblemType::kMalformed, Where(name, line_no) + "unknown relationship code \"" +
                                               std::string(fields[2]) +
                                               "\" (expected -1 provider-customer or 0 peer)");
    }
    if (*a == *b) {
      return Fail(ProblemType::kMalformed,
                  Where(name, line_no) + "AS" + std::to_string(*a) + " linked to itself");
    }
    // The pair key is unordered; a provider link remembers its direction by sign of the code.
    Asn lo = std::min(*a, *b);
    Asn hi = std::max(*a, *b);
    uint64_t key = (uint64_t{lo} << 32) | hi;
    Rel directed = rel;
    if (rel == Rel::kProviderToCustomer && *a != lo) directed = static_cast<Rel>(1);
    auto [it, inserted] = seen.emplace(key, directed);
    if (!inserted) {
      if (it->second == directed) continue;  // exact duplicate
      return Fail(ProblemType::kMalformed, Where(name, line_no) + "AS" + std::to_string(*a) +
                                               " and AS" + std::to_string(*b) +
                                               " are linked twice with different relationships");
    }
    topology.links.push_back(Link{*a, *b, rel});
  }
  if (topology.links.empty()) {
    return Fail(ProblemType::kMalformed, std::string(name) + ": no AS link in the file");
  }
  return topology;
}

Result<std::string> Decompress(std::string_view bytes, std::string_view name) {
  if (bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
      static_cast<unsigned char>(bytes[1]) == 0x8b) {
    return Gunzip(bytes, name);
  }
  if (bytes.size() >= 3 && bytes.substr(0, 3) == "BZh") return Bunzip(bytes, name);
  return std::string(bytes);
}

Result<Topology> ReadTopologyFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Fail(ProblemType::kMalformed, path + ": cannot open");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return Fail(ProblemType::kMalformed, path + ": read error");
  auto text = Decompress(bytes, path);
  if (!text) return Fail(text.error());
  return ParseTopology(*text, path);
}

std::string FormatTopology(const Topology& topology, std::string_view comment) {
  std::string out;
  out.reserve(topology.links.size() * 16 + comment.size() + 8);
  if (!comment.empty()) out += "# " + std::string(comment) + "\n";
  for (const Link& link : topology.links) {
    out += std::to_string(link.a);
    out += '|';
    out += std::to_string(link.b);
    out += link.rel == Rel::kPeer ? "|0\n" : "|-1\n";
  }
  return out;
}

}  // namespace mpic::routesim
