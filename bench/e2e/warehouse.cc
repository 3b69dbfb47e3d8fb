#include "bench/e2e/warehouse.h"

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "adapters/common/sql_text.h"
#include "demo/generator/random.h"

namespace rftgate::bench {
namespace {

using adapters::FormatDate;
using demo::Random;

constexpr int kSkus = 12000;
constexpr int kCustomers = 2000;
constexpr int kBlockedLocations = 20;

std::string Fmt(const char* pattern, int64_t n) {
  char buf[64];
  std::snprintf(buf, sizeof buf, pattern, static_cast<long long>(n));
  return buf;
}

std::string Grams(int64_t g) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld.%03lld",
                static_cast<long long>(g / 1000),
                static_cast<long long>(g % 1000));
  return buf;
}

struct Item {
  std::string sku;
  bool active = true;
  bool lot_tracked = false;
  bool hazmat = false;
  int weight_g = 500;
  int case_qty = 12;
  int64_t pick_stock = 0;  // free units at the pick face (all good lots)
  std::string expired_lot, quarantine_lot;
};

struct Customer {
  std::string code, country, street, city, postcode;
  bool credit_hold = false;
};

struct LineOut {
  std::string sku, qty, uom, location, lot;
  int64_t grams = 0;  // weight the checks count (0 for a line they skip)
  bool hazmat = false;
};

const char* const kFrCities[][2] = {{"75001", "Paris"},
                                    {"69002", "Lyon"},
                                    {"13001", "Marseille"},
                                    {"31000", "Toulouse"},
                                    {"59000", "Lille"}};
const char* const kDeCities[][2] = {{"10115", "Berlin"},
                                    {"80331", "München"},
                                    {"20095", "Hamburg"},
                                    {"50667", "Köln"}};

}  // namespace

std::string SchemaSql(bool pg) {
  const char* date = pg ? "DATE" : "TEXT";
  const char* ts = pg ? "TIMESTAMP" : "TEXT";
  const char* id = pg ? "BIGINT" : "INTEGER";
  std::string s;
  s += "CREATE TABLE sites (code TEXT PRIMARY KEY, name TEXT NOT NULL, "
       "timezone TEXT NOT NULL);\n";
  s += "CREATE TABLE customers (code TEXT PRIMARY KEY, name TEXT NOT NULL, "
       "country TEXT, blocked INTEGER NOT NULL DEFAULT 0, credit_hold INTEGER "
       "NOT NULL DEFAULT 0, hold_reason TEXT, min_shelf_life_days INTEGER);\n";
  s += "CREATE TABLE uoms (code TEXT PRIMARY KEY, category TEXT NOT NULL, "
       "factor NUMERIC NOT NULL, rounding NUMERIC);\n";
  s += "CREATE TABLE items (sku TEXT PRIMARY KEY, description TEXT, active "
       "INTEGER NOT NULL, base_uom TEXT NOT NULL, lot_tracked INTEGER NOT "
       "NULL, hazmat_class TEXT, weight_kg NUMERIC, volume_m3 NUMERIC, "
       "min_shelf_life_days INTEGER);\n";
  s += "CREATE TABLE item_packs (sku TEXT NOT NULL, uom TEXT NOT NULL, "
       "qty_per_pack NUMERIC NOT NULL, PRIMARY KEY (sku, uom));\n";
  s += "CREATE TABLE locations (code TEXT PRIMARY KEY, zone TEXT, parent "
       "TEXT, pickable INTEGER NOT NULL, blocked INTEGER NOT NULL);\n";
  s += std::string(
           "CREATE TABLE lots (sku TEXT NOT NULL, lot_code TEXT NOT "
           "NULL, expiry_date ") +
       date + ", status TEXT NOT NULL, PRIMARY KEY (sku, lot_code));\n";
  s += std::string("CREATE TABLE stock (id ") + id +
       " PRIMARY KEY, sku TEXT NOT NULL, location TEXT NOT NULL, lot_code "
       "TEXT, qty_on_hand NUMERIC NOT NULL, qty_reserved NUMERIC NOT NULL "
       "DEFAULT 0, received_at " +
       date + ");\n";
  s += "CREATE INDEX stock_by_sku ON stock (sku);\n";
  s += "CREATE TABLE carrier_services (code TEXT PRIMARY KEY, carrier TEXT "
       "NOT NULL, name TEXT, hazmat_allowed INTEGER NOT NULL, max_weight_kg "
       "NUMERIC, cutoff_time TEXT);\n";
  s += std::string("CREATE TABLE orders (id ") + id +
       " PRIMARY KEY, order_no TEXT NOT NULL UNIQUE, site TEXT NOT NULL, "
       "provider TEXT, customer_code TEXT NOT NULL, customer_po TEXT, "
       "ship_name TEXT, ship_street TEXT, ship_city TEXT, ship_postcode TEXT, "
       "ship_country TEXT, carrier TEXT, service TEXT, ship_date " +
       date + ", created_at " + ts + " NOT NULL, released_at " + ts +
       ", priority INTEGER NOT NULL DEFAULT 0, status TEXT NOT NULL, on_hold "
       "INTEGER NOT NULL DEFAULT 0);\n";
  s += "CREATE INDEX orders_by_status ON orders (status);\n";
  s += "CREATE INDEX orders_by_customer ON orders (customer_code, "
       "created_at);\n";
  s += std::string("CREATE TABLE order_lines (id ") + id +
       " PRIMARY KEY, order_id " + id +
       " NOT NULL, line_no INTEGER NOT NULL, sku TEXT NOT NULL, qty NUMERIC "
       "NOT NULL, uom TEXT NOT NULL, pick_location TEXT, lot_code TEXT);\n";
  s += "CREATE INDEX order_lines_by_order ON order_lines (order_id);\n";
  return s;
}

