#include "plugin/core/gate.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <dlfcn.h>
#include <sys/random.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <optional>
#include <random>
#include <set>
#include <unordered_set>

#include "fmt/format.h"
#include "plugin/config/logging.h"
#include "plugin/config/mask.h"
#include "plugin/core/c_struct.h"
#include "plugin/core/page_catalogue.h"
#include "spdlog/logger.h"

#ifndef RFTGATE_INSTALL_ADAPTER_DIR
#define RFTGATE_INSTALL_ADAPTER_DIR "/usr/local/lib/rftgate/adapters"
#endif

namespace rftgate {
namespace {

namespace fs = std::filesystem;

}  // namespace

// A wave checked in pages: its orders, and the reference records its pages
// put, kept for the later pages that leave them out. Shared with the load
// calls (which may outlive the check when abandoned at their deadline).
struct PagedWave {
  RefList refs;  // in the serving sequence
  // Kept while the wave's write transaction is open: only then may a page's
  // load leave out what earlier pages put.
  bool keep = false;
  PageCatalogue catalogue;
};

namespace {

void ReturnFreedMemory() {
#ifdef __GLIBC__
  malloc_trim(0);
#endif
}

// A sink that forwards adapter records into a WaveBuilder. Lives in the
// shared state of a load call.
struct LoadState {
  WaveBuilder builder;
  rft_call* call = nullptr;
  uint64_t capabilities = 0;
  // Set for a page of a paged wave.
  std::shared_ptr<PagedWave> paged;
  PageCatalogue::Names names;  // what the page names
  // A wave loaded whole on the chance that it fits in one page: more
  // orders than `order_limit`, or lines before any order (an adapter that
  // does not put orders first could otherwise put a whole wave's lines),
  // stop the load (over_limit), and the wave is listed and checked in
  // pages instead. 0 = no limit.
  uint64_t order_limit = 0;
  uint64_t orders = 0;
  std::atomic<bool> over_limit{false};

  // A page's order history is that of the orders outside the whole wave,
  // not only outside the page: the lines of the wave's own orders go.
  rft_status PutHistory(const void* records, size_t count, std::string* error) {
    const auto* base = static_cast<const char*>(records);
    const uint32_t size =
        static_cast<const rft_history_line*>(records)->struct_size;
    if (size < offsetof(rft_history_line, order_ref) + sizeof(rft_str)) {
      return builder.Put(RFT_REC_HISTORY_LINE, records, count, error);
    }
    size_t run = 0;  // first record of the run of records kept
    for (size_t i = 0; i <= count; ++i) {
      bool keep = false;
      if (i < count) {
        const rft_str ref =
            reinterpret_cast<const rft_history_line*>(base + i * size)
                ->order_ref;
        keep = !paged->refs.Contains(FromStr(ref));
      }
      if (keep) continue;
      if (i > run) {
        const rft_status st = builder.Put(RFT_REC_HISTORY_LINE,
                                          base + run * size, i - run, error);
        if (st != RFT_OK) return st;
      }
      run = i + 1;
    }
    return RFT_OK;
  }

