#include "bench/e2e/baselines.h"

#include <map>
#include <string>
#include <unordered_map>

namespace rftgate::bench {

const char* const kComparedChecks[] = {"item.unknown",
                                       "item.inactive",
                                       "qty.invalid",
                                       "uom.mismatch",
                                       "stock.short",
                                       "location.mismatch",
                                       "lot.missing",
                                       "lot.expired",
                                       "lot.quarantine",
                                       "address.incomplete",
                                       "carrier.constraint",
                                       "customer.hold",
                                       nullptr};

Pg::Pg(const std::string& conninfo) : conn_(PQconnectdb(conninfo.c_str())) {
  if (PQstatus(conn_) != CONNECTION_OK) {
    std::string m = PQerrorMessage(conn_);
    PQfinish(conn_);
    throw std::runtime_error("cannot connect to PostgreSQL: " + m);
  }
  PQsetNoticeProcessor(
      conn_, [](void*, const char*) {}, nullptr);
}

Pg::~Pg() { PQfinish(conn_); }

void Pg::Exec(const std::string& sql) {
  PGresult* r = PQexec(conn_, sql.c_str());
  ExecStatusType st = PQresultStatus(r);
  std::string m = PQresultErrorMessage(r);
  PQclear(r);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    throw std::runtime_error("PostgreSQL: " + m + "in: " + sql.substr(0, 200));
  }
}

std::vector<std::vector<std::string>> Pg::Query(
    const std::string& sql, const std::vector<std::string>& params) {
  std::vector<const char*> values;
  for (const auto& p : params) values.push_back(p.c_str());
  PGresult* r = PQexecParams(
      conn_, sql.c_str(), static_cast<int>(values.size()), nullptr,
      values.empty() ? nullptr : values.data(), nullptr, nullptr, 0);
  if (PQresultStatus(r) != PGRES_TUPLES_OK &&
      PQresultStatus(r) != PGRES_COMMAND_OK) {
    std::string m = PQresultErrorMessage(r);
    PQclear(r);
    throw std::runtime_error("PostgreSQL: " + m + "in: " + sql.substr(0, 200));
  }
  std::vector<std::vector<std::string>> rows(PQntuples(r));
  int cols = PQnfields(r);
  for (int i = 0; i < PQntuples(r); ++i) {
    rows[i].reserve(cols);
    for (int c = 0; c < cols; ++c) rows[i].emplace_back(PQgetvalue(r, i, c));
  }
  PQclear(r);
  return rows;
}

int64_t Pg::CopyOut(const std::string& query) {
  PGresult* start = PQexec(conn_, ("COPY (" + query + ") TO STDOUT").c_str());
  bool started = PQresultStatus(start) == PGRES_COPY_OUT;
  std::string why = PQresultErrorMessage(start);
  PQclear(start);
  if (!started) throw std::runtime_error("COPY out: " + why);
  int64_t bytes = 0;
  char* buf = nullptr;
  int n;
  while ((n = PQgetCopyData(conn_, &buf, 0)) > 0) {
    bytes += n;
    PQfreemem(buf);
  }
  if (n == -2) throw std::runtime_error(PQerrorMessage(conn_));
  PGresult* r;
  while ((r = PQgetResult(conn_)) != nullptr) {
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    std::string m = PQresultErrorMessage(r);
    PQclear(r);
    if (!ok) throw std::runtime_error("COPY out: " + m);
  }
  return bytes;
}

void Pg::CopyIn(const std::string& target, const std::string& data) {
  PGresult* r = PQexec(conn_, ("COPY " + target + " FROM STDIN").c_str());
  bool ok = PQresultStatus(r) == PGRES_COPY_IN;
  PQclear(r);
  if (!ok) throw std::runtime_error(PQerrorMessage(conn_));
  constexpr size_t kChunk = 1 << 20;
  for (size_t off = 0; off < data.size(); off += kChunk) {
    size_t len = std::min(kChunk, data.size() - off);
    if (PQputCopyData(conn_, data.data() + off, static_cast<int>(len)) != 1) {
      throw std::runtime_error(PQerrorMessage(conn_));
    }
  }
  if (PQputCopyEnd(conn_, nullptr) != 1) {
    throw std::runtime_error(PQerrorMessage(conn_));
  }
  while ((r = PQgetResult(conn_)) != nullptr) {
    ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    std::string m = PQresultErrorMessage(r);
    PQclear(r);
    if (!ok) throw std::runtime_error("COPY in: " + m);
  }
}

