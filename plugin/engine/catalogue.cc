#include "plugin/engine/catalogue.h"

#include <utility>

#include "rftgate/adapter_abi.h"

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

namespace {

std::vector<CheckSpec> BuildCatalogue() {
  constexpr uint64_t kItems = RFT_CAP_ITEMS, kUnits = RFT_CAP_UNITS,
                     kStock = RFT_CAP_STOCK, kLots = RFT_CAP_LOTS,
                     kLocations = RFT_CAP_LOCATIONS,
                     kCustomers = RFT_CAP_CUSTOMERS,
                     kCarriers = RFT_CAP_CARRIERS, kHistory = RFT_CAP_HISTORY,
                     kAddresses = RFT_CAP_ADDRESSES;
  using P = ParamType;
  std::vector<CheckSpec> c;
  c.push_back({"item.unknown",
               Severity::kBlock,
               "SKU not in the item master",
               {},
               kItems,
               false});
  c.push_back({"item.inactive",
               Severity::kBlock,
               "SKU archived or not sellable",
               {},
               kItems,
               false});
  c.push_back({"qty.invalid",
               Severity::kBlock,
               "quantity missing, zero, negative, fractional for a unit that "
               "can't split, or absurdly large",
               {{"max_qty", P::kNumber, "1000000",
                 "largest plausible quantity of one line, in the item's base "
                 "unit",
                 0, 1e9}},
               0,
               false});
  c.push_back({"uom.mismatch",
               Severity::kBlock,
               "unit not convertible to the item's base unit, or a "
               "conversion that rounds",
               {},
               kItems | kUnits,
               false});
  c.push_back({"stock.short",
               Severity::kBlock,
               "not enough available stock (on hand - reserved - what earlier "
               "orders of the wave take) at pickable, unblocked locations",
               {},
               kStock,
               true});
  c.push_back({"location.mismatch",
               Severity::kBlock,
               "assigned pick location unknown, blocked, not pickable, or not "
               "holding the SKU",
               {},
               kLocations | kStock,
               true});
  c.push_back({"lot.missing",
               Severity::kBlock,
               "lot- or serial-tracked item without a lot that can be "
               "assigned, or an assigned lot the WMS does not know",
               {},
               kItems | kStock,
               true});
  c.push_back({"lot.expired",
               Severity::kBlock,
               "assigned or only available lot expired by the ship date",
               {},
               kLots,
               true});
  c.push_back({"lot.shelf_life",
               Severity::kBlock,
               "remaining shelf life at the ship date below the customer's or "
               "item's minimum",
               {{"default_min_days", P::kInt, "0",
                 "minimum remaining shelf life in days when neither customer "
                 "nor item sets one",
                 0, 36500}},
               kLots,
               true});
  c.push_back({"lot.fefo",
               Severity::kWarn,
               "assigned lot is not the first-expiring available lot",
               {{"tolerance_days", P::kInt, "0",
                 "days an earlier-expiring lot may precede the assigned one "
                 "without a finding",
                 0, 36500}},
               kLots | kStock,
               true});
  c.push_back({"lot.quarantine",
               Severity::kBlock,
               "lot on quarantine or blocked",
               {},
               kLots,
               true});
  c.push_back({"order.duplicate",
               Severity::kWarn,
               "same customer, same lines within a time window; or a "
               "repeated line",
               {{"window_hours", P::kInt, "24",
                 "hours between creation times within which equal orders "
                 "count as duplicates",
                 0, 24 * 366},
                {"repeated_lines", P::kBool, "true",
                 "also report a line that repeats an earlier line of the "
                 "same order (same SKU, unit, lot and location)"}},
               0,
               false});
  c.push_back(
      {"address.incomplete",
       Severity::kBlock,
       "ship-to missing street, city, postcode or country, or "
       "postcode not valid for the country",
       {{"required_fields", P::kStringList, "[street, city, postcode, country]",
         "address fields that must be present (postcode only where "
         "the country uses postcodes)"},
        {"validate_postcode", P::kBool, "true",
         "check the postcode against the country's format"}},
       kAddresses,
       false});
  c.push_back({"carrier.constraint",
               Severity::kBlock,
               "hazmat not allowed by the carrier service, parcel weight over "
               "the limit, past cut-off",
               {{"check_hazmat", P::kBool, "true",
                 "report dangerous goods the service does not accept"},
                {"check_weight", P::kBool, "true",
                 "report an order heavier than the service's parcel limit"},
                {"check_cutoff", P::kBool, "true",
                 "report a release after the service's cut-off on the ship "
                 "date, or a ship date already past"}},
               kCarriers,
               false});
  c.push_back({"customer.hold",
               Severity::kBlock,
               "customer blocked or on credit hold",
               {{"unknown_customer", P::kBool, "true",
                 "report an order whose customer is not in the customer "
                 "master"}},
               kCustomers,
               false});
  c.push_back({"qty.outlier",
               Severity::kWarn,
               "quantity far above this customer's history for the SKU",
               {{"factor", P::kNumber, "10",
                 "how many times the customer's median quantity counts as "
                 "far above",
                 1, 1e6},
                {"min_history", P::kInt, "5",
                 "past order lines of the customer and SKU needed before "
                 "judging",
                 1, 1000000}},
               kHistory,
               false});
  return c;
}

}  // namespace

