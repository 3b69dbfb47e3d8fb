#include "adapters/odoo/odoo_schema.h"

#include <vector>

#include "fmt/format.h"

namespace rftgate::odoo {
namespace {

constexpr const char* kTables[] = {
    "stock_picking",      "stock_move",
    "stock_move_line",    "stock_quant",
    "stock_lot",          "product_product",
    "product_template",   "product_category",
    "product_removal",    "uom_uom",
    "uom_category",       "stock_location",
    "stock_picking_type", "stock_warehouse",
    "res_partner",        "res_country",
    "delivery_carrier",   "mail_message",
    "mail_activity",      "mail_activity_type",
    "ir_model",           "ir_model_data",
    "res_users",          "stock_production_lot"};

}  // namespace

bool OdooSchema::Has(std::string_view table, std::string_view column) const {
  return columns.count(std::string(table) + "." + std::string(column)) > 0;
}

std::string OdooSchema::Name(std::string_view table, std::string_view alias,
                             std::string_view column, adapters::SqlBuilder& b,
                             const std::string& lang) const {
  std::string ref = fmt::format("{}.{}", alias, column);
  if (jsonb_columns.count(std::string(table) + "." + std::string(column))) {
    return fmt::format(
        "COALESCE({0} ->> CAST({1} AS text), {0} ->> 'en_US', (SELECT e.value "
        "FROM jsonb_each_text({0}) e ORDER BY e.key LIMIT 1))",
        ref, b.Bind(adapters::Text(lang)));
  }
  return fmt::format("CAST({} AS text)", ref);
}

OdooSchema DetectSchema(adapters::Database& db) {
  OdooSchema s;
  std::string list;
  for (const char* t : kTables) {
    if (!list.empty()) list += ", ";
    list += "'" + std::string(t) + "'";
  }
  std::set<std::string> tables;
  db.Query(
      "SELECT c.table_name, c.column_name, c.data_type FROM "
      "information_schema.columns c WHERE c.table_schema = "
      "ANY(current_schemas(false)) AND c.table_name IN (" +
          list + ")",
      {}, 3, 1000, [&](const adapters::TextBatch& b) {
        for (size_t r = 0; r < b.rows(); ++r) {
          std::string key =
              std::string(b.At(r, 0)) + "." + std::string(b.At(r, 1));
          tables.insert(std::string(b.At(r, 0)));
          if (b.At(r, 2) == "jsonb") s.jsonb_columns.insert(key);
          s.columns.insert(std::move(key));
        }
      });
  std::vector<std::string> missing;
  for (const char* t : {"stock_picking", "stock_move", "stock_move_line",
                        "stock_quant", "product_product", "product_template",
                        "uom_uom", "stock_location", "stock_picking_type",
                        "stock_warehouse", "res_partner", "res_country"}) {
    if (!tables.count(t)) missing.push_back(t);
  }
  if (!missing.empty()) {
    throw adapter::Error(
        RFT_ERR_CONFIG,
        fmt::format("the database is not an Odoo database with the stock "
                    "module: table(s) {} not found in the search_path",
                    fmt::join(missing, ", ")));
  }
  if (!tables.count("stock_lot")) {
    throw adapter::Error(
        RFT_ERR_CONFIG,
        tables.count("stock_production_lot")
            ? "the database is an Odoo before 16.0 (stock_production_lot); "
              "the odoo adapter supports Odoo 16 and 17"
            : "the database has no stock_lot table; the odoo adapter "
              "supports Odoo 16 and 17");
  }
  if (s.Has("stock_move_line", "quantity_product_uom") &&
      s.Has("stock_move_line", "picked")) {
    s.version = 17;
  } else if (s.Has("stock_move_line", "reserved_qty") &&
             s.Has("stock_move_line", "reserved_uom_qty")) {
    s.version = 16;
  } else {
    throw adapter::Error(
        RFT_ERR_CONFIG,
        "stock_move_line has neither Odoo 17's quantity_product_uom/picked "
        "nor Odoo 16's reserved_qty/reserved_uom_qty; the odoo adapter "
        "supports Odoo 16 and 17");
  }
  s.has_expiry = s.Has("stock_lot", "expiration_date") &&
                 s.Has("stock_lot", "removal_date");
  s.has_carrier = s.Has("stock_picking", "carrier_id") &&
                  tables.count("delivery_carrier") > 0;
  s.has_mail = tables.count("mail_message") && tables.count("mail_activity") &&
               tables.count("mail_activity_type") && tables.count("ir_model") &&
               tables.count("ir_model_data");
  s.activity_has_active = s.Has("mail_activity", "active");
  s.activity_type_keep_done = s.Has("mail_activity_type", "keep_done");
  return s;
}

}  // namespace rftgate::odoo
