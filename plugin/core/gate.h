// Gate: one open rftgate instance. Owns the config, the engine with its
// ruleset, the plugin's logger, and the adapter (library and connection).
// Thread-safe: calls are serialised by an internal mutex.
#ifndef RFTGATE_PLUGIN_CORE_GATE_H_
#define RFTGATE_PLUGIN_CORE_GATE_H_

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "plugin/config/config.h"
#include "plugin/core/adapter_library.h"
#include "plugin/core/ref_list.h"
#include "plugin/core/run_result.h"
#include "plugin/core/status.h"
#include "plugin/core/timed_call.h"
#include "plugin/engine/engine.h"
#include "rftgate/host_abi.h"

namespace spdlog {
class logger;
}

namespace rftgate {

struct PagedWave;  // gate.cc

// Where the plugin looks for adapters when the config names no folder, and
// after the configured ones: <folder of librftgate.so>/rftgate/adapters (the
// build tree and an installation alike), then the installed adapter folder.
std::vector<std::filesystem::path> DefaultAdapterDirs();

struct GateOptions {
  // Exactly one of path and yaml.
  std::filesystem::path config_path;
  std::string config_yaml;
  std::filesystem::path base_dir;  // for yaml; empty = current folder
  rft_log_fn log = nullptr;
  void* log_ctx = nullptr;
};

// Reads the config of `options` (file or text).
Status ReadConfig(const GateOptions& options, Config* out);

// The adapter folders of a config: configured ones, then the defaults.
std::vector<std::filesystem::path> AdapterDirsOf(const Config& config);

// The verdicts of a check handed to the host page by page, and what the
// final result keeps of them.
struct PageStream {
  std::function<void(const RunResult& page)> on_page;
  bool keep_refs = false;  // remember the refs handed over (named orders)
  std::unordered_set<std::string> handed;
  // Set when a paged wave failed after pages were handed over: the refs of
  // the wave not handed over yet, in the serving sequence.
  std::vector<std::string> left;
  uint64_t pages = 0, orders = 0, passed = 0, warned = 0, held = 0,
           by_policy = 0, findings = 0;

  // Hands `page` (its counts made) to the host and adds it to the totals.
  void Hand(const RunResult& page);
};

class Gate {
 public:
  // Reads and validates the config, loads the adapter library and opens the
  // connection. A database that cannot be reached does not prevent opening
  // (the gate reconnects at the next check, and the failure policy decides
  // meanwhile); a bad config, mapping or library does.
  static Status Open(const GateOptions& options, std::unique_ptr<Gate>* out);
  ~Gate();

  struct Request {
    rft_selection selection{};  // refs point into caller memory
    std::string run_id;         // empty = new run id
    bool dry_run = false;
    std::function<void(uint64_t, uint64_t)> progress;
    // Set = the verdicts go to the host page by page (the page is borrowed
    // for the call), and the result keeps only the totals.
    std::function<void(const RunResult& page)> on_page;
  };

  // Loads, checks and (unless dry_run) writes back. Returns a result when
  // every requested order got a verdict (from checks or from the failure
  // policy); an error when no verdict could be produced.
  Status Check(const Request& request, std::unique_ptr<RunResult>* out);

  // What the adapter found in its database, plus the gate's own facts.
  Status Describe(
      const std::function<void(std::string_view, std::string_view)>& emit);

  const Config& config() const { return config_; }
  const Engine& engine() const { return engine_; }

 private:
  Gate(Config config, std::shared_ptr<spdlog::logger> logger);
  Status EnsureConnected();
  // Runs `body` on the open handle under the deadline `timeout_ms`. On a
  // lost connection or a call given up at its deadline (which may still be
  // inside the handle: a handle is never used by two threads at once) the
  // handle is dropped, and the next call reconnects; unless `ours` is set
  // once the call returned (the plugin's own sink stopped it: the handle
  // is fine).
  Status CallAdapter(const char* what, int64_t timeout_ms,
                     std::function<rft_status(rft_call*)> body,
                     const std::atomic<bool>* ours = nullptr);
  // Loads the orders of `selection` into *wave: everything needed to judge
  // them (`load`), or only their keys (`list`, for a wave in pages).
  // A page of a paged wave passes `paged`: the reference records of earlier
  // pages that the page's load leaves out come from there, and its order
  // history leaves out the wave's own orders.
  // With `order_limit`, a selection of more orders stops the load, and
  // *over_limit is set.
  Status LoadWave(const rft_selection& selection, Wave* wave,
                  bool keys_only = false,
                  std::shared_ptr<PagedWave> paged = nullptr,
                  uint64_t order_limit = 0, bool* over_limit = nullptr);
  // Whether a wave of this selection is checked and written in pages.
  bool UsePages(const rft_selection& selection) const;
  // Loads the orders of `selection` and checks them, the wave whole, into
  // *result (no write-back).
  Status CheckWhole(const Request& request, const rft_selection& selection,
                    int64_t started_us, RunResult* result,
                    uint64_t order_limit = 0, bool* over_limit = nullptr);
  // The refs of the wave `selection` names, in the serving sequence.
  Status ListWave(const rft_selection& selection, RefList* refs);
  // Loads, checks and (unless a dry run) writes the wave of `refs` (in the
  // serving sequence) a page at a time, in one write transaction. An error
  // means no verdict could be produced (nothing is written then);
  // *written says what became of the records otherwise.
  // With `stream`, each page's verdicts are handed to the host once
  // written (or given up) and dropped; on a failure, stream->left gets the
  // refs not handed over.
  Status CheckInPages(const Request& request, RefList refs, int64_t started_us,
                      RunResult* result, Status* written, PageStream* stream);
  // One call of the paged write (begin, part, commit, abort) on the handle.
  Status WriteStep(
      const char* what,
      std::function<rft_status(const rft_adapter_api&, rft_adapter*, rft_call*)>
          body);
  // `result` is shared with the write-back call, which may outlive this
  // call when its deadline passes.
  Status WriteBack(std::shared_ptr<const RunResult> result, int64_t started_us,
                   int64_t finished_us);
  void ApplyFailurePolicy(const rft_selection& selection,
                          const std::string& reason, RunResult* result) const;
  // The same for the orders `refs` (distinct).
  void ApplyFailurePolicy(const std::vector<std::string>& refs,
                          const std::string& reason, RunResult* result) const;

  std::mutex mu_;
  Config config_;
  Engine engine_;
  std::shared_ptr<spdlog::logger> logger_;
  std::shared_ptr<AdapterLibrary> library_;
  std::shared_ptr<AdapterHandle> adapter_;  // null while disconnected
  std::shared_ptr<AbandonedCalls> abandoned_;
  // Runs the adapter calls (calls are serialised by mu_).
  std::unique_ptr<CallWorker> worker_;
};

// A new run id: UTC timestamp and 64 random bits, e.g.
// "20261122T101500Z-5f1c0a9e3b2d7c41".
std::string NewRunId();

}  // namespace rftgate

#endif  // RFTGATE_PLUGIN_CORE_GATE_H_