namespace {

// The wave, its lines with everything the line checks need, and the static
// (not stock-dependent) findings. Temp tables, dropped at commit.
constexpr const char* kPrepareWave = R"SQL(
CREATE TEMP TABLE w_orders ON COMMIT DROP AS
SELECT o.id, o.order_no, o.customer_code, o.ship_street, o.ship_city,
       o.ship_postcode, o.ship_country, o.service, o.ship_date, o.released_at,
       row_number() OVER (ORDER BY o.priority DESC, o.ship_date,
                                   o.order_no COLLATE "C") AS seq
FROM orders o WHERE o.status = 'released';

CREATE TEMP TABLE w_lines ON COMMIT DROP AS
SELECT l.id, l.order_id, l.line_no, l.sku, l.qty, l.uom, l.pick_location,
       l.lot_code, o.seq, o.order_no, o.ship_date, o.service,
       i.sku IS NOT NULL AS known, i.active, i.hazmat_class, i.weight_kg,
       i.lot_tracked,
       (l.qty <= 0 OR (lu.rounding > 0 AND mod(l.qty, lu.rounding) <> 0))
         AS bad_qty,
       CASE WHEN l.uom = i.base_uom THEN l.qty
            WHEN p.qty_per_pack IS NOT NULL THEN l.qty * p.qty_per_pack
            WHEN lu.category = bu.category THEN l.qty * lu.factor / bu.factor
       END AS base_qty,
       CASE WHEN l.uom <> i.base_uom AND bu.rounding > 0 THEN bu.rounding END
         AS base_step
FROM w_orders o
JOIN order_lines l ON l.order_id = o.id
LEFT JOIN items i ON i.sku = l.sku
LEFT JOIN item_packs p ON p.sku = l.sku AND p.uom = l.uom
LEFT JOIN uoms lu ON lu.code = l.uom
LEFT JOIN uoms bu ON bu.code = i.base_uom;

ALTER TABLE w_lines ADD COLUMN ok_line boolean;
UPDATE w_lines SET ok_line = known AND NOT bad_qty AND base_qty IS NOT NULL
  AND NOT coalesce(mod(base_qty, base_step) <> 0, false) AND base_qty <= 1000000;
ANALYZE w_orders;
ANALYZE w_lines;

CREATE TEMP TABLE w_find (order_id bigint, order_no text, line_id bigint,
                          check_id text) ON COMMIT DROP;
)SQL";

// One statement per check family.
constexpr const char* kStaticChecks[] = {
    // Item master.
    R"SQL(INSERT INTO w_find
SELECT order_id, order_no, id, 'item.unknown' FROM w_lines WHERE NOT known
UNION ALL
SELECT order_id, order_no, id, 'item.inactive' FROM w_lines
WHERE known AND active = 0)SQL",
    // Quantity and unit.
    R"SQL(INSERT INTO w_find
SELECT order_id, order_no, id,
       CASE WHEN bad_qty OR base_qty > 1000000 THEN 'qty.invalid'
            ELSE 'uom.mismatch' END
FROM w_lines
WHERE bad_qty OR (known AND NOT ok_line))SQL",
    // Customer.
    R"SQL(INSERT INTO w_find
SELECT o.id, o.order_no, NULL, 'customer.hold'
FROM w_orders o LEFT JOIN customers c ON c.code = o.customer_code
WHERE c.code IS NULL OR c.blocked = 1 OR c.credit_hold = 1)SQL",
    // Address: missing parts, unknown country, postcode format.
    R"SQL(INSERT INTO w_find
