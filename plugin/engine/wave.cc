#include "plugin/engine/wave.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <map>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "fmt/format.h"
#include "plugin/engine/wave_data.h"

namespace rftgate {

namespace {

// A hash of a short string, a word at a time.
inline uint64_t HashBytes(const char* p, size_t n) {
  uint64_t h = 0x9e3779b97f4a7c15ULL ^ n;
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    h = Mix64(h ^ w);
    p += 8;
    n -= 8;
  }
  uint64_t w = 0;
  std::memcpy(&w, p, n);
  return Mix64(h ^ w ^ 0x2545f4914f6cdd1dULL);
}

constexpr size_t kChunkChars = 64 * 1024;

// The last string a field of a batch interned, and its id: consecutive
// records often repeat it (the lines of one order, an order's site or
// carrier, the stock rows of one SKU), and comparing with it spares a
// lookup in the pool's index, which waits on memory.
struct Recent {
  uint32_t Intern(StringPool& sp, const rft_str& s) {
    if (s.data == nullptr) return kNone;
    const std::string_view v(s.data, s.len);
    if (id != kNone && sp.Get(id) == v) return id;
    id = sp.Intern(v);
    return id;
  }
  uint32_t id = kNone;
};

}  // namespace

namespace {

inline uint64_t Load64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
inline uint32_t Load32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

}  // namespace

// A string of up to kInline bytes is its own key: every byte is read at a
// fixed place for its length (fixed-size loads only, which may overlap),
// and the length is the low byte of key1; a longer one has its hash and a
// length byte of 255.
inline StringPool::Key StringPool::KeyOf(std::string_view s) {
  // The masks below pick bytes by their place in a little-endian word.
  static_assert(std::endian::native == std::endian::little);
  const char* p = s.data();
  const size_t n = s.size();
  Key k;
  if (n > kInline) {
    k.hash = HashBytes(p, n);
    k.key0 = k.hash;
    k.key1 = 0xff;
    return k;
  }
  if (n >= 8) {
    // The last three bytes reach back to byte 8 at most.
    k.key0 = Load64(p);
    k.key1 = (Load32(p + n - 4) & 0xffffff00u) | static_cast<uint32_t>(n);
  } else if (n >= 4) {
    k.key0 = Load32(p) | (uint64_t{Load32(p + n - 4)} << 32);
    k.key1 = static_cast<uint32_t>(n);
  } else if (n > 0) {
    const auto b = [&](size_t i) {
      return uint64_t{static_cast<unsigned char>(p[i])};
    };
    k.key0 = b(0) | (b(n / 2) << 8) | (b(n - 1) << 16);
    k.key1 = static_cast<uint32_t>(n);
  } else {
    k.key0 = 0;
    k.key1 = 0;
  }
  k.hash = Mix64(k.key0 ^ Mix64(k.key1 ^ 0x2545f4914f6cdd1dULL));
  return k;
}

uint32_t StringPool::Intern(const rft_str& s) {
  if (s.data == nullptr) return kNone;
  return Intern(std::string_view(s.data, s.len));
}

uint32_t StringPool::Intern(std::string_view s) {
  const Key k = KeyOf(s);
  if (indexed_ * 2 >= slots_.size()) {
    // Grow (load factor at most 1/2): re-place the entries by their keys.
    std::vector<Slot> grown(std::max<size_t>(slots_.size() * 2, 1024));
    const size_t mask = grown.size() - 1;
    for (const Slot& slot : slots_) {
      if (slot.id1 == 0) continue;
      size_t i = static_cast<size_t>(KeyOf(views_[slot.id1 - 1]).hash) & mask;
      while (grown[i].id1 != 0) i = (i + 1) & mask;
      grown[i] = slot;
    }
    slots_.swap(grown);
  }
  const size_t mask = slots_.size() - 1;
  const bool inline_key = s.size() <= kInline;
  size_t i = static_cast<size_t>(k.hash) & mask;
  for (; slots_[i].id1 != 0; i = (i + 1) & mask) {
    const Slot& slot = slots_[i];
    if (slot.key0 != k.key0 || slot.key1 != k.key1) continue;
    const uint32_t id = slot.id1 - 1;
    if (inline_key || views_[id] == s) return id;
  }
  const uint32_t id = Store(s);
  slots_[i] = Slot{k.key0, k.key1, id + 1};
  ++indexed_;
  return id;
}

uint32_t StringPool::Add(const rft_str& s) {
  if (s.data == nullptr) return kNone;
  return Store(std::string_view(s.data, s.len));
}

uint32_t StringPool::Store(std::string_view s) {
  // The characters at the end of the current chunk.
  if (s.size() > left_ || free_ == nullptr) {
    const size_t cap = std::max(kChunkChars, s.size());
    chunks_.push_back(std::make_unique<char[]>(cap));
    free_ = chunks_.back().get();
    left_ = cap;
  }
  if (!s.empty()) std::memcpy(free_, s.data(), s.size());
  const uint32_t id = static_cast<uint32_t>(views_.size());
  views_.emplace_back(free_, s.size());
  free_ += s.size();
  left_ -= s.size();
  return id;
}

void StringPool::PrefetchIntern(const rft_str& s) const {
  if (s.data == nullptr || slots_.empty()) return;
  const Key k = KeyOf(std::string_view(s.data, s.len));
  __builtin_prefetch(
      &slots_[static_cast<size_t>(k.hash) & (slots_.size() - 1)]);
}

uint32_t StringPool::Find(std::string_view s) const {
  if (slots_.empty()) return kNone;
  const Key k = KeyOf(s);
  const size_t mask = slots_.size() - 1;
  const bool inline_key = s.size() <= kInline;
  for (size_t i = static_cast<size_t>(k.hash) & mask; slots_[i].id1 != 0;
       i = (i + 1) & mask) {
    const Slot& slot = slots_[i];
    if (slot.key0 != k.key0 || slot.key1 != k.key1) continue;
    const uint32_t id = slot.id1 - 1;
    if (inline_key || views_[id] == s) return id;
  }
  return kNone;
}

