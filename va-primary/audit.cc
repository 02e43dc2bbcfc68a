#include "va-primary/audit.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

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
  string_field("decision", v1::Decision_Name(response.decision()));
  string_field("quorum", response.quorum());
  string_field("policy", response.policy());
  string_field("phase", response.phase());
  key("enforced");
  line.append(response.enforced() ? "true" : "false");
  string_field("reason", info.reason);
  key("response");
  if (auto st = proto::AppendProtoJson(response, &line); !st) {
    return Fail(ProblemType::kServerInternal,
                "audit record: cannot render the response: " + st.error().detail);
  }
  line.push_back('}');
  return line;
}

Result<std::unique_ptr<AuditLog>> AuditLog::Open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) {
    return Fail(ProblemType::kServerInternal,
                "cannot open audit log \"" + path + "\": " + std::strerror(errno));
  }
  return std::unique_ptr<AuditLog>(new AuditLog(path, fd));
}

AuditLog::AuditLog(std::string path, int fd) : path_(std::move(path)), fd_(fd) {
  writer_ = std::thread([this] { Run(); });
}

AuditLog::~AuditLog() {
  Close();
  if (fd_ >= 0) ::close(fd_);
}

void AuditLog::Append(std::string line, Done done) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!closing_) {
      line.push_back('\n');
      queue_.push_back(Entry{std::move(line), std::move(done)});
      wake_.notify_one();
      return;
    }
  }
  done(Fail(ProblemType::kServerInternal, "audit log is closed"));
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
    for (const Entry& entry : batch) {
      ssize_t n;
      do {
        n = ::write(fd_, entry.line.data(), entry.line.size());
      } while (n < 0 && errno == EINTR);
      if (n == static_cast<ssize_t>(entry.line.size())) {
        results.emplace_back();
        any_written = true;
      } else {
        const std::string why = n < 0 ? std::strerror(errno) : "short write";
        // End a torn line so the next record starts on a line of its own.
        if (n > 0) {
          [[maybe_unused]] const ssize_t ended = ::write(fd_, "\n", 1);
        }
        results.push_back(
            Fail(ProblemType::kServerInternal, "audit log \"" + path_ + "\": write: " + why));
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
    for (std::size_t i = 0; i < batch.size(); ++i) batch[i].done(std::move(results[i]));
  }
}

}  // namespace mpic::va_primary
