// The benchmark warehouse: the demo warehouse's schema (so demo/mapping.yaml
// reads it unchanged) at a chosen scale, from a fixed seed.
//
// Shape: 12,000 SKUs (30 % lot-tracked with two released lots, some with an
// expired or a quarantined lot in stock as well), pick faces, bulk and
// blocked locations, 2,000 customers in France and Germany, two carrier
// services, and `orders` orders ready for release of 1 to 9 lines (5 on
// average). About one order in five carries one planted defect (unknown or
// inactive SKU, zero or fractional quantity, unit without conversion, a
// quantity above the stock, a blocked pick location, an unknown, expired or
// quarantined lot, an incomplete address or a bad postcode, dangerous goods
// on a service that refuses them, a customer on credit hold); stock is
// sized so that some shortages also arise from the wave itself.
#ifndef RFTGATE_BENCH_E2E_WAREHOUSE_H_
#define RFTGATE_BENCH_E2E_WAREHOUSE_H_

#include <cstdint>
#include <string>
#include <vector>

namespace rftgate::bench {

// One table: column names and rows of text values; SQL NULL is the value
// NullText().
struct Table {
  std::string name;
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
};

// The text that stands for SQL NULL in Table rows.
inline const std::string& NullText() {
  static const std::string* const s = new std::string("\x01NULL");
  return *s;
}

struct Warehouse {
  std::vector<Table> tables;  // in load order
  int64_t orders = 0;
  int64_t lines = 0;
  int64_t planted = 0;  // orders with a planted defect
};

// Generates the warehouse. Deterministic: the same arguments give the same
// rows. `today_days`: days since 1970-01-01.
Warehouse GenerateWarehouse(int64_t orders, uint64_t seed, int64_t today_days);

// Schema of the tables, for PostgreSQL (dates and timestamps typed) or for
// SQLite (the demo warehouse's schema).
std::string SchemaSql(bool postgres);

}  // namespace rftgate::bench

#endif  // RFTGATE_BENCH_E2E_WAREHOUSE_H_