  static rft_status Put(void* ctx, int32_t kind, const void* records,
                        size_t count) {
    auto* self = static_cast<LoadState*>(ctx);
    try {
      if (self->call != nullptr && self->call->cancelled != nullptr &&
          __atomic_load_n(self->call->cancelled, __ATOMIC_RELAXED) != 0) {
        CopyMessage("cancelled: the call's deadline passed", self->call->error,
                    self->call->error_cap);
        return RFT_ERR_CANCELLED;
      }
      if (self->order_limit > 0 &&
          (kind == RFT_REC_ORDER || kind == RFT_REC_LINE)) {
        if (kind == RFT_REC_ORDER) self->orders += count;
        if (self->orders > self->order_limit ||
            (kind == RFT_REC_LINE && count > 0 && self->orders == 0)) {
          self->over_limit = true;
          if (self->call != nullptr) {
            CopyMessage("more orders than one page (wave.page_orders)",
                        self->call->error, self->call->error_cap);
          }
          return RFT_ERR_CANCELLED;
        }
      }
      std::string error;
      rft_status st = self->paged && kind == RFT_REC_HISTORY_LINE && count > 0
                          ? self->PutHistory(records, count, &error)
                          : self->builder.Put(kind, records, count, &error);
      if (st == RFT_OK && self->paged && self->paged->keep) {
        self->paged->catalogue.Keep(kind, records, count);
        PageCatalogue::Name(kind, records, count, &self->names);
      }
      if (st != RFT_OK && self->call != nullptr) {
        CopyMessage("the adapter delivered a bad record: " + error,
                    self->call->error, self->call->error_cap);
      }
      return st;
    } catch (const std::exception& e) {
      if (self->call != nullptr) {
        CopyMessage(
            std::string("cannot take the adapter's records: ") + e.what(),
            self->call->error, self->call->error_cap);
      }
      return RFT_ERR_INTERNAL;
    }
  }
  static void SetCapabilities(void* ctx, uint64_t caps) {
    static_cast<LoadState*>(ctx)->capabilities = caps;
    static_cast<LoadState*>(ctx)->builder.SetCapabilities(caps);
  }
};

// The C rows of a write-back for `orders`; their strings view the orders'
// text. `duration_us` is shared out evenly.
struct WriteRows {
  std::vector<rft_check_run_row> rows;
  std::vector<rft_finding_row> findings;
};

WriteRows FlattenResults(const std::vector<OrderResult>& orders,
                         int64_t duration_us) {
  WriteRows w;
  w.rows.reserve(orders.size());
  const int64_t per_order_us =
      orders.empty() ? 0 : duration_us / static_cast<int64_t>(orders.size());
  for (const OrderResult& o : orders) {
    rft_check_run_row row{};
    row.struct_size = sizeof row;
    row.verdict = static_cast<int32_t>(o.verdict);
    row.decided_by = static_cast<int32_t>(o.decided_by);
    for (const Finding& f : o.findings) {
      if (f.severity == Severity::kBlock)
        ++row.blocking_findings;
      else
        ++row.warning_findings;
      rft_finding_row fr{};
      fr.struct_size = sizeof fr;
      fr.line_no = f.line_no;
      fr.severity = static_cast<int32_t>(f.severity);
      fr.order_ref = ToStr(o.ref);
      fr.line_ref = ToStrOrNull(f.line_ref);
      fr.check_id = ToStr(f.check_id);
      fr.message = ToStr(f.message);
      fr.details_json =
          ToStr(f.details_json.empty() ? std::string_view("{}")
                                       : std::string_view(f.details_json));
      w.findings.push_back(fr);
    }
    row.duration_us = per_order_us;
    row.order_ref = ToStr(o.ref);
    row.site = ToStrOrNull(o.site);
    row.provider = ToStrOrNull(o.provider);
    row.customer_ref = ToStrOrNull(o.customer);
    row.customer_order_ref = ToStrOrNull(o.customer_order_ref);
    row.reason = ToStrOrNull(o.reason);
    w.rows.push_back(row);
  }
  return w;
}

// `finished_us` 0 = not known yet (absent).
rft_writeback_run MakeRun(const std::string& run_id, const std::string& ruleset,
                          bool apply_holds, int64_t started_us,
                          int64_t finished_us) {
  rft_writeback_run run{};
  run.struct_size = sizeof run;
  run.apply_holds = apply_holds ? 1 : 0;
  run.run_id = ToStr(run_id);
  run.ruleset = ToStr(ruleset);
  run.started_at = rft_time{started_us, RFT_TIME_UTC, 0};
  run.finished_at = finished_us == 0 ? rft_time{0, RFT_TIME_NONE, 0}
                                     : rft_time{finished_us, RFT_TIME_UTC, 0};
  return run;
}

fs::path FolderOfThisLibrary() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&FolderOfThisLibrary), &info) != 0 &&
      info.dli_fname != nullptr) {
    std::error_code ec;
    fs::path p = fs::canonical(info.dli_fname, ec);
    if (!ec) return p.parent_path();
  }
  return {};
}

bool IsConnectionProblem(rft_status code) {
  return code == RFT_ERR_DATABASE || code == RFT_ERR_TIMEOUT ||
         code == RFT_ERR_CANCELLED;
}

std::string Masked(const std::string& text) { return MaskSecrets(text); }

}  // namespace

std::vector<fs::path> DefaultAdapterDirs() {
  std::vector<fs::path> dirs;
  fs::path own = FolderOfThisLibrary();
  if (!own.empty()) dirs.push_back(own / "rftgate" / "adapters");
  fs::path installed = RFTGATE_INSTALL_ADAPTER_DIR;
  if (std::find(dirs.begin(), dirs.end(), installed) == dirs.end()) {
    dirs.push_back(installed);
  }
  return dirs;
}

std::vector<fs::path> AdapterDirsOf(const Config& config) {
  std::vector<fs::path> dirs = config.adapter.library_dirs;
  for (const fs::path& d : DefaultAdapterDirs()) {
    if (std::find(dirs.begin(), dirs.end(), d) == dirs.end()) dirs.push_back(d);
  }
  return dirs;
}

std::string NewRunId() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  // 64 random bits from the kernel: one system call, where a
  // std::random_device is set up (and often a file opened) per call.
  uint64_t r = 0;
  if (getrandom(&r, sizeof r, 0) != static_cast<ssize_t>(sizeof r)) {
    std::random_device rd;
    r = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  }
  return fmt::format("{:04}{:02}{:02}T{:02}{:02}{:02}Z-{:016x}",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec, r);
}

void PageStream::Hand(const RunResult& page) {
  if (keep_refs) {
    for (const OrderResult& o : page.orders) handed.emplace(o.ref);
  }
  ++pages;
  orders += page.orders.size();
  passed += page.passed;
  warned += page.warned;
  held += page.held;
  by_policy += page.by_policy;
  findings += page.findings;
  on_page(page);
}

