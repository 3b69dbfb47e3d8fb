// Engine-private layout of a wave: interned strings and contiguous arrays
// of records, with the indexes the checks use. Built by WaveBuilder, read
// by the Engine; immutable once Finish() has run.
#ifndef RFTGATE_PLUGIN_ENGINE_WAVE_DATA_H_
#define RFTGATE_PLUGIN_ENGINE_WAVE_DATA_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "plugin/engine/decimal.h"
#include "rftgate/adapter_abi.h"

namespace rftgate {

// An absent string or a missing index.
inline constexpr uint32_t kNone = UINT32_MAX;

// Owns every string of a wave once; ids are dense from 0.
class StringPool {
 public:
  // kNone for an absent string (data == NULL).
  uint32_t Intern(const rft_str& s);
  uint32_t Intern(std::string_view s);
  // Keeps a string that is only ever shown or compared by value (a line's
  // own ref, an address), without looking for an equal one: equal strings
  // added twice get two ids, and Find() does not see them.
  uint32_t Add(const rft_str& s);
  // kNone when the string was never interned.
  uint32_t Find(std::string_view s) const;
  // Brings the index entry where `s` would be into cache ahead of an
  // Intern(s); no effect on results.
  void PrefetchIntern(const rft_str& s) const;
  std::string_view Get(uint32_t id) const {
    return id == kNone ? std::string_view() : views_[id];
  }
  size_t size() const { return views_.size(); }
  // Brings the view of id into cache ahead of a Get(id); no effect on
  // results.
  void Prefetch(uint32_t id) const {
    if (id == kNone) return;
    const char c = *reinterpret_cast<const volatile char*>(&views_[id]);
    asm volatile("" : : "r"(c));
  }

 private:
  // An entry of the index: a string of up to kInline bytes is its own key
  // (finding it reads the entry's cache line and nothing else); a longer
  // one is keyed by its 64-bit hash and confirmed against its characters.
  struct Slot {
    uint64_t key0 = 0;
    uint32_t key1 = 0;
    uint32_t id1 = 0;  // id + 1; 0 = empty
  };
  static_assert(sizeof(Slot) == 16);
  static constexpr size_t kInline = 11;
  struct Key {
    uint64_t key0;
    uint32_t key1;
    uint64_t hash;  // where the entry's probe starts
  };
  static Key KeyOf(std::string_view s);
  uint32_t Store(std::string_view s);

