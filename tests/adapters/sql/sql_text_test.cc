// Unit tests of the SQL text helpers shared by the adapters.
#include "adapters/common/sql_text.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "adapters/common/string_set.h"
#include "rftgate/adapter.hpp"
#include "tests/support/adapter_harness.h"

namespace rftgate::adapters {
namespace {

using testing::DecimalText;

std::string Dec(const char* text) {
  auto d = ParseDecimal(text);
  return d ? DecimalText(*d) : "invalid";
}

TEST(ParseDecimalTest, IsExact) {
  EXPECT_EQ(Dec("0.1"), "0.1");
  EXPECT_EQ(Dec("2.500"), "2.5");
  EXPECT_EQ(Dec("-3"), "-3");
  EXPECT_EQ(Dec("1000.5"), "1000.5");
  EXPECT_EQ(Dec("0.083333"), "0.083333");
  EXPECT_EQ(Dec("1e-3"), "0.001");
  EXPECT_EQ(Dec("1.5E2"), "150");
  EXPECT_EQ(Dec("0"), "0");
  EXPECT_EQ(Dec("-0.000"), "0");
  EXPECT_EQ(Dec(" 12 "), "12");
  // Digits beyond 18 significant ones are rounded half away from zero,
  // never read through binary floating point.
  EXPECT_EQ(Dec("0.30000000000000004"), "0.30000000000000004");
  EXPECT_EQ(Dec("0.10000000000000000555"), "0.100000000000000006");
  EXPECT_EQ(Dec("1.0000000000000000000001"), "1");
  EXPECT_EQ(Dec("123456789012345678901"), "invalid");
  for (const char* bad : {"", "abc", "1.2.3", "NaN", "inf", "1e", "--1"}) {
    EXPECT_EQ(Dec(bad), "invalid") << bad;
  }
}

TEST(ParseTimeTest, DatesAndTimestamps) {
  auto d = ParseTime("2024-03-01", TimestampMode::kLocal);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->kind, RFT_TIME_DATE);
  EXPECT_EQ(d->value, DaysFromCivil(2024, 3, 1));
  EXPECT_EQ(FormatDate(d->value), "2024-03-01");

  auto t = ParseTime("2024-03-01 10:15:30.25", TimestampMode::kLocal);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->kind, RFT_TIME_LOCAL);
  EXPECT_EQ(t->value,
            (DaysFromCivil(2024, 3, 1) * 86400 + 36930) * 1000000 + 250000);
  auto u = ParseTime("2024-03-01T10:15:30+02", TimestampMode::kLocal);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->kind, RFT_TIME_UTC);
  EXPECT_EQ(u->value, (DaysFromCivil(2024, 3, 1) * 86400 + 29730) * 1000000);
  auto z = ParseTime("2024-03-01 10:15:30Z", TimestampMode::kLocal);
  ASSERT_TRUE(z);
  EXPECT_EQ(z->kind, RFT_TIME_UTC);
  EXPECT_EQ(ParseTime("2024-03-01 10:15", TimestampMode::kUtc)->kind,
            RFT_TIME_UTC);
  EXPECT_FALSE(ParseTime("01/03/2024", TimestampMode::kLocal));
  EXPECT_FALSE(ParseTime("2024-13-01", TimestampMode::kLocal));
}

TEST(ParseMinuteOfDayTest, Forms) {
  EXPECT_EQ(*ParseMinuteOfDay("16:30"), 990);
  EXPECT_EQ(*ParseMinuteOfDay("07:05:00"), 425);
  EXPECT_EQ(*ParseMinuteOfDay("600"), 600);
  EXPECT_FALSE(ParseMinuteOfDay("25:00"));
  EXPECT_FALSE(ParseMinuteOfDay("noon"));
}

TEST(ParseFlagTest, Forms) {
  EXPECT_EQ(ParseFlag("1"), RFT_FLAG_YES);
  EXPECT_EQ(ParseFlag("t"), RFT_FLAG_YES);
  EXPECT_EQ(ParseFlag("TRUE"), RFT_FLAG_YES);
  EXPECT_EQ(ParseFlag("0"), RFT_FLAG_NO);
  EXPECT_EQ(ParseFlag("false"), RFT_FLAG_NO);
  EXPECT_EQ(ParseFlag("maybe"), RFT_FLAG_UNKNOWN);
}

