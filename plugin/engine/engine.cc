#include "plugin/engine/engine.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <initializer_list>
#include <iterator>
#include <stdexcept>
#include <type_traits>
#include <unordered_map>

#include "fmt/format.h"
#include "nlohmann/json.hpp"
#include "plugin/engine/dates.h"
#include "plugin/engine/postcodes.h"
#include "plugin/engine/wave_data.h"

namespace rftgate {
namespace {

// Indexes of the built-in checks; the order of CheckCatalogue().
enum CheckIdx : int {
  kItemUnknown,
  kItemInactive,
  kQtyInvalid,
  kUomMismatch,
  kStockShort,
  kLocationMismatch,
  kLotMissing,
  kLotExpired,
  kLotShelfLife,
  kLotFefo,
  kLotQuarantine,
  kOrderDuplicate,
  kAddressIncomplete,
  kCarrierConstraint,
  kCustomerHold,
  kQtyOutlier,
  kNumChecks
};

constexpr std::array<std::string_view, kNumChecks> kCheckIds = {
    "item.unknown",       "item.inactive",      "qty.invalid",
    "uom.mismatch",       "stock.short",        "location.mismatch",
    "lot.missing",        "lot.expired",        "lot.shelf_life",
    "lot.fefo",           "lot.quarantine",     "order.duplicate",
    "address.incomplete", "carrier.constraint", "customer.hold",
    "qty.outlier"};

// A value of a finding's details. Views what it is given: it must not
// outlive the full expression that makes it.
class JsonValue {
 public:
  JsonValue(std::nullptr_t) {}  // NOLINT: implicit by design
  JsonValue(std::string_view s) : kind_(kString), text_(s) {}          // NOLINT
  JsonValue(const char* s) : JsonValue(std::string_view(s)) {}         // NOLINT
  JsonValue(const std::string& s) : JsonValue(std::string_view(s)) {}  // NOLINT
  JsonValue(bool b) : kind_(kBool), int_(b ? 1 : 0) {}                 // NOLINT
  template <typename T,
            std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>,
                             int> = 0>
  JsonValue(T v)  // NOLINT
      : kind_(std::is_signed_v<T> ? kInt : kUint),
        int_(static_cast<int64_t>(v)) {}
  JsonValue(const std::vector<std::string_view>& list)  // NOLINT
      : kind_(kList), list_(&list) {}

  // Appends the value as nlohmann::json::dump(-1, ' ', false, replace)
  // writes it.
  void AppendTo(std::string* out) const;

 private:
  enum Kind : uint8_t { kNull, kString, kBool, kInt, kUint, kList };
  static void AppendString(std::string_view s, std::string* out);
  Kind kind_ = kNull;
  std::string_view text_;
  int64_t int_ = 0;
  const std::vector<std::string_view>* list_ = nullptr;
};

void JsonValue::AppendString(std::string_view s, std::string* out) {
  // Bytes that nlohmann::json escapes or validates as UTF-8.
  static constexpr auto kSpecial = [] {
    std::array<uint8_t, 256> t{};
    for (int c = 0; c < 256; ++c) {
      t[c] = c < 0x20 || c >= 0x80 || c == '"' || c == '\\';
    }
    return t;
  }();
  uint8_t special = 0;
  for (char ch : s) special |= kSpecial[static_cast<unsigned char>(ch)];
  if (special == 0) {
    out->push_back('"');
    out->append(s);
    out->push_back('"');
    return;
  }
  // Escapes and UTF-8 repair exactly as nlohmann::json does.
  *out += nlohmann::json(s).dump(-1, ' ', false,
                                 nlohmann::json::error_handler_t::replace);
}

void JsonValue::AppendTo(std::string* out) const {
  switch (kind_) {
    case kNull:
      out->append("null");
      break;
    case kString:
      AppendString(text_, out);
      break;
    case kBool:
      out->append(int_ != 0 ? "true" : "false");
      break;
    case kInt:
      fmt::format_to(std::back_inserter(*out), "{}", int_);
      break;
    case kUint:
      fmt::format_to(std::back_inserter(*out), "{}",
                     static_cast<uint64_t>(int_));
      break;
    case kList:
      out->push_back('[');
      for (size_t i = 0; i < list_->size(); ++i) {
        if (i > 0) out->push_back(',');
        AppendString((*list_)[i], out);
      }
      out->push_back(']');
      break;
  }
}

using JsonField = std::pair<std::string_view, JsonValue>;

// A JSON object of the fields (and `extra` when not null, after them),
// keys in bytewise order, the first of equal keys kept: what nlohmann::json
// (std::map objects) dumps.
void JsonObject(std::initializer_list<JsonField> fields, const JsonField* extra,
                std::string* out) {
  std::array<const JsonField*, 16> sorted{};
  size_t n = 0;
  auto insert = [&](const JsonField& f) {
    if (n == sorted.size()) throw std::logic_error("too many detail fields");
    size_t k = n++;
    while (k > 0 && f.first < sorted[k - 1]->first) {
      sorted[k] = sorted[k - 1];
      --k;
    }
    sorted[k] = &f;
  };
  for (const JsonField& f : fields) insert(f);
  if (extra != nullptr) insert(*extra);
  const size_t start = out->size();
  out->push_back('{');
  for (size_t i = 0; i < n; ++i) {
    if (i > 0 && sorted[i]->first == sorted[i - 1]->first) continue;
    if (out->size() > start + 1) out->push_back(',');
    out->push_back('"');
    out->append(sorted[i]->first);  // keys are plain ASCII names
    out->append("\":");
    sorted[i]->second.AppendTo(out);
  }
  out->push_back('}');
}

std::string Q(Nano n) { return FormatNano(n); }

bool Blank(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    if (c == 0xC2 && i + 1 < s.size() &&
        static_cast<unsigned char>(s[i + 1]) == 0xA0) {
      ++i;
      continue;
    }
    return false;
  }
  return true;
}

bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    int n = c < 0x80         ? 0
            : (c >> 5) == 6  ? 1
            : (c >> 4) == 14 ? 2
            : (c >> 3) == 30 ? 3
                             : -1;
    if (n < 0 || (n == 1 && c < 0xC2) || i + n >= s.size() + (n > 0 ? 0 : 1)) {
      if (n != 0) return false;
    }
    for (int k = 1; k <= n; ++k) {
      if (i + k >= s.size() ||
          (static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) {
        return false;
      }
    }
    i += n + 1;
  }
  return true;
}

std::string TrimUpper(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

enum class Convert : uint8_t {
  kOk,
  kNoItem,       // SKU unknown: reported by item.unknown
  kUnknownUnit,  // the line's unit is not known
  kNoBaseUnit,   // the item's base unit is not known
  kCategory,     // different categories
  kRounds,       // would round
};

// The effective rules, read once from the ruleset.
struct EngineConfig {
  Ruleset ruleset;
  std::array<Severity, kNumChecks> severity{};
  // Parameters.
  Nano max_qty = 0;
  int64_t shelf_default_min = 0;
  int64_t fefo_tolerance = 0;
  int64_t dup_window_us = 0;
  bool dup_repeated_lines = true;
  bool addr_street = true, addr_city = true, addr_postcode = true,
       addr_country = true, addr_validate = true;
  bool car_hazmat = true, car_weight = true, car_cutoff = true;
  bool unknown_customer = true;
  double outlier_factor = 10;
  int64_t outlier_min_history = 5;
  // Zones.
  const date::time_zone* default_zone = nullptr;
  std::map<std::string, const date::time_zone*, std::less<>> site_zones;
  std::vector<std::string> zone_notes;

  explicit EngineConfig(Ruleset r) : ruleset(std::move(r)) {
    const auto& cat = CheckCatalogue();
    if (cat.size() != kNumChecks) throw std::logic_error("catalogue size");
    for (int i = 0; i < kNumChecks; ++i) {
      if (cat[i].id != kCheckIds[i]) throw std::logic_error("catalogue order");
      auto it = ruleset.checks.find(kCheckIds[i]);
      severity[i] = it == ruleset.checks.end() ? cat[i].default_severity
                                               : it->second.severity;
    }
    auto num = [&](std::string_view c, std::string_view p, double def) {
      try {
        return ruleset.Number(c, p);
      } catch (const std::logic_error&) {
        return def;
      }
    };
    auto integer = [&](std::string_view c, std::string_view p, int64_t def) {
      try {
        return ruleset.Int(c, p);
      } catch (const std::logic_error&) {
        return def;
      }
    };
    auto boolean = [&](std::string_view c, std::string_view p, bool def) {
      try {
        return ruleset.Bool(c, p);
      } catch (const std::logic_error&) {
        return def;
      }
    };
    max_qty = static_cast<Nano>(num("qty.invalid", "max_qty", 1e6) * 1e9);
    shelf_default_min = integer("lot.shelf_life", "default_min_days", 0);
    fefo_tolerance = integer("lot.fefo", "tolerance_days", 0);
    dup_window_us =
        integer("order.duplicate", "window_hours", 24) * 3'600'000'000LL;
    dup_repeated_lines = boolean("order.duplicate", "repeated_lines", true);
    try {
      const auto& req =
          ruleset.StringList("address.incomplete", "required_fields");
      auto has = [&](std::string_view f) {
        return std::find(req.begin(), req.end(), f) != req.end();
      };
      addr_street = has("street");
      addr_city = has("city");
      addr_postcode = has("postcode");
      addr_country = has("country");
    } catch (const std::logic_error&) {
    }
    addr_validate = boolean("address.incomplete", "validate_postcode", true);
    car_hazmat = boolean("carrier.constraint", "check_hazmat", true);
    car_weight = boolean("carrier.constraint", "check_weight", true);
    car_cutoff = boolean("carrier.constraint", "check_cutoff", true);
    unknown_customer = boolean("customer.hold", "unknown_customer", true);
    outlier_factor = num("qty.outlier", "factor", 10);
    outlier_min_history = integer("qty.outlier", "min_history", 5);

    std::string error;
    if (ruleset.default_timezone != "UTC") {
      default_zone = LocateZone(ruleset.default_timezone, &error);
      if (default_zone == nullptr) zone_notes.push_back(error + "; using UTC");
    }
    for (const auto& [site, zone] : ruleset.site_timezones) {
      const date::time_zone* z = nullptr;
      if (zone != "UTC") {
        z = LocateZone(zone, &error);
        if (z == nullptr) {
          zone_notes.push_back(
              fmt::format("site '{}': {}; using UTC", site, error));
        }
      }
      site_zones.emplace(site, z);
    }
  }
};

// What is wrong with a line's assigned pick location (location.mismatch).
enum class LocationProblem : uint8_t {
  kNone,
  kUnknown,    // not in the location list
  kUnusable,   // blocked or not pickable, itself or through a parent
  kHoldsNone,  // holds none of the SKU at or under it
};

// Checks whose blocking finding on a line names why the stock the line may
// take is unusable: when such a finding explains a shortage, the line gets
// no stock.short as well (one finding per root cause).
constexpr bool ExplainsShortage(int check) {
  return check == kLocationMismatch || check == kLotMissing ||
         check == kLotExpired || check == kLotQuarantine ||
         check == kLotShelfLife;
}

struct UndoEntry {
  uint32_t slot;
  bool reservation;
  Nano qty;
  uint32_t line;
};

// A hash of a text, the same in every wave (string ids are not).
uint64_t TextHash(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a
  for (char c : s) {
    h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
  }
  return Mix64(h ^ s.size());
}
// TextHash of a string id's text; an absent string differs from "".
uint64_t TextHashOf(const StringPool& sp, uint32_t id) {
  return id == kNone ? 0x5bd1e9955bd1e995ULL : TextHash(sp.Get(id));
}

// What the earlier pages of a wave left to the later ones (WaveCarry).
struct CarryState {
  // Stock taken by earlier pages' orders (not given back), per slot.
  struct Taken {
    Nano free = 0, reserved = 0;
  };
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const {
      return static_cast<size_t>(TextHash(s));
    }
  };
  // Keyed by SlotKeyText: the texts of the slot's SKU, location and lot.
  std::unordered_map<std::string, Taken, KeyHash, std::equal_to<>> stock;

  // The orders of earlier pages, reduced to what order.duplicate compares:
  // the hash of the customer's and the lines' texts (the key of
  // Runner::duplicate_key_), the created time in the site's zone and the
  // ref, for the finding's message.
  struct Order {
    uint64_t key;
    int64_t created;
    uint32_t ref_begin;  // into refs
    uint32_t ref_size : 31;
    uint32_t created_known : 1;
  };
  std::vector<Order> orders;
  std::string refs;
  // Open addressing by key: index + 1 into orders; 0 = empty. Equal keys
  // take several entries of one probe run.
  std::vector<uint32_t> table;

  std::string_view Ref(uint32_t i) const {
    return std::string_view(refs).substr(orders[i].ref_begin,
                                         orders[i].ref_size);
  }
  void AddOrder(uint64_t key, int64_t created, bool created_known,
                std::string_view ref) {
    if ((orders.size() + 1) * 2 > table.size()) {
      table.assign(std::max<size_t>(table.size() * 2, 64), 0);
      for (uint32_t i = 0; i < orders.size(); ++i) Place(i);
    }
    const size_t limit = (size_t{1} << 31) - 1;
    if (ref.size() > limit) ref = ref.substr(0, limit);
    orders.push_back({key, created, static_cast<uint32_t>(refs.size()),
                      static_cast<uint32_t>(ref.size()),
                      created_known ? 1u : 0u});
    refs.append(ref);
    Place(static_cast<uint32_t>(orders.size() - 1));
  }
  // Calls f(index) for every earlier order with the key.
  template <typename F>
  void ForEachOrder(uint64_t key, F f) const {
    if (table.empty()) return;
    const size_t mask = table.size() - 1;
    for (size_t i = static_cast<size_t>(key) & mask; table[i] != 0;
         i = (i + 1) & mask) {
      if (orders[table[i] - 1].key == key) f(table[i] - 1);
    }
  }
  size_t MemoryBytes() const {
    size_t bytes = stock.bucket_count() * sizeof(void*);
    for (const auto& [key, taken] : stock) {
      // A node: the key, the value, the link and the cached hash.
      bytes += sizeof(std::string) + sizeof(Taken) + 2 * sizeof(void*);
      if (key.capacity() > std::string().capacity()) {
        bytes += key.capacity() + 1;
      }
    }
    return bytes + orders.capacity() * sizeof(Order) + refs.capacity() +
           table.capacity() * sizeof(uint32_t);
  }

 private:
  void Place(uint32_t index) {
    const size_t mask = table.size() - 1;
    size_t i = static_cast<size_t>(orders[index].key) & mask;
    while (table[i] != 0) i = (i + 1) & mask;
    table[i] = index + 1;
  }
};

