// A wave checked one page at a time with a WaveCarry gives the results of
// the whole wave checked at once: verdicts, findings and allocations; and
// order.duplicate across pages follows its documented rule.
#include <gtest/gtest.h>

#include <algorithm>
#include <iterator>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "tests/engine/wave_fixture.h"

namespace rftgate::testing {
namespace {

std::string Text(const rft_str& s) {
  return s.data == nullptr ? std::string() : std::string(s.data, s.len);
}

// A warehouse-shaped wave (the engine benchmark's data, smaller and with
// little stock): SKUs with and without lots (expired, quarantined and
// short-dated ones), nested locations with a blocked aisle, cases and
// dozens, reservations, customer history, and about one order in five
// with a planted defect. Stock is far too small for the wave, so that
// later orders find what earlier ones took.
struct Warehouse {
  WaveFixture f;
  std::mt19937 rng;
  std::vector<std::string> skus, lot_codes, customers, services, bins;
  // Per SKU: (location, lot) of its stock rows.
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> slots;

  int Pick(int n) { return static_cast<int>(rng() % static_cast<uint32_t>(n)); }

  Warehouse(int orders, uint32_t seed, int max_lines = 9) : rng(seed) {
    f.Unit("EA", "unit", Dec(1), Dec(1));
    f.Unit("DZ", "unit", Dec(83333, 6), Dec(1), RFT_FACTOR_DIVIDE);
    f.Unit("KG", "weight", Dec(1), Dec(1, 3));
    for (int a = 0; a < 10; ++a) {
      const std::string aisle = "A" + std::to_string(a);
      f.Location(aisle).blocked = a == 3 ? RFT_FLAG_YES : RFT_FLAG_NO;
      for (int b = 0; b < 8; ++b) {
        bins.push_back(aisle + "-" + std::to_string(b));
        auto& bin = f.Location(bins.back(), aisle);
        bin.blocked = RFT_FLAG_UNKNOWN;
        bin.pickable = RFT_FLAG_UNKNOWN;
      }
    }
    for (int s = 0; s < 240; ++s) {
      const std::string sku = "SKU-" + std::to_string(1000 + s);
      skus.push_back(sku);
      const bool lots = s % 5 < 2;
      auto& item = f.Item(sku);
      item.active = s % 97 == 0 ? RFT_FLAG_NO : RFT_FLAG_YES;
      item.lot_tracked = lots ? RFT_FLAG_YES : RFT_FLAG_NO;
      item.unit_weight_kg = Dec(1 + Pick(400), 3);
      item.min_shelf_life_days = lots && s % 3 == 0 ? 20 : -1;
      if (s % 50 == 0) item.hazmat_class = f.S("3");
      if (s % 2 == 0) f.ItemUnit(sku, "CS", Dec(12));
      for (int l = 0; l < (lots ? 3 : 1); ++l) {
        std::optional<std::string> lot;
        if (lots) {
          lot = "L" + std::to_string(s) + "-" + std::to_string(l);
          f.Lot(sku, *lot, kShipDay - 5 + 30 * l + Pick(60),
                Pick(12) == 0 ? RFT_LOT_QUARANTINE : RFT_LOT_RELEASED);
          lot_codes.push_back(*lot);
        }
        for (int k = 0; k < 2; ++k) {
          const std::string& bin = bins[Pick(static_cast<int>(bins.size()))];
          auto& st = f.Stock(sku, bin, Dec(Pick(25) == 0 ? -3 : Pick(30)),
                             Dec(Pick(6)), lot);
          st.in_date = Day(kShipDay - 100 + Pick(90));
          slots[sku].emplace_back(bin, lot.value_or(""));
        }
      }
    }
    for (int c = 0; c < 60; ++c) {
      customers.push_back("CUST-" + std::to_string(c));
      auto& cu = f.Customer(customers.back());
      cu.credit_hold = c % 25 == 0 ? RFT_FLAG_YES : RFT_FLAG_NO;
      cu.min_shelf_life_days = c % 4 == 0 ? 10 : -1;
    }
    for (int k = 0; k < 3; ++k) {
      services.push_back("SVC" + std::to_string(k));
      auto& cs = f.Carrier(services.back());
      cs.hazmat_allowed = k == 0 ? RFT_FLAG_NO : RFT_FLAG_YES;
      cs.cutoff_minute = 17 * 60;
      cs.max_parcel_weight_kg = k == 1 ? Dec(20) : Dec(1000);
    }
    for (int h = 0; h < 1500; ++h) {
      f.History("PAST-" + std::to_string(h / 4), customers[Pick(10)],
                skus[Pick(15)], Dec(1 + Pick(6)),
                Utc((kShipDay - 1 - Pick(60)) * kMicrosPerDay));
    }
    for (int o = 0; o < orders; ++o) AddOrder(o, max_lines);
  }

