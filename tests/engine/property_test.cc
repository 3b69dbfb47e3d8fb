// Properties over random waves: allocations never exceed stock, record order
// does not change verdicts, and a wave checked whole equals its orders
// checked one by one with stock carried over.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "plugin/engine/decimal.h"
#include "tests/engine/wave_fixture.h"

namespace rftgate::testing {
namespace {

struct World {
  WaveFixture f;
  // (sku, location, lot) -> (on hand, reserved), in units.
  std::map<std::tuple<std::string, std::string, std::string>,
           std::pair<int64_t, int64_t>>
      stock;
};

void MakeWorld(uint32_t seed, World& w) {
  std::mt19937 rng(seed);
  auto pick = [&](int n) { return static_cast<int>(rng() % n); };
  WaveFixture& f = w.f;
  f.Unit("EA", "unit", Dec(1), Dec(1));
  f.Location("A");
  f.Location("A-1", "A");
  f.Location("A-2", "A");
  f.Location("B").pickable = RFT_FLAG_NO;
  f.Customer("C1");
  f.Customer("C2").credit_hold = RFT_FLAG_YES;
  const char* locs[] = {"A-1", "A-2", "B"};
  for (int s = 0; s < 6; ++s) {
    std::string sku = "S" + std::to_string(s);
    bool lots = s % 2 == 0;
    f.Item(sku).lot_tracked = lots ? RFT_FLAG_YES : RFT_FLAG_NO;
    for (int l = 0; l < 3; ++l) {
      std::string lot = lots ? "L" + std::to_string(l) : "";
      if (lots) f.Lot(sku, lot, kShipDay - 2 + pick(40));
      for (const char* loc : locs) {
        if (pick(2) == 0) continue;
        int64_t on_hand = pick(12) - 1;  // may be negative
        int64_t reserved = pick(3);
        w.stock[{sku, loc, lot}] = {on_hand, reserved};
        f.Stock(sku, loc, Dec(on_hand), Dec(reserved),
                lots ? std::optional<std::string>(lot) : std::nullopt);
      }
      if (!lots) break;
    }
  }
  int orders = 5 + pick(20);
  for (int o = 0; o < orders; ++o) {
    std::string ref = "O" + std::to_string(o);
    auto& order = f.Order(ref, pick(6) == 0 ? "C2" : "C1");
    order.priority = pick(3);
    if (pick(5) == 0)
      order.ship_date = NoTime();
    else
      order.ship_date = Day(kShipDay + pick(3));
    int lines = pick(4);
    for (int l = 1; l <= lines; ++l) {
      f.Line(ref, l, "S" + std::to_string(pick(6)), Dec(1 + pick(6)));
    }
  }
}

TEST(Properties, AllocationsNeverExceedStock) {
  for (uint32_t seed = 1; seed <= 60; ++seed) {
    World w;
    MakeWorld(seed, w);
    Engine engine(DefaultRuleset());
    Wave wave = w.f.Build();
    RunContext ctx = Ctx();
    ctx.record_allocations = true;
    WaveResult r = engine.Run(wave, ctx);
    std::map<std::tuple<std::string, std::string, std::string>, int64_t> used;
    for (const auto& o : r.orders) {
      if (o.verdict == Verdict::kHold) {
        EXPECT_TRUE(o.allocations.empty());
      }
      for (const auto& a : o.allocations) {
        EXPECT_FALSE(a.from_reservation);
        used[{a.sku, a.location, a.lot}] += std::stoll(a.qty);
        EXPECT_NE(a.location, "B") << "not pickable";
      }
    }
    for (const auto& [key, qty] : used) {
      auto [on_hand, reserved] = w.stock.at(key);
      EXPECT_LE(qty, std::max<int64_t>(0, on_hand - reserved)) << seed;
    }
  }
}

std::vector<std::pair<std::string, Verdict>> Verdicts(const WaveResult& r) {
  std::vector<std::pair<std::string, Verdict>> v;
  for (const auto& o : r.orders) v.emplace_back(o.ref, o.verdict);
  return v;
}

TEST(Properties, ShufflingRecordsChangesNothing) {
  for (uint32_t seed = 1; seed <= 40; ++seed) {
    World w;
    MakeWorld(seed, w);
    Engine engine(DefaultRuleset());
    WaveResult a = engine.Run(w.f.Build(), Ctx());
    std::mt19937 rng(seed * 7);
    std::shuffle(w.f.orders.begin(), w.f.orders.end(), rng);
    std::shuffle(w.f.lines.begin(), w.f.lines.end(), rng);
    std::shuffle(w.f.stock.begin(), w.f.stock.end(), rng);
    std::shuffle(w.f.lots.begin(), w.f.lots.end(), rng);
    std::shuffle(w.f.locations.begin(), w.f.locations.end(), rng);
    WaveResult b = engine.Run(w.f.Build(), Ctx());
    ASSERT_EQ(Verdicts(a), Verdicts(b)) << seed;
    for (size_t i = 0; i < a.orders.size(); ++i) {
      ASSERT_EQ(a.orders[i].findings.size(), b.orders[i].findings.size());
      for (size_t k = 0; k < a.orders[i].findings.size(); ++k) {
        EXPECT_EQ(a.orders[i].findings[k].message,
                  b.orders[i].findings[k].message);
      }
    }
  }
}

TEST(Properties, WholeWaveEqualsOneByOneWithStockCarried) {
  for (uint32_t seed = 1; seed <= 40; ++seed) {
    World w;
    MakeWorld(seed, w);
    // Duplicates compare orders with each other: not a per-order property.
    Ruleset rules = DefaultRuleset();
    rules.checks["order.duplicate"].severity = Severity::kOff;
    Engine engine(rules);
    RunContext ctx = Ctx();
    ctx.record_allocations = true;
    WaveResult whole = engine.Run(w.f.Build(), ctx);
    // Check each order alone, in the served sequence, with what earlier
    // orders took counted as reserved.
    std::map<std::tuple<std::string, std::string, std::string>, int64_t> taken;
    for (const auto& expected : whole.orders) {
      WaveFixture one = w.f;
      one.orders.clear();
      for (const auto& o : w.f.orders) {
        if (std::string(o.ref.data, o.ref.len) == expected.ref) {
          one.orders.push_back(o);
        }
      }
      for (auto& s : one.stock) {
        std::tuple<std::string, std::string, std::string> key{
            std::string(s.sku.data, s.sku.len),
            std::string(s.location.data, s.location.len),
            s.lot.data ? std::string(s.lot.data, s.lot.len) : ""};
        s.reserved_qty = Dec(s.reserved_qty.mantissa + taken[key]);
      }
      WaveResult alone = engine.Run(one.Build(), ctx);
      ASSERT_EQ(alone.orders.size(), 1u);
      EXPECT_EQ(alone.orders[0].verdict, expected.verdict)
          << "seed " << seed << " order " << expected.ref;
      for (const auto& a : expected.allocations) {
        taken[{a.sku, a.location, a.lot}] += std::stoll(a.qty);
      }
    }
  }
}

}  // namespace
}  // namespace rftgate::testing
