// rftgate-adapter-conformance: checks that an adapter library keeps the
// contract of rftgate/adapter_abi.h, against the adapter author's own test
// database. Run it before shipping an adapter:
//
//   rftgate-adapter-conformance --library ./librftgate_adapter_mywms.so
//       --connection "postgresql://dbname=wms_test host=/run/postgresql"
//       --options '{"mapping": "mapping.yaml"}' --config-dir /etc/rftgate
//       [--write]
//
// What it checks: the entry symbol and the version handshake; the table of
// functions; open refusing a bad connection or bad options with a message;
// describe; a load of the orders ready for release (every record well
// formed, lines and reservations belonging to loaded orders, capabilities
// announced once and within those the table declares); a load by refs;
// cancellation, a passed deadline and a failing sink stopping the load with
// the right status; two handles used from two threads at once; and, with
// --write (it writes rftgate's records into that database: use a test
// copy), write-back of a run, the same run again, and a passing re-check.
// For an adapter that provides a wave in pages (ABI 1.2): list against
// load, and with --write a wave written in two parts with a load between
// them, the same wave again, and an aborted wave, each judged by what
// describe reports before and after.
//
// Exit status: 0 when every check passes, 1 when one fails, 2 for usage.
// GoogleTest flags (--gtest_filter=..., --gtest_output=xml:...) apply.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "CLI/CLI.hpp"
#include "rftgate/adapter_abi.h"

namespace {

struct Options {
  std::string library;
  std::string connection;
  std::string options_json = "{}";
  std::string config_dir = ".";
  bool write = false;
};
Options g_options;

std::string Own(rft_str s) {
  return s.data == nullptr ? std::string() : std::string(s.data, s.len);
}
rft_str Borrow(const std::string& s) { return rft_str{s.data(), s.size()}; }

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A call context with an error buffer, a deadline and a cancellation flag.
struct Call {
  Call() {
    call.struct_size = sizeof call;
    call.error = error;
    call.error_cap = sizeof error;
    call.cancelled = &cancelled;
  }
  rft_call* get() { return &call; }
  std::string message() const { return error; }
  rft_call call{};
  char error[2048] = {0};
  volatile int32_t cancelled = 0;
};

// The library under test, loaded once with RTLD_NOW | RTLD_LOCAL.
class Library {
 public:
  static Library& Get() {
    static Library lib;
    return lib;
  }
  void* handle() const { return handle_; }
  rft_adapter_entry_fn entry() const { return entry_; }
  const std::string& load_error() const { return error_; }

  // The table for this ABI version, or nullptr (see load_error()).
  const rft_adapter_api* api() {
    if (api_ == nullptr && entry_ != nullptr) {
      char error[512] = {0};
      rft_status s = entry_(RFT_ADAPTER_ABI_MAJOR, RFT_ADAPTER_ABI_MINOR, &api_,
                            error, sizeof error);
      if (s != RFT_OK) {
        api_ = nullptr;
        error_ = std::string("rft_adapter_entry refused ABI ") +
                 std::to_string(RFT_ADAPTER_ABI_MAJOR) + "." +
                 std::to_string(RFT_ADAPTER_ABI_MINOR) + ": " + error;
      }
    }
    return api_;
  }

 private:
  Library() {
    handle_ = dlopen(g_options.library.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle_ == nullptr) {
      const char* e = dlerror();
      error_ = e != nullptr ? e : "dlopen failed";
      return;
    }
    entry_ = reinterpret_cast<rft_adapter_entry_fn>(
        dlsym(handle_, RFT_ADAPTER_ENTRY_SYMBOL));
    if (entry_ == nullptr) {
      error_ = std::string("the library does not export ") +
               RFT_ADAPTER_ENTRY_SYMBOL;
    }
  }
  void* handle_ = nullptr;
  rft_adapter_entry_fn entry_ = nullptr;
  const rft_adapter_api* api_ = nullptr;
  std::string error_;
};

#define REQUIRE_API(api)                                                     \
  const rft_adapter_api* api = Library::Get().api();                         \
  if (api == nullptr) {                                                      \
    FAIL() << "the adapter cannot be used: " << Library::Get().load_error(); \
  }

// An open handle, closed on destruction.
class Handle {
 public:
  Handle(const rft_adapter_api* api, rft_adapter* h) : api_(api), h_(h) {}
  ~Handle() { api_->close(h_); }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  rft_adapter* get() const { return h_; }

 private:
  const rft_adapter_api* api_;
  rft_adapter* h_;
};

std::unique_ptr<Handle> Open(const rft_adapter_api* api,
                             const std::string& connection,
                             const std::string& options, rft_status* status,
                             std::string* message) {
  rft_adapter_open_params p{};
  p.struct_size = sizeof p;
  p.connection = Borrow(connection);
  p.options_json = Borrow(options);
  p.config_dir = Borrow(g_options.config_dir);
  Call call;
  rft_adapter* h = nullptr;
  *status = api->open(&p, &h, call.get());
  *message = call.message();
  if (*status != RFT_OK) {
    EXPECT_EQ(h, nullptr) << "open failed but left a handle in *out";
    return nullptr;
  }
  EXPECT_NE(h, nullptr) << "open returned RFT_OK without a handle";
  if (h == nullptr) return nullptr;
  return std::make_unique<Handle>(api, h);
}

std::unique_ptr<Handle> OpenConfigured(const rft_adapter_api* api) {
  rft_status status;
  std::string message;
  auto h = Open(api, g_options.connection, g_options.options_json, &status,
                &message);
  EXPECT_EQ(status, RFT_OK) << "open: " << message;
  return h;
}

bool ValidUtf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80         ? 1
               : (c >> 5) == 6  ? 2
               : (c >> 4) == 14 ? 3
               : (c >> 3) == 30 ? 4
                                : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return false;
    }
    i += n;
  }
  return true;
}