TEST(IdentifierTest, ValidatesAndQuotes) {
  EXPECT_TRUE(IsPlainIdentifier("stock_move"));
  EXPECT_TRUE(IsPlainIdentifier("_x1"));
  EXPECT_FALSE(IsPlainIdentifier("1x"));
  EXPECT_FALSE(IsPlainIdentifier("a b"));
  EXPECT_FALSE(IsPlainIdentifier("a\"b"));
  EXPECT_FALSE(IsPlainIdentifier(std::string(64, 'a')));
  EXPECT_TRUE(IsQualifiedIdentifier("wms.orders"));
  EXPECT_FALSE(IsQualifiedIdentifier("a.b.c"));
  EXPECT_EQ(QuoteIdentifier(Dialect::kPostgres, "wms.orders", "t"),
            "\"wms\".\"orders\"");
  EXPECT_EQ(QuoteIdentifier(Dialect::kMysql, "orders", "t"), "`orders`");
  try {
    QuoteIdentifier(Dialect::kSqlite, "x; DROP TABLE y",
                    "sources.orders.table");
    FAIL();
  } catch (const adapter::Error& e) {
    EXPECT_EQ(e.status(), RFT_ERR_CONFIG);
    EXPECT_NE(std::string(e.what()).find("sources.orders.table"),
              std::string::npos);
  }
}

TEST(MaskSecretsTest, HidesPasswords) {
  EXPECT_EQ(MaskSecrets("dbname=wms user=u password=s3cret host=/run"),
            "dbname=wms user=u password=*** host=/run");
  EXPECT_EQ(MaskSecrets("db=x PASSWORD='a b' port=1"),
            "db=x PASSWORD=*** port=1");
  EXPECT_EQ(MaskSecrets("postgresql://u:s3cret@host/db"),
            "postgresql://u:***@host/db");
  EXPECT_EQ(MaskSecrets("no secrets here"), "no secrets here");
}

TEST(RewritePlaceholdersTest, OnlyPlaceholdersOutsideQuotes) {
  auto shift = [](size_t n) { return ":p" + std::to_string(n + 10); };
  EXPECT_EQ(RewritePlaceholders(
                "SELECT a FROM t WHERE b = :p0 AND c IN (:p1, :p12)", shift),
            "SELECT a FROM t WHERE b = :p10 AND c IN (:p11, :p22)");
  EXPECT_EQ(
      RewritePlaceholders("SELECT ':p0', \"x:p1\" FROM t WHERE y = :p2", shift),
      "SELECT ':p0', \"x:p1\" FROM t WHERE y = :p12");
  EXPECT_EQ(RewritePlaceholders("SELECT :pa, :p, x::text FROM t :p3",
                                [](size_t) { return std::string("?"); }),
            "SELECT :pa, :p, x::text FROM t ?");
}

TEST(StringSetTest, KeepsEachStringOnceInTheOrderFirstAdded) {
  StringSet set;
  EXPECT_TRUE(set.empty());
  EXPECT_FALSE(set.contains("A"));
  std::vector<std::string> added;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 3000; ++i) {
      const std::string s = "SKU-" + std::to_string(i);
      EXPECT_EQ(set.insert(s), round == 0) << s;
      if (round == 0) added.push_back(s);
    }
  }
  EXPECT_TRUE(set.insert(""));
  EXPECT_FALSE(set.insert(""));
  added.push_back("");
  EXPECT_TRUE(set.insert(std::string("A\0B", 3)));
  EXPECT_FALSE(set.contains("A"));
  added.push_back(std::string("A\0B", 3));
  ASSERT_EQ(set.size(), added.size());
  EXPECT_TRUE(std::equal(set.begin(), set.end(), added.begin()));
  EXPECT_TRUE(set.contains("SKU-2999"));
  EXPECT_EQ(set.count("SKU-3000"), 0u);

  StringSet odd;
  for (int i = 1; i < 3000; i += 2) odd.insert("SKU-" + std::to_string(i));
  set.erase_if([&](std::string_view s) { return odd.contains(s); });
  EXPECT_EQ(set.size(), added.size() - odd.size());
  EXPECT_FALSE(set.contains("SKU-1"));
  EXPECT_TRUE(set.contains("SKU-2"));
  EXPECT_EQ(*set.begin(), "SKU-0");
  StringSet all;
  all.insert_all(set);
  all.insert_all(odd);
  EXPECT_EQ(all.size(), added.size());
}

}  // namespace
}  // namespace rftgate::adapters
