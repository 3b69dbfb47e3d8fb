#include "plugin/engine/engine.h"

#include <gtest/gtest.h>

#include "nlohmann/json.hpp"
#include "plugin/engine/catalogue.h"
#include "plugin/engine/ruleset.h"
#include "tests/engine/wave_fixture.h"

namespace rftgate::testing {
namespace {

WaveResult RunWave(WaveFixture& f, uint64_t caps = kAllCaps,
                   Ruleset rules = DefaultRuleset()) {
  Engine engine(std::move(rules));
  Wave wave = f.Build(caps);
  return engine.Run(wave, Ctx());
}

TEST(Engine, CleanOrderPasses) {
  WaveFixture f;
  f.Basics();
  f.Order("O1");
  f.Line("O1", 1, "A-100", Dec(12));
  WaveResult r = RunWave(f);
  ASSERT_EQ(r.orders.size(), 1u);
  EXPECT_EQ(r.orders[0].verdict, Verdict::kPass);
  EXPECT_TRUE(r.orders[0].findings.empty()) << r.orders[0].findings[0].message;
}

TEST(Engine, EmptyWaveAndOrderWithoutLines) {
  WaveFixture f;
  EXPECT_TRUE(RunWave(f).orders.empty());
  f.Basics();
  f.Order("O1");
  WaveResult r = RunWave(f);
  ASSERT_EQ(r.orders.size(), 1u);
  EXPECT_EQ(r.orders[0].verdict, Verdict::kPass);
}

TEST(ItemChecks, UnknownAndInactive) {
  WaveFixture f;
  f.Basics();
  f.Item("OLD-1").active = RFT_FLAG_NO;
  f.Stock("OLD-1", "P1", Dec(10));
  f.Order("O1");
  f.Line("O1", 1, "A-100", Dec(1));
  f.Line("O1", 2, "NOPE", Dec(1));
  f.Line("O1", 3, "OLD-1", Dec(1));
  WaveResult r = RunWave(f);
  auto unknown = Of(r.orders[0], "item.unknown");
  ASSERT_EQ(unknown.size(), 1u);
  EXPECT_EQ(unknown[0].line_no, 2);
  EXPECT_NE(unknown[0].message.find("NOPE"), std::string::npos);
  auto inactive = Of(r.orders[0], "item.inactive");
  ASSERT_EQ(inactive.size(), 1u);
  EXPECT_EQ(inactive[0].line_no, 3);
  EXPECT_EQ(r.orders[0].verdict, Verdict::kHold);
}

TEST(ItemChecks, NotApplicableWithoutItemMaster) {
  WaveFixture f;
  f.Basics();
  f.Order("O1");
  f.Line("O1", 1, "NOPE", Dec(1));
  WaveResult r = RunWave(f, kAllCaps & ~RFT_CAP_ITEMS);
  EXPECT_TRUE(Of(r.orders[0], "item.unknown").empty());
  bool noted = false;
  for (const auto& n : r.notes) {
    noted |= n.check_id == "item.unknown" &&
             n.message.find("not applicable") != std::string::npos;
  }
  EXPECT_TRUE(noted);
}

TEST(QtyChecks, NullZeroNegativeFractionalAndHuge) {
  WaveFixture f;
  f.Basics();
  f.Stock("A-100", "P1", Dec(5000000));
  f.Order("O1");
  f.Line("O1", 1, "A-100", NullDec());
  f.Line("O1", 2, "A-100", Dec(0));
  f.Line("O1", 3, "A-100", Dec(-2));
  f.Line("O1", 4, "A-100", Dec(15, 1));  // 1.5 EA, EA can't split
  f.Line("O1", 5, "A-100", Dec(2000000));
  f.Line("O1", 6, "A-100", Dec(3));
  WaveResult r = RunWave(f);
  auto q = Of(r.orders[0], "qty.invalid");
  std::vector<int> lines;
  for (auto& x : q) lines.push_back(x.line_no);
  EXPECT_EQ(lines, (std::vector<int>{1, 2, 3, 4, 5}));
}

TEST(QtyChecks, DecimalQuantityOfSplittableUnitIsExact) {
  WaveFixture f;
  f.Item("FLOUR", "KG");
  f.Unit("KG", "weight", Dec(1), Dec(1, 3));
  f.Unit("G", "weight", Dec(1, 3), Dec(1));
  f.Location("P1");
  f.Stock("FLOUR", "P1", Dec(3, 1));  // 0.3 kg
  f.Customer("C1");
  f.Order("O1");
  f.Line("O1", 1, "FLOUR", Dec(1, 1), "KG");  // 0.1
  f.Line("O1", 2, "FLOUR", Dec(200), "G");    // 0.2
  WaveResult r = RunWave(f);
  EXPECT_EQ(r.orders[0].verdict, Verdict::kPass)
      << r.orders[0].findings[0].message;
}

TEST(UomChecks, ExactRoundingAndCategory) {
  WaveFixture f;
  f.Basics();
  f.Stock("A-100", "P1", Dec(1000));
  f.Unit("KG", "weight", Dec(1), Dec(1, 3));
  f.Unit("DZ", "unit", Dec(83333, 6), Dec(1), RFT_FACTOR_DIVIDE);  // Odoo
  f.ItemUnit("A-100", "CS", Dec(12));
  f.Order("O1");
  f.Line("O1", 1, "A-100", Dec(2), "CS");      // 24 EA exact
  f.Line("O1", 2, "A-100", Dec(3), "DZ");      // 36 EA via rounded factor
  f.Line("O1", 3, "A-100", Dec(1), "KG");      // other category
  f.Line("O1", 4, "A-100", Dec(1), "PALLET");  // unknown unit
  f.Line("O1", 5, "A-100", Dec(25, 1), "CS");  // 2.5 CS = 30 EA exact
  WaveResult r = RunWave(f);
  auto u = Of(r.orders[0], "uom.mismatch");
  std::vector<int> lines;
  for (auto& x : u) lines.push_back(x.line_no);
  EXPECT_EQ(lines, (std::vector<int>{3, 4}));
}

TEST(UomChecks, ConversionThatRoundsIsAFinding) {
  WaveFixture f;
  f.Basics();
  f.Unit("DZ", "unit", Dec(12), Dec(1, 2));
  f.Order("O1");
  f.Line("O1", 1, "A-100", Dec(1, 1), "DZ");  // 1.2 EA: EA can't split
  f.Line("O1", 2, "A-100", Dec(5, 1), "DZ");  // 6 EA
  WaveResult r = RunWave(f);
  auto u = Of(r.orders[0], "uom.mismatch");
  ASSERT_EQ(u.size(), 1u);
  EXPECT_EQ(u[0].line_no, 1);
  EXPECT_NE(u[0].details_json.find("rounds"), std::string::npos);
}

TEST(StockChecks, ExactlyEnoughAndOneShort) {
  WaveFixture f;
  f.Basics();
  f.stock.clear();
  f.Stock("A-100", "P1", Dec(12), Dec(5));  // 7 free
  f.Order("O1");
  f.Line("O1", 3, "A-100", Dec(12));
  WaveResult r = RunWave(f);
  auto s = Of(r.orders[0], "stock.short");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].line_no, 3);
  EXPECT_EQ(s[0].message,
            "line 3: SKU A-100 needs 12 EA; 7 available at pickable "
            "locations; 5 reserved by other orders");
  auto d = nlohmann::json::parse(s[0].details_json);
  EXPECT_EQ(d["observed"], "7");
  EXPECT_EQ(d["threshold"], "12");