// A sink that checks every record against the ABI's rules and keeps what
// the cross-record checks need. The first problems are kept as text.
class CheckingSink {
 public:
  CheckingSink() {
    sink_.struct_size = sizeof sink_;
    sink_.ctx = this;
    sink_.put = &CheckingSink::Put;
    sink_.set_capabilities = &CheckingSink::SetCaps;
  }
  const rft_wave_sink* get() const { return &sink_; }
  // The inputs the load is asked for (rft_capability bits; 0 = everything).
  void SetNeeds(uint64_t needs) { sink_.needs = needs; }
  // As a plugin built for adapter ABI 1.0 passes it: without `needs`.
  void AsAbi10() { sink_.struct_size = offsetof(rft_wave_sink, needs); }

  // When set, `put` answers this status on its first call.
  rft_status fail_with = RFT_OK;

  std::vector<std::string> problems;
  std::vector<std::string> order_refs;
  std::set<std::string> order_set;
  // Per order: stable_id, priority and ship_date, as text.
  std::map<std::string, std::string> order_keys;
  std::map<std::string, std::set<int32_t>> lines;  // order -> line numbers
  std::vector<std::string> reservation_orders;
  std::map<int32_t, size_t> counts;
  int capability_calls = 0;
  uint64_t capabilities = 0;
  int puts_after_failure = 0;

 private:
  void Problem(const std::string& what) {
    if (problems.size() < 25) problems.push_back(what);
  }
  void Str(const char* kind, size_t i, const char* field, rft_str s,
           bool required) {
    std::string where =
        std::string(kind) + " #" + std::to_string(i) + " " + field;
    if (s.data == nullptr && s.len != 0) {
      Problem(where + ": NULL data with length " + std::to_string(s.len));
      return;
    }
    if (required && (s.data == nullptr || s.len == 0)) {
      Problem(where + ": required, but absent or empty");
      return;
    }
    if (s.data != nullptr && !ValidUtf8(Own(s))) {
      Problem(where + ": not valid UTF-8");
    }
  }
  void Dec(const char* kind, size_t i, const char* field, rft_decimal d) {
    if (d.is_null == 0 && (d.scale < 0 || d.scale > 18)) {
      Problem(std::string(kind) + " #" + std::to_string(i) + " " + field +
              ": scale " + std::to_string(d.scale) + " outside 0..18");
    }
  }
  void Time(const char* kind, size_t i, const char* field, rft_time t) {
    if (t.kind < RFT_TIME_NONE || t.kind > RFT_TIME_LOCAL) {
      Problem(std::string(kind) + " #" + std::to_string(i) + " " + field +
              ": unknown time kind " + std::to_string(t.kind));
    }
  }
  void Flag(const char* kind, size_t i, const char* field, int32_t f) {
    if (f < RFT_FLAG_UNKNOWN || f > RFT_FLAG_YES) {
      Problem(std::string(kind) + " #" + std::to_string(i) + " " + field +
              ": flag " + std::to_string(f) + " is not -1, 0 or 1");
    }
  }
  void Range(const char* kind, size_t i, const char* field, int32_t v,
             int32_t lo, int32_t hi) {
    if (v < lo || v > hi) {
      Problem(std::string(kind) + " #" + std::to_string(i) + " " + field +
              ": " + std::to_string(v) + " outside " + std::to_string(lo) +
              ".." + std::to_string(hi));
    }
  }

  template <typename R>
  static const R& At(const void* records, size_t i, uint32_t stride) {
    return *reinterpret_cast<const R*>(static_cast<const char*>(records) +
                                       i * stride);
  }

  template <typename R, typename F>
  void Each(const char* kind, const void* records, size_t count, F check) {
    uint32_t stride = static_cast<const R*>(records)->struct_size;
    if (stride < sizeof(R)) {
      Problem(std::string(kind) + ": struct_size " + std::to_string(stride) +
              " is smaller than ABI " + std::to_string(RFT_ADAPTER_ABI_MAJOR) +
              "." + std::to_string(RFT_ADAPTER_ABI_MINOR) + "'s " +
              std::to_string(sizeof(R)));
      return;
    }
    for (size_t i = 0; i < count; ++i) {
      const R& r = At<R>(records, i, stride);
      if (r.struct_size != stride) {
        Problem(std::string(kind) + " #" + std::to_string(i) +
                ": struct_size differs within one batch");
        return;
      }
      check(r, i);
    }
  }

