// rftgate/host.hpp: header-only C++ helper for hosts written in C++.
//
// Loads librftgate.so through Boost.DLL (absolute path, rtld_now |
// rtld_local), runs the ABI handshake and wraps the C handles of
// rftgate/host_abi.h in RAII types. Each Gate and Result keeps the library
// loaded for as long as it lives. Requires Boost.DLL (Boost >= 1.74,
// link Boost::filesystem and libdl).
//
//   auto plugin = rftgate::host::Plugin::Load(rftgate::host::FindPlugin("",
//   argv0)); auto gate = plugin->OpenFile("/etc/rftgate/rftgate.yaml"); auto
//   result = gate.CheckReady(); for (uint64_t i = 0; i <
//   result.Summary().orders; ++i) ... result.Order(i)
//
// A large wave is better read page by page (ABI 1.1), so that neither the
// plugin nor the host holds all of its verdicts at once:
//
//   auto totals = gate.Run(request, false, [&](const Result& page) {
//     for (uint64_t i = 0; i < page.Summary().orders; ++i) ... page.Order(i)
//   });  // totals.Summary(): counts, notes, written; no orders
//
// Errors are thrown as rftgate::host::Error (status + message); this header
// is for hosts, which own their exception policy.
#ifndef RFTGATE_HOST_HPP_
#define RFTGATE_HOST_HPP_

#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>
#include <cstddef>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rftgate/host_abi.h"

namespace rftgate::host {

class Error : public std::runtime_error {
 public:
  Error(rft_status status, const std::string& message)
      : std::runtime_error(message), status_(status) {}
  rft_status status() const noexcept { return status_; }

 private:
  rft_status status_;
};

inline std::string_view View(rft_str s) {
  return s.data == nullptr ? std::string_view()
                           : std::string_view(s.data, s.len);
}
inline rft_str Str(std::string_view s) { return rft_str{s.data(), s.size()}; }

// Where the plugin is: `explicit_path` when given; else $RFTGATE_PLUGIN;
// else librftgate.so beside the running program, in ../lib, or in
// ../lib/<multiarch>. Returns the first that exists (or the last candidate
// tried, for the error message).
inline std::filesystem::path FindPlugin(const std::string& explicit_path) {
  namespace fs = std::filesystem;
  if (!explicit_path.empty()) return fs::absolute(explicit_path);
  if (const char* env = std::getenv("RFTGATE_PLUGIN"); env != nullptr && *env) {
    return fs::absolute(env);
  }
  fs::path exe_dir(boost::dll::program_location().parent_path().string());
  std::vector<fs::path> candidates = {
      exe_dir / "librftgate.so", exe_dir / ".." / "lib" / "librftgate.so",
      exe_dir / ".." / "lib" / "x86_64-linux-gnu" / "librftgate.so",
      exe_dir / ".." / "lib" / "aarch64-linux-gnu" / "librftgate.so"};
  std::error_code ec;
  for (const fs::path& c : candidates) {
    if (fs::exists(c, ec)) return fs::canonical(c, ec);
  }
  return candidates.front();
}

class Plugin;
class Result;

// Owns an rft_result, or borrows a page handed to a page callback.
class Result {
 public:
  struct Borrowed {};
  Result(std::shared_ptr<const Plugin> plugin, rft_result* result)
      : plugin_(std::move(plugin)), result_(result) {}
  // A view of a page lent to an on_page callback: valid during the call.
  Result(std::shared_ptr<const Plugin> plugin, const rft_result* page, Borrowed)
      : plugin_(std::move(plugin)),
        result_(const_cast<rft_result*>(page)),
        owned_(false) {}
  Result(Result&& o) noexcept
      : plugin_(std::move(o.plugin_)),
        result_(std::exchange(o.result_, nullptr)),
        owned_(o.owned_) {}
  Result& operator=(Result&&) = delete;
  Result(const Result&) = delete;
  ~Result();