  WaveFixture g;
  g.Basics();
  g.stock.clear();
  g.Stock("A-100", "P1", Dec(12), Dec(5));
  g.Order("O1");
  g.Line("O1", 1, "A-100", Dec(7));
  EXPECT_EQ(RunWave(g).orders[0].verdict, Verdict::kPass);
}

TEST(StockChecks, LastUnitTakenByEarlierOrder) {
  WaveFixture f;
  f.Basics();
  f.stock.clear();
  f.Stock("A-100", "P1", Dec(10));
  f.Order("URGENT").priority = 5;
  f.Line("URGENT", 1, "A-100", Dec(10));
  f.Order("LATER");
  f.Line("LATER", 1, "A-100", Dec(1));
  WaveResult r = RunWave(f);
  EXPECT_EQ(r.orders[0].ref, "URGENT");
  EXPECT_EQ(r.orders[0].verdict, Verdict::kPass);
  auto s = Of(r.orders[1], "stock.short");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_NE(s[0].message.find("10 taken by earlier orders"), std::string::npos)
      << s[0].message;
}

TEST(StockChecks, HeldOrderGivesStockBack) {
  WaveFixture f;
  f.Basics();
  f.stock.clear();
  f.Stock("A-100", "P1", Dec(10));
  f.Order("FIRST", "BLOCKED").priority = 5;  // customer on hold
  f.Line("FIRST", 1, "A-100", Dec(10));
  f.Customer("BLOCKED").blocked = RFT_FLAG_YES;
  f.Order("SECOND");
  f.Line("SECOND", 1, "A-100", Dec(10));
  WaveResult r = RunWave(f);
  EXPECT_EQ(ByRef(r, "FIRST").verdict, Verdict::kHold);
  EXPECT_EQ(ByRef(r, "SECOND").verdict, Verdict::kPass);
}