void RunResult::Count() {
  passed = warned = held = by_policy = findings = 0;
  for (const OrderResult& o : orders) {
    switch (o.verdict) {
      case Verdict::kPass:
        ++passed;
        break;
      case Verdict::kWarn:
        ++warned;
        break;
      case Verdict::kHold:
        ++held;
        break;
    }
    if (o.decided_by == DecidedBy::kFailurePolicy) ++by_policy;
    findings += o.findings.size();
  }
}

Status ReadConfig(const GateOptions& options, Config* out) {
  bool has_path = !options.config_path.empty();
  bool has_yaml = !options.config_yaml.empty();
  if (has_path == has_yaml) {
    return Status(RFT_ERR_INVALID_ARGUMENT,
                  "give exactly one of a config path and config YAML text");
  }
  ConfigResult result = has_path ? LoadConfigFile(options.config_path)
                                 : LoadConfigText(options.config_yaml,
                                                  options.base_dir, "<yaml>");
  if (!result.ok()) return Status(RFT_ERR_CONFIG, result.error().ToString());
  *out = std::move(result).config();
  return Status::Ok();
}

Gate::Gate(Config config, std::shared_ptr<spdlog::logger> logger)
    : config_(std::move(config)),
      engine_(config_.ruleset),
      logger_(std::move(logger)),
      abandoned_(std::make_shared<AbandonedCalls>()) {}

Gate::~Gate() {
  adapter_.reset();
  // Calls abandoned after a timeout still hold the adapter; give them a
  // bounded time to end before this gate's memory goes.
  if (!abandoned_->WaitIdle(config_.timeouts.open_ms)) {
    if (logger_) {
      logger_->warn("closing while an abandoned adapter call still runs");
    }
  }
}

Status Gate::Open(const GateOptions& options, std::unique_ptr<Gate>* out) {
  Config config;
  if (Status s = ReadConfig(options, &config); !s.ok()) return s;
  std::shared_ptr<spdlog::logger> logger = MakePluginLogger(
      config.logging, options.log, options.log_ctx, config.secrets);
  for (const std::string& w : config.warnings) logger->warn("{}", w);

  std::unique_ptr<Gate> gate(new Gate(std::move(config), logger));
  const Config& c = gate->config_;
  fs::path library_path;
  if (Status s =
          AdapterLibrary::Find(c.adapter.name, AdapterDirsOf(c), &library_path);
      !s.ok()) {
    return s;
  }
  if (Status s =
          AdapterLibrary::Load(library_path, c.adapter.sha256, &gate->library_);
      !s.ok()) {
    return s;
  }
  logger->info("adapter '{}' {} loaded from {} (adapter ABI {}.{})",
               gate->library_->api().name, gate->library_->api().version,
               library_path.string(), gate->library_->api().abi_major,
               gate->library_->api().abi_minor);
  Status connected = gate->EnsureConnected();
  if (!connected.ok()) {
    if (!IsConnectionProblem(connected.code())) return connected;
    logger->warn(
        "adapter '{}' cannot reach its database yet ({}); the "
        "failure policy '{}' decides until it can",
        c.adapter.name, connected.message(),
        FailurePolicyName(c.failure_policy));
  }
  logger->info("gate open: config {}, ruleset {}, failure policy {}", c.source,
               c.ruleset.revision, FailurePolicyName(c.failure_policy));
  *out = std::move(gate);
  return Status::Ok();
}

Status Gate::CallAdapter(const char* what, int64_t timeout_ms,
                         std::function<rft_status(rft_call*)> body,
                         const std::atomic<bool>* ours) {
  Status s = RunTimed(what, timeout_ms, std::move(body), abandoned_, &worker_);
  const bool stopped_by_us =
      s.code() != RFT_ERR_TIMEOUT && ours != nullptr && ours->load();
  if (!s.ok() && IsConnectionProblem(s.code()) && !stopped_by_us) {
    adapter_.reset();
  }
  return s;
}

Status Gate::EnsureConnected() {
  if (adapter_) return Status::Ok();
  std::string options = config_.adapter.options.dump();
  std::string connection = config_.adapter.connection;
  std::string base = config_.base_dir.string();
  auto library = library_;
  auto handle_out = std::make_shared<rft_adapter*>(nullptr);
  auto logger = logger_;
  // The log callback hands adapter lines to our logger (which masks them).
  static constexpr rft_log_fn kLog = [](void* ctx, int32_t level,
                                        const char* msg, size_t len) {
    auto* lg = static_cast<spdlog::logger*>(ctx);
    std::string_view text(msg, len);
    switch (level) {
      case RFT_LOG_TRACE:
        lg->trace("adapter: {}", text);
        break;
      case RFT_LOG_DEBUG:
        lg->debug("adapter: {}", text);
        break;
      case RFT_LOG_INFO:
        lg->info("adapter: {}", text);
        break;
      case RFT_LOG_WARN:
        lg->warn("adapter: {}", text);
        break;
      default:
        lg->error("adapter: {}", text);
        break;
    }
  };
  Status s = RunTimed(
      "open", config_.timeouts.open_ms,
      [library, handle_out, options, connection, base, logger](rft_call* call) {
        rft_adapter_open_params params{};
        params.struct_size = sizeof params;
        params.connection = ToStr(connection);
        params.options_json = ToStr(options);
        params.config_dir = ToStr(base);
        params.log = kLog;
        params.log_ctx = logger.get();
        rft_adapter* handle = nullptr;
        rft_status st = library->api().open(&params, &handle, call);
        if (st == RFT_OK && handle != nullptr) {
          if (call->cancelled != nullptr &&
              __atomic_load_n(call->cancelled, __ATOMIC_RELAXED) != 0) {
            library->api().close(handle);  // its caller has gone
            return RFT_ERR_TIMEOUT;
          }
          *handle_out = handle;
        }
        return st;
      },
      abandoned_, &worker_);
  if (!s.ok()) {
    return Status(s.code(),
                  Masked(fmt::format("cannot open adapter '{}': {}",
                                     config_.adapter.name, s.message())));
  }
  adapter_ = std::make_shared<AdapterHandle>(library_, *handle_out, logger_);
  return Status::Ok();
}