Warehouse GenerateWarehouse(int64_t n_orders, uint64_t seed, int64_t today) {
  Random rnd(seed);
  Warehouse w;
  w.tables.reserve(16);  // the references below stay valid
  auto table = [&](const std::string& name,
                   std::vector<std::string> cols) -> Table& {
    w.tables.push_back({name, std::move(cols), {}});
    return w.tables.back();
  };
  const std::string& N = NullText();

  Table& sites = table("sites", {"code", "name", "timezone"});
  sites.rows.push_back({"PAR1", "Paris Nord", "Europe/Paris"});

  Table& uoms = table("uoms", {"code", "category", "factor", "rounding"});
  uoms.rows.push_back({"EA", "unit", "1", "1"});
  uoms.rows.push_back({"CS", "unit", "1", "1"});
  uoms.rows.push_back({"KG", "weight", "1", "0.001"});

  // Expected units a SKU is asked for in the wave (5 lines per order,
  // about 15 units per line), for sizing the stock.
  const double demand = static_cast<double>(n_orders) * 5.0 / kSkus * 15.0;

  Table& locations =
      table("locations", {"code", "zone", "parent", "pickable", "blocked"});
  for (int b = 1; b <= 40; ++b) {
    locations.rows.push_back({Fmt("BULK-%02lld", b), "BULK", N, "0", "0"});
  }
  for (int b = 1; b <= kBlockedLocations; ++b) {
    locations.rows.push_back({Fmt("BLK-%02lld", b), "A", N, "1", "1"});
  }

  std::vector<Item> items(kSkus);
  Table& item_t = table("items", {"sku", "description", "active", "base_uom",
                                  "lot_tracked", "hazmat_class", "weight_kg",
                                  "volume_m3", "min_shelf_life_days"});
  Table& packs = table("item_packs", {"sku", "uom", "qty_per_pack"});
  Table& lots = table("lots", {"sku", "lot_code", "expiry_date", "status"});
  Table& stock = table("stock", {"id", "sku", "location", "lot_code",
                                 "qty_on_hand", "qty_reserved", "received_at"});
  int64_t stock_id = 0;
  std::vector<int> lot_skus, hazmat_skus, inactive_skus, expired_skus,
      quarantine_skus, regular_skus;
  for (int i = 0; i < kSkus; ++i) {
    Item& it = items[i];
    it.sku = Fmt("SKU-%06lld", i + 1);
    it.active = !rnd.Chance(0.02);
    it.lot_tracked = rnd.Chance(0.3);
    it.hazmat = !it.lot_tracked && rnd.Chance(0.03);
    it.weight_g = static_cast<int>(rnd.Int(100, 2000));
    it.case_qty =
        static_cast<int>(std::vector<int64_t>{6, 12, 24}[rnd.Next() % 3]);
    item_t.rows.push_back({it.sku, "Article " + std::to_string(i + 1),
                           it.active ? "1" : "0", "EA",
                           it.lot_tracked ? "1" : "0", it.hazmat ? "3" : N,
                           Grams(it.weight_g), "0.002", N});
    packs.rows.push_back({it.sku, "CS", std::to_string(it.case_qty)});
    const std::string face = Fmt("P-%05lld", i + 1);
    locations.rows.push_back({face, i % 2 ? "A" : "B", N, "1", "0"});
    const std::string bulk = Fmt("BULK-%02lld", i % 40 + 1);
    int64_t on_hand = std::max<int64_t>(
        100, static_cast<int64_t>(demand * (1.0 + rnd.Int(0, 200) / 100.0)));
    int64_t reserved = rnd.Chance(0.1) ? rnd.Int(1, 30) : 0;
    auto add_stock = [&](const std::string& loc, const std::string& lot,
                         int64_t qty, int64_t res) {
      stock.rows.push_back({std::to_string(++stock_id), it.sku, loc, lot,
                            std::to_string(qty), std::to_string(res),
                            FormatDate(today - rnd.Int(5, 90))});
    };
    if (it.lot_tracked) {
      for (int l = 0; l < 2; ++l) {
        std::string code = Fmt("L%06lld", i * 10 + l);
        lots.rows.push_back(
            {it.sku, code, FormatDate(today + rnd.Int(200, 700)), "released"});
        int64_t part = l == 0 ? on_hand / 2 : on_hand - on_hand / 2;
        add_stock(face, code, part, l == 0 ? reserved : 0);
        if (l == 0) add_stock(bulk, code, 500, 0);
      }
      if (rnd.Chance(0.1)) {
        it.expired_lot = Fmt("L%06lld", i * 10 + 7);
        lots.rows.push_back({it.sku, it.expired_lot,
                             FormatDate(today - rnd.Int(5, 60)), "released"});
        add_stock(face, it.expired_lot, 60, 0);
        expired_skus.push_back(i);
      } else if (rnd.Chance(0.06)) {
        it.quarantine_lot = Fmt("Q%06lld", i * 10 + 8);
        lots.rows.push_back({it.sku, it.quarantine_lot,
                             FormatDate(today + rnd.Int(200, 700)),
                             "quarantine"});
        add_stock(face, it.quarantine_lot, 60, 0);
        quarantine_skus.push_back(i);
      }
      lot_skus.push_back(i);
    } else {
      add_stock(face, N, on_hand, reserved);
      add_stock(bulk, N, 1000, 0);
    }
    it.pick_stock = on_hand - reserved;
    if (!it.active) {
      inactive_skus.push_back(i);
    } else if (it.hazmat) {
      hazmat_skus.push_back(i);
    } else {
      regular_skus.push_back(i);
    }
  }

  Table& carriers =
      table("carrier_services", {"code", "carrier", "name", "hazmat_allowed",
                                 "max_weight_kg", "cutoff_time"});
  carriers.rows.push_back(
      {"DPD-CLASSIC", "DPD", "DPD Classic", "0", "31.5", N});
  carriers.rows.push_back(
      {"GEODIS-PALLET", "GEODIS", "Geodis pallet", "1", "2000", N});

  Table& cust_t =
      table("customers", {"code", "name", "country", "blocked", "credit_hold",
                          "hold_reason", "min_shelf_life_days"});
  std::vector<Customer> customers(kCustomers);
  std::vector<int> held_customers, good_customers;
  for (int c = 0; c < kCustomers; ++c) {
    Customer& cu = customers[c];
    cu.code = Fmt("C%05lld", c + 1);
    bool de = rnd.Chance(0.35);
    cu.country = de ? "DE" : "FR";
    const char* const* city =
        de ? kDeCities[rnd.Next() % 4] : kFrCities[rnd.Next() % 5];
    cu.postcode = city[0];
    cu.city = city[1];
    cu.street = de ? "Hauptstraße " + std::to_string(rnd.Int(1, 200))
                   : std::to_string(rnd.Int(1, 200)) + " rue de la Gare";
    cu.credit_hold = rnd.Chance(0.01);
    cust_t.rows.push_back({cu.code, "Customer " + std::to_string(c + 1),
                           cu.country, "0", cu.credit_hold ? "1" : "0",
                           cu.credit_hold ? "invoices overdue" : N, N});
    (cu.credit_hold ? held_customers : good_customers).push_back(c);
  }

  Table& orders =
      table("orders",
            {"id", "order_no", "site", "provider", "customer_code",
             "customer_po", "ship_name", "ship_street", "ship_city",
             "ship_postcode", "ship_country", "carrier", "service", "ship_date",
             "created_at", "released_at", "priority", "status", "on_hold"});
  Table& lines_t =
      table("order_lines", {"id", "order_id", "line_no", "sku", "qty", "uom",
                            "pick_location", "lot_code"});
  static const char* const kKinds[] = {
      "item.unknown",       "item.inactive",      "qty.invalid",
      "uom.mismatch",       "stock.short",        "location.mismatch",
      "lot.missing",        "lot.expired",        "lot.quarantine",
      "address.incomplete", "carrier.constraint", "customer.hold"};
  int64_t line_id = 0;
  std::vector<int> picked;
  for (int64_t k = 0; k < n_orders; ++k) {
    const bool plant = rnd.Chance(0.2);
    const std::string kind = plant ? kKinds[rnd.Next() % 12] : "";
    int cidx = kind == "customer.hold" && !held_customers.empty()
                   ? held_customers[rnd.Next() % held_customers.size()]
                   : good_customers[rnd.Next() % good_customers.size()];
    const Customer& cu = customers[cidx];
    // Lines: distinct regular SKUs.
    int n = static_cast<int>(rnd.Int(1, 9));
    picked.clear();
    while (static_cast<int>(picked.size()) < n) {
      int s = regular_skus[rnd.Next() % regular_skus.size()];
      if (std::find(picked.begin(), picked.end(), s) == picked.end()) {
        picked.push_back(s);
      }
    }
    std::vector<LineOut> lines;
    for (int s : picked) {
      const Item& it = items[s];
      LineOut l;
      l.sku = it.sku;
      int64_t units;
      if (rnd.Chance(0.2)) {
        int64_t q = rnd.Int(1, 4);
        l.qty = std::to_string(q);
        l.uom = "CS";
        units = q * it.case_qty;
      } else {
        units = rnd.Int(1, 20);
        l.qty = std::to_string(units);
        l.uom = "EA";
      }
      l.grams = units * it.weight_g;
      lines.push_back(l);
    }
    std::string street = cu.street, postcode = cu.postcode;
    // The planted defect, on a random line.
    LineOut& target = lines[rnd.Next() % lines.size()];
    auto replace_item = [&](const std::vector<int>& pool) {
      if (pool.empty()) return;
      int s = pool[rnd.Next() % pool.size()];
      for (const LineOut& l : lines) {
        if (l.sku == items[s].sku) return;
      }
      target.sku = items[s].sku;
      target.uom = "EA";
      int64_t q = rnd.Int(1, 10);
      target.qty = std::to_string(q);
      target.grams = q * items[s].weight_g;
      target.hazmat = items[s].hazmat;
    };
    if (kind == "item.unknown") {
      target.sku = Fmt("SKU-X%05lld", k % 100000);
      target.grams = 0;
    } else if (kind == "item.inactive") {
      replace_item(inactive_skus);
    } else if (kind == "qty.invalid") {
      target.qty = rnd.Chance(0.5) ? "0" : "2.5";
      target.uom = "EA";
      target.grams = 0;
    } else if (kind == "uom.mismatch") {
      target.uom = "KG";
      target.grams = 0;
    } else if (kind == "stock.short") {
      int s = regular_skus[rnd.Next() % regular_skus.size()];
      bool dup = false;
      for (const LineOut& l : lines) dup |= l.sku == items[s].sku;
      if (!dup) {
        target.sku = items[s].sku;
        target.uom = "EA";
        int64_t q = items[s].pick_stock + rnd.Int(100, 900);
        target.qty = std::to_string(q);
        target.grams = q * items[s].weight_g;
      }
    } else if (kind == "location.mismatch") {
      target.location = Fmt("BLK-%02lld", rnd.Int(1, kBlockedLocations));
    } else if (kind == "lot.missing" || kind == "lot.expired" ||
               kind == "lot.quarantine") {
      const auto& pool = kind == "lot.missing"   ? lot_skus
                         : kind == "lot.expired" ? expired_skus
                                                 : quarantine_skus;
      replace_item(pool);
      const Item* it = nullptr;
      for (const Item& cand : items) {
        if (cand.sku == target.sku) {
          it = &cand;
          break;
        }
      }
      if (it != nullptr && it->lot_tracked) {
        target.lot = kind == "lot.missing"   ? "LX-" + std::to_string(k)
                     : kind == "lot.expired" ? it->expired_lot
                                             : it->quarantine_lot;
      }
    } else if (kind == "address.incomplete") {
      if (rnd.Chance(0.5)) {
        street = N;
      } else {
        postcode = postcode.substr(0, 4);
      }
    } else if (kind == "carrier.constraint") {
      replace_item(hazmat_skus);
    }
    int64_t grams = 0;
    bool hazmat = false;
    for (const LineOut& l : lines) {
      grams += l.grams;
      hazmat |= l.hazmat;
    }
    std::string service =
        hazmat || grams > 30000 ? "GEODIS-PALLET" : "DPD-CLASSIC";
    if (kind == "carrier.constraint") service = "DPD-CLASSIC";
    if (plant) ++w.planted;
    const int64_t id = k + 1;
    const int64_t minute = 6 * 60 + (k * 7) % (12 * 60);
    const std::string created = FormatDate(today) +
                                Fmt(" %02lld", minute / 60) +
                                Fmt(":%02lld:00", minute % 60);
    orders.rows.push_back({std::to_string(id), Fmt("SO-%07lld", id), "PAR1",
                           rnd.Chance(0.3) ? "3PL-NORD" : "own", cu.code,
                           Fmt("PO-%07lld", id), "Customer", street, cu.city,
                           postcode, cu.country,
                           service.substr(0, service.find('-')), service,
                           FormatDate(today + rnd.Int(1, 3)), created, created,
                           std::to_string(rnd.Int(0, 2)), "released", "0"});
    int line_no = 0;
    for (const LineOut& l : lines) {
      lines_t.rows.push_back({std::to_string(++line_id), std::to_string(id),
                              std::to_string(++line_no), l.sku, l.qty, l.uom,
                              l.location.empty() ? N : l.location,
                              l.lot.empty() ? N : l.lot});
    }
  }
  w.orders = n_orders;
  w.lines = line_id;
  return w;
}

}  // namespace rftgate::bench