SELECT o.id, o.order_no, NULL, 'address.incomplete'
FROM w_orders o
LEFT JOIN (VALUES ('FR', '^\d{2} ?\d{3}$'), ('DE', '^\d{5}$'))
       AS f(country, pattern) ON f.country = upper(btrim(o.ship_country))
WHERE coalesce(btrim(o.ship_street), '') = ''
   OR coalesce(btrim(o.ship_city), '') = ''
   OR coalesce(btrim(o.ship_postcode), '') = ''
   OR coalesce(btrim(o.ship_country), '') = ''
   OR f.country IS NULL
   OR upper(btrim(o.ship_postcode)) !~ f.pattern)SQL",
    // Assigned pick location.
    R"SQL(INSERT INTO w_find
SELECT l.order_id, l.order_no, l.id, 'location.mismatch'
FROM w_lines l LEFT JOIN locations loc ON loc.code = l.pick_location
WHERE l.ok_line AND l.pick_location IS NOT NULL
  AND (loc.code IS NULL OR loc.blocked = 1 OR loc.pickable = 0
       OR NOT EXISTS (SELECT 1 FROM stock s WHERE s.sku = l.sku
                      AND s.location = l.pick_location AND s.qty_on_hand > 0)))SQL",
    // Assigned lot.
    R"SQL(INSERT INTO w_find
SELECT l.order_id, l.order_no, l.id, c.check_id
FROM w_lines l LEFT JOIN lots t ON t.sku = l.sku AND t.lot_code = l.lot_code
CROSS JOIN LATERAL (VALUES
  (CASE WHEN t.lot_code IS NULL THEN 'lot.missing' END),
  (CASE WHEN t.status IN ('quarantine', 'blocked') THEN 'lot.quarantine' END),
  (CASE WHEN t.expiry_date <= l.ship_date THEN 'lot.expired' END)) c(check_id)
WHERE l.ok_line AND l.lot_code IS NOT NULL AND c.check_id IS NOT NULL)SQL",
    // Carrier: service known, dangerous goods, weight, ship date.
    R"SQL(INSERT INTO w_find
SELECT l.order_id, l.order_no, l.id, 'carrier.constraint'
FROM w_lines l JOIN carrier_services c ON c.code = l.service
WHERE l.ok_line AND l.hazmat_class IS NOT NULL AND c.hazmat_allowed = 0
UNION ALL
SELECT o.id, o.order_no, NULL, 'carrier.constraint'
FROM w_orders o LEFT JOIN carrier_services c ON c.code = o.service
LEFT JOIN (SELECT order_id, sum(base_qty * weight_kg) AS kg FROM w_lines
           WHERE ok_line GROUP BY order_id) w ON w.order_id = o.id
WHERE o.service IS NOT NULL
  AND (c.code IS NULL OR w.kg > c.max_weight_kg
       OR o.ship_date < o.released_at::date))SQL",
};

// Stock per SKU of the wave: what is free at usable locations in good lots,
// and what is held back by expiry, quarantine or a missing lot. Lines with
// an assigned lot or location draw only from their own slots.
constexpr const char* kPrepareStock = R"SQL(
CREATE TEMP TABLE w_slots ON COMMIT DROP AS
SELECT s.sku,  s.location, s.lot_code,
       greatest(0, greatest(0, s.qty_on_hand) - s.qty_reserved) AS free,
       (loc.code IS NULL OR (loc.pickable = 1 AND loc.blocked = 0)) AS usable,
       CASE WHEN s.lot_code IS NULL THEN
              CASE WHEN i.lot_tracked = 1 THEN 'lotless' ELSE 'good' END
            WHEN t.status IN ('quarantine', 'blocked') THEN 'quarantine'
            WHEN t.expiry_date <= (SELECT min(ship_date) FROM w_orders)
              THEN 'expired'
            ELSE 'good' END AS quality
FROM stock s
JOIN items i ON i.sku = s.sku
LEFT JOIN locations loc ON loc.code = s.location
LEFT JOIN lots t ON t.sku = s.sku AND t.lot_code = s.lot_code
WHERE s.sku IN (SELECT sku FROM w_lines WHERE ok_line);