Status Gate::LoadWave(const rft_selection& selection, Wave* wave,
                      bool keys_only, std::shared_ptr<PagedWave> paged,
                      uint64_t order_limit, bool* over_limit) {
  auto state = std::make_shared<LoadState>();
  if (paged) paged->catalogue.BeginPage();
  state->paged = std::move(paged);
  state->order_limit = order_limit;
  auto adapter = adapter_;
  // Own copies of the refs: the worker may outlive the caller's memory.
  auto refs = std::make_shared<std::vector<std::string>>();
  for (size_t i = 0; i < selection.ref_count; ++i) {
    refs->emplace_back(FromStr(selection.refs[i]));
  }
  rft_selection sel = selection;
  const uint64_t needs = config_.ruleset.InputsNeeded();
  Status s = CallAdapter(
      keys_only ? "list" : "load", config_.timeouts.load_ms,
      [state, adapter, refs, sel, needs, keys_only](rft_call* call) mutable {
        std::vector<rft_str> views;
        views.reserve(refs->size());
        for (const std::string& r : *refs) views.push_back(ToStr(r));
        sel.struct_size = sizeof sel;
        sel.refs = views.empty() ? nullptr : views.data();
        sel.ref_count = views.size();
        state->call = call;
        rft_wave_sink sink{};
        sink.struct_size = sizeof sink;
        sink.ctx = state.get();
        sink.put = &LoadState::Put;
        sink.set_capabilities = &LoadState::SetCapabilities;
        sink.needs = needs;
        return keys_only
                   ? adapter->api().list(adapter->get(), &sel, &sink, call)
                   : adapter->api().load(adapter->get(), &sel, &sink, call);
      },
      &state->over_limit);
  // Whatever the adapter made of the refusal (its status, or even RFT_OK),
  // a load the sink stopped did not load the whole wave. (After a timeout
  // the handle is gone: that stays a failure.)
  if (over_limit != nullptr && s.code() != RFT_ERR_TIMEOUT &&
      state->over_limit) {
    *over_limit = true;
    return Status(RFT_ERR_CANCELLED, "more orders than one page");
  }
  if (!s.ok()) {
    return Status(
        s.code(),
        Masked(fmt::format("{} the wave failed: {}",
                           keys_only ? "listing" : "loading", s.message())));
  }
  if (state->paged && state->paged->keep &&
      (state->capabilities & RFT_CAP_KNOWN_LEFT_OUT) != 0) {
    std::string error;
    if (state->paged->catalogue.ReplayInto(state->builder, state->names,
                                           &error) != RFT_OK) {
      return Status(RFT_ERR_INTERNAL,
                    "loading the wave failed: the records kept from earlier "
                    "pages were refused: " +
                        error);
    }
  }
  *wave = state->builder.Finish();
  return Status::Ok();
}

void Gate::ApplyFailurePolicy(const rft_selection& selection,
                              const std::string& reason,
                              RunResult* result) const {
  std::vector<std::string> refs;
  std::set<std::string> seen;
  for (size_t i = 0; i < selection.ref_count; ++i) {
    std::string ref(FromStr(selection.refs[i]));
    if (seen.insert(ref).second) refs.push_back(std::move(ref));
  }
  ApplyFailurePolicy(refs, reason, result);
}

void Gate::ApplyFailurePolicy(const std::vector<std::string>& refs,
                              const std::string& reason,
                              RunResult* result) const {
  Verdict verdict = config_.failure_policy == FailurePolicy::kHold
                        ? Verdict::kHold
                        : Verdict::kPass;
  result->orders.clear();
  auto store = std::make_shared<ResultStore>();
  const std::string_view kept_reason = store->Keep(reason);
  result->orders.reserve(refs.size());
  for (const std::string& ref : refs) {
    OrderResult o;
    o.ref = store->Keep(ref);
    o.verdict = verdict;
    o.decided_by = DecidedBy::kFailurePolicy;
    o.reason = kept_reason;
    result->orders.push_back(std::move(o));
  }
  result->store = std::move(store);
}