  void AddOrder(int o, int max_lines) {
    const std::string ref = "WH/OUT/" + std::to_string(100000 + o);
    auto& r = f.Order(ref, customers[Pick(static_cast<int>(customers.size()))]);
    r.stable_id = f.S(std::to_string(o));
    r.street = f.S("Hauptstraße " + std::to_string(1 + Pick(200)));
    r.carrier_service = f.S(services[Pick(3)]);
    r.ship_date = Pick(15) == 0 ? NoTime() : Day(kShipDay + Pick(3));
    r.created_at =
        Utc((kShipDay - 1) * kMicrosPerDay + int64_t{Pick(86400)} * 1'000'000);
    r.priority = Pick(10) == 0 ? 5 : 0;
    const int defect = Pick(5) == 0 ? 1 + Pick(8) : 0;
    if (defect == 1) r.postcode = f.S("ABC");
    if (defect == 2) r.street = WaveFixture::Null();
    const int nlines = 1 + Pick(max_lines);
    for (int l = 1; l <= nlines; ++l) {
      const int s = Pick(static_cast<int>(skus.size()));
      auto& ln = f.Line(ref, l, skus[s], Dec(1 + Pick(6)));
      if (s % 2 == 0 && Pick(4) == 0) ln.uom = f.S("CS");
      if (Pick(10) == 0) ln.uom = f.S("DZ");
      const auto& own = slots[skus[s]];
      const auto& slot = own[Pick(static_cast<int>(own.size()))];
      if (Pick(12) == 0) ln.location = f.S(slot.first);
      if (!slot.second.empty() && Pick(8) == 0) ln.lot = f.S(slot.second);
      if (Pick(8) == 0) {
        f.Reservation(ref, l, slot.first, Dec(1 + Pick(3)),
                      slot.second.empty()
                          ? std::nullopt
                          : std::optional<std::string>(slot.second));
      }
      if (l != 1) continue;
      switch (defect) {
        case 3:
          ln.sku = f.S("GHOST-" + std::to_string(o));
          break;
        case 4:
          ln.qty = Dec(0);
          break;
        case 5:
          ln.qty = Dec(5, 1);
          break;
        case 6:
          ln.qty = Dec(5000);
          break;
        case 7:
          ln.uom = f.S("KG");
          break;
        case 8:
          ln.lot = f.S(lot_codes[Pick(static_cast<int>(lot_codes.size()))]);
          break;
      }
    }
  }
};

// Cuts the records of a wave into pages. Pages view the strings of the
// wave's fixture, which must outlive them.
class Pager {
 public:
  explicit Pager(const WaveFixture& all) : all_(all) {
    for (const auto& o : all.orders) orders_[Text(o.ref)].push_back(o);
    for (const auto& l : all.lines) lines_[Text(l.order_ref)].push_back(l);
    for (const auto& r : all.reservations) {
      reservations_[Text(r.order_ref)].push_back(r);
    }
    for (const auto& i : all.items) items_[Text(i.sku)].push_back(i);
    for (const auto& u : all.item_units) units_[Text(u.sku)].push_back(u);
    for (const auto& st : all.stock) stock_[Text(st.sku)].push_back(st);
    for (const auto& l : all.lots) lots_[Text(l.sku)].push_back(l);
  }

  // The records of one page: its orders with their lines and reservations,
  // and the reference records, all of them or (own_skus) only the items,
  // item units, stock and lots of the SKUs its lines name, in the order
  // the wave lists them.
  WaveFixture Page(const std::set<std::string>& refs, bool own_skus) const {
    WaveFixture p;
    for (const auto& ref : refs) {
      Append(orders_, ref, &p.orders);
      Append(lines_, ref, &p.lines);
      Append(reservations_, ref, &p.reservations);
    }
    p.units = all_.units;
    p.locations = all_.locations;
    p.customers = all_.customers;
    p.carriers = all_.carriers;
    p.history = all_.history;
    if (!own_skus) {
      p.items = all_.items;
      p.item_units = all_.item_units;
      p.stock = all_.stock;
      p.lots = all_.lots;
      return p;
    }
    std::set<std::string> skus;
    for (const auto& l : p.lines) skus.insert(Text(l.sku));
    // Each SKU's records in the order the wave lists them ("as listed"
    // removal reads it); the order between SKUs does not count.
    for (const auto& sku : skus) {
      Append(items_, sku, &p.items);
      Append(units_, sku, &p.item_units);
      Append(stock_, sku, &p.stock);
      Append(lots_, sku, &p.lots);
    }
    return p;
  }

