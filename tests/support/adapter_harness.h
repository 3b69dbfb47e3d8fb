// Test support: loads an adapter library through the adapter ABI (dlopen),
// opens handles, records what a load puts into the sink, and writes back
// synthetic runs. Header-only; for tests.
#ifndef RFTGATE_TESTS_SUPPORT_ADAPTER_HARNESS_H_
#define RFTGATE_TESTS_SUPPORT_ADAPTER_HARNESS_H_

#include <dlfcn.h>

#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "rftgate/adapter_abi.h"

namespace rftgate::testing {

// An owned copy of an rft_str (nullopt = absent).
using OptString = std::optional<std::string>;
inline OptString Own(rft_str s) {
  if (s.data == nullptr) return std::nullopt;
  return std::string(s.data, s.len);
}
inline rft_str Borrow(const OptString& s) {
  return s ? rft_str{s->data(), s->size()} : rft_str{nullptr, 0};
}
inline rft_str Borrow(const std::string& s) {
  return rft_str{s.data(), s.size()};
}

// A decimal as text ("2.5", "-3", "null") for assertions.
inline std::string DecimalText(rft_decimal d) {
  if (d.is_null != 0) return "null";
  std::string digits =
      std::to_string(d.mantissa < 0 ? -d.mantissa : d.mantissa);
  if (d.scale > 0) {
    while (static_cast<int32_t>(digits.size()) <= d.scale)
      digits = "0" + digits;
    digits.insert(digits.size() - d.scale, ".");
  }
  return (d.mantissa < 0 ? "-" : "") + digits;
}

struct OrderRec {
  std::string ref;
  OptString stable_id, site, provider, customer_ref, customer_order_ref,
      ship_to_name, street, city, postcode, country, carrier, carrier_service,
      status_text;
  rft_time ship_date, created_at, release_at;
  int32_t priority;
};
struct LineRec {
  std::string order_ref;
  int32_t line_no;
  OptString line_ref, sku, uom, location, lot;
  rft_decimal qty;
};
struct ItemRec {
  std::string sku;
  int32_t active, lot_tracked, min_shelf_life_days;
  OptString base_uom, hazmat_class, description;
  rft_decimal unit_weight_kg;
};
struct StockRec {
  std::string sku;
  OptString location, lot;
  rft_decimal on_hand, reserved_qty;
  rft_time in_date;
};
struct LotRec {
  std::string sku, lot;
  rft_time expiry;
  int32_t status;
};
struct CustomerRec {
  std::string ref;
  int32_t blocked, credit_hold, min_shelf_life_days;
};
struct CarrierRec {
  std::string code;
  int32_t hazmat_allowed, cutoff_minute;
  rft_decimal max_parcel_weight_kg;
};
struct HistoryRec {
  std::string order_ref, customer_ref, sku;
  rft_decimal qty;
  rft_time created_at;
};

// A sink that copies every record it receives.
class RecordingSink {
 public:
  RecordingSink() {
    sink_.struct_size = sizeof sink_;
    sink_.ctx = this;
    sink_.put = &RecordingSink::Put;
    sink_.set_capabilities = &RecordingSink::SetCaps;
  }
  const rft_wave_sink* get() const { return &sink_; }
  // The inputs the load is asked for (rft_capability bits; 0 = everything).
  void SetNeeds(uint64_t needs) { sink_.needs = needs; }
  // A sink as a plugin built for adapter ABI 1.0 passes it: without
  // `needs` (whatever lies after the struct's end must be ignored).
  void AsAbi10() { sink_.struct_size = offsetof(rft_wave_sink, needs); }

  uint64_t capabilities = 0;
  int capability_calls = 0;
  std::vector<OrderRec> orders;
  std::vector<LineRec> lines;
  std::vector<ItemRec> items;
  std::vector<StockRec> stock;
  std::vector<LotRec> lots;
  std::vector<CustomerRec> customers;
  std::vector<CarrierRec> carriers;
  std::vector<HistoryRec> history;
  std::map<int32_t, size_t> counts;  // records per kind
  size_t puts = 0;
  // Records of this kind are refused (the put returns an error).
  int32_t refuse_kind = -1;
  size_t max_batch = 0;