  rft_status OnPut(int32_t kind, const void* records, size_t count) {
    if (fail_with != RFT_OK) {
      if (counts.count(-1) != 0) ++puts_after_failure;
      counts[-1] = 1;
      return fail_with;
    }
    if (count == 0) return RFT_OK;
    if (records == nullptr) {
      Problem("put of " + std::to_string(count) + " records with NULL");
      return RFT_OK;
    }
    counts[kind] += count;
    switch (kind) {
      case RFT_REC_ORDER:
        Each<rft_order>(
            "order", records, count, [&](const rft_order& r, size_t i) {
              Str("order", i, "ref", r.ref, true);
              for (rft_str s : {r.stable_id, r.site, r.provider, r.customer_ref,
                                r.customer_order_ref, r.ship_to_name, r.street,
                                r.city, r.postcode, r.country, r.carrier,
                                r.carrier_service, r.status_text}) {
                Str("order", i, "text field", s, false);
              }
              Time("order", i, "ship_date", r.ship_date);
              Time("order", i, "created_at", r.created_at);
              Time("order", i, "release_at", r.release_at);
              std::string ref = Own(r.ref);
              order_keys[ref] = Own(r.stable_id) + "|" + Own(r.site) + "|" +
                                std::to_string(r.priority) + "|" +
                                std::to_string(r.ship_date.kind) + ":" +
                                std::to_string(r.ship_date.value);
              if (!order_set.insert(ref).second) {
                Problem("order '" + ref + "' put twice in one load");
              }
              order_refs.push_back(ref);
            });
        break;
      case RFT_REC_LINE:
        Each<rft_order_line>(
            "line", records, count, [&](const auto& r, size_t i) {
              Str("line", i, "order_ref", r.order_ref, true);
              for (rft_str s : {r.line_ref, r.sku, r.uom, r.location, r.lot}) {
                Str("line", i, "text field", s, false);
              }
              Dec("line", i, "qty", r.qty);
              if (r.line_no < 1) {
                Problem("line #" + std::to_string(i) + ": line_no " +
                        std::to_string(r.line_no) + " (must be 1 or more)");
              }
              if (!lines[Own(r.order_ref)].insert(r.line_no).second) {
                Problem("order '" + Own(r.order_ref) + "' has line_no " +
                        std::to_string(r.line_no) + " twice");
              }
            });
        break;
      case RFT_REC_ITEM:
        Each<rft_item>("item", records, count, [&](const auto& r, size_t i) {
          Str("item", i, "sku", r.sku, true);
          Str("item", i, "base_uom", r.base_uom, false);
          Str("item", i, "hazmat_class", r.hazmat_class, false);
          Str("item", i, "description", r.description, false);
          Flag("item", i, "active", r.active);
          Flag("item", i, "lot_tracked", r.lot_tracked);
          Flag("item", i, "serial_tracked", r.serial_tracked);
          Range("item", i, "removal_strategy", r.removal_strategy, 0, 3);
          Dec("item", i, "unit_weight_kg", r.unit_weight_kg);
          Dec("item", i, "unit_volume_m3", r.unit_volume_m3);
          if (r.min_shelf_life_days < -1) {
            Problem("item #" + std::to_string(i) + ": min_shelf_life_days " +
                    std::to_string(r.min_shelf_life_days));
          }
        });
        break;
      case RFT_REC_UNIT:
        Each<rft_unit>("unit", records, count, [&](const auto& r, size_t i) {
          Str("unit", i, "code", r.code, true);
          Str("unit", i, "category", r.category, false);
          Range("unit", i, "factor_kind", r.factor_kind, 0, 1);
          Dec("unit", i, "factor", r.factor);
          Dec("unit", i, "rounding", r.rounding);
        });
        break;
      case RFT_REC_ITEM_UNIT:
        Each<rft_item_unit>(
            "item unit", records, count, [&](const auto& r, size_t i) {
              Str("item unit", i, "sku", r.sku, true);
              Str("item unit", i, "uom", r.uom, true);
              Range("item unit", i, "factor_kind", r.factor_kind, 0, 1);
              Dec("item unit", i, "factor", r.factor);
            });
        break;
      case RFT_REC_STOCK:
        Each<rft_stock>("stock", records, count, [&](const auto& r, size_t i) {
          Str("stock", i, "sku", r.sku, true);
          Str("stock", i, "location", r.location, false);
          Str("stock", i, "lot", r.lot, false);
          Dec("stock", i, "on_hand", r.on_hand);
          Dec("stock", i, "reserved_qty", r.reserved_qty);
          Time("stock", i, "in_date", r.in_date);
        });
        break;
      case RFT_REC_LOT:
        Each<rft_lot>("lot", records, count, [&](const auto& r, size_t i) {
          Str("lot", i, "sku", r.sku, true);
          Str("lot", i, "lot", r.lot, true);
          Range("lot", i, "status", r.status, 0, 3);
          Time("lot", i, "expiry", r.expiry);
          Time("lot", i, "removal_date", r.removal_date);
        });
        break;
      case RFT_REC_LOCATION:
        Each<rft_location>("location", records, count,
                           [&](const auto& r, size_t i) {
                             Str("location", i, "code", r.code, true);
                             Str("location", i, "zone", r.zone, false);
                             Str("location", i, "parent", r.parent, false);
                             Flag("location", i, "pickable", r.pickable);
                             Flag("location", i, "blocked", r.blocked);
                           });
        break;
      case RFT_REC_CUSTOMER:
        Each<rft_customer>(
            "customer", records, count, [&](const auto& r, size_t i) {
              Str("customer", i, "ref", r.ref, true);
              Str("customer", i, "name", r.name, false);
              Str("customer", i, "hold_reason", r.hold_reason, false);
              Flag("customer", i, "blocked", r.blocked);
              Flag("customer", i, "credit_hold", r.credit_hold);
            });
        break;
      case RFT_REC_CARRIER_SERVICE:
        Each<rft_carrier_service>(
            "carrier service", records, count, [&](const auto& r, size_t i) {
              Str("carrier service", i, "code", r.code, true);
              Str("carrier service", i, "carrier", r.carrier, false);
              Flag("carrier service", i, "hazmat_allowed", r.hazmat_allowed);
              Range("carrier service", i, "cutoff_minute", r.cutoff_minute, -1,
                    24 * 60 - 1);
              Dec("carrier service", i, "max_parcel_weight_kg",
                  r.max_parcel_weight_kg);
            });
        break;
      case RFT_REC_RESERVATION:
        Each<rft_reservation>(
            "reservation", records, count, [&](const auto& r, size_t i) {
              Str("reservation", i, "order_ref", r.order_ref, true);
              Str("reservation", i, "location", r.location, false);
              Str("reservation", i, "lot", r.lot, false);
              Dec("reservation", i, "qty", r.qty);
              reservation_orders.push_back(Own(r.order_ref));
            });
        break;
      case RFT_REC_HISTORY_LINE:
        Each<rft_history_line>(
            "history line", records, count, [&](const auto& r, size_t i) {
              Str("history line", i, "customer_ref", r.customer_ref, true);
              Str("history line", i, "sku", r.sku, true);
              Dec("history line", i, "qty", r.qty);
              Time("history line", i, "created_at", r.created_at);
            });
        break;
      default:
        Problem("record kind " + std::to_string(kind) +
                " is not defined by ABI " +
                std::to_string(RFT_ADAPTER_ABI_MAJOR) + "." +
                std::to_string(RFT_ADAPTER_ABI_MINOR));
    }
    return RFT_OK;
  }

  static rft_status Put(void* ctx, int32_t kind, const void* records,
                        size_t count) {
    return static_cast<CheckingSink*>(ctx)->OnPut(kind, records, count);
  }
  static void SetCaps(void* ctx, uint64_t caps) {
    auto* self = static_cast<CheckingSink*>(ctx);
    ++self->capability_calls;
    self->capabilities = caps;
  }

  rft_wave_sink sink_{};
};

rft_selection Ready() {
  rft_selection s{};
  s.struct_size = sizeof s;
  s.mode = RFT_SELECT_READY;
  return s;
}

