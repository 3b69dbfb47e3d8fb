// The catalogue of built-in checks: stable ids, default severities,
// parameters with their types and defaults. The config reader validates
// `checks:` against it; the engine reads effective values from a Ruleset.
#ifndef RFTGATE_PLUGIN_ENGINE_CATALOGUE_H_
#define RFTGATE_PLUGIN_ENGINE_CATALOGUE_H_

#include <cstdint>
#include <string_view>
#include <vector>

namespace rftgate {

// Values match rft_severity of the C ABI.
enum class Severity : int32_t { kOff = 0, kWarn = 1, kBlock = 2 };

std::string_view SeverityName(Severity s);  // "off" | "warn" | "block"

enum class ParamType { kBool, kInt, kNumber, kString, kStringList };

std::string_view ParamTypeName(ParamType t);  // "boolean", "integer", ...

struct ParamSpec {
  std::string_view name;
  ParamType type;
  // The default, written as it would be in YAML ("30", "true", "5.0",
  // "[]", "NONE").
  std::string_view default_value;
  std::string_view description;  // with its unit, e.g. "days"
  // Inclusive bounds for kInt and kNumber; ignored for other types.
  double min = -1e18;
  double max = 1e18;
};

struct CheckSpec {
  std::string_view id;
  Severity default_severity;
  std::string_view summary;  // one line: what it catches
  std::vector<ParamSpec> params;
  // rft_capability bits the check needs; when the adapter does not provide
  // all of them, the check is not applicable for the wave.
  uint64_t needs = 0;
  // True for checks that depend on stock or lots as they are now: they run
  // on past orders only when the adapter provides RFT_CAP_STOCK_AS_OF.
  bool needs_current_stock = false;
};

// Every built-in check, in a stable order. Static storage.
const std::vector<CheckSpec>& CheckCatalogue();

// The entry with this id, or nullptr.
const CheckSpec* FindCheck(std::string_view id);

// rft_capability bits of every input the check reads when the adapter
// provides it: its `needs`, the inputs it uses when present (history for
// order.duplicate, weights for carrier.constraint), and what the stock
// allocation shared by the stock and lot checks reads (stock, lots,
// locations, reservations, customers' shelf life). The plugin asks the
// adapter only for the inputs of the checks that are on. An id not in the
// catalogue reads every input.
uint64_t InputsReadBy(std::string_view id);

// Prefix reserved for admin-written checks.
inline constexpr std::string_view kCustomCheckPrefix = "custom.";

}  // namespace rftgate

#endif  // RFTGATE_PLUGIN_ENGINE_CATALOGUE_H_
