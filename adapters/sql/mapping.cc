#include "adapters/sql/mapping.h"

#include <algorithm>
#include <set>

#include "rftgate/adapter.hpp"

namespace rftgate::sql_adapter {
namespace {

using adapter::Error;

const std::map<std::string_view, std::vector<FieldSpec>>& AllFields() {
  static const std::map<std::string_view, std::vector<FieldSpec>> fields{
      {"orders",
       {{"key", false},
        {"ref", true},
        {"site", false},
        {"provider", false},
        {"customer_ref", false},
        {"customer_order_ref", false},
        {"ship_to_name", false},
        {"street", false},
        {"city", false},
        {"postcode", false},
        {"country", false},
        {"carrier", false},
        {"carrier_service", false},
        {"ship_date", false},
        {"created_at", false},
        {"release_at", false},
        {"priority", false},
        {"status", false}}},
      {"lines",
       {{"order_key", true},
        {"line_no", true},
        {"line_ref", false},
        {"sku", true},
        {"qty", true},
        {"uom", false},
        {"location", false},
        {"lot", false}}},
      {"items",
       {{"sku", true},
        {"active", false},
        {"lot_tracked", false},
        {"serial_tracked", false},
        {"removal_strategy", false},
        {"base_uom", false},
        {"hazmat_class", false},
        {"unit_weight_kg", false},
        {"unit_volume_m3", false},
        {"min_shelf_life_days", false},
        {"description", false}}},
      {"units",
       {{"code", true},
        {"category", false},
        {"factor", true},
        {"factor_kind", false},
        {"rounding", false}}},
      {"item_units",
       {{"sku", true},
        {"uom", true},
        {"factor", true},
        {"factor_kind", false}}},
      {"stock",
       {{"sku", true},
        {"location", true},
        {"lot", false},
        {"on_hand", true},
        {"reserved_qty", false},
        {"in_date", false}}},
      {"lots",
       {{"sku", true},
        {"lot", true},
        {"expiry", false},
        {"removal_date", false},
        {"status", false}}},
      {"locations",
       {{"code", true},
        {"pickable", false},
        {"blocked", false},
        {"zone", false},
        {"parent", false}}},
      {"customers",
       {{"ref", true},
        {"name", false},
        {"blocked", false},
        {"credit_hold", false},
        {"min_shelf_life_days", false},
        {"hold_reason", false}}},
      {"carrier_services",
       {{"code", true},
        {"carrier", false},
        {"hazmat_allowed", false},
        {"max_parcel_weight_kg", false},
        {"cutoff", false}}},
      {"reservations",
       {{"order_key", true},
        {"line_no", true},
        {"location", false},
        {"lot", false},
        {"qty", true}}},
      {"history",
       {{"order_ref", true},
        {"customer_ref", true},
        {"sku", true},
        {"qty", true},
        {"created_at", true}}},
  };
  return fields;
}

std::string Where(const YAML::Node& node) {
  if (!node.IsDefined() || node.Mark().line < 0) return "";
  return " (line " + std::to_string(node.Mark().line + 1) + ")";
}

[[noreturn]] void Fail(const std::string& origin, const std::string& path,
                       const YAML::Node& node, const std::string& what) {
  throw Error(RFT_ERR_CONFIG,
              "mapping " + origin + ": " + path + Where(node) + ": " + what);
}

std::string Scalar(const std::string& origin, const std::string& path,
                   const YAML::Node& node) {
  if (!node.IsScalar()) Fail(origin, path, node, "expected a single value");
  return node.Scalar();
}

std::string Identifier(const std::string& origin, const std::string& path,
                       const YAML::Node& node, bool qualified) {
  std::string v = Scalar(origin, path, node);
  bool ok = qualified ? adapters::IsQualifiedIdentifier(v)
                      : adapters::IsPlainIdentifier(v);
  if (!ok) {
    Fail(origin, path, node,
         "'" + v +
             "' is not a valid SQL identifier (letters, digits and '_', "
             "starting with a letter or '_', at most 63 characters" +
             (qualified ? ", optionally schema.name)" : ")"));
  }
  return v;
}

void CheckKeys(const std::string& origin, const std::string& path,
               const YAML::Node& node,
               std::initializer_list<const char*> keys) {
  if (!node.IsMap()) Fail(origin, path, node, "expected a mapping of keys");
  for (const auto& kv : node) {
    std::string k = kv.first.Scalar();
    bool known = std::any_of(keys.begin(), keys.end(),
                             [&](const char* x) { return k == x; });
    if (!known) {
      std::string list;
      for (const char* x : keys)
        list += std::string(list.empty() ? "" : ", ") + x;
      Fail(origin, path + "." + k, kv.first,
           "unknown key (expected one of: " + list + ")");
    }
  }
}

std::vector<std::string> Values(const std::string& origin,
                                const std::string& path,
                                const YAML::Node& node) {
  std::vector<std::string> out;
  if (node.IsScalar()) {
    out.push_back(node.Scalar());
  } else if (node.IsSequence()) {
    for (const auto& v : node) out.push_back(Scalar(origin, path, v));
  } else {
    Fail(origin, path, node, "expected a value or a list of values");
  }
  if (out.empty()) Fail(origin, path, node, "the list of values is empty");
  return out;
}

std::vector<Condition> Conditions(const std::string& origin,
                                  const std::string& path,
                                  const YAML::Node& node) {
  std::vector<Condition> out;
  auto one = [&](const std::string& p, const YAML::Node& n) {
    CheckKeys(origin, p, n,
              {"column", "equals", "not_equals", "in", "not_in", "is_null"});
    Condition c;
    c.path = p;
    if (!n["column"]) Fail(origin, p, n, "a condition needs 'column'");
    c.column = Identifier(origin, p + ".column", n["column"], false);
    int ops = 0;
    if (n["equals"]) {
      c.op = Condition::Op::kEquals;
      c.values = {Scalar(origin, p + ".equals", n["equals"])};
      ++ops;
    }
    if (n["not_equals"]) {
      c.op = Condition::Op::kNotEquals;
      c.values = {Scalar(origin, p + ".not_equals", n["not_equals"])};
      ++ops;
    }
    if (n["in"]) {
      c.op = Condition::Op::kIn;
      c.values = Values(origin, p + ".in", n["in"]);
      ++ops;
    }
    if (n["not_in"]) {
      c.op = Condition::Op::kNotIn;
      c.values = Values(origin, p + ".not_in", n["not_in"]);
      ++ops;
    }
    if (n["is_null"]) {
      std::string v = Scalar(origin, p + ".is_null", n["is_null"]);
      if (v != "true" && v != "false") {
        Fail(origin, p + ".is_null", n["is_null"], "expected true or false");
      }
      c.op = v == "true" ? Condition::Op::kIsNull : Condition::Op::kIsNotNull;
      ++ops;
    }
    if (ops != 1) {
      Fail(origin, p, n,
           "a condition needs exactly one of equals, not_equals, in, not_in, "
           "is_null");
    }
    out.push_back(std::move(c));
  };
  if (node.IsMap()) {
    one(path, node);
  } else if (node.IsSequence()) {
    for (size_t i = 0; i < node.size(); ++i) {
      one(path + "[" + std::to_string(i) + "]", node[i]);
    }
  } else {
    Fail(origin, path, node, "expected a condition or a list of conditions");
  }
  return out;
}

std::string CheckQuery(const std::string& origin, const std::string& path,
                       const YAML::Node& node) {
  std::string q = Scalar(origin, path, node);
  while (!q.empty() && (q.back() == ';' || q.back() == ' ' ||
                        q.back() == '\n' || q.back() == '\t')) {
    q.pop_back();
  }
  size_t start = q.find_first_not_of(" \t\r\n");
  std::string head = start == std::string::npos ? "" : q.substr(start, 6);
  for (auto& ch : head) ch = static_cast<char>(std::toupper(ch));
  if (head.rfind("SELECT", 0) != 0 && head.rfind("WITH", 0) != 0) {
    Fail(origin, path, node, "a query must be one SELECT (or WITH ... SELECT)");
  }
  // One statement only: no ';' outside quotes.
  char quote = 0;
  for (char ch : q) {
    if (quote != 0) {
      if (ch == quote) quote = 0;
    } else if (ch == '\'' || ch == '"' || ch == '`') {
      quote = ch;
    } else if (ch == ';') {
      Fail(origin, path, node, "a query must be a single statement");
    }
  }
  return q;
}

void ParseSource(const std::string& origin, const YAML::Node& node,
                 Source& source, std::initializer_list<const char*> extra) {
  std::string path = "sources." + source.name;
  std::vector<const char*> keys = {"table", "query", "columns", "where"};
  keys.insert(keys.end(), extra.begin(), extra.end());
  if (!node.IsMap()) Fail(origin, path, node, "expected a mapping of keys");
  for (const auto& kv : node) {
    std::string k = kv.first.Scalar();
    if (std::find_if(keys.begin(), keys.end(),
                     [&](const char* x) { return k == x; }) == keys.end()) {
      std::string list;
      for (const char* x : keys)
        list += std::string(list.empty() ? "" : ", ") + x;
      Fail(origin, path + "." + k, kv.first,
           "unknown key (expected one of: " + list + ")");
    }
  }
  source.present = true;
  if (node["table"] && node["query"]) {
    Fail(origin, path, node, "give either 'table' or 'query', not both");
  }
  if (node["table"]) {
    source.table = Identifier(origin, path + ".table", node["table"], true);
  } else if (node["query"]) {
    source.query = CheckQuery(origin, path + ".query", node["query"]);
  }
  if (node["columns"]) {
    const YAML::Node& cols = node["columns"];
    if (!cols.IsMap()) {
      Fail(origin, path + ".columns", cols, "expected field: column pairs");
    }
    const auto& fields = FieldsOf(source.name);
    for (const auto& kv : cols) {
      std::string field = kv.first.Scalar();
      bool known =
          std::any_of(fields.begin(), fields.end(),
                      [&](const FieldSpec& f) { return f.name == field; });
      if (!known) {
        std::string list;
        for (const auto& f : fields) {
          list += std::string(list.empty() ? "" : ", ") + std::string(f.name);
        }
        Fail(origin, path + ".columns." + field, kv.first,
             "unknown field (fields of " + source.name + ": " + list + ")");
      }
      source.columns[field] =
          Identifier(origin, path + ".columns." + field, kv.second, false);
    }
  }
  if (node["where"]) {
    source.where = Conditions(origin, path + ".where", node["where"]);
  }
}

}  // namespace

std::vector<Source*> Mapping::Sources() {
  return {&orders,       &lines,  &items,     &units,     &item_units,
          &stock,        &lots,   &locations, &customers, &carrier_services,
          &reservations, &history};
}

std::vector<const Source*> Mapping::Sources() const {
  return {&orders,       &lines,  &items,     &units,     &item_units,
          &stock,        &lots,   &locations, &customers, &carrier_services,
          &reservations, &history};
}

const std::vector<FieldSpec>& FieldsOf(std::string_view source) {
  static const std::vector<FieldSpec> kNone;
  auto it = AllFields().find(source);
  return it == AllFields().end() ? kNone : it->second;
}

Mapping ParseMapping(const YAML::Node& root, const std::string& origin) {
  Mapping m;
  m.orders.name = "orders";
  m.lines.name = "lines";
  m.items.name = "items";
  m.units.name = "units";
  m.item_units.name = "item_units";
  m.stock.name = "stock";
  m.lots.name = "lots";
  m.locations.name = "locations";
  m.customers.name = "customers";
  m.carrier_services.name = "carrier_services";
  m.reservations.name = "reservations";
  m.history.name = "history";

  if (!root.IsMap()) Fail(origin, "(document)", root, "expected a mapping");
  CheckKeys(origin, "(document)", root,
            {"version", "timestamps", "sources", "writeback"});
  if (root["version"]) {
    std::string v = Scalar(origin, "version", root["version"]);
    if (v != "1") {
      Fail(origin, "version", root["version"],
           "this adapter reads mapping version 1, not '" + v + "'");
    }
  }
  if (root["timestamps"]) {
    std::string v = Scalar(origin, "timestamps", root["timestamps"]);
    if (v == "local") {
      m.timestamps = adapters::TimestampMode::kLocal;
    } else if (v == "utc") {
      m.timestamps = adapters::TimestampMode::kUtc;
    } else {
      Fail(origin, "timestamps", root["timestamps"], "expected local or utc");
    }
  }
  const YAML::Node sources = root["sources"];
  if (!sources || !sources.IsMap()) {
    Fail(origin, "sources", root, "the mapping needs a 'sources' section");
  }
  CheckKeys(origin, "sources", sources,
            {"orders", "lines", "items", "units", "item_units", "stock", "lots",
             "locations", "customers", "carrier_services", "reservations",
             "history", "stock_as_of"});
  if (sources["stock_as_of"]) {
    Fail(origin, "sources.stock_as_of", sources["stock_as_of"],
         "stock as it was at a past date is not supported by this adapter "
         "version; remove the key (past orders are then checked without "
         "stock and lot checks)");
  }
  if (!sources["orders"]) Fail(origin, "sources.orders", sources, "missing");
  if (!sources["lines"]) Fail(origin, "sources.lines", sources, "missing");

  ParseSource(origin, sources["orders"], m.orders,
              {"ready", "range_column", "hold"});
  for (Source* s : m.Sources()) {
    if (s == &m.orders || s == &m.history) continue;
    if (sources[s->name]) ParseSource(origin, sources[s->name], *s, {});
  }
  for (Source* s : m.Sources()) {
    if (s->present && s->table.empty() && s->query.empty() && s != &m.history) {
      Fail(origin, "sources." + s->name, sources[s->name],
           "needs 'table' or 'query'");
    }
  }

  const YAML::Node orders = sources["orders"];
  if (orders["ready"]) {
    m.ready = Conditions(origin, "sources.orders.ready", orders["ready"]);
  } else {
    Condition c;
    c.path = "sources.orders.ready (default)";
    c.column = "status";
    c.op = Condition::Op::kEquals;
    c.values = {"released"};
    m.ready.push_back(c);
  }
  if (orders["range_column"]) {
    m.range_field = "";
    Source& o = m.orders;
    std::string col = Identifier(origin, "sources.orders.range_column",
                                 orders["range_column"], false);
    // Stored as a pseudo-field so that it resolves like the others.
    o.columns["__range"] = col;
    m.range_field = "__range";
  }
  if (orders["hold"]) {
    const YAML::Node h = orders["hold"];
    std::string p = "sources.orders.hold";
    CheckKeys(origin, p, h,
              {"table", "key_column", "column", "value", "release_value"});
    adapters::HoldTarget t;
    if (!h["column"] || !h["value"]) {
      Fail(origin, p, h, "needs 'column' and 'value'");
    }
    t.column = Identifier(origin, p + ".column", h["column"], false);
    t.value = Scalar(origin, p + ".value", h["value"]);
    if (h["release_value"]) {
      t.release_value =
          Scalar(origin, p + ".release_value", h["release_value"]);
    }
    if (h["table"]) {
      t.table = Identifier(origin, p + ".table", h["table"], true);
    } else if (!m.orders.table.empty()) {
      t.table = m.orders.table;
    } else {
      Fail(origin, p, h, "needs 'table' when the orders come from a query");
    }
    if (h["key_column"]) {
      t.key_column =
          Identifier(origin, p + ".key_column", h["key_column"], false);
    }
    m.hold = t;
  }

  if (sources["history"]) {
    const YAML::Node h = sources["history"];
    if (h.IsScalar() && h.Scalar() == "false") {
      m.history_enabled = false;
    } else {
      ParseSource(origin, h, m.history, {"days", "enabled"});
      if (h["enabled"]) {
        std::string v = Scalar(origin, "sources.history.enabled", h["enabled"]);
        m.history_enabled = v == "true";
      }
      if (h["days"]) {
        auto d = adapters::ParseInteger(
            Scalar(origin, "sources.history.days", h["days"]));
        if (!d || *d < 1 || *d > 3660) {
          Fail(origin, "sources.history.days", h["days"],
               "expected a whole number of days between 1 and 3660");
        }
        m.history_days = static_cast<int>(*d);
      }
    }
  }

  if (root["writeback"]) {
    const YAML::Node w = root["writeback"];
    CheckKeys(origin, "writeback", w, {"tables"});
    if (w["tables"]) {
      const YAML::Node t = w["tables"];
      CheckKeys(origin, "writeback.tables", t,
                {"schema", "runs", "check_runs", "error_records"});
      auto set = [&](const char* key, std::string& into) {
        if (t[key]) {
          into = Identifier(origin, std::string("writeback.tables.") + key,
                            t[key], true);
        }
      };
      set("schema", m.tables.schema);
      set("runs", m.tables.runs);
      set("check_runs", m.tables.check_runs);
      set("error_records", m.tables.error_records);
    }
  }
  return m;
}

namespace {

bool SameName(Dialect d, std::string_view a, std::string_view b) {
  if (d == Dialect::kPostgres) return a == b;
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::optional<std::string> FindColumn(Dialect d,
                                      const std::vector<std::string>& cols,
                                      std::string_view name) {
  for (const auto& c : cols) {
    if (SameName(d, c, name)) return c;
  }
  return std::nullopt;
}

std::string List(const std::vector<std::string>& cols) {
  std::string out;
  for (const auto& c : cols) out += (out.empty() ? "" : ", ") + c;
  return out;
}

std::string FromSql(Dialect d, const Source& s) {
  if (!s.table.empty()) {
    return adapters::QuoteIdentifier(d, s.table,
                                     "sources." + s.name + ".table");
  }
  return "(" + s.query + ")";
}

std::string Describe(const Source& s) {
  if (!s.table.empty()) return "table '" + s.table + "'";
  return "the query of sources." + s.name;
}

}  // namespace

void ResolveMapping(Mapping& m, Database& db) {
  const Dialect d = db.dialect();
  // The default history comes from orders and lines.
  if (m.history_enabled && !m.history.present) {
    m.history.present = false;
  }
  for (Source* s : m.Sources()) {
    bool derived_history =
        s == &m.history && s->table.empty() && s->query.empty();
    if (!s->present || derived_history) continue;
    try {
      s->available = db.ColumnsOf(FromSql(d, *s));
    } catch (const adapter::Error&) {
      throw;
    } catch (const std::exception& e) {
      throw Error(RFT_ERR_CONFIG,
                  "mapping: sources." + s->name + ": " + Describe(*s) +
                      " cannot be read: " + adapters::MaskSecrets(e.what()));
    }
    for (const auto& [field, column] : s->columns) {
      auto found = FindColumn(d, s->available, column);
      if (!found) {
        std::string path = field == "__range"
                               ? "sources.orders.range_column"
                               : "sources." + s->name + ".columns." + field;
        throw Error(
            RFT_ERR_CONFIG,
            "mapping: " + path + ": column '" + column + "' not found " +
                (s->table.empty() ? "in the columns returned by " : "in ") +
                Describe(*s) + " (it has: " + List(s->available) + ")");
      }
      s->resolved[field] = *found;
    }
    for (const auto& f : FieldsOf(s->name)) {
      std::string field(f.name);
      if (s->resolved.count(field) != 0) continue;
      if (auto found = FindColumn(d, s->available, field)) {
        s->resolved[field] = *found;
      } else if (f.required) {
        throw Error(RFT_ERR_CONFIG,
                    "mapping: sources." + s->name + ": " + Describe(*s) +
                        " has no column for the required field '" + field +
                        "' (name it under sources." + s->name +
                        ".columns; it has: " + List(s->available) + ")");
      }
    }
    for (const auto& c : s->where) {
      if (!FindColumn(d, s->available, c.column)) {
        throw Error(RFT_ERR_CONFIG,
                    "mapping: " + c.path + ": column '" + c.column +
                        "' not found in " + Describe(*s) +
                        " (it has: " + List(s->available) + ")");
      }
    }
  }
  // The orders key defaults to the ref.
  if (!m.orders.Has("key")) m.orders.resolved["key"] = m.orders.resolved["ref"];
  for (const auto& c : m.ready) {
    if (!FindColumn(d, m.orders.available, c.column)) {
      throw Error(RFT_ERR_CONFIG,
                  "mapping: " + c.path + ": column '" + c.column +
                      "' not found in " + Describe(m.orders) +
                      " (it has: " + List(m.orders.available) + ")");
    }
  }
  if (m.history_enabled && !m.history.present) {
    // Derived history: needs the customer and creation time of orders.
    if (!m.orders.Has("customer_ref") || !m.orders.Has("created_at")) {
      m.history_enabled = false;
    }
    for (const auto& c : m.history.where) {
      if (!FindColumn(d, m.orders.available, c.column)) {
        throw Error(RFT_ERR_CONFIG,
                    "mapping: " + c.path + ": column '" + c.column +
                        "' not found in " + Describe(m.orders) +
                        " (the default history filters orders; it has: " +
                        List(m.orders.available) + ")");
      }
    }
  }
  if (m.hold) {
    std::vector<std::string> cols;
    try {
      cols = db.ColumnsOf(adapters::QuoteIdentifier(
          d, m.hold->table, "sources.orders.hold.table"));
    } catch (const adapter::Error&) {
      throw;
    } catch (const std::exception& e) {
      throw Error(RFT_ERR_CONFIG,
                  "mapping: sources.orders.hold.table: table '" +
                      m.hold->table +
                      "' cannot be read: " + adapters::MaskSecrets(e.what()));
    }
    if (m.hold->key_column.empty()) {
      if (m.hold->table != m.orders.table) {
        throw Error(RFT_ERR_CONFIG,
                    "mapping: sources.orders.hold.key_column is needed when "
                    "the hold table is not the orders table");
      }
      m.hold->key_column = m.orders.resolved["ref"];
    }
    for (const std::string* col : {&m.hold->column, &m.hold->key_column}) {
      auto found = FindColumn(d, cols, *col);
      if (!found) {
        throw Error(RFT_ERR_CONFIG, "mapping: sources.orders.hold: column '" +
                                        *col + "' not found in table '" +
                                        m.hold->table +
                                        "' (it has: " + List(cols) + ")");
      }
      *const_cast<std::string*>(col) = *found;
    }
  }
}

}  // namespace rftgate::sql_adapter