Wave::Wave() : data_(std::make_unique<WaveData>()) { data_->finished = true; }
Wave::~Wave() = default;
Wave::Wave(Wave&&) noexcept = default;
Wave& Wave::operator=(Wave&&) noexcept = default;

size_t Wave::order_count() const { return data_->orders.size(); }
size_t Wave::line_count() const { return data_->lines.size(); }
uint64_t Wave::capabilities() const { return data_->capabilities; }
const WaveData& Wave::data() const { return *data_; }

namespace {

const char* KindName(int32_t kind) {
  switch (kind) {
    case RFT_REC_ORDER:
      return "order";
    case RFT_REC_LINE:
      return "line";
    case RFT_REC_ITEM:
      return "item";
    case RFT_REC_UNIT:
      return "unit";
    case RFT_REC_ITEM_UNIT:
      return "item unit";
    case RFT_REC_STOCK:
      return "stock";
    case RFT_REC_LOT:
      return "lot";
    case RFT_REC_LOCATION:
      return "location";
    case RFT_REC_CUSTOMER:
      return "customer";
    case RFT_REC_CARRIER_SERVICE:
      return "carrier service";
    case RFT_REC_RESERVATION:
      return "reservation";
    case RFT_REC_HISTORY_LINE:
      return "history line";
    default:
      return nullptr;
  }
}

size_t MinSize(int32_t kind) {
  switch (kind) {
    case RFT_REC_ORDER:
      return sizeof(rft_order);
    case RFT_REC_LINE:
      return sizeof(rft_order_line);
    case RFT_REC_ITEM:
      return sizeof(rft_item);
    case RFT_REC_UNIT:
      return sizeof(rft_unit);
    case RFT_REC_ITEM_UNIT:
      return sizeof(rft_item_unit);
    case RFT_REC_STOCK:
      return sizeof(rft_stock);
    case RFT_REC_LOT:
      return sizeof(rft_lot);
    case RFT_REC_LOCATION:
      return sizeof(rft_location);
    case RFT_REC_CUSTOMER:
      return sizeof(rft_customer);
    case RFT_REC_CARRIER_SERVICE:
      return sizeof(rft_carrier_service);
    case RFT_REC_RESERVATION:
      return sizeof(rft_reservation);
    case RFT_REC_HISTORY_LINE:
      return sizeof(rft_history_line);
    default:
      return 0;
  }
}

// Validation of one record; the first problem found is kept.
class Checker {
 public:
  Checker(const char* kind, size_t index) : kind_(kind), index_(index) {}
  void Required(const rft_str& s, const char* field) {
    if (ok() && (s.data == nullptr || s.len == 0)) {
      error_ = fmt::format("{} record {}: field '{}' is missing", kind_, index_,
                           field);
    }
  }
  void Str(const rft_str& s, const char* field) {
    if (ok() && s.data == nullptr && s.len != 0) {
      error_ = fmt::format("{} record {}: field '{}' has a length but no data",
                           kind_, index_, field);
    }
  }
  void Decimal(const rft_decimal& d, const char* field) {
    if (ok() && !d.is_null && (d.scale < 0 || d.scale > 18)) {
      error_ =
          fmt::format("{} record {}: field '{}' has scale {} (must be 0 to 18)",
                      kind_, index_, field, d.scale);
    }
  }
  void Time(const rft_time& t, const char* field) {
    if (ok() && (t.kind < RFT_TIME_NONE || t.kind > RFT_TIME_LOCAL)) {
      error_ = fmt::format("{} record {}: field '{}' has unknown time kind {}",
                           kind_, index_, field, t.kind);
    }
  }
  void Fail(const std::string& what) {
    if (ok()) error_ = fmt::format("{} record {}: {}", kind_, index_, what);
  }
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }

 private:
  const char* kind_;
  size_t index_;
  std::string error_;
};

TimeValue ToTime(const rft_time& t) { return TimeValue{t.value, t.kind}; }

struct SlotKey {
  uint32_t sku, location, lot;
  bool operator==(const SlotKey&) const = default;
};
struct SlotKeyHash {
  size_t operator()(const SlotKey& k) const {
    return Mix64((static_cast<uint64_t>(k.sku) << 32 | k.location) ^
                 Mix64(k.lot));
  }
};

// Record index by string id: string ids are dense, so a plain array.
class IdIndex {
 public:
  // The index of `id`, inserting `index` when it has none; and whether it
  // was inserted.
  std::pair<uint32_t, bool> emplace(uint32_t id, uint32_t index) {
    if (id >= v_.size())
      v_.resize(std::max<size_t>(id + 1, v_.size() * 2), kNone);
    if (v_[id] != kNone) return {v_[id], false};
    v_[id] = index;
    return {index, true};
  }
  // By string id, for every id of a pool of `strings` strings.
  std::vector<uint32_t> ByString(size_t strings) const {
    std::vector<uint32_t> out(
        v_.begin(),
        v_.begin() + static_cast<std::ptrdiff_t>(std::min(strings, v_.size())));
    out.resize(strings, kNone);
    return out;
  }

 private:
  std::vector<uint32_t> v_;
};

// A set of 64-bit keys, open addressing (no allocation per key).
class KeySet {
 public:
  // True when `key` was not in the set (and now is).
  bool insert(uint64_t key) {
    if ((size_ + 1) * 2 > slots_.size()) Grow();
    const size_t mask = slots_.size() - 1;
    size_t i = static_cast<size_t>(Mix64(key)) & mask;
    for (; used_[i]; i = (i + 1) & mask) {
      if (slots_[i] == key) return false;
    }
    used_[i] = 1;
    slots_[i] = key;
    ++size_;
    return true;
  }

