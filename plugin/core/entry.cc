// The plugin's C ABI (rftgate/host_abi.h): the entry symbol and the table of
// functions. Every function here is a catch-all barrier: no exception
// leaves, every failure becomes a status and a message.
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "fmt/format.h"
#include "plugin/config/mask.h"
#include "plugin/core/adapter_library.h"
#include "plugin/core/c_struct.h"
#include "plugin/core/gate.h"
#include "plugin/core/run_result.h"
#include "rftgate/host_abi.h"

#ifndef RFTGATE_VERSION
#define RFTGATE_VERSION "0.0.0"
#endif

struct rft_gate {
  std::unique_ptr<rftgate::Gate> gate;
};

// A result owned by the host, or (`owned` null) a page borrowed by the
// host's on_page callback for the duration of the call.
struct rft_result {
  std::unique_ptr<rftgate::RunResult> owned;
  const rftgate::RunResult* run = nullptr;
};

namespace rftgate {
namespace {

namespace fs = std::filesystem;

template <typename Body>
rft_status Barrier(char* error, size_t cap, Body&& body) noexcept {
  try {
    Status s = body();
    if (!s.ok()) CopyMessage(MaskSecrets(s.message()), error, cap);
    return s.code();
  } catch (const std::bad_alloc&) {
    CopyMessage("out of memory", error, cap);
    return RFT_ERR_INTERNAL;
  } catch (const std::exception& e) {
    CopyMessage(MaskSecrets(std::string("internal error: ") + e.what()), error,
                cap);
    return RFT_ERR_INTERNAL;
  } catch (...) {
    CopyMessage("internal error: unknown exception", error, cap);
    return RFT_ERR_INTERNAL;
  }
}

// Accessors have no message buffer: a failure is a status only.
template <typename Body>
rft_status QuietBarrier(Body&& body) noexcept {
  try {
    return body();
  } catch (...) {
    return RFT_ERR_INTERNAL;
  }
}

Status GateOptionsFrom(const rft_open_params* params, GateOptions* options) {
  if (params == nullptr ||
      params->struct_size < offsetof(rft_open_params, base_dir)) {
    return Status(RFT_ERR_INVALID_ARGUMENT,
                  "open: params is NULL or its struct_size is too small");
  }
  options->config_path = std::string(FromStr(params->config_path));
  options->config_yaml = std::string(FromStr(params->config_yaml));
  if (RFT_HAS_FIELD(params, rft_open_params, base_dir)) {
    options->base_dir = std::string(FromStr(params->base_dir));
  }
  if (RFT_HAS_FIELD(params, rft_open_params, log_ctx)) {
    options->log = params->log;
    options->log_ctx = params->log_ctx;
  }
  return Status::Ok();
}

rft_status Open(const rft_open_params* params, rft_gate** out, char* error,
                size_t error_cap) noexcept {
  if (out != nullptr) *out = nullptr;
  return Barrier(error, error_cap, [&]() -> Status {
    if (out == nullptr)
      return Status(RFT_ERR_INVALID_ARGUMENT, "open: out is NULL");
    GateOptions options;
    if (Status s = GateOptionsFrom(params, &options); !s.ok()) return s;
    std::unique_ptr<Gate> gate;
    if (Status s = Gate::Open(options, &gate); !s.ok()) return s;
    *out = new rft_gate{std::move(gate)};
    return Status::Ok();
  });
}

void Close(rft_gate* gate) noexcept {
  try {
    delete gate;
  } catch (...) {
  }
}

rft_status RunCheck(rft_gate* gate, const rft_check_request* request,
                    rft_result** out, char* error, size_t error_cap,
                    bool dry_run) noexcept {
  if (out != nullptr) *out = nullptr;
  return Barrier(error, error_cap, [&]() -> Status {
    if (gate == nullptr || out == nullptr || request == nullptr) {
      return Status(RFT_ERR_INVALID_ARGUMENT,
                    "check: gate, request and out must not be NULL");
    }
    if (request->struct_size < offsetof(rft_check_request, run_id) ||
        request->selection.struct_size < offsetof(rft_selection, from)) {
      return Status(RFT_ERR_INVALID_ARGUMENT,
                    "check: request or selection struct_size too small");
    }
    Gate::Request r;
    r.selection = rft_selection{};
    r.selection.struct_size = sizeof(rft_selection);
    r.selection.mode = request->selection.mode;
    r.selection.refs = request->selection.refs;
    r.selection.ref_count = request->selection.ref_count;
    if (RFT_HAS_FIELD(&request->selection, rft_selection, to)) {
      r.selection.from = request->selection.from;
      r.selection.to = request->selection.to;
    }
    if (RFT_HAS_FIELD(&request->selection, rft_selection, max_orders)) {
      r.selection.max_orders = request->selection.max_orders;
    }
    if (r.selection.mode == RFT_SELECT_REFS && r.selection.ref_count > 0 &&
        r.selection.refs == nullptr) {
      return Status(RFT_ERR_INVALID_ARGUMENT, "check: refs is NULL");
    }
    if (RFT_HAS_FIELD(request, rft_check_request, run_id)) {
      r.run_id = std::string(FromStr(request->run_id));
    }
    if (RFT_HAS_FIELD(request, rft_check_request, progress_ctx) &&
        request->progress != nullptr) {
      rft_progress_fn fn = request->progress;
      void* ctx = request->progress_ctx;
      r.progress = [fn, ctx](uint64_t done, uint64_t total) {
        fn(ctx, done, total);
      };
    }
    if (RFT_HAS_FIELD(request, rft_check_request, on_page_ctx) &&
        request->on_page != nullptr) {
      rft_page_fn fn = request->on_page;
      void* ctx = request->on_page_ctx;
      r.on_page = [fn, ctx](const RunResult& page) {
        const rft_result borrowed{nullptr, &page};
        fn(ctx, &borrowed);
      };
    }
    r.dry_run = dry_run;
    std::unique_ptr<RunResult> run;
    if (Status s = gate->gate->Check(r, &run); !s.ok()) return s;
    auto* result = new rft_result{std::move(run)};
    result->run = result->owned.get();
    *out = result;
    return Status::Ok();
  });
}

rft_status Check(rft_gate* gate, const rft_check_request* request,
                 rft_result** out, char* error, size_t error_cap) noexcept {
  return RunCheck(gate, request, out, error, error_cap, false);
}

rft_status DryRun(rft_gate* gate, const rft_check_request* request,
                  rft_result** out, char* error, size_t error_cap) noexcept {
  return RunCheck(gate, request, out, error, error_cap, true);
}

void ResultFree(rft_result* result) noexcept {
  try {
    if (result == nullptr || !result->owned) return;  // NULL, or borrowed
    delete result;
  } catch (...) {
  }
}

rft_status ResultSummary(const rft_result* result,
                         rft_result_summary* out) noexcept {
  return QuietBarrier([&] {
    if (result == nullptr || out == nullptr) return RFT_ERR_INVALID_ARGUMENT;
    const RunResult& r = *result->run;
    rft_result_summary s{};
    s.struct_size = sizeof s;
    s.dry_run = r.dry_run ? 1 : 0;
    s.written = r.written ? 1 : 0;
    s.streamed = r.streamed ? 1 : 0;
    s.orders = r.order_count();
    s.passed = r.passed;
    s.warned = r.warned;
    s.held = r.held;
    s.by_policy = r.by_policy;
    s.findings = r.findings;
    s.notes = r.notes.size();
    s.run_id = ToStr(r.run_id);
    s.ruleset = ToStr(r.ruleset);
    s.written_to = ToStr(r.written_to);
    s.duration_us = r.duration_us;
    return FillOut(s, out) ? RFT_OK : RFT_ERR_INVALID_ARGUMENT;
  });
}

rft_status ResultOrder(const rft_result* result, uint64_t index,
                       rft_order_verdict* out) noexcept {
  return QuietBarrier([&] {
    if (result == nullptr || out == nullptr) return RFT_ERR_INVALID_ARGUMENT;
    const RunResult& r = *result->run;
    if (index >= r.orders.size()) return RFT_ERR_NOT_FOUND;
    const OrderResult& o = r.orders[index];
    rft_order_verdict v{};
    v.struct_size = sizeof v;
    v.verdict = static_cast<int32_t>(o.verdict);
    v.decided_by = static_cast<int32_t>(o.decided_by);
    v.finding_count = o.findings.size();
    v.ref = ToStr(o.ref);
    v.site = ToStrOrNull(o.site);
    v.customer = ToStrOrNull(o.customer);
    v.provider = ToStrOrNull(o.provider);
    v.reason = ToStrOrNull(o.reason);
    return FillOut(v, out) ? RFT_OK : RFT_ERR_INVALID_ARGUMENT;
  });
}

rft_status ResultFinding(const rft_result* result, uint64_t order_index,
                         uint64_t finding_index,
                         rft_finding_view* out) noexcept {
  return QuietBarrier([&] {
    if (result == nullptr || out == nullptr) return RFT_ERR_INVALID_ARGUMENT;
    const RunResult& r = *result->run;
    if (order_index >= r.orders.size()) return RFT_ERR_NOT_FOUND;
    const OrderResult& o = r.orders[order_index];
    if (finding_index >= o.findings.size()) return RFT_ERR_NOT_FOUND;
    const Finding& f = o.findings[finding_index];
    rft_finding_view v{};
    v.struct_size = sizeof v;
    v.line_no = f.line_no;
    v.severity = static_cast<int32_t>(f.severity);
    v.line_ref = ToStrOrNull(f.line_ref);
    v.check_id = ToStr(f.check_id);
    v.message = ToStr(f.message);
    v.details_json =
        f.details_json.empty() ? ToStr("{}") : ToStr(f.details_json);
    return FillOut(v, out) ? RFT_OK : RFT_ERR_INVALID_ARGUMENT;
  });
}

rft_status ResultNote(const rft_result* result, uint64_t index,
                      rft_note* out) noexcept {
  return QuietBarrier([&] {
    if (result == nullptr || out == nullptr) return RFT_ERR_INVALID_ARGUMENT;
    const RunResult& r = *result->run;
    if (index >= r.notes.size()) return RFT_ERR_NOT_FOUND;
    rft_note n{};
    n.struct_size = sizeof n;
    n.check_id = ToStrOrNull(r.notes[index].check_id);
    n.message = ToStr(r.notes[index].message);
    return FillOut(n, out) ? RFT_OK : RFT_ERR_INVALID_ARGUMENT;
  });
}

// "name=default, ..." per catalogue entry, built once.
const std::vector<std::string>& ParameterTexts() {
  static const std::vector<std::string> texts = [] {
    std::vector<std::string> v;
    for (const CheckSpec& spec : CheckCatalogue()) {
      std::string t;
      for (const ParamSpec& p : spec.params) {
        if (!t.empty()) t += ", ";
        t += fmt::format("{}={}", p.name, p.default_value);
      }
      v.push_back(std::move(t));
    }
    return v;
  }();
  return texts;
}

uint64_t CatalogueSize() noexcept {
  try {
    return CheckCatalogue().size();
  } catch (...) {
    return 0;
  }
}

rft_status CatalogueEntry(const rft_gate* gate, uint64_t index,
                          rft_check_info* out) noexcept {
  return QuietBarrier([&] {
    if (out == nullptr) return RFT_ERR_INVALID_ARGUMENT;
    const auto& catalogue = CheckCatalogue();
    if (index >= catalogue.size()) return RFT_ERR_NOT_FOUND;
    const CheckSpec& spec = catalogue[index];
    rft_check_info info{};
    info.struct_size = sizeof info;
    info.default_severity = static_cast<int32_t>(spec.default_severity);
    info.severity = gate != nullptr
                        ? static_cast<int32_t>(
                              gate->gate->config().ruleset.SeverityOf(spec.id))
                        : info.default_severity;
    info.id = ToStr(spec.id);
    info.summary = ToStr(spec.summary);
    info.parameters = ToStr(ParameterTexts()[index]);
    return FillOut(info, out) ? RFT_OK : RFT_ERR_INVALID_ARGUMENT;
  });
}

rft_status ListAdapters(const rft_open_params* params, rft_adapter_info_fn emit,
                        void* emit_ctx, char* error,
                        size_t error_cap) noexcept {
  return Barrier(error, error_cap, [&]() -> Status {
    if (emit == nullptr)
      return Status(RFT_ERR_INVALID_ARGUMENT, "emit is NULL");
    std::vector<fs::path> dirs = DefaultAdapterDirs();
    if (params != nullptr) {
      GateOptions options;
      if (Status s = GateOptionsFrom(params, &options); !s.ok()) return s;
      Config config;
      if (Status s = ReadConfig(options, &config); !s.ok()) return s;
      dirs = AdapterDirsOf(config);
    }
    const std::string prefix = "librftgate_adapter_";
    for (const fs::path& dir : dirs) {
      std::error_code ec;
      if (!fs::is_directory(dir, ec)) continue;
      std::vector<fs::path> files;
      for (const auto& entry : fs::directory_iterator(dir, ec)) {
        std::string name = entry.path().filename().string();
        if (name.rfind(prefix, 0) == 0 && entry.path().extension() == ".so") {
          files.push_back(entry.path());
        }
      }
      std::sort(files.begin(), files.end());
      for (const fs::path& file : files) {
        std::string stem = file.stem().string().substr(prefix.size());
        std::shared_ptr<AdapterLibrary> lib;
        Status s = AdapterLibrary::Load(file, "", &lib);
        std::string path = file.string();
        rft_adapter_info info{};
        info.struct_size = sizeof info;
        info.path = ToStr(path);
        if (s.ok()) {
          info.abi_major = lib->api().abi_major;
          info.abi_minor = lib->api().abi_minor;
          info.loadable = 1;
          info.name = ToStr(lib->api().name);
          info.version = ToStr(lib->api().version);
        } else {
          info.name = ToStr(stem);
          info.problem = ToStr(s.message());
        }
        emit(emit_ctx, &info);
      }
    }
    return Status::Ok();
  });
}

rft_status Describe(rft_gate* gate, rft_describe_fn emit, void* emit_ctx,
                    char* error, size_t error_cap) noexcept {
  return Barrier(error, error_cap, [&]() -> Status {
    if (gate == nullptr || emit == nullptr) {
      return Status(RFT_ERR_INVALID_ARGUMENT, "describe: gate or emit is NULL");
    }
    return gate->gate->Describe([&](std::string_view k, std::string_view v) {
      emit(emit_ctx, ToStr(k), ToStr(v));
    });
  });
}

const rft_plugin_api kPluginApi = {
    sizeof(rft_plugin_api),
    RFT_HOST_ABI_MAJOR,
    RFT_HOST_ABI_MINOR,
    0,
    RFTGATE_VERSION,
    &Open,
    &Close,
    &Check,
    &DryRun,
    &ResultFree,
    &ResultSummary,
    &ResultOrder,
    &ResultFinding,
    &ResultNote,
    &CatalogueSize,
    &CatalogueEntry,
    &ListAdapters,
    &Describe,
};

}  // namespace
}  // namespace rftgate

extern "C" RFT_EXPORT rft_status rft_plugin_entry(uint32_t host_abi_major,
                                                  uint32_t host_abi_minor,
                                                  const rft_plugin_api** out,
                                                  char* error,
                                                  size_t error_cap) {
  try {
    if (out != nullptr) *out = nullptr;
    if (host_abi_major != RFT_HOST_ABI_MAJOR) {
      rftgate::CopyMessage(
          fmt::format("the rftgate plugin {} implements host ABI {}.{}; the "
                      "host was built for ABI {}.{} (major versions differ)",
                      RFTGATE_VERSION, RFT_HOST_ABI_MAJOR, RFT_HOST_ABI_MINOR,
                      host_abi_major, host_abi_minor),
          error, error_cap);
      return RFT_ERR_ABI;
    }
    if (out == nullptr) {
      rftgate::CopyMessage("rft_plugin_entry: out is NULL", error, error_cap);
      return RFT_ERR_INVALID_ARGUMENT;
    }
    *out = &rftgate::kPluginApi;
    return RFT_OK;
  } catch (...) {
    rftgate::CopyMessage("rft_plugin_entry: internal error", error, error_cap);
    return RFT_ERR_INTERNAL;
  }
}
