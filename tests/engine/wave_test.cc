#include "plugin/engine/wave.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "plugin/engine/wave_data.h"
#include "tests/engine/wave_fixture.h"

namespace rftgate::testing {
namespace {

// Strings of up to 11 bytes are their own key in the pool's index: every
// byte of them must count, zeros and the bytes that two reads share too.
TEST(StringPool, EqualStringsShareAnIdAndNoOthersDo) {
  StringPool pool;
  std::vector<std::string> strings;
  uint64_t x = 12345;
  auto next = [&] {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    return x >> 33;
  };
  for (size_t len = 0; len <= 20; ++len) {
    // Each length: strings that differ from a base in one byte only, at
    // each position, by a byte that may be zero.
    std::string base(len, 'a');
    for (auto& c : base) c = static_cast<char>('a' + next() % 3);
    strings.push_back(base);
    for (size_t at = 0; at < len; ++at) {
      for (char c : {'\0', '\x01', '\xff', 'z'}) {
        std::string s = base;
        if (s[at] == c) continue;
        s[at] = c;
        strings.push_back(s);
      }
    }
  }
  // A string and the same with a zero byte appended are not equal.
  strings.push_back(std::string("ab"));
  strings.push_back(std::string("ab\0", 3));
  // Enough strings that the index grows several times.
  for (int i = 0; i < 5000; ++i) strings.push_back("S-" + std::to_string(i));
  std::sort(strings.begin(), strings.end());
  strings.erase(std::unique(strings.begin(), strings.end()), strings.end());

  std::vector<uint32_t> ids;
  for (const auto& s : strings) ids.push_back(pool.Intern(s));
  ASSERT_EQ(pool.size(), strings.size());
  for (size_t i = 0; i < strings.size(); ++i) {
    EXPECT_EQ(ids[i], i) << "'" << strings[i] << "' was taken for another";
    EXPECT_EQ(pool.Get(ids[i]), strings[i]);
    EXPECT_EQ(pool.Intern(strings[i]), ids[i]);
    EXPECT_EQ(pool.Find(strings[i]), ids[i]);
  }
  EXPECT_EQ(pool.Find("never interned"), kNone);
  EXPECT_EQ(pool.Find(std::string("S-1\0", 4)), kNone);
  // Add()ed strings keep ids of their own and stay out of the index.
  const uint32_t added = pool.Add(rft_str{"S-1", 3});
  EXPECT_NE(added, pool.Find("S-1"));
  EXPECT_EQ(pool.Get(added), "S-1");
}

TEST(WaveBuilder, RejectsUnknownKindAndSmallStructs) {
  WaveBuilder b;
  std::string error;
  rft_order o{};
  o.struct_size = 8;
  EXPECT_EQ(b.Put(99, &o, 1, &error), RFT_ERR_INVALID_ARGUMENT);
  EXPECT_NE(error.find("unknown record kind 99"), std::string::npos);
  EXPECT_EQ(b.Put(RFT_REC_ORDER, &o, 1, &error), RFT_ERR_INVALID_ARGUMENT);
  EXPECT_NE(error.find("struct_size 8"), std::string::npos) << error;
}

TEST(WaveBuilder, NamesKindIndexAndField) {
  WaveFixture f;
  f.Order("O1");
  f.Order("O2").ref = WaveFixture::Null();
  WaveBuilder b;
  std::string error;
  EXPECT_EQ(b.Put(RFT_REC_ORDER, f.orders.data(), 2, &error),
            RFT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(error, "order record 1: field 'ref' is missing");
  f.Line("O1", 1, "A", rft_decimal{1, 19, 0});
  EXPECT_EQ(b.Put(RFT_REC_LINE, f.lines.data(), 1, &error),
            RFT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(error, "line record 0: field 'qty' has scale 19 (must be 0 to 18)");
}

TEST(WaveBuilder, RejectsDuplicateRefs) {
  WaveFixture f;
  f.Order("O1");
  f.Order("O1");
  WaveBuilder b;
  std::string error;
  EXPECT_EQ(b.Put(RFT_REC_ORDER, f.orders.data(), 2, &error),
            RFT_ERR_INVALID_ARGUMENT);
  EXPECT_NE(error.find("delivered twice"), std::string::npos);
}

TEST(WaveBuilder, WalksByStructSizeOfNewerAdapters) {
  // A newer adapter appends fields: records are 16 bytes longer.
  struct Bigger {
    rft_order_line line;
    char extra[16];
  };
  WaveFixture f;
  f.Order("O1");
  std::vector<Bigger> lines(2);
  for (int i = 0; i < 2; ++i) {
    std::memset(&lines[i], 0x5a, sizeof(Bigger));
    lines[i].line = f.Line("O1", i + 1, "A-100", Dec(i + 1));
    lines[i].line.struct_size = sizeof(Bigger);
  }
  WaveBuilder b;
  std::string error;
  ASSERT_EQ(b.Put(RFT_REC_ORDER, f.orders.data(), 1, &error), RFT_OK);
  ASSERT_EQ(b.Put(RFT_REC_LINE, lines.data(), 2, &error), RFT_OK) << error;
  Wave w = b.Finish();
  ASSERT_EQ(w.line_count(), 2u);
  EXPECT_EQ(w.data().lines[1].qty, 2 * kNanoPerUnit);
}

TEST(WaveBuilder, OrphanLinesBecomeNotesAndStockRowsAddUp) {
  WaveFixture f;
  f.Basics();
  f.Stock("A-100", "P1", Dec(5));  // same key: adds up to 105
  f.Line("GHOST", 1, "A-100", Dec(1));
  Wave w = f.Build();
  EXPECT_EQ(w.line_count(), 0u);
  ASSERT_EQ(w.data().notes.size(), 1u);
  ASSERT_EQ(w.data().slots.size(), 1u);
  EXPECT_EQ(w.data().slots[0].on_hand, 105 * kNanoPerUnit);
}

}  // namespace
}  // namespace rftgate::testing
