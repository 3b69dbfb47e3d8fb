// Builds waves from adapter records for the engine tests: strings are kept
// alive by the fixture; records go through WaveBuilder::Put as an adapter's
// would. Record accessors return references valid until the next record
// of the same kind is added.
#ifndef RFTGATE_TESTS_ENGINE_WAVE_FIXTURE_H_
#define RFTGATE_TESTS_ENGINE_WAVE_FIXTURE_H_

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "plugin/engine/engine.h"
#include "plugin/engine/wave.h"

namespace rftgate::testing {

inline rft_decimal Dec(int64_t mantissa, int32_t scale = 0) {
  return rft_decimal{mantissa, scale, 0};
}
inline rft_decimal NullDec() { return rft_decimal{0, 0, 1}; }
inline rft_time Day(int64_t days) { return rft_time{days, RFT_TIME_DATE, 0}; }
inline rft_time Utc(int64_t us) { return rft_time{us, RFT_TIME_UTC, 0}; }
inline rft_time NoTime() { return rft_time{0, RFT_TIME_NONE, 0}; }

// 2024-05-10 as days since the epoch.
inline constexpr int64_t kShipDay = 19853;
inline constexpr int64_t kMicrosPerDay = 86'400'000'000LL;

inline constexpr uint64_t kAllCaps = (1u << 11) - 1;  // all but STOCK_AS_OF

class WaveFixture {
 public:
  rft_str S(const std::string& s) {
    strings_.push_back(s);
    return rft_str{strings_.back().data(), strings_.back().size()};
  }
  static rft_str Null() { return rft_str{nullptr, 0}; }
  rft_str Opt(const std::optional<std::string>& s) {
    return s ? S(*s) : Null();
  }