// Appends the texts of a slot's SKU, location and lot to *out, each with
// its length (absent strings differ from empty ones): the slot's key in
// every page of a wave.
void SlotKeyText(const StringPool& sp, const Slot& s, std::string* out) {
  out->clear();
  for (uint32_t id : {s.sku, s.location, s.lot}) {
    // A tag byte (absent or present), then the length and the text.
    const std::string_view text = sp.Get(id);
    const uint32_t size = static_cast<uint32_t>(text.size());
    out->append(id == kNone ? "\0" : "\1", 1);
    if (id == kNone) continue;
    out->append(reinterpret_cast<const char*>(&size), sizeof(size));
    out->append(text);
  }
}

// Per-order facts in the site's zone.
struct OrderTimes {
  int32_t ship_day = kNoDay;   // as requested
  int32_t judge_day = kNoDay;  // ship day, or the release day when absent
  int64_t release_local = 0;
  int32_t release_day = 0;
  int64_t created_key = 0;  // for duplicate windows, µs
  bool created_known = false;
};

template <typename ShipDay>
std::vector<uint32_t> ServingSequence(const WaveData& w, ShipDay ship_day);

class Runner {
 public:
  Runner(const EngineConfig& e, const WaveData& w, const RunContext& ctx,
         CarryState* carry)
      : e_(e), w_(w), sp_(*w.strings), ctx_(ctx), carry_(carry) {}

  WaveResult Run();

 private:
  bool Active(int c) const { return active_[c]; }
  bool Blocks(int c) const {
    return active_[c] && e_.severity[c] == Severity::kBlock;
  }
  // Adds a finding to the order being checked; `message` is copied.
  void Emit(int check, const LineRec* line, std::string_view message,
            std::initializer_list<JsonField> details);
  // Formats a message into a buffer reused for every finding; valid until
  // the next call.
  template <typename... T>
  std::string_view Msg(fmt::format_string<T...> f, T&&... args) {
    msg_.clear();
    fmt::format_to(std::back_inserter(msg_), f, std::forward<T>(args)...);
    return msg_;
  }
  void PrefetchOrder(uint32_t oi) const;
  void PrefetchItems(uint32_t oi) const;
  void PrefetchStock(uint32_t oi) const;
  void ResolveZones();
  void PrepareStock();
  void FindWaveDuplicates();
  // With a carry (the wave is a page of a larger one); kept out of Run,
  // which the whole wave runs through.
  [[gnu::noinline]] void TakeCarriedStock();
  [[gnu::noinline]] void FindEarlierPageDuplicates();
  [[gnu::noinline]] void KeepCarry();
  void CheckOrder(uint32_t oi, OrderResult& r);
  void CheckLine(const OrderRec& o, const OrderTimes& t, const LineRec& l,
                 Nano* weight, uint32_t* unknown_weights,
                 SignatureBuilder* base_sig, bool* base_sig_ok);
  Convert ToBase(const LineRec& l, const ItemRec* item, Nano* base,
                 const UnitRec** line_unit, const UnitRec** base_unit) const;
  void Allocate(const OrderRec& o, const OrderTimes& t, const LineRec& l,
                const ItemRec& item, Nano need, LocationProblem location);
  LocationProblem FindLocationProblem(const LineRec& l,
                                      const ItemRec* item) const;
  void EmitLocationMismatch(const LineRec& l, LocationProblem problem);
  // True when CheckLotUse reports a blocking finding on the line's
  // assigned lot.
  bool AssignedLotBlocks(const OrderTimes& t, const LineRec& l,
                         int32_t min_shelf) const;
  bool SlotQualityOk(uint32_t si, const ItemRec& item, const OrderTimes& t,
                     int32_t min_shelf, int* reason) const;
  // Per slot for the run: the free stock left, in base units, and what
  // SlotQualityOk reads; one 16-byte record so an item's slots share lines.
  struct SlotState {
    Nano free_left = 0;
    int32_t expiry = kNoDay;
    bool bad_location = false, lotless = false, bad_lot = false;
  };
  std::vector<SlotState> slot_state_;
  bool Under(const Slot& s, const LineRec& l) const;
  void CheckLotUse(const OrderTimes& t, const LineRec& l, uint32_t lot_str,
                   uint32_t lot_idx, int32_t min_shelf);
  void CheckAddress(const OrderRec& o);
  void CheckCarrierOrder(const OrderRec& o, const OrderTimes& t, Nano weight,
                         uint32_t unknown_weights);
  std::string_view S(uint32_t id) const { return sp_.Get(id); }
  // What findings read of a line besides what the checks read.
  const LineInfo& Info(const LineRec& l) const {
    return w_.line_info[static_cast<size_t>(&l - w_.lines.data())];
  }
  std::string_view UnitOf(const LineRec& l, const ItemRec* item) const {
    if (l.uom != kNone) return S(l.uom);
    if (item != nullptr && item->base_uom != kNone) return S(item->base_uom);
    return "units";
  }
  std::string_view BaseUnit(const ItemRec& item) const {
    return item.base_uom != kNone ? S(item.base_uom) : "units";
  }
  int32_t MinShelf(const OrderRec& o, const ItemRec& item) const {
    int64_t m = e_.shelf_default_min > 0 ? e_.shelf_default_min : -1;
    if (o.customer_idx != kNone) {
      int32_t c = w_.customers[o.customer_idx].min_shelf_life_days;
      if (c >= 0) m = std::max<int64_t>(m, c);
    }
    if (item.min_shelf_life_days >= 0) {
      m = std::max<int64_t>(m, item.min_shelf_life_days);
    }
    return static_cast<int32_t>(m);
  }

  const EngineConfig& e_;
  const WaveData& w_;
  const StringPool& sp_;
  const RunContext& ctx_;
  CarryState* const carry_;  // nullptr: the wave is whole
  std::array<bool, kNumChecks> active_{};
  bool allocate_ = false;
  bool use_locations_ = false;
  std::vector<OrderTimes> times_;
  std::vector<int32_t> lot_expiry_;
  std::vector<Nano> res_left_;
  std::vector<UndoEntry> undo_;
  // Per order: an earlier equal order; with a carry, an index i >= the
  // number of orders names the earlier page's order i - orders.
  std::vector<uint32_t> duplicate_of_;
  // With a carry: the free and reserved stock per slot once earlier pages'
  // part is taken off; per order the hash of its customer's and lines'
  // texts, which order.duplicate compares across pages (0 = not compared).
  std::vector<Nano> carry_free0_, carry_res0_;
  std::vector<uint64_t> duplicate_key_;
  std::string key_buf_;
  std::unordered_map<uint64_t, bool> postcode_cache_;
  // Per string id, computed on first use: kTextKnown | kTextBlank |
  // kTextUtf8.
  static constexpr uint8_t kTextKnown = 1, kTextBlank = 2, kTextUtf8 = 4;
  std::vector<uint8_t> text_flags_;
  uint8_t TextFlags(uint32_t id) {
    uint8_t& f = text_flags_[id];
    if (f == 0) {
      const std::string_view text = S(id);
      f = kTextKnown | (Blank(text) ? kTextBlank : 0) |
          (ValidUtf8(text) ? kTextUtf8 : 0);
    }
    return f;
  }
  // FindCountry of the last country string id seen.
  uint32_t last_country_id_ = kNone;
  int last_country_ = -1;
  std::vector<std::pair<uint32_t, uint32_t>> lot_uses_;  // (lot str, idx)
  std::vector<uint32_t> repeat_buf_;
  // The order's customer in the order history, or nullptr.
  const HistoryCustomer* history_ = nullptr;
  // Per order when qty.outlier is active: its customer in the history.
  std::vector<const HistoryCustomer*> history_of_;
  WaveResult result_;
  std::shared_ptr<ResultStore> store_ = std::make_shared<ResultStore>();
  // Every finding of the run, in serving sequence; per order its first
  // finding and count, in result_.orders' order.
  std::vector<Finding> findings_;
  std::vector<std::pair<size_t, size_t>> finding_runs_;
  std::string msg_, details_;  // reused for each finding
  // While a short line's findings are made: the quantity it could not be
  // given, added to the details of the findings that explain why
  // (ExplainsShortage) in place of a stock.short; -1 otherwise.
  Nano unallocated_ = -1;
};

