#include "plugin/engine/wave.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "plugin/engine/wave_data.h"
#include "tests/engine/wave_fixture.h"

namespace rftgate::testing {
namespace {

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
