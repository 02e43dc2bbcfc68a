#include "va-primary/audit.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "mpic/v1/primary.pb.h"
#include "proto/json_writer.h"

namespace mpic::va_primary {

std::string Rfc3339Utc(std::chrono::system_clock::time_point time) {
  const auto since_epoch = time.time_since_epoch();
  const auto seconds = std::chrono::floor<std::chrono::seconds>(since_epoch);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch - seconds).count();
  const std::time_t t = static_cast<std::time_t>(seconds.count());
  std::tm utc{};
  gmtime_r(&t, &utc);
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<int>(millis));
  return buffer;
}

Result<std::string> FormatAuditRecord(const AuditInfo& info, const v1::ValidateResponse& response) {
  // Written by hand (proto/json_writer): this runs once per decision on the primary's hot
  // path, where protobuf's JSON printer plus a re-parse cost a third of the primary's CPU.
  std::string line;
  line.reserve(4096);
  auto key = [&](std::string_view name) {  // every key after the first
    line.push_back(',');
    proto::AppendJsonString(name, &line);
    line.push_back(':');
  };
  auto string_field = [&](std::string_view name, std::string_view value) {
    key(name);
    proto::AppendJsonString(value, &line);
  };
  line.push_back('{');
  proto::AppendJsonString("time", &line);
  line.push_back(':');
  proto::AppendJsonString(Rfc3339Utc(info.time), &line);
  string_field("request_id", response.request_id());
  if (!info.trace_id.empty()) string_field("trace_id", info.trace_id);
  string_field("identifier", info.identifier);
  string_field("method", info.method);
  key("checks");
  line.push_back('[');
  for (size_t i = 0; i < info.checks.size(); ++i) {
    if (i > 0) line.push_back(',');
    proto::AppendJsonString(info.checks[i], &line);
  }
  line.push_back(']');
  key("attempt");
  line.append(std::to_string(info.attempt));
  key("wildcard");
  line.append(info.wildcard ? "true" : "false");
  if (!info.certificate_type.empty()) string_field("certificate_type", info.certificate_type);
  string_field("decision", v1::Decision_Name(response.decision()));
  string_field("quorum", response.quorum());
  string_field("policy", response.policy());
  string_field("phase", response.phase());
  key("enforced");
  line.append(response.enforced() ? "true" : "false");
  string_field("reason", info.reason);
  if (info.api) {
    key("api");
    line.push_back('{');
    proto::AppendJsonString("name", &line);
    line.push_back(':');
    proto::AppendJsonString(info.api->name, &line);
    string_field("trace_identifier", info.api->trace_identifier);
    string_field("client", info.api->client);
    key("perspective_count");
    line.append(std::to_string(info.api->perspective_count));
    key("quorum_count");
    line.append(std::to_string(info.api->quorum_count));
    key("monitoring");
    line.append(info.api->monitoring ? "true" : "false");
    line.push_back('}');
  }
  key("response");
  if (auto st = proto::AppendProtoJson(response, &line); !st) {
    return Fail(ProblemType::kServerInternal,
                "audit record: cannot render the response: " + st.error().detail);
  }
  line.push_back('}');
  return line;
}

std::string AuditLineHash(std::string_view line) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(line.data(), line.size(), digest, &length, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * length);
  for (unsigned int i = 0; i < length; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 15]);
  }
  return hex;
}