const std::vector<CheckSpec>& CheckCatalogue() {
  // A static object, not a leaked pointer: the plugin may be unloaded and
  // loaded again by its host, and nothing here needs to outlive it.
  static const std::vector<CheckSpec> catalogue = BuildCatalogue();
  return catalogue;
}

const CheckSpec* FindCheck(std::string_view id) {
  for (const auto& spec : CheckCatalogue()) {
    if (spec.id == id) return &spec;
  }
  return nullptr;
}

uint64_t InputsReadBy(std::string_view id) {
  // Every line check converts quantities through the item master and the
  // units, and names the item's base unit in its messages.
  constexpr uint64_t kBase = RFT_CAP_ITEMS | RFT_CAP_UNITS;
  // The wave-aware allocation behind the stock and lot checks: stock by
  // slot, lot status and expiry, usable locations, the orders' own
  // reservations, and the minimum shelf life (item's or customer's).
  constexpr uint64_t kAllocation = kBase | RFT_CAP_STOCK | RFT_CAP_LOTS |
                                   RFT_CAP_LOCATIONS | RFT_CAP_RESERVATIONS |
                                   RFT_CAP_CUSTOMERS | RFT_CAP_STOCK_AS_OF;
  static constexpr std::pair<std::string_view, uint64_t> kReads[] = {
      {"item.unknown", kBase},
      {"item.inactive", kBase},
      {"qty.invalid", kBase},
      {"uom.mismatch", kBase},
      {"stock.short", kAllocation},
      {"location.mismatch", kAllocation},
      {"lot.missing", kAllocation},
      {"lot.expired", kAllocation},
      {"lot.shelf_life", kAllocation},
      {"lot.fefo", kAllocation},
      {"lot.quarantine", kAllocation},
      {"order.duplicate", kBase | RFT_CAP_HISTORY},
      {"address.incomplete", kBase | RFT_CAP_ADDRESSES},
      {"carrier.constraint", kBase | RFT_CAP_CARRIERS | RFT_CAP_WEIGHTS},
      {"customer.hold", kBase | RFT_CAP_CUSTOMERS},
      {"qty.outlier", kBase | RFT_CAP_HISTORY},
  };
  for (const auto& [check, reads] : kReads) {
    if (check == id) {
      const CheckSpec* spec = FindCheck(id);
      return reads | (spec != nullptr ? spec->needs : 0);
    }
  }
  return ~uint64_t{0};
}

}  // namespace rftgate
