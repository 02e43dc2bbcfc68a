// The audit trail (BR §5.4.1, docs/architecture.md): exactly ONE JSON line per decision, holding
// the quorum string ("3/4"), the policy and its phase, and every perspective's final state,
// verdict, problem, evidence and latency (the whole ValidateResponse in proto JSON). The line is
// written with a single write(2) on an O_APPEND descriptor and fsync'd before the answer leaves:
// no answer without its record.
//
// The records form a hash chain (docs/audit.md): the writer ends every record with
// "prev_sha256", the SHA-256 of the previous record's line exactly as stored (its bytes without
// the '\n'), or kAuditGenesis for the very first record. A record changed, removed or moved
// breaks the chain at the next record, which VerifyAuditChain (`mpic audit verify`) finds. With
// max_bytes set, the file is renamed to "<path>.N" (N = 1, 2, ... ascending, oldest first)
// before a record would make it larger, never inside a record, and the first record of the new
// file chains from the last record of the renamed one.
//
//   auto log = mpic::va_primary::AuditLog::Open("/var/log/mpic/audit.jsonl",
//                                               {.max_bytes = 64 << 20, .non_production = {}});
//   auto line = mpic::va_primary::FormatAuditRecord(info, response);
//   (*log)->Append(*line, [](mpic::Status written) { if (written) Reply(); else Fail(); });
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

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
  // "s-mime" when the CAA check was for an S/MIME certificate (issuemail, RFC 9495); "" for a
  // TLS server certificate (the key is then left out, so such records keep their shape).
  std::string certificate_type;
  std::string reason;  // the tally's reason for the decision
  // W3C trace id (32 hex digits): the caller's traceparent's, or a new one; "" leaves it out.
  std::string trace_id;
  // Requests through the Open MPIC REST API (docs/openmpic.md); absent from gRPC records.
  struct Api {
    std::string name;              // "openmpic"
    std::string trace_identifier;  // the caller's trace_identifier (or one made up)
    std::string client;            // "cert:<CN>" or "api-key:<name>" ("" in plaintext lab mode)
    int perspective_count = 0;     // remotes asked in this attempt
    int quorum_count = 0;          // corroborations required (0 with monitoring)
    bool monitoring = false;       // Open MPIC monitoring mode: the quorum did not decide
  };
  std::optional<Api> api;
};

// One line (no newline inside, none at the end) of JSON:
//   {"time","request_id",["trace_id",]"identifier","method","checks","attempt","wildcard",
//    ["certificate_type":"s-mime",]  (CAA for S/MIME only)
//    "decision","quorum","policy","phase","enforced","reason",
//    ["api":{"name","trace_identifier","client","perspective_count","quorum_count",
//            "monitoring"},]  (Open MPIC requests only)
//    "response":{...ValidateResponse...}}
// kServerInternal when the response cannot be rendered.
[[nodiscard]] Result<std::string> FormatAuditRecord(const AuditInfo& info,
                                                    const v1::ValidateResponse& response);

// "2026-03-15T12:34:56.789Z"
[[nodiscard]] std::string Rfc3339Utc(std::chrono::system_clock::time_point time);

// The chain field every record ends with, and its value in the first record ever written.
inline constexpr std::string_view kAuditPrevField = "prev_sha256";
inline constexpr std::string_view kAuditGenesis =
    "0000000000000000000000000000000000000000000000000000000000000000";

// SHA-256 of a stored record line (without its '\n'), 64 lower-case hex digits.
[[nodiscard]] std::string AuditLineHash(std::string_view line);

struct AuditLogOptions {
  // Rotate before a record would take the file past this many bytes; 0: never rotate. A record
  // larger than this goes alone into a fresh file.
  uint64_t max_bytes = 0;
  // Why this primary runs a non-production configuration (lab mode, ...); when non-empty every
  // record gets "non_production":true and "non_production_reasons":[...] before its
  // prev_sha256 (part of the hashed line like any other field), so that no lab record can pass
  // for a production one.
  std::vector<std::string> non_production;
};

// An append-only JSON-lines file written by one background thread, so that no Asio or gRPC
// thread ever blocks on the disk. Lines queued together share one fsync (group commit); every
// callback runs on the writer thread after its line is durable (or failed), so callers post.
class AuditLog {
 public:
  using Done = std::function<void(Status)>;

  // Opens (creating if needed, mode 0640) for appending. The chain continues from the last
  // record of the file, or of the newest "<path>.N" when the file is empty, or starts at
  // kAuditGenesis. A last line cut short by a crash is ended with '\n' and chained over as
  // stored (the verifier reports it). Rotation applies to regular files only.
  [[nodiscard]] static Result<std::unique_ptr<AuditLog>> Open(const std::string& path,
                                                              AuditLogOptions options = {});
  ~AuditLog();  // Close()
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Queues `line`, a JSON object on one line; the writer adds ,"prev_sha256":"..." before its
  // closing brace and a newline. `done` gets OK once the line was written whole and fsync'd,
  // or kServerInternal (also after Close(), and for a line that is not a one-line object).
  void Append(std::string line, Done done);

  // Writes what is queued, then stops the writer. Idempotent.
  void Close();

  const std::string& path() const { return path_; }

 private:
  AuditLog(std::string path, int fd, AuditLogOptions options, std::string last_hash, uint64_t size,
           uint64_t next_index, bool rotatable);
  void Run();
  // Renames the file to "<path>.N" and opens a new one; false (and writing on into the
  // current file, so no record is lost) when either step fails. Writer thread only.
  bool Rotate();

  struct Entry {
    std::string line;
    Done done;
  };

  const std::string path_;
  const AuditLogOptions options_;
  // Writer thread only, after the constructor.
  int fd_ = -1;
  std::string last_hash_;  // of the last line written, or kAuditGenesis
  uint64_t size_ = 0;      // of the current file
  uint64_t next_index_ = 1;
  bool rotatable_ = false;  // a regular file
  std::string non_production_fields_;  // ,"non_production":true,... or ""
  bool unsynced_ = false;   // written since the last fsync
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Entry> queue_;
  bool closing_ = false;
  std::thread writer_;
};

// What VerifyAuditChain found.
struct AuditChainReport {
  bool intact = false;
  uint64_t records = 0;    // records read (up to and including a broken one)
  std::string first_prev;  // the first record's prev_sha256: kAuditGenesis or an anchor
  std::string head;        // hash of the last record read: the anchor for the next check
  std::string problem;     // when !intact: "FILE:LINE: what", naming the first broken record
};

struct AuditVerifyOptions {
  // The first record must chain from this hash (kAuditGenesis for a log from its start, or
  // the head printed by the last verification); empty: accept what it says.
  std::string expect_prev;
  // The last record must hash to this (a head shipped or published earlier); empty: no check.
  std::string expect_head;
};

// Reads the files in order (oldest first: "audit.jsonl.1", "audit.jsonl.2", ..., "audit.jsonl")
// as one chain. Broken: a line that is not a JSON object with a 64-hex prev_sha256, a
// prev_sha256 that is not the hash of the line before it, a last line without '\n', or a
// mismatch with an expected anchor. A file that cannot be read is kMalformed (no report).
[[nodiscard]] Result<AuditChainReport> VerifyAuditChain(const std::vector<std::string>& files,
                                                        const AuditVerifyOptions& options = {});

}  // namespace mpic::va_primary
