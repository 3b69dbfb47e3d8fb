// What the Odoo database holds: the major version (16 or 17) told apart by
// the columns Odoo creates, and the optional columns and tables of modules
// that may or may not be installed (product_expiry, delivery, mail).
#ifndef RFTGATE_ADAPTERS_ODOO_ODOO_SCHEMA_H_
#define RFTGATE_ADAPTERS_ODOO_ODOO_SCHEMA_H_

#include <set>
#include <string>
#include <string_view>

#include "adapters/common/database.h"

namespace rftgate::odoo {

struct OdooSchema {
  // 16: stock_move_line.reserved_qty / reserved_uom_qty / qty_done.
  // 17: stock_move_line.quantity / quantity_product_uom / picked.
  int version = 0;

  // "table.column" for every column of the tables the adapter reads, with
  // the data type as information_schema reports it.
  std::set<std::string> columns;
  std::set<std::string> jsonb_columns;

  bool Has(std::string_view table, std::string_view column) const;

  // An SQL expression for a translated name column (`alias`.`column`):
  // jsonb in 16/17 (the `lang` translation, else en_US, else any); plain
  // text otherwise. Binds `lang` into `b` only where the expression uses it
  // (SOCI numbers every placeholder it meets: each bound value is used
  // once).
  std::string Name(std::string_view table, std::string_view alias,
                   std::string_view column, adapters::SqlBuilder& b,
                   const std::string& lang) const;

  bool has_expiry = false;               // product_expiry: stock_lot dates
  bool has_carrier = false;              // delivery: stock_picking.carrier_id
  bool has_mail = false;                 // mail_message, mail_activity
  bool activity_has_active = false;      // 17: mail_activity.active
  bool activity_type_keep_done = false;  // 17: mail_activity_type.keep_done
};

// Reads the schema of the current search_path. Throws adapter::Error
// (RFT_ERR_CONFIG) when the stock tables are missing or are those of an
// Odoo before 16 (stock_production_lot), naming what was found.
OdooSchema DetectSchema(adapters::Database& db);

}  // namespace rftgate::odoo

#endif  // RFTGATE_ADAPTERS_ODOO_ODOO_SCHEMA_H_