TEST(StockChecks, OwnReservationsAreNotCountedTwice) {
  WaveFixture f;
  f.Basics();
  f.stock.clear();
  f.Stock("A-100", "P1", Dec(10), Dec(6));  // 6 reserved, of which 4 ours
  f.Reservation("O1", 1, "P1", Dec(4));
  f.Order("O1");
  f.Line("O1", 1, "A-100", Dec(8));  // 4 own + 4 free
  f.Order("O2");
  f.Line("O2", 1, "A-100", Dec(1));  // free is gone
  WaveResult r = RunWave(f);
  EXPECT_EQ(ByRef(r, "O1").verdict, Verdict::kPass);
  EXPECT_EQ(Of(ByRef(r, "O2"), "stock.short").size(), 1u);
}

TEST(StockChecks, NegativeStockIsNoStockNotACrash) {
  WaveFixture f;
  f.Basics();
  f.stock.clear();
  f.Stock("A-100", "P1", Dec(-5));
  f.Order("O1");
  f.Line("O1", 1, "A-100", Dec(1));
  const WaveResult result = RunWave(f);
  auto s = Of(result.orders[0], "stock.short");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_NE(s[0].details_json.find("\"negative_on_hand\":true"),
            std::string::npos);
}

TEST(StockChecks, NestedLocationsCountUnitsOnce) {
  WaveFixture f;
  f.Basics();
  f.stock.clear();
  f.Location("AISLE");
  f.Location("AISLE-01", "AISLE");
  f.Stock("A-100", "AISLE-01", Dec(5));
  f.Order("O1");
  f.Line("O1", 1, "A-100", Dec(5)).location = f.S("AISLE");
  f.Order("O2");
  f.Line("O2", 1, "A-100", Dec(1));
  WaveResult r = RunWave(f);
  EXPECT_EQ(ByRef(r, "O1").verdict, Verdict::kPass);
  EXPECT_EQ(Of(ByRef(r, "O2"), "stock.short").size(), 1u);
}

TEST(RootCause, BlockedAssignedLocationIsOneFinding) {
  WaveFixture f;
  f.Basics();  // 100 at P1
  f.Location("BLK").blocked = RFT_FLAG_YES;
  f.Stock("A-100", "BLK", Dec(50));
  f.Order("O1").priority = 5;
  f.Line("O1", 1, "A-100", Dec(12)).location = f.S("BLK");
  f.Order("O2");
  f.Line("O2", 1, "A-100", Dec(100));
  Engine engine(DefaultRuleset());
  Wave wave = f.Build();
  RunContext ctx = Ctx();
  ctx.record_allocations = true;
  WaveResult r = engine.Run(wave, ctx);
  const OrderResult& o1 = ByRef(r, "O1");
  ASSERT_EQ(o1.findings.size(), 1u);
  EXPECT_EQ(o1.findings[0].check_id, "location.mismatch");
  auto d = nlohmann::json::parse(o1.findings[0].details_json);
  EXPECT_EQ(d["unallocated"], "12");
  EXPECT_EQ(d["observed"], "blocked");
  EXPECT_EQ(o1.verdict, Verdict::kHold);
  // Stock is given and given back as before: O2 gets all 100 at P1.
  const OrderResult& o2 = ByRef(r, "O2");
  EXPECT_EQ(o2.verdict, Verdict::kPass);
  ASSERT_EQ(o2.allocations.size(), 1u);
  EXPECT_EQ(o2.allocations[0].qty, "100");
}

