#include "plugin/core/ref_list.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <set>
#include <string>
#include <vector>

namespace rftgate {
namespace {

TEST(RefList, KeepsEachRefInOrderAndKnowsWhichAreIn) {
  RefList list;
  std::vector<std::string> refs;
  std::set<std::string> in;
  for (int i = 0; i < 5000; ++i) {
    // Refs of every length, some empty-ish, some sharing a prefix.
    std::string ref = "SO-" + std::to_string(i * 7919 % 100003);
    if (i % 97 == 0) ref = std::string(static_cast<size_t>(i % 300), 'x');
    if (!in.insert(ref).second) continue;
    refs.push_back(ref);
    list.Add(ref);
  }
  list.Seal();
  ASSERT_EQ(list.size(), refs.size());
  for (size_t i = 0; i < refs.size(); ++i) {
    EXPECT_EQ(list[i], refs[i]) << i;
    EXPECT_TRUE(list.Contains(refs[i])) << refs[i];
  }
  for (int i = 0; i < 20000; ++i) {
    const std::string other = "SO-" + std::to_string(100003 + i);
    EXPECT_FALSE(list.Contains(other)) << other;
  }
  EXPECT_FALSE(list.Contains("SO-"));
  EXPECT_FALSE(list.Contains(std::string(301, 'x')));
  // Not a prefix nor an extension of a ref.
  EXPECT_FALSE(list.Contains(refs[1].substr(0, refs[1].size() - 1)));
  EXPECT_FALSE(list.Contains(refs[1] + "/"));
}

TEST(RefList, EmptyRefsAndAnEmptyList) {
  RefList none;
  none.Seal();
  EXPECT_TRUE(none.empty());
  EXPECT_FALSE(none.Contains(""));
  EXPECT_FALSE(none.Contains("SO-1"));

  RefList list;
  list.Add("A");
  list.Add("");
  list.Add("B");
  list.Seal();
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0], "A");
  EXPECT_EQ(list[1], "");
  EXPECT_EQ(list[2], "B");
  EXPECT_TRUE(list.Contains(""));
  EXPECT_TRUE(list.Contains("B"));
  EXPECT_FALSE(list.Contains("AB"));
}

TEST(RefList, TakesLessThanStringsAndAHashSet) {
  RefList list;
  const size_t n = 100000;
  list.Reserve(n, n * 10);  // as a listed wave is
  for (size_t i = 0; i < n; ++i) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "SO-%07zu", i);
    list.Add(buf);
  }
  list.Seal();
  // Ten characters, an end and at most two table entries per ref.
  EXPECT_LE(list.memory_bytes(), n * (10 + sizeof(size_t) + 2 * 4) * 5 / 4);
  EXPECT_TRUE(list.Contains("SO-0099999"));
  EXPECT_FALSE(list.Contains("SO-0100000"));
}

}  // namespace
}  // namespace rftgate