namespace {

constexpr uint64_t kMaxRecordBytes = 64u << 20;  // a longer last line is not a record of ours

tl::unexpected<Error> Internal(const std::string& path, const std::string& what) {
  return Fail(ProblemType::kServerInternal, "audit log \"" + path + "\": " + what);
}

// The last line of an open regular file of `size` bytes (without its '\n'), and whether that
// '\n' is there.
struct LastLine {
  std::string text;
  bool terminated = false;
};

Result<LastLine> ReadLastLine(int fd, uint64_t size, const std::string& path) {
  LastLine last;
  if (size == 0) return last;
  char byte = 0;
  if (::pread(fd, &byte, 1, static_cast<off_t>(size - 1)) != 1) {
    return Internal(path, std::string("read: ") + std::strerror(errno));
  }
  last.terminated = byte == '\n';
  // Back from the end of the line in chunks to the '\n' before it (or the start of the file).
  constexpr uint64_t kChunk = 64 * 1024;
  uint64_t pos = last.terminated ? size - 1 : size;
  while (pos > 0) {
    const uint64_t n = std::min(kChunk, pos);
    std::string chunk(n, '\0');
    if (::pread(fd, chunk.data(), n, static_cast<off_t>(pos - n)) != static_cast<ssize_t>(n)) {
      return Internal(path, std::string("read: ") + std::strerror(errno));
    }
    pos -= n;
    if (const size_t newline = chunk.rfind('\n'); newline != std::string::npos) {
      last.text.insert(0, chunk, newline + 1);
      return last;
    }
    last.text.insert(0, chunk);
    if (last.text.size() > kMaxRecordBytes) return Internal(path, "last line longer than 64 MiB");
  }
  return last;
}

// The highest N of the "<path>.N" files in the directory of `path` (0: none).
uint64_t HighestRotatedIndex(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path p(path);
  const std::string prefix = p.filename().string() + ".";
  std::error_code ec;
  uint64_t highest = 0;
  fs::path dir = p.parent_path();
  if (dir.empty()) dir = ".";
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!name.starts_with(prefix) || name.size() == prefix.size() ||
        name.size() > prefix.size() + 18) {
      continue;
    }
    const std::string_view digits = std::string_view(name).substr(prefix.size());
    if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      continue;
    }
    highest = std::max<uint64_t>(highest, std::stoull(std::string(digits)));
  }
  return highest;
}

// The hash to chain from in a file of `size` bytes open as `fd` (ending a cut line first).
Result<std::string> ChainStart(int fd, uint64_t* size, const std::string& path,
                               uint64_t highest_rotated) {
  if (*size > 0) {
    auto last = ReadLastLine(fd, *size, path);
    if (!last) return Fail(last.error());
    if (!last->terminated) {
      // Cut short by a crash: end it so the next record starts a line of its own.
      if (::write(fd, "\n", 1) != 1)
        return Internal(path, std::string("write: ") + std::strerror(errno));
      *size += 1;
    }
    return AuditLineHash(last->text);
  }
  if (highest_rotated == 0) return std::string(kAuditGenesis);
  const std::string previous = path + "." + std::to_string(highest_rotated);
  const int prev_fd = ::open(previous.c_str(), O_RDONLY | O_CLOEXEC);
  if (prev_fd < 0) return Internal(previous, std::string("open: ") + std::strerror(errno));
  struct stat st {};
  Result<LastLine> last = Internal(previous, "fstat failed");
  if (::fstat(prev_fd, &st) == 0)
    last = ReadLastLine(prev_fd, static_cast<uint64_t>(st.st_size), previous);
  ::close(prev_fd);
  if (!last) return Fail(last.error());
  if (last->text.empty() && !last->terminated) return std::string(kAuditGenesis);  // empty file
  return AuditLineHash(last->text);
}