TEST(RootCause, ShortEvenWithoutTheAssignmentKeepsStockShort) {
  WaveFixture f;
  f.Basics();
  f.stock.clear();
  f.Stock("A-100", "P1", Dec(5));
  f.Location("BLK").blocked = RFT_FLAG_YES;
  f.Stock("A-100", "BLK", Dec(50));
  f.Order("O1");
  f.Line("O1", 1, "A-100", Dec(12)).location = f.S("BLK");
  WaveResult r = RunWave(f);
  auto l = Of(r.orders[0], "location.mismatch");
  ASSERT_EQ(l.size(), 1u);
  EXPECT_FALSE(
      nlohmann::json::parse(l[0].details_json).contains("unallocated"));
  auto s = Of(r.orders[0], "stock.short");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].message,
            "line 1: SKU A-100 needs 12 EA; 0 available at BLK; 50 at blocked "
            "or non-pickable locations");
}

TEST(RootCause, OnlyABlockingFindingStandsForStockShort) {
  WaveFixture f;
  f.Basics();
  f.Location("BLK").blocked = RFT_FLAG_YES;
  f.Order("O1");
  f.Line("O1", 1, "A-100", Dec(12)).location = f.S("BLK");
  Ruleset rules = DefaultRuleset();
  rules.checks["location.mismatch"].severity = Severity::kWarn;
  WaveResult r = RunWave(f, kAllCaps, rules);
  auto l = Of(r.orders[0], "location.mismatch");
  ASSERT_EQ(l.size(), 1u);
  EXPECT_FALSE(
      nlohmann::json::parse(l[0].details_json).contains("unallocated"));
  EXPECT_EQ(Of(r.orders[0], "stock.short").size(), 1u);
  EXPECT_EQ(r.orders[0].verdict, Verdict::kHold);
}

TEST(LocationChecks, BlockedUnknownAndNotHolding) {
  WaveFixture f;
  f.Basics();
  f.Location("BLK").blocked = RFT_FLAG_YES;
  f.Location("EMPTY");
  f.Order("O1");
  f.Line("O1", 1, "A-100", Dec(1)).location = f.S("BLK");
  f.Line("O1", 2, "A-100", Dec(1)).location = f.S("NOWHERE");
  f.Line("O1", 3, "A-100", Dec(1)).location = f.S("EMPTY");
  f.Line("O1", 4, "A-100", Dec(1)).location = f.S("P1");
  const WaveResult result = RunWave(f);
  auto l = Of(result.orders[0], "location.mismatch");
  std::vector<int> lines;
  for (auto& x : l) lines.push_back(x.line_no);
  EXPECT_EQ(lines, (std::vector<int>{1, 2, 3}));
}

class LotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    f.Item("MILK").lot_tracked = RFT_FLAG_YES;
    f.Unit("EA", "unit", Dec(1), Dec(1));
    f.Location("P1");
    f.Customer("C1").min_shelf_life_days = 5;
    f.Order("O1");
  }
  WaveFixture f;
};

TEST_F(LotTest, ExpiryOnShipDateIsExpiredDayAfterIsNot) {
  f.Lot("MILK", "ON", kShipDay);
  f.Lot("MILK", "AFTER", kShipDay + 10);
  f.Stock("MILK", "P1", Dec(10), Dec(0), "ON");
  f.Stock("MILK", "P1", Dec(10), Dec(0), "AFTER");
  f.Line("O1", 1, "MILK", Dec(1)).lot = f.S("ON");
  f.Line("O1", 2, "MILK", Dec(1)).lot = f.S("AFTER");
  WaveResult r = RunWave(f);
  auto e = Of(r.orders[0], "lot.expired");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].line_no, 1);
}

TEST_F(LotTest, ShelfLifeExactlyAtMinimumPasses) {
  f.Lot("MILK", "EXACT", kShipDay + 5);
  f.Lot("MILK", "SHORT", kShipDay + 4);
  f.Stock("MILK", "P1", Dec(10), Dec(0), "EXACT");
  f.Stock("MILK", "P1", Dec(10), Dec(0), "SHORT");
  f.Line("O1", 1, "MILK", Dec(1)).lot = f.S("EXACT");
  f.Line("O1", 2, "MILK", Dec(1)).lot = f.S("SHORT");
  const WaveResult result = RunWave(f);
  auto s = Of(result.orders[0], "lot.shelf_life");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].line_no, 2);
  EXPECT_NE(s[0].message.find("4 days"), std::string::npos);
}

