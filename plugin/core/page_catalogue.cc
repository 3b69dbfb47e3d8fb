#include "plugin/core/page_catalogue.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "plugin/core/c_struct.h"
#include "plugin/engine/engine.h"

namespace rftgate {
namespace {

// The text fields of each reference record, the first one being its key.
template <typename T>
struct Fields;
template <>
struct Fields<rft_item> {
  static constexpr int32_t kKind = RFT_REC_ITEM;
  static constexpr std::tuple kText{&rft_item::sku, &rft_item::base_uom,
                                    &rft_item::hazmat_class,
                                    &rft_item::description};
};
template <>
struct Fields<rft_unit> {
  static constexpr int32_t kKind = RFT_REC_UNIT;
  static constexpr std::tuple kText{&rft_unit::code, &rft_unit::category};
};
template <>
struct Fields<rft_item_unit> {
  static constexpr int32_t kKind = RFT_REC_ITEM_UNIT;
  static constexpr std::tuple kText{&rft_item_unit::sku, &rft_item_unit::uom};
};
template <>
struct Fields<rft_stock> {
  static constexpr int32_t kKind = RFT_REC_STOCK;
  static constexpr std::tuple kText{&rft_stock::sku, &rft_stock::location,
                                    &rft_stock::lot};
};
template <>
struct Fields<rft_lot> {
  static constexpr int32_t kKind = RFT_REC_LOT;
  static constexpr std::tuple kText{&rft_lot::sku, &rft_lot::lot};
};
template <>
struct Fields<rft_location> {
  static constexpr int32_t kKind = RFT_REC_LOCATION;
  static constexpr std::tuple kText{&rft_location::code, &rft_location::zone,
                                    &rft_location::parent};
};
template <>
struct Fields<rft_customer> {
  static constexpr int32_t kKind = RFT_REC_CUSTOMER;
  static constexpr std::tuple kText{&rft_customer::ref, &rft_customer::name,
                                    &rft_customer::hold_reason};
};
template <>
struct Fields<rft_carrier_service> {
  static constexpr int32_t kKind = RFT_REC_CARRIER_SERVICE;
  static constexpr std::tuple kText{&rft_carrier_service::code,
                                    &rft_carrier_service::carrier};
};

template <typename T, typename M>
bool Holds(uint32_t struct_size, M T::*member) {
  static const T probe{};
  const size_t end =
      static_cast<size_t>(reinterpret_cast<const char*>(&(probe.*member)) -
                          reinterpret_cast<const char*>(&probe)) +
      sizeof(M);
  return struct_size >= end;
}

// The records of one kind, by key. A record keeps the struct_size the
// adapter gave it (fields past it are absent for the wave builder); its
// text points into the catalogue's store.
template <typename T>
class KindStore {
 public:
  void Keep(const void* records, size_t count, uint32_t page,
            ResultStore& text) {
    if (count == 0) return;
    const auto* base = static_cast<const char*>(records);
    const uint32_t size = static_cast<const T*>(records)->struct_size;
    if (size < sizeof(uint32_t)) return;  // the builder refuses these
    for (size_t i = 0; i < count; ++i) {
      T rec{};
      std::memcpy(static_cast<void*>(&rec), base + i * size,
                  std::min<size_t>(size, sizeof(T)));
      rec.struct_size = size;
      std::apply(
          [&](auto... member) {
            ((Holds(size, member)
                  ? void(rec.*member = Copy(rec.*member, text, &bytes_))
                  : void(rec.*member = rft_str{nullptr, 0})),
             ...);
          },
          Fields<T>::kText);
      const rft_str key = rec.*std::get<0>(Fields<T>::kText);
      auto [it, fresh] = by_key_.try_emplace(
          std::string_view(key.data == nullptr ? "" : key.data, key.len));
      Entry& e = it->second;
      if (fresh || e.page != page) {
        bytes_ -= e.records.size() * sizeof(T);
        e.records.clear();
        e.page = page;
      }
      e.records.push_back(rec);
      bytes_ += sizeof(T);
    }
  }

