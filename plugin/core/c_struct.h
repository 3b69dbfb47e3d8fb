// Helpers for filling and reading the size-prefixed structs of the C ABIs.
#ifndef RFTGATE_PLUGIN_CORE_C_STRUCT_H_
#define RFTGATE_PLUGIN_CORE_C_STRUCT_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "rftgate/common.h"

namespace rftgate {

// Copies `full` (a complete struct of ours) into the caller's `out`, of which
// only `out->struct_size` bytes exist; keeps the caller's struct_size.
// Returns false when the caller's struct is too small to hold struct_size.
template <typename T>
bool FillOut(const T& full, T* out) {
  if (out == nullptr || out->struct_size < sizeof(uint32_t)) return false;
  uint32_t caller_size = out->struct_size;
  size_t n = caller_size < sizeof(T) ? caller_size : sizeof(T);
  std::memcpy(static_cast<void*>(out), &full, n);
  out->struct_size = caller_size;
  return true;
}

// True when the caller's struct `in` is large enough to contain `member`.
#define RFT_HAS_FIELD(in, Type, member) \
  ((in)->struct_size >=                 \
   offsetof(Type, member) + sizeof(((Type*)nullptr)->member))

inline rft_str ToStr(std::string_view s) { return rft_str{s.data(), s.size()}; }
// An rft_str that is absent when `s` is empty.
inline rft_str ToStrOrNull(std::string_view s) {
  return s.empty() ? rft_str{nullptr, 0} : rft_str{s.data(), s.size()};
}
inline std::string_view FromStr(rft_str s) {
  return s.data == nullptr ? std::string_view()
                           : std::string_view(s.data, s.len);
}

// Writes `message` into a C buffer, truncated, always NUL-terminated.
inline void CopyMessage(std::string_view message, char* buffer, size_t cap) {
  if (buffer == nullptr || cap == 0) return;
  size_t n = message.size() < cap - 1 ? message.size() : cap - 1;
  std::memcpy(buffer, message.data(), n);
  buffer[n] = '\0';
}

}  // namespace rftgate

#endif  // RFTGATE_PLUGIN_CORE_C_STRUCT_H_