void Runner::Emit(int check, const LineRec* line, std::string_view message,
                  std::initializer_list<JsonField> details) {
  Finding& f = findings_.emplace_back();
  if (line != nullptr) {
    const LineInfo& info = Info(*line);
    f.line_no = info.line_no;
    // The wave's strings live as long as the store.
    if (info.line_ref != kNone) f.line_ref = S(info.line_ref);
  }
  f.check_id = kCheckIds[check];
  f.severity = e_.severity[check];
  f.message = store_->Keep(message);
  details_.clear();
  if (unallocated_ >= 0 && line != nullptr && ExplainsShortage(check) &&
      f.severity == Severity::kBlock) {
    const std::string qty = Q(unallocated_);
    const JsonField extra{"unallocated", JsonValue(qty)};
    JsonObject(details, &extra, &details_);
  } else {
    JsonObject(details, nullptr, &details_);
  }
  f.details_json = store_->Keep(details_);
}

WaveResult Runner::Run() {
  const uint64_t caps = w_.capabilities;
  const auto& cat = CheckCatalogue();
  static constexpr std::pair<uint64_t, const char*> kInputs[] = {
      {RFT_CAP_ITEMS, "item master"},
      {RFT_CAP_UNITS, "unit conversions"},
      {RFT_CAP_STOCK, "stock"},
      {RFT_CAP_LOTS, "lots"},
      {RFT_CAP_LOCATIONS, "locations"},
      {RFT_CAP_CUSTOMERS, "customers"},
      {RFT_CAP_CARRIERS, "carrier services"},
      {RFT_CAP_RESERVATIONS, "reservations"},
      {RFT_CAP_HISTORY, "order history"},
      {RFT_CAP_WEIGHTS, "item weights"},
      {RFT_CAP_ADDRESSES, "ship-to addresses"}};
  for (int c = 0; c < kNumChecks; ++c) {
    if (e_.severity[c] == Severity::kOff) continue;
    uint64_t missing = cat[c].needs & ~caps;
    if (missing != 0) {
      std::string what;
      for (auto [bit, name] : kInputs) {
        if (missing & bit)
          what += (what.empty() ? "" : ", ") + std::string(name);
      }
      result_.notes.push_back(
          {std::string(kCheckIds[c]),
           fmt::format("not applicable: the adapter provides no {}", what)});
      continue;
    }
    if (ctx_.past_orders && cat[c].needs_current_stock &&
        !(caps & RFT_CAP_STOCK_AS_OF)) {
      result_.notes.push_back(
          {std::string(kCheckIds[c]),
           "skipped: past orders need stock and lots as they were at "
           "release, and the adapter provides only current stock"});
      continue;
    }
    active_[c] = true;
  }
  if (Active(kOrderDuplicate) && !(caps & RFT_CAP_HISTORY)) {
    result_.notes.push_back(
        {"order.duplicate",
         "past orders not compared: the adapter provides no order history; "
         "duplicates within the wave and repeated lines are still checked"});
  }
  if (Active(kCarrierConstraint) && e_.car_weight &&
      !(caps & RFT_CAP_WEIGHTS)) {
    result_.notes.push_back(
        {"carrier.constraint",
         "weight limits not checked: the adapter provides no item weights"});
  }
  for (const auto& n : e_.zone_notes) result_.notes.push_back({"", n});
  for (const auto& n : w_.notes) result_.notes.push_back({"", n});

  allocate_ = (caps & RFT_CAP_STOCK) &&
              (Active(kStockShort) || Active(kLotFefo) || Active(kLotExpired) ||
               Active(kLotShelfLife) || Active(kLotQuarantine) ||
               Active(kLotMissing)) &&
              !(ctx_.past_orders && !(caps & RFT_CAP_STOCK_AS_OF));
  use_locations_ = (caps & RFT_CAP_LOCATIONS) != 0;

  text_flags_.assign(sp_.size(), 0);
  ResolveZones();
  PrepareStock();
  if (carry_ != nullptr) TakeCarriedStock();
  if (Active(kOrderDuplicate)) FindWaveDuplicates();
  if (carry_ != nullptr && Active(kOrderDuplicate)) {
    FindEarlierPageDuplicates();
  }
  undo_.reserve(w_.lines.size());
  if (Active(kQtyOutlier)) {
    history_of_.resize(w_.orders.size());
    for (size_t i = 0; i < w_.orders.size(); ++i) {
      const uint32_t c = w_.orders[i].customer;
      history_of_[i] = c == kNone ? nullptr : w_.FindHistoryCustomer(c);
    }
  }

  // The serving sequence.
  std::vector<uint32_t> seq =
      ServingSequence(w_, [&](uint32_t i) { return times_[i].ship_day; });

  result_.orders.reserve(seq.size());
  finding_runs_.reserve(seq.size());
  store_->KeepAlive(w_.strings);
  for (size_t k = 0; k < seq.size(); ++k) {
    // Orders are served in a sequence unrelated to where their records
    // lie: fetch ahead what the next orders will read, one dependency level
    // per order of distance.
    if (k + 3 < seq.size()) PrefetchOrder(seq[k + 3]);
    if (k + 2 < seq.size()) PrefetchItems(seq[k + 2]);
    if (k + 1 < seq.size()) PrefetchStock(seq[k + 1]);
    CheckOrder(seq[k], result_.orders.emplace_back());
  }
  if (carry_ != nullptr) KeepCarry();
  // The findings move into the store (no reallocation: the views of the
  // wave's strings and of the store's blocks stay where they are).
  store_->findings = std::move(findings_);
  for (size_t k = 0; k < result_.orders.size(); ++k) {
    const auto [begin, count] = finding_runs_[k];
    result_.orders[k].findings =
        std::span<const Finding>(store_->findings.data() + begin, count);
  }
  result_.store = std::move(store_);
  return std::move(result_);
}

// Sorts *v stably by the 64-bit word(element), one pass per byte, skipping
// bytes that are the same in every element. Sorting by several words, least
// significant first, sorts by all of them.
template <typename T, typename Word>
void RadixSortBy(std::vector<T>* v, Word word) {
  std::vector<T> scratch(v->size());
  for (int shift = 0; shift < 64; shift += 8) {
    std::array<size_t, 257> at{};
    for (const T& e : *v) ++at[((word(e) >> shift) & 0xFF) + 1];
    if (std::find(at.begin() + 1, at.end(), v->size()) != at.end()) continue;
    for (size_t d = 1; d < at.size(); ++d) at[d] += at[d - 1];
    for (const T& e : *v) scratch[at[(word(e) >> shift) & 0xFF]++] = e;
    v->swap(scratch);
  }
}

// Big-endian first 8 bytes of s from `at`, zero-padded: comparing two such
// words orders the strings as a bytewise comparison of those bytes does.
uint64_t PrefixWord(std::string_view s, size_t at) {
  uint64_t v = 0;
  if constexpr (std::endian::native == std::endian::little) {
    if (at + 8 <= s.size()) {
      std::memcpy(&v, s.data() + at, 8);
      return __builtin_bswap64(v);
    }
  }
  for (size_t i = 0; i < 8; ++i) {
    v <<= 8;
    if (at + i < s.size()) v |= static_cast<unsigned char>(s[at + i]);
  }
  return v;
}

// The wave's orders in the serving sequence; ship_day(order index) is the
// order's ship day (kNoDay when it has none).
template <typename ShipDay>
std::vector<uint32_t> ServingSequence(const WaveData& w, ShipDay ship_day) {
  auto S = [&](uint32_t id) { return w.strings->Get(id); };
  // Priority descending, ship day ascending with missing days last, ref
  // bytewise, stable id bytewise: the integer words decide all but ties in
  // the first 16 bytes of the ref.
  struct Key {
    uint64_t rank;  // ~priority, then ship day
    uint64_t ref0, ref1;
    uint32_t order;
  };
  std::vector<Key> keys(w.orders.size());
  for (uint32_t i = 0; i < keys.size(); ++i) {
    const OrderRec& o = w.orders[i];
    const uint32_t prio = ~(static_cast<uint32_t>(o.priority) ^ 0x80000000u);
    const int32_t day = ship_day(i);
    const uint32_t day_key =
        day == kNoDay ? UINT32_MAX : static_cast<uint32_t>(day) ^ 0x80000000u;
    const std::string_view ref = S(o.ref);
    keys[i] = {(static_cast<uint64_t>(prio) << 32) | day_key,
               PrefixWord(ref, 0), PrefixWord(ref, 8), i};
  }
  RadixSortBy(&keys, [](const Key& k) { return k.ref1; });
  RadixSortBy(&keys, [](const Key& k) { return k.ref0; });
  RadixSortBy(&keys, [](const Key& k) { return k.rank; });
  // Refs that agree in their first 16 bytes: compare them whole.
  auto same_words = [](const Key& a, const Key& b) {
    return a.rank == b.rank && a.ref0 == b.ref0 && a.ref1 == b.ref1;
  };
  for (size_t i = 0; i < keys.size();) {
    size_t j = i + 1;
    while (j < keys.size() && same_words(keys[i], keys[j])) ++j;
    if (j - i > 1) {
      std::sort(keys.begin() + static_cast<ptrdiff_t>(i),
                keys.begin() + static_cast<ptrdiff_t>(j),
                [&](const Key& a, const Key& b) {
                  const OrderRec& oa = w.orders[a.order];
                  const OrderRec& ob = w.orders[b.order];
                  if (oa.ref != ob.ref) {
                    std::string_view ra = S(oa.ref), rb = S(ob.ref);
                    if (ra != rb) return ra < rb;
                  }
                  std::string_view sa = S(oa.stable_id), sb = S(ob.stable_id);
                  if (sa != sb) return sa < sb;
                  return a.order < b.order;
                });
    }
    i = j;
  }
  std::vector<uint32_t> seq(keys.size());
  for (size_t k = 0; k < keys.size(); ++k) seq[k] = keys[k].order;
  return seq;
}

// Loads one byte at p (which must be valid) and discards it, to bring its
// cache line in ahead of use. Unlike __builtin_prefetch, which the machines
// we measured on drop, the load is always done; nothing waits for it.
inline void Touch(const void* p) {
  const char c = *static_cast<const volatile char*>(p);
  asm volatile("" : : "r"(c));
}

void Runner::PrefetchOrder(uint32_t oi) const {
  const OrderRec& o = w_.orders[oi];
  Touch(&o);
  const char* first =
      reinterpret_cast<const char*>(w_.lines.data() + o.line_begin);
  const char* last =
      reinterpret_cast<const char*>(w_.lines.data() + o.line_end);
  for (const char* p = first; p < last; p += 64) Touch(p);
  for (uint32_t id : {o.ref, o.stable_id, o.customer, o.customer_order_ref}) {
    sp_.Prefetch(id);
  }
}

void Runner::PrefetchItems(uint32_t oi) const {
  const OrderRec& o = w_.orders[oi];
  for (uint32_t li = o.line_begin; li < o.line_end; ++li) {
    const uint32_t item = w_.lines[li].item;
    if (item != kNone) Touch(&w_.items[item]);
  }
  for (uint32_t id : {o.ref, o.stable_id, o.customer, o.customer_order_ref}) {
    if (id != kNone) Touch(S(id).data());
  }
  if (!history_of_.empty() && history_of_[oi] != nullptr) {
    const HistoryCustomer& h = *history_of_[oi];
    const char* first =
        reinterpret_cast<const char*>(w_.history_skus.data() + h.begin);
    const char* last =
        reinterpret_cast<const char*>(w_.history_skus.data() + h.end);
    for (int n = 0; first < last && n < 4; first += 64, ++n) Touch(first);
  }
}

void Runner::PrefetchStock(uint32_t oi) const {
  const OrderRec& o = w_.orders[oi];
  for (uint32_t li = o.line_begin; li < o.line_end; ++li) {
    const uint32_t item = w_.lines[li].item;
    if (item == kNone) continue;
    const ItemRec& it = w_.items[item];
    if (it.slot_begin < it.slot_end) {
      Touch(&slot_state_[it.slot_begin]);
    }
    if (it.item_unit_begin < it.item_unit_end) {
      Touch(&w_.item_units[it.item_unit_begin]);
    }
  }
}