TEST_F(LotTest, OnlyAvailableLotExpired) {
  f.Lot("MILK", "OLD", kShipDay - 1);
  f.Stock("MILK", "P1", Dec(10), Dec(0), "OLD");
  f.Line("O1", 1, "MILK", Dec(1));
  f.Order("O2");
  f.Line("O2", 1, "MILK", Dec(15));  // short even if the lot were good
  WaveResult r = RunWave(f);
  // The expired lot explains the shortage: one finding, the quantity that
  // could not be given in its details.
  const OrderResult& o1 = ByRef(r, "O1");
  auto e = Of(o1, "lot.expired");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(e[0].details_json)["unallocated"], "1");
  EXPECT_TRUE(Of(o1, "stock.short").empty());
  EXPECT_EQ(o1.verdict, Verdict::kHold);
  // 10 expired units would not cover 15: the shortage is real as well.
  const OrderResult& o2 = ByRef(r, "O2");
  auto e2 = Of(o2, "lot.expired");
  ASSERT_EQ(e2.size(), 1u);
  EXPECT_FALSE(
      nlohmann::json::parse(e2[0].details_json).contains("unallocated"));
  EXPECT_EQ(Of(o2, "stock.short").size(), 1u);
}

TEST_F(LotTest, UnknownAssignedLotIsOneFindingUnlessShortAnyway) {
  f.Lot("MILK", "GOOD", kShipDay + 30);
  f.Stock("MILK", "P1", Dec(10), Dec(0), "GOOD");
  f.Line("O1", 1, "MILK", Dec(3)).lot = f.S("GHOST");
  f.Order("O2");
  f.Line("O2", 1, "MILK", Dec(30)).lot = f.S("GHOST");
  WaveResult r = RunWave(f);
  const OrderResult& o1 = ByRef(r, "O1");
  auto m = Of(o1, "lot.missing");
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(m[0].details_json)["unallocated"], "3");
  EXPECT_TRUE(Of(o1, "stock.short").empty());
  EXPECT_EQ(o1.verdict, Verdict::kHold);
  // 30 wanted, 10 in good lots: short with any lot.
  const OrderResult& o2 = ByRef(r, "O2");
  EXPECT_EQ(Of(o2, "lot.missing").size(), 1u);
  EXPECT_EQ(Of(o2, "stock.short").size(), 1u);
}

TEST_F(LotTest, QuarantineAndFefo) {
  f.Lot("MILK", "Q", kShipDay + 30, RFT_LOT_QUARANTINE);
  f.Lot("MILK", "EARLY", kShipDay + 10);
  f.Lot("MILK", "LATE", kShipDay + 40);
  f.Stock("MILK", "P1", Dec(10), Dec(0), "Q");
  f.Stock("MILK", "P1", Dec(10), Dec(0), "EARLY");
  f.Stock("MILK", "P1", Dec(10), Dec(0), "LATE");
  f.Line("O1", 1, "MILK", Dec(1)).lot = f.S("Q");
  f.Line("O1", 2, "MILK", Dec(1)).lot = f.S("LATE");
  f.Line("O1", 3, "MILK", Dec(1)).lot = f.S("EARLY");
  WaveResult r = RunWave(f);
  auto q = Of(r.orders[0], "lot.quarantine");
  ASSERT_EQ(q.size(), 1u);
  EXPECT_EQ(q[0].line_no, 1);
  auto fefo = Of(r.orders[0], "lot.fefo");
  ASSERT_EQ(fefo.size(), 1u);
  EXPECT_EQ(fefo[0].line_no, 2);
  EXPECT_NE(fefo[0].message.find("EARLY"), std::string::npos);
}

TEST_F(LotTest, FreeStockTakenFirstExpiringFirst) {
  f.Lot("MILK", "EARLY", kShipDay + 10);
  f.Lot("MILK", "LATE", kShipDay + 40);
  f.Stock("MILK", "P1", Dec(10), Dec(0), "LATE");
  f.Stock("MILK", "P1", Dec(10), Dec(0), "EARLY");
  f.Line("O1", 1, "MILK", Dec(12));
  Engine engine(DefaultRuleset());
  Wave wave = f.Build();
  RunContext ctx = Ctx();
  ctx.record_allocations = true;
  WaveResult r = engine.Run(wave, ctx);
  ASSERT_EQ(r.orders[0].allocations.size(), 2u);
  EXPECT_EQ(r.orders[0].allocations[0].lot, "EARLY");
  EXPECT_EQ(r.orders[0].allocations[0].qty, "10");
  EXPECT_EQ(r.orders[0].allocations[1].lot, "LATE");
  EXPECT_EQ(r.orders[0].allocations[1].qty, "2");
}