Status Gate::WriteBack(std::shared_ptr<const RunResult> result,
                       int64_t started_us, int64_t finished_us) {
  // The rows' strings point into `result`, kept alive by the shared copy
  // below, since the call may be abandoned.
  auto copy = std::move(result);
  auto adapter = adapter_;
  bool apply_holds = config_.apply_holds;
  Status s = CallAdapter(
      "write_back", config_.timeouts.write_ms,
      [copy, adapter, apply_holds, started_us, finished_us](rft_call* call) {
        const RunResult& r = *copy;
        const WriteRows w = FlattenResults(r.orders, r.duration_us);
        const rft_writeback_run run =
            MakeRun(r.run_id, r.ruleset, apply_holds, started_us, finished_us);
        return adapter->api().write_back(
            adapter->get(), &run, w.rows.empty() ? nullptr : w.rows.data(),
            w.rows.size(), w.findings.empty() ? nullptr : w.findings.data(),
            w.findings.size(), call);
      });
  if (!s.ok()) return Status(s.code(), Masked(s.message()));
  return s;
}

Status Gate::WriteStep(
    const char* what,
    std::function<rft_status(const rft_adapter_api&, rft_adapter*, rft_call*)>
        body) {
  auto adapter = adapter_;
  if (!adapter) {
    return Status(RFT_ERR_DATABASE,
                  fmt::format("{}: the connection was lost", what));
  }
  Status s = CallAdapter(what, config_.timeouts.write_ms,
                         [adapter, body = std::move(body)](rft_call* call) {
                           return body(adapter->api(), adapter->get(), call);
                         });
  if (!s.ok()) return Status(s.code(), Masked(s.message()));
  return s;
}

bool Gate::UsePages(const rft_selection& selection) const {
  // Past orders are loaded whole: their stock as it was comes with the
  // selection of a date range, not with refs.
  if (config_.page_orders == 0 || !adapter_ ||
      !RFT_ADAPTER_PAGES(&library_->api()) ||
      selection.mode == RFT_SELECT_RANGE) {
    return false;
  }
  return selection.mode == RFT_SELECT_READY ||
         selection.ref_count > config_.page_orders;
}

Status Gate::CheckWhole(const Request& request, const rft_selection& sel,
                        int64_t started_us, RunResult* result,
                        uint64_t order_limit, bool* over_limit) {
  Wave wave;
  Status loaded = LoadWave(sel, &wave, false, nullptr, order_limit, over_limit);
  if (!loaded.ok()) return loaded;
  if (request.progress) request.progress(0, wave.order_count());
  RunContext ctx;
  ctx.now_unix_us = started_us;
  ctx.past_orders = request.selection.mode == RFT_SELECT_RANGE;
  try {
    WaveResult wr = engine_.Run(wave, ctx);
    result->orders = std::move(wr.orders);
    result->store = std::move(wr.store);
    result->notes = std::move(wr.notes);
  } catch (const std::exception& e) {
    return Status(RFT_ERR_INTERNAL,
                  fmt::format("internal error in the checks: {}", e.what()));
  }
  return Status::Ok();
}

Status Gate::ListWave(const rft_selection& selection, RefList* refs) {
  Wave keys;
  Status listed = LoadWave(selection, &keys, /*keys_only=*/true);
  if (!listed.ok()) return listed;
  *refs = RefList();
  const std::vector<std::string_view> serving = engine_.ServingRefs(keys);
  size_t chars = 0;
  for (std::string_view ref : serving) chars += ref.size();
  refs->Reserve(serving.size(), chars);
  for (std::string_view ref : serving) refs->Add(ref);
  return Status::Ok();
}

