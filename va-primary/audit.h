// The audit trail (BR §5.4.1, ARCHITECTURE.md step 5): exactly ONE JSON line per decision, holding
// the quorum string ("3/4"), the policy and its phase, and every perspective's final state,
// verdict, problem, evidence and latency (the whole ValidateResponse in proto JSON). The line is
// written with a single write(2) on an O_APPEND descriptor and fsync'd before the answer leaves:
// no answer without its record.
//
//   auto log = mpic::va_primary::AuditLog::Open("/var/log/mpic/audit.jsonl");
//   auto line = mpic::va_primary::FormatAuditRecord(info, response);
//   (*log)->Append(*line, [](mpic::Status written) { if (written) Reply(); else Fail(); });
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/error.h"
#include "mpic/v1/primary.pb.h"

namespace mpic::va_primary {

// What the record says besides the response itself.
struct AuditInfo {
  std::chrono::system_clock::time_point time;  // when the decision was made
  std::string identifier;                      // as validated (normalized)
  std::string method;                          // "dns-01", ... ("" for CAA only)
  std::vector<std::string> checks;             // "dcv", "caa"
  uint32_t attempt = 0;
  bool wildcard = false;
  std::string reason;  // the tally's reason for the decision
};

// One line (no newline inside, none at the end) of JSON:
//   {"time","request_id","identifier","method","checks","attempt","wildcard","decision",
//    "quorum","policy","phase","enforced","reason","response":{...ValidateResponse...}}
// kServerInternal when the response cannot be rendered.
[[nodiscard]] Result<std::string> FormatAuditRecord(const AuditInfo& info,
                                                    const v1::ValidateResponse& response);

// "2026-03-15T12:34:56.789Z"
[[nodiscard]] std::string Rfc3339Utc(std::chrono::system_clock::time_point time);

// An append-only JSON-lines file written by one background thread, so that no Asio or gRPC
// thread ever blocks on the disk. Lines queued together share one fsync (group commit); every
// callback runs on the writer thread after its line is durable (or failed), so callers post.
class AuditLog {
 public:
  using Done = std::function<void(Status)>;

  // Opens (creating if needed, mode 0640) for appending.
  [[nodiscard]] static Result<std::unique_ptr<AuditLog>> Open(const std::string& path);
  ~AuditLog();  // Close()
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Queues `line` (a newline is added). `done` gets OK once the line was written whole and
  // fsync'd, or kServerInternal (also after Close()).
  void Append(std::string line, Done done);

  // Writes what is queued, then stops the writer. Idempotent.
  void Close();

  const std::string& path() const { return path_; }

 private:
  AuditLog(std::string path, int fd);
  void Run();

  struct Entry {
    std::string line;
    Done done;
  };

  const std::string path_;
  int fd_ = -1;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Entry> queue_;
  bool closing_ = false;
  std::thread writer_;
};

}  // namespace mpic::va_primary