TEST_F(LotTest, LotMissingForLotlessStockAndUnknownLot) {
  f.Stock("MILK", "P1", Dec(10));  // no lot for a lot-tracked item
  f.Line("O1", 1, "MILK", Dec(1));
  f.Line("O1", 2, "MILK", Dec(1)).lot = f.S("GHOST");
  const WaveResult result = RunWave(f);
  auto m = Of(result.orders[0], "lot.missing");
  std::vector<int> lines;
  for (auto& x : m) lines.push_back(x.line_no);
  EXPECT_EQ(lines, (std::vector<int>{1, 2}));
}

TEST(DateChecks, UtcShipDateIsJudgedInTheSiteZone) {
  // 2024-05-09T23:30Z is already 2024-05-10 in Berlin: the lot expiring on
  // 2024-05-10 is expired there, not in UTC.
  for (bool berlin : {false, true}) {
    WaveFixture f;
    f.Item("MILK").lot_tracked = RFT_FLAG_YES;
    f.Location("P1");
    f.Customer("C1");
    f.Lot("MILK", "L", kShipDay);
    f.Stock("MILK", "P1", Dec(10), Dec(0), "L");
    f.Order("O1").ship_date = Utc(kShipDay * kMicrosPerDay - 30 * 60'000'000LL);
    f.Line("O1", 1, "MILK", Dec(1)).lot = f.S("L");
    Ruleset rules = DefaultRuleset();
    if (berlin) rules.site_timezones["WH1"] = "Europe/Berlin";
    ComputeRevision(rules);
    const WaveResult result = RunWave(f, kAllCaps, rules);
    auto e = Of(result.orders[0], "lot.expired");
    EXPECT_EQ(e.size(), berlin ? 1u : 0u) << berlin;
  }
}

