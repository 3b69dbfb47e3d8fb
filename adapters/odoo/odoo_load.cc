#include "adapters/odoo/odoo_load.h"

#include <algorithm>
#include <deque>
#include <optional>
#include <set>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace rftgate::odoo {
namespace {

using adapters::Database;
using adapters::Param;
using adapters::SqlBuilder;
using adapters::Text;
using Cell = std::optional<std::string>;
using Row = std::vector<Cell>;

constexpr size_t kBatch = 1000;

std::vector<Row> Fetch(Database& db, SqlBuilder b, size_t columns) {
  std::vector<Row> rows;
  db.Query(b.sql, std::move(b.params), columns, kBatch,
           [&](const adapters::TextBatch& batch) {
             for (size_t r = 0; r < batch.rows(); ++r) {
               Row row(columns);
               for (size_t c = 0; c < columns; ++c) {
                 if (!batch.IsNull(r, c)) row[c] = std::string(batch.At(r, c));
               }
               rows.push_back(std::move(row));
             }
           });
  return rows;
}

int64_t Id(const Cell& c) {
  if (!c) return 0;
  return adapters::ParseInteger(*c).value_or(0);
}

rft_str S(const Cell& c) { return c ? adapter::Str(*c) : adapter::NullStr(); }

rft_str S(const std::string& s) { return adapter::Str(s); }

rft_decimal Dec(const Cell& c) {
  if (!c) return adapter::NullDecimal();
  auto d = adapters::ParseDecimal(*c);
  return d ? *d : adapter::NullDecimal();
}

// Odoo's Datetime columns are timestamps without zone holding UTC.
rft_time UtcTime(const Cell& c) {
  if (!c) return adapter::NoTime();
  auto t = adapters::ParseTime(*c, adapters::TimestampMode::kUtc);
  return t ? *t : adapter::NoTime();
}

bool Truthy(const Cell& c) {
  return c && adapters::ParseFlag(*c) == RFT_FLAG_YES;
}

template <typename Record>
void PutAll(adapter::Sink& sink, rft_record_kind kind,
            const std::vector<Record>& records, const adapter::Call& call) {
  for (size_t start = 0; start < records.size(); start += kBatch) {
    call.ThrowIfStopped();
    size_t n = std::min(kBatch, records.size() - start);
    sink.Put(kind, records.data() + start, n);
  }
}

// Names made unique: a name seen for several ids gets " (#id)" appended;
// an absent name becomes "#id".
std::unordered_map<int64_t, std::string> UniqueNames(
    const std::vector<std::pair<int64_t, Cell>>& named) {
  std::map<std::string, int> count;
  for (const auto& [id, name] : named) {
    if (name && !name->empty()) ++count[*name];
  }
  std::unordered_map<int64_t, std::string> out;
  for (const auto& [id, name] : named) {
    if (!name || name->empty()) {
      out[id] = fmt::format("#{}", id);
    } else if (count[*name] > 1) {
      out[id] = fmt::format("{} (#{})", *name, id);
    } else {
      out[id] = *name;
    }
  }
  return out;
}

int32_t RemovalFromMethod(const Cell& method) {
  if (!method) return RFT_REMOVAL_DEFAULT;
  if (*method == "fefo") return RFT_REMOVAL_FEFO;
  if (*method == "fifo" || *method == "least_packages") {
    return RFT_REMOVAL_FIFO;
  }
  // lifo and closest: the stock rows are put in Odoo's removal order.
  return RFT_REMOVAL_AS_LISTED;
}

struct OrderData {
  int64_t id = 0;
  std::string ref;
  std::string stable_id;
  Cell site, customer, origin, ship_to_name, street, city, zip, country,
      carrier, state;
  rft_time ship_date{}, created_at{};
  int32_t priority = 0;
  int64_t source_location = 0;
};

struct LineData {
  int64_t picking_id = 0;
  int64_t move_id = 0;
  int32_t line_no = 0;
  std::string order_ref, line_ref;
  int64_t product_id = 0, uom_id = 0, location_id = 0, lot_id = 0;
  Cell qty;
};

struct StockData {
  int64_t product_id = 0, location_id = 0, lot_id = 0, quant_id = 0;
  Cell on_hand, reserved, in_date;
};

struct LocationData {
  int64_t id = 0, parent_id = 0;
  Cell complete_name, usage, active, scrap, method, warehouse;
  std::string code;
  bool quarantine = false;
};

}  // namespace

std::string IntArray(const std::vector<int64_t>& ids) {
  std::string s = "{";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) s += ',';
    s += std::to_string(ids[i]);
  }
  return s + "}";
}

