// rftgate/adapter.hpp: header-only C++ helper for adapter authors.
//
// Write an ordinary C++ class and let RFTGATE_DEFINE_ADAPTER turn it into
// the C table of rftgate/adapter_abi.h, with a catch-all barrier around
// every entry point:
//
//   class MyAdapter {
//    public:
//     // Throws rftgate::adapter::Error (or any std::exception) on failure.
//     explicit MyAdapter(const rftgate::adapter::OpenParams& params);
//     void Load(const rft_selection& selection, rftgate::adapter::Sink& sink,
//               rftgate::adapter::Call& call);
//     void WriteBack(const rftgate::adapter::WriteBackBatch& batch,
//                    rftgate::adapter::Call& call);
//     void Describe(const rftgate::adapter::DescribeFn& emit,
//                   rftgate::adapter::Call& call);
//
//     // Optional: a wave in pages (adapter ABI 1.2). All five, or none.
//     void List(const rft_selection& selection, rftgate::adapter::Sink& sink,
//               rftgate::adapter::Call& call);
//     void WriteBegin(const rft_writeback_run& run,
//                     rftgate::adapter::Call& call);
//     void WritePart(const rftgate::adapter::WriteBackBatch& part,
//                    rftgate::adapter::Call& call);  // part.run is NULL
//     void WriteCommit(const rft_writeback_run& run,
//                      rftgate::adapter::Call& call);
//     void WriteAbort(rftgate::adapter::Call& call);
//   };
//   RFTGATE_DEFINE_ADAPTER(MyAdapter, "mywms", "1.0.0",
//                          RFT_CAP_ITEMS | RFT_CAP_STOCK | ...)
//
// Exceptions thrown by the class become a status and a message; nothing
// escapes into the plugin. rftgate::adapter::Error carries a status code
// (RFT_ERR_DATABASE, RFT_ERR_CONFIG, RFT_ERR_TIMEOUT...); other
// std::exception become RFT_ERR_ADAPTER; anything else RFT_ERR_INTERNAL.
//
// The table gets the five functions of a wave in pages only when the class
// defines all five methods (compiled as C++20 or later); otherwise they are
// NULL and the plugin loads and writes every wave whole. A write_part or
// write_commit that the helper refuses before calling the class (missing
// arguments, cancelled, out of time) rolls the wave back through
// WriteAbort, so that the later parts and the commit fail as the ABI says.
#ifndef RFTGATE_ADAPTER_HPP_
#define RFTGATE_ADAPTER_HPP_

#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "rftgate/adapter_abi.h"

namespace rftgate::adapter {

// An error with a status code for the plugin.
class Error : public std::runtime_error {
 public:
  Error(rft_status status, const std::string& message)
      : std::runtime_error(message), status_(status) {}
  rft_status status() const noexcept { return status_; }

 private:
  rft_status status_;
};

// Thrown when the plugin's sink refused a record; the message is already in
// the call's buffer and must not be overwritten.
class SinkRefused : public std::exception {
 public:
  explicit SinkRefused(rft_status status) : status_(status) {}
  rft_status status() const noexcept { return status_; }
  const char* what() const noexcept override { return "sink refused"; }

 private:
  rft_status status_;
};

inline std::string_view View(rft_str s) {
  return s.data == nullptr ? std::string_view()
                           : std::string_view(s.data, s.len);
}
inline bool IsNull(rft_str s) { return s.data == nullptr; }

// A string view as an rft_str; an absent view (nullptr data) stays absent.
inline rft_str Str(std::string_view s) { return rft_str{s.data(), s.size()}; }
inline rft_str NullStr() { return rft_str{nullptr, 0}; }

inline rft_decimal NullDecimal() { return rft_decimal{0, 0, 1}; }
inline rft_time NoTime() { return rft_time{0, RFT_TIME_NONE, 0}; }

// Writes `message` into a C buffer, truncating, always NUL-terminated.
inline void CopyMessage(std::string_view message, char* buffer, size_t cap) {
  if (buffer == nullptr || cap == 0) return;
  size_t n = message.size() < cap - 1 ? message.size() : cap - 1;
  std::memcpy(buffer, message.data(), n);
  buffer[n] = '\0';
}

// The per-call context: deadline and cancellation.
class Call {
 public:
  explicit Call(rft_call* call) : call_(call) {}