std::string Joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += "\n  " + s;
  return out;
}

// ------------------------------------------------------------- the entry

TEST(Entry, LibraryLoadsAndExportsTheEntrySymbol) {
  ASSERT_NE(Library::Get().handle(), nullptr) << Library::Get().load_error();
  ASSERT_NE(Library::Get().entry(), nullptr) << Library::Get().load_error();
}

TEST(Entry, HandsOverACompleteTableForThisAbi) {
  REQUIRE_API(api);
  EXPECT_EQ(api->abi_major, static_cast<uint32_t>(RFT_ADAPTER_ABI_MAJOR));
  EXPECT_GE(api->struct_size, sizeof(rft_adapter_api))
      << "the table ends before ABI " << RFT_ADAPTER_ABI_MAJOR << "."
      << RFT_ADAPTER_ABI_MINOR << "'s last function";
  ASSERT_NE(api->name, nullptr);
  std::string name = api->name;
  EXPECT_FALSE(name.empty());
  for (char c : name) {
    EXPECT_TRUE((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')
        << "adapter name '" << name << "' must match [a-z][a-z0-9_]*";
  }
  std::string file =
      g_options.library.substr(g_options.library.find_last_of('/') + 1);
  EXPECT_EQ(file, "librftgate_adapter_" + name + ".so")
      << "the plugin loads adapter '" << name << "' from that file name";
  ASSERT_NE(api->version, nullptr);
  EXPECT_GT(std::strlen(api->version), 0u);
  EXPECT_NE(api->open, nullptr);
  EXPECT_NE(api->close, nullptr);
  EXPECT_NE(api->load, nullptr);
  EXPECT_NE(api->write_back, nullptr);
  EXPECT_NE(api->describe, nullptr);
  const bool any_page = api->list != nullptr || api->write_begin != nullptr ||
                        api->write_part != nullptr ||
                        api->write_commit != nullptr ||
                        api->write_abort != nullptr;
  EXPECT_EQ(any_page, RFT_ADAPTER_PAGES(api))
      << "a wave in pages needs all five functions (list, write_begin, "
         "write_part, write_commit, write_abort) or none";
  EXPECT_EQ(api->capabilities & ~((uint64_t{1} << 12) - 1), 0u)
      << "capability bits beyond those the ABI defines";
}

TEST(Entry, RefusesAnotherMajorVersionNamingBoth) {
  auto entry = Library::Get().entry();
  ASSERT_NE(entry, nullptr) << Library::Get().load_error();
  const rft_adapter_api* api = nullptr;
  char error[512] = {0};
  uint32_t other = RFT_ADAPTER_ABI_MAJOR + 1;
  EXPECT_EQ(entry(other, 0, &api, error, sizeof error), RFT_ERR_ABI);
  std::string message = error;
  EXPECT_NE(message.find(std::to_string(other) + ".0"), std::string::npos)
      << "the message should name the plugin's version " << other
      << ".0: " << message;
  EXPECT_NE(message.find(std::to_string(RFT_ADAPTER_ABI_MAJOR) + "."),
            std::string::npos)
      << "the message should name the adapter's own version: " << message;
}

TEST(Entry, SurvivesATinyOrMissingErrorBuffer) {
  auto entry = Library::Get().entry();
  ASSERT_NE(entry, nullptr) << Library::Get().load_error();
  const rft_adapter_api* api = nullptr;
  char one[1] = {'x'};
  EXPECT_EQ(entry(RFT_ADAPTER_ABI_MAJOR + 1, 0, &api, one, sizeof one),
            RFT_ERR_ABI);
  EXPECT_EQ(one[0], '\0') << "the message must stay NUL-terminated";
  EXPECT_EQ(entry(RFT_ADAPTER_ABI_MAJOR + 1, 0, &api, nullptr, 0), RFT_ERR_ABI);
}

// ----------------------------------------------------------- open, close

TEST(Open, CloseOfNullIsIgnored) {
  REQUIRE_API(api);
  api->close(nullptr);
}

TEST(Open, RefusesAConnectionItCannotUseWithAMessage) {
  REQUIRE_API(api);
  rft_status status;
  std::string message;
  auto h = Open(api, "no-such-backend://nowhere", g_options.options_json,
                &status, &message);
  EXPECT_NE(status, RFT_OK);
  EXPECT_FALSE(message.empty()) << "a refusal must say why";
}

TEST(Open, RefusesMalformedOptionsWithAMessage) {
  REQUIRE_API(api);
  rft_status status;
  std::string message;
  auto h =
      Open(api, g_options.connection, "{\"unterminated", &status, &message);
  EXPECT_NE(status, RFT_OK);
  EXPECT_FALSE(message.empty()) << "a refusal must say why";
}

TEST(Open, OpensAndDescribesWhatItFound) {
  REQUIRE_API(api);
  auto h = OpenConfigured(api);
  ASSERT_TRUE(h);
  std::vector<std::pair<std::string, std::string>> pairs;
  Call call;
  rft_status s = api->describe(
      h->get(),
      [](void* ctx, rft_str key, rft_str value) {
        static_cast<decltype(pairs)*>(ctx)->emplace_back(Own(key), Own(value));
      },
      &pairs, call.get());
  ASSERT_EQ(s, RFT_OK) << call.message();
  EXPECT_FALSE(pairs.empty()) << "describe reported nothing";
  for (const auto& [key, value] : pairs) {
    EXPECT_FALSE(key.empty());
    EXPECT_TRUE(ValidUtf8(key) && ValidUtf8(value)) << key;
  }
}

// ------------------------------------------------------------------ load

void ExpectWellFormed(const rft_adapter_api* api, const CheckingSink& sink) {
  EXPECT_TRUE(sink.problems.empty())
      << "records that break the ABI:" << Joined(sink.problems);
  EXPECT_EQ(sink.capability_calls, 1)
      << "set_capabilities must be called once per load";
  EXPECT_EQ(sink.capabilities & ~api->capabilities, 0u)
      << "the load announced capabilities the table does not declare";
  for (const auto& [order, numbers] : sink.lines) {
    EXPECT_TRUE(sink.order_set.count(order))
        << "lines of order '" << order << "', which was not put";
  }
  for (const auto& order : sink.reservation_orders) {
    EXPECT_TRUE(sink.order_set.count(order))
        << "a reservation of order '" << order << "', which was not put";
  }
}

TEST(Load, ReadyOrdersAreWellFormed) {
  REQUIRE_API(api);
  auto h = OpenConfigured(api);
  ASSERT_TRUE(h);
  CheckingSink sink;
  Call call;
  rft_selection sel = Ready();
  ASSERT_EQ(api->load(h->get(), &sel, sink.get(), call.get()), RFT_OK)
      << call.message();
  ExpectWellFormed(api, sink);
  std::string counts;
  for (const auto& [kind, n] : sink.counts) {
    counts += " kind" + std::to_string(kind) + "=" + std::to_string(n);
  }
  RecordProperty("records", counts);
  if (sink.order_refs.empty()) {
    std::fprintf(stderr,
                 "note: no order is ready for release in this database; "
                 "the load-by-refs and write-back checks have nothing to "
                 "work on\n");
  }
}

TEST(Load, ByRefsGivesThoseOrdersOnly) {
  REQUIRE_API(api);
  auto h = OpenConfigured(api);
  ASSERT_TRUE(h);
  CheckingSink ready;
  Call call;
  rft_selection sel = Ready();
  ASSERT_EQ(api->load(h->get(), &sel, ready.get(), call.get()), RFT_OK)
      << call.message();
  std::vector<std::string> wanted(
      ready.order_refs.begin(),
      ready.order_refs.begin() + static_cast<std::ptrdiff_t>(std::min<size_t>(
                                     3, ready.order_refs.size())));
  std::vector<std::string> asked = wanted;
  asked.push_back("rftgate-conformance-no-such-order");
  std::vector<rft_str> refs;
  for (const auto& r : asked) refs.push_back(Borrow(r));
  rft_selection by_refs{};
  by_refs.struct_size = sizeof by_refs;
  by_refs.mode = RFT_SELECT_REFS;
  by_refs.refs = refs.data();
  by_refs.ref_count = refs.size();
  CheckingSink sink;
  Call call2;
  ASSERT_EQ(api->load(h->get(), &by_refs, sink.get(), call2.get()), RFT_OK)
      << "an unknown ref is not an error: " << call2.message();
  ExpectWellFormed(api, sink);
  EXPECT_EQ(sink.order_set,
            std::set<std::string>(wanted.begin(), wanted.end()));
  for (const auto& ref : wanted) {
    EXPECT_EQ(sink.lines[ref], ready.lines[ref])
        << "order '" << ref << "' has other lines by ref than when ready";
  }
}

// The sink's `needs` (ABI 1.1): an adapter may leave out the inputs the
// plugin's checks do not read, but what it announces must be what a full
// load gives; a sink from a plugin built for ABI 1.0 gets everything.
TEST(Load, NeedsLeaveOutOnlyWhatIsNotAnnounced) {
  REQUIRE_API(api);
  auto h = OpenConfigured(api);
  ASSERT_TRUE(h);
  auto load = [&](CheckingSink& sink) {
    Call call;
    rft_selection sel = Ready();
    EXPECT_EQ(api->load(h->get(), &sel, sink.get(), call.get()), RFT_OK)
        << call.message();
    ExpectWellFormed(api, sink);
  };
  CheckingSink full;  // needs 0: everything
  load(full);
  static constexpr std::pair<uint64_t, std::array<int32_t, 2>> kInputs[] = {
      {RFT_CAP_ITEMS, {RFT_REC_ITEM, 0}},
      {RFT_CAP_UNITS, {RFT_REC_UNIT, RFT_REC_ITEM_UNIT}},
      {RFT_CAP_STOCK, {RFT_REC_STOCK, 0}},
      {RFT_CAP_LOTS, {RFT_REC_LOT, 0}},
      {RFT_CAP_LOCATIONS, {RFT_REC_LOCATION, 0}},
      {RFT_CAP_CUSTOMERS, {RFT_REC_CUSTOMER, 0}},
      {RFT_CAP_CARRIERS, {RFT_REC_CARRIER_SERVICE, 0}},
      {RFT_CAP_RESERVATIONS, {RFT_REC_RESERVATION, 0}},
      {RFT_CAP_HISTORY, {RFT_REC_HISTORY_LINE, 0}}};
  uint64_t all = 0;
  for (const auto& [cap, kinds] : kInputs) all |= cap;
  std::vector<uint64_t> asks = {RFT_CAP_ITEMS | RFT_CAP_UNITS};
  for (const auto& [cap, kinds] : kInputs) asks.push_back(all & ~cap);
  for (uint64_t needs : asks) {
    CheckingSink some;
    some.SetNeeds(needs);
    load(some);
    EXPECT_EQ(some.capabilities & ~full.capabilities, 0u)
        << "needs " << needs << ": announces what a full load does not";
    EXPECT_EQ(some.counts[RFT_REC_ORDER], full.counts[RFT_REC_ORDER]);
    EXPECT_EQ(some.counts[RFT_REC_LINE], full.counts[RFT_REC_LINE]);
    for (const auto& [cap, kinds] : kInputs) {
      if ((some.capabilities & cap) == 0) continue;
      for (int32_t kind : kinds) {
        if (kind == 0) continue;
        EXPECT_EQ(some.counts[kind], full.counts[kind])
            << "needs " << needs << ": capability " << cap
            << " announced, but records of kind " << kind
            << " differ from a full load";
      }
    }
  }
  CheckingSink old;
  old.SetNeeds(RFT_CAP_ITEMS);  // beyond the struct's end: ignored
  old.AsAbi10();
  load(old);
  EXPECT_EQ(old.capabilities, full.capabilities)
      << "a sink from a plugin built for ABI 1.0 asks for everything";
  EXPECT_EQ(old.counts, full.counts);
}

TEST(Load, StopsWhenCancelled) {
  REQUIRE_API(api);
  auto h = OpenConfigured(api);
  ASSERT_TRUE(h);
  CheckingSink sink;
  Call call;
  call.cancelled = 1;
  rft_selection sel = Ready();
  EXPECT_EQ(api->load(h->get(), &sel, sink.get(), call.get()),
            RFT_ERR_CANCELLED)
      << call.message();
  // The handle still works afterwards.
  CheckingSink again;
  Call call2;
  EXPECT_EQ(api->load(h->get(), &sel, again.get(), call2.get()), RFT_OK)
      << "after a cancelled load: " << call2.message();
}

TEST(Load, GivesUpAtAPassedDeadline) {
  REQUIRE_API(api);
  auto h = OpenConfigured(api);
  ASSERT_TRUE(h);
  CheckingSink sink;
  Call call;
  call.call.deadline_unix_ms = NowMs() - 1000;
  rft_selection sel = Ready();
  EXPECT_EQ(api->load(h->get(), &sel, sink.get(), call.get()), RFT_ERR_TIMEOUT)
      << call.message();
}

TEST(Load, StopsAtTheFirstSinkError) {
  REQUIRE_API(api);
  auto h = OpenConfigured(api);
  ASSERT_TRUE(h);
  CheckingSink sink;
  sink.fail_with = RFT_ERR_INVALID_ARGUMENT;
  Call call;
  std::snprintf(call.error, sizeof call.error, "refused by the sink");
  rft_selection sel = Ready();
  rft_status s = api->load(h->get(), &sel, sink.get(), call.get());
  if (sink.counts.count(-1) == 0) {
    GTEST_SKIP() << "the load put no record to refuse";
  }
  EXPECT_EQ(s, RFT_ERR_INVALID_ARGUMENT)
      << "the load must return the sink's status";
  EXPECT_EQ(sink.puts_after_failure, 0) << "the load went on putting records";
}

TEST(Load, RefusesAnUnknownSelectionMode) {
  REQUIRE_API(api);
  auto h = OpenConfigured(api);
  ASSERT_TRUE(h);
  CheckingSink sink;
  Call call;
  rft_selection sel = Ready();
  sel.mode = 99;
  EXPECT_EQ(api->load(h->get(), &sel, sink.get(), call.get()),
            RFT_ERR_INVALID_ARGUMENT);
  EXPECT_FALSE(call.message().empty());
}

TEST(Load, TwoHandlesOnTwoThreadsAtOnce) {
  REQUIRE_API(api);
  auto a = OpenConfigured(api);
  auto b = OpenConfigured(api);
  ASSERT_TRUE(a && b);
  CheckingSink sa, sb;
  Call ca, cb;
  rft_status s1 = RFT_ERR_INTERNAL, s2 = RFT_ERR_INTERNAL;
  rft_selection sel = Ready();
  std::thread t1([&] { s1 = api->load(a->get(), &sel, sa.get(), ca.get()); });
  std::thread t2([&] { s2 = api->load(b->get(), &sel, sb.get(), cb.get()); });
  t1.join();
  t2.join();
  EXPECT_EQ(s1, RFT_OK) << ca.message();
  EXPECT_EQ(s2, RFT_OK) << cb.message();
  EXPECT_EQ(sa.order_set, sb.order_set);
  EXPECT_EQ(sa.counts, sb.counts);
}

// ------------------------------------------------------------ write-back

// One run over the ready orders: every order passes, or the first one is
// held by one finding on its first line.
struct SyntheticRun {
  SyntheticRun(const CheckingSink& ready, const std::string& id,
               bool hold_first)
      : run_id(id) {
    run.struct_size = sizeof run;
    run.run_id = Borrow(run_id);
    run.ruleset = Borrow(kRuleset);
    run.started_at = rft_time{NowMs() * 1000, RFT_TIME_UTC, 0};
    run.finished_at = run.started_at;
    rows.resize(ready.order_refs.size());
    for (size_t i = 0; i < rows.size(); ++i) {
      rows[i] = rft_check_run_row{};
      rows[i].struct_size = sizeof(rft_check_run_row);
      rows[i].order_ref = Borrow(ready.order_refs[i]);
      bool held = hold_first && i == 0;
      rows[i].verdict = held ? RFT_VERDICT_HOLD : RFT_VERDICT_PASS;
      rows[i].decided_by = RFT_DECIDED_BY_CHECKS;
      rows[i].blocking_findings = held ? 1 : 0;
      rows[i].duration_us = 10;
    }
    if (hold_first && !ready.order_refs.empty()) {
      rft_finding_row f{};
      f.struct_size = sizeof f;
      f.order_ref = Borrow(ready.order_refs[0]);
      f.line_no = 1;
      f.check_id = Borrow(kCheck);
      f.severity = RFT_SEVERITY_BLOCK;
      f.message = Borrow(kText);
      f.details_json = Borrow(kDetails);
      findings.push_back(f);
    }
  }
  SyntheticRun(const SyntheticRun&) = delete;
  SyntheticRun& operator=(const SyntheticRun&) = delete;

  rft_status WriteBack(const rft_adapter_api* api, rft_adapter* h,
                       std::string* message) const {
    Call call;
    rft_status s = api->write_back(
        h, &run, rows.empty() ? nullptr : rows.data(), rows.size(),
        findings.empty() ? nullptr : findings.data(), findings.size(),
        call.get());
    *message = call.message();
    return s;
  }

  // The rows of orders [first, end) and their findings, as one part.
  rft_status WritePart(const rft_adapter_api* api, rft_adapter* h, size_t first,
                       size_t end, std::string* message) const {
    std::vector<rft_finding_row> part_findings;
    for (const auto& f : findings) {
      for (size_t i = first; i < end; ++i) {
        if (Own(f.order_ref) == Own(rows[i].order_ref)) {
          part_findings.push_back(f);
        }
      }
    }
    Call call;
    rft_status s = api->write_part(
        h, end > first ? rows.data() + first : nullptr, end - first,
        part_findings.empty() ? nullptr : part_findings.data(),
        part_findings.size(), call.get());
    *message = call.message();
    return s;
  }

  static inline const std::string kRuleset = "conformance";
  static inline const std::string kCheck = "stock.short";
  static inline const std::string kText = "line 1: conformance finding";
  static inline const std::string kDetails =
      "{\"observed\": 1, \"expected\": 2}";
  std::string run_id;
  rft_writeback_run run{};
  std::vector<rft_check_run_row> rows;
  std::vector<rft_finding_row> findings;
};

rft_status WriteRun(const rft_adapter_api* api, rft_adapter* h,
                    const CheckingSink& ready, const std::string& run_id,
                    bool hold_first, std::string* message) {
  return SyntheticRun(ready, run_id, hold_first).WriteBack(api, h, message);
}

TEST(WriteBack, WritesARunItsRetryAndAPassingRecheck) {
  if (!g_options.write) {
    GTEST_SKIP() << "--write not given: nothing is written to the database";
  }
  REQUIRE_API(api);
  auto h = OpenConfigured(api);
  ASSERT_TRUE(h);
  CheckingSink ready;
  Call call;
  rft_selection sel = Ready();
  ASSERT_EQ(api->load(h->get(), &sel, ready.get(), call.get()), RFT_OK)
      << call.message();
  std::string stamp = std::to_string(NowMs());
  std::string message;
  ASSERT_EQ(WriteRun(api, h->get(), ready, "conformance-" + stamp + "-1", true,
                     &message),
            RFT_OK)
      << message;
  EXPECT_EQ(WriteRun(api, h->get(), ready, "conformance-" + stamp + "-1", true,
                     &message),
            RFT_OK)
      << "the same run written again must change nothing and succeed: "
      << message;
  EXPECT_EQ(WriteRun(api, h->get(), ready, "conformance-" + stamp + "-2", false,
                     &message),
            RFT_OK)
      << "a passing re-check: " << message;
}

// ------------------------------------------------------ a wave in pages

#define REQUIRE_PAGES(api)                                                 \
  if (!RFT_ADAPTER_PAGES(api)) {                                           \
    GTEST_SKIP() << "the adapter does not provide a wave in pages (list, " \
                    "write_begin, write_part, write_commit, write_abort "  \
                    "are NULL): the plugin loads and writes its waves "    \
                    "whole";                                               \
  }

#define REQUIRE_PAGED_WRITE(api)                                             \
  if (!g_options.write) {                                                    \
    GTEST_SKIP() << "--write not given: nothing is written to the database"; \
  }                                                                          \
  REQUIRE_API(api);                                                          \
  REQUIRE_PAGES(api)

// The orders ready for release, loaded through `h` into `sink`.
void LoadReady(const rft_adapter_api* api, rft_adapter* h, CheckingSink& sink) {
  Call call;
  rft_selection sel = Ready();
  ASSERT_EQ(api->load(h, &sel, sink.get(), call.get()), RFT_OK)
      << call.message();
}

TEST(Pages, ListPutsTheOrdersLoadPutsWithTheirKeys) {
  REQUIRE_API(api);
  REQUIRE_PAGES(api);
  auto h = OpenConfigured(api);
  ASSERT_TRUE(h);
  CheckingSink loaded;
  ASSERT_NO_FATAL_FAILURE(LoadReady(api, h->get(), loaded));
  rft_selection sel = Ready();
  CheckingSink listed;
  Call call2;
  ASSERT_EQ(api->list(h->get(), &sel, listed.get(), call2.get()), RFT_OK)
      << call2.message();
  EXPECT_TRUE(listed.problems.empty())
      << "records that break the ABI:" << Joined(listed.problems);
  EXPECT_EQ(listed.order_set, loaded.order_set)
      << "list must put the orders load puts for the same selection";
  EXPECT_EQ(listed.capability_calls, 0) << "list announces no capabilities";
  for (const auto& [kind, n] : listed.counts) {
    EXPECT_EQ(kind, RFT_REC_ORDER)
        << "list put " << n << " records of kind " << kind;
  }
  for (const auto& [ref, keys] : listed.order_keys) {
    EXPECT_EQ(keys, loaded.order_keys[ref])
        << "order '" << ref
        << "': stable_id|site|priority|ship_date differ from load's";
  }
}

using Described = std::map<std::string, std::string>;

Described Describe(const rft_adapter_api* api, rft_adapter* h) {
  Described out;
  Call call;
  EXPECT_EQ(api->describe(
                h,
                [](void* ctx, rft_str key, rft_str value) {
                  (*static_cast<Described*>(ctx))[Own(key)] = Own(value);
                },
                &out, call.get()),
            RFT_OK)
      << call.message();
  return out;
}

// How describe's report changed from `a` to `b`: for a value whose text
// around its numbers stayed the same, the differences of the numbers;
// otherwise the two values.
std::map<std::string, std::string> Change(const Described& a,
                                          const Described& b) {
  auto split = [](const std::string& v) {
    std::string text;
    std::vector<long long> numbers;
    for (size_t i = 0; i < v.size();) {
      if (v[i] >= '0' && v[i] <= '9') {
        size_t j = i;
        while (j < v.size() && v[j] >= '0' && v[j] <= '9') ++j;
        numbers.push_back(std::stoll(v.substr(i, j - i)));
        text += '#';
        i = j;
      } else {
        text += v[i++];
      }
    }
    return std::pair{text, numbers};
  };
  std::map<std::string, std::string> change;
  for (const auto& [key, before] : a) {
    auto it = b.find(key);
    const std::string after = it == b.end() ? "(gone)" : it->second;
    auto [text_a, num_a] = split(before);
    auto [text_b, num_b] = split(after);
    if (text_a != text_b) {
      change[key] = before + " -> " + after;
      continue;
    }
    std::string d;
    for (size_t i = 0; i < num_a.size(); ++i) {
      d += std::to_string(num_b[i] - num_a[i]) + " ";
    }
    change[key] = d;
  }
  for (const auto& [key, after] : b) {
    if (!a.count(key)) change[key] = "(new) " + after;
  }
  return change;
}

TEST(Pages, AWaveInPagesWritesWhatWriteBackWrites) {
  REQUIRE_PAGED_WRITE(api);
  auto h = OpenConfigured(api);
  ASSERT_TRUE(h);
  CheckingSink ready;
  ASSERT_NO_FATAL_FAILURE(LoadReady(api, h->get(), ready));
  const std::string stamp = "conformance-pages-" + std::to_string(NowMs());
  std::string message;

  // A whole write-back, then the same rows as a wave in two parts with a
  // load of the second part's orders between them, then the same rows
  // written whole again: the wave changes what describe reports as the
  // whole write-back after it does.
  SyntheticRun first(ready, stamp + "-1", true);
  ASSERT_EQ(first.WriteBack(api, h->get(), &message), RFT_OK) << message;
  const Described d1 = Describe(api, h->get());

  SyntheticRun paged(ready, stamp + "-2", true);
  rft_writeback_run open = paged.run;
  open.finished_at = rft_time{0, RFT_TIME_NONE, 0};
  Call begin;
  ASSERT_EQ(api->write_begin(h->get(), &open, begin.get()), RFT_OK)
      << begin.message();
  const size_t half = paged.rows.size() / 2;
  ASSERT_EQ(paged.WritePart(api, h->get(), 0, half, &message), RFT_OK)
      << message;
  std::vector<rft_str> refs;
  for (size_t i = half; i < paged.rows.size(); ++i) {
    refs.push_back(paged.rows[i].order_ref);
  }
  rft_selection by_refs{};
  by_refs.struct_size = sizeof by_refs;
  by_refs.mode = RFT_SELECT_REFS;
  by_refs.refs = refs.empty() ? nullptr : refs.data();
  by_refs.ref_count = refs.size();
  CheckingSink page;
  Call load;
  ASSERT_EQ(api->load(h->get(), &by_refs, page.get(), load.get()), RFT_OK)
      << "a load between write_begin and write_commit: " << load.message();
  EXPECT_EQ(page.order_set.size(), refs.size())
      << "the load inside the wave must see the wave's orders";
  ASSERT_EQ(paged.WritePart(api, h->get(), half, paged.rows.size(), &message),
            RFT_OK)
      << message;
  Call commit;
  ASSERT_EQ(api->write_commit(h->get(), &paged.run, commit.get()), RFT_OK)
      << commit.message();
  const Described d2 = Describe(api, h->get());

  SyntheticRun last(ready, stamp + "-3", true);
  ASSERT_EQ(last.WriteBack(api, h->get(), &message), RFT_OK) << message;
  const Described d3 = Describe(api, h->get());
  EXPECT_EQ(Change(d1, d2), Change(d2, d3))
      << "describe changed otherwise after the wave than after the same "
         "rows written whole";

  // The same wave again: succeeds and changes nothing.
  Call again;
  ASSERT_EQ(api->write_begin(h->get(), &open, again.get()), RFT_OK)
      << again.message();
  ASSERT_EQ(paged.WritePart(api, h->get(), 0, paged.rows.size(), &message),
            RFT_OK)
      << "the same run id again must change nothing and succeed: " << message;
  Call commit2;
  ASSERT_EQ(api->write_commit(h->get(), &paged.run, commit2.get()), RFT_OK)
      << commit2.message();
  EXPECT_EQ(Describe(api, h->get()), d3);
}

TEST(Pages, AnAbortedWaveLeavesNothing) {
  REQUIRE_PAGED_WRITE(api);
  auto h = OpenConfigured(api);
  ASSERT_TRUE(h);
  CheckingSink ready;
  ASSERT_NO_FATAL_FAILURE(LoadReady(api, h->get(), ready));
  const std::string stamp = "conformance-abort-" + std::to_string(NowMs());
  std::string message;
  // Once rftgate's records exist (an adapter may create them outside the
  // write transaction).
  ASSERT_EQ(SyntheticRun(ready, stamp + "-1", false)
                .WriteBack(api, h->get(), &message),
            RFT_OK)
      << message;
  const Described before = Describe(api, h->get());
  SyntheticRun run(ready, stamp + "-2", true);
  Call begin;
  ASSERT_EQ(api->write_begin(h->get(), &run.run, begin.get()), RFT_OK)
      << begin.message();
  ASSERT_EQ(run.WritePart(api, h->get(), 0, run.rows.size(), &message), RFT_OK)
      << message;
  Call abort;
  ASSERT_EQ(api->write_abort(h->get(), abort.get()), RFT_OK) << abort.message();
  EXPECT_EQ(Describe(api, h->get()), before)
      << "an aborted wave must leave nothing";
  Call nothing;
  EXPECT_EQ(api->write_abort(h->get(), nothing.get()), RFT_OK)
      << "write_abort with nothing open does nothing: " << nothing.message();
  Call commit;
  EXPECT_NE(api->write_commit(h->get(), &run.run, commit.get()), RFT_OK)
      << "write_commit without an open wave must fail";
  // The run id was not used up.
  EXPECT_EQ(run.WriteBack(api, h->get(), &message), RFT_OK) << message;
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  CLI::App app{
      "rftgate-adapter-conformance: checks an adapter library against the "
      "contract of rftgate/adapter_abi.h, on a test database of yours.\n\n"
      "Example:\n"
      "  rftgate-adapter-conformance --library ./librftgate_adapter_mywms.so "
      "\\\n      --connection 'postgresql://dbname=wms_test' --options "
      "'{\"mapping\": \"mapping.yaml\"}' --write\n\n"
      "Exit status: 0 all checks pass, 1 a check fails, 2 usage."};
  app.add_option("--library", g_options.library,
                 "path of librftgate_adapter_<name>.so")
      ->required();
  app.add_option("--connection", g_options.connection,
                 "the connection string, as adapter.connection in the "
                 "config (a test database)")
      ->required();
  app.add_option("--options", g_options.options_json,
                 "adapter.options as JSON (default {})");
  app.add_option("--config-dir", g_options.config_dir,
                 "folder that relative paths in the options resolve from "
                 "(default .)");
  app.add_flag("--write", g_options.write,
               "also check write-back: writes rftgate's records into that "
               "database");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  if (g_options.library.find('/') == std::string::npos) {
    g_options.library = "./" + g_options.library;
  }
  return RUN_ALL_TESTS() == 0 ? 0 : 1;
}
