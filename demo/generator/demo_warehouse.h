// The demo warehouse: a small WMS in a SQLite database, generated from a
// fixed seed, with about one order in five carrying a planted defect and a
// ground-truth table that says which.
//
// Schema (plain SQL, as a small WMS would have it): sites, customers, uoms,
// items, item_packs, locations, lots, stock, carrier_services, orders,
// order_lines; plus demo_ground_truth (order_no, check_id, line_no (0 = the
// order as a whole), scope, variant) and demo_info (key, value).
//
// Orders: `past_orders` shipped orders over the 90 days before `today`
// (the history), a few being picked today, and `ready_orders` with status
// 'released' (ready for release) shipping one to three days after `today`.
// Times are the site's local wall-clock time (Europe/Paris).
#ifndef RFTGATE_DEMO_GENERATOR_DEMO_WAREHOUSE_H_
#define RFTGATE_DEMO_GENERATOR_DEMO_WAREHOUSE_H_

#include <cstdint>
#include <map>
#include <string>

namespace rftgate::demo {

struct DemoOptions {
  uint64_t seed = 20240917;
  int64_t today_days = 0;  // days since 1970-01-01 (the generation day)
  int past_orders = 3000;
  int ready_orders = 300;
  double defect_rate = 0.2;  // share of orders with a planted defect
};

struct DemoSummary {
  int orders = 0;
  int ready_orders = 0;
  int lines = 0;
  int items = 0;
  int customers = 0;
  int defects_ready = 0;
  int defects_past = 0;
  std::map<std::string, int> ready_defects_by_check;
};

// Writes the demo warehouse into a new SQLite database at `path` (which must
// not exist). Deterministic: the same options give the same database.
// Throws std::runtime_error on failure.
DemoSummary GenerateDemoWarehouse(const std::string& path,
                                  const DemoOptions& options);

}  // namespace rftgate::demo

#endif  // RFTGATE_DEMO_GENERATOR_DEMO_WAREHOUSE_H_