  rft_result_summary Summary() const;
  rft_order_verdict Order(uint64_t index) const;
  rft_finding_view Finding(uint64_t order_index, uint64_t finding_index) const;
  rft_note Note(uint64_t index) const;
  rft_result* get() const { return result_; }

 private:
  std::shared_ptr<const Plugin> plugin_;
  rft_result* result_;
  bool owned_ = true;
};

// Owns an rft_gate.
class Gate {
 public:
  Gate(std::shared_ptr<const Plugin> plugin, rft_gate* gate)
      : plugin_(std::move(plugin)), gate_(gate) {}
  Gate(Gate&& o) noexcept
      : plugin_(std::move(o.plugin_)), gate_(std::exchange(o.gate_, nullptr)) {}
  Gate& operator=(Gate&&) = delete;
  Gate(const Gate&) = delete;
  ~Gate();

  // Runs check (or dry_run) on `request`.
  Result Run(const rft_check_request& request, bool dry_run) const;
  // The same with the verdicts handed to `on_page` page by page, in the
  // serving sequence (see rft_page_fn); the result has the totals and no
  // orders (Summary().streamed). `page` is valid during the call only.
  // An exception thrown by `on_page` is kept (later pages are not shown to
  // it) and rethrown once the check has ended: the check goes on, and may
  // still write its records. A plugin older than ABI 1.1 hands no pages:
  // its whole result is then shown to `on_page` as one page, and returned.
  Result Run(rft_check_request request, bool dry_run,
             const std::function<void(const Result& page)>& on_page) const;
  rft_gate* get() const { return gate_; }

 private:
  std::shared_ptr<const Plugin> plugin_;
  rft_gate* gate_;
};

// The loaded plugin library and its table of functions.
class Plugin : public std::enable_shared_from_this<Plugin> {
 public:
  // Loads the library at `path` and runs the handshake. Throws Error with
  // RFT_ERR_ABI / RFT_ERR_ADAPTER and a message naming the file.
  static std::shared_ptr<Plugin> Load(const std::filesystem::path& path) {
    std::shared_ptr<Plugin> p(new Plugin());
    boost::dll::fs::error_code ec;
    p->library_.load(
        boost::dll::fs::path(path.string()),
        boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local,
        ec);
    if (ec) {
      throw Error(RFT_ERR_ADAPTER, "cannot load the rftgate plugin '" +
                                       path.string() + "': " + ec.message());
    }
    if (!p->library_.has(RFT_PLUGIN_ENTRY_SYMBOL)) {
      throw Error(RFT_ERR_ADAPTER, "'" + path.string() +
                                       "' is not the rftgate plugin: it does "
                                       "not export " RFT_PLUGIN_ENTRY_SYMBOL);
    }
    auto& entry = p->library_.get<std::remove_pointer_t<rft_plugin_entry_fn>>(
        RFT_PLUGIN_ENTRY_SYMBOL);
    char message[512] = {0};
    rft_status st = entry(RFT_HOST_ABI_MAJOR, RFT_HOST_ABI_MINOR, &p->api_,
                          message, sizeof message);
    if (st != RFT_OK || p->api_ == nullptr) {
      throw Error(st == RFT_OK ? RFT_ERR_ABI : st,
                  "the rftgate plugin '" + path.string() +
                      "' refused this host: " + message);
    }
    if (p->api_->abi_major != RFT_HOST_ABI_MAJOR) {
      throw Error(RFT_ERR_ABI, "the rftgate plugin '" + path.string() +
                                   "' implements host ABI " +
                                   std::to_string(p->api_->abi_major) + "." +
                                   std::to_string(p->api_->abi_minor) +
                                   "; this host was built for ABI " +
                                   std::to_string(RFT_HOST_ABI_MAJOR) + "." +
                                   std::to_string(RFT_HOST_ABI_MINOR));
    }
    p->path_ = path;
    return p;
  }

  const rft_plugin_api& api() const { return *api_; }
  const std::filesystem::path& path() const { return path_; }