Status Gate::CheckInPages(const Request& request, RefList refs_in,
                          int64_t started_us, RunResult* result,
                          Status* written, PageStream* stream) {
  auto paged = std::make_shared<PagedWave>();
  paged->refs = std::move(refs_in);
  paged->refs.Seal();
  const RefList& refs = paged->refs;
  const uint64_t total = refs.size();
  if (request.progress) request.progress(0, total);
  const size_t page_size = config_.page_orders;
  const size_t pages = (refs.size() + page_size - 1) / page_size;
  logger_->info("run {}: {} orders in {} pages of up to {}", result->run_id,
                refs.size(), pages, page_size);

  const bool apply_holds = config_.apply_holds;
  const std::string run_id = result->run_id;
  const std::string ruleset = result->ruleset;
  bool writing = !request.dry_run && !refs.empty();
  *written = Status::Ok();
  auto stop_writing = [&](const Status& why, bool abort) {
    if (abort && adapter_) {
      Status a = WriteStep("write_abort", [](const rft_adapter_api& api,
                                             rft_adapter* h, rft_call* call) {
        return api.write_abort(h, call);
      });
      if (!a.ok()) logger_->warn("run {}: {}", run_id, a.message());
    }
    *written = why;
    writing = false;
    paged->keep = false;
    paged->catalogue.Clear();
  };
  if (writing) {
    Status b = WriteStep(
        "write_begin",
        [run_id, ruleset, apply_holds, started_us](
            const rft_adapter_api& api, rft_adapter* h, rft_call* call) {
          const rft_writeback_run run =
              MakeRun(run_id, ruleset, apply_holds, started_us, 0);
          return api.write_begin(h, &run, call);
        });
    if (b.ok()) {
      paged->keep = true;
    } else {
      stop_writing(b, /*abort=*/false);
    }
  }

  RunContext ctx;  // past orders are never paged (UsePages)
  ctx.now_unix_us = started_us;
  WaveCarry carry;
  auto store = std::make_shared<ResultStore>();
  std::vector<std::pair<size_t, size_t>> finding_runs;
  std::set<std::pair<std::string, std::string>> seen_notes;
  if (!stream) result->orders.reserve(refs.size());
  int64_t load_us = 0, check_us = 0, write_us = 0;
  Status failed = Status::Ok();
  size_t next = 0;  // the first order of the page being checked
  for (size_t first = 0; first < refs.size(); first += page_size) {
    // What the previous page freed goes back to the system before the next
    // one is loaded: its wave, rows and results were allocated on two
    // threads, and the allocator otherwise keeps most of it, page after
    // page.
    if (first > 0) ReturnFreedMemory();
    next = first;
    const size_t n = std::min(page_size, refs.size() - first);
    std::vector<rft_str> views;
    views.reserve(n);
    for (size_t i = first; i < first + n; ++i) views.push_back(ToStr(refs[i]));
    rft_selection page{};
    page.struct_size = sizeof page;
    page.mode = RFT_SELECT_REFS;
    page.refs = views.data();
    page.ref_count = views.size();

    int64_t t0 = NowUnixUs();
    Wave wave;
    failed = EnsureConnected();
    if (failed.ok()) failed = LoadWave(page, &wave, false, paged);
    if (!failed.ok()) break;
    int64_t t1 = NowUnixUs();
    auto page_result = std::make_shared<WaveResult>();
    try {
      *page_result = engine_.Run(wave, ctx, &carry);
    } catch (const std::exception& e) {
      failed = Status(RFT_ERR_INTERNAL, fmt::format("internal error in the "
                                                    "checks: {}",
                                                    e.what()));
      break;
    }
    wave = Wave();
    int64_t t2 = NowUnixUs();
    load_us += t1 - t0;
    check_us += t2 - t1;
    if (writing) {
      // The rows are made here: the page's results are changed below while
      // a call given up at its deadline may still be reading its rows (which
      // view the page's text, kept alive with them).
      auto rows = std::make_shared<const WriteRows>(
          FlattenResults(page_result->orders, t2 - t0));
      std::shared_ptr<const ResultStore> text = page_result->store;
      Status w =
          WriteStep("write_part", [rows, text](const rft_adapter_api& api,
                                               rft_adapter* h, rft_call* call) {
            return api.write_part(
                h, rows->rows.empty() ? nullptr : rows->rows.data(),
                rows->rows.size(),
                rows->findings.empty() ? nullptr : rows->findings.data(),
                rows->findings.size(), call);
          });
      if (!w.ok()) stop_writing(w, /*abort=*/true);
    }
    write_us += NowUnixUs() - t2;
    for (CheckNote& note : page_result->notes) {
      if (seen_notes.emplace(note.check_id, note.message).second) {
        result->notes.push_back(std::move(note));
      }
    }
    if (stream) {
      // Hand the page to the host; its orders, findings and text go when
      // `page` does (a write given up at its deadline keeps its own rows).
      RunResult page;
      page.run_id = run_id;
      page.ruleset = ruleset;
      page.dry_run = request.dry_run;
      page.duration_us = NowUnixUs() - t0;
      page.orders = std::move(page_result->orders);
      page.store = std::move(page_result->store);
      page_result.reset();
      page.Count();
      stream->Hand(page);
      if (request.progress) request.progress(first + n, total);
      continue;
    }
    // Keep what the host reads, in the result's own store: the page's
    // records and text go with it.
    for (OrderResult& o : page_result->orders) {
      finding_runs.emplace_back(store->findings.size(), o.findings.size());
      for (const Finding& f : o.findings) {
        Finding k = f;
        k.line_ref = store->Keep(f.line_ref);
        k.check_id = store->Keep(f.check_id);
        k.message = store->Keep(f.message);
        k.details_json = store->Keep(f.details_json);
        store->findings.push_back(k);
      }
      o.ref = store->Keep(o.ref);
      o.stable_id = store->Keep(o.stable_id);
      o.site = store->Keep(o.site);
      o.provider = store->Keep(o.provider);
      o.customer = store->Keep(o.customer);
      o.customer_order_ref = store->Keep(o.customer_order_ref);
      o.reason = store->Keep(o.reason);
      o.findings = {};
      result->orders.push_back(std::move(o));
    }
    if (request.progress) request.progress(first + n, total);
  }
  if (!failed.ok()) {
    if (writing) stop_writing(failed, /*abort=*/true);
    result->orders.clear();
    if (stream && stream->pages > 0) {
      stream->left.clear();
      for (size_t i = std::min(next, refs.size()); i < refs.size(); ++i) {
        stream->left.emplace_back(refs[i]);
      }
    }
    return failed;
  }
  for (size_t k = 0; k < result->orders.size(); ++k) {
    const auto [begin, count] = finding_runs[k];
    result->orders[k].findings =
        std::span<const Finding>(store->findings.data() + begin, count);
  }
  result->store = std::move(store);
  if (writing) {
    const int64_t t = NowUnixUs();
    const int64_t finished_us = t;
    Status c = WriteStep(
        "write_commit",
        [run_id, ruleset, apply_holds, started_us, finished_us](
            const rft_adapter_api& api, rft_adapter* h, rft_call* call) {
          const rft_writeback_run run =
              MakeRun(run_id, ruleset, apply_holds, started_us, finished_us);
          return api.write_commit(h, &run, call);
        });
    write_us += NowUnixUs() - t;
    if (!c.ok()) stop_writing(c, /*abort=*/false);
  }
  logger_->info(
      "run {}: {} pages: load {} ms, check {} ms, write {} ms, kept "
      "between pages {} KiB of stock taken and signatures, {} KiB of "
      "reference records",
      run_id, pages, load_us / 1000, check_us / 1000, write_us / 1000,
      carry.memory_bytes() / 1024, paged->catalogue.memory_bytes() / 1024);
  return Status::Ok();
}