CREATE TEMP TABLE w_pool ON COMMIT DROP AS
SELECT row_number() OVER (ORDER BY sku)::int AS idx, sku,
       coalesce(sum(free) FILTER (WHERE usable AND quality = 'good'), 0)
         AS free,
       coalesce(sum(free) FILTER (WHERE usable AND quality = 'expired'), 0)
         AS expired,
       coalesce(sum(free) FILTER (WHERE usable AND quality = 'quarantine'), 0)
         AS quarantine,
       coalesce(sum(free) FILTER (WHERE usable AND quality = 'lotless'), 0)
         AS lotless
FROM (SELECT DISTINCT sku FROM w_lines WHERE ok_line) k
LEFT JOIN w_slots USING (sku)
GROUP BY sku;

CREATE INDEX ON w_slots (sku);
ANALYZE w_slots;
ANALYZE w_find;

CREATE TEMP TABLE w_alloc ON COMMIT DROP AS
SELECT l.order_id, l.order_no, l.id, l.seq, l.line_no, l.base_qty, p.idx,
       p.expired, p.quarantine, p.lotless,
       (l.lot_code IS NOT NULL OR l.pick_location IS NOT NULL) AS assigned,
       own.free AS own_free,
       -- The assignment is already reported as a root cause: such a line
       -- is short only if it would be short without its assignment.
       EXISTS (SELECT 1 FROM w_find f WHERE f.line_id = l.id
               AND f.check_id IN ('location.mismatch', 'lot.missing',
                                  'lot.quarantine', 'lot.expired'))
         AS root_cause,
       h.order_id IS NOT NULL AS held_already
FROM w_lines l JOIN w_pool p ON p.sku = l.sku
LEFT JOIN (SELECT DISTINCT order_id FROM w_find) h ON h.order_id = l.order_id
LEFT JOIN LATERAL (
  SELECT coalesce(sum(s.free), 0) AS free FROM w_slots s
  WHERE (l.lot_code IS NOT NULL OR l.pick_location IS NOT NULL)
    AND s.sku = l.sku AND s.usable
    AND (l.lot_code IS NULL OR s.lot_code = l.lot_code)
    AND (l.pick_location IS NULL OR s.location = l.pick_location)
    AND (l.lot_code IS NOT NULL OR s.quality = 'good')) own ON true
WHERE l.ok_line;
)SQL";

// Serves the wave in sequence; a held order gives its stock back.
constexpr const char* kAllocateFunction = R"SQL(
CREATE OR REPLACE FUNCTION bench_allocate() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  free numeric[];
  r record;
  cur bigint := -1;
  held boolean := false;
  t_idx int[] := '{}';
  t_qty numeric[] := '{}';
  got numeric;
  unusable numeric;
  reported boolean;
BEGIN
  SELECT array_agg(p.free ORDER BY p.idx) INTO free FROM w_pool p;
  FOR r IN SELECT * FROM w_alloc ORDER BY seq, line_no LOOP
    IF r.order_id <> cur THEN
      IF held THEN
        FOR k IN 1 .. coalesce(array_length(t_idx, 1), 0) LOOP
          free[t_idx[k]] := free[t_idx[k]] + t_qty[k];
        END LOOP;
      END IF;
      cur := r.order_id;
      held := r.held_already;
      t_idx := '{}';
      t_qty := '{}';
    END IF;
    IF r.assigned THEN
      IF r.base_qty > r.own_free THEN
        IF NOT r.root_cause OR r.base_qty > free[r.idx] THEN
          INSERT INTO w_find
            VALUES (r.order_id, r.order_no, r.id, 'stock.short');
        END IF;
        held := true;
      END IF;
    ELSE
      got := least(free[r.idx], r.base_qty);
      IF got > 0 THEN
        free[r.idx] := free[r.idx] - got;
        t_idx := t_idx || r.idx;
        t_qty := t_qty || got;
      END IF;
      IF got < r.base_qty THEN
        held := true;
        -- Stock reported as expired, on quarantine or without a lot stands
        -- for the shortage when it would have covered it.
        unusable := 0;
        reported := false;
        IF got = 0 AND r.expired > 0 THEN
          unusable := unusable + r.expired;
          reported := true;
        END IF;
        IF got = 0 AND r.quarantine > 0 THEN
          unusable := unusable + r.quarantine;
          reported := true;
        END IF;
        IF r.lotless > 0 THEN
          unusable := unusable + r.lotless;
          reported := true;
        END IF;
        IF NOT reported OR got + unusable < r.base_qty THEN
          INSERT INTO w_find
            VALUES (r.order_id, r.order_no, r.id, 'stock.short');
        END IF;
        IF got = 0 AND r.expired > 0 THEN
          INSERT INTO w_find VALUES (r.order_id, r.order_no, r.id, 'lot.expired');
        END IF;
        IF got = 0 AND r.quarantine > 0 THEN
          INSERT INTO w_find
            VALUES (r.order_id, r.order_no, r.id, 'lot.quarantine');
        END IF;
        IF r.lotless > 0 THEN
          INSERT INTO w_find VALUES (r.order_id, r.order_no, r.id, 'lot.missing');
        END IF;
      END IF;
    END IF;
  END LOOP;
