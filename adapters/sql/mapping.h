// The mapping of the generic SQL adapter: where in a WMS schema the domain
// model of rftgate lives (docs/adapters/sql.md describes the format).
//
// A mapping is parsed from YAML (ParseMapping: syntax, identifiers, known
// keys) and then resolved against a live database (ResolveMapping: tables,
// columns and the columns of SELECTs exist). Both refuse a bad mapping with
// adapter::Error(RFT_ERR_CONFIG) and a message that names the key.
#ifndef RFTGATE_ADAPTERS_SQL_MAPPING_H_
#define RFTGATE_ADAPTERS_SQL_MAPPING_H_

#include <yaml-cpp/yaml.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/common/database.h"
#include "adapters/common/record_store.h"
#include "adapters/common/sql_text.h"

namespace rftgate::sql_adapter {

using adapters::Database;
using adapters::Dialect;

// A condition on one column of a source; every value is bound.
struct Condition {
  enum class Op { kEquals, kNotEquals, kIn, kNotIn, kIsNull, kIsNotNull };
  std::string path;    // where it was written, for messages
  std::string column;  // a plain identifier
  Op op = Op::kEquals;
  std::vector<std::string> values;
};

// One field of the domain model a source may deliver.
struct FieldSpec {
  std::string_view name;
  bool required;
};

// One source of records: a table or a SELECT, and which of its columns
// hold which fields.
struct Source {
  std::string name;  // "orders", "lines", ...
  bool present = false;
  std::string table;                           // qualified identifier, or empty
  std::string query;                           // a SELECT, or empty
  std::map<std::string, std::string> columns;  // field -> column, as written
  std::vector<Condition> where;                // extra filter, ANDed
  // After ResolveMapping: field -> the column as the database names it.
  std::map<std::string, std::string> resolved;
  std::vector<std::string> available;  // the source's columns

  bool Has(std::string_view field) const {
    return resolved.find(std::string(field)) != resolved.end();
  }
};

struct Mapping {
  adapters::TimestampMode timestamps = adapters::TimestampMode::kLocal;

  Source orders, lines, items, units, item_units, stock, lots, locations,
      customers, carrier_services, reservations, history;

  // Which orders are ready for release. Default: status = 'released'.
  std::vector<Condition> ready;
  // The orders column whose date selects past orders (RFT_SELECT_RANGE).
  // Default: the column of the `release_at` field.
  std::string range_field = "release_at";
  // History: lines of the wave's customers from this many days back.
  bool history_enabled = true;
  int history_days = 90;
  std::optional<adapters::HoldTarget> hold;
  adapters::RecordTables tables;

  // Every source, in load order.
  std::vector<Source*> Sources();
  std::vector<const Source*> Sources() const;
};

// The fields a source may map, in the order the adapter selects them.
const std::vector<FieldSpec>& FieldsOf(std::string_view source);

// Parses a mapping document. `origin` names it in messages (a file path or
// "adapter.options.mapping").
Mapping ParseMapping(const YAML::Node& root, const std::string& origin);

// Checks the mapping against the database: every table and column exists,
// every SELECT returns the expected columns, required fields are mapped.
// Fills Source::resolved. Throws adapter::Error(RFT_ERR_CONFIG).
void ResolveMapping(Mapping& mapping, Database& db);

}  // namespace rftgate::sql_adapter

#endif  // RFTGATE_ADAPTERS_SQL_MAPPING_H_