Status Gate::Check(const Request& request, std::unique_ptr<RunResult>* out) {
  std::lock_guard<std::mutex> lock(mu_);
  int64_t started_us = NowUnixUs();
  auto result = std::make_shared<RunResult>();
  result->run_id = request.run_id.empty() ? NewRunId() : request.run_id;
  result->ruleset = config_.ruleset.revision;
  result->dry_run = request.dry_run;
  const rft_selection& sel = request.selection;
  bool by_refs = sel.mode == RFT_SELECT_REFS;

  if (sel.mode != RFT_SELECT_READY && sel.mode != RFT_SELECT_REFS &&
      sel.mode != RFT_SELECT_RANGE) {
    return Status(RFT_ERR_INVALID_ARGUMENT,
                  fmt::format("unknown selection mode {}", sel.mode));
  }
  std::optional<PageStream> stream;
  if (request.on_page) {
    stream.emplace();
    stream->on_page = request.on_page;
    stream->keep_refs = by_refs;
  }

  // Set when the wave was written in pages, as it went.
  std::optional<Status> paged_write;
  Status loaded = EnsureConnected();
  if (loaded.ok()) {
    RefList refs;
    // The orders ready fit in one page in most waves: they are loaded and
    // checked whole, without listing them first. More stop that load at
    // the first order beyond the page, and the wave is listed instead.
    bool over_page = false;
    const bool paged = UsePages(sel);
    const bool try_whole = paged && sel.mode == RFT_SELECT_READY;
    if (!paged || try_whole) {
      loaded = CheckWhole(request, sel, started_us, result.get(),
                          try_whole ? config_.page_orders : 0, &over_page);
      if (over_page) {
        logger_->debug(
            "run {}: more than {} orders ready: listed and checked "
            "in pages",
            result->run_id, config_.page_orders);
      }
    }
    if (paged && (!try_whole || over_page)) {
      loaded = over_page ? EnsureConnected() : Status::Ok();
      if (loaded.ok()) loaded = ListWave(sel, &refs);
      if (loaded.ok() && refs.size() > config_.page_orders) {
        paged_write = Status::Ok();
        loaded =
            CheckInPages(request, std::move(refs), started_us, result.get(),
                         &*paged_write, stream ? &*stream : nullptr);
      } else if (loaded.ok() && !refs.empty()) {
        // One page after all: the wave is loaded as selected, and written
        // whole.
        loaded = CheckWhole(request, sel, started_us, result.get());
      }
    }
  }
  if (!loaded.ok() && stream && stream->pages > 0) {
    // Pages went to the host already: they keep the checks' verdicts, the
    // orders not handed over get the failure policy's, and nothing is
    // written (the wave's write was given up).
    logger_->error("run {}: {}", result->run_id, loaded.message());
    std::vector<std::string> left;
    if (by_refs) {
      std::unordered_set<std::string> seen;
      for (size_t i = 0; i < sel.ref_count; ++i) {
        std::string ref(FromStr(sel.refs[i]));
        if (!stream->handed.count(ref) && seen.insert(ref).second) {
          left.push_back(std::move(ref));
        }
      }
    } else {
      left = std::move(stream->left);
    }
    ApplyFailurePolicy(left, loaded.message(), result.get());
    result->notes.push_back(CheckNote{
        "", fmt::format("the failure policy '{}' decided the verdicts of the "
                        "{} orders not handed over yet ({} were): {}",
                        FailurePolicyName(config_.failure_policy), left.size(),
                        stream->orders, loaded.message())});
    paged_write = loaded;
  } else if (!loaded.ok()) {
    paged_write.reset();
    logger_->error("run {}: {}", result->run_id, loaded.message());
    if (!by_refs) return loaded;  // nothing to give a verdict to
    ApplyFailurePolicy(sel, loaded.message(), result.get());
    result->notes.push_back(CheckNote{
        "", fmt::format("the failure policy '{}' decided every verdict: {}",
                        FailurePolicyName(config_.failure_policy),
                        loaded.message())});
  } else {
    if (sel.mode == RFT_SELECT_RANGE) {
      result->notes.push_back(
          CheckNote{"",
                    "past orders are judged against the item master, "
                    "customers and carrier services as they are today, not "
                    "as they were at release"});
    }
    if (by_refs) {
      std::unordered_set<std::string> got;
      if (stream) got = std::move(stream->handed);
      for (const OrderResult& o : result->orders) got.emplace(o.ref);
      for (size_t i = 0; i < sel.ref_count; ++i) {
        std::string ref(FromStr(sel.refs[i]));
        if (got.insert(ref).second) {
          result->notes.push_back(CheckNote{
              "", fmt::format("order '{}' was not found in the WMS", ref)});
        }
      }
    }
  }
  result->Count();
  result->duration_us = NowUnixUs() - started_us;
  if (stream && !result->orders.empty()) {
    // The orders not handed over yet (a wave checked whole, or the failure
    // policy's verdicts) are the last page, handed over before the write
    // like the others: without the run's notes, which the final result has.
    std::vector<CheckNote> notes = std::move(result->notes);
    result->notes.clear();
    stream->Hand(*result);
    result->notes = std::move(notes);
  }
  const uint64_t order_count =
      stream ? stream->orders : static_cast<uint64_t>(result->orders.size());
  if (loaded.ok() && request.progress) {
    request.progress(order_count, order_count);
  }

  if (request.dry_run) {
    result->written_to = "nothing written (dry run)";
  } else if (order_count > 0 && (paged_write || adapter_)) {
    Status w =
        paged_write ? *paged_write : WriteBack(result, started_us, NowUnixUs());
    if (w.ok()) {
      result->written = true;
      result->written_to =
          fmt::format("adapter '{}' ({})", config_.adapter.name,
                      config_.adapter.connection_masked);
    } else {
      logger_->error("run {}: writing back failed: {}", result->run_id,
                     w.message());
      result->notes.push_back(
          CheckNote{"", "the records were NOT written back: " + w.message()});
      result->written_to = "nothing written: " + w.message();
    }
  } else if (order_count > 0) {
    result->written_to = "nothing written: the database is unreachable";
  } else {
    result->written_to = "nothing to write";
  }
  result->duration_us = NowUnixUs() - started_us;
  if (stream) {
    result->passed = stream->passed;
    result->warned = stream->warned;
    result->held = stream->held;
    result->by_policy = stream->by_policy;
    result->findings = stream->findings;
  }
  logger_->info(
      "run {}: {} orders, {} passed, {} warned, {} held ({} by "
      "policy), {} findings, {} us",
      result->run_id, order_count, result->passed, result->warned, result->held,
      result->by_policy, result->findings, result->duration_us);
  if (stream) {
    // The totals only: an abandoned write-back may still read the orders
    // of `result`, which go with it.
    auto totals = std::make_unique<RunResult>();
    totals->run_id = result->run_id;
    totals->ruleset = result->ruleset;
    totals->dry_run = result->dry_run;
    totals->written = result->written;
    totals->written_to = result->written_to;
    totals->duration_us = result->duration_us;
    totals->notes = result->notes;
    totals->passed = result->passed;
    totals->warned = result->warned;
    totals->held = result->held;
    totals->by_policy = result->by_policy;
    totals->findings = result->findings;
    totals->streamed = true;
    totals->streamed_orders = order_count;
    *out = std::move(totals);
    return Status::Ok();
  }
  // An abandoned write-back may still read the result: hand over a copy
  // then; otherwise the result itself.
  *out = result.use_count() == 1
             ? std::make_unique<RunResult>(std::move(*result))
             : std::make_unique<RunResult>(*result);
  return Status::Ok();
}