void SyncDirectory(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

Result<std::unique_ptr<AuditLog>> AuditLog::Open(const std::string& path, AuditLogOptions options) {
  const int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  int write_fd = fd;
  if (fd < 0 && errno == EACCES) {
    // Append-only permission (or a device such as /dev/full): open for writing only; the chain
    // cannot continue from unread bytes, so only a regular file we can read may be non-empty.
    write_fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  }
  if (write_fd < 0) {
    return Fail(ProblemType::kServerInternal,
                "cannot open audit log \"" + path + "\": " + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(write_fd, &st) != 0) {
    const std::string why = std::strerror(errno);
    ::close(write_fd);
    return Internal(path, "fstat: " + why);
  }
  const bool regular = S_ISREG(st.st_mode);
  uint64_t size = regular ? static_cast<uint64_t>(st.st_size) : 0;
  const uint64_t highest = regular ? HighestRotatedIndex(path) : 0;
  std::string last_hash(kAuditGenesis);
  if (regular) {
    if (write_fd != fd && size > 0) {
      ::close(write_fd);
      return Internal(path, "not readable, so its hash chain cannot be continued");
    }
    auto start = ChainStart(write_fd, &size, path, highest);
    if (!start) {
      ::close(write_fd);
      return Fail(start.error());
    }
    last_hash = std::move(*start);
  }
  return std::unique_ptr<AuditLog>(
      new AuditLog(path, write_fd, options, std::move(last_hash), size, highest + 1, regular));
}

AuditLog::AuditLog(std::string path, int fd, AuditLogOptions options, std::string last_hash,
                   uint64_t size, uint64_t next_index, bool rotatable)
    : path_(std::move(path)),
      options_(options),
      fd_(fd),
      last_hash_(std::move(last_hash)),
      size_(size),
      next_index_(next_index),
      rotatable_(rotatable) {
  if (!options_.non_production.empty()) {
    non_production_fields_ = "\"non_production\":true,\"non_production_reasons\":[";
    for (std::size_t i = 0; i < options_.non_production.size(); ++i) {
      if (i > 0) non_production_fields_.push_back(',');
      proto::AppendJsonString(options_.non_production[i], &non_production_fields_);
    }
    non_production_fields_.push_back(']');
  }
  writer_ = std::thread([this] { Run(); });
}

AuditLog::~AuditLog() {
  Close();
  if (fd_ >= 0) ::close(fd_);
}

void AuditLog::Append(std::string line, Done done) {
  if (line.size() < 2 || line.front() != '{' || line.back() != '}' ||
      line.find('\n') != std::string::npos) {
    done(Fail(ProblemType::kServerInternal, "audit record is not a JSON object on one line"));
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!closing_) {
      queue_.push_back(Entry{std::move(line), std::move(done)});
      wake_.notify_one();
      return;
    }
  }
  done(Fail(ProblemType::kServerInternal, "audit log is closed"));
}

bool AuditLog::Rotate() {
  const std::string target = path_ + "." + std::to_string(next_index_);
  // The descriptor keeps writing into the renamed file until the new one is open, so every
  // record is whole in one file or the other and the chain runs on across the rename.
  if (::rename(path_.c_str(), target.c_str()) != 0) return false;
  ++next_index_;
  const int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return false;
  if (unsynced_) ::fsync(fd_);  // the renamed file's last records; their results follow later
  ::close(fd_);
  fd_ = fd;
  size_ = 0;
  SyncDirectory(path_);
  return true;
}

void AuditLog::Close() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closing_ = true;
    wake_.notify_one();
  }
  if (writer_.joinable()) writer_.join();
}