  // Opens a gate from a config file.
  Gate OpenFile(const std::string& config_path, rft_log_fn log = nullptr,
                void* log_ctx = nullptr) const {
    rft_open_params params{};
    params.struct_size = sizeof params;
    params.config_path = Str(config_path);
    params.log = log;
    params.log_ctx = log_ctx;
    return Open(params);
  }

  Gate Open(const rft_open_params& params) const {
    char message[2048] = {0};
    rft_gate* gate = nullptr;
    rft_status st = api_->open(&params, &gate, message, sizeof message);
    if (st != RFT_OK) throw Error(st, message);
    return Gate(shared_from_this(), gate);
  }

 private:
  Plugin() = default;
  boost::dll::shared_library library_;
  const rft_plugin_api* api_ = nullptr;
  std::filesystem::path path_;
};

inline Result::~Result() {
  if (result_ != nullptr && owned_) plugin_->api().result_free(result_);
}

inline rft_result_summary Result::Summary() const {
  rft_result_summary s{};
  s.struct_size = sizeof s;
  rft_status st = plugin_->api().result_summary(result_, &s);
  if (st != RFT_OK) throw Error(st, "result_summary failed");
  return s;
}

inline rft_order_verdict Result::Order(uint64_t index) const {
  rft_order_verdict v{};
  v.struct_size = sizeof v;
  rft_status st = plugin_->api().result_order(result_, index, &v);
  if (st != RFT_OK) throw Error(st, "result_order failed");
  return v;
}

inline rft_finding_view Result::Finding(uint64_t order_index,
                                        uint64_t finding_index) const {
  rft_finding_view f{};
  f.struct_size = sizeof f;
  rft_status st =
      plugin_->api().result_finding(result_, order_index, finding_index, &f);
  if (st != RFT_OK) throw Error(st, "result_finding failed");
  return f;
}

inline rft_note Result::Note(uint64_t index) const {
  rft_note n{};
  n.struct_size = sizeof n;
  rft_status st = plugin_->api().result_note(result_, index, &n);
  if (st != RFT_OK) throw Error(st, "result_note failed");
  return n;
}

inline Gate::~Gate() {
  if (gate_ != nullptr) plugin_->api().close(gate_);
}

inline Result Gate::Run(const rft_check_request& request, bool dry_run) const {
  char message[2048] = {0};
  rft_result* result = nullptr;
  rft_status st = dry_run ? plugin_->api().dry_run(gate_, &request, &result,
                                                   message, sizeof message)
                          : plugin_->api().check(gate_, &request, &result,
                                                 message, sizeof message);
  if (st != RFT_OK) throw Error(st, message);
  return Result(plugin_, result);
}

inline Result Gate::Run(
    rft_check_request request, bool dry_run,
    const std::function<void(const Result& page)>& on_page) const {
  if (plugin_->api().abi_minor < 1) {
    request.struct_size = offsetof(rft_check_request, on_page);
    Result whole = Run(request, dry_run);
    on_page(whole);
    return whole;
  }
  struct Pages {
    const std::function<void(const Result&)>* fn;
    std::shared_ptr<const Plugin> plugin;
    std::exception_ptr error;
    // No exception may unwind through the plugin.
    static void Call(void* ctx, const rft_result* page) noexcept {
      auto* self = static_cast<Pages*>(ctx);
      if (self->error) return;
      try {
        const Result view(self->plugin, page, Result::Borrowed{});
        (*self->fn)(view);
      } catch (...) {
        self->error = std::current_exception();
      }
    }
  };
  Pages pages{&on_page, plugin_, nullptr};
  request.struct_size = sizeof request;
  request.on_page = &Pages::Call;
  request.on_page_ctx = &pages;
  Result totals = Run(request, dry_run);
  if (pages.error) std::rethrow_exception(pages.error);
  return totals;
}

}  // namespace rftgate::host

#endif  // RFTGATE_HOST_HPP_
