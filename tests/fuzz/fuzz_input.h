// A tiny reader that carves a fuzzer's input into the pieces a target needs (flags, several
// length-prefixed blobs, the rest). Running out of input yields empty pieces, never a crash.
//
//   FuzzInput in(data, size);
//   uint8_t flags = in.Byte();
//   std::string_view first = in.Blob();  // 2-byte big-endian length, then that many bytes
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace mpic::fuzz {

class FuzzInput {
 public:
  FuzzInput(const uint8_t* data, size_t size)
      : data_(reinterpret_cast<const char*>(data)), size_(size) {}

  bool empty() const { return pos_ >= size_; }

  uint8_t Byte() { return empty() ? 0 : static_cast<uint8_t>(data_[pos_++]); }

  std::string_view Take(size_t n) {
    if (n > size_ - pos_) n = size_ - pos_;
    std::string_view out(data_ + pos_, n);
    pos_ += n;
    return out;
  }

  std::string_view Blob() {
    size_t n = static_cast<size_t>(Byte()) << 8;
    n |= Byte();
    return Take(n);
  }

  std::string_view Rest() { return Take(size_ - pos_); }

 private:
  const char* data_;
  size_t size_;
  size_t pos_ = 0;
};

// A broken invariant: crash loudly so libFuzzer records the input.
inline void Require(bool ok) {
  if (!ok) std::abort();
}

}  // namespace mpic::fuzz