 private:
  template <typename R>
  static const R& At(const void* records, size_t i) {
    const R* first = static_cast<const R*>(records);
    return *reinterpret_cast<const R*>(static_cast<const char*>(records) +
                                       i * first->struct_size);
  }
  static rft_status Put(void* ctx, int32_t kind, const void* records,
                        size_t count) {
    auto* self = static_cast<RecordingSink*>(ctx);
    if (kind == self->refuse_kind) return RFT_ERR_CANCELLED;
    ++self->puts;
    self->counts[kind] += count;
    self->max_batch = std::max(self->max_batch, count);
    for (size_t i = 0; i < count; ++i) {
      switch (kind) {
        case RFT_REC_ORDER: {
          const auto& r = At<rft_order>(records, i);
          self->orders.push_back(
              {Own(r.ref).value_or(""), Own(r.stable_id), Own(r.site),
               Own(r.provider), Own(r.customer_ref), Own(r.customer_order_ref),
               Own(r.ship_to_name), Own(r.street), Own(r.city), Own(r.postcode),
               Own(r.country), Own(r.carrier), Own(r.carrier_service),
               Own(r.status_text), r.ship_date, r.created_at, r.release_at,
               r.priority});
          break;
        }
        case RFT_REC_LINE: {
          const auto& r = At<rft_order_line>(records, i);
          self->lines.push_back({Own(r.order_ref).value_or(""), r.line_no,
                                 Own(r.line_ref), Own(r.sku), Own(r.uom),
                                 Own(r.location), Own(r.lot), r.qty});
          break;
        }
        case RFT_REC_ITEM: {
          const auto& r = At<rft_item>(records, i);
          self->items.push_back({Own(r.sku).value_or(""), r.active,
                                 r.lot_tracked, r.min_shelf_life_days,
                                 Own(r.base_uom), Own(r.hazmat_class),
                                 Own(r.description), r.unit_weight_kg});
          break;
        }
        case RFT_REC_STOCK: {
          const auto& r = At<rft_stock>(records, i);
          self->stock.push_back({Own(r.sku).value_or(""), Own(r.location),
                                 Own(r.lot), r.on_hand, r.reserved_qty,
                                 r.in_date});
          break;
        }
        case RFT_REC_LOT: {
          const auto& r = At<rft_lot>(records, i);
          self->lots.push_back({Own(r.sku).value_or(""),
                                Own(r.lot).value_or(""), r.expiry, r.status});
          break;
        }
        case RFT_REC_CUSTOMER: {
          const auto& r = At<rft_customer>(records, i);
          self->customers.push_back({Own(r.ref).value_or(""), r.blocked,
                                     r.credit_hold, r.min_shelf_life_days});
          break;
        }
        case RFT_REC_CARRIER_SERVICE: {
          const auto& r = At<rft_carrier_service>(records, i);
          self->carriers.push_back({Own(r.code).value_or(""), r.hazmat_allowed,
                                    r.cutoff_minute, r.max_parcel_weight_kg});
          break;
        }
        case RFT_REC_HISTORY_LINE: {
          const auto& r = At<rft_history_line>(records, i);
          self->history.push_back(
              {Own(r.order_ref).value_or(""), Own(r.customer_ref).value_or(""),
               Own(r.sku).value_or(""), r.qty, r.created_at});
          break;
        }
        default:
          break;
      }
    }
    return RFT_OK;
  }
  static void SetCaps(void* ctx, uint64_t caps) {
    auto* self = static_cast<RecordingSink*>(ctx);
    self->capabilities = caps;
    ++self->capability_calls;
  }

  rft_wave_sink sink_{};
};

// A call context with an error buffer, an optional deadline and a
// cancellation flag.
struct TestCall {
  TestCall() {
    call.struct_size = sizeof call;
    call.error = error;
    call.error_cap = sizeof error;
    call.cancelled = &cancelled;
  }
  rft_call* get() { return &call; }
  std::string message() const { return error; }