 private:
  void Grow() {
    std::vector<uint64_t> old = std::move(slots_);
    std::vector<uint8_t> old_used = std::move(used_);
    slots_.assign(std::max<size_t>(old.size() * 2, 1024), 0);
    used_.assign(slots_.size(), 0);
    const size_t mask = slots_.size() - 1;
    for (size_t k = 0; k < old.size(); ++k) {
      if (!old_used[k]) continue;
      size_t i = static_cast<size_t>(Mix64(old[k])) & mask;
      while (used_[i]) i = (i + 1) & mask;
      used_[i] = 1;
      slots_[i] = old[k];
    }
  }
  std::vector<uint64_t> slots_;
  std::vector<uint8_t> used_;
  size_t size_ = 0;
};

// Indexes of records by a small key, open addressing (no allocation per
// key, one cache line per lookup).
template <class Key, class Hash>
class IndexMap {
 public:
  void reserve(size_t n) {
    if (n * 2 > entries_.size())
      Rehash(std::bit_ceil(std::max<size_t>(n * 2, 1024)));
  }
  // The index of `key`, inserting `index` when it has none; and whether it
  // was inserted.
  std::pair<uint32_t, bool> emplace(const Key& key, uint32_t index) {
    if ((size_ + 1) * 2 > entries_.size()) {
      Rehash(std::max<size_t>(entries_.size() * 2, 1024));
    }
    const size_t mask = entries_.size() - 1;
    size_t i = Hash()(key) & mask;
    for (; entries_[i].index1 != 0; i = (i + 1) & mask) {
      if (entries_[i].key == key) return {entries_[i].index1 - 1, false};
    }
    entries_[i] = Entry{key, index + 1};
    ++size_;
    return {index, true};
  }
  // kNone when `key` has no index.
  uint32_t find(const Key& key) const {
    if (entries_.empty()) return kNone;
    const size_t mask = entries_.size() - 1;
    for (size_t i = Hash()(key) & mask; entries_[i].index1 != 0;
         i = (i + 1) & mask) {
      if (entries_[i].key == key) return entries_[i].index1 - 1;
    }
    return kNone;
  }

 private:
  struct Entry {
    Key key{};
    uint32_t index1 = 0;  // index + 1; 0 = empty
  };
  void Rehash(size_t size) {
    std::vector<Entry> old = std::move(entries_);
    entries_.assign(size, Entry{});
    const size_t mask = size - 1;
    for (const Entry& e : old) {
      if (e.index1 == 0) continue;
      size_t i = Hash()(e.key) & mask;
      while (entries_[i].index1 != 0) i = (i + 1) & mask;
      entries_[i] = e;
    }
  }
  std::vector<Entry> entries_;
  size_t size_ = 0;
};

struct U64Hash {
  size_t operator()(uint64_t k) const { return Mix64(k); }
};

}  // namespace

struct WaveBuilderState {
  IdIndex orders, items, units, locations, customers, carriers;
  KeySet lines, item_units, lots;
  IndexMap<SlotKey, SlotKeyHash> slots;
  uint32_t stock_records = 0;
};

WaveBuilder::WaveBuilder() : data_(std::make_unique<WaveData>()) {}
WaveBuilder::~WaveBuilder() = default;

void WaveBuilder::SetCapabilities(uint64_t capabilities) {
  data_->capabilities = capabilities;
}