END $$;
)SQL";

constexpr const char* kRecordTables = R"SQL(
CREATE TABLE IF NOT EXISTS sql_check_run (run_id text, order_no text,
  verdict text, findings int, checked_at timestamptz);
CREATE TABLE IF NOT EXISTS sql_error_record (run_id text, order_no text,
  line_id bigint, check_id text, severity text, message text,
  status text, detected_at timestamptz);
CREATE TABLE IF NOT EXISTS floor_check_run (run_id text, order_no text,
  verdict text, findings int, checked_at timestamptz);
CREATE TABLE IF NOT EXISTS floor_error_record (run_id text, order_no text,
  line_id bigint, check_id text, severity text, message text,
  status text, detected_at timestamptz);
)SQL";

// The records and the holds, as rftgate writes them.
constexpr const char* kWriteRecords = R"SQL(
INSERT INTO sql_error_record
SELECT 'sql', order_no, line_id, check_id, 'block',
       format('order %s line %s: %s', order_no, line_id, check_id), 'open',
       now()
FROM w_find;
INSERT INTO sql_check_run
SELECT 'sql', o.order_no,
       CASE WHEN f.n > 0 THEN 'hold' ELSE 'pass' END, coalesce(f.n, 0), now()
FROM w_orders o
LEFT JOIN (SELECT order_id, count(*) AS n FROM w_find GROUP BY order_id) f
  ON f.order_id = o.id;
UPDATE orders o SET on_hold = 1
WHERE o.id IN (SELECT order_id FROM w_find) AND o.on_hold <> 1;
)SQL";

FindingSet Collect(Pg& pg) {
  FindingSet out;
  for (auto& row : pg.Query("SELECT order_no, coalesce(line_id::text, ''), "
                            "check_id FROM w_find")) {
    out.emplace(std::move(row[0]), std::move(row[1]), std::move(row[2]));
  }
  return out;
}

}  // namespace

void PrepareSqlBaseline(Pg& pg) {
  pg.Exec(kRecordTables);
  pg.Exec(kAllocateFunction);
}

void ResetSqlBaseline(Pg& pg) {
  pg.Exec(
      "TRUNCATE sql_check_run, sql_error_record, floor_check_run, "
      "floor_error_record; UPDATE orders SET on_hold = 0 WHERE on_hold <> 0");
  // As for rftgate (main.cc, ResetRftgate): the flags reset leave no dead
  // rows for autovacuum to clean up during the next repetition.
  pg.Exec("VACUUM (ANALYZE) orders");
}

FindingSet RunSetBasedSql(Pg& pg) {
  pg.Exec("BEGIN");
  pg.Exec(kPrepareWave);
  for (const char* sql : kStaticChecks) pg.Exec(sql);
  pg.Exec(kPrepareStock);
  pg.Exec("SELECT bench_allocate()");
  FindingSet out = Collect(pg);
  pg.Exec(kWriteRecords);
  pg.Exec("COMMIT");
  return out;
}

