// A set of strings for the values a load collects row by row (the SKUs,
// locations and customers its later queries filter by): the characters live
// in a few large blocks and an open-addressing index finds them, so a value
// already in the set (most of them: an SKU is on many lines) costs a hash
// and one probe, and no allocation. Iterates in the order of insertion.
#ifndef RFTGATE_ADAPTERS_COMMON_STRING_SET_H_
#define RFTGATE_ADAPTERS_COMMON_STRING_SET_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

namespace rftgate::adapters {

class StringSet {
 public:
  using const_iterator = std::vector<std::string_view>::const_iterator;

  // True when `s` was not in the set (and now is).
  bool insert(std::string_view s) {
    if ((views_.size() + 1) * 2 > slots_.size()) Grow();
    const uint64_t h = Hash(s);
    const size_t mask = slots_.size() - 1;
    size_t i = static_cast<size_t>(h) & mask;
    for (; slots_[i] != 0; i = (i + 1) & mask) {
      const uint32_t at = slots_[i] - 1;
      if (hashes_[at] == h && views_[at] == s) return false;
    }
    // Kept first, then findable: an allocation that fails leaves the set
    // as it was.
    views_.push_back(Keep(s));
    try {
      hashes_.push_back(h);
    } catch (...) {
      views_.pop_back();
      throw;
    }
    slots_[i] = static_cast<uint32_t>(views_.size());
    return true;
  }
  bool contains(std::string_view s) const {
    if (slots_.empty()) return false;
    const uint64_t h = Hash(s);
    const size_t mask = slots_.size() - 1;
    for (size_t i = static_cast<size_t>(h) & mask; slots_[i] != 0;
         i = (i + 1) & mask) {
      const uint32_t at = slots_[i] - 1;
      if (hashes_[at] == h && views_[at] == s) return true;
    }
    return false;
  }
  size_t count(std::string_view s) const { return contains(s) ? 1 : 0; }
  size_t size() const { return views_.size(); }
  bool empty() const { return views_.empty(); }
  const_iterator begin() const { return views_.begin(); }
  const_iterator end() const { return views_.end(); }
  // Adds every string of `other`.
  void insert_all(const StringSet& other) {
    for (std::string_view s : other) insert(s);
  }
  // Removes the strings `drop` returns true for.
  template <typename Pred>
  void erase_if(Pred drop) {
    StringSet kept;
    for (std::string_view s : views_) {
      if (!drop(s)) kept.insert(s);
    }
    *this = std::move(kept);
  }

 private:
  static constexpr size_t kBlockChars = 64 * 1024;
  static uint64_t Hash(std::string_view s) {
    return std::hash<std::string_view>()(s);
  }
  std::string_view Keep(std::string_view s) {
    if (s.empty()) return std::string_view();
    if (s.size() > left_) {
      const size_t cap = std::max(kBlockChars, s.size());
      blocks_.push_back(std::make_unique<char[]>(cap));
      free_ = blocks_.back().get();
      left_ = cap;
    }
    std::memcpy(free_, s.data(), s.size());
    std::string_view kept(free_, s.size());
    free_ += s.size();
    left_ -= s.size();
    return kept;
  }
  void Grow() {
    slots_.assign(std::max<size_t>(slots_.size() * 2, 64), 0);
    const size_t mask = slots_.size() - 1;
    for (size_t at = 0; at < views_.size(); ++at) {
      size_t i = static_cast<size_t>(hashes_[at]) & mask;
      while (slots_[i] != 0) i = (i + 1) & mask;
      slots_[i] = static_cast<uint32_t>(at + 1);
    }
  }

  std::vector<std::unique_ptr<char[]>> blocks_;
  char* free_ = nullptr;
  size_t left_ = 0;
  std::vector<std::string_view> views_;  // in the order of insertion
  std::vector<uint64_t> hashes_;         // of views_
  std::vector<uint32_t> slots_;          // index into views_ + 1; 0 = empty
};

}  // namespace rftgate::adapters

#endif  // RFTGATE_ADAPTERS_COMMON_STRING_SET_H_