void AuditLog::Run() {
  for (;;) {
    std::deque<Entry> batch;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return closing_ || !queue_.empty(); });
      if (queue_.empty()) return;  // closing and drained
      batch.swap(queue_);
    }
    // One write(2) per line on O_APPEND: a line is never interleaved with another. A short
    // write (disk full) leaves a partial line; it is reported as a failure and the caller does
    // not answer, so no decision is ever acted upon without its whole record.
    std::vector<Status> results;
    results.reserve(batch.size());
    bool any_written = false;
    std::string fsync_error;  // of a file rotated away in this batch
    for (Entry& entry : batch) {
      // The chain: this record names the hash of the line before it, as stored.
      std::string& line = entry.line;
      line.pop_back();  // '}'
      if (!non_production_fields_.empty()) {
        if (line.size() > 1) line.push_back(',');
        line.append(non_production_fields_);
      }
      if (line.size() > 1) line.push_back(',');
      line.push_back('"');
      line.append(kAuditPrevField);
      line.append("\":\"");
      line.append(last_hash_);
      line.append("\"}\n");
      if (rotatable_ && options_.max_bytes > 0 && size_ > 0 &&
          size_ + line.size() > options_.max_bytes) {
        if (unsynced_ && ::fsync(fd_) != 0) fsync_error = std::strerror(errno);
        unsynced_ = false;
        Rotate();
      }
      ssize_t n;
      do {
        n = ::write(fd_, line.data(), line.size());
      } while (n < 0 && errno == EINTR);
      if (n > 0) {
        size_ += static_cast<uint64_t>(n);
        unsynced_ = true;
      }
      if (n == static_cast<ssize_t>(line.size())) {
        last_hash_ = AuditLineHash(std::string_view(line).substr(0, line.size() - 1));
        results.emplace_back();
        any_written = true;
      } else {
        const std::string why = n < 0 ? std::strerror(errno) : "short write";
        // End a torn line so the next record starts on a line of its own; the next record
        // chains over the torn bytes as stored, and the verifier reports the torn line.
        if (n > 0) {
          last_hash_ = AuditLineHash(std::string_view(line).substr(0, static_cast<size_t>(n)));
          if (::write(fd_, "\n", 1) == 1) ++size_;
        }
        results.push_back(
            Fail(ProblemType::kServerInternal, "audit log \"" + path_ + "\": write: " + why));
      }
    }
    if (!fsync_error.empty()) {
      // Records written to the file before its rotation were not made durable.
      for (Status& result : results) {
        if (result) {
          result = Fail(ProblemType::kServerInternal,
                        "audit log \"" + path_ + "\": fsync before rotation: " + fsync_error);
        }
      }
    }
    if (any_written && ::fsync(fd_) != 0) {
      const std::string why = std::strerror(errno);
      for (Status& result : results) {
        if (result) {
          result = Fail(ProblemType::kServerInternal, "audit log \"" + path_ + "\": fsync: " + why);
        }
      }
    }
    unsynced_ = false;
    for (std::size_t i = 0; i < batch.size(); ++i) batch[i].done(std::move(results[i]));
  }
}

namespace {

bool IsHexHash(std::string_view text) {
  return text.size() == 64 && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

}  // namespace

Result<AuditChainReport> VerifyAuditChain(const std::vector<std::string>& files,
                                          const AuditVerifyOptions& options) {
  AuditChainReport report;
  std::string previous_where;  // "FILE:LINE" of the record before
  bool have_previous = false;
  auto broken = [&](std::string problem) {
    report.intact = false;
    report.problem = std::move(problem);
    return report;
  };
  for (const std::string& file : files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      return Fail(ProblemType::kMalformed, file + ": cannot open: " + std::strerror(errno));
    }
    uint64_t line_number = 0;
    std::string line;
    while (std::getline(in, line)) {
      ++line_number;
      ++report.records;
      const std::string where = file + ":" + std::to_string(line_number);
      if (in.eof()) {
        return broken(where +
                      ": the last record has no end of line (cut short, or written "
                      "while being read)");
      }
      const auto record = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (record.is_discarded() || !record.is_object()) {
        return broken(where + ": not a JSON object: the record was changed or torn");
      }
      const auto field = record.find(kAuditPrevField);
      if (field == record.end() || !field->is_string() ||
          !IsHexHash(field->get_ref<const std::string&>())) {
        return broken(where + ": no " + std::string(kAuditPrevField) +
                      " of 64 hex digits: not a chained record, or changed");
      }
      const std::string& prev = field->get_ref<const std::string&>();
      if (!have_previous) {
        report.first_prev = prev;
        if (!options.expect_prev.empty() && prev != options.expect_prev) {
          return broken(where + ": the first record chains from " + prev + ", not from the " +
                        "expected " + options.expect_prev +
                        ": records before it were removed, or the files are out of order");
        }
      } else if (prev != report.head) {
        return broken(where + ": does not chain to the record before it (" + previous_where +
                      "): that record was changed, or records between them were removed or " +
                      "reordered");
      }
      report.head = AuditLineHash(line);
      previous_where = where;
      have_previous = true;
    }
    if (in.bad()) return Fail(ProblemType::kMalformed, file + ": read error");
  }
  if (!options.expect_head.empty() && report.head != options.expect_head) {
    return broken((have_previous ? previous_where : std::string("(no records)")) +
                  ": the last record hashes to " +
                  (report.head.empty() ? std::string("nothing") : report.head) +
                  ", not to the expected head " + options.expect_head +
                  ": it was changed, or records after it were removed");
  }
  report.intact = true;
  return report;
}

}  // namespace mpic::va_primary