  rft_call call{};
  char error[1024] = {0};
  volatile int32_t cancelled = 0;
};

// The adapter library, loaded with dlopen; stays loaded for the process.
class AdapterLibrary {
 public:
  explicit AdapterLibrary(const std::string& path) {
    handle_ = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle_ == nullptr) throw std::runtime_error(dlerror());
    auto entry = reinterpret_cast<rft_adapter_entry_fn>(
        dlsym(handle_, RFT_ADAPTER_ENTRY_SYMBOL));
    if (entry == nullptr) throw std::runtime_error("no rft_adapter_entry");
    char error[256] = {0};
    if (entry(RFT_ADAPTER_ABI_MAJOR, RFT_ADAPTER_ABI_MINOR, &api_, error,
              sizeof error) != RFT_OK) {
      throw std::runtime_error(error);
    }
  }
  const rft_adapter_api& api() const { return *api_; }

 private:
  void* handle_ = nullptr;
  const rft_adapter_api* api_ = nullptr;
};

// Log lines an adapter handle wrote; a hook may block the writer.
struct LogCapture {
  std::mutex mu;
  std::vector<std::string> lines;
  std::function<void(const std::string&)> hook;

  static void Fn(void* ctx, int32_t, const char* message, size_t len) {
    auto* self = static_cast<LogCapture*>(ctx);
    std::string line(message, len);
    {
      std::lock_guard<std::mutex> lock(self->mu);
      self->lines.push_back(line);
    }
    if (self->hook) self->hook(line);
  }
  size_t CountPrefix(const std::string& prefix) {
    std::lock_guard<std::mutex> lock(mu);
    size_t n = 0;
    for (const auto& l : lines) n += l.rfind(prefix, 0) == 0 ? 1 : 0;
    return n;
  }
  void Clear() {
    std::lock_guard<std::mutex> lock(mu);
    lines.clear();
  }
};

// An open adapter handle; closes on destruction.
class AdapterHandle {
 public:
  AdapterHandle(const rft_adapter_api& api, rft_adapter* h)
      : api_(api), h_(h) {}
  ~AdapterHandle() { api_.close(h_); }
  AdapterHandle(const AdapterHandle&) = delete;
  AdapterHandle& operator=(const AdapterHandle&) = delete;
  rft_adapter* get() const { return h_; }

 private:
  const rft_adapter_api& api_;
  rft_adapter* h_;
};

// Opens a handle; on failure returns nullptr and sets *status / *message.
inline std::unique_ptr<AdapterHandle> OpenAdapter(
    const AdapterLibrary& lib, const std::string& connection,
    const std::string& options_json, const std::string& config_dir,
    LogCapture* log, rft_status* status, std::string* message) {
  rft_adapter_open_params p{};
  p.struct_size = sizeof p;
  p.connection = Borrow(connection);
  p.options_json = Borrow(options_json);
  p.config_dir = Borrow(config_dir);
  p.log = log != nullptr ? &LogCapture::Fn : nullptr;
  p.log_ctx = log;
  TestCall call;
  rft_adapter* h = nullptr;
  *status = lib.api().open(&p, &h, call.get());
  *message = call.message();
  if (*status != RFT_OK) return nullptr;
  return std::make_unique<AdapterHandle>(lib.api(), h);
}

// A synthetic run to write back: owns every string it lends.
struct SyntheticRun {
  struct Row {
    std::string order_ref;
    int32_t verdict = RFT_VERDICT_PASS;
    int32_t decided_by = RFT_DECIDED_BY_CHECKS;
    std::string customer = "C1";
  };
  struct Finding {
    std::string order_ref;
    int32_t line_no = 0;
    std::string check_id;
    int32_t severity = RFT_SEVERITY_BLOCK;
    std::string message = "fix it";
    std::string details = "{\"observed\": 1}";
  };
  std::string run_id;
  std::string ruleset = "r1";
  bool apply_holds = false;
  std::vector<Row> rows;
  std::vector<Finding> findings;