void Runner::ResolveZones() {
  // One clock per distinct site.
  std::unordered_map<uint32_t, LocalClock> clocks;
  LocalClock lot_clock(e_.default_zone);
  times_.resize(w_.orders.size());
  for (uint32_t i = 0; i < w_.orders.size(); ++i) {
    const OrderRec& o = w_.orders[i];
    auto it = clocks.find(o.site);
    if (it == clocks.end()) {
      const date::time_zone* z = e_.default_zone;
      if (o.site != kNone) {
        auto s = e_.site_zones.find(S(o.site));
        if (s != e_.site_zones.end()) z = s->second;
      }
      it = clocks.emplace(o.site, LocalClock(z)).first;
    }
    LocalClock& clock = it->second;
    OrderTimes& t = times_[i];
    t.ship_day = clock.Day(o.ship_date);
    t.release_local = o.release_at.present()
                          ? clock.LocalMicros(o.release_at)
                          : clock.LocalMicrosOfUtc(ctx_.now_unix_us);
    t.release_day = LocalClock::DayOfLocal(t.release_local);
    t.judge_day = t.ship_day != kNoDay ? t.ship_day : t.release_day;
    t.created_known = o.created_at.present();
    t.created_key = t.created_known ? clock.LocalMicros(o.created_at)
                                    : clock.LocalMicrosOfUtc(ctx_.now_unix_us);
  }
  lot_expiry_.resize(w_.lots.size());
  for (size_t i = 0; i < w_.lots.size(); ++i) {
    lot_expiry_[i] = lot_clock.Day(w_.lots[i].expiry);
  }
}

void Runner::PrepareStock() {
  slot_state_.resize(w_.slots.size());
  for (size_t i = 0; i < w_.slots.size(); ++i) {
    const Slot& s = w_.slots[i];
    SlotState& q = slot_state_[i];
    q.bad_location = use_locations_ && s.location_idx != kNone &&
                     !w_.locations[s.location_idx].usable;
    q.lotless = s.lot == kNone;
    if (s.lot_idx != kNone) {
      int32_t st = w_.lots[s.lot_idx].status;
      q.bad_lot = st == RFT_LOT_QUARANTINE || st == RFT_LOT_BLOCKED;
      q.expiry = lot_expiry_[s.lot_idx];
    }
  }
  res_left_.resize(w_.slots.size());
  for (size_t i = 0; i < w_.slots.size(); ++i) {
    const Slot& s = w_.slots[i];
    Nano on_hand = std::max<Nano>(0, s.on_hand);
    slot_state_[i].free_left = std::max<Nano>(0, on_hand - s.reserved);
    res_left_[i] = std::min(s.reserved, on_hand);
  }
}

void Runner::FindWaveDuplicates() {
  struct Key {
    uint32_t customer;
    uint64_t sig;
    int64_t created;
    uint32_t order;
  };
  // Orders whose (customer, signature) no other order shares cannot be
  // duplicates: a sort of one word per order finds the few that do.
  std::vector<uint64_t> hashes;
  hashes.reserve(w_.orders.size());
  for (uint32_t i = 0; i < w_.orders.size(); ++i) {
    const OrderRec& o = w_.orders[i];
    if (o.customer == kNone || o.line_begin == o.line_end) continue;
    hashes.push_back(Mix64(o.customer) ^ o.line_signature);
  }
  RadixSortBy(&hashes, [](uint64_t h) { return h; });
  std::vector<uint64_t> shared;
  for (size_t k = 1; k < hashes.size(); ++k) {
    if (hashes[k] == hashes[k - 1] &&
        (shared.empty() || shared.back() != hashes[k])) {
      shared.push_back(hashes[k]);
    }
  }
  duplicate_of_.assign(w_.orders.size(), kNone);
  if (shared.empty()) return;
  std::vector<Key> keys;
  for (uint32_t i = 0; i < w_.orders.size(); ++i) {
    const OrderRec& o = w_.orders[i];
    if (o.customer == kNone || o.line_begin == o.line_end) continue;
    if (!std::binary_search(shared.begin(), shared.end(),
                            Mix64(o.customer) ^ o.line_signature)) {
      continue;
    }
    keys.push_back({o.customer, o.line_signature, times_[i].created_key, i});
  }
  std::sort(keys.begin(), keys.end(), [&](const Key& a, const Key& b) {
    if (a.customer != b.customer) return a.customer < b.customer;
    if (a.sig != b.sig) return a.sig < b.sig;
    if (a.created != b.created) return a.created < b.created;
    return S(w_.orders[a.order].ref) < S(w_.orders[b.order].ref);
  });
  for (size_t i = 0; i < keys.size();) {
    size_t j = i + 1;
    while (j < keys.size() && keys[j].customer == keys[i].customer &&
           keys[j].sig == keys[i].sig) {
      ++j;
    }
    for (size_t k = i + 1; k < j; ++k) {
      bool both_known = times_[keys[k].order].created_known &&
                        times_[keys[k - 1].order].created_known;
      if (!both_known ||
          keys[k].created - keys[k - 1].created <= e_.dup_window_us) {
        duplicate_of_[keys[k].order] = keys[k - 1].order;
      }
    }
    i = j;
  }
}

void Runner::TakeCarriedStock() {
  const size_t n = w_.slots.size();
  if (!carry_->stock.empty()) {
    for (size_t i = 0; i < n; ++i) {
      SlotKeyText(sp_, w_.slots[i], &key_buf_);
      const auto it = carry_->stock.find(std::string_view(key_buf_));
      if (it == carry_->stock.end()) continue;
      Nano& free = slot_state_[i].free_left;
      free = std::max<Nano>(0, free - it->second.free);
      res_left_[i] = std::max<Nano>(0, res_left_[i] - it->second.reserved);
    }
  }
  carry_free0_.resize(n);
  carry_res0_.resize(n);
  for (size_t i = 0; i < n; ++i) {
    carry_free0_[i] = slot_state_[i].free_left;
    carry_res0_[i] = res_left_[i];
  }
}

void Runner::FindEarlierPageDuplicates() {
  // The key of an order's customer and lines by their texts (the wave's
  // line_signature compares string ids, which differ between pages).
  const uint32_t n = static_cast<uint32_t>(w_.orders.size());
  duplicate_key_.assign(n, 0);
  std::vector<std::pair<uint64_t, uint32_t>> by_key;
  for (uint32_t i = 0; i < n; ++i) {
    const OrderRec& o = w_.orders[i];
    if (o.customer == kNone || o.line_begin == o.line_end) continue;
    uint64_t sum = 0, xr = 0, count = 0;
    for (uint32_t li = o.line_begin; li < o.line_end; ++li) {
      const LineRec& l = w_.lines[li];
      const uint64_t h = Mix64(TextHashOf(sp_, l.sku));
      const Nano qty = l.qty ^ static_cast<Nano>(Mix64(TextHashOf(sp_, l.uom)));
      const uint64_t v = Mix64(h ^ Mix64(static_cast<uint64_t>(qty)));
      sum += v;
      xr ^= Mix64(v);
      ++count;
    }
    const uint64_t key =
        Mix64(TextHashOf(sp_, o.customer)) ^ Mix64(sum ^ Mix64(xr + count));
    duplicate_key_[i] = key == 0 ? 1 : key;
    by_key.emplace_back(duplicate_key_[i], i);
  }
  if (carry_->orders.empty()) return;
  std::sort(by_key.begin(), by_key.end());
  // Orders sort by (created, ref) within equal customer and lines, as in
  // FindWaveDuplicates: an order is compared with the one just before it.
  struct At {
    int64_t created;
    std::string_view ref;
    bool known;
    bool operator<(const At& b) const {
      return created != b.created ? created < b.created : ref < b.ref;
    }
  };
  auto within = [&](const At& a, const At& b) {
    return !(a.known && b.known) || b.created - a.created <= e_.dup_window_us;
  };
  for (uint32_t i = 0; i < n; ++i) {
    const uint64_t key = duplicate_key_[i];
    if (key == 0) continue;
    const At self{times_[i].created_key, S(w_.orders[i].ref),
                  times_[i].created_known};
    // The earlier pages' orders just before and just after this one.
    uint32_t before = kNone, after = kNone;
    At before_at{}, after_at{};
    carry_->ForEachOrder(key, [&](uint32_t k) {
      const CarryState::Order& c = carry_->orders[k];
      const At at{c.created, carry_->Ref(k), c.created_known != 0};
      if (at < self) {
        if (before == kNone || before_at < at) {
          before = k;
          before_at = at;
        }
      } else if (after == kNone || at < after_at) {
        after = k;
        after_at = at;
      }
    });
    if (before == kNone && after == kNone) continue;
    // The equal order of this page just before this one, if any.
    bool page_before = false;
    At page_at{};
    const auto run = std::equal_range(
        by_key.begin(), by_key.end(), std::pair<uint64_t, uint32_t>{key, 0},
        [](const auto& a, const auto& b) { return a.first < b.first; });
    for (auto it = run.first; it != run.second; ++it) {
      const uint32_t j = it->second;
      if (j == i) continue;
      const At at{times_[j].created_key, S(w_.orders[j].ref),
                  times_[j].created_known};
      if (at < self && (!page_before || page_at < at)) {
        page_before = true;
        page_at = at;
      }
    }
    if (before != kNone) {
      // The order just before decides, as in a whole wave; when it is of
      // this page, FindWaveDuplicates has decided.
      if (!page_before || page_at < before_at) {
        duplicate_of_[i] = within(before_at, self) ? n + before : kNone;
      }
    } else if (!page_before && within(self, after_at)) {
      // Created before every equal order of earlier pages, which are
      // decided already: this one is reported.
      duplicate_of_[i] = n + after;
    }
  }
}

void Runner::KeepCarry() {
  for (size_t i = 0; i < w_.slots.size(); ++i) {
    const Nano free = carry_free0_[i] - slot_state_[i].free_left;
    const Nano reserved = carry_res0_[i] - res_left_[i];
    if (free == 0 && reserved == 0) continue;
    SlotKeyText(sp_, w_.slots[i], &key_buf_);
    auto it = carry_->stock.find(std::string_view(key_buf_));
    if (it == carry_->stock.end()) {
      it = carry_->stock.emplace(key_buf_, CarryState::Taken{}).first;
    }
    it->second.free += free;
    it->second.reserved += reserved;
  }
  for (uint32_t i = 0; i < duplicate_key_.size(); ++i) {
    if (duplicate_key_[i] == 0) continue;
    carry_->AddOrder(duplicate_key_[i], times_[i].created_key,
                     times_[i].created_known, S(w_.orders[i].ref));
  }
}

Convert Runner::ToBase(const LineRec& l, const ItemRec* item, Nano* base,
                       const UnitRec** line_unit,
                       const UnitRec** base_unit) const {
  *line_unit = nullptr;
  *base_unit = nullptr;
  if (item != nullptr && item->base_uom != kNone) {
    uint32_t bu = w_.Index(w_.unit_by_code, item->base_uom);
    if (bu != kNone) *base_unit = &w_.units[bu];
  }
  if (l.uom == kNone || (item != nullptr && l.uom == item->base_uom)) {
    *line_unit = *base_unit;
    *base = l.qty;
    return Convert::kOk;
  }
  uint32_t lu = w_.Index(w_.unit_by_code, l.uom);
  if (lu != kNone) *line_unit = &w_.units[lu];
  if (item == nullptr || !item->in_master) return Convert::kNoItem;
  for (uint32_t k = item->item_unit_begin; k < item->item_unit_end; ++k) {
    if (w_.item_units[k].uom == l.uom) {
      return ApplyRatio(l.qty, w_.item_units[k].ratio, base) ? Convert::kOk
                                                             : Convert::kRounds;
    }
  }
  if (*line_unit == nullptr) return Convert::kUnknownUnit;
  if (*base_unit == nullptr) return Convert::kNoBaseUnit;
  if ((*line_unit)->category != (*base_unit)->category) {
    return Convert::kCategory;
  }
  Ratio r = Divide((*line_unit)->ratio, (*base_unit)->ratio);
  if (!r.valid()) return Convert::kUnknownUnit;
  return ApplyRatio(l.qty, r, base) ? Convert::kOk : Convert::kRounds;
}

