// Helpers for reading YAML strictly: scalar types as the YAML 1.2 core
// schema defines them, conversion to JSON, and suggestions for misspelt
// names. Internal to the config reader.
#ifndef RFTGATE_PLUGIN_CONFIG_YAML_UTIL_H_
#define RFTGATE_PLUGIN_CONFIG_YAML_UTIL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nlohmann/json.hpp"
#include "yaml-cpp/yaml.h"

namespace rftgate::yaml_util {

enum class ScalarKind { kNull, kBool, kInt, kFloat, kString };

// The kind of a scalar node: quoted scalars and scalars tagged !!str are
// strings; a plain scalar is null, a boolean (true/false in any of its
// three spellings), a decimal integer, a float (including .inf, .nan) or a
// string. Requires node.IsScalar() or node.IsNull().
ScalarKind ClassifyScalar(const YAML::Node& node);

std::optional<bool> ParseBool(std::string_view text);
// Decimal, optional sign; nullopt when not an integer or out of range.
std::optional<int64_t> ParseInt(std::string_view text);
// A YAML float or integer; nullopt otherwise.
std::optional<double> ParseFloat(std::string_view text);

// Maps to objects, sequences to arrays, scalars by ClassifyScalar (integers
// that do not fit int64 become floats). Map keys are taken as text.
// Aliases are expanded; nullopt when that takes more than `max_nodes` nodes
// or nests deeper than `max_depth` (an alias cycle, or a tree of aliases
// that would expand without bound).
std::optional<nlohmann::json> ToJson(const YAML::Node& node,
                                     size_t max_nodes = 100000,
                                     int max_depth = 64);

// "mapping", "sequence", "nothing" or "'text'" (quoted, shortened to 60
// characters) for messages.
std::string Describe(const YAML::Node& node);

// The choice closest to `word` by edit distance, if close enough to be a
// likely misspelling; empty otherwise.
std::string_view ClosestMatch(std::string_view word,
                              const std::vector<std::string_view>& choices);

// "a, b, c".
std::string JoinNames(const std::vector<std::string_view>& names);

}  // namespace rftgate::yaml_util

#endif  // RFTGATE_PLUGIN_CONFIG_YAML_UTIL_H_