  // Milliseconds left before the deadline; -1 when there is none; 0 when
  // it has passed.
  int64_t RemainingMs() const {
    if (call_ == nullptr || call_->deadline_unix_ms == 0) return -1;
    auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    int64_t left = call_->deadline_unix_ms - now;
    return left > 0 ? left : 0;
  }
  bool Cancelled() const {
    // The flag is set by another thread: an atomic load.
    return call_ != nullptr && call_->cancelled != nullptr &&
           __atomic_load_n(call_->cancelled, __ATOMIC_RELAXED) != 0;
  }
  // Throws Error(RFT_ERR_CANCELLED / RFT_ERR_TIMEOUT) when the call should
  // stop. Call it between batches of rows.
  void ThrowIfStopped() const {
    if (Cancelled()) throw Error(RFT_ERR_CANCELLED, "cancelled by the caller");
    if (RemainingMs() == 0) throw Error(RFT_ERR_TIMEOUT, "deadline passed");
  }
  rft_call* raw() const { return call_; }

 private:
  rft_call* call_;
};

// What `open` received, as C++ views (valid during the constructor only).
struct OpenParams {
  std::string_view connection;
  std::string_view options_json;
  std::string_view config_dir;
  rft_log_fn log = nullptr;
  void* log_ctx = nullptr;
};

// Logs through the plugin's callback (no-op when there is none).
class Logger {
 public:
  Logger() = default;
  Logger(rft_log_fn fn, void* ctx) : fn_(fn), ctx_(ctx) {}
  void Log(rft_log_level level, std::string_view message) const {
    if (fn_ != nullptr) fn_(ctx_, level, message.data(), message.size());
  }
  void Debug(std::string_view m) const { Log(RFT_LOG_DEBUG, m); }
  void Info(std::string_view m) const { Log(RFT_LOG_INFO, m); }
  void Warn(std::string_view m) const { Log(RFT_LOG_WARN, m); }
  void Error(std::string_view m) const { Log(RFT_LOG_ERROR, m); }

 private:
  rft_log_fn fn_ = nullptr;
  void* ctx_ = nullptr;
};

// Puts records into the plugin's sink.
class Sink {
 public:
  explicit Sink(const rft_wave_sink* sink) : sink_(sink) {}

  // Puts `count` records of one kind; each record must have struct_size
  // set. Throws SinkRefused when the plugin refuses.
  template <typename Record>
  void Put(rft_record_kind kind, const Record* records, size_t count) {
    if (count == 0) return;
    rft_status s = sink_->put(sink_->ctx, kind, records, count);
    if (s != RFT_OK) throw SinkRefused(s);
  }
  void SetCapabilities(uint64_t caps) {
    sink_->set_capabilities(sink_->ctx, caps);
  }
  // The optional inputs (rft_capability bits) the plugin's enabled checks
  // read; every capability when the plugin did not say (a plugin built for
  // ABI 1.0). Leave out the queries of inputs not needed and announce only
  // what was loaded: SetCapabilities(provided & Needs()).
  uint64_t Needs() const { return RFT_SINK_NEEDS(sink_); }
  bool Needs(uint64_t capability) const { return (Needs() & capability) != 0; }

 private:
  const rft_wave_sink* sink_;
};

// One run's write-back, as received by the adapter, or one part of a wave
// in pages (WritePart: `run` is NULL, the run is that of WriteBegin).
// Arrays are walked by their elements' struct_size; use At() to reach
// element i.
struct WriteBackBatch {
  const rft_writeback_run* run;
  const rft_check_run_row* rows;
  size_t row_count;
  const rft_finding_row* findings;
  size_t finding_count;

  const rft_check_run_row& Row(size_t i) const { return At(rows, i); }
  const rft_finding_row& Finding(size_t i) const { return At(findings, i); }