bool Runner::Under(const Slot& s, const LineRec& l) const {
  if (s.location == l.location) return true;
  if (s.location_idx == kNone || l.location_idx == kNone) return false;
  uint32_t cur = w_.locations[s.location_idx].parent_idx;
  for (int depth = 0; cur != kNone && depth < 64; ++depth) {
    if (cur == l.location_idx) return true;
    cur = w_.locations[cur].parent_idx;
  }
  return false;
}

// Reasons a slot's stock cannot serve an order.
enum Reason : int {
  kUsable = 0,
  kBadLocation,
  kLotless,
  kQuarantine,
  kExpired,
  kShortLife,
  kNumReasons
};

[[gnu::always_inline]] inline bool Runner::SlotQualityOk(uint32_t si,
                                                         const ItemRec& item,
                                                         const OrderTimes& t,
                                                         int32_t min_shelf,
                                                         int* reason) const {
  const SlotState& q = slot_state_[si];
  if (q.bad_location) {
    *reason = kBadLocation;
    return false;
  }
  if (q.lotless) {
    if (item.lot_tracked == RFT_FLAG_YES ||
        item.serial_tracked == RFT_FLAG_YES) {
      *reason = kLotless;
      return false;
    }
    *reason = kUsable;
    return true;
  }
  if (q.bad_lot) {
    *reason = kQuarantine;
    return false;
  }
  if (q.expiry != kNoDay && t.judge_day != kNoDay) {
    if (q.expiry <= t.judge_day) {
      *reason = kExpired;
      return false;
    }
    if (min_shelf > 0 && q.expiry - t.judge_day < min_shelf) {
      *reason = kShortLife;
      return false;
    }
  }
  *reason = kUsable;
  return true;
}

void Runner::CheckLotUse(const OrderTimes& t, const LineRec& l,
                         uint32_t lot_str, uint32_t lot_idx,
                         int32_t min_shelf) {
  std::string_view sku = S(l.sku), lot_code = S(lot_str);
  if (lot_idx == kNone) {
    if (Active(kLotMissing) && (w_.capabilities & RFT_CAP_LOTS)) {
      Emit(kLotMissing, &l,
           Msg("line {}: lot {} of SKU {} is not known to the WMS; "
               "assign an existing lot",
               Info(l).line_no, lot_code, sku),
           {{"sku", sku}, {"lot", lot_code}, {"expected", "a known lot"}});
    }
    return;
  }
  const LotRec& lot = w_.lots[lot_idx];
  if (Active(kLotQuarantine) &&
      (lot.status == RFT_LOT_QUARANTINE || lot.status == RFT_LOT_BLOCKED)) {
    const char* st =
        lot.status == RFT_LOT_QUARANTINE ? "quarantine" : "blocked";
    Emit(
        kLotQuarantine, &l,
        Msg("line {}: lot {} of SKU {} is on {}; assign a released "
            "lot",
            Info(l).line_no, lot_code, sku,
            lot.status == RFT_LOT_QUARANTINE ? "quarantine" : "blocked status"),
        {{"sku", sku},
         {"lot", lot_code},
         {"observed", st},
         {"expected", "released"}});
  }
  int32_t exp = lot_expiry_[lot_idx];
  if (exp == kNoDay || t.judge_day == kNoDay) return;
  if (exp <= t.judge_day) {
    if (Active(kLotExpired)) {
      Emit(kLotExpired, &l,
           Msg("line {}: lot {} of SKU {} expires {}, on or before "
               "the ship date {}; assign a lot that is still good",
               Info(l).line_no, lot_code, sku, FormatDay(exp),
               FormatDay(t.judge_day)),
           {{"sku", sku},
            {"lot", lot_code},
            {"observed", FormatDay(exp)},
            {"threshold", FormatDay(t.judge_day)},
            {"expected", "expiry after the ship date"}});
    }
    return;
  }
  if (Active(kLotShelfLife) && min_shelf > 0 && exp - t.judge_day < min_shelf) {
    Emit(kLotShelfLife, &l,
         Msg("line {}: lot {} of SKU {} has {} days of shelf life "
             "left at the ship date {}; the minimum is {} days",
             Info(l).line_no, lot_code, sku, exp - t.judge_day,
             FormatDay(t.judge_day), min_shelf),
         {{"sku", sku},
          {"lot", lot_code},
          {"observed", exp - t.judge_day},
          {"threshold", min_shelf},
          {"unit", "days"},
          {"expiry", FormatDay(exp)}});
  }
}

bool Runner::AssignedLotBlocks(const OrderTimes& t, const LineRec& l,
                               int32_t min_shelf) const {
  // The conditions of CheckLotUse for the line's own lot.
  if (l.lot == kNone) return false;
  if (l.lot_idx == kNone) {
    return Blocks(kLotMissing) && (w_.capabilities & RFT_CAP_LOTS);
  }
  const LotRec& lot = w_.lots[l.lot_idx];
  if (Blocks(kLotQuarantine) &&
      (lot.status == RFT_LOT_QUARANTINE || lot.status == RFT_LOT_BLOCKED)) {
    return true;
  }
  const int32_t exp = lot_expiry_[l.lot_idx];
  if (exp == kNoDay || t.judge_day == kNoDay) return false;
  if (exp <= t.judge_day) return Blocks(kLotExpired);
  return Blocks(kLotShelfLife) && min_shelf > 0 &&
         exp - t.judge_day < min_shelf;
}