rft_status WaveBuilder::Put(int32_t kind, const void* records, size_t count,
                            std::string* error) {
  auto fail = [&](const std::string& message) {
    if (error != nullptr) *error = message;
    return RFT_ERR_INVALID_ARGUMENT;
  };
  const char* kind_name = KindName(kind);
  if (kind_name == nullptr) {
    return fail(fmt::format("unknown record kind {}", kind));
  }
  if (count == 0) return RFT_OK;
  if (records == nullptr) {
    return fail(
        fmt::format("{} records: {} records but no data", kind_name, count));
  }
  uint32_t stride = 0;
  std::memcpy(&stride, records, sizeof(stride));
  if (stride < MinSize(kind)) {
    return fail(fmt::format(
        "{} record 0: struct_size {} is smaller than the {} bytes of ABI {}.{}",
        kind_name, stride, MinSize(kind), RFT_ADAPTER_ABI_MAJOR,
        RFT_ADAPTER_ABI_MINOR));
  }
  if (!state_) state_ = std::make_unique<WaveBuilderState>();
  WaveData& w = *data_;
  WaveBuilderState& st = *state_;
  StringPool& sp = *w.strings;
  const char* base = static_cast<const char*>(records);
  // The index entries of records a few ahead, fetched while this one is
  // interned: the index is too large for the cache, and a lookup waits on
  // memory otherwise.
  constexpr size_t kAhead = 4;
  auto prefetch = [&](size_t k) {
    if (k >= count) return;
    const char* q = base + k * stride;
    if (kind == RFT_REC_LINE) {
      const auto* r = reinterpret_cast<const rft_order_line*>(q);
      sp.PrefetchIntern(r->sku);
      sp.PrefetchIntern(r->location);
      sp.PrefetchIntern(r->lot);
    } else if (kind == RFT_REC_STOCK) {
      const auto* r = reinterpret_cast<const rft_stock*>(q);
      sp.PrefetchIntern(r->sku);
      sp.PrefetchIntern(r->location);
      sp.PrefetchIntern(r->lot);
    } else if (kind == RFT_REC_ORDER) {
      const auto* r = reinterpret_cast<const rft_order*>(q);
      sp.PrefetchIntern(r->ref);
      sp.PrefetchIntern(r->customer_ref);
      sp.PrefetchIntern(r->city);
      sp.PrefetchIntern(r->postcode);
    }
  };
  for (size_t k = 0; k < kAhead; ++k) prefetch(k);
  Recent recent[6];
  for (size_t i = 0; i < count; ++i) {
    prefetch(i + kAhead);
    const char* p = base + i * stride;
    Checker c(kind_name, i);
    switch (kind) {
      case RFT_REC_ORDER: {
        rft_order r;
        std::memcpy(&r, p, sizeof(r));
        c.Required(r.ref, "ref");
        for (auto [s, n] : {std::pair{&r.stable_id, "stable_id"},
                            {&r.site, "site"},
                            {&r.provider, "provider"},
                            {&r.customer_ref, "customer_ref"},
                            {&r.street, "street"},
                            {&r.city, "city"},
                            {&r.postcode, "postcode"},
                            {&r.country, "country"}}) {
          c.Str(*s, n);
        }
        c.Time(r.ship_date, "ship_date");
        c.Time(r.created_at, "created_at");
        c.Time(r.release_at, "release_at");
        if (!c.ok()) return fail(c.error());
        OrderRec o{};
        o.ref = sp.Intern(r.ref);
        if (!st.orders.emplace(o.ref, static_cast<uint32_t>(w.orders.size()))
                 .second) {
          return fail(
              fmt::format("order record {}: ref '{}' is delivered twice", i,
                          sp.Get(o.ref)));
        }
        o.stable_id = sp.Add(r.stable_id);
        o.site = recent[0].Intern(sp, r.site);
        o.provider = recent[1].Intern(sp, r.provider);
        o.customer = sp.Intern(r.customer_ref);
        o.customer_order_ref = sp.Intern(r.customer_order_ref);
        o.ship_to_name = sp.Add(r.ship_to_name);
        o.street = sp.Add(r.street);
        o.city = sp.Intern(r.city);
        o.postcode = sp.Intern(r.postcode);
        o.country = recent[2].Intern(sp, r.country);
        o.carrier = recent[3].Intern(sp, r.carrier);
        o.carrier_service = recent[4].Intern(sp, r.carrier_service);
        o.status_text = recent[5].Intern(sp, r.status_text);
        o.ship_date = ToTime(r.ship_date);
        o.created_at = ToTime(r.created_at);
        o.release_at = ToTime(r.release_at);
        o.priority = r.priority;
        w.orders.push_back(o);
        break;
      }
      case RFT_REC_LINE: {
        rft_order_line r;
        std::memcpy(&r, p, sizeof(r));
        c.Required(r.order_ref, "order_ref");
        c.Str(r.sku, "sku");
        c.Str(r.uom, "uom");
        c.Str(r.location, "location");
        c.Str(r.lot, "lot");
        c.Decimal(r.qty, "qty");
        if (!c.ok()) return fail(c.error());
        LineRec l{};
        LineInfo info{};
        info.order_ref = recent[0].Intern(sp, r.order_ref);
        info.line_no = r.line_no;
        if (!st.lines.insert(
                PairKey(info.order_ref, static_cast<uint32_t>(r.line_no)))) {
          return fail(fmt::format(
              "line record {}: line_no {} of order '{}' is delivered twice", i,
              r.line_no, sp.Get(info.order_ref)));
        }
        info.line_ref = sp.Add(r.line_ref);
        l.sku = sp.Intern(r.sku);
        l.uom = recent[1].Intern(sp, r.uom);
        l.location = sp.Intern(r.location);
        l.lot = sp.Intern(r.lot);
        info.qty_raw = r.qty;
        l.qty_state = DecimalToNano(r.qty, &l.qty);
        w.lines.push_back(l);
        w.line_info.push_back(info);
        break;
      }
      case RFT_REC_ITEM: {
        rft_item r;
        std::memcpy(&r, p, sizeof(r));
        c.Required(r.sku, "sku");
        c.Str(r.base_uom, "base_uom");
        c.Decimal(r.unit_weight_kg, "unit_weight_kg");
        c.Decimal(r.unit_volume_m3, "unit_volume_m3");
        if (!c.ok()) return fail(c.error());
        ItemRec it{};
        it.sku = sp.Intern(r.sku);
        if (!st.items.emplace(it.sku, static_cast<uint32_t>(w.items.size()))
                 .second) {
          return fail(fmt::format("item record {}: SKU '{}' is delivered twice",
                                  i, sp.Get(it.sku)));
        }
        it.base_uom = sp.Intern(r.base_uom);
        it.hazmat = r.hazmat_class.len > 0 ? sp.Intern(r.hazmat_class) : kNone;
        it.description = sp.Add(r.description);
        it.active = r.active;
        it.lot_tracked = r.lot_tracked;
        it.serial_tracked = r.serial_tracked;
        it.removal_strategy = r.removal_strategy;
        it.weight_known = DecimalToNano(r.unit_weight_kg, &it.unit_weight_kg) ==
                              DecimalState::kOk &&
                          it.unit_weight_kg >= 0;
        it.min_shelf_life_days = r.min_shelf_life_days;
        w.items.push_back(it);
        break;
      }
      case RFT_REC_UNIT: {
        rft_unit r;
        std::memcpy(&r, p, sizeof(r));
        c.Required(r.code, "code");
        c.Str(r.category, "category");
        c.Decimal(r.factor, "factor");
        c.Decimal(r.rounding, "rounding");
        if (!c.ok()) return fail(c.error());
        UnitRec u{};
        u.code = sp.Intern(r.code);
        if (!st.units.emplace(u.code, static_cast<uint32_t>(w.units.size()))
                 .second) {
          return fail(
              fmt::format("unit record {}: code '{}' is delivered twice", i,
                          sp.Get(u.code)));
        }
        u.category = sp.Intern(r.category);
        u.ratio = RatioFromFactor(r.factor, r.factor_kind);
        u.rounding_state = DecimalToNano(r.rounding, &u.rounding);
        if (u.rounding_state != DecimalState::kOk || u.rounding < 0) {
          u.rounding = 0;
        }
        w.units.push_back(u);
        break;
      }
      case RFT_REC_ITEM_UNIT: {
        rft_item_unit r;
        std::memcpy(&r, p, sizeof(r));
        c.Required(r.sku, "sku");
        c.Required(r.uom, "uom");
        c.Decimal(r.factor, "factor");
        if (!c.ok()) return fail(c.error());
        ItemUnitRec u{};
        u.sku = recent[0].Intern(sp, r.sku);
        u.uom = recent[1].Intern(sp, r.uom);
        if (!st.item_units.insert(PairKey(u.sku, u.uom))) {
          return fail(fmt::format(
              "item unit record {}: unit '{}' of SKU '{}' is delivered twice",
              i, sp.Get(u.uom), sp.Get(u.sku)));
        }
        u.ratio = RatioFromFactor(r.factor, r.factor_kind);
        w.item_units.push_back(u);
        break;
      }
      case RFT_REC_STOCK: {
        rft_stock r;
        std::memcpy(&r, p, sizeof(r));
        c.Required(r.sku, "sku");
        c.Required(r.location, "location");
        c.Str(r.lot, "lot");
        c.Decimal(r.on_hand, "on_hand");
        c.Decimal(r.reserved_qty, "reserved_qty");
        c.Time(r.in_date, "in_date");
        if (!c.ok()) return fail(c.error());
        SlotKey key{recent[0].Intern(sp, r.sku), sp.Intern(r.location),
                    r.lot.len > 0 ? sp.Intern(r.lot) : kNone};
        Nano on_hand = 0, reserved = 0;
        // Quantities finer than a nano-unit are truncated: stock is never
        // overstated. NULL counts as zero.
        DecimalToNano(r.on_hand, &on_hand);
        DecimalToNano(r.reserved_qty, &reserved);
        if (reserved < 0) reserved = 0;
        auto [at, fresh] =
            st.slots.emplace(key, static_cast<uint32_t>(w.slots.size()));
        if (fresh) {
          Slot s{};
          s.sku = key.sku;
          s.location = key.location;
          s.lot = key.lot;
          s.in_date = ToTime(r.in_date);
          s.first_record = st.stock_records;
          w.slots.push_back(s);
        }
        Slot& s = w.slots[at];
        s.on_hand += on_hand;
        s.reserved += reserved;
        if (ToTime(r.in_date).present() &&
            (!s.in_date.present() ||
             ToTime(r.in_date).SortKey() < s.in_date.SortKey())) {
          s.in_date = ToTime(r.in_date);
        }
        ++st.stock_records;
        break;
      }
      case RFT_REC_LOT: {
        rft_lot r;
        std::memcpy(&r, p, sizeof(r));
        c.Required(r.sku, "sku");
        c.Required(r.lot, "lot");
        c.Time(r.expiry, "expiry");
        c.Time(r.removal_date, "removal_date");
        if (!c.ok()) return fail(c.error());
        LotRec l{};
        l.sku = recent[0].Intern(sp, r.sku);
        l.lot = sp.Intern(r.lot);
        if (!st.lots.insert(PairKey(l.sku, l.lot))) {
          return fail(fmt::format(
              "lot record {}: lot '{}' of SKU '{}' is delivered twice", i,
              sp.Get(l.lot), sp.Get(l.sku)));
        }
        l.status = (r.status >= RFT_LOT_RELEASED && r.status <= RFT_LOT_UNKNOWN)
                       ? r.status
                       : RFT_LOT_UNKNOWN;
        l.expiry = ToTime(r.expiry);
        l.removal_date = ToTime(r.removal_date);
        w.lots.push_back(l);
        break;
      }
      case RFT_REC_LOCATION: {
        rft_location r;
        std::memcpy(&r, p, sizeof(r));
        c.Required(r.code, "code");
        c.Str(r.parent, "parent");
        if (!c.ok()) return fail(c.error());
        LocationRec l{};
        l.code = sp.Intern(r.code);
        if (!st.locations
                 .emplace(l.code, static_cast<uint32_t>(w.locations.size()))
                 .second) {
          return fail(
              fmt::format("location record {}: code '{}' is delivered twice", i,
                          sp.Get(l.code)));
        }
        l.zone = recent[0].Intern(sp, r.zone);
        l.parent = r.parent.len > 0 ? sp.Intern(r.parent) : kNone;
        l.pickable = r.pickable;
        l.blocked = r.blocked;
        w.locations.push_back(l);
        break;
      }
      case RFT_REC_CUSTOMER: {
        rft_customer r;
        std::memcpy(&r, p, sizeof(r));
        c.Required(r.ref, "ref");
        if (!c.ok()) return fail(c.error());
        CustomerRec cu{};
        cu.ref = sp.Intern(r.ref);
        if (!st.customers
                 .emplace(cu.ref, static_cast<uint32_t>(w.customers.size()))
                 .second) {
          return fail(
              fmt::format("customer record {}: ref '{}' is delivered twice", i,
                          sp.Get(cu.ref)));
        }
        cu.name = sp.Intern(r.name);
        cu.hold_reason = sp.Intern(r.hold_reason);
        cu.blocked = r.blocked;
        cu.credit_hold = r.credit_hold;
        cu.min_shelf_life_days = r.min_shelf_life_days;
        w.customers.push_back(cu);
        break;
      }
      case RFT_REC_CARRIER_SERVICE: {
        rft_carrier_service r;
        std::memcpy(&r, p, sizeof(r));
        c.Required(r.code, "code");
        c.Decimal(r.max_parcel_weight_kg, "max_parcel_weight_kg");
        if (!c.ok()) return fail(c.error());
        CarrierRec ca{};
        ca.code = sp.Intern(r.code);
        if (!st.carriers
                 .emplace(ca.code, static_cast<uint32_t>(w.carriers.size()))
                 .second) {
          return fail(fmt::format(
              "carrier service record {}: code '{}' is delivered twice", i,
              sp.Get(ca.code)));
        }
        ca.carrier = sp.Intern(r.carrier);
        ca.hazmat_allowed = r.hazmat_allowed;
        ca.cutoff_minute = r.cutoff_minute;
        ca.has_max_weight =
            DecimalToNano(r.max_parcel_weight_kg, &ca.max_weight_kg) ==
            DecimalState::kOk;
        w.carriers.push_back(ca);
        break;
      }
      case RFT_REC_RESERVATION: {
        rft_reservation r;
        std::memcpy(&r, p, sizeof(r));
        c.Required(r.order_ref, "order_ref");
        c.Required(r.location, "location");
        c.Str(r.lot, "lot");
        c.Decimal(r.qty, "qty");
        if (!c.ok()) return fail(c.error());
        ReservationRec res{};
        res.order_ref = recent[0].Intern(sp, r.order_ref);
        res.line_no = r.line_no;
        res.location = sp.Intern(r.location);
        res.lot = r.lot.len > 0 ? sp.Intern(r.lot) : kNone;
        res.sku = kNone;
        DecimalToNano(r.qty, &res.qty);
        if (res.qty < 0) res.qty = 0;
        w.reservations.push_back(res);
        break;
      }
      case RFT_REC_HISTORY_LINE: {
        rft_history_line r;
        std::memcpy(&r, p, sizeof(r));
        c.Required(r.order_ref, "order_ref");
        c.Required(r.customer_ref, "customer_ref");
        c.Required(r.sku, "sku");
        c.Decimal(r.qty, "qty");
        c.Time(r.created_at, "created_at");
        if (!c.ok()) return fail(c.error());
        HistoryLine h{};
        h.order_ref = recent[0].Intern(sp, r.order_ref);
        h.customer = recent[1].Intern(sp, r.customer_ref);
        h.sku = sp.Intern(r.sku);
        if (DecimalToNano(r.qty, &h.qty) != DecimalState::kOk) h.qty = 0;
        h.created_at = ToTime(r.created_at);
        w.history.push_back(h);
        break;
      }
    }
  }
  return RFT_OK;
}