uint64_t LoadWave(Database& db, const OdooSchema& schema,
                  const OdooOptions& options, const rft_selection& selection,
                  adapter::Sink& sink, const adapter::Call& call,
                  const adapter::Logger& log,
                  std::map<std::string, int64_t>* picking_ids) {
  // ------------------------------------------------------------ transfers
  std::vector<OrderData> orders;
  {
    // A bound value is used once in the statement: SOCI numbers every
    // placeholder it meets.
    SqlBuilder b;
    const bool carrier = schema.has_carrier;
    const std::string ship = options.ship_date_deadline
                                 ? "COALESCE(p.date_deadline, p.scheduled_date)"
                                 : "p.scheduled_date";
    b << "SELECT CAST(p.id AS text), p.name, w.code, CAST(rp.id AS text), "
         "p.origin, CASE WHEN rpp.id IS NOT NULL AND rp.name IS NOT NULL "
         "THEN rpp.name || ', ' || rp.name ELSE COALESCE(rp.name, rpp.name) "
         "END, NULLIF(concat_ws(', ', NULLIF(rp.street, ''), "
         "NULLIF(rp.street2, '')), ''), rp.city, rp.zip, c.code, "
      << (carrier
              ? schema.Name("delivery_carrier", "dc", "name", b, options.lang)
              : std::string("CAST(NULL AS text)"))
      << ", CAST(" << ship
      << " AS text), CAST(p.date AS text), p.priority, p.state, "
         "CAST(p.location_id AS text) FROM stock_picking p JOIN "
         "stock_picking_type t ON t.id = p.picking_type_id LEFT JOIN "
         "stock_warehouse w ON w.id = t.warehouse_id LEFT JOIN LATERAL "
         "(SELECT o.partner_id"
      << (carrier ? ", o.carrier_id" : "")
      << " FROM stock_picking o JOIN stock_picking_type ot ON ot.id = "
         "o.picking_type_id WHERE p.group_id IS NOT NULL AND o.group_id = "
         "p.group_id AND ot.code = 'outgoing' AND o.state <> 'cancel' ORDER "
         "BY o.id LIMIT 1) fin ON TRUE LEFT JOIN res_partner rp ON rp.id = "
         "COALESCE(p.partner_id, fin.partner_id) LEFT JOIN res_partner rpp ON "
         "rpp.id = rp.parent_id LEFT JOIN res_country c ON c.id = "
         "rp.country_id ";
    if (carrier) {
      b << "LEFT JOIN delivery_carrier dc ON dc.id = COALESCE(p.carrier_id, "
           "fin.carrier_id) ";
    }
    std::string types;
    if (!options.picking_type_ids.empty()) {
      types = "CAST(" + b.Bind(Text(IntArray(options.picking_type_ids))) +
              " AS int[])";
      types = "p.picking_type_id = ANY(" + types + ")";
    } else {
      types =
          "p.picking_type_id IN (SELECT CASE w2.delivery_steps WHEN "
          "'ship_only' THEN w2.out_type_id ELSE w2.pick_type_id END FROM "
          "stock_warehouse w2 WHERE w2.active IS NOT FALSE)";
    }
    switch (selection.mode) {
      case RFT_SELECT_REFS: {
        nlohmann::json refs = nlohmann::json::array();
        for (size_t i = 0; i < selection.ref_count; ++i) {
          refs.push_back(std::string(adapter::View(selection.refs[i])));
        }
        b << "WHERE p.name IN (SELECT jsonb_array_elements_text(CAST("
          << b.Bind(Text(refs.dump())) << " AS jsonb)))";
        break;
      }
      case RFT_SELECT_RANGE: {
        if (selection.from.kind != RFT_TIME_DATE ||
            selection.to.kind != RFT_TIME_DATE) {
          throw adapter::Error(RFT_ERR_INVALID_ARGUMENT,
                               "load: a date range needs two calendar dates");
        }
        b << "WHERE " << types
          << " AND p.state NOT IN ('draft', 'cancel') AND p.date >= CAST("
          << b.Bind(Text(adapters::FormatDate(selection.from.value)))
          << " AS timestamp) AND p.date < CAST("
          << b.Bind(Text(adapters::FormatDate(selection.to.value)))
          << " AS timestamp) + interval '1 day'";
        break;
      }
      default: {
        std::string states = "{";
        for (size_t i = 0; i < options.states.size(); ++i) {
          states += (i ? "," : "") + options.states[i];
        }
        states += "}";
        b << "WHERE " << types << " AND p.state = ANY(CAST("
          << b.Bind(Text(states)) << " AS text[]))";
        break;
      }
    }
    if (!options.company_ids.empty()) {
      b << " AND p.company_id = ANY(CAST("
        << b.Bind(Text(IntArray(options.company_ids))) << " AS int[]))";
    }
    b << " ORDER BY p.id";
    if (selection.max_orders > 0 && selection.mode != RFT_SELECT_REFS) {
      b << " LIMIT " << std::to_string(selection.max_orders);
    }
    std::map<std::string, size_t> by_name;
    for (auto& r : Fetch(db, std::move(b), 16)) {
      OrderData o;
      o.id = Id(r[0]);
      o.stable_id = r[0].value_or("");
      o.ref = r[1].value_or(fmt::format("stock.picking({})", o.id));
      if (by_name.count(o.ref)) {
        log.Warn(fmt::format(
            "odoo: transfer name {} is used by transfers {} and {} (several "
            "companies?); checking the first only; set options.company_ids",
            o.ref, orders[by_name[o.ref]].id, o.id));
        continue;
      }
      o.site = r[2];
      o.customer = r[3];
      o.origin = r[4];
      o.ship_to_name = r[5];
      o.street = r[6];
      o.city = r[7];
      o.zip = r[8];
      o.country = r[9];
      o.carrier = r[10];
      o.ship_date = UtcTime(r[11]);
      o.created_at = UtcTime(r[12]);
      o.priority = static_cast<int32_t>(
          r[13] ? adapters::ParseInteger(*r[13]).value_or(0) : 0);
      o.state = r[14];
      o.source_location = Id(r[15]);
      by_name[o.ref] = orders.size();
      orders.push_back(std::move(o));
    }
  }
  picking_ids->clear();
  std::vector<int64_t> order_ids;
  std::unordered_map<int64_t, size_t> order_by_id;
  for (size_t i = 0; i < orders.size(); ++i) {
    order_ids.push_back(orders[i].id);
    order_by_id[orders[i].id] = i;
    (*picking_ids)[orders[i].ref] = orders[i].id;
  }
  const std::string order_array = IntArray(order_ids);
  call.ThrowIfStopped();

  // ------------------------------------------------------ moves = lines
  std::vector<LineData> lines;
  std::unordered_map<int64_t, size_t> line_by_move;
  size_t not_stocked = 0;
  {
    SqlBuilder b;
    b << "SELECT CAST(m.picking_id AS text), CAST(m.id AS text), "
         "CAST(m.product_id AS text), CAST(m.product_uom_qty AS text), "
         "CAST(m.product_uom AS text), CAST(m.location_id AS text), m.state, "
         "CAST(ml.n_loc AS text), CAST(ml.one_loc AS text), CAST(ml.n_lot AS "
         "text), CAST(ml.one_lot AS text), CAST(ml.lotless AS text), pt.type "
         "FROM stock_move m JOIN product_product pp ON pp.id = m.product_id "
         "JOIN product_template pt ON pt.id = pp.product_tmpl_id LEFT JOIN "
         "(SELECT move_id, count(DISTINCT location_id) AS n_loc, "
         "min(location_id) AS one_loc, count(DISTINCT lot_id) AS n_lot, "
         "min(lot_id) AS one_lot, bool_or(lot_id IS NULL) AS lotless FROM "
         "stock_move_line WHERE picking_id = ANY(CAST("
      << b.Bind(Text(order_array))
      << " AS int[])) AND move_id IS NOT NULL GROUP BY move_id) ml ON "
         "ml.move_id = m.id WHERE m.picking_id = ANY(CAST("
      << b.Bind(Text(order_array))
      << " AS int[])) AND m.state <> 'cancel' ORDER BY m.picking_id, "
         "m.sequence, m.id";
    std::unordered_map<int64_t, int32_t> next_no;
    for (auto& r : Fetch(db, std::move(b), 13)) {
      LineData l;
      l.picking_id = Id(r[0]);
      l.move_id = Id(r[1]);
      l.line_no = ++next_no[l.picking_id];
      if (r[12] && *r[12] != "product") {
        // Consumables and services keep no stock in Odoo.
        ++not_stocked;
        continue;
      }
      auto o = order_by_id.find(l.picking_id);
      if (o == order_by_id.end()) continue;
      l.order_ref = orders[o->second].ref;
      l.line_ref = r[1].value_or("");
      l.product_id = Id(r[2]);
      l.qty = r[3];
      l.uom_id = Id(r[4]);
      // Where Odoo reserved the whole move at one location (and lot), that
      // is the assigned pick location (lot); otherwise the move may take
      // stock anywhere under its source location.
      const bool assigned = r[6] && *r[6] == "assigned";
      l.location_id = Id(r[5]);
      if (assigned && Id(r[7]) == 1) l.location_id = Id(r[8]);
      if (assigned && Id(r[9]) == 1 && !Truthy(r[11])) l.lot_id = Id(r[10]);
      line_by_move[l.move_id] = lines.size();
      lines.push_back(std::move(l));
    }
  }
  if (not_stocked > 0) {
    log.Debug(fmt::format(
        "odoo: {} move(s) of consumable or service products not checked "
        "(Odoo keeps no stock of them)",
        not_stocked));
  }
  call.ThrowIfStopped();

  // ------------------------------------------- move lines = reservations
  struct ReservationData {
    size_t line = 0;
    int64_t location_id = 0, lot_id = 0;
    Cell qty;
  };
  std::vector<ReservationData> reservations;
  {
    const char* qty =
        schema.version == 17 ? "ml.quantity_product_uom" : "ml.reserved_qty";
    SqlBuilder b;
    b << "SELECT CAST(ml.move_id AS text), CAST(ml.location_id AS text), "
         "CAST(ml.lot_id AS text), CAST("
      << qty
      << " AS text) FROM stock_move_line ml WHERE ml.picking_id = ANY(CAST("
      << b.Bind(Text(order_array))
      << " AS int[])) AND ml.move_id IS NOT NULL AND COALESCE(ml.state, '') "
         "NOT IN ('done', 'cancel') ORDER BY ml.id";
    for (auto& r : Fetch(db, std::move(b), 4)) {
      auto it = line_by_move.find(Id(r[0]));
      if (it == line_by_move.end()) continue;
      ReservationData res;
      res.line = it->second;
      res.location_id = Id(r[1]);
      res.lot_id = Id(r[2]);
      res.qty = r[3];
      rft_decimal d = Dec(res.qty);
      if (d.is_null || d.mantissa == 0) continue;
      reservations.push_back(std::move(res));
    }
  }
  call.ThrowIfStopped();

  std::set<int64_t> product_set, location_set, lot_set, partner_set;
  for (const auto& o : orders) {
    location_set.insert(o.source_location);
    if (o.customer) partner_set.insert(Id(o.customer));
  }
  for (const auto& l : lines) {
    product_set.insert(l.product_id);
    location_set.insert(l.location_id);
    if (l.lot_id) lot_set.insert(l.lot_id);
  }
  std::set<int64_t> reserved_locations;
  for (const auto& r : reservations) {
    location_set.insert(r.location_id);
    reserved_locations.insert(r.location_id);
    if (r.lot_id) lot_set.insert(r.lot_id);
  }
  const std::vector<int64_t> product_ids(product_set.begin(),
                                         product_set.end());
  const std::string product_array = IntArray(product_ids);
  std::vector<int64_t> roots;
  for (const auto& o : orders) roots.push_back(o.source_location);

  // ---------------------------------------------------------------- units
  struct UnitData {
    int64_t id = 0;
    Cell name, category, factor, rounding;
  };
  std::vector<UnitData> units;
  {
    SqlBuilder b;
    b << "SELECT CAST(u.id AS text), "
      << schema.Name("uom_uom", "u", "name", b, options.lang) << ", "
      << schema.Name("uom_category", "c", "name", b, options.lang)
      << ", CAST(u.factor AS text), CAST(u.rounding AS text), "
         "CAST(u.category_id AS text) FROM uom_uom u LEFT JOIN uom_category c "
         "ON c.id = u.category_id ORDER BY u.id";
    for (auto& r : Fetch(db, std::move(b), 6)) {
      UnitData u;
      u.id = Id(r[0]);
      u.name = r[1];
      u.category = r[2] ? r[2] : Cell(fmt::format("#{}", Id(r[5])));
      u.factor = r[3];
      u.rounding = r[4];
      units.push_back(std::move(u));
    }
  }
  std::vector<std::pair<int64_t, Cell>> unit_names;
  for (const auto& u : units) unit_names.push_back({u.id, u.name});
  auto unit_code = UniqueNames(unit_names);
  call.ThrowIfStopped();

  // ------------------------------------------------------------- products
  struct ItemData {
    int64_t id = 0;
    std::string sku;
    Cell name, active, tracking, weight, method;
    int64_t uom_id = 0;
    int32_t removal = RFT_REMOVAL_DEFAULT;
  };
  std::vector<ItemData> items;
  {
    SqlBuilder b;
    std::string weight = "CAST(NULL AS numeric)";
    if (schema.Has("product_product", "weight") &&
        schema.Has("product_template", "weight")) {
      weight = "COALESCE(NULLIF(pp.weight, 0), NULLIF(pt.weight, 0))";
    } else if (schema.Has("product_template", "weight")) {
      weight = "NULLIF(pt.weight, 0)";
    }
    b << "SELECT CAST(pp.id AS text), NULLIF(pp.default_code, ''), "
      << schema.Name("product_template", "pt", "name", b, options.lang)
      << ", CAST(COALESCE(pp.active, TRUE) AND COALESCE(pt.active, TRUE) AS "
         "text), pt.tracking, CAST(pt.uom_id AS text), CAST("
      << weight
      << " AS text), pr.method FROM product_product pp JOIN product_template "
         "pt ON pt.id = pp.product_tmpl_id LEFT JOIN product_category pc ON "
         "pc.id = pt.categ_id LEFT JOIN product_removal pr ON pr.id = "
         "pc.removal_strategy_id WHERE pp.id = ANY(CAST("
      << b.Bind(Text(product_array)) << " AS int[])) ORDER BY pp.id";
    std::vector<std::pair<int64_t, Cell>> codes;
    for (auto& r : Fetch(db, std::move(b), 8)) {
      ItemData it;
      it.id = Id(r[0]);
      it.name = r[2];
      it.active = r[3];
      it.tracking = r[4];
      it.uom_id = Id(r[5]);
      it.weight = r[6];
      it.method = r[7];
      codes.push_back({it.id, r[1] ? r[1] : r[2]});
      items.push_back(std::move(it));
    }
    auto skus = UniqueNames(codes);
    for (auto& it : items) it.sku = skus[it.id];
  }
  std::unordered_map<int64_t, size_t> item_by_id;
  for (size_t i = 0; i < items.size(); ++i) item_by_id[items[i].id] = i;
  call.ThrowIfStopped();

  // ---------------------------------------------------------------- quants
  std::vector<StockData> stock;
  {
    SqlBuilder b;
    b << "SELECT CAST(q.product_id AS text), CAST(q.location_id AS text), "
         "CAST(q.lot_id AS text), CAST(q.quantity AS text), "
         "CAST(q.reserved_quantity AS text), CAST(q.in_date AS text), "
         "CAST(q.id AS text) FROM stock_quant q JOIN stock_location l ON l.id "
         "= q.location_id WHERE q.product_id = ANY(CAST("
      << b.Bind(Text(product_array))
      << " AS int[])) AND ((l.usage = 'internal' AND l.parent_path LIKE ANY "
         "(SELECT r.parent_path || '%' FROM stock_location r WHERE r.id = "
         "ANY(CAST("
      << b.Bind(Text(IntArray(roots)))
      << " AS int[])) AND r.parent_path IS NOT NULL)) OR q.location_id = "
         "ANY(CAST("
      << b.Bind(Text(IntArray(std::vector<int64_t>(reserved_locations.begin(),
                                                   reserved_locations.end()))))
      << " AS int[])))";
    for (auto& r : Fetch(db, std::move(b), 7)) {
      StockData s;
      s.product_id = Id(r[0]);
      s.location_id = Id(r[1]);
      s.lot_id = Id(r[2]);
      s.on_hand = r[3];
      s.reserved = r[4];
      s.in_date = r[5];
      s.quant_id = Id(r[6]);
      location_set.insert(s.location_id);
      if (s.lot_id) lot_set.insert(s.lot_id);
      stock.push_back(std::move(s));
    }
  }
  call.ThrowIfStopped();

  // ------------------------------------------------------------- locations
  std::vector<LocationData> locations;
  {
    SqlBuilder b;
    const std::string ids_text = IntArray(
        std::vector<int64_t>(location_set.begin(), location_set.end()));
    const bool has_wh = schema.Has("stock_location", "warehouse_id");
    const bool has_scrap = schema.Has("stock_location", "scrap_location");
    b << "SELECT CAST(l.id AS text), CAST(l.location_id AS text), "
         "COALESCE(l.complete_name, l.name), l.usage, CAST(COALESCE(l.active, "
         "TRUE) AS text), "
      << (has_scrap ? "CAST(COALESCE(l.scrap_location, FALSE) AS text)"
                    : "'false'")
      << ", pr.method, " << (has_wh ? "w.code" : "CAST(NULL AS text)")
      << " FROM stock_location l LEFT JOIN product_removal pr ON pr.id = "
         "l.removal_strategy_id "
      << (has_wh ? "LEFT JOIN stock_warehouse w ON w.id = l.warehouse_id " : "")
      << "WHERE l.id = ANY(CAST(" << b.Bind(Text(ids_text))
      << " AS int[])) OR l.id IN (SELECT CAST(x AS int) FROM stock_location s "
         "CROSS JOIN LATERAL unnest(string_to_array(trim(trailing '/' FROM "
         "s.parent_path), '/')) AS x WHERE s.id = ANY(CAST("
      << b.Bind(Text(ids_text)) << " AS int[])) AND x <> '') ORDER BY l.id";
    for (auto& r : Fetch(db, std::move(b), 8)) {
      LocationData l;
      l.id = Id(r[0]);
      l.parent_id = Id(r[1]);
      l.complete_name = r[2];
      l.usage = r[3];
      l.active = r[4];
      l.scrap = r[5];
      l.method = r[6];
      l.warehouse = r[7];
      locations.push_back(std::move(l));
    }
  }
  std::unordered_map<int64_t, size_t> location_by_id;
  {
    std::vector<std::pair<int64_t, Cell>> names;
    for (size_t i = 0; i < locations.size(); ++i) {
      location_by_id[locations[i].id] = i;
      names.push_back({locations[i].id, locations[i].complete_name});
    }
    auto codes = UniqueNames(names);
    for (auto& l : locations) {
      l.code = codes[l.id];
      for (const auto& q : options.quarantine_locations) {
        const std::string& n = l.complete_name.value_or("");
        if (n == q || (n.size() > q.size() && n.compare(0, q.size(), q) == 0 &&
                       n[q.size()] == '/')) {
          l.quarantine = true;
        }
      }
    }
  }
  auto location_code = [&](int64_t id) -> std::string {
    auto it = location_by_id.find(id);
    return it == location_by_id.end() ? fmt::format("#{}", id)
                                      : locations[it->second].code;
  };
  // Odoo's removal strategy: the product category's, else the nearest one
  // up the source location's parents, else FIFO.
  auto location_method = [&](int64_t id) -> Cell {
    for (int depth = 0; id != 0 && depth < 64; ++depth) {
      auto it = location_by_id.find(id);
      if (it == location_by_id.end()) break;
      if (locations[it->second].method) return locations[it->second].method;
      id = locations[it->second].parent_id;
    }
    return std::nullopt;
  };
  std::unordered_map<int64_t, int64_t> source_of_product;
  for (const auto& l : lines) {
    source_of_product.emplace(
        l.product_id, orders[order_by_id[l.picking_id]].source_location);
  }
  std::unordered_map<int64_t, std::string> method_of_product;
  for (auto& it : items) {
    Cell method = it.method;
    if (!method) method = location_method(source_of_product[it.id]);
    it.removal = method ? RemovalFromMethod(method) : RFT_REMOVAL_FIFO;
    method_of_product[it.id] = method.value_or("fifo");
  }
  call.ThrowIfStopped();

  // ------------------------------------------------------------------ lots
  struct LotData {
    int64_t id = 0, product_id = 0;
    Cell name, expiry, removal;
    bool quarantine = false;
  };
  std::vector<LotData> lots;
  {
    SqlBuilder b;
    b << "SELECT CAST(id AS text), name, CAST(product_id AS text), "
      << (schema.has_expiry ? "CAST(expiration_date AS text), "
                              "CAST(removal_date AS text)"
                            : "CAST(NULL AS text), CAST(NULL AS text)")
      << " FROM stock_lot WHERE id = ANY(CAST("
      << b.Bind(Text(
             IntArray(std::vector<int64_t>(lot_set.begin(), lot_set.end()))))
      << " AS int[])) ORDER BY id";
    for (auto& r : Fetch(db, std::move(b), 5)) {
      LotData l;
      l.id = Id(r[0]);
      l.name = r[1];
      l.product_id = Id(r[2]);
      l.expiry = r[3];
      l.removal = r[4];
      lots.push_back(std::move(l));
    }
  }
  std::unordered_map<int64_t, size_t> lot_by_id;
  for (size_t i = 0; i < lots.size(); ++i) lot_by_id[lots[i].id] = i;
  for (const auto& s : stock) {
    auto loc = location_by_id.find(s.location_id);
    auto lot = lot_by_id.find(s.lot_id);
    rft_decimal q = Dec(s.on_hand);
    if (loc != location_by_id.end() && locations[loc->second].quarantine &&
        lot != lot_by_id.end() && !q.is_null && q.mantissa > 0) {
      lots[lot->second].quarantine = true;
    }
  }
  auto lot_code = [&](int64_t id) -> Cell {
    if (id == 0) return std::nullopt;
    auto it = lot_by_id.find(id);
    if (it == lot_by_id.end() || !lots[it->second].name) {
      return fmt::format("#{}", id);
    }
    return lots[it->second].name;
  };
  auto sku_of = [&](int64_t product_id) -> std::string {
    auto it = item_by_id.find(product_id);
    return it == item_by_id.end() ? fmt::format("#{}", product_id)
                                  : items[it->second].sku;
  };
  call.ThrowIfStopped();

  // -------------------------------------------------------------- partners
  struct PartnerData {
    int64_t id = 0;
    Cell name, warn, warn_msg, parent_warn, parent_warn_msg, has_parent;
  };
  std::vector<PartnerData> partners;
  // Left out when no check that is on reads customers (the sink's needs).
  const bool want_partners = sink.Needs(RFT_CAP_CUSTOMERS);
  if (want_partners) {
    const bool warn = schema.Has("res_partner", "picking_warn");
    SqlBuilder b;
    b << "SELECT CAST(rp.id AS text), CASE WHEN par.id IS NOT NULL AND "
         "rp.name IS NOT NULL THEN par.name || ', ' || rp.name ELSE "
         "COALESCE(rp.name, par.name) END, "
      << (warn ? "rp.picking_warn, rp.picking_warn_msg, par.picking_warn, "
                 "par.picking_warn_msg"
               : "NULL, NULL, NULL, NULL")
      << ", CAST(par.id IS NOT NULL AS text) FROM res_partner rp LEFT JOIN "
         "res_partner par ON par.id = rp.parent_id WHERE rp.id = ANY(CAST("
      << b.Bind(Text(IntArray(
             std::vector<int64_t>(partner_set.begin(), partner_set.end()))))
      << " AS int[])) ORDER BY rp.id";
    for (auto& r : Fetch(db, std::move(b), 7)) {
      PartnerData p;
      p.id = Id(r[0]);
      p.name = r[1];
      p.warn = r[2];
      p.warn_msg = r[3];
      p.parent_warn = r[4];
      p.parent_warn_msg = r[5];
      p.has_parent = r[6];
      partners.push_back(std::move(p));
    }
  }
  call.ThrowIfStopped();

  // ------------------------------------------------------ past deliveries
  struct HistoryData {
    Cell ref, partner, qty, created;
    int64_t product_id = 0;
  };
  std::vector<HistoryData> history;
  const bool want_history = sink.Needs(RFT_CAP_HISTORY);
  if (want_history && !partner_set.empty() && !product_ids.empty()) {
    SqlBuilder b;
    b << "SELECT p.name, CAST(p.partner_id AS text), CAST(m.product_id AS "
         "text), CAST(m.product_qty AS text), CAST(p.date AS text) FROM "
         "stock_move m JOIN stock_picking p ON p.id = m.picking_id JOIN "
         "stock_location d ON d.id = m.location_dest_id WHERE m.state = "
         "'done' AND d.usage = 'customer' AND p.partner_id = ANY(CAST("
      << b.Bind(Text(IntArray(
             std::vector<int64_t>(partner_set.begin(), partner_set.end()))))
      << " AS int[])) AND m.product_id = ANY(CAST("
      << b.Bind(Text(product_array)) << " AS int[])) AND p.id <> ALL(CAST("
      << b.Bind(Text(order_array))
      << " AS int[])) AND m.date >= (now() AT TIME ZONE 'UTC') - CAST("
      << b.Bind(Text(std::to_string(options.history_days) + " days"))
      << " AS interval) ORDER BY p.id, m.id";
    for (auto& r : Fetch(db, std::move(b), 5)) {
      HistoryData h;
      h.ref = r[0];
      h.partner = r[1];
      h.product_id = Id(r[2]);
      h.qty = r[3];
      h.created = r[4];
      history.push_back(std::move(h));
    }
  }

  // ------------------------------------------------------------ put it all
  {
    std::vector<rft_order> recs;
    recs.reserve(orders.size());
    for (const auto& o : orders) {
      rft_order r{};
      r.struct_size = sizeof(rft_order);
      r.ref = S(o.ref);
      r.stable_id = S(o.stable_id);
      r.site = S(o.site);
      r.provider = options.provider ? S(*options.provider) : adapter::NullStr();
      r.customer_ref = S(o.customer);
      r.customer_order_ref = S(o.origin);
      r.ship_to_name = S(o.ship_to_name);
      r.street = S(o.street);
      r.city = S(o.city);
      r.postcode = S(o.zip);
      r.country = S(o.country);
      r.carrier = S(o.carrier);
      r.carrier_service = S(o.carrier);
      r.ship_date = o.ship_date;
      r.created_at = o.created_at;
      r.release_at = adapter::NoTime();
      r.priority = o.priority;
      r.status_text = S(o.state);
      recs.push_back(r);
    }
    PutAll(sink, RFT_REC_ORDER, recs, call);
  }
  {
    std::deque<std::string> keep;
    std::vector<rft_order_line> recs;
    for (const auto& l : lines) {
      rft_order_line r{};
      r.struct_size = sizeof(rft_order_line);
      r.line_no = l.line_no;
      r.order_ref = S(l.order_ref);
      r.line_ref = S(l.line_ref);
      r.sku = S(keep.emplace_back(sku_of(l.product_id)));
      r.qty = Dec(l.qty);
      auto u = unit_code.find(l.uom_id);
      r.uom = u == unit_code.end()
                  ? S(keep.emplace_back(fmt::format("#{}", l.uom_id)))
                  : S(u->second);
      r.location = S(keep.emplace_back(location_code(l.location_id)));
      Cell lot = lot_code(l.lot_id);
      r.lot = lot ? S(keep.emplace_back(*lot)) : adapter::NullStr();
      recs.push_back(r);
    }
    PutAll(sink, RFT_REC_LINE, recs, call);
  }
  {
    std::vector<rft_item> recs;
    std::deque<std::string> keep;
    for (const auto& it : items) {
      rft_item r{};
      r.struct_size = sizeof(rft_item);
      r.sku = S(it.sku);
      r.active = it.active ? adapters::ParseFlag(*it.active) : RFT_FLAG_UNKNOWN;
      const std::string tracking = it.tracking.value_or("none");
      r.lot_tracked = tracking == "lot" ? RFT_FLAG_YES : RFT_FLAG_NO;
      r.serial_tracked = tracking == "serial" ? RFT_FLAG_YES : RFT_FLAG_NO;
      r.removal_strategy = it.removal;
      auto u = unit_code.find(it.uom_id);
      r.base_uom = u == unit_code.end()
                       ? S(keep.emplace_back(fmt::format("#{}", it.uom_id)))
                       : S(u->second);
      r.hazmat_class = adapter::NullStr();
      r.unit_weight_kg = Dec(it.weight);
      r.unit_volume_m3 = adapter::NullDecimal();
      r.min_shelf_life_days = -1;
      r.description = S(it.name);
      recs.push_back(r);
    }
    PutAll(sink, RFT_REC_ITEM, recs, call);
  }
  {
    std::vector<rft_unit> recs;
    for (const auto& u : units) {
      rft_unit r{};
      r.struct_size = sizeof(rft_unit);
      r.factor_kind = RFT_FACTOR_DIVIDE;
      r.code = S(unit_code[u.id]);
      r.category = S(u.category);
      r.factor = Dec(u.factor);
      r.rounding = Dec(u.rounding);
      recs.push_back(r);
    }
    PutAll(sink, RFT_REC_UNIT, recs, call);
  }
  {
    // lifo and closest: put in Odoo's removal order (in_date desc / location
    // name); the engine keeps that order for AS_LISTED items.
    std::vector<size_t> order(stock.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    auto key = [&](size_t i) {
      const StockData& s = stock[i];
      const std::string& m = method_of_product[s.product_id];
      std::string primary;
      if (m == "closest") primary = location_code(s.location_id);
      return std::tuple(s.product_id, primary);
    };
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      auto ka = key(a), kb = key(b);
      if (ka != kb) return ka < kb;
      const StockData& sa = stock[a];
      const StockData& sb = stock[b];
      const bool lifo = method_of_product[sa.product_id] == "lifo";
      std::string da = sa.in_date.value_or(""), db2 = sb.in_date.value_or("");
      if (da != db2) return lifo ? da > db2 : da < db2;
      return lifo ? sa.quant_id > sb.quant_id : sa.quant_id < sb.quant_id;
    });
    std::deque<std::string> keep;
    std::vector<rft_stock> recs;
    for (size_t i : order) {
      const StockData& s = stock[i];
      rft_stock r{};
      r.struct_size = sizeof(rft_stock);
      r.sku = S(keep.emplace_back(sku_of(s.product_id)));
      r.location = S(keep.emplace_back(location_code(s.location_id)));
      Cell lot = lot_code(s.lot_id);
      r.lot = lot ? S(keep.emplace_back(*lot)) : adapter::NullStr();
      r.on_hand = Dec(s.on_hand);
      r.reserved_qty = Dec(s.reserved);
      r.in_date = UtcTime(s.in_date);
      recs.push_back(r);
    }
    PutAll(sink, RFT_REC_STOCK, recs, call);
  }
  {
    std::deque<std::string> keep;
    std::vector<rft_lot> recs;
    for (const auto& l : lots) {
      rft_lot r{};
      r.struct_size = sizeof(rft_lot);
      r.status = l.quarantine                           ? RFT_LOT_QUARANTINE
                 : options.quarantine_locations.empty() ? RFT_LOT_UNKNOWN
                                                        : RFT_LOT_RELEASED;
      r.sku = S(keep.emplace_back(sku_of(l.product_id)));
      r.lot = S(keep.emplace_back(*lot_code(l.id)));
      r.expiry = UtcTime(l.expiry);
      r.removal_date = UtcTime(l.removal);
      recs.push_back(r);
    }
    PutAll(sink, RFT_REC_LOT, recs, call);
  }
  {
    std::deque<std::string> keep;
    std::vector<rft_location> recs;
    for (const auto& l : locations) {
      rft_location r{};
      r.struct_size = sizeof(rft_location);
      const std::string usage = l.usage.value_or("");
      r.pickable =
          usage == "internal" && !Truthy(l.scrap) ? RFT_FLAG_YES : RFT_FLAG_NO;
      r.blocked = (l.active && adapters::ParseFlag(*l.active) == RFT_FLAG_NO) ||
                          l.quarantine
                      ? RFT_FLAG_YES
                      : RFT_FLAG_NO;
      r.code = S(l.code);
      r.zone = S(l.warehouse);
      r.parent = l.parent_id != 0 && location_by_id.count(l.parent_id)
                     ? S(keep.emplace_back(location_code(l.parent_id)))
                     : adapter::NullStr();
      recs.push_back(r);
    }
    PutAll(sink, RFT_REC_LOCATION, recs, call);
  }
  {
    std::vector<rft_customer> recs;
    std::deque<std::string> keep;
    for (const auto& p : partners) {
      // As Odoo's transfer form looks it up: the contact's own picking
      // warning; a contact without one ('no-message') takes its parent's;
      // a contact with a mere warning is still blocked by a blocking parent.
      // An unset warning (NULL, as rows written outside the ORM may have)
      // is Odoo's default, 'no-message'.
      const std::string own = p.warn.value_or("no-message");
      const std::string parent = p.parent_warn.value_or("");
      const bool has_parent = Truthy(p.has_parent);
      bool blocked = false;
      Cell reason;
      if (own == "block") {
        blocked = true;
        reason = p.warn_msg;
      } else if (has_parent && (own == "no-message" || own == "warning") &&
                 parent == "block") {
        blocked = true;
        reason = p.parent_warn_msg;
      }
      rft_customer r{};
      r.struct_size = sizeof(rft_customer);
      r.blocked = blocked ? RFT_FLAG_YES : RFT_FLAG_NO;
      r.credit_hold = RFT_FLAG_UNKNOWN;
      r.min_shelf_life_days = -1;
      r.ref = S(keep.emplace_back(std::to_string(p.id)));
      r.name = S(p.name);
      r.hold_reason =
          blocked ? S(keep.emplace_back(
                        reason && !reason->empty()
                            ? *reason
                            : std::string("picking warning set to block")))
                  : adapter::NullStr();
      recs.push_back(r);
    }
    PutAll(sink, RFT_REC_CUSTOMER, recs, call);
  }
  uint64_t caps = RFT_CAP_ITEMS | RFT_CAP_UNITS | RFT_CAP_STOCK | RFT_CAP_LOTS |
                  RFT_CAP_LOCATIONS | RFT_CAP_CUSTOMERS | RFT_CAP_RESERVATIONS |
                  RFT_CAP_HISTORY | RFT_CAP_WEIGHTS | RFT_CAP_ADDRESSES;
  if (!want_partners) caps &= ~static_cast<uint64_t>(RFT_CAP_CUSTOMERS);
  if (!want_history) caps &= ~static_cast<uint64_t>(RFT_CAP_HISTORY);
  if (!options.carriers.empty() && schema.has_carrier) {
    std::vector<rft_carrier_service> recs;
    for (const auto& [name, limits] : options.carriers) {
      rft_carrier_service r{};
      r.struct_size = sizeof(rft_carrier_service);
      r.hazmat_allowed = limits.hazmat_allowed;
      r.cutoff_minute = limits.cutoff_minute;
      r.carrier = S(name);
      r.code = S(name);
      r.max_parcel_weight_kg = limits.max_parcel_weight_kg
                                   ? Dec(limits.max_parcel_weight_kg)
                                   : adapter::NullDecimal();
      recs.push_back(r);
    }
    PutAll(sink, RFT_REC_CARRIER_SERVICE, recs, call);
    caps |= RFT_CAP_CARRIERS;
  }
  {
    std::deque<std::string> keep;
    std::vector<rft_reservation> recs;
    for (const auto& res : reservations) {
      const LineData& l = lines[res.line];
      rft_reservation r{};
      r.struct_size = sizeof(rft_reservation);
      r.line_no = l.line_no;
      r.order_ref = S(l.order_ref);
      r.location = S(keep.emplace_back(location_code(res.location_id)));
      Cell lot = lot_code(res.lot_id);
      r.lot = lot ? S(keep.emplace_back(*lot)) : adapter::NullStr();
      r.qty = Dec(res.qty);
      recs.push_back(r);
    }
    PutAll(sink, RFT_REC_RESERVATION, recs, call);
  }
  {
    std::deque<std::string> keep;
    std::vector<rft_history_line> recs;
    for (const auto& h : history) {
      rft_history_line r{};
      r.struct_size = sizeof(rft_history_line);
      r.order_ref = S(h.ref);
      r.customer_ref = S(h.partner);
      r.sku = S(keep.emplace_back(sku_of(h.product_id)));
      r.qty = Dec(h.qty);
      r.created_at = UtcTime(h.created);
      recs.push_back(r);
    }
    PutAll(sink, RFT_REC_HISTORY_LINE, recs, call);
  }
  sink.SetCapabilities(caps);
  log.Debug(fmt::format(
      "odoo {}: loaded {} transfers, {} moves, {} move lines, {} quants, {} "
      "lots, {} locations",
      schema.version, orders.size(), lines.size(), reservations.size(),
      stock.size(), lots.size(), locations.size()));
  return caps;
}

}  // namespace rftgate::odoo