void Runner::Allocate(const OrderRec& o, const OrderTimes& t, const LineRec& l,
                      const ItemRec& item, Nano need,
                      LocationProblem location) {
  const uint32_t line_idx = static_cast<uint32_t>(&l - w_.lines.data());
  const size_t undo_start = undo_.size();
  const int32_t min_shelf = MinShelf(o, item);
  Nano got = 0;
  lot_uses_.clear();
  if (l.lot != kNone) lot_uses_.push_back({l.lot, l.lot_idx});
  // 1. The line's own reservations.
  Nano own_reserved = 0;
  for (uint32_t k = l.res_begin; k < l.res_end && got < need; ++k) {
    const ReservationRec& res = w_.reservations[k];
    if (res.slot == kNone) continue;
    const Slot& s = w_.slots[res.slot];
    if (use_locations_ && s.location_idx != kNone &&
        !w_.locations[s.location_idx].usable) {
      continue;
    }
    Nano q = std::min({res.qty, res_left_[res.slot], need - got});
    if (q <= 0) continue;
    res_left_[res.slot] -= q;
    got += q;
    own_reserved += q;
    undo_.push_back({res.slot, true, q, line_idx});
    if (s.lot != kNone && s.lot != l.lot) {
      bool seen = false;
      for (auto& u : lot_uses_) seen |= u.first == s.lot;
      if (!seen) lot_uses_.push_back({s.lot, s.lot_idx});
    }
  }
  // 2. Free stock in removal order.
  Nano from_free = 0;
  if (got < need) {
    for (uint32_t si = item.slot_begin; si < item.slot_end; ++si) {
      Nano& left = slot_state_[si].free_left;
      if (left <= 0) continue;
      const Slot& s = w_.slots[si];
      if (l.lot != kNone && s.lot != l.lot) continue;
      if (l.location != kNone && !Under(s, l)) continue;
      int reason;
      if (l.lot != kNone) {
        // The line insists on its lot: its quality is reported by the lot
        // checks; only the location must be usable.
        if (use_locations_ && s.location_idx != kNone &&
            !w_.locations[s.location_idx].usable) {
          continue;
        }
      } else if (!SlotQualityOk(si, item, t, min_shelf, &reason)) {
        continue;
      }
      Nano q = std::min(left, need - got);
      left -= q;
      got += q;
      from_free += q;
      undo_.push_back({si, false, q, line_idx});
      if (got == need) break;
    }
  }

  // Short: where the stock is.
  const bool is_short = got < need;
  std::array<Nano, kNumReasons> by_reason{};
  Nano initial = 0, left_now = 0, reserved_others = 0, lotless = 0;
  bool negative = false;
  for (uint32_t si = is_short ? item.slot_begin : item.slot_end;
       si < item.slot_end; ++si) {
    const Slot& s = w_.slots[si];
    if (l.lot != kNone && s.lot != l.lot) continue;
    if (l.location != kNone && !Under(s, l)) continue;
    if (s.on_hand < 0) negative = true;
    Nano on_hand = std::max<Nano>(0, s.on_hand);
    Nano free0 = std::max<Nano>(0, on_hand - s.reserved);
    int reason = kUsable;
    if (l.lot == kNone) {
      SlotQualityOk(si, item, t, min_shelf, &reason);
    } else if (use_locations_ && s.location_idx != kNone &&
               !w_.locations[s.location_idx].usable) {
      reason = kBadLocation;
    }
    if (reason != kUsable) {
      by_reason[reason] += free0;
      if (reason == kLotless) lotless += free0;
      continue;
    }
    initial += free0;
    left_now += slot_state_[si].free_left;
    reserved_others += std::min(s.reserved, on_hand);
  }
  reserved_others = std::max<Nano>(0, reserved_others - own_reserved);
  const Nano earlier = std::max<Nano>(0, initial - left_now - from_free);
  const Nano available = got;
  // One finding per root cause: no stock.short when blocking findings of
  // the line explain the whole shortfall. An assigned location or lot
  // that is reported explains it when the line would have been served
  // without the assignment (own reservations, what it took from good
  // stock, and good stock left); stock reported as expired, short-dated,
  // on quarantine or without a lot explains it when, with that stock, the
  // line would have been served.
  bool explained = false;
  if (is_short && Active(kStockShort)) {
    if ((location != LocationProblem::kNone && Blocks(kLocationMismatch)) ||
        AssignedLotBlocks(t, l, min_shelf)) {
      Nano open = own_reserved;
      int reason;
      for (size_t k = undo_start; k < undo_.size(); ++k) {
        const UndoEntry& u = undo_[k];
        if (!u.reservation &&
            SlotQualityOk(u.slot, item, t, min_shelf, &reason)) {
          open += u.qty;
        }
      }
      for (uint32_t si = item.slot_begin; si < item.slot_end && open < need;
           ++si) {
        if (slot_state_[si].free_left > 0 &&
            SlotQualityOk(si, item, t, min_shelf, &reason)) {
          open += slot_state_[si].free_left;
        }
      }
      explained = open >= need;
    }
    if (!explained && l.lot == kNone) {
      Nano unusable = 0;
      bool reported = false;
      if (available == 0) {
        for (auto [check, reason] : {std::pair{kLotExpired, kExpired},
                                     {kLotShelfLife, kShortLife},
                                     {kLotQuarantine, kQuarantine}}) {
          if (Blocks(check) && by_reason[reason] > 0) {
            unusable += by_reason[reason];
            reported = true;
          }
        }
      }
      if (Blocks(kLotMissing) && lotless > 0) {
        unusable += lotless;
        reported = true;
      }
      explained = reported && available + unusable >= need;
    }
    if (explained) unallocated_ = need - got;
  }
  if (location != LocationProblem::kNone) EmitLocationMismatch(l, location);
  // Lots the line is served from by assignment or reservation.
  for (auto [lot_str, lot_idx] : lot_uses_) {
    CheckLotUse(t, l, lot_str, lot_idx, min_shelf);
  }
  // FEFO: an earlier-expiring lot with stock left.
  // Only for a lot that is itself good: a bad lot is reported as such.
  if (Active(kLotFefo) && l.lot != kNone && l.lot_idx != kNone && item.fefo &&
      lot_expiry_[l.lot_idx] != kNoDay &&
      (w_.lots[l.lot_idx].status == RFT_LOT_RELEASED ||
       w_.lots[l.lot_idx].status == RFT_LOT_UNKNOWN) &&
      (t.judge_day == kNoDay || lot_expiry_[l.lot_idx] > t.judge_day)) {
    const int32_t assigned = lot_expiry_[l.lot_idx];
    int32_t best = assigned;
    uint32_t best_slot = kNone;
    for (uint32_t si = item.slot_begin; si < item.slot_end; ++si) {
      const Slot& s = w_.slots[si];
      if (slot_state_[si].free_left <= 0 || s.lot == l.lot ||
          s.lot_idx == kNone)
        continue;
      int reason;
      if (!SlotQualityOk(si, item, t, min_shelf, &reason)) continue;
      int32_t exp = lot_expiry_[s.lot_idx];
      if (exp != kNoDay && exp + e_.fefo_tolerance < assigned && exp < best) {
        best = exp;
        best_slot = si;
      }
    }
    if (best_slot != kNone) {
      const Slot& s = w_.slots[best_slot];
      Emit(kLotFefo, &l,
           Msg("line {}: lot {} of SKU {} expires {}, but lot {} "
               "expires earlier ({}) and has {} {} available at {}; "
               "pick the first-expiring lot",
               Info(l).line_no, S(l.lot), S(l.sku), FormatDay(assigned),
               S(s.lot), FormatDay(best), Q(slot_state_[best_slot].free_left),
               BaseUnit(item), S(s.location)),
           {{"sku", S(l.sku)},
            {"observed", S(l.lot)},
            {"observed_expiry", FormatDay(assigned)},
            {"expected", S(s.lot)},
            {"expected_expiry", FormatDay(best)},
            {"tolerance_days", e_.fefo_tolerance}});
    }
  }
  if (!is_short) return;
  const std::string_view unit = BaseUnit(item);
  std::string where, extra;
  if (Active(kStockShort) && !explained) {
    where = l.location != kNone ? fmt::format(" at {}", S(l.location))
                                : " at pickable locations";
    if (l.lot != kNone) where += fmt::format(" in lot {}", S(l.lot));
    if (reserved_others > 0) {
      extra += fmt::format("; {} reserved by other orders", Q(reserved_others));
    }
    if (earlier > 0) {
      extra +=
          fmt::format("; {} taken by earlier orders of this wave", Q(earlier));
    }
    static constexpr const char* kReasonText[kNumReasons] = {
        "",
        "at blocked or non-pickable locations",
        "without a lot",
        "in lots on quarantine or blocked",
        "in expired lots",
        "in lots short of the minimum shelf life"};
    for (int k = 1; k < kNumReasons; ++k) {
      if (by_reason[k] > 0) {
        extra += fmt::format("; {} {}", Q(by_reason[k]), kReasonText[k]);
      }
    }
    if (negative) extra += "; negative on-hand in the WMS data counted as 0";
  }
  if (Active(kStockShort) && !explained) {
    std::string needs =
        l.uom != kNone && l.uom != item.base_uom
            ? fmt::format("{} {} ({} {})", Q(l.qty), S(l.uom), Q(need), unit)
            : fmt::format("{} {}", Q(need), unit);
    Emit(kStockShort, &l,
         Msg("line {}: SKU {} needs {}; {} available{}{}", Info(l).line_no,
             S(l.sku), needs, Q(available), where, extra),
         {{"sku", S(l.sku)},
          {"observed", Q(available)},
          {"threshold", Q(need)},
          {"unit", unit},
          {"expected", "available >= needed"},
          {"reserved_by_others", Q(reserved_others)},
          {"taken_by_earlier_orders", Q(earlier)},
          {"expired", Q(by_reason[kExpired])},
          {"short_shelf_life", Q(by_reason[kShortLife])},
          {"quarantine", Q(by_reason[kQuarantine])},
          {"unusable_locations", Q(by_reason[kBadLocation])},
          {"negative_on_hand", negative}});
  }
  if (l.lot != kNone) {
    unallocated_ = -1;
    return;
  }
  const Nano shortfall = need - got;
  if (Active(kLotExpired) && by_reason[kExpired] > 0 && available == 0) {
    Emit(kLotExpired, &l,
         Msg("line {}: the only stock of SKU {} left ({} {}) is in "
             "lots expired by the ship date {}; dispose of them and "
             "replenish",
             Info(l).line_no, S(l.sku), Q(by_reason[kExpired]), unit,
             FormatDay(t.judge_day)),
         {{"sku", S(l.sku)},
          {"observed", Q(by_reason[kExpired])},
          {"threshold", FormatDay(t.judge_day)},
          {"expected", "a lot expiring after the ship date"}});
  }
  if (Active(kLotShelfLife) && by_reason[kShortLife] > 0 && available == 0) {
    Emit(kLotShelfLife, &l,
         Msg("line {}: the only stock of SKU {} left ({} {}) has "
             "less than {} days of shelf life at the ship date {}",
             Info(l).line_no, S(l.sku), Q(by_reason[kShortLife]), unit,
             min_shelf, FormatDay(t.judge_day)),
         {{"sku", S(l.sku)},
          {"observed", Q(by_reason[kShortLife])},
          {"threshold", min_shelf},
          {"unit", "days"}});
  }
  if (Active(kLotQuarantine) && by_reason[kQuarantine] > 0 && available == 0) {
    Emit(kLotQuarantine, &l,
         Msg("line {}: the only stock of SKU {} left ({} {}) is in "
             "lots on quarantine or blocked",
             Info(l).line_no, S(l.sku), Q(by_reason[kQuarantine]), unit),
         {{"sku", S(l.sku)},
          {"observed", Q(by_reason[kQuarantine])},
          {"expected", "released lots"}});
  }
  if (Active(kLotMissing) && lotless > 0) {
    Emit(kLotMissing, &l,
         Msg("line {}: SKU {} is lot-tracked but {} {} of its stock "
             "has no lot; {} {} cannot be given a lot",
             Info(l).line_no, S(l.sku), Q(lotless), unit, Q(shortfall), unit),
         {{"sku", S(l.sku)},
          {"observed", Q(lotless)},
          {"shortfall", Q(shortfall)},
          {"expected", "stock with a lot"}});
  }
  unallocated_ = -1;
}

LocationProblem Runner::FindLocationProblem(const LineRec& l,
                                            const ItemRec* item) const {
  if (l.location_idx == kNone) return LocationProblem::kUnknown;
  if (!w_.locations[l.location_idx].usable) return LocationProblem::kUnusable;
  if (item == nullptr) return LocationProblem::kNone;
  for (uint32_t si = item->slot_begin; si < item->slot_end; ++si) {
    if (w_.slots[si].on_hand > 0 && Under(w_.slots[si], l)) {
      return LocationProblem::kNone;
    }
  }
  return LocationProblem::kHoldsNone;
}

void Runner::EmitLocationMismatch(const LineRec& l, LocationProblem problem) {
  const std::string_view loc = S(l.location);
  switch (problem) {
    case LocationProblem::kNone:
      break;
    case LocationProblem::kUnknown:
      Emit(kLocationMismatch, &l,
           Msg("line {}: location {} is not in the WMS's location "
               "list; assign an existing pick location",
               Info(l).line_no, loc),
           {{"observed", loc}, {"expected", "a known location"}});
      break;
    case LocationProblem::kUnusable: {
      const LocationRec& lr = w_.locations[l.location_idx];
      std::string state = lr.blocked == RFT_FLAG_YES   ? "blocked"
                          : lr.pickable == RFT_FLAG_NO ? "not pickable"
                          : lr.cyclic ? "in a cycle of parent locations"
                                      : "inside a blocked or non-pickable area";
      Emit(kLocationMismatch, &l,
           Msg("line {}: location {} is {}; assign a pickable "
               "location",
               Info(l).line_no, loc, state),
           {{"observed", state},
            {"location", loc},
            {"expected", "pickable and not blocked"}});
      break;
    }
    case LocationProblem::kHoldsNone:
      Emit(kLocationMismatch, &l,
           Msg("line {}: location {} holds no SKU {}; assign a "
               "location that stocks it",
               Info(l).line_no, loc, S(l.sku)),
           {{"observed", 0},
            {"location", loc},
            {"sku", S(l.sku)},
            {"expected", "stock of the SKU at the location"}});
      break;
  }
}