FindingSet RunPerLine(Pg& pg) {
  // The shape of an ORM-style extension: read each order, then each of its
  // lines with its item, unit, lot, location and stock, decide in the
  // client, insert one row per record.
  pg.Exec("BEGIN");
  auto orders = pg.Query(
      "SELECT o.id, o.order_no, "
      "  (c.code IS NULL OR c.blocked = 1 OR c.credit_hold = 1), "
      "  (coalesce(btrim(o.ship_street), '') = '' "
      "   OR coalesce(btrim(o.ship_city), '') = '' "
      "   OR coalesce(btrim(o.ship_postcode), '') = '' "
      "   OR upper(btrim(o.ship_country)) NOT IN ('FR', 'DE') "
      "   OR (upper(btrim(o.ship_country)) = 'FR' AND "
      "       upper(btrim(o.ship_postcode)) !~ '^\\d{2} ?\\d{3}$') "
      "   OR (upper(btrim(o.ship_country)) = 'DE' AND "
      "       upper(btrim(o.ship_postcode)) !~ '^\\d{5}$')), "
      "  s.hazmat_allowed, s.max_weight_kg, "
      "  (s.code IS NULL OR o.ship_date < o.released_at::date), o.ship_date "
      "FROM orders o LEFT JOIN customers c ON c.code = o.customer_code "
      "LEFT JOIN carrier_services s ON s.code = o.service "
      "WHERE o.status = 'released' "
      "ORDER BY o.priority DESC, o.ship_date, o.order_no COLLATE \"C\"");
  const std::string kLineQuery = R"SQL(
SELECT l.id, l.qty, i.sku IS NOT NULL, coalesce(i.active, 1),
  (l.qty <= 0 OR (lu.rounding > 0 AND mod(l.qty, lu.rounding) <> 0)),
  CASE WHEN l.uom = i.base_uom THEN l.qty
       WHEN p.qty_per_pack IS NOT NULL THEN l.qty * p.qty_per_pack
       WHEN lu.category = bu.category THEN l.qty * lu.factor / bu.factor END,
  i.hazmat_class IS NOT NULL, coalesce(i.weight_kg, 0), l.sku,
  l.pick_location IS NOT NULL,
  (loc.code IS NULL OR loc.blocked = 1 OR loc.pickable = 0
   OR NOT EXISTS (SELECT 1 FROM stock s WHERE s.sku = l.sku
                  AND s.location = l.pick_location AND s.qty_on_hand > 0)),
  l.lot_code IS NOT NULL, t.lot_code IS NULL,
  coalesce(t.status IN ('quarantine', 'blocked'), false),
  coalesce(t.expiry_date <= $2::date, false),
  st.good, st.expired, st.quarantine, st.lotless, st.own
FROM order_lines l
LEFT JOIN items i ON i.sku = l.sku
LEFT JOIN item_packs p ON p.sku = l.sku AND p.uom = l.uom
LEFT JOIN uoms lu ON lu.code = l.uom
LEFT JOIN uoms bu ON bu.code = i.base_uom
LEFT JOIN locations loc ON loc.code = l.pick_location
LEFT JOIN lots t ON t.sku = l.sku AND t.lot_code = l.lot_code
LEFT JOIN LATERAL (
  SELECT coalesce(sum(free) FILTER (WHERE q = 'good'), 0) AS good,
         coalesce(sum(free) FILTER (WHERE q = 'expired'), 0) AS expired,
         coalesce(sum(free) FILTER (WHERE q = 'quarantine'), 0) AS quarantine,
         coalesce(sum(free) FILTER (WHERE q = 'lotless'), 0) AS lotless,
         coalesce(sum(free) FILTER (WHERE
           (l.lot_code IS NULL OR s_lot = l.lot_code)
           AND (l.pick_location IS NULL OR s_loc = l.pick_location)
           AND (l.lot_code IS NOT NULL OR q = 'good')), 0) AS own
  FROM (SELECT s.lot_code AS s_lot, s.location AS s_loc,
          greatest(0, greatest(0, s.qty_on_hand) - s.qty_reserved) AS free,
          CASE WHEN s.lot_code IS NULL THEN
                 CASE WHEN i.lot_tracked = 1 THEN 'lotless' ELSE 'good' END
               WHEN lt.status IN ('quarantine', 'blocked') THEN 'quarantine'
               WHEN lt.expiry_date <= $2::date THEN 'expired'
               ELSE 'good' END AS q
        FROM stock s JOIN locations sl ON sl.code = s.location
        LEFT JOIN lots lt ON lt.sku = s.sku AND lt.lot_code = s.lot_code
        WHERE s.sku = l.sku AND sl.pickable = 1 AND sl.blocked = 0) x
) st ON true
WHERE l.order_id = $1::bigint
ORDER BY l.line_no)SQL";
  const std::string kLineIds =
      "SELECT id FROM order_lines WHERE order_id = $1::bigint ORDER BY line_no";
  const std::string kLineOne =
      kLineQuery.substr(0, kLineQuery.find("WHERE l.order_id")) +
      "WHERE l.id = $1::bigint";
  FindingSet out;
  std::unordered_map<std::string, double> free;  // by SKU
  std::string records;
  for (const auto& o : orders) {
    std::vector<Finding> found;
    auto add = [&](const std::string& line, const char* check) {
      found.emplace_back(o[1], line, check);
    };
    if (o[2] == "t") add("", "customer.hold");
    if (o[3] == "t") add("", "address.incomplete");
    if (o[6] == "t") add("", "carrier.constraint");
    std::vector<std::pair<std::string, double>> taken;
    double kg = 0;
    bool short_any = false;
    for (const auto& id : pg.Query(kLineIds, {o[0]})) {
      auto rows = pg.Query(kLineOne, {id[0], o[7]});
      const auto& l = rows.at(0);
      const bool known = l[2] == "t";
      if (!known) add(l[0], "item.unknown");
      if (known && l[3] == "0") add(l[0], "item.inactive");
      if (l[4] == "t") {
        add(l[0], "qty.invalid");
        continue;
      }
      if (!known) continue;
      if (l[5].empty()) {
        add(l[0], "uom.mismatch");
        continue;
      }
      const double base = std::stod(l[5]);
      if (base > 1000000) {
        add(l[0], "qty.invalid");
        continue;
      }
      // A reported assignment or unusable stock stands for a shortage it
      // explains: stock.short only when the line would be short without it.
      bool root_cause = false;
      if (l[9] == "t" && l[10] == "t") {
        add(l[0], "location.mismatch");
        root_cause = true;
      }
      if (l[11] == "t") {
        if (l[12] == "t") add(l[0], "lot.missing");
        if (l[13] == "t") add(l[0], "lot.quarantine");
        if (l[14] == "t") add(l[0], "lot.expired");
        root_cause |= l[12] == "t" || l[13] == "t" || l[14] == "t";
      }
      auto it = free.try_emplace(l[8], std::stod(l[15])).first;
      if (l[11] == "t" || l[9] == "t") {
        if (base > std::stod(l[19])) {
          if (!root_cause || base > it->second) add(l[0], "stock.short");
          short_any = true;
        }
      } else {
        double got = std::min(it->second, base);
        if (got > 0) {
          it->second -= got;
          taken.emplace_back(l[8], got);
        }
        if (got < base) {
          short_any = true;
          double unusable = 0;
          bool reported = false;
          for (int k : {16, 17}) {
            if (got == 0 && std::stod(l[k]) > 0) {
              unusable += std::stod(l[k]);
              reported = true;
            }
          }
          if (std::stod(l[18]) > 0) {
            unusable += std::stod(l[18]);
            reported = true;
          }
          if (!reported || got + unusable < base) add(l[0], "stock.short");
          if (got == 0 && std::stod(l[16]) > 0) add(l[0], "lot.expired");
          if (got == 0 && std::stod(l[17]) > 0) add(l[0], "lot.quarantine");
          if (std::stod(l[18]) > 0) add(l[0], "lot.missing");
        }
      }
      if (l[6] == "t" && o[4] == "0") add(l[0], "carrier.constraint");
      kg += base * std::stod(l[7]);
    }
    if (!o[5].empty() && kg > std::stod(o[5]) + 1e-9) {
      add("", "carrier.constraint");
    }
    if (!found.empty() || short_any) {
      for (const auto& [sku, q] : taken) free[sku] += q;
    }
    for (const auto& f : found) {
      pg.Query(
          "INSERT INTO sql_error_record VALUES ('orm', $1, "
          "nullif($2, '')::bigint, $3, 'block', $4, 'open', now())",
          {std::get<0>(f), std::get<1>(f), std::get<2>(f),
           std::get<0>(f) + ": " + std::get<2>(f)});
      out.insert(f);
    }
    pg.Query(
        "INSERT INTO sql_check_run VALUES ('orm', $1, $2, $3::int, now())",
        {o[1], found.empty() ? "pass" : "hold", std::to_string(found.size())});
    if (!found.empty()) {
      pg.Query("UPDATE orders SET on_hold = 1 WHERE id = $1::bigint", {o[0]});
    }
  }
  pg.Exec("COMMIT");
  return out;
}