 private:
  template <typename T>
  using ByKey = std::map<std::string, std::vector<T>>;

  template <typename T>
  static void Append(const ByKey<T>& by, const std::string& key,
                     std::vector<T>* out) {
    const auto it = by.find(key);
    if (it != by.end())
      out->insert(out->end(), it->second.begin(), it->second.end());
  }
  const WaveFixture& all_;
  ByKey<rft_order> orders_;
  ByKey<rft_order_line> lines_;
  ByKey<rft_reservation> reservations_;
  ByKey<rft_item> items_;
  ByKey<rft_item_unit> units_;
  ByKey<rft_stock> stock_;
  ByKey<rft_lot> lots_;
};

WaveFixture Page(const WaveFixture& all, const std::set<std::string>& refs,
                 bool own_skus) {
  return Pager(all).Page(refs, own_skus);
}

// Everything a run says of an order, one string per verdict, finding and
// allocation.
void Dump(const OrderResult& o, std::vector<std::string>* out) {
  out->push_back("order " + std::string(o.ref) + " " +
                 std::string(o.stable_id) + " " +
                 std::to_string(static_cast<int>(o.verdict)) + " " +
                 std::to_string(static_cast<int>(o.decided_by)));
  for (const auto& f : o.findings) {
    out->push_back("finding " + std::to_string(f.line_no) + " " +
                   std::string(f.line_ref) + " " + std::string(f.check_id) +
                   " " + std::to_string(static_cast<int>(f.severity)) + " " +
                   std::string(f.message) + " " + std::string(f.details_json));
  }
  for (const auto& a : o.allocations) {
    out->push_back("allocation " + std::to_string(a.line_no) + " " + a.sku +
                   " " + a.location + " " + a.lot + " " + a.qty + " " +
                   std::to_string(a.from_reservation));
  }
}

Ruleset NoDuplicates() {
  Ruleset rules = DefaultRuleset();
  rules.default_timezone = "Europe/Berlin";
  rules.checks["order.duplicate"].severity = Severity::kOff;
  return rules;
}

RunContext Allocations() {
  RunContext ctx = Ctx();
  ctx.record_allocations = true;
  return ctx;
}

struct Paged {
  std::vector<std::string> dump;
  size_t carry_bytes = 0;
  size_t pages = 0;
};

// Runs the wave of `all` in pages of `page_size` orders, cut from
// `sequence` (the serving sequence), with one carry.
Paged RunInPages(const Engine& engine, const WaveFixture& all,
                 const std::vector<std::string>& sequence, size_t page_size,
                 bool own_skus, const RunContext& ctx) {
  Paged out;
  const Pager pager(all);
  WaveCarry carry;
  for (size_t at = 0; at < sequence.size(); at += page_size) {
    const size_t end = std::min(sequence.size(), at + page_size);
    const std::set<std::string> refs(sequence.begin() + at,
                                     sequence.begin() + end);
    const Wave wave = pager.Page(refs, own_skus).Build();
    const WaveResult r = engine.Run(wave, ctx, &carry);
    EXPECT_EQ(r.orders.size(), end - at);
    for (const auto& o : r.orders) Dump(o, &out.dump);
    ++out.pages;
  }
  out.carry_bytes = carry.memory_bytes();
  return out;
}

void ExpectSameDump(const std::vector<std::string>& whole,
                    const std::vector<std::string>& paged,
                    const std::string& what) {
  ASSERT_EQ(whole.size(), paged.size()) << what;
  for (size_t i = 0; i < whole.size(); ++i) {
    ASSERT_EQ(whole[i], paged[i]) << what << ", entry " << i;
  }
}

std::vector<std::string> Refs(const WaveResult& r) {
  std::vector<std::string> refs;
  for (const auto& o : r.orders) refs.emplace_back(o.ref);
  return refs;
}

TEST(Pages, SameResultsAsTheWholeWave) {
  Warehouse w(2500, 20240510);
  const Engine engine(NoDuplicates());
  const RunContext ctx = Allocations();
  const Wave whole_wave = w.f.Build();
  const WaveResult whole = engine.Run(whole_wave, ctx);
  std::vector<std::string> expected;
  for (const auto& o : whole.orders) Dump(o, &expected);
  const std::vector<std::string> sequence = Refs(whole);

  // The wave exercises what pages must carry: shortages where earlier
  // orders took the stock, held orders that give theirs back, orders
  // served from their reservations, and the lot and location checks.
  std::map<std::string, int> fired;
  int took_earlier = 0, held_with_stock = 0, from_reservation = 0;
  for (const auto& o : whole.orders) {
    for (const auto& f : o.findings) {
      ++fired[std::string(f.check_id)];
      if (f.check_id == "stock.short" &&
          f.details_json.find("\"taken_by_earlier_orders\":\"0\"") ==
              std::string_view::npos) {
        ++took_earlier;
      }
    }
    for (const auto& a : o.allocations) from_reservation += a.from_reservation;
  }
  EXPECT_GT(took_earlier, 100);
  EXPECT_GT(from_reservation, 20);
  for (const char* id :
       {"stock.short", "lot.expired", "lot.quarantine", "lot.fefo",
        "lot.shelf_life", "location.mismatch", "qty.outlier", "item.unknown",
        "uom.mismatch", "carrier.constraint", "customer.hold"}) {
    EXPECT_GT(fired[id], 0) << id;
  }
  {
    // Held orders gave stock back: with the checks that hold orders for
    // reasons other than stock off, later orders get less.
    Ruleset rules = NoDuplicates();
    rules.checks["address.incomplete"].severity = Severity::kWarn;
    rules.checks["customer.hold"].severity = Severity::kWarn;
    const WaveResult more = Engine(rules).Run(whole_wave, ctx);
    size_t allocations_whole = 0, allocations_more = 0;
    for (const auto& o : whole.orders) {
      held_with_stock += o.verdict == Verdict::kHold;
      allocations_whole += o.allocations.size();
    }
    for (const auto& o : more.orders) allocations_more += o.allocations.size();
    EXPECT_NE(allocations_whole, allocations_more);
  }
  EXPECT_GT(held_with_stock, 200);

  for (bool own_skus : {false, true}) {
    for (size_t page_size : {1, 7, 100, 1000}) {
      const Paged paged =
          RunInPages(engine, w.f, sequence, page_size, own_skus, ctx);
      ExpectSameDump(expected, paged.dump,
                     "pages of " + std::to_string(page_size) +
                         (own_skus ? ", own SKUs" : ", all reference data"));
      EXPECT_EQ(paged.pages, (sequence.size() + page_size - 1) / page_size);
    }
  }
}

TEST(Pages, SameResultsForManySeeds) {
  const Engine engine(NoDuplicates());
  const RunContext ctx = Allocations();
  for (uint32_t seed = 1; seed <= 6; ++seed) {
    Warehouse w(300 + static_cast<int>(seed) * 40, seed);
    const WaveResult whole = engine.Run(w.f.Build(), ctx);
    std::vector<std::string> expected;
    for (const auto& o : whole.orders) Dump(o, &expected);
    for (size_t page_size : {3, 50}) {
      const Paged paged =
          RunInPages(engine, w.f, Refs(whole), page_size, seed % 2 == 0, ctx);
      ExpectSameDump(expected, paged.dump,
                     "seed " + std::to_string(seed) + ", pages of " +
                         std::to_string(page_size));
    }
  }
}

TEST(Pages, WithoutCarryLaterPagesFindTheStockAgain) {
  // The carry is what makes pages equal the whole wave: without it, a
  // later page would find stock that earlier pages took.
  WaveFixture f;
  f.Basics();
  f.Order("O1").priority = 2;
  f.Line("O1", 1, "A-100", Dec(80));
  f.Order("O2").priority = 1;
  f.Line("O2", 1, "A-100", Dec(30));
  const Engine engine(NoDuplicates());
  const RunContext ctx = Allocations();
  const WaveResult whole = engine.Run(f.Build(), ctx);
  ASSERT_EQ(Refs(whole), (std::vector<std::string>{"O1", "O2"}));
  EXPECT_EQ(ByRef(whole, "O2").verdict, Verdict::kHold);
  const auto shorts = Of(ByRef(whole, "O2"), "stock.short");
  ASSERT_EQ(shorts.size(), 1u);
  EXPECT_NE(shorts[0].message.find("80 taken by earlier orders of this wave"),
            std::string_view::npos)
      << shorts[0].message;

  WaveCarry carry;
  const Wave page1 = Page(f, {"O1"}, true).Build();
  const Wave page2 = Page(f, {"O2"}, true).Build();
  EXPECT_EQ(engine.Run(page1, ctx, &carry).orders[0].verdict, Verdict::kPass);
  const WaveResult alone = engine.Run(page2, ctx);  // no carry
  EXPECT_EQ(alone.orders[0].verdict, Verdict::kPass);
  const WaveResult carried = engine.Run(page2, ctx, &carry);
  EXPECT_EQ(carried.orders[0].verdict, Verdict::kHold);
  ASSERT_EQ(Of(carried.orders[0], "stock.short").size(), 1u);
  EXPECT_EQ(Of(carried.orders[0], "stock.short")[0].message, shorts[0].message);
  EXPECT_EQ(Of(carried.orders[0], "stock.short")[0].details_json,
            shorts[0].details_json);
}

TEST(Pages, FreshStockOfALaterPageIsReducedByWhatEarlierPagesTook) {
  // Stock is re-read for each page: what earlier pages took comes off the
  // fresh quantities, never below zero; reserved stock likewise.
  WaveFixture f;
  f.Basics();
  f.Order("O1").priority = 3;
  f.Line("O1", 1, "A-100", Dec(60));
  f.Order("O2").priority = 2;
  f.Line("O2", 1, "A-100", Dec(30));
  f.Order("O3").priority = 1;
  f.Line("O3", 1, "A-100", Dec(5));
  const Engine engine(NoDuplicates());
  const RunContext ctx = Allocations();
  WaveCarry carry;
  EXPECT_EQ(
      engine.Run(Page(f, {"O1"}, false).Build(), ctx, &carry).orders[0].verdict,
      Verdict::kPass);
  // The WMS now shows 70 on hand: 70 - 60 = 10 left for O2's 30.
  f.stock[0].on_hand = Dec(70);
  const WaveResult r2 = engine.Run(Page(f, {"O2"}, false).Build(), ctx, &carry);
  EXPECT_EQ(r2.orders[0].verdict, Verdict::kHold);
  const auto s2 = Of(r2.orders[0], "stock.short");
  ASSERT_EQ(s2.size(), 1u);
  EXPECT_NE(s2[0].details_json.find("\"observed\":\"10\""),
            std::string_view::npos)
      << s2[0].details_json;
  EXPECT_NE(s2[0].details_json.find("\"taken_by_earlier_orders\":\"60\""),
            std::string_view::npos)
      << s2[0].details_json;
  // O2 was held: it gave its 10 back. Now the WMS shows 50: nothing left.
  f.stock[0].on_hand = Dec(50);
  const WaveResult r3 = engine.Run(Page(f, {"O3"}, false).Build(), ctx, &carry);
  EXPECT_EQ(r3.orders[0].verdict, Verdict::kHold);
  const auto s3 = Of(r3.orders[0], "stock.short");
  ASSERT_EQ(s3.size(), 1u);
  EXPECT_NE(s3[0].details_json.find("\"observed\":\"0\""),
            std::string_view::npos)
      << s3[0].details_json;
  EXPECT_TRUE(r3.orders[0].allocations.empty());
}

TEST(Pages, ReservationsTakenByEarlierPages) {
  // 10 on hand, 6 of them reserved; O1 and O2 each have a reservation of
  // 4: O1 takes 4 of the reserved 6, O2 finds 2 left of it plus the free 4.
  WaveFixture f;
  f.Basics();
  f.stock[0].on_hand = Dec(10);
  f.stock[0].reserved_qty = Dec(6);
  f.Order("O1").priority = 2;
  f.Line("O1", 1, "A-100", Dec(4));
  f.Reservation("O1", 1, "P1", Dec(4));
  f.Order("O2").priority = 1;
  f.Line("O2", 1, "A-100", Dec(7));
  f.Reservation("O2", 1, "P1", Dec(4));
  const Engine engine(NoDuplicates());
  const RunContext ctx = Allocations();
  const WaveResult whole = engine.Run(f.Build(), ctx);
  std::vector<std::string> expected;
  for (const auto& o : whole.orders) Dump(o, &expected);
  ASSERT_EQ(ByRef(whole, "O2").verdict, Verdict::kHold);
  const Paged paged = RunInPages(engine, f, {"O1", "O2"}, 1, true, ctx);
  ExpectSameDump(expected, paged.dump, "pages of 1");
}

// order.duplicate: two equal orders (same customer, same lines).
struct DuplicatePair {
  WaveFixture f;
  DuplicatePair(int64_t created_a_hours, int64_t created_b_hours) {
    f.Basics();
    const int64_t base = (kShipDay - 2) * kMicrosPerDay;
    // A is served first (higher priority).
    auto& a = f.Order("A");
    a.priority = 2;
    a.created_at = Utc(base + created_a_hours * 3'600'000'000LL);
    f.Line("A", 1, "A-100", Dec(2));
    f.Line("A", 2, "B-200", Dec(1), "EA");
    auto& b = f.Order("B");
    b.priority = 1;
    b.created_at = Utc(base + created_b_hours * 3'600'000'000LL);
    f.Line("B", 1, "B-200", Dec(1), "EA");
    f.Line("B", 2, "A-100", Dec(2));
    f.Item("B-200");
    f.Stock("B-200", "P1", Dec(50));
  }
};

// The order.duplicate findings of the orders, as "ref:observed".
std::vector<std::string> Duplicates(const std::vector<WaveResult>& runs) {
  std::vector<std::string> out;
  for (const auto& r : runs) {
    for (const auto& o : r.orders) {
      for (const auto& f : Of(o, "order.duplicate")) {
        out.push_back(std::string(o.ref) + ":" + std::string(f.message));
      }
    }
  }
  return out;
}

std::vector<WaveResult> RunPages(
    const Engine& engine, const WaveFixture& f,
    const std::vector<std::set<std::string>>& pages) {
  std::vector<WaveResult> out;
  WaveCarry carry;
  for (const auto& refs : pages) {
    out.push_back(engine.Run(Page(f, refs, true).Build(), Ctx(), &carry));
  }
  return out;
}

const std::string kBDupOfA =
    "B:order B has the same customer and lines as order A of this wave; "
    "cancel one unless both are wanted";
const std::string kADupOfB =
    "A:order A has the same customer and lines as order B of this wave; "
    "cancel one unless both are wanted";

TEST(PagesDuplicates, SamePageAsTheWholeWave) {
  for (auto [ca, cb] : {std::pair{0, 5}, {5, 0}, {0, 30}}) {
    DuplicatePair d(ca, cb);
    const Engine engine(DefaultRuleset());
    const std::vector<WaveResult> whole{engine.Run(d.f.Build(), Ctx())};
    const auto paged = RunPages(engine, d.f, {{"A", "B"}});
    EXPECT_EQ(Duplicates(paged), Duplicates(whole)) << ca << " " << cb;
  }
  const Engine engine(DefaultRuleset());
  EXPECT_EQ(Duplicates({engine.Run(DuplicatePair(0, 5).f.Build(), Ctx())}),
            std::vector<std::string>{kBDupOfA});
  EXPECT_EQ(Duplicates({engine.Run(DuplicatePair(5, 0).f.Build(), Ctx())}),
            std::vector<std::string>{kADupOfB});
  EXPECT_TRUE(
      Duplicates({engine.Run(DuplicatePair(0, 30).f.Build(), Ctx())}).empty());
}

TEST(PagesDuplicates, LaterPageOrderIsReported) {
  const Engine engine(DefaultRuleset());
  // Created after the earlier page's order: as in the whole wave.
  {
    DuplicatePair d(0, 5);
    const auto paged = RunPages(engine, d.f, {{"A"}, {"B"}});
    EXPECT_EQ(Duplicates(paged), std::vector<std::string>{kBDupOfA});
    const auto& f = Of(paged[1].orders[0], "order.duplicate");
    ASSERT_EQ(f.size(), 1u);
    EXPECT_EQ(f[0].details_json, R"({"observed":"A","window_hours":24})");
  }
  // Created before it: the earlier page's order is decided already; the
  // later page's order is reported (the whole wave reports A).
  {
    DuplicatePair d(5, 0);
    const auto paged = RunPages(engine, d.f, {{"A"}, {"B"}});
    EXPECT_EQ(Duplicates(paged), std::vector<std::string>{kBDupOfA});
  }
  // Outside the window, either way: none.
  for (auto [ca, cb] : {std::pair{0, 30}, {30, 0}}) {
    DuplicatePair d(ca, cb);
    EXPECT_TRUE(Duplicates(RunPages(engine, d.f, {{"A"}, {"B"}})).empty());
  }
  // Other lines or another customer: none.
  {
    DuplicatePair d(0, 5);
    d.f.lines[3].qty = Dec(3);
    EXPECT_TRUE(Duplicates(RunPages(engine, d.f, {{"A"}, {"B"}})).empty());
  }
  {
    DuplicatePair d(0, 5);
    d.f.lines[2].uom = WaveFixture::Null();  // EA named vs not named
    const std::vector<WaveResult> whole{engine.Run(d.f.Build(), Ctx())};
    EXPECT_TRUE(Duplicates(whole).empty());
    EXPECT_TRUE(Duplicates(RunPages(engine, d.f, {{"A"}, {"B"}})).empty());
  }
  {
    DuplicatePair d(0, 5);
    d.f.orders[1].customer_ref = d.f.S("C2");
    d.f.Customer("C2");
    EXPECT_TRUE(Duplicates(RunPages(engine, d.f, {{"A"}, {"B"}})).empty());
  }
}

TEST(PagesDuplicates, ChainsAcrossPagesAsInTheWholeWave) {
  // A (page 1, created 0h); B (2h) and C (1h) on page 2: the whole wave
  // compares C with A and B with C; so do the pages.
  DuplicatePair d(0, 2);
  auto& c = d.f.Order("C");
  c.created_at = Utc((kShipDay - 2) * kMicrosPerDay + 3'600'000'000LL);
  d.f.Line("C", 1, "A-100", Dec(2));
  d.f.Line("C", 2, "B-200", Dec(1), "EA");
  const Engine engine(DefaultRuleset());
  const std::vector<WaveResult> whole{engine.Run(d.f.Build(), Ctx())};
  ASSERT_EQ(Refs(whole[0]), (std::vector<std::string>{"A", "B", "C"}));
  const auto paged = RunPages(engine, d.f, {{"A"}, {"B", "C"}});
  EXPECT_EQ(Duplicates(paged), Duplicates(whole));
  EXPECT_EQ(Duplicates(whole).size(), 2u);
  // A page of its own each: B's page cannot know C, created before B;
  // B is compared with A, and C, on the later page, with A.
  EXPECT_EQ(Duplicates(RunPages(engine, d.f, {{"A"}, {"B"}, {"C"}})),
            (std::vector<std::string>{
                "B:order B has the same customer and lines as order A of "
                "this wave; cancel one unless both are wanted",
                "C:order C has the same customer and lines as order A of "
                "this wave; cancel one unless both are wanted"}));
}

TEST(Pages, ServingRefsIsTheSequenceOfRun) {
  Warehouse w(800, 7);
  const Engine engine(NoDuplicates());
  const Wave wave = w.f.Build();
  const WaveResult r = engine.Run(wave, Ctx());
  const std::vector<std::string> sequence = Refs(r);
  std::vector<std::string> refs;
  for (std::string_view v : ServingRefs(wave)) refs.emplace_back(v);
  EXPECT_EQ(refs, sequence);
  refs.clear();
  for (std::string_view v : engine.ServingRefs(wave)) refs.emplace_back(v);
  EXPECT_EQ(refs, sequence);
  // The keys only (what the plugin lists): orders, no lines.
  WaveFixture keys;
  keys.orders = w.f.orders;  // views w.f's strings
  const Wave keys_wave = keys.Build();
  refs.clear();
  for (std::string_view v : ServingRefs(keys_wave)) refs.emplace_back(v);
  EXPECT_EQ(refs, sequence);
  // Not sorted by ref alone: priorities and ship dates count.
  EXPECT_FALSE(std::is_sorted(sequence.begin(), sequence.end()));
}

TEST(Pages, ServingRefsOfShipDatesGivenAsInstants) {
  // B ships 2024-05-10T23:30Z, which is 2024-05-11 in Berlin, the day A
  // ships: same day, so A before B by ref in Berlin; in UTC B is a day
  // earlier and comes first.
  WaveFixture f;
  f.Basics();
  f.Order("A").ship_date = Day(kShipDay + 1);
  f.Order("B").ship_date =
      Utc(kShipDay * kMicrosPerDay + 23 * 3'600'000'000LL + 1'800'000'000LL);
  Ruleset rules = DefaultRuleset();
  rules.default_timezone = "Europe/Berlin";
  const Engine engine(rules);
  const Wave wave = f.Build();
  const std::vector<std::string> run = Refs(engine.Run(wave, Ctx()));
  EXPECT_EQ(run, (std::vector<std::string>{"A", "B"}));
  std::vector<std::string> refs;
  for (std::string_view v : engine.ServingRefs(wave)) refs.emplace_back(v);
  EXPECT_EQ(refs, run);
  refs.clear();
  for (std::string_view v : ServingRefs(wave)) refs.emplace_back(v);
  EXPECT_EQ(refs, (std::vector<std::string>{"B", "A"}));
}

TEST(Pages, CarryGrowsWithStockTouchedNotWithLines) {
  // Two waves of 3,000 orders over the same few SKUs (every stock row is
  // touched either way): one line per order, or up to nine. The carry
  // holds what the stock rows gave and a few bytes per order.
  const Engine engine(DefaultRuleset());
  const RunContext ctx = Ctx();
  auto carried = [&](int max_lines) {
    WaveFixture f;
    f.Unit("EA", "unit", Dec(1), Dec(1));
    f.Location("P1");
    f.Customer("C1");
    for (int s = 0; s < 20; ++s) {
      const std::string sku = "SKU-" + std::to_string(s);
      f.Item(sku);
      f.Stock(sku, "P1", Dec(1'000'000));
    }
    std::mt19937 rng(5);
    for (int o = 0; o < 3000; ++o) {
      const std::string ref = "ORDER-" + std::to_string(100000 + o);
      f.Order(ref);
      const int lines = 1 + static_cast<int>(rng() % max_lines);
      for (int l = 1; l <= lines; ++l) {
        auto& line = f.Line(ref, l, "SKU-" + std::to_string((o + l) % 20),
                            Dec(1 + static_cast<int>(rng() % 5)));
        line.line_ref = f.S(ref + "/a-long-line-reference-" +
                            std::to_string(l) + "-of-the-wms");
      }
    }
    WaveCarry carry;
    const size_t empty = carry.memory_bytes();
    for (int page = 0; page < 30; ++page) {
      std::set<std::string> refs;
      for (int o = page * 100; o < (page + 1) * 100; ++o) {
        refs.insert("ORDER-" + std::to_string(100000 + o));
      }
      engine.Run(Page(f, refs, true).Build(), ctx, &carry);
    }
    EXPECT_GT(carry.memory_bytes(), empty);
    return std::pair{carry.memory_bytes(), f.lines.size()};
  };
  const auto [one_bytes, one_lines] = carried(1);
  const auto [nine_bytes, nine_lines] = carried(9);
  EXPECT_EQ(one_lines, 3000u);
  EXPECT_GT(nine_lines, 4 * one_lines);
  EXPECT_LT(nine_bytes, one_bytes * 5 / 4);
  // A few bytes per order, not the lines' text.
  EXPECT_LT(nine_bytes, 3000u * 80 + 20u * 200);
}

TEST(Pages, CarryGrowsWithTheStockRowsTouched) {
  const Engine engine(NoDuplicates());
  auto carried = [&](int skus) {
    WaveFixture f;
    f.Unit("EA", "unit", Dec(1), Dec(1));
    f.Location("P1");
    f.Customer("C1");
    for (int s = 0; s < skus; ++s) {
      const std::string sku = "SKU-" + std::to_string(s);
      f.Item(sku);
      f.Stock(sku, "P1", Dec(1'000'000));
      f.Order("O" + std::to_string(s));
      f.Line("O" + std::to_string(s), 1, sku, Dec(1));
    }
    WaveCarry carry;
    for (int s = 0; s < skus; s += 50) {
      std::set<std::string> refs;
      for (int k = s; k < std::min(skus, s + 50); ++k) {
        refs.insert("O" + std::to_string(k));
      }
      engine.Run(Page(f, refs, true).Build(), Ctx(), &carry);
    }
    return carry.memory_bytes();
  };
  EXPECT_GT(carried(2000), carried(200) * 5);
}

TEST(Pages, CarryMoves) {
  WaveFixture f;
  f.Basics();
  f.Order("O1").priority = 2;
  f.Line("O1", 1, "A-100", Dec(80));
  f.Order("O2").priority = 1;
  f.Line("O2", 1, "A-100", Dec(30));
  const Engine engine(NoDuplicates());
  WaveCarry carry;
  engine.Run(Page(f, {"O1"}, false).Build(), Ctx(), &carry);
  WaveCarry moved(std::move(carry));
  WaveCarry assigned;
  assigned = std::move(moved);
  EXPECT_EQ(engine.Run(Page(f, {"O2"}, false).Build(), Ctx(), &assigned)
                .orders[0]
                .verdict,
            Verdict::kHold);
}

}  // namespace
}  // namespace rftgate::testing