namespace {

// Marks locations usable (pickable, not blocked) through their parents.
void ResolveLocations(WaveData& w) {
  for (auto& l : w.locations) {
    l.parent_idx = w.Index(w.location_by_code, l.parent);
  }
  for (auto& l : w.locations) {
    int32_t pickable = l.pickable;
    bool blocked = l.blocked == RFT_FLAG_YES;
    uint32_t cur = l.parent_idx;
    int depth = 0;
    while (cur != kNone && depth < 64) {
      const LocationRec& p = w.locations[cur];
      if (p.blocked == RFT_FLAG_YES) blocked = true;
      if (pickable == RFT_FLAG_UNKNOWN) pickable = p.pickable;
      cur = p.parent_idx;
      ++depth;
    }
    l.cyclic = depth >= 64;
    l.usable = pickable != RFT_FLAG_NO && !blocked && !l.cyclic;
  }
}

}  // namespace

std::span<const std::pair<uint64_t, uint32_t>> WaveData::HistoryBySignature(
    uint64_t key) const {
  if (history_signature_start.empty()) return {};
  const int bits = history_signature_bits;
  const size_t run = bits == 0 ? 0 : key >> (64 - bits);
  const auto* first =
      history_by_signature.data() + history_signature_start[run];
  const auto* last =
      history_by_signature.data() + history_signature_start[run + 1];
  while (first < last && first->first < key) ++first;
  const auto* end = first;
  while (end < last && end->first == key) ++end;
  return {first, end};
}