  // The kept records of `key`, unless the current page put them.
  const std::vector<T>* Kept(std::string_view key, uint32_t page) const {
    auto it = by_key_.find(key);
    return it == by_key_.end() || it->second.page == page ? nullptr
                                                          : &it->second.records;
  }
  // Adds the kept records of `keys` (every key when null) that the current
  // page did not put to *out.
  template <typename Keys>
  void Collect(const Keys* keys, uint32_t page,
               std::vector<const T*>* out) const {
    auto add = [&](const std::vector<T>& records) {
      for (const T& rec : records) out->push_back(&rec);
    };
    if (keys == nullptr) {
      for (const auto& [key, e] : by_key_) {
        if (e.page != page) add(e.records);
      }
      return;
    }
    for (const auto& key : *keys) {
      if (const std::vector<T>* kept = Kept(key, page)) add(*kept);
    }
  }
  // Puts `records` into the builder. Records are walked by the struct_size
  // of the first: each size apart (one adapter gives one size), copied
  // into storage aligned for T.
  static rft_status Put(const std::vector<const T*>& records,
                        WaveBuilder& builder, std::string* error) {
    std::map<uint32_t, std::vector<char>> by_size;
    for (const T* rec : records) {
      std::vector<char>& out = by_size[rec->struct_size];
      const size_t n = std::min<size_t>(rec->struct_size, sizeof(T));
      const size_t at = out.size();
      out.resize(at + rec->struct_size);
      std::memcpy(out.data() + at, rec, n);
    }
    for (auto& [size, bytes] : by_size) {
      std::vector<T> aligned((bytes.size() + sizeof(T) - 1) / sizeof(T));
      std::memcpy(static_cast<void*>(aligned.data()), bytes.data(),
                  bytes.size());
      const rft_status st = builder.Put(Fields<T>::kKind, aligned.data(),
                                        bytes.size() / size, error);
      if (st != RFT_OK) return st;
    }
    return RFT_OK;
  }

  size_t memory_bytes() const {
    return bytes_ + by_key_.size() * (sizeof(Entry) + 32);
  }

 private:
  struct Entry {
    uint32_t page = 0;
    std::vector<T> records;
  };

  static rft_str Copy(rft_str s, ResultStore& text, size_t* bytes) {
    if (s.data == nullptr) return s;
    *bytes += s.len;
    const std::string_view kept = text.Keep(std::string_view(s.data, s.len));
    // An empty text stays present (not absent): point at a stable byte.
    return rft_str{kept.empty() ? "" : kept.data(), kept.size()};
  }

  std::unordered_map<std::string_view, Entry> by_key_;
  size_t bytes_ = 0;
};

}  // namespace

struct PageCatalogue::Impl {
  uint32_t page = 0;
  ResultStore text;  // the kept records' text
  KindStore<rft_item> items;
  KindStore<rft_unit> units;
  KindStore<rft_item_unit> item_units;
  KindStore<rft_stock> stock;
  KindStore<rft_lot> lots;
  KindStore<rft_location> locations;
  KindStore<rft_customer> customers;
  KindStore<rft_carrier_service> carriers;