void Runner::CheckLine(const OrderRec& o, const OrderTimes& t, const LineRec& l,
                       Nano* weight, uint32_t* unknown_weights,
                       SignatureBuilder* base_sig, bool* base_sig_ok) {
  const ItemRec* item = l.item == kNone ? nullptr : &w_.items[l.item];
  const bool have_items = (w_.capabilities & RFT_CAP_ITEMS) != 0;
  const bool known = item != nullptr && item->in_master;
  auto sku = [&] { return S(l.sku); };
  if (Active(kItemUnknown) && !known) {
    if (l.sku == kNone || Blank(sku())) {
      Emit(kItemUnknown, &l,
           Msg("line {}: no SKU given; enter the item", Info(l).line_no),
           {{"observed", nullptr}, {"expected", "a SKU of the item master"}});
    } else {
      Emit(kItemUnknown, &l,
           Msg("line {}: SKU {} is not in the item master; check the "
               "SKU or create the item",
               Info(l).line_no, sku()),
           {{"observed", sku()}, {"expected", "a SKU of the item master"}});
    }
  }
  if (Active(kItemInactive) && known && item->active == RFT_FLAG_NO) {
    Emit(kItemInactive, &l,
         Msg("line {}: SKU {} is archived or not sellable; replace "
             "it with its successor or remove the line",
             Info(l).line_no, sku()),
         {{"observed", "inactive"}, {"sku", sku()}, {"expected", "active"}});
  }
  // Quantity.
  auto unit = [&] { return UnitOf(l, item); };
  std::string problem;
  switch (l.qty_state) {
    case DecimalState::kNull:
      problem = "has no quantity";
      break;
    case DecimalState::kOutOfRange:
      problem = fmt::format("quantity {} is out of range",
                            FormatDecimal(Info(l).qty_raw));
      break;
    case DecimalState::kTooPrecise:
      problem = fmt::format("quantity {} has more than 9 decimals",
                            FormatDecimal(Info(l).qty_raw));
      break;
    case DecimalState::kOk:
      if (l.qty == 0) {
        problem = "quantity is 0";
      } else if (l.qty < 0) {
        problem = fmt::format("quantity {} {} is negative", Q(l.qty), unit());
      }
      break;
  }
  if (!problem.empty()) {
    if (Active(kQtyInvalid)) {
      Emit(kQtyInvalid, &l,
           Msg("line {}: SKU {} {}; enter a positive quantity", Info(l).line_no,
               sku(), problem),
           {{"sku", sku()},
            {"observed", l.qty_state == DecimalState::kNull
                             ? JsonValue(nullptr)
                             : JsonValue(FormatDecimal(Info(l).qty_raw))},
            {"expected", "> 0"}});
    }
    *base_sig_ok = false;
    return;
  }
  Nano base = 0;
  const UnitRec* line_unit = nullptr;
  const UnitRec* base_unit = nullptr;
  Convert conv = have_items
                     ? ToBase(l, item, &base, &line_unit, &base_unit)
                     : (l.uom == kNone ? Convert::kOk : Convert::kNoItem);
  if (!have_items && conv == Convert::kOk) base = l.qty;
  // Fractional quantity of a unit that can't split.
  if (line_unit != nullptr && line_unit->rounding > 0 &&
      l.qty % line_unit->rounding != 0) {
    if (Active(kQtyInvalid)) {
      Emit(kQtyInvalid, &l,
           Msg("line {}: SKU {} {} {}: {} comes in steps of {}; "
               "round the quantity",
               Info(l).line_no, sku(), Q(l.qty), unit(), unit(),
               Q(line_unit->rounding)),
           {{"sku", sku()},
            {"observed", Q(l.qty)},
            {"unit", unit()},
            {"expected",
             fmt::format("a multiple of {}", Q(line_unit->rounding))}});
    }
    *base_sig_ok = false;
    return;
  }
  if (conv == Convert::kOk && l.uom != kNone && item != nullptr &&
      l.uom != item->base_uom && base_unit != nullptr &&
      base_unit->rounding > 0 && base % base_unit->rounding != 0) {
    conv = Convert::kRounds;
  }
  if (conv != Convert::kOk) {
    if (Active(kUomMismatch) && conv != Convert::kNoItem) {
      std::string_view base_name = item != nullptr ? BaseUnit(*item) : "units";
      std::string why;
      switch (conv) {
        case Convert::kUnknownUnit:
          why = fmt::format("unit {} is not known for SKU {}", unit(), sku());
          break;
        case Convert::kNoBaseUnit:
          why = fmt::format("the base unit {} of SKU {} is not known",
                            base_name, sku());
          break;
        case Convert::kCategory:
          why = fmt::format("{} ({}) does not convert to {} ({})", unit(),
                            S(line_unit->category), base_name,
                            S(base_unit->category));
          break;
        default:
          why = fmt::format("{} {} is not a whole number of {}", Q(l.qty),
                            unit(), base_name);
          break;
      }
      Emit(
          kUomMismatch, &l,
          Msg("line {}: {}; order in {} or a unit that converts "
              "exactly",
              Info(l).line_no, why, base_name),
          {{"sku", sku()},
           {"observed", unit()},
           {"qty", Q(l.qty)},
           {"expected", base_name},
           {"problem", conv == Convert::kRounds ? "rounds" : "no conversion"}});
    }
    *base_sig_ok = false;
    return;
  }
  if (known && item->serial_tracked == RFT_FLAG_YES &&
      base % kNanoPerUnit != 0) {
    if (Active(kQtyInvalid)) {
      Emit(
          kQtyInvalid, &l,
          Msg("line {}: SKU {} is serial-tracked; {} {} is not a "
              "whole number of pieces",
              Info(l).line_no, sku(), Q(base), BaseUnit(*item)),
          {{"sku", sku()}, {"observed", Q(base)}, {"expected", "whole units"}});
    }
    return;
  }
  if (base > e_.max_qty) {
    if (Active(kQtyInvalid)) {
      Emit(kQtyInvalid, &l,
           Msg("line {}: SKU {} {} {} is more than the largest "
               "plausible line ({}); check for a typing slip",
               Info(l).line_no, sku(), Q(l.qty), unit(), Q(e_.max_qty)),
           {{"sku", sku()},
            {"observed", Q(base)},
            {"threshold", Q(e_.max_qty)},
            {"expected", "<= max_qty"}});
    }
    return;
  }
  base_sig->Add(l.sku, base);

  const LocationProblem location =
      Active(kLocationMismatch) && l.location != kNone
          ? FindLocationProblem(l, item)
          : LocationProblem::kNone;
  // A SKU missing from the item master is reported as such, not as short.
  if (allocate_ && item != nullptr && (known || !have_items)) {
    Allocate(o, t, l, *item, base, location);  // reports the location too
  } else if (location != LocationProblem::kNone) {
    EmitLocationMismatch(l, location);
  }
  if (Active(kQtyOutlier) && history_ != nullptr) {
    const HistoryStat* stat = w_.FindHistoryStat(*history_, l.sku);
    if (stat != nullptr &&
        stat->count >= static_cast<uint64_t>(e_.outlier_min_history)) {
      const HistoryStat& h = *stat;
      long double threshold =
          static_cast<long double>(h.median) * e_.outlier_factor;
      if (static_cast<long double>(base) > threshold && base > h.max) {
        std::string_view bu = item != nullptr ? BaseUnit(*item) : unit();
        Emit(kQtyOutlier, &l,
             Msg("line {}: {} {} of SKU {} is far above what customer "
                 "{} usually orders ({} {} median, {} at most in {} "
                 "past lines); confirm the quantity",
                 Info(l).line_no, Q(base), bu, sku(), S(o.customer),
                 Q(h.median), bu, Q(h.max), h.count),
             {{"sku", sku()},
              {"observed", Q(base)},
              {"median", Q(h.median)},
              {"max", Q(h.max)},
              {"history_lines", h.count},
              {"threshold", fmt::format("{} x median", e_.outlier_factor)}});
      }
    }
  }
  if (Active(kCarrierConstraint) && o.carrier_idx != kNone && known) {
    const CarrierRec& c = w_.carriers[o.carrier_idx];
    if (e_.car_hazmat && item->hazmat != kNone &&
        c.hazmat_allowed == RFT_FLAG_NO) {
      Emit(kCarrierConstraint, &l,
           Msg("line {}: SKU {} is dangerous goods (class {}) and "
               "carrier service {} does not accept them; choose a "
               "service that does",
               Info(l).line_no, sku(), S(item->hazmat), S(c.code)),
           {{"sku", sku()},
            {"observed", S(item->hazmat)},
            {"service", S(c.code)},
            {"expected", "hazmat allowed"}});
    }
    if (item->weight_known) {
      Wide kg = static_cast<Wide>(base) * item->unit_weight_kg / kNanoPerUnit;
      *weight += static_cast<Nano>(
          std::min<Wide>(kg, std::numeric_limits<Nano>::max() / 2));
    } else {
      ++*unknown_weights;
    }
  }
}

void Runner::CheckAddress(const OrderRec& o) {
  std::vector<std::string_view> missing;
  int country = -1;
  auto blank = [&](uint32_t id) {
    return id == kNone || (TextFlags(id) & kTextBlank) != 0;
  };
  bool country_blank = blank(o.country);
  if (!country_blank) {
    if (o.country != last_country_id_) {
      last_country_id_ = o.country;
      last_country_ = FindCountry(S(o.country));
    }
    country = last_country_;
  }
  if (e_.addr_street && blank(o.street)) missing.push_back("street");
  if (e_.addr_city && blank(o.city)) missing.push_back("city");
  bool postcode_used = country < 0 ||
                       PostcodeFormats()[country].pattern[0] != '\0' ||
                       PostcodeFormats()[country].required;
  if (e_.addr_postcode && postcode_used && blank(o.postcode)) {
    missing.push_back("postcode");
  }
  if (e_.addr_country && country_blank) missing.push_back("country");
  if (!missing.empty()) {
    std::string list;
    for (auto m : missing) list += (list.empty() ? "" : ", ") + std::string(m);
    Emit(kAddressIncomplete, nullptr,
         Msg("ship-to address of order {} has no {}; complete the "
             "address",
             S(o.ref), list),
         {{"missing", missing}, {"expected", "a complete address"}});
  }
  for (auto [id, name] : {std::pair{o.street, "street"},
                          {o.city, "city"},
                          {o.postcode, "postcode"},
                          {o.country, "country"},
                          {o.ship_to_name, "name"}}) {
    if (id != kNone && (TextFlags(id) & kTextUtf8) == 0) {
      Emit(kAddressIncomplete, nullptr,
           Msg("ship-to {} of order {} is not valid UTF-8 text; "
               "re-enter it",
               name, S(o.ref)),
           {{"field", name}, {"expected", "UTF-8 text"}});
    }
  }
  if (!country_blank && country < 0) {
    Emit(kAddressIncomplete, nullptr,
         Msg("ship-to country '{}' of order {} is not a known country "
             "code or name; use the ISO 3166 code",
             S(o.country), S(o.ref)),
         {{"observed", S(o.country)}, {"expected", "ISO 3166-1 alpha-2"}});
    return;
  }
  if (!e_.addr_validate || country < 0 || blank(o.postcode)) return;
  const PostcodeFormat& f = PostcodeFormats()[country];
  if (f.pattern[0] == '\0') return;
  uint64_t key = PairKey(static_cast<uint32_t>(country), o.postcode);
  auto it = postcode_cache_.find(key);
  if (it == postcode_cache_.end()) {
    it = postcode_cache_
             .emplace(key, PostcodeMatches(country, TrimUpper(S(o.postcode))))
             .first;
  }
  if (!it->second) {
    std::string_view ex(f.examples);
    ex = ex.substr(0, ex.find(','));
    Emit(kAddressIncomplete, nullptr,
         Msg("postcode '{}' of order {} is not a valid {} postcode "
             "(for example {}); correct the address",
             S(o.postcode), S(o.ref), f.key, ex),
         {{"observed", S(o.postcode)},
          {"country", f.key},
          {"expected", f.pattern},
          {"example", ex}});
  }
}

void Runner::CheckCarrierOrder(const OrderRec& o, const OrderTimes& t,
                               Nano weight, uint32_t unknown_weights) {
  if (o.carrier_service == kNone) return;
  if (o.carrier_idx == kNone) {
    Emit(kCarrierConstraint, nullptr,
         Msg("carrier service {} of order {} is not known; choose a "
             "configured service",
             S(o.carrier_service), S(o.ref)),
         {{"observed", S(o.carrier_service)},
          {"expected", "a known carrier service"}});
    return;
  }
  const CarrierRec& c = w_.carriers[o.carrier_idx];
  if (e_.car_weight && c.has_max_weight &&
      (w_.capabilities & RFT_CAP_WEIGHTS) && weight > c.max_weight_kg) {
    Emit(kCarrierConstraint, nullptr,
         Msg("order {} weighs {} kg{}; carrier service {} takes at "
             "most {} kg per parcel: split the shipment or change "
             "the service",
             S(o.ref), Q(weight),
             unknown_weights > 0
                 ? fmt::format(" or more ({} lines without weight)",
                               unknown_weights)
                 : "",
             S(c.code), Q(c.max_weight_kg)),
         {{"observed", Q(weight)},
          {"threshold", Q(c.max_weight_kg)},
          {"unit", "kg"},
          {"lines_without_weight", unknown_weights}});
  }
  if (e_.car_cutoff && t.ship_day != kNoDay) {
    if (t.ship_day < t.release_day) {
      Emit(kCarrierConstraint, nullptr,
           Msg("ship date {} of order {} is already past (released "
               "{}); agree a new ship date",
               FormatDay(t.ship_day), S(o.ref), FormatDay(t.release_day)),
           {{"observed", FormatDay(t.release_day)},
            {"threshold", FormatDay(t.ship_day)},
            {"expected", "release on or before the ship date"}});
    } else if (t.ship_day == t.release_day && c.cutoff_minute >= 0) {
      int32_t minute = LocalClock::MinuteOfLocal(t.release_local);
      if (minute >= c.cutoff_minute) {
        Emit(kCarrierConstraint, nullptr,
             Msg("order {} is released at {}, after the {} cut-off "
                 "of carrier service {} for shipping today; move the "
                 "ship date or use a later service",
                 S(o.ref), FormatMinute(minute), FormatMinute(c.cutoff_minute),
                 S(c.code)),
             {{"observed", FormatMinute(minute)},
              {"threshold", FormatMinute(c.cutoff_minute)},
              {"expected", "release before the cut-off"}});
      }
    }
  }
}

