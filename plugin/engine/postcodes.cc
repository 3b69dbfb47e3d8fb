#include "plugin/engine/postcodes.h"

#include <regex>
#include <vector>

namespace rftgate {
namespace {

constexpr PostcodeFormat kFormats[] = {
#include "plugin/engine/data/postcode_formats.inc"
};

char Upper(char c) { return (c >= 'a' && c <= 'z') ? c - 'a' + 'A' : c; }

bool EqualsUpper(std::string_view a, std::string_view upper) {
  if (a.size() != upper.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Upper(a[i]) != upper[i]) return false;
  }
  return true;
}

const std::vector<std::regex>& Compiled() {
  static const std::vector<std::regex> compiled = [] {
    std::vector<std::regex> v;
    v.reserve(std::size(kFormats));
    for (const auto& f : kFormats) {
      v.emplace_back(f.pattern, std::regex::ECMAScript | std::regex::nosubs);
    }
    return v;
  }();
  return compiled;
}

}  // namespace

std::span<const PostcodeFormat> PostcodeFormats() { return kFormats; }

int FindCountry(std::string_view c) {
  while (!c.empty() && c.front() == ' ') c.remove_prefix(1);
  while (!c.empty() && c.back() == ' ') c.remove_suffix(1);
  if (c.empty()) return -1;
  for (size_t i = 0; i < std::size(kFormats); ++i) {
    if (EqualsUpper(c, kFormats[i].key) || EqualsUpper(c, kFormats[i].name)) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

bool PostcodeMatches(int index, std::string_view postcode) {
  if (index < 0 || static_cast<size_t>(index) >= std::size(kFormats)) {
    return false;
  }
  if (kFormats[index].pattern[0] == '\0') return true;
  return std::regex_match(postcode.begin(), postcode.end(), Compiled()[index]);
}

}  // namespace rftgate
