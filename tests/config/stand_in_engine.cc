// A small stand-in for the engine's catalogue and ruleset functions, linked
// into the config tests only while the engine library does not exist. The
// ids are the design's stable ids; parameters cover every ParamType.
#include <functional>
#include <stdexcept>
#include <string>

#include "fmt/format.h"
#include "plugin/engine/catalogue.h"
#include "plugin/engine/ruleset.h"
#include "yaml-cpp/yaml.h"

namespace rftgate {

std::string_view SeverityName(Severity s) {
  switch (s) {
    case Severity::kOff:
      return "off";
    case Severity::kWarn:
      return "warn";
    case Severity::kBlock:
      return "block";
  }
  return "off";
}

std::string_view ParamTypeName(ParamType t) {
  switch (t) {
    case ParamType::kBool:
      return "boolean";
    case ParamType::kInt:
      return "integer";
    case ParamType::kNumber:
      return "number";
    case ParamType::kString:
      return "string";
    case ParamType::kStringList:
      return "list of strings";
  }
  return "string";
}

const std::vector<CheckSpec>& CheckCatalogue() {
  static const std::vector<CheckSpec> kCatalogue = {
      {"item.unknown", Severity::kBlock, "SKU not in the item master", {}},
      {"item.inactive", Severity::kBlock, "SKU archived", {}},
      {"qty.invalid",
       Severity::kBlock,
       "bad quantity",
       {{"max_qty", ParamType::kNumber, "1000000", "base units", 0, 1e12}}},
      {"uom.mismatch", Severity::kBlock, "unit not convertible", {}},
      {"stock.short", Severity::kBlock, "not enough stock", {}},
      {"location.mismatch", Severity::kWarn, "bad pick location", {}},
      {"lot.missing", Severity::kBlock, "no lot", {}},
      {"lot.expired", Severity::kBlock, "lot expired", {}},
      {"lot.shelf_life",
       Severity::kBlock,
       "shelf life too short",
       {{"min_days", ParamType::kInt, "0", "days", 0, 3650}}},
      {"lot.fefo", Severity::kWarn, "not first expiring", {}},
      {"lot.quarantine", Severity::kBlock, "lot on quarantine", {}},
      {"order.duplicate",
       Severity::kWarn,
       "duplicate order",
       {{"window_hours", ParamType::kInt, "24", "hours", 1, 720},
        {"same_lines_only", ParamType::kBool, "true", "", 0, 1}}},
      {"address.incomplete",
       Severity::kBlock,
       "ship-to incomplete",
       {{"countries", ParamType::kStringList, "[]", "ISO codes"},
        {"default_country", ParamType::kString, "NONE", "ISO code"}}},
      {"carrier.constraint", Severity::kBlock, "carrier limits", {}},
      {"customer.hold", Severity::kBlock, "customer on hold", {}},
      {"qty.outlier",
       Severity::kWarn,
       "quantity far above history",
       {{"factor", ParamType::kNumber, "10.0", "times the median", 1, 1000},
        {"min_history", ParamType::kInt, "5", "past lines", 1, 1000}}},
  };
  return kCatalogue;
}

const CheckSpec* FindCheck(std::string_view id) {
  for (const CheckSpec& spec : CheckCatalogue()) {
    if (spec.id == id) return &spec;
  }
  return nullptr;
}

Ruleset DefaultRuleset() {
  Ruleset ruleset;
  for (const CheckSpec& spec : CheckCatalogue()) {
    CheckSettings& settings = ruleset.checks[std::string(spec.id)];
    settings.severity = spec.default_severity;
    for (const ParamSpec& param : spec.params) {
      const YAML::Node node = YAML::Load(std::string(param.default_value));
      ParamValue value;
      switch (param.type) {
        case ParamType::kBool:
          value = node.as<bool>();
          break;
        case ParamType::kInt:
          value = node.as<int64_t>();
          break;
        case ParamType::kNumber:
          value = node.as<double>();
          break;
        case ParamType::kString:
          value = node.as<std::string>();
          break;
        case ParamType::kStringList:
          value = node.as<std::vector<std::string>>();
          break;
      }
      settings.params[std::string(param.name)] = value;
    }
  }
  ComputeRevision(ruleset);
  return ruleset;
}

void ComputeRevision(Ruleset& ruleset) {
  std::string text;
  for (const auto& [id, settings] : ruleset.checks) {
    text += fmt::format("{}={};", id, static_cast<int>(settings.severity));
  }
  ruleset.revision = fmt::format("{:016x}", std::hash<std::string>{}(text));
}

}  // namespace rftgate