  rft_order& Order(const std::string& ref, const std::string& customer = "C1") {
    rft_order o{};
    o.struct_size = sizeof(o);
    o.ref = S(ref);
    o.stable_id = S("id-" + ref);
    o.site = S("WH1");
    o.customer_ref = S(customer);
    o.street = S("1 Main Street");
    o.city = S("Berlin");
    o.postcode = S("10115");
    o.country = S("DE");
    o.ship_date = Day(kShipDay);
    o.created_at = Utc((kShipDay - 1) * kMicrosPerDay);
    o.release_at = Utc(kShipDay * kMicrosPerDay + 8 * 3'600'000'000LL);
    orders.push_back(o);
    return orders.back();
  }
  rft_order_line& Line(const std::string& order, int32_t line_no,
                       const std::string& sku, rft_decimal qty,
                       std::optional<std::string> uom = std::nullopt) {
    rft_order_line l{};
    l.struct_size = sizeof(l);
    l.line_no = line_no;
    l.order_ref = S(order);
    l.line_ref = S(order + "/" + std::to_string(line_no));
    l.sku = S(sku);
    l.qty = qty;
    l.uom = Opt(uom);
    l.location = Null();
    l.lot = Null();
    lines.push_back(l);
    return lines.back();
  }
  rft_item& Item(const std::string& sku, const std::string& base = "EA") {
    rft_item i{};
    i.struct_size = sizeof(i);
    i.sku = S(sku);
    i.active = RFT_FLAG_YES;
    i.lot_tracked = RFT_FLAG_NO;
    i.serial_tracked = RFT_FLAG_NO;
    i.base_uom = S(base);
    i.hazmat_class = Null();
    i.unit_weight_kg = Dec(1);
    i.unit_volume_m3 = NullDec();
    i.min_shelf_life_days = -1;
    items.push_back(i);
    return items.back();
  }
  rft_unit& Unit(const std::string& code, const std::string& category,
                 rft_decimal factor, rft_decimal rounding,
                 int32_t kind = RFT_FACTOR_MULTIPLY) {
    rft_unit u{};
    u.struct_size = sizeof(u);
    u.factor_kind = kind;
    u.code = S(code);
    u.category = S(category);
    u.factor = factor;
    u.rounding = rounding;
    units.push_back(u);
    return units.back();
  }
  rft_item_unit& ItemUnit(const std::string& sku, const std::string& uom,
                          rft_decimal factor) {
    rft_item_unit u{};
    u.struct_size = sizeof(u);
    u.factor_kind = RFT_FACTOR_MULTIPLY;
    u.sku = S(sku);
    u.uom = S(uom);
    u.factor = factor;
    item_units.push_back(u);
    return item_units.back();
  }
  rft_stock& Stock(const std::string& sku, const std::string& location,
                   rft_decimal on_hand, rft_decimal reserved = Dec(0),
                   std::optional<std::string> lot = std::nullopt) {
    rft_stock s{};
    s.struct_size = sizeof(s);
    s.sku = S(sku);
    s.location = S(location);
    s.lot = Opt(lot);
    s.on_hand = on_hand;
    s.reserved_qty = reserved;
    s.in_date = NoTime();
    stock.push_back(s);
    return stock.back();
  }
  rft_lot& Lot(const std::string& sku, const std::string& lot,
               int64_t expiry_day, int32_t status = RFT_LOT_RELEASED) {
    rft_lot l{};
    l.struct_size = sizeof(l);
    l.status = status;
    l.sku = S(sku);
    l.lot = S(lot);
    l.expiry = Day(expiry_day);
    l.removal_date = NoTime();
    lots.push_back(l);
    return lots.back();
  }
  rft_location& Location(const std::string& code,
                         std::optional<std::string> parent = std::nullopt) {
    rft_location l{};
    l.struct_size = sizeof(l);
    l.pickable = RFT_FLAG_YES;
    l.blocked = RFT_FLAG_NO;
    l.code = S(code);
    l.zone = S("Z");
    l.parent = Opt(parent);
    locations.push_back(l);
    return locations.back();
  }
  rft_customer& Customer(const std::string& ref) {
    rft_customer c{};
    c.struct_size = sizeof(c);
    c.blocked = RFT_FLAG_NO;
    c.credit_hold = RFT_FLAG_NO;
    c.min_shelf_life_days = -1;
    c.ref = S(ref);
    c.name = S("Customer " + ref);
    c.hold_reason = Null();
    customers.push_back(c);
    return customers.back();
  }
  rft_carrier_service& Carrier(const std::string& code) {
    rft_carrier_service c{};
    c.struct_size = sizeof(c);
    c.hazmat_allowed = RFT_FLAG_YES;
    c.cutoff_minute = -1;
    c.carrier = S("DHL");
    c.code = S(code);
    c.max_parcel_weight_kg = NullDec();
    carriers.push_back(c);
    return carriers.back();
  }
  rft_reservation& Reservation(const std::string& order, int32_t line_no,
                               const std::string& location, rft_decimal qty,
                               std::optional<std::string> lot = std::nullopt) {
    rft_reservation r{};
    r.struct_size = sizeof(r);
    r.line_no = line_no;
    r.order_ref = S(order);
    r.location = S(location);
    r.lot = Opt(lot);
    r.qty = qty;
    reservations.push_back(r);
    return reservations.back();
  }
  rft_history_line& History(const std::string& order,
                            const std::string& customer, const std::string& sku,
                            rft_decimal qty, rft_time created) {
    rft_history_line h{};
    h.struct_size = sizeof(h);
    h.order_ref = S(order);
    h.customer_ref = S(customer);
    h.sku = S(sku);
    h.qty = qty;
    h.created_at = created;
    history.push_back(h);
    return history.back();
  }

  // A clean single-SKU world: item A-100 (EA), stock 100 at P1, customer C1.
  void Basics() {
    Item("A-100");
    Unit("EA", "unit", Dec(1), Dec(1));
    Location("P1");
    Stock("A-100", "P1", Dec(100));
    Customer("C1");
  }

  Wave Build(uint64_t caps = kAllCaps) {
    WaveBuilder b;
    std::string error;
    auto put = [&](int32_t kind, const auto& v) {
      if (v.empty()) return;
      ASSERT_EQ(b.Put(kind, v.data(), v.size(), &error), RFT_OK) << error;
    };
    put(RFT_REC_ORDER, orders);
    put(RFT_REC_LINE, lines);
    put(RFT_REC_ITEM, items);
    put(RFT_REC_UNIT, units);
    put(RFT_REC_ITEM_UNIT, item_units);
    put(RFT_REC_STOCK, stock);
    put(RFT_REC_LOT, lots);
    put(RFT_REC_LOCATION, locations);
    put(RFT_REC_CUSTOMER, customers);
    put(RFT_REC_CARRIER_SERVICE, carriers);
    put(RFT_REC_RESERVATION, reservations);
    put(RFT_REC_HISTORY_LINE, history);
    b.SetCapabilities(caps);
    return b.Finish();
  }

  std::deque<std::string> strings_;
  std::vector<rft_order> orders;
  std::vector<rft_order_line> lines;
  std::vector<rft_item> items;
  std::vector<rft_unit> units;
  std::vector<rft_item_unit> item_units;
  std::vector<rft_stock> stock;
  std::vector<rft_lot> lots;
  std::vector<rft_location> locations;
  std::vector<rft_customer> customers;
  std::vector<rft_carrier_service> carriers;
  std::vector<rft_reservation> reservations;
  std::vector<rft_history_line> history;
};

// Findings of one check in an order result. Their text views the result's
// store: keep the WaveResult while they are read.
inline std::vector<Finding> Of(const OrderResult& r, const std::string& id) {
  std::vector<Finding> out;
  for (const auto& f : r.findings) {
    if (f.check_id == id) out.push_back(f);
  }
  return out;
}

inline const OrderResult& ByRef(const WaveResult& w, const std::string& ref) {
  for (const auto& o : w.orders) {
    if (o.ref == ref) return o;
  }
  ADD_FAILURE() << "no order " << ref;
  static OrderResult none;
  return none;
}

inline RunContext Ctx() {
  RunContext c;
  c.now_unix_us = kShipDay * kMicrosPerDay + 8 * 3'600'000'000LL;
  return c;
}

}  // namespace rftgate::testing

#endif  // RFTGATE_TESTS_ENGINE_WAVE_FIXTURE_H_