  template <typename Record>
  static const Record& At(const Record* first, size_t i) {
    const char* base = reinterpret_cast<const char*>(first);
    return *reinterpret_cast<const Record*>(base + i * first->struct_size);
  }
};

using DescribeFn =
    std::function<void(std::string_view key, std::string_view value)>;

namespace detail {

// Runs `body` behind a catch-all barrier; returns its status.
template <typename Body>
rft_status Barrier(rft_call* call, Body&& body) noexcept {
  char* buffer = call != nullptr ? call->error : nullptr;
  size_t cap = call != nullptr ? call->error_cap : 0;
  try {
    body();
    return RFT_OK;
  } catch (const SinkRefused& e) {
    return e.status();
  } catch (const Error& e) {
    CopyMessage(e.what(), buffer, cap);
    return e.status();
  } catch (const std::bad_alloc&) {
    CopyMessage("out of memory in the adapter", buffer, cap);
    return RFT_ERR_INTERNAL;
  } catch (const std::exception& e) {
    CopyMessage(e.what(), buffer, cap);
    return RFT_ERR_ADAPTER;
  } catch (...) {
    CopyMessage("unknown error in the adapter", buffer, cap);
    return RFT_ERR_INTERNAL;
  }
}

// Refuses a selection the adapter cannot read (`what`: the function).
inline void CheckSelection(const char* what, const rft_selection* selection,
                           const rft_wave_sink* sink) {
  if (selection == nullptr || sink == nullptr) {
    throw Error(RFT_ERR_INVALID_ARGUMENT,
                std::string(what) + ": missing parameters");
  }
  if (selection->struct_size < sizeof(uint32_t) + sizeof(int32_t) ||
      selection->mode < RFT_SELECT_READY ||
      selection->mode > RFT_SELECT_RANGE) {
    throw Error(RFT_ERR_INVALID_ARGUMENT, std::string(what) +
                                              ": unknown selection mode " +
                                              std::to_string(selection->mode));
  }
  if (selection->ref_count > 0 && selection->refs == nullptr) {
    throw Error(RFT_ERR_INVALID_ARGUMENT, std::string(what) + ": refs missing");
  }
}

template <typename Impl>
struct Thunks {
  static rft_status Open(const rft_adapter_open_params* params,
                         rft_adapter** out, rft_call* call) noexcept {
    if (out != nullptr) *out = nullptr;
    return Barrier(call, [&] {
      if (params == nullptr || out == nullptr ||
          params->struct_size < sizeof(uint32_t)) {
        throw Error(RFT_ERR_INVALID_ARGUMENT, "open: missing parameters");
      }
      OpenParams p;
      p.connection = View(params->connection);
      p.options_json = View(params->options_json);
      p.config_dir = View(params->config_dir);
      p.log = params->log;
      p.log_ctx = params->log_ctx;
      auto impl = std::make_unique<Impl>(p);
      *out = reinterpret_cast<rft_adapter*>(impl.release());
    });
  }
  static void Close(rft_adapter* adapter) noexcept {
    try {
      delete reinterpret_cast<Impl*>(adapter);
    } catch (...) {
    }
  }
  static rft_status Load(rft_adapter* adapter, const rft_selection* selection,
                         const rft_wave_sink* sink, rft_call* call) noexcept {
    return Barrier(call, [&] {
      if (adapter == nullptr) {
        throw Error(RFT_ERR_INVALID_ARGUMENT, "load: missing parameters");
      }
      CheckSelection("load", selection, sink);
      Sink s(sink);
      Call c(call);
      c.ThrowIfStopped();  // cancelled or out of time before it starts
      reinterpret_cast<Impl*>(adapter)->Load(*selection, s, c);
    });
  }
  static rft_status WriteBack(rft_adapter* adapter,
                              const rft_writeback_run* run,
                              const rft_check_run_row* rows, size_t row_count,
                              const rft_finding_row* findings,
                              size_t finding_count, rft_call* call) noexcept {
    return Barrier(call, [&] {
      if (adapter == nullptr || run == nullptr ||
          (row_count > 0 && rows == nullptr) ||
          (finding_count > 0 && findings == nullptr)) {
        throw Error(RFT_ERR_INVALID_ARGUMENT, "write_back: missing parameters");
      }
      WriteBackBatch batch{run, rows, row_count, findings, finding_count};
      Call c(call);
      c.ThrowIfStopped();
      reinterpret_cast<Impl*>(adapter)->WriteBack(batch, c);
    });
  }
  static rft_status Describe(rft_adapter* adapter, rft_describe_fn emit,
                             void* emit_ctx, rft_call* call) noexcept {
    return Barrier(call, [&] {
      if (adapter == nullptr || emit == nullptr) {
        throw Error(RFT_ERR_INVALID_ARGUMENT, "describe: missing parameters");
      }
      DescribeFn fn = [&](std::string_view k, std::string_view v) {
        emit(emit_ctx, Str(k), Str(v));
      };
      Call c(call);
      reinterpret_cast<Impl*>(adapter)->Describe(fn, c);
    });
  }
};

#if defined(__cpp_concepts) && __cpp_concepts >= 201907L
// Whether `Impl` provides a wave in pages: all five methods.
template <typename Impl>
constexpr bool kPages = requires(Impl& impl, const rft_selection& selection,
                                 Sink& sink, const rft_writeback_run& run,
                                 const WriteBackBatch& part, Call& call) {
  impl.List(selection, sink, call);
  impl.WriteBegin(run, call);
  impl.WritePart(part, call);
  impl.WriteCommit(run, call);
  impl.WriteAbort(call);
};
#else
template <typename Impl>
constexpr bool kPages = false;
#endif

// The thunks of a wave in pages. They compile for any class; the table
// holds them only for a class that defines the five methods.
template <typename Impl>
struct PageThunks {
  // Runs `body` on the handle; when it throws before the class was called,
  // the open wave is rolled back (WriteAbort) so that nothing of it can be
  // committed.
  template <typename Body>
  static rft_status InWave(rft_adapter* adapter, rft_call* call,
                           Body&& body) noexcept {
    bool reached = false;
    rft_status s = Barrier(call, [&] { body(reached); });
    if (s != RFT_OK && !reached && adapter != nullptr) {
      try {
        Call c(call);
        if constexpr (kPages<Impl>) {
          reinterpret_cast<Impl*>(adapter)->WriteAbort(c);
        }
      } catch (...) {
      }
    }
    return s;
  }
  static rft_status List(rft_adapter* adapter, const rft_selection* selection,
                         const rft_wave_sink* sink, rft_call* call) noexcept {
    return Barrier(call, [&] {
      if (adapter == nullptr) {
        throw Error(RFT_ERR_INVALID_ARGUMENT, "list: missing parameters");
      }
      CheckSelection("list", selection, sink);
      Sink s(sink);
      Call c(call);
      c.ThrowIfStopped();
      if constexpr (kPages<Impl>) {
        reinterpret_cast<Impl*>(adapter)->List(*selection, s, c);
      }
    });
  }
  static rft_status WriteBegin(rft_adapter* adapter,
                               const rft_writeback_run* run,
                               rft_call* call) noexcept {
    return Barrier(call, [&] {
      if (adapter == nullptr || run == nullptr) {
        throw Error(RFT_ERR_INVALID_ARGUMENT,
                    "write_begin: missing parameters");
      }
      Call c(call);
      c.ThrowIfStopped();
      if constexpr (kPages<Impl>) {
        reinterpret_cast<Impl*>(adapter)->WriteBegin(*run, c);
      }
    });
  }
  static rft_status WritePart(rft_adapter* adapter,
                              const rft_check_run_row* rows, size_t row_count,
                              const rft_finding_row* findings,
                              size_t finding_count, rft_call* call) noexcept {
    return InWave(adapter, call, [&](bool& reached) {
      if (adapter == nullptr || (row_count > 0 && rows == nullptr) ||
          (finding_count > 0 && findings == nullptr)) {
        throw Error(RFT_ERR_INVALID_ARGUMENT, "write_part: missing parameters");
      }
      WriteBackBatch part{nullptr, rows, row_count, findings, finding_count};
      Call c(call);
      c.ThrowIfStopped();
      reached = true;
      if constexpr (kPages<Impl>) {
        reinterpret_cast<Impl*>(adapter)->WritePart(part, c);
      }
    });
  }
  static rft_status WriteCommit(rft_adapter* adapter,
                                const rft_writeback_run* run,
                                rft_call* call) noexcept {
    return InWave(adapter, call, [&](bool& reached) {
      if (adapter == nullptr || run == nullptr) {
        throw Error(RFT_ERR_INVALID_ARGUMENT,
                    "write_commit: missing parameters");
      }
      Call c(call);
      c.ThrowIfStopped();
      reached = true;
      if constexpr (kPages<Impl>) {
        reinterpret_cast<Impl*>(adapter)->WriteCommit(*run, c);
      }
    });
  }
  static rft_status WriteAbort(rft_adapter* adapter, rft_call* call) noexcept {
    return Barrier(call, [&] {
      if (adapter == nullptr) {
        throw Error(RFT_ERR_INVALID_ARGUMENT,
                    "write_abort: missing parameters");
      }
      Call c(call);
      if constexpr (kPages<Impl>) {
        reinterpret_cast<Impl*>(adapter)->WriteAbort(c);
      }
    });
  }
};

// The table's entry for a function of a wave in pages: the thunk when
// `Impl` provides the wave, NULL otherwise.
template <typename Impl, typename Fn>
constexpr Fn PageEntry(Fn thunk) {
  return kPages<Impl> ? thunk : nullptr;
}

inline rft_status Handshake(const rft_adapter_api* api, uint32_t major,
                            uint32_t minor, const rft_adapter_api** out,
                            char* error, size_t cap) noexcept {
  if (out != nullptr) *out = nullptr;
  if (major != RFT_ADAPTER_ABI_MAJOR) {
    char msg[256];
    std::snprintf(msg, sizeof msg,
                  "adapter '%s' implements adapter ABI %u.%u; the plugin "
                  "needs ABI %u.%u (major versions differ)",
                  api->name, static_cast<unsigned>(RFT_ADAPTER_ABI_MAJOR),
                  static_cast<unsigned>(RFT_ADAPTER_ABI_MINOR),
                  static_cast<unsigned>(major), static_cast<unsigned>(minor));
    CopyMessage(msg, error, cap);
    return RFT_ERR_ABI;
  }
  if (out == nullptr) {
    CopyMessage("rft_adapter_entry: out is NULL", error, cap);
    return RFT_ERR_INVALID_ARGUMENT;
  }
  *out = api;
  return RFT_OK;
}

}  // namespace detail
}  // namespace rftgate::adapter