void Runner::CheckOrder(uint32_t oi, OrderResult& r) {
  const OrderRec& o = w_.orders[oi];
  const OrderTimes& t = times_[oi];
  // Views of the wave's strings, which the result store keeps alive.
  r.ref = S(o.ref);
  r.stable_id = S(o.stable_id);
  r.site = S(o.site);
  r.provider = S(o.provider);
  r.customer = S(o.customer);
  r.customer_order_ref = S(o.customer_order_ref);
  const size_t first_finding = findings_.size();

  if (Active(kCustomerHold)) {
    if (o.customer_idx == kNone) {
      if (e_.unknown_customer) {
        Emit(kCustomerHold, nullptr,
             o.customer == kNone
                 ? fmt::format("order {} names no customer; assign one",
                               S(o.ref))
                 : fmt::format("customer {} of order {} is not in the "
                               "customer master; its hold status is unknown",
                               S(o.customer), S(o.ref)),
             {{"observed", o.customer == kNone ? JsonValue(nullptr)
                                               : JsonValue(S(o.customer))},
              {"expected", "a known customer"}});
      }
    } else {
      const CustomerRec& c = w_.customers[o.customer_idx];
      for (auto [flag, what] : {std::pair{c.blocked, "blocked"},
                                {c.credit_hold, "on credit hold"}}) {
        if (flag != RFT_FLAG_YES) continue;
        std::string reason = c.hold_reason != kNone
                                 ? fmt::format(" ({})", S(c.hold_reason))
                                 : "";
        Emit(kCustomerHold, nullptr,
             Msg("customer {} is {}{}; release only after the hold "
                 "is lifted",
                 S(c.ref), what, reason),
             {{"observed", what},
              {"customer", S(c.ref)},
              {"reason", S(c.hold_reason)},
              {"expected", "no hold"}});
      }
    }
  }
  if (Active(kAddressIncomplete)) CheckAddress(o);
  if (Active(kOrderDuplicate) && !duplicate_of_.empty() &&
      duplicate_of_[oi] != kNone) {
    const uint32_t d = duplicate_of_[oi];
    const std::string_view d_ref =
        d < w_.orders.size()
            ? S(w_.orders[d].ref)
            : carry_->Ref(d - static_cast<uint32_t>(w_.orders.size()));
    Emit(kOrderDuplicate, nullptr,
         Msg("order {} has the same customer and lines as order {} "
             "of this wave; cancel one unless both are wanted",
             S(o.ref), d_ref),
         {{"observed", d_ref},
          {"window_hours", e_.dup_window_us / 3'600'000'000LL}});
  }

  history_ = history_of_.empty() ? nullptr : history_of_[oi];
  const size_t undo_mark = undo_.size();
  Nano weight = 0;
  uint32_t unknown_weights = 0;
  SignatureBuilder base_sig;
  bool base_sig_ok = true;
  for (uint32_t li = o.line_begin; li < o.line_end; ++li) {
    CheckLine(o, t, w_.lines[li], &weight, &unknown_weights, &base_sig,
              &base_sig_ok);
  }
  if (Active(kOrderDuplicate) && e_.dup_repeated_lines &&
      o.line_end - o.line_begin > 1) {
    repeat_buf_.clear();
    for (uint32_t li = o.line_begin; li < o.line_end; ++li) {
      repeat_buf_.push_back(li);
    }
    auto key = [&](uint32_t li) {
      const LineRec& l = w_.lines[li];
      return std::tuple{l.sku, l.uom, l.lot, l.location};
    };
    auto less = [&](uint32_t a, uint32_t b) { return key(a) < key(b); };
    if (repeat_buf_.size() <= 32) {
      // Stable insertion sort: no scratch buffer for the usual short order.
      for (size_t k = 1; k < repeat_buf_.size(); ++k) {
        const uint32_t v = repeat_buf_[k];
        size_t j = k;
        for (; j > 0 && less(v, repeat_buf_[j - 1]); --j) {
          repeat_buf_[j] = repeat_buf_[j - 1];
        }
        repeat_buf_[j] = v;
      }
    } else {
      std::stable_sort(repeat_buf_.begin(), repeat_buf_.end(), less);
    }
    for (size_t k = 1; k < repeat_buf_.size(); ++k) {
      const LineRec& a = w_.lines[repeat_buf_[k - 1]];
      const LineRec& b = w_.lines[repeat_buf_[k]];
      if (key(repeat_buf_[k - 1]) != key(repeat_buf_[k]) || b.sku == kNone) {
        continue;
      }
      Emit(kOrderDuplicate, &b,
           Msg("line {}: SKU {} repeats line {}; merge the lines or "
               "remove one",
               Info(b).line_no, S(b.sku), Info(a).line_no),
           {{"observed", S(b.sku)}, {"repeats_line", Info(a).line_no}});
    }
  }
  if (Active(kOrderDuplicate) && base_sig_ok && o.customer != kNone &&
      base_sig.count > 0 && (w_.capabilities & RFT_CAP_HISTORY)) {
    uint64_t sig = base_sig.Value();
    const uint64_t key = Mix64(o.customer) ^ sig;
    const HistoryOrder* match = nullptr;
    for (const auto& [entry_key, index] : w_.HistoryBySignature(key)) {
      const HistoryOrder& h = w_.history_orders[index];
      if (h.customer != o.customer || h.signature != sig || h.ref == o.ref ||
          !h.created_at.present()) {
        continue;
      }
      LocalClock utc(nullptr);
      int64_t hk = h.created_at.kind == RFT_TIME_UTC
                       ? h.created_at.value
                       : utc.LocalMicros(h.created_at);
      int64_t ok = o.created_at.kind == RFT_TIME_UTC ? o.created_at.value
                   : o.created_at.present() ? utc.LocalMicros(o.created_at)
                                            : ctx_.now_unix_us;
      int64_t diff = ok > hk ? ok - hk : hk - ok;
      if (diff <= e_.dup_window_us &&
          (match == nullptr || S(h.ref) < S(match->ref))) {
        match = &h;
      }
    }
    if (match != nullptr) {
      Emit(kOrderDuplicate, nullptr,
           Msg("order {} has the same customer and lines as recent "
               "order {}; cancel one unless both are wanted",
               S(o.ref), S(match->ref)),
           {{"observed", S(match->ref)},
            {"window_hours", e_.dup_window_us / 3'600'000'000LL}});
    }
  }
  if (Active(kCarrierConstraint)) {
    CheckCarrierOrder(o, t, weight, unknown_weights);
  }

  const auto found_begin =
      findings_.begin() + static_cast<ptrdiff_t>(first_finding);
  auto by_line = [](const Finding& a, const Finding& b) {
    return a.line_no < b.line_no;
  };
  if (findings_.size() - first_finding > 1 &&
      !std::is_sorted(found_begin, findings_.end(), by_line)) {
    std::stable_sort(found_begin, findings_.end(), by_line);
  }
  finding_runs_.emplace_back(first_finding, findings_.size() - first_finding);
  bool block = false, warn = false;
  for (auto it = found_begin; it != findings_.end(); ++it) {
    const Finding& f = *it;
    block |= f.severity == Severity::kBlock;
    warn |= f.severity == Severity::kWarn;
  }
  r.verdict = block ? Verdict::kHold : warn ? Verdict::kWarn : Verdict::kPass;
  if (block) {
    // A held order gives its stock back.
    for (size_t k = undo_.size(); k > undo_mark; --k) {
      const UndoEntry& u = undo_[k - 1];
      if (u.reservation) {
        res_left_[u.slot] += u.qty;
      } else {
        slot_state_[u.slot].free_left += u.qty;
      }
    }
  } else if (ctx_.record_allocations) {
    for (size_t k = undo_mark; k < undo_.size(); ++k) {
      const UndoEntry& u = undo_[k];
      const Slot& s = w_.slots[u.slot];
      r.allocations.push_back({w_.line_info[u.line].line_no,
                               std::string(S(s.sku)),
                               std::string(S(s.location)),
                               std::string(S(s.lot)), Q(u.qty), u.reservation});
    }
  }
  undo_.resize(undo_mark);
}

}  // namespace

std::string_view ResultStore::Keep(std::string_view s) {
  if (s.empty()) return std::string_view("", 0);
  if (s.size() > left_) {
    const size_t size = std::max(kBlockSize, s.size());
    blocks_.push_back(std::make_unique_for_overwrite<char[]>(size));
    at_ = blocks_.back().get();
    left_ = size;
  }
  std::memcpy(at_, s.data(), s.size());
  const std::string_view kept(at_, s.size());
  at_ += s.size();
  left_ -= s.size();
  return kept;
}

struct Engine::Impl {
  explicit Impl(Ruleset r) : config(std::move(r)) {}
  EngineConfig config;
};

Engine::Engine(Ruleset ruleset)
    : impl_(std::make_unique<Impl>(std::move(ruleset))) {}
Engine::~Engine() = default;
Engine::Engine(Engine&&) noexcept = default;
Engine& Engine::operator=(Engine&&) noexcept = default;

const Ruleset& Engine::ruleset() const { return impl_->config.ruleset; }

struct WaveCarry::Impl : CarryState {};

WaveResult Engine::Run(const Wave& wave, const RunContext& context,
                       WaveCarry* carry) const {
  Runner runner(impl_->config, wave.data(), context,
                carry == nullptr ? nullptr : carry->impl_.get());
  return runner.Run();
}

namespace {

// The refs of the wave's orders in the serving sequence, ship days in the
// sites' zones of `config` (UTC without one).
std::vector<std::string_view> RefsInServingSequence(
    const WaveData& w, const EngineConfig* config) {
  std::unordered_map<uint32_t, LocalClock> clocks;
  std::vector<int32_t> days(w.orders.size());
  for (size_t i = 0; i < w.orders.size(); ++i) {
    const OrderRec& o = w.orders[i];
    auto it = clocks.find(o.site);
    if (it == clocks.end()) {
      const date::time_zone* z = nullptr;
      if (config != nullptr) {
        z = config->default_zone;
        if (o.site != kNone) {
          auto s = config->site_zones.find(w.strings->Get(o.site));
          if (s != config->site_zones.end()) z = s->second;
        }
      }
      it = clocks.emplace(o.site, LocalClock(z)).first;
    }
    days[i] = it->second.Day(o.ship_date);
  }
  const std::vector<uint32_t> seq =
      ServingSequence(w, [&](uint32_t i) { return days[i]; });
  std::vector<std::string_view> refs;
  refs.reserve(seq.size());
  for (uint32_t i : seq) refs.push_back(w.strings->Get(w.orders[i].ref));
  return refs;
}

}  // namespace

std::vector<std::string_view> Engine::ServingRefs(const Wave& wave) const {
  return RefsInServingSequence(wave.data(), &impl_->config);
}

std::vector<std::string_view> ServingRefs(const Wave& wave) {
  return RefsInServingSequence(wave.data(), nullptr);
}

WaveCarry::WaveCarry() : impl_(std::make_unique<Impl>()) {}
WaveCarry::~WaveCarry() = default;
WaveCarry::WaveCarry(WaveCarry&&) noexcept = default;
WaveCarry& WaveCarry::operator=(WaveCarry&&) noexcept = default;

size_t WaveCarry::memory_bytes() const {
  return impl_ == nullptr ? 0 : sizeof(Impl) + impl_->MemoryBytes();
}

}  // namespace rftgate