int64_t RunFloor(Pg& pg, int64_t check_runs, int64_t findings) {
  pg.Exec("BEGIN");
  int64_t bytes = 0;
  const std::string wave = "(SELECT id FROM orders WHERE status = 'released')";
  const std::string skus =
      "(SELECT l.sku FROM order_lines l WHERE l.order_id IN " + wave + ")";
  bytes += pg.CopyOut("SELECT * FROM orders WHERE status = 'released'");
  bytes += pg.CopyOut("SELECT * FROM order_lines WHERE order_id IN " + wave);
  bytes += pg.CopyOut("SELECT * FROM items WHERE sku IN " + skus);
  bytes += pg.CopyOut("SELECT * FROM item_packs WHERE sku IN " + skus);
  bytes += pg.CopyOut("SELECT * FROM stock WHERE sku IN " + skus);
  bytes += pg.CopyOut("SELECT * FROM lots WHERE sku IN " + skus);
  bytes += pg.CopyOut("SELECT * FROM uoms");
  bytes += pg.CopyOut("SELECT * FROM locations");
  bytes += pg.CopyOut("SELECT * FROM carrier_services");
  bytes += pg.CopyOut(
      "SELECT * FROM customers WHERE code IN (SELECT customer_code FROM "
      "orders WHERE status = 'released')");
  std::string runs, records;
  for (int64_t i = 0; i < check_runs; ++i) {
    runs += "floor\tSO-" + std::to_string(i) + "\tpass\t0\t2026-06-01 10:00\n";
  }
  for (int64_t i = 0; i < findings; ++i) {
    records += "floor\tSO-" + std::to_string(i) + "\t" + std::to_string(i) +
               "\tstock.short\tblock\tline 3: SKU SKU-004711 needs 40 EA; 12 "
               "available at pickable locations\topen\t2026-06-01 10:00\n";
  }
  pg.CopyIn("floor_check_run", runs);
  pg.CopyIn("floor_error_record", records);
  pg.Exec("COMMIT");
  return bytes;
}

void RunFloorSingle(Pg& pg, const std::string& ref) {
  pg.Exec("BEGIN");
  auto order = pg.Query("SELECT * FROM orders WHERE order_no = $1", {ref});
  const std::string& id = order.at(0).at(0);
  const std::string skus =
      "(SELECT sku FROM order_lines WHERE order_id = $1::bigint)";
  pg.Query("SELECT * FROM order_lines WHERE order_id = $1::bigint", {id});
  pg.Query("SELECT * FROM items WHERE sku IN " + skus, {id});
  pg.Query("SELECT * FROM stock WHERE sku IN " + skus, {id});
  pg.Query("SELECT * FROM lots WHERE sku IN " + skus, {id});
  pg.Query("INSERT INTO floor_check_run VALUES ('floor', $1, 'pass', 0, now())",
           {ref});
  pg.Exec("COMMIT");
}

}  // namespace rftgate::bench
