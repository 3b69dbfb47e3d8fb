#include "plugin/core/ref_list.h"

#include <functional>
#include <stdexcept>

namespace rftgate {

void RefList::Add(std::string_view ref) {
  chars_.append(ref);
  ends_.push_back(chars_.size());
}

void RefList::Reserve(size_t refs, size_t chars) {
  ends_.reserve(refs);
  chars_.reserve(chars);
}

void RefList::Seal() {
  if (ends_.size() >= UINT32_MAX) {
    throw std::length_error("a wave of more than 4 billion orders");
  }
  size_t slots = 16;
  while (slots < ends_.size() * 2) slots *= 2;
  table_.assign(slots, 0);
  const size_t mask = slots - 1;
  for (size_t i = 0; i < ends_.size(); ++i) {
    size_t s = std::hash<std::string_view>{}((*this)[i]) & mask;
    while (table_[s] != 0) s = (s + 1) & mask;
    table_[s] = static_cast<uint32_t>(i + 1);
  }
}

bool RefList::Contains(std::string_view ref) const {
  if (table_.empty()) return false;
  const size_t mask = table_.size() - 1;
  for (size_t s = std::hash<std::string_view>{}(ref)&mask; table_[s] != 0;
       s = (s + 1) & mask) {
    if ((*this)[table_[s] - 1] == ref) return true;
  }
  return false;
}

}  // namespace rftgate