TEST(DuplicateChecks, RepeatedLineWaveDuplicateAndHistory) {
  WaveFixture f;
  f.Basics();
  f.Order("O1");
  f.Line("O1", 1, "A-100", Dec(2));
  f.Line("O1", 2, "A-100", Dec(3));
  f.Order("O2");
  f.Line("O2", 1, "A-100", Dec(2));
  f.Line("O2", 2, "A-100", Dec(3));
  f.Order("O3");
  f.Line("O3", 1, "A-100", Dec(7));
  f.History("PAST-9", "C1", "A-100", Dec(7),
            Utc((kShipDay - 1) * kMicrosPerDay - 3'600'000'000LL));
  WaveResult r = RunWave(f);
  auto o1 = Of(ByRef(r, "O1"), "order.duplicate");
  ASSERT_EQ(o1.size(), 1u);  // its repeated line
  EXPECT_EQ(o1[0].line_no, 2);
  auto o2 = Of(ByRef(r, "O2"), "order.duplicate");
  ASSERT_EQ(o2.size(), 2u);  // duplicate of O1, and its repeated line
  EXPECT_EQ(o2[0].line_no, 0);
  EXPECT_NE(o2[0].message.find("O1"), std::string::npos);
  auto o3 = Of(ByRef(r, "O3"), "order.duplicate");
  ASSERT_EQ(o3.size(), 1u);
  EXPECT_NE(o3[0].message.find("PAST-9"), std::string::npos);
}

TEST(AddressChecks, MissingInvalidAndNonAscii) {
  WaveFixture f;
  f.Basics();
  f.Order("OK").street = f.S("Müllerstraße 5");
  f.Order("NOPC").postcode = WaveFixture::Null();
  f.Order("BADPC").postcode = f.S("1234");
  f.Order("HK").country = f.S("HK");  // no postcodes in Hong Kong
  f.orders.back().postcode = WaveFixture::Null();
  f.Order("GB").country = f.S("United Kingdom");
  f.orders.back().postcode = f.S("ec1y 8sy");
  f.Order("BLANK").city = f.S("  ");
  f.Order("NOWHERE").country = f.S("Atlantis");
  WaveResult r = RunWave(f);
  EXPECT_TRUE(Of(ByRef(r, "OK"), "address.incomplete").empty());
  EXPECT_TRUE(Of(ByRef(r, "HK"), "address.incomplete").empty());
  EXPECT_TRUE(Of(ByRef(r, "GB"), "address.incomplete").empty());
  EXPECT_EQ(Of(ByRef(r, "NOPC"), "address.incomplete").size(), 1u);
  EXPECT_EQ(Of(ByRef(r, "BADPC"), "address.incomplete").size(), 1u);
  EXPECT_EQ(Of(ByRef(r, "BLANK"), "address.incomplete").size(), 1u);
  EXPECT_EQ(Of(ByRef(r, "NOWHERE"), "address.incomplete").size(), 1u);
}

TEST(CarrierChecks, HazmatWeightAndCutoff) {
  WaveFixture f;
  f.Basics();
  f.Item("ACID").hazmat_class = f.S("8");
  f.Stock("ACID", "P1", Dec(10));
  auto& c = f.Carrier("PARCEL");
  c.hazmat_allowed = RFT_FLAG_NO;
  c.max_parcel_weight_kg = Dec(30);
  c.cutoff_minute = 16 * 60;
  f.Order("HAZ").carrier_service = f.S("PARCEL");
  f.Line("HAZ", 1, "ACID", Dec(1));
  f.Order("HEAVY").carrier_service = f.S("PARCEL");
  f.Line("HEAVY", 1, "A-100", Dec(31));
  f.Order("EXACT").carrier_service = f.S("PARCEL");
  f.Line("EXACT", 1, "A-100", Dec(30));
  f.Order("LATE").carrier_service = f.S("PARCEL");
  f.orders.back().release_at =
      Utc(kShipDay * kMicrosPerDay + 16 * 3'600'000'000LL);
  f.Line("LATE", 1, "A-100", Dec(1));
  WaveResult r = RunWave(f);
  auto haz = Of(ByRef(r, "HAZ"), "carrier.constraint");
  ASSERT_EQ(haz.size(), 1u);
  EXPECT_EQ(haz[0].line_no, 1);
  EXPECT_EQ(Of(ByRef(r, "HEAVY"), "carrier.constraint").size(), 1u);
  EXPECT_TRUE(Of(ByRef(r, "EXACT"), "carrier.constraint").empty());
  EXPECT_EQ(Of(ByRef(r, "LATE"), "carrier.constraint").size(), 1u);
}

TEST(CustomerChecks, HoldAndUnknown) {
  WaveFixture f;
  f.Basics();
  auto& c = f.Customer("DEBT");
  c.credit_hold = RFT_FLAG_YES;
  c.hold_reason = f.S("invoice 77 overdue");
  f.Order("O1", "DEBT");
  f.Order("O2", "STRANGER");
  f.Order("O3", "C1");
  WaveResult r = RunWave(f);
  auto h = Of(ByRef(r, "O1"), "customer.hold");
  ASSERT_EQ(h.size(), 1u);
  EXPECT_NE(h[0].message.find("invoice 77 overdue"), std::string::npos);
  EXPECT_EQ(Of(ByRef(r, "O2"), "customer.hold").size(), 1u);
  EXPECT_TRUE(Of(ByRef(r, "O3"), "customer.hold").empty());
}

TEST(OutlierChecks, FarAboveHistory) {
  WaveFixture f;
  f.Basics();
  f.Stock("A-100", "P1", Dec(10000));
  for (int i = 0; i < 6; ++i) {
    f.History("H" + std::to_string(i), "C1", "A-100", Dec(10 + i),
              Utc((kShipDay - 30 - i) * kMicrosPerDay));
  }
  f.Order("O1");
  f.Line("O1", 1, "A-100", Dec(1200));
  f.Line("O1", 2, "A-100", Dec(15)).lot = f.S("X");
  f.lines.back().lot = WaveFixture::Null();
  WaveResult r = RunWave(f);
  auto o = Of(r.orders[0], "qty.outlier");
  ASSERT_EQ(o.size(), 1u);
  EXPECT_EQ(o[0].line_no, 1);
  EXPECT_EQ(o[0].severity, Severity::kWarn);
}

TEST(OutlierChecks, NotApplicableWhenHistoryWasNotLoaded) {
  // The adapter left the history out (or has none): the check that is on
  // says so and never passes silently.
  WaveFixture f;
  f.Basics();
  f.Stock("A-100", "P1", Dec(10000));
  for (int i = 0; i < 6; ++i) {
    f.History("H" + std::to_string(i), "C1", "A-100", Dec(10 + i),
              Utc((kShipDay - 30 - i) * kMicrosPerDay));
  }
  f.Order("O1");
  f.Line("O1", 1, "A-100", Dec(1200));
  WaveResult r = RunWave(f, kAllCaps & ~RFT_CAP_HISTORY);
  EXPECT_TRUE(Of(r.orders[0], "qty.outlier").empty());
  bool noted = false;
  for (const auto& n : r.notes) {
    noted |= n.check_id == "qty.outlier" &&
             n.message.find("not applicable") != std::string::npos;
  }
  EXPECT_TRUE(noted);
}

TEST(Ruleset, InputsNeededFollowTheChecksThatAreOn) {
  for (const auto& spec : CheckCatalogue()) {
    uint64_t reads = InputsReadBy(spec.id);
    EXPECT_NE(reads, ~uint64_t{0}) << spec.id << " has no entry";
    EXPECT_EQ(reads & spec.needs, spec.needs) << spec.id;
    EXPECT_NE(reads & RFT_CAP_ITEMS, 0u) << spec.id;
  }
  EXPECT_EQ(InputsReadBy("custom.anything"), ~uint64_t{0});

  Ruleset rules = DefaultRuleset();
  EXPECT_NE(rules.InputsNeeded() & RFT_CAP_HISTORY, 0u);
  rules.checks["qty.outlier"].severity = Severity::kOff;
  EXPECT_NE(rules.InputsNeeded() & RFT_CAP_HISTORY, 0u);  // order.duplicate
  rules.checks["order.duplicate"].severity = Severity::kOff;
  EXPECT_EQ(rules.InputsNeeded() & RFT_CAP_HISTORY, 0u);
  EXPECT_NE(rules.InputsNeeded() & RFT_CAP_STOCK, 0u);

  // Customers are read by customer.hold and by the allocation (shelf life).
  rules.checks["customer.hold"].severity = Severity::kOff;
  EXPECT_NE(rules.InputsNeeded() & RFT_CAP_CUSTOMERS, 0u);
  for (auto& [id, settings] : rules.checks) settings.severity = Severity::kOff;
  EXPECT_EQ(rules.InputsNeeded(), uint64_t{RFT_CAP_ITEMS | RFT_CAP_UNITS});
  rules.checks["lot.expired"].severity = Severity::kBlock;
  const uint64_t lots = rules.InputsNeeded();
  for (uint64_t cap :
       {RFT_CAP_STOCK, RFT_CAP_LOTS, RFT_CAP_LOCATIONS, RFT_CAP_RESERVATIONS,
        RFT_CAP_CUSTOMERS, RFT_CAP_ITEMS, RFT_CAP_UNITS}) {
    EXPECT_NE(lots & cap, 0u) << cap;
  }
  EXPECT_EQ(lots & (RFT_CAP_HISTORY | RFT_CAP_CARRIERS), 0u);
}

TEST(Ruleset, SeverityOffAndRevision) {
  WaveFixture f;
  f.Basics();
  f.Order("O1");
  f.Line("O1", 1, "NOPE", Dec(1));
  Ruleset rules = DefaultRuleset();
  std::string before = rules.revision;
  rules.checks["item.unknown"].severity = Severity::kWarn;
  ComputeRevision(rules);
  EXPECT_NE(rules.revision, before);
  EXPECT_EQ(rules.revision.size(), 16u);
  EXPECT_EQ(RunWave(f, kAllCaps, rules).orders[0].verdict, Verdict::kWarn);
  rules.checks["item.unknown"].severity = Severity::kOff;
  EXPECT_TRUE(
      Of(RunWave(f, kAllCaps, rules).orders[0], "item.unknown").empty());
  EXPECT_EQ(DefaultRuleset().revision, before);
}

TEST(Catalogue, EveryDesignIdWithParams) {
  for (const char* id :
       {"item.unknown", "item.inactive", "qty.invalid", "uom.mismatch",
        "stock.short", "location.mismatch", "lot.missing", "lot.expired",
        "lot.shelf_life", "lot.fefo", "lot.quarantine", "order.duplicate",
        "address.incomplete", "carrier.constraint", "customer.hold",
        "qty.outlier"}) {
    EXPECT_NE(FindCheck(id), nullptr) << id;
  }
  EXPECT_EQ(FindCheck("nope"), nullptr);
  Ruleset r = DefaultRuleset();
  EXPECT_EQ(r.Int("order.duplicate", "window_hours"), 24);
  EXPECT_EQ(r.StringList("address.incomplete", "required_fields").size(), 4u);
  EXPECT_THROW(r.Int("order.duplicate", "nope"), std::logic_error);
}

}  // namespace
}  // namespace rftgate::testing