  // Characters in chunks that never move (the views point into them), no
  // allocation per string; an open-addressing index of ids.
  std::vector<std::unique_ptr<char[]>> chunks_;
  char* free_ = nullptr;
  size_t left_ = 0;
  std::vector<std::string_view> views_;  // by id, for constant-time Get
  std::vector<Slot> slots_;
  size_t indexed_ = 0;  // entries in slots_ (Add()ed strings are not)
};

struct TimeValue {
  int64_t value = 0;
  int32_t kind = RFT_TIME_NONE;  // rft_time_kind
  bool present() const { return kind != RFT_TIME_NONE; }
  // A key that orders times of one kind; days are spread to microseconds.
  int64_t SortKey() const {
    return kind == RFT_TIME_DATE ? value * 86'400'000'000LL : value;
  }
};

struct OrderRec {
  uint32_t ref, stable_id, site, provider, customer, customer_order_ref;
  uint32_t ship_to_name, street, city, postcode, country;
  uint32_t carrier, carrier_service, status_text;
  TimeValue ship_date, created_at, release_at;
  int32_t priority = 0;
  uint32_t line_begin = 0, line_end = 0;  // into WaveData::lines
  uint32_t customer_idx = kNone;
  uint32_t carrier_idx = kNone;
  // SignatureBuilder over the lines' (sku, qty ^ Mix64(uom)) as ordered,
  // for finding orders of the wave with the same lines.
  uint64_t line_signature = 0;
};

// What the checks read of every line: 48 bytes, so that an order's lines
// (read together, at a random place) take as few cache lines as they can.
// What only findings and the builder read is in LineInfo.
struct LineRec {
  uint32_t sku, uom, location, lot;
  Nano qty = 0;
  uint32_t item = kNone;  // index into items
  uint32_t location_idx = kNone;
  uint32_t lot_idx = kNone;             // the assigned lot in the lot master
  uint32_t res_begin = 0, res_end = 0;  // own reservations
  DecimalState qty_state = DecimalState::kOk;
};
static_assert(sizeof(LineRec) <= 48);

// The rest of a line, parallel to WaveData::lines.
struct LineInfo {
  uint32_t order = kNone;  // index into WaveData::orders
  int32_t line_no = 0;
  uint32_t order_ref, line_ref;
  rft_decimal qty_raw{};
};

// One cache line per item: lines reach their item at random.
struct alignas(64) ItemRec {
  uint32_t sku, base_uom, hazmat, description;
  int32_t active, lot_tracked, serial_tracked, removal_strategy;
  Nano unit_weight_kg = 0;  // per base unit, nano-kg
  int32_t min_shelf_life_days = -1;
  uint32_t slot_begin = 0, slot_end = 0;  // stock slots, removal order
  uint32_t item_unit_begin = 0, item_unit_end = 0;
  bool weight_known = false;
  bool fefo = false;  // effective strategy is FEFO
  bool has_lotless_stock = false;
  bool in_master = true;  // false: made up for a SKU the master lacks
};
static_assert(sizeof(ItemRec) == 64);

struct UnitRec {
  uint32_t code, category;
  Ratio ratio;        // 1 unit = ratio x the category's reference unit
  Nano rounding = 0;  // 0 = exact
  DecimalState rounding_state = DecimalState::kOk;
};

struct ItemUnitRec {
  uint32_t sku, uom;
  Ratio ratio;  // 1 uom = ratio x the item's base unit
};

// Stock of one SKU at one (location, lot); rows with the same key add up.
struct Slot {
  uint32_t item = kNone;
  uint32_t sku, location, lot;  // string ids
  uint32_t location_idx = kNone, lot_idx = kNone;
  Nano on_hand = 0, reserved = 0;
  TimeValue in_date;
  uint32_t first_record = 0;  // for "as listed" removal
};

struct LotRec {
  uint32_t sku, lot;
  int32_t status;  // rft_lot_status
  TimeValue expiry, removal_date;
};

struct LocationRec {
  uint32_t code, zone, parent;
  int32_t pickable, blocked;
  uint32_t parent_idx = kNone;
  bool usable = true;  // effectively pickable and not blocked (with parents)
  bool cyclic = false;
};

struct CustomerRec {
  uint32_t ref, name, hold_reason;
  int32_t blocked, credit_hold, min_shelf_life_days;
};

struct CarrierRec {
  uint32_t carrier, code;
  int32_t hazmat_allowed, cutoff_minute;
  Nano max_weight_kg = 0;
  bool has_max_weight = false;
};

struct ReservationRec {
  uint32_t order_ref;
  int32_t line_no;
  uint32_t sku, location, lot;  // sku from the line, resolved at Finish
  uint32_t slot = kNone;
  Nano qty = 0;
};

struct HistoryLine {
  uint32_t order_ref, customer, sku;
  Nano qty;
  TimeValue created_at;
};

// A past order reduced to what order.duplicate compares.
struct HistoryOrder {
  uint32_t ref, customer;
  uint64_t signature;
  uint32_t line_count;
  TimeValue created_at;
};

// Quantities a customer ordered of a SKU in the past, in base units.
struct HistoryStat {
  Nano median = 0;
  Nano max = 0;
  uint32_t count = 0;
};

// A customer's run of entries in WaveData::history_skus / history_stats.
struct HistoryCustomer {
  uint32_t customer;  // string id
  uint32_t begin, end;
};

struct WaveData {
  // Shared with the results of runs over the wave, which view its strings.
  std::shared_ptr<StringPool> strings = std::make_shared<StringPool>();
  uint64_t capabilities = 0;