  // The run, its rows and its findings as the ABI passes them; the strings
  // are borrowed from this run.
  struct Abi {
    rft_writeback_run run{};
    std::vector<rft_check_run_row> rows;
    std::vector<rft_finding_row> findings;
  };
  Abi ToAbi() const {
    Abi a;
    a.run.struct_size = sizeof a.run;
    a.run.apply_holds = apply_holds ? 1 : 0;
    a.run.run_id = Borrow(run_id);
    a.run.ruleset = Borrow(ruleset);
    a.run.started_at = rft_time{1700000000000000LL, RFT_TIME_UTC, 0};
    a.run.finished_at = rft_time{1700000001000000LL, RFT_TIME_UTC, 0};
    static const std::string kSite = "S1";
    a.rows.resize(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) {
      rft_check_run_row& r = a.rows[i];
      r = rft_check_run_row{};
      r.struct_size = sizeof(rft_check_run_row);
      r.verdict = rows[i].verdict;
      r.decided_by = rows[i].decided_by;
      r.duration_us = 42;
      r.order_ref = Borrow(rows[i].order_ref);
      r.site = Borrow(kSite);
      r.customer_ref = Borrow(rows[i].customer);
      for (const auto& f : findings) {
        if (f.order_ref != rows[i].order_ref) continue;
        (f.severity == RFT_SEVERITY_BLOCK ? r.blocking_findings
                                          : r.warning_findings)++;
      }
    }
    a.findings.resize(findings.size());
    for (size_t i = 0; i < findings.size(); ++i) {
      rft_finding_row& f = a.findings[i];
      f = rft_finding_row{};
      f.struct_size = sizeof(rft_finding_row);
      f.line_no = findings[i].line_no;
      f.severity = findings[i].severity;
      f.order_ref = Borrow(findings[i].order_ref);
      f.check_id = Borrow(findings[i].check_id);
      f.message = Borrow(findings[i].message);
      f.details_json = Borrow(findings[i].details);
    }
    return a;
  }

  // Calls write_back; returns its status (message in *message).
  rft_status Write(const rft_adapter_api& api, rft_adapter* h,
                   std::string* message, TestCall* call_in = nullptr) const {
    Abi a = ToAbi();
    TestCall local;
    TestCall* call = call_in != nullptr ? call_in : &local;
    rft_status s = api.write_back(
        h, &a.run, a.rows.empty() ? nullptr : a.rows.data(), a.rows.size(),
        a.findings.empty() ? nullptr : a.findings.data(), a.findings.size(),
        call->get());
    *message = call->message();
    return s;
  }

  // The rows of orders [first, first + count) and the findings of those
  // orders, for write_part.
  struct Page {
    std::vector<rft_check_run_row> rows;
    std::vector<rft_finding_row> findings;
  };
  static Page PageOf(const Abi& a, size_t first, size_t count) {
    Page p;
    for (size_t i = first; i < first + count && i < a.rows.size(); ++i) {
      p.rows.push_back(a.rows[i]);
      const std::string ref = *Own(a.rows[i].order_ref);
      for (const auto& f : a.findings) {
        if (*Own(f.order_ref) == ref) p.findings.push_back(f);
      }
    }
    return p;
  }
  static rft_status WritePart(const rft_adapter_api& api, rft_adapter* h,
                              const Page& p, std::string* message,
                              TestCall* call_in = nullptr) {
    TestCall local;
    TestCall* call = call_in != nullptr ? call_in : &local;
    rft_status s = api.write_part(
        h, p.rows.empty() ? nullptr : p.rows.data(), p.rows.size(),
        p.findings.empty() ? nullptr : p.findings.data(), p.findings.size(),
        call->get());
    *message = call->message();
    return s;
  }

  // write_begin of `run`; returns its status (message in *message).
  static rft_status WriteBegin(const rft_adapter_api& api, rft_adapter* h,
                               const rft_writeback_run& run,
                               std::string* message) {
    TestCall call;
    rft_status s = api.write_begin(h, &run, call.get());
    *message = call.message();
    return s;
  }

  // Writes the run as a wave in pages of `page` orders: write_begin (the
  // run without its finished_at), write_part per page, write_commit.
  // Returns the first status that is not RFT_OK.
  rft_status WritePaged(const rft_adapter_api& api, rft_adapter* h, size_t page,
                        std::string* message) const {
    Abi a = ToAbi();
    rft_writeback_run open = a.run;
    open.finished_at = rft_time{0, RFT_TIME_NONE, 0};
    rft_status s = WriteBegin(api, h, open, message);
    if (s != RFT_OK) return s;
    for (size_t first = 0; first < a.rows.size(); first += page) {
      s = WritePart(api, h, PageOf(a, first, page), message);
      if (s != RFT_OK) return s;
    }
    TestCall commit;
    s = api.write_commit(h, &a.run, commit.get());
    *message = commit.message();
    return s;
  }
};

}  // namespace rftgate::testing

#endif  // RFTGATE_TESTS_SUPPORT_ADAPTER_HARNESS_H_