// Defines the adapter's entry symbol and its table for class `Impl`.
// Use once, in one source file of the adapter library, at global scope.
#define RFTGATE_DEFINE_ADAPTER(Impl, name_literal, version_literal, caps) \
  namespace {                                                             \
  const rft_adapter_api kRftAdapterApi = {                                \
      sizeof(rft_adapter_api),                                            \
      RFT_ADAPTER_ABI_MAJOR,                                              \
      RFT_ADAPTER_ABI_MINOR,                                              \
      0,                                                                  \
      name_literal,                                                       \
      version_literal,                                                    \
      static_cast<uint64_t>(caps),                                        \
      &::rftgate::adapter::detail::Thunks<Impl>::Open,                    \
      &::rftgate::adapter::detail::Thunks<Impl>::Close,                   \
      &::rftgate::adapter::detail::Thunks<Impl>::Load,                    \
      &::rftgate::adapter::detail::Thunks<Impl>::WriteBack,               \
      &::rftgate::adapter::detail::Thunks<Impl>::Describe,                \
      ::rftgate::adapter::detail::PageEntry<Impl>(                        \
          &::rftgate::adapter::detail::PageThunks<Impl>::List),           \
      ::rftgate::adapter::detail::PageEntry<Impl>(                        \
          &::rftgate::adapter::detail::PageThunks<Impl>::WriteBegin),     \
      ::rftgate::adapter::detail::PageEntry<Impl>(                        \
          &::rftgate::adapter::detail::PageThunks<Impl>::WritePart),      \
      ::rftgate::adapter::detail::PageEntry<Impl>(                        \
          &::rftgate::adapter::detail::PageThunks<Impl>::WriteCommit),    \
      ::rftgate::adapter::detail::PageEntry<Impl>(                        \
          &::rftgate::adapter::detail::PageThunks<Impl>::WriteAbort),     \
  };                                                                      \
  }                                                                       \
  extern "C" RFT_EXPORT rft_status rft_adapter_entry(                     \
      uint32_t plugin_abi_major, uint32_t plugin_abi_minor,               \
      const rft_adapter_api** out, char* error, size_t error_cap) {       \
    return ::rftgate::adapter::detail::Handshake(                         \
        &kRftAdapterApi, plugin_abi_major, plugin_abi_minor, out, error,  \
        error_cap);                                                       \
  }

#endif  // RFTGATE_ADAPTER_HPP_
