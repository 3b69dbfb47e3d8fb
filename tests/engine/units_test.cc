#include <gtest/gtest.h>

#include <string>

#include "plugin/engine/decimal.h"
#include "plugin/engine/postcodes.h"
#include "rftgate/adapter_abi.h"

namespace rftgate {
namespace {

rft_decimal D(int64_t m, int32_t s) { return rft_decimal{m, s, 0}; }

TEST(Decimal, ExactNanoUnits) {
  Nano n = 0;
  EXPECT_EQ(DecimalToNano(D(3, 1), &n), DecimalState::kOk);
  EXPECT_EQ(n, 300'000'000);
  EXPECT_EQ(FormatNano(n), "0.3");
  EXPECT_EQ(DecimalToNano(D(1, 12), &n), DecimalState::kTooPrecise);
  EXPECT_EQ(DecimalToNano(D(1000, 12), &n), DecimalState::kOk);
  EXPECT_EQ(DecimalToNano(rft_decimal{0, 0, 1}, &n), DecimalState::kNull);
  EXPECT_EQ(DecimalToNano(D(INT64_MAX, 0), &n), DecimalState::kOutOfRange);
  EXPECT_EQ(FormatNano(-1'250'000'000), "-1.25");
}

TEST(Ratio, FactorsWmssUse) {
  Ratio cs = RatioFromFactor(D(12, 0), RFT_FACTOR_MULTIPLY);
  EXPECT_EQ(cs.num, 12);
  EXPECT_EQ(cs.den, 1);
  Ratio g = RatioFromFactor(D(1, 3), RFT_FACTOR_MULTIPLY);
  EXPECT_EQ(g.num, 1);
  EXPECT_EQ(g.den, 1000);
  // Odoo's dozen, a rounded reciprocal, is recognised as 12.
  for (auto f : {D(83333, 6), D(8333333, 8), D(83, 3)}) {
    Ratio dz = RatioFromFactor(f, RFT_FACTOR_DIVIDE);
    EXPECT_EQ(dz.num, 12) << f.mantissa;
    EXPECT_EQ(dz.den, 1);
  }
  Ratio half = RatioFromFactor(D(5, 1), RFT_FACTOR_DIVIDE);  // 1 ref = 0.5 u
  EXPECT_EQ(half.num, 2);
  Nano out = 0;
  EXPECT_TRUE(ApplyRatio(300'000'000, g, &out));  // 0.3 g
  EXPECT_EQ(out, 300'000);
  Ratio third = MakeRatio(1, 3);
  EXPECT_FALSE(ApplyRatio(1'000'000'000, third, &out));
  EXPECT_TRUE(ApplyRatio(3'000'000'000, third, &out));
  EXPECT_EQ(out, 1'000'000'000);
}

TEST(Postcodes, EveryExampleOfTheDataSetMatches) {
  size_t checked = 0;
  for (size_t i = 0; i < PostcodeFormats().size(); ++i) {
    std::string ex = PostcodeFormats()[i].examples;
    size_t start = 0;
    while (!ex.empty() && start <= ex.size()) {
      size_t comma = ex.find(',', start);
      std::string one = ex.substr(start, comma - start);
      if (!one.empty()) {
        for (char& c : one) c = static_cast<char>(std::toupper(c));
        EXPECT_TRUE(PostcodeMatches(static_cast<int>(i), one))
            << PostcodeFormats()[i].key << " " << one;
        ++checked;
      }
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  EXPECT_GT(checked, 150u);
  int de = FindCountry("de");
  ASSERT_GE(de, 0);
  EXPECT_FALSE(PostcodeMatches(de, "1234"));
  EXPECT_EQ(FindCountry(" Germany "), de);
  EXPECT_EQ(FindCountry("Atlantis"), -1);
}

}  // namespace
}  // namespace rftgate