Status Gate::Describe(
    const std::function<void(std::string_view, std::string_view)>& emit) {
  std::lock_guard<std::mutex> lock(mu_);
  emit("config", config_.source);
  emit("ruleset", config_.ruleset.revision);
  emit("failure policy", FailurePolicyName(config_.failure_policy));
  emit("adapter",
       fmt::format("{} {} ({})", library_->api().name, library_->api().version,
                   library_->path().string()));
  emit("connection", config_.adapter.connection_masked);
  if (Status s = EnsureConnected(); !s.ok()) return s;
  auto adapter = adapter_;
  auto pairs =
      std::make_shared<std::vector<std::pair<std::string, std::string>>>();
  Status s = CallAdapter(
      "describe", config_.timeouts.load_ms, [adapter, pairs](rft_call* call) {
        return adapter->api().describe(
            adapter->get(),
            [](void* ctx, rft_str k, rft_str v) {
              static_cast<std::vector<std::pair<std::string, std::string>>*>(
                  ctx)
                  ->emplace_back(FromStr(k), FromStr(v));
            },
            pairs.get(), call);
      });
  if (!s.ok()) return Status(s.code(), Masked(s.message()));
  for (const auto& [k, v] : *pairs) emit(k, Masked(v));
  return Status::Ok();
}

}  // namespace rftgate