  std::vector<OrderRec> orders;
  std::vector<LineRec> lines;       // grouped by order, then line_no
  std::vector<LineInfo> line_info;  // parallel to lines
  std::vector<ItemRec> items;
  std::vector<UnitRec> units;
  std::vector<ItemUnitRec> item_units;  // grouped by item
  std::vector<Slot> slots;              // grouped by item, removal order
  std::vector<LotRec> lots;
  std::vector<LocationRec> locations;
  std::vector<CustomerRec> customers;
  std::vector<CarrierRec> carriers;
  std::vector<ReservationRec> reservations;  // grouped by (order, line)
  std::vector<HistoryLine> history;
  std::vector<HistoryOrder> history_orders;

  // Indexes by string id (size = strings.size() after Finish).
  std::vector<uint32_t> item_by_sku, unit_by_code, location_by_code,
      customer_by_ref, carrier_by_code, order_by_ref;
  std::unordered_map<uint64_t, uint32_t> lot_by_key;  // (sku << 32) | lot
  // Per (customer, SKU) statistics: history_customers ascending by
  // customer string id, each naming its run of history_skus (ascending SKU
  // string ids) and the parallel history_stats.
  std::vector<HistoryCustomer> history_customers;
  std::vector<uint32_t> history_skus;
  std::vector<HistoryStat> history_stats;
  // (Mix64(customer) ^ signature, index into history_orders), ascending.
  std::vector<std::pair<uint64_t, uint32_t>> history_by_signature;
  // Where each run of history_by_signature with the same top
  // history_signature_bits bits of the key starts (one more entry than
  // runs): a search reads one or two cache lines instead of walking a
  // binary search through the whole array, one miss per step.
  std::vector<uint32_t> history_signature_start;
  int history_signature_bits = 0;

  // Problems found in the records as a whole (orphan lines...), reported
  // as notes of every run over the wave.
  std::vector<std::string> notes;

  bool finished = false;

  uint32_t Index(const std::vector<uint32_t>& by, uint32_t id) const {
    return id < by.size() ? by[id] : kNone;
  }
  // The entries of history_by_signature whose key is `key`.
  std::span<const std::pair<uint64_t, uint32_t>> HistoryBySignature(
      uint64_t key) const;
  // The customer's run in history_customers, or nullptr when it has none.
  const HistoryCustomer* FindHistoryCustomer(uint32_t customer) const;
  // The customer's statistics for the SKU, or nullptr when there are none.
  const HistoryStat* FindHistoryStat(const HistoryCustomer& c,
                                     uint32_t sku) const;
};

// The first of the n elements at `first` whose key(element) is not less
// than `value` (first + n when none), the elements being sorted by key: a
// lower bound without data-dependent branches, which mispredict when the
// searches land at random.
template <typename T, typename V, typename KeyOf>
const T* LowerBound(const T* first, size_t n, V value, KeyOf key) {
  if (n == 0) return first;
  const T* base = first;
  while (n > 1) {
    const size_t half = n / 2;
    base = key(base[half]) < value ? base + half : base;
    n -= half;
  }
  return base + (key(*base) < value ? 1 : 0);
}

inline uint64_t PairKey(uint32_t a, uint32_t b) {
  return (static_cast<uint64_t>(a) << 32) | b;
}

// A 64-bit mix for signatures (splitmix64 finaliser).
inline uint64_t Mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Signature of a set of (sku, qty) pairs: order-independent.
struct SignatureBuilder {
  uint64_t sum = 0, xr = 0;
  uint32_t count = 0;
  // `sku` is an interned string id: signatures compare within one wave.
  void Add(uint32_t sku, Nano qty) {
    uint64_t h = Mix64(sku);
    uint64_t v = Mix64(h ^ Mix64(static_cast<uint64_t>(qty)));
    sum += v;
    xr ^= Mix64(v);
    ++count;
  }
  uint64_t Value() const { return Mix64(sum ^ Mix64(xr + count)); }
};

}  // namespace rftgate

#endif  // RFTGATE_PLUGIN_ENGINE_WAVE_DATA_H_