const HistoryCustomer* WaveData::FindHistoryCustomer(uint32_t customer) const {
  const HistoryCustomer* end =
      history_customers.data() + history_customers.size();
  const HistoryCustomer* it =
      LowerBound(history_customers.data(), history_customers.size(), customer,
                 [](const HistoryCustomer& c) { return c.customer; });
  return it == end || it->customer != customer ? nullptr : it;
}

const HistoryStat* WaveData::FindHistoryStat(const HistoryCustomer& c,
                                             uint32_t sku) const {
  const uint32_t* first = history_skus.data() + c.begin;
  const uint32_t* end = history_skus.data() + c.end;
  const uint32_t* it =
      LowerBound(first, c.end - c.begin, sku, [](uint32_t s) { return s; });
  return it == end || *it != sku
             ? nullptr
             : &history_stats[static_cast<size_t>(it - history_skus.data())];
}

Wave WaveBuilder::Finish() {
  WaveData& w = *data_;
  StringPool& sp = *w.strings;
  if (!state_) state_ = std::make_unique<WaveBuilderState>();
  WaveBuilderState& st = *state_;

  // Items for SKUs seen in lines or stock but not in the item master, so
  // that stock and lines group by item whatever the master holds.
  auto item_for = [&](uint32_t sku) -> uint32_t {
    if (sku == kNone) return kNone;
    auto [index, fresh] =
        st.items.emplace(sku, static_cast<uint32_t>(w.items.size()));
    if (fresh) {
      ItemRec r{};
      r.sku = sku;
      r.base_uom = r.hazmat = r.description = kNone;
      r.active = r.lot_tracked = r.serial_tracked = RFT_FLAG_UNKNOWN;
      r.min_shelf_life_days = -1;
      r.in_master = false;
      w.items.push_back(r);
    }
    return index;
  };
  for (auto& l : w.lines) l.item = item_for(l.sku);
  for (auto& s : w.slots) s.item = item_for(s.sku);

  const size_t n = sp.size();
  w.item_by_sku = st.items.ByString(n);
  w.unit_by_code = st.units.ByString(n);
  w.location_by_code = st.locations.ByString(n);
  w.customer_by_ref = st.customers.ByString(n);
  w.carrier_by_code = st.carriers.ByString(n);
  w.order_by_ref = st.orders.ByString(n);
  for (uint32_t i = 0; i < w.lots.size(); ++i) {
    w.lot_by_key.emplace(PairKey(w.lots[i].sku, w.lots[i].lot), i);
  }
  ResolveLocations(w);

  // Orders and their lines.
  size_t orphans = 0;
  std::vector<uint32_t> kept;  // lines of orders in the wave
  kept.reserve(w.lines.size());
  for (uint32_t i = 0; i < w.lines.size(); ++i) {
    LineRec& l = w.lines[i];
    LineInfo& info = w.line_info[i];
    info.order = w.Index(w.order_by_ref, info.order_ref);
    if (info.order == kNone) {
      ++orphans;
      continue;
    }
    l.location_idx = w.Index(w.location_by_code, l.location);
    if (l.lot != kNone && l.sku != kNone) {
      auto it = w.lot_by_key.find(PairKey(l.sku, l.lot));
      if (it != w.lot_by_key.end()) l.lot_idx = it->second;
    }
    kept.push_back(i);
  }
  if (orphans > 0) {
    w.notes.push_back(fmt::format(
        "{} order line(s) name an order that is not in the wave; ignored",
        orphans));
  }
  std::sort(kept.begin(), kept.end(), [&](uint32_t a, uint32_t b) {
    return std::tie(w.line_info[a].order, w.line_info[a].line_no) <
           std::tie(w.line_info[b].order, w.line_info[b].line_no);
  });
  {
    std::vector<LineRec> lines;
    std::vector<LineInfo> info;
    lines.reserve(kept.size());
    info.reserve(kept.size());
    for (uint32_t i : kept) {
      lines.push_back(w.lines[i]);
      info.push_back(w.line_info[i]);
    }
    w.lines = std::move(lines);
    w.line_info = std::move(info);
  }
  for (auto& o : w.orders) o.line_begin = o.line_end = 0;
  for (uint32_t i = 0; i < w.lines.size();) {
    const uint32_t order = w.line_info[i].order;
    uint32_t j = i;
    while (j < w.lines.size() && w.line_info[j].order == order) ++j;
    w.orders[order].line_begin = i;
    w.orders[order].line_end = j;
    i = j;
  }
  for (auto& o : w.orders) {
    o.customer_idx = w.Index(w.customer_by_ref, o.customer);
    o.carrier_idx = w.Index(w.carrier_by_code, o.carrier_service);
    SignatureBuilder sig;
    for (uint32_t li = o.line_begin; li < o.line_end; ++li) {
      const LineRec& l = w.lines[li];
      sig.Add(l.sku, l.qty ^ static_cast<Nano>(Mix64(l.uom)));
    }
    o.line_signature = sig.Value();
  }

  // Item units grouped by item.
  std::erase_if(w.item_units, [&](const ItemUnitRec& u) {
    return w.Index(w.item_by_sku, u.sku) == kNone;
  });
  std::sort(w.item_units.begin(), w.item_units.end(),
            [&](const ItemUnitRec& a, const ItemUnitRec& b) {
              return std::tie(w.item_by_sku[a.sku], a.uom) <
                     std::tie(w.item_by_sku[b.sku], b.uom);
            });
  for (uint32_t i = 0; i < w.item_units.size();) {
    uint32_t item = w.item_by_sku[w.item_units[i].sku];
    uint32_t j = i;
    while (j < w.item_units.size() &&
           w.item_by_sku[w.item_units[j].sku] == item) {
      ++j;
    }
    w.items[item].item_unit_begin = i;
    w.items[item].item_unit_end = j;
    i = j;
  }

  // Stock slots: resolve, then order each item's slots for removal.
  for (auto& s : w.slots) {
    s.location_idx = w.Index(w.location_by_code, s.location);
    if (s.lot != kNone) {
      auto it = w.lot_by_key.find(PairKey(s.sku, s.lot));
      if (it != w.lot_by_key.end()) s.lot_idx = it->second;
    }
  }
  for (auto& it : w.items) {
    it.fefo = it.removal_strategy == RFT_REMOVAL_FEFO;
  }
  for (const auto& s : w.slots) {
    ItemRec& it = w.items[s.item];
    if (it.removal_strategy == RFT_REMOVAL_DEFAULT && s.lot_idx != kNone &&
        w.lots[s.lot_idx].expiry.present()) {
      it.fefo = true;
    }
    if (s.lot == kNone) it.has_lotless_stock = true;
  }
  constexpr int64_t kLast = INT64_MAX;
  auto removal_key = [&](const Slot& s) {
    const LotRec* lot = s.lot_idx == kNone ? nullptr : &w.lots[s.lot_idx];
    int64_t removal = kLast, expiry = kLast;
    if (lot != nullptr) {
      if (lot->expiry.present()) expiry = lot->expiry.SortKey();
      removal =
          lot->removal_date.present() ? lot->removal_date.SortKey() : expiry;
    }
    int64_t in = s.in_date.present() ? s.in_date.SortKey() : kLast;
    return std::tuple{removal, expiry, in};
  };
  std::sort(w.slots.begin(), w.slots.end(), [&](const Slot& a, const Slot& b) {
    if (a.item != b.item) return a.item < b.item;
    const ItemRec& it = w.items[a.item];
    if (it.removal_strategy == RFT_REMOVAL_AS_LISTED) {
      return a.first_record < b.first_record;
    }
    if (it.fefo) {
      auto ka = removal_key(a), kb = removal_key(b);
      if (ka != kb) return ka < kb;
    } else {
      int64_t ia = a.in_date.present() ? a.in_date.SortKey() : kLast;
      int64_t ib = b.in_date.present() ? b.in_date.SortKey() : kLast;
      if (ia != ib) return ia < ib;
    }
    auto la = sp.Get(a.location), lb = sp.Get(b.location);
    if (la != lb) return la < lb;
    return sp.Get(a.lot) < sp.Get(b.lot);
  });
  IndexMap<SlotKey, SlotKeyHash> slot_by_key;
  slot_by_key.reserve(w.slots.size());
  for (uint32_t i = 0; i < w.slots.size();) {
    uint32_t item = w.slots[i].item;
    uint32_t j = i;
    while (j < w.slots.size() && w.slots[j].item == item) {
      slot_by_key.emplace(
          SlotKey{w.slots[j].sku, w.slots[j].location, w.slots[j].lot}, j);
      ++j;
    }
    w.items[item].slot_begin = i;
    w.items[item].slot_end = j;
    i = j;
  }

  // Reservations: attach to their line and slot.
  IndexMap<uint64_t, U64Hash> line_by_key;
  line_by_key.reserve(w.lines.size());
  for (uint32_t i = 0; i < w.lines.size(); ++i) {
    line_by_key.emplace(PairKey(w.line_info[i].order_ref,
                                static_cast<uint32_t>(w.line_info[i].line_no)),
                        i);
  }
  std::vector<std::pair<uint32_t, ReservationRec>> res;
  size_t orphan_res = 0;
  for (auto r : w.reservations) {
    const uint32_t line = line_by_key.find(
        PairKey(r.order_ref, static_cast<uint32_t>(r.line_no)));
    if (line == kNone) {
      ++orphan_res;
      continue;
    }
    r.sku = w.lines[line].sku;
    r.slot = slot_by_key.find(SlotKey{r.sku, r.location, r.lot});
    res.emplace_back(line, r);
  }
  if (orphan_res > 0) {
    w.notes.push_back(fmt::format(
        "{} reservation(s) name an order line that is not in the wave; "
        "ignored",
        orphan_res));
  }
  std::sort(res.begin(), res.end(), [&](const auto& a, const auto& b) {
    return std::tie(a.first, a.second.slot, a.second.qty) <
           std::tie(b.first, b.second.slot, b.second.qty);
  });
  w.reservations.clear();
  for (uint32_t i = 0; i < res.size();) {
    uint32_t line = res[i].first;
    w.lines[line].res_begin = static_cast<uint32_t>(w.reservations.size());
    while (i < res.size() && res[i].first == line) {
      w.reservations.push_back(res[i].second);
      ++i;
    }
    w.lines[line].res_end = static_cast<uint32_t>(w.reservations.size());
  }

  // History: per (customer, SKU) statistics, and past orders' signatures.
  std::sort(w.history.begin(), w.history.end(),
            [&](const HistoryLine& a, const HistoryLine& b) {
              return std::tie(a.customer, a.sku, a.qty) <
                     std::tie(b.customer, b.sku, b.qty);
            });
  for (uint32_t i = 0; i < w.history.size();) {
    uint32_t j = i;
    while (j < w.history.size() &&
           w.history[j].customer == w.history[i].customer &&
           w.history[j].sku == w.history[i].sku) {
      ++j;
    }
    uint32_t cnt = j - i;
    HistoryStat stat;
    stat.count = cnt;
    stat.max = w.history[j - 1].qty;
    stat.median =
        cnt % 2 == 1
            ? w.history[i + cnt / 2].qty
            : (w.history[i + cnt / 2 - 1].qty + w.history[i + cnt / 2].qty) / 2;
    const uint32_t customer = w.history[i].customer;
    if (w.history_customers.empty() ||
        w.history_customers.back().customer != customer) {
      const auto at = static_cast<uint32_t>(w.history_skus.size());
      w.history_customers.push_back({customer, at, at});
    }
    w.history_skus.push_back(w.history[i].sku);
    w.history_stats.push_back(stat);
    w.history_customers.back().end =
        static_cast<uint32_t>(w.history_skus.size());
    i = j;
  }
  std::vector<const HistoryLine*> by_order;
  by_order.reserve(w.history.size());
  for (const auto& h : w.history) by_order.push_back(&h);
  std::sort(by_order.begin(), by_order.end(),
            [](const HistoryLine* a, const HistoryLine* b) {
              return a->order_ref < b->order_ref;
            });
  for (size_t i = 0; i < by_order.size();) {
    size_t j = i;
    SignatureBuilder sig;
    HistoryOrder ho{};
    ho.ref = by_order[i]->order_ref;
    ho.customer = by_order[i]->customer;
    while (j < by_order.size() && by_order[j]->order_ref == ho.ref) {
      sig.Add(by_order[j]->sku, by_order[j]->qty);
      const TimeValue& t = by_order[j]->created_at;
      if (t.present() &&
          (!ho.created_at.present() || t.SortKey() < ho.created_at.SortKey())) {
        ho.created_at = t;
      }
      ++j;
    }
    ho.signature = sig.Value();
    ho.line_count = sig.count;
    w.history_by_signature.emplace_back(
        Mix64(ho.customer) ^ ho.signature,
        static_cast<uint32_t>(w.history_orders.size()));
    w.history_orders.push_back(ho);
    i = j;
  }
  std::sort(w.history_by_signature.begin(), w.history_by_signature.end());
  {
    // About one key per run: the keys are mixed, so runs are short.
    const size_t n = w.history_by_signature.size();
    const int bits = std::min<int>(std::bit_width(n), 30);
    w.history_signature_bits = bits;
    w.history_signature_start.assign((size_t{1} << bits) + 1, 0);
    for (const auto& [key, index] : w.history_by_signature) {
      ++w.history_signature_start[(bits == 0 ? 0 : key >> (64 - bits)) + 1];
    }
    for (size_t b = 1; b < w.history_signature_start.size(); ++b) {
      w.history_signature_start[b] += w.history_signature_start[b - 1];
    }
  }

  w.finished = true;
  Wave wave;
  wave.data_ = std::move(data_);
  data_ = std::make_unique<WaveData>();
  state_.reset();
  return wave;
}

}  // namespace rftgate
