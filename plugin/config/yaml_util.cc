#include "plugin/config/yaml_util.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

namespace rftgate::yaml_util {
namespace {

constexpr std::string_view kStrTag = "tag:yaml.org,2002:str";
constexpr size_t kMaxEcho = 60;

bool IsDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(),
                                   [](char c) { return c >= '0' && c <= '9'; });
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1,
                         diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

std::optional<bool> ParseBool(std::string_view text) {
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  return std::nullopt;
}

std::optional<int64_t> ParseInt(std::string_view text) {
  std::string_view digits = text;
  if (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) {
    digits.remove_prefix(1);
  }
  if (!IsDigits(digits)) return std::nullopt;
  if (text[0] == '+') text.remove_prefix(1);
  int64_t value = 0;
  const auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

std::optional<double> ParseFloat(std::string_view text) {
  std::string_view body = text;
  bool negative = false;
  if (!body.empty() && (body[0] == '-' || body[0] == '+')) {
    negative = body[0] == '-';
    body.remove_prefix(1);
  }
  if (body == ".inf" || body == ".Inf" || body == ".INF") {
    return negative ? -std::numeric_limits<double>::infinity()
                    : std::numeric_limits<double>::infinity();
  }
  if (text == ".nan" || text == ".NaN" || text == ".NAN") {
    return std::numeric_limits<double>::quiet_NaN();
  }
  // [0-9]*(.[0-9]*)?([eE][-+]?[0-9]+)? with at least one digit before the
  // exponent.
  size_t i = 0;
  size_t mantissa_digits = 0;
  while (i < body.size() && body[i] >= '0' && body[i] <= '9') {
    ++i;
    ++mantissa_digits;
  }
  if (i < body.size() && body[i] == '.') {
    ++i;
    while (i < body.size() && body[i] >= '0' && body[i] <= '9') {
      ++i;
      ++mantissa_digits;
    }
  }
  if (mantissa_digits == 0) return std::nullopt;
  if (i < body.size() && (body[i] == 'e' || body[i] == 'E')) {
    ++i;
    if (i < body.size() && (body[i] == '-' || body[i] == '+')) ++i;
    if (!IsDigits(body.substr(i))) return std::nullopt;
    i = body.size();
  }
  if (i != body.size()) return std::nullopt;
  double value = 0;
  const auto [end, ec] =
      std::from_chars(body.data(), body.data() + body.size(), value);
  if (ec != std::errc() || end != body.data() + body.size()) {
    return std::nullopt;
  }
  return negative ? -value : value;
}

ScalarKind ClassifyScalar(const YAML::Node& node) {
  if (node.IsNull()) return ScalarKind::kNull;
  // "!" is the tag of quoted scalars; "?" of plain ones.
  if (node.Tag() != "?") {
    if (node.Tag() == "!" || node.Tag() == kStrTag) return ScalarKind::kString;
  }
  const std::string& text = node.Scalar();
  if (ParseBool(text)) return ScalarKind::kBool;
  if (ParseInt(text)) return ScalarKind::kInt;
  // Also integers too large for int64.
  if (ParseFloat(text)) return ScalarKind::kFloat;
  return ScalarKind::kString;
}

namespace {

bool ToJsonBounded(const YAML::Node& node, size_t* budget, int depth,
                   nlohmann::json* out) {
  if (*budget == 0 || depth <= 0) return false;
  --*budget;
  switch (node.Type()) {
    case YAML::NodeType::Map:
      *out = nlohmann::json::object();
      for (const auto& entry : node) {
        if (!ToJsonBounded(entry.second, budget, depth - 1,
                           &(*out)[entry.first.Scalar()])) {
          return false;
        }
      }
      return true;
    case YAML::NodeType::Sequence:
      *out = nlohmann::json::array();
      for (const auto& element : node) {
        out->push_back(nullptr);
        if (!ToJsonBounded(element, budget, depth - 1, &out->back())) {
          return false;
        }
      }
      return true;
    case YAML::NodeType::Scalar:
      switch (ClassifyScalar(node)) {
        case ScalarKind::kNull:
          *out = nullptr;
          return true;
        case ScalarKind::kBool:
          *out = *ParseBool(node.Scalar());
          return true;
        case ScalarKind::kInt:
          *out = *ParseInt(node.Scalar());
          return true;
        case ScalarKind::kFloat:
          *out = *ParseFloat(node.Scalar());
          return true;
        case ScalarKind::kString:
          break;
      }
      *out = node.Scalar();
      return true;
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      *out = nullptr;
      return true;
  }
  return true;
}

}  // namespace

std::optional<nlohmann::json> ToJson(const YAML::Node& node, size_t max_nodes,
                                     int max_depth) {
  nlohmann::json out;
  if (!ToJsonBounded(node, &max_nodes, max_depth, &out)) return std::nullopt;
  return out;
}

std::string Describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar: {
      const std::string& text = node.Scalar();
      if (text.size() <= kMaxEcho) return "'" + text + "'";
      return "'" + text.substr(0, kMaxEcho) + "...'";
    }
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return "nothing";
  }
  return "nothing";
}

std::string_view ClosestMatch(std::string_view word,
                              const std::vector<std::string_view>& choices) {
  std::string_view best;
  size_t best_distance = std::numeric_limits<size_t>::max();
  for (std::string_view choice : choices) {
    const size_t d = EditDistance(word, choice);
    if (d < best_distance) {
      best_distance = d;
      best = choice;
    }
  }
  const size_t limit = std::max<size_t>(2, word.size() / 3);
  if (best_distance == 0 || best_distance > limit ||
      best_distance >= word.size()) {
    return {};
  }
  return best;
}

std::string JoinNames(const std::vector<std::string_view>& names) {
  std::string out;
  for (std::string_view name : names) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

}  // namespace rftgate::yaml_util