  template <typename F>
  void ForEach(F f) {
    f(items), f(units), f(item_units), f(stock), f(lots), f(locations),
        f(customers), f(carriers);
  }
};

PageCatalogue::PageCatalogue() : impl_(std::make_unique<Impl>()) {}
PageCatalogue::~PageCatalogue() = default;

void PageCatalogue::BeginPage() { ++impl_->page; }

void PageCatalogue::Keep(int32_t kind, const void* records, size_t count) {
  Impl& m = *impl_;
  switch (kind) {
    case RFT_REC_ITEM:
      return m.items.Keep(records, count, m.page, m.text);
    case RFT_REC_UNIT:
      return m.units.Keep(records, count, m.page, m.text);
    case RFT_REC_ITEM_UNIT:
      return m.item_units.Keep(records, count, m.page, m.text);
    case RFT_REC_STOCK:
      return m.stock.Keep(records, count, m.page, m.text);
    case RFT_REC_LOT:
      return m.lots.Keep(records, count, m.page, m.text);
    case RFT_REC_LOCATION:
      return m.locations.Keep(records, count, m.page, m.text);
    case RFT_REC_CUSTOMER:
      return m.customers.Keep(records, count, m.page, m.text);
    case RFT_REC_CARRIER_SERVICE:
      return m.carriers.Keep(records, count, m.page, m.text);
    default:
      return;
  }
}

namespace {

template <typename T, typename F>
void EachRecord(const void* records, size_t count, F f) {
  const auto* base = static_cast<const char*>(records);
  const uint32_t size = static_cast<const T*>(records)->struct_size;
  for (size_t i = 0; i < count; ++i) {
    f(*reinterpret_cast<const T*>(base + i * size));
  }
}

}  // namespace

void PageCatalogue::Name(int32_t kind, const void* records, size_t count,
                         Names* names) {
  if (count == 0) return;
  // The fields read lie in every struct_size the wave builder accepts.
  switch (kind) {
    case RFT_REC_ORDER:
      EachRecord<rft_order>(records, count, [&](const rft_order& o) {
        if (o.customer_ref.data != nullptr) {
          names->customers.emplace(FromStr(o.customer_ref));
        }
      });
      return;
    case RFT_REC_LINE:
      EachRecord<rft_order_line>(records, count, [&](const rft_order_line& l) {
        if (l.sku.data != nullptr) names->skus.emplace(FromStr(l.sku));
        if (l.location.data != nullptr) {
          names->locations.emplace(FromStr(l.location));
        }
      });
      return;
    case RFT_REC_STOCK:
      EachRecord<rft_stock>(records, count, [&](const rft_stock& s) {
        if (s.location.data != nullptr) {
          names->locations.emplace(FromStr(s.location));
        }
      });
      return;
    case RFT_REC_LOCATION:
      // A location the page was given needs its parents too.
      EachRecord<rft_location>(records, count, [&](const rft_location& l) {
        if (Holds(l.struct_size, &rft_location::parent) &&
            l.parent.data != nullptr) {
          names->locations.emplace(FromStr(l.parent));
        }
      });
      return;
    default:
      return;
  }
}

rft_status PageCatalogue::ReplayInto(WaveBuilder& builder, const Names& names,
                                     std::string* error) const {
  const Impl& m = *impl_;
  const uint32_t page = m.page;
  using All = std::vector<std::string>;  // a null `All*` = every key
  std::vector<const rft_item*> items;
  std::vector<const rft_item_unit*> item_units;
  std::vector<const rft_stock*> stock;
  std::vector<const rft_lot*> lots;
  std::vector<const rft_location*> locations;
  std::vector<const rft_customer*> customers;
  std::vector<const rft_unit*> units;
  std::vector<const rft_carrier_service*> carriers;
  m.items.Collect(&names.skus, page, &items);
  m.item_units.Collect(&names.skus, page, &item_units);
  m.stock.Collect(&names.skus, page, &stock);
  m.lots.Collect(&names.skus, page, &lots);
  m.customers.Collect(&names.customers, page, &customers);
  m.units.Collect(static_cast<const All*>(nullptr), page, &units);
  m.carriers.Collect(static_cast<const All*>(nullptr), page, &carriers);
  // Locations: those the page names, those the stock replayed holds, and
  // the parents of all of them, up the tree.
  std::vector<std::string_view> frontier(names.locations.begin(),
                                         names.locations.end());
  for (const rft_stock* s : stock) {
    if (s->location.data != nullptr) frontier.push_back(FromStr(s->location));
  }
  std::unordered_set<std::string_view> visited;
  while (!frontier.empty()) {
    const std::string_view code = frontier.back();
    frontier.pop_back();
    if (!visited.insert(code).second) continue;
    const std::vector<rft_location>* kept = m.locations.Kept(code, page);
    if (kept == nullptr) continue;
    for (const rft_location& l : *kept) {
      locations.push_back(&l);
      if (l.parent.data != nullptr) frontier.push_back(FromStr(l.parent));
    }
  }
  rft_status st = RFT_OK;
  auto put = [&](const auto& store, const auto& records) {
    if (st == RFT_OK && !records.empty()) {
      st = store.Put(records, builder, error);
    }
  };
  put(m.items, items);
  put(m.item_units, item_units);
  put(m.stock, stock);
  put(m.lots, lots);
  put(m.locations, locations);
  put(m.customers, customers);
  put(m.units, units);
  put(m.carriers, carriers);
  return st;
}

void PageCatalogue::Clear() {
  const uint32_t page = impl_->page;
  impl_ = std::make_unique<Impl>();
  impl_->page = page;
}

size_t PageCatalogue::memory_bytes() const {
  size_t n = 0;
  impl_->ForEach([&](const auto& kind) { n += kind.memory_bytes(); });
  return n;
}

}  // namespace rftgate
