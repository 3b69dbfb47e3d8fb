// The engine's data layout and fast paths give what the plain ones gave:
// decimal text, findings' JSON, the serving sequence, per-customer history.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "plugin/engine/decimal.h"
#include "plugin/engine/engine.h"
#include "plugin/engine/ruleset.h"
#include "plugin/engine/wave_data.h"
#include "tests/engine/wave_fixture.h"

namespace rftgate::testing {
namespace {

WaveResult RunWave(WaveFixture& f) {
  Engine engine(DefaultRuleset());
  Wave wave = f.Build();
  return engine.Run(wave, Ctx());
}

TEST(LowerBound, MatchesStdLowerBound) {
  auto id = [](int v) { return v; };
  const std::vector<int> empty;
  EXPECT_EQ(LowerBound(empty.data(), 0, 3, id), empty.data());
  for (size_t n = 1; n <= 9; ++n) {
    std::vector<int> v;
    for (size_t i = 0; i < n; ++i) v.push_back(static_cast<int>(i / 2) * 2);
    for (int x = -1; x <= static_cast<int>(n) + 1; ++x) {
      EXPECT_EQ(
          LowerBound(v.data(), v.size(), x, id),
          v.data() + (std::lower_bound(v.begin(), v.end(), x) - v.begin()))
          << n << " " << x;
    }
  }
}

TEST(DecimalText, EdgesOfNanoAndScale) {
  EXPECT_EQ(FormatNano(0), "0");
  EXPECT_EQ(FormatNano(5), "0.000000005");
  EXPECT_EQ(FormatNano(12'000'000'000), "12");
  EXPECT_EQ(FormatNano(-500'000'000), "-0.5");
  EXPECT_EQ(FormatNano(INT64_MAX), "9223372036.854775807");
  EXPECT_EQ(FormatNano(INT64_MIN), "-9223372036.854775808");
  EXPECT_EQ(FormatDecimal(rft_decimal{1, 18, 0}), "0.000000000000000001");
  EXPECT_EQ(FormatDecimal(rft_decimal{-120, 2, 0}), "-1.2");
  EXPECT_EQ(FormatDecimal(rft_decimal{7, 0, 0}), "7");
  EXPECT_EQ(FormatDecimal(rft_decimal{1000, 3, 0}), "1");
}

TEST(FindingDetails, EscapedLikeNlohmannJson) {
  const std::vector<std::string> skus = {"PLAIN-1",
                                         "Q\"uote",
                                         "back\\slash",
                                         "tab\there",
                                         std::string("ctl\x01", 4),
                                         "Größe",
                                         std::string("bad\xff\xfe utf8", 11),
                                         "del\x7f"};
  WaveFixture f;
  f.Basics();
  for (size_t i = 0; i < skus.size(); ++i) {
    const std::string ref = "O" + std::to_string(i);
    f.Order(ref);
    f.Line(ref, 1, skus[i], Dec(1));
  }
  WaveResult r = RunWave(f);
  for (size_t i = 0; i < skus.size(); ++i) {
    auto u = Of(ByRef(r, "O" + std::to_string(i)), "item.unknown");
    ASSERT_EQ(u.size(), 1u) << i;
    nlohmann::json expected = {{"observed", skus[i]},
                               {"expected", "a SKU of the item master"}};
    EXPECT_EQ(
        u[0].details_json,
        expected.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace))
        << i;
  }
}

TEST(ServingSequence, PriorityDayThenWholeRef) {
  WaveFixture f;
  f.Basics();
  // The first 16 bytes of these refs are the same.
  f.Order("WAREHOUSE/OUTGOING/0010");
  f.Order("WAREHOUSE/OUTGOING/0002");
  f.Order("WAREHOUSE/OUTGOING/0001");
  f.Order("WAREHOUSE/OUTGOING/0001-B");
  f.Order("A").ship_date = NoTime();
  f.Order("B").priority = 5;
  f.Order("N").priority = -1;
  f.Order("Z").ship_date = Day(kShipDay + 1);
  for (const auto& o : f.orders) {
    f.Line(std::string(o.ref.data, o.ref.len), 1, "A-100", Dec(1));
  }
  WaveResult r = RunWave(f);
  std::vector<std::string> refs;
  for (const auto& o : r.orders) refs.emplace_back(o.ref);
  EXPECT_EQ(refs, (std::vector<std::string>{
                      "B", "WAREHOUSE/OUTGOING/0001",
                      "WAREHOUSE/OUTGOING/0001-B", "WAREHOUSE/OUTGOING/0002",
                      "WAREHOUSE/OUTGOING/0010", "Z", "A", "N"}));
}

TEST(OutlierChecks, HistoryIsPerCustomerAndSku) {
  WaveFixture f;
  f.Basics();
  f.Item("B-200");
  f.Stock("A-100", "P1", Dec(100000));
  f.Stock("B-200", "P1", Dec(100000));
  for (int i = 0; i < 6; ++i) {
    const rft_time at = Utc((kShipDay - 30 - i) * kMicrosPerDay);
    f.History("H1-" + std::to_string(i), "C1", "A-100", Dec(10 + i), at);
    f.History("H1B-" + std::to_string(i), "C1", "B-200", Dec(3000 + i), at);
    f.History("H2-" + std::to_string(i), "C2", "A-100", Dec(2000 + i), at);
  }
  f.Order("O1", "C1");
  f.Line("O1", 1, "A-100", Dec(1200));  // far above C1's A-100 history
  f.Line("O1", 2, "B-200", Dec(1200));  // within C1's B-200 history
  f.Order("O2", "C2");                  // C2 is not in the customer master
  f.Line("O2", 1, "A-100", Dec(1200));  // within C2's history
  f.Line("O2", 2, "B-200", Dec(1200));  // C2 has no B-200 history
  f.Order("O3", "C3");
  f.Line("O3", 1, "A-100", Dec(1200));  // C3 has no history
  WaveResult r = RunWave(f);
  auto o1 = Of(ByRef(r, "O1"), "qty.outlier");
  ASSERT_EQ(o1.size(), 1u);
  EXPECT_EQ(o1[0].line_no, 1);
  EXPECT_TRUE(Of(ByRef(r, "O2"), "qty.outlier").empty());
  EXPECT_TRUE(Of(ByRef(r, "O3"), "qty.outlier").empty());
}

TEST(DuplicateChecks, PastOrdersBySignatureMatchEqualRange) {
  for (int orders : {0, 1, 2, 7, 300}) {
    WaveFixture f;
    f.Basics();
    const rft_time at = Utc((kShipDay - 1) * kMicrosPerDay);
    for (int i = 0; i < orders; ++i) {
      // Every third past order repeats the one before it: equal keys.
      const int lines = i % 3 == 2 ? i - 1 : i;
      const std::string ref = "H-" + std::to_string(i);
      const std::string customer = "C" + std::to_string(lines % 5);
      f.History(ref, customer, "A-100", Dec(1 + lines), at);
      if (lines % 2 == 0) f.History(ref, customer, "B-200", Dec(2), at);
    }
    Wave wave = f.Build();
    const WaveData& w = wave.data();
    const auto& all = w.history_by_signature;
    ASSERT_TRUE(std::is_sorted(all.begin(), all.end()));
    std::vector<uint64_t> keys;
    for (const auto& e : all) keys.push_back(e.first);
    for (uint64_t k :
         {uint64_t{0}, uint64_t{1}, UINT64_MAX, uint64_t{0x8000000000000000}}) {
      keys.push_back(k);
    }
    for (size_t i = 0; i + 1 < all.size(); ++i) {
      keys.push_back(all[i].first + 1);  // between two keys, or equal to one
    }
    for (uint64_t key : keys) {
      // The plain way: every entry with the key, in a scan of them all.
      size_t first = all.size(), count = 0;
      for (size_t i = 0; i < all.size(); ++i) {
        if (all[i].first != key) continue;
        if (count++ == 0) first = i;
      }
      const auto found = w.HistoryBySignature(key);
      ASSERT_EQ(found.size(), count) << orders << " " << key;
      if (count > 0) {
        EXPECT_EQ(found.data(), all.data() + first) << orders << " " << key;
      }
    }
  }
}

TEST(AddressChecks, SamePostcodeTextJudgedPerCountry) {
  WaveFixture f;
  f.Basics();
  f.Order("DE1");  // 10115 in DE
  f.Order("NL1").country = f.S("NL");
  f.Order("DE2");
  f.Order("NL2").country = f.S("NL");
  f.orders.back().postcode = f.S("1011 AB");
  f.Order("DE3").postcode = f.S("1011 AB");
  for (const auto& o : f.orders) {
    f.Line(std::string(o.ref.data, o.ref.len), 1, "A-100", Dec(1));
  }
  WaveResult r = RunWave(f);
  EXPECT_TRUE(Of(ByRef(r, "DE1"), "address.incomplete").empty());
  EXPECT_TRUE(Of(ByRef(r, "DE2"), "address.incomplete").empty());
  EXPECT_EQ(Of(ByRef(r, "NL1"), "address.incomplete").size(), 1u);
  EXPECT_TRUE(Of(ByRef(r, "NL2"), "address.incomplete").empty());
  EXPECT_EQ(Of(ByRef(r, "DE3"), "address.incomplete").size(), 1u);
}

}  // namespace
}  // namespace rftgate::testing
