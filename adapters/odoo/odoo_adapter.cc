#include "adapters/odoo/odoo_adapter.h"

#include <set>
#include <string>
#include <vector>

#include "adapters/odoo/odoo_chatter.h"
#include "adapters/odoo/odoo_load.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace rftgate::odoo {
namespace {

using Json = nlohmann::json;

// Key of pg_advisory_xact_lock shared with adapters/common/record_store.cc,
// so that chatter and records of concurrent write-backs never interleave.
constexpr const char* kWriteLockKey = "29384127839219";

[[noreturn]] void Bad(const std::string& what, const std::string& why) {
  throw adapter::Error(RFT_ERR_CONFIG,
                       fmt::format("adapter.options.{}: {}", what, why));
}

std::vector<int64_t> IntList(const Json& j, const std::string& what) {
  if (!j.is_array()) Bad(what, "expected a list of ids");
  std::vector<int64_t> out;
  for (const auto& v : j) {
    if (!v.is_number_integer() || v.get<int64_t>() <= 0) {
      Bad(what, "expected positive integer ids");
    }
    out.push_back(v.get<int64_t>());
  }
  return out;
}

std::vector<std::string> StringList(const Json& j, const std::string& what) {
  if (!j.is_array()) Bad(what, "expected a list of strings");
  std::vector<std::string> out;
  for (const auto& v : j) {
    if (!v.is_string() || v.get<std::string>().empty()) {
      Bad(what, "expected non-empty strings");
    }
    out.push_back(v.get<std::string>());
  }
  return out;
}

std::string String(const Json& j, const std::string& what) {
  if (!j.is_string() || j.get<std::string>().empty()) {
    Bad(what, "expected a non-empty string");
  }
  return j.get<std::string>();
}

// A whole number of days in [0, max_days].
int64_t Days(const Json& j, const std::string& what, int64_t max_days) {
  if (!j.is_number_integer() || j.get<int64_t>() < 0 ||
      j.get<int64_t>() > max_days) {
    Bad(what, fmt::format("expected a number of days from 0 to {}", max_days));
  }
  return j.get<int64_t>();
}

}  // namespace

OdooOptions ParseOptions(std::string_view options_json) {
  OdooOptions o;
  Json j;
  try {
    j = options_json.empty() ? Json::object() : Json::parse(options_json);
  } catch (const std::exception& e) {
    throw adapter::Error(RFT_ERR_CONFIG,
                         std::string("adapter.options: not JSON: ") + e.what());
  }
  if (j.is_null()) j = Json::object();
  if (!j.is_object()) {
    throw adapter::Error(RFT_ERR_CONFIG, "adapter.options: expected a mapping");
  }
  static const std::set<std::string> kKnown = {"schema",
                                               "picking_type_ids",
                                               "states",
                                               "company_ids",
                                               "ship_date",
                                               "lang",
                                               "provider",
                                               "quarantine_locations",
                                               "history_days",
                                               "carriers",
                                               "chatter",
                                               "author_login",
                                               "activity_user_login",
                                               "activity_time_zone",
                                               "activity_delay_days"};
  for (const auto& [key, value] : j.items()) {
    if (!kKnown.count(key)) {
      Bad(key,
          "unknown option; known: schema, picking_type_ids, states, "
          "company_ids, ship_date, lang, provider, quarantine_locations, "
          "history_days, carriers, chatter, author_login, "
          "activity_user_login, activity_time_zone, activity_delay_days");
    }
  }
  if (j.contains("schema")) {
    o.schema = String(j["schema"], "schema");
    if (!adapters::IsPlainIdentifier(o.schema) || o.schema.size() > 30) {
      Bad("schema", "expected a plain SQL identifier of at most 30 characters");
    }
  }
  if (j.contains("picking_type_ids")) {
    o.picking_type_ids = IntList(j["picking_type_ids"], "picking_type_ids");
  }
  if (j.contains("states")) {
    o.states = StringList(j["states"], "states");
    static const std::set<std::string> kStates = {
        "draft", "waiting", "confirmed", "assigned", "done", "cancel"};
    for (const auto& s : o.states) {
      if (!kStates.count(s)) {
        Bad("states", "'" + s +
                          "' is not a transfer state (draft, waiting, "
                          "confirmed, assigned, done, cancel)");
      }
    }
  }
  if (j.contains("company_ids")) {
    o.company_ids = IntList(j["company_ids"], "company_ids");
  }
  if (j.contains("ship_date")) {
    std::string s = String(j["ship_date"], "ship_date");
    if (s == "date_deadline") {
      o.ship_date_deadline = true;
    } else if (s != "scheduled_date") {
      Bad("ship_date", "expected scheduled_date or date_deadline");
    }
  }
  if (j.contains("lang")) o.lang = String(j["lang"], "lang");
  if (j.contains("provider")) o.provider = String(j["provider"], "provider");
  if (j.contains("quarantine_locations")) {
    o.quarantine_locations =
        StringList(j["quarantine_locations"], "quarantine_locations");
  }
  if (j.contains("history_days")) {
    o.history_days = Days(j["history_days"], "history_days", 36600);
  }
  if (j.contains("carriers")) {
    const Json& c = j["carriers"];
    if (!c.is_object()) Bad("carriers", "expected a mapping of carrier names");
    for (const auto& [name, limits] : c.items()) {
      const std::string what = "carriers." + name;
      if (!limits.is_object()) Bad(what, "expected a mapping");
      CarrierLimits l;
      for (const auto& [key, value] : limits.items()) {
        if (key == "max_parcel_weight_kg") {
          std::string text =
              value.is_string() ? value.get<std::string>() : value.dump();
          auto d = adapters::ParseDecimal(text);
          if (!value.is_number() && !value.is_string()) d.reset();
          if (!d || d->mantissa <= 0)
            Bad(what + "." + key, "expected a positive number");
          l.max_parcel_weight_kg = text;
        } else if (key == "hazmat_allowed") {
          if (!value.is_boolean())
            Bad(what + "." + key, "expected true or false");
          l.hazmat_allowed = value.get<bool>() ? RFT_FLAG_YES : RFT_FLAG_NO;
        } else if (key == "cutoff") {
          auto m = value.is_string()
                       ? adapters::ParseMinuteOfDay(value.get<std::string>())
                       : std::nullopt;
          if (!m) Bad(what + "." + key, "expected a time of day \"HH:MM\"");
          l.cutoff_minute = *m;
        } else {
          Bad(what + "." + key,
              "unknown; known: max_parcel_weight_kg, hazmat_allowed, cutoff");
        }
      }
      o.carriers[name] = l;
    }
  }
  if (j.contains("chatter")) {
    if (!j["chatter"].is_boolean()) Bad("chatter", "expected true or false");
    o.chatter = j["chatter"].get<bool>();
  }
  if (j.contains("author_login")) {
    o.author_login = String(j["author_login"], "author_login");
  }
  if (j.contains("activity_user_login")) {
    o.activity_user_login =
        String(j["activity_user_login"], "activity_user_login");
  }
  if (j.contains("activity_time_zone")) {
    o.activity_time_zone =
        String(j["activity_time_zone"], "activity_time_zone");
  }
  if (j.contains("activity_delay_days")) {
    o.activity_delay_days =
        Days(j["activity_delay_days"], "activity_delay_days", 365);
  }
  return o;
}

OdooAdapter::OdooAdapter(const adapter::OpenParams& params)
    : log_(params.log, params.log_ctx),
      options_(ParseOptions(params.options_json)) {
  adapters::ConnectionSpec spec =
      adapters::ParseConnection(params.connection, params.config_dir);
  if (spec.dialect != adapters::Dialect::kPostgres) {
    throw adapter::Error(RFT_ERR_CONFIG,
                         "the odoo adapter needs a postgresql:// connection "
                         "to Odoo's database");
  }
  db_ = std::make_unique<adapters::Database>(std::move(spec), log_);
  try {
    schema_ = DetectSchema(*db_);
  } catch (const adapter::Error&) {
    throw;
  } catch (const std::exception& e) {
    throw db_->Translate(e, "reading Odoo's schema");
  }
  adapters::RecordTables tables;
  tables.schema = options_.schema + ".schema_version";
  tables.runs = options_.schema + ".run";
  tables.check_runs = options_.schema + ".check_run";
  tables.error_records = options_.schema + ".error_record";
  store_ = std::make_unique<adapters::RecordStore>(adapters::Dialect::kPostgres,
                                                   tables);
  log_.Info(fmt::format("odoo: connected to {}: Odoo {}{}{}", db_->Describe(),
                        schema_.version,
                        schema_.has_expiry ? ", product_expiry" : "",
                        schema_.has_carrier ? ", delivery" : ""));
}

OdooAdapter::~OdooAdapter() = default;

void OdooAdapter::Load(const rft_selection& selection, adapter::Sink& sink,
                       adapter::Call& call) {
  adapters::RunDatabaseCall(*db_, call, "loading transfers from Odoo", [&] {
    bool in_transaction = false;
    try {
      db_->Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
      in_transaction = true;
      if (int64_t budget = db_->StatementBudgetMs(); budget > 0) {
        db_->Exec("SET LOCAL statement_timeout = " + std::to_string(budget));
      }
      LoadWave(*db_, schema_, options_, selection, sink, call, log_,
               &picking_ids_);
      db_->Exec("COMMIT");
      in_transaction = false;
    } catch (...) {
      if (in_transaction) {
        try {
          db_->Exec("ROLLBACK");
        } catch (...) {
        }
      }
      throw;
    }
  });
}

void OdooAdapter::EnsureSchema() {
  const std::string schema = adapters::QuoteIdentifier(
      adapters::Dialect::kPostgres, options_.schema, "options.schema");
  auto exists = db_->QueryValue(
      "SELECT CAST(oid AS text) FROM pg_namespace WHERE nspname = :p0",
      {adapters::Text(options_.schema)});
  if (!exists) db_->Exec("CREATE SCHEMA IF NOT EXISTS " + schema);
  EnsureChatterTable(*db_, options_.schema);
}

void OdooAdapter::WriteBack(const adapter::WriteBackBatch& batch,
                            adapter::Call& call) {
  const std::string run_id(adapter::View(batch.run->run_id));
  if (run_id.empty()) {
    throw adapter::Error(RFT_ERR_INVALID_ARGUMENT,
                         "write_back: the run has no run_id");
  }
  // One transaction for rftgate's records and Odoo's chatter: it is opened
  // here, the chatter is written, then the record store writes its rows and
  // commits (its own BEGIN inside an open transaction changes nothing; its
  // ROLLBACK on any error undoes the chatter too).
  bool skip = false;
  ChatterSummary chatter;
  adapters::RunDatabaseCall(*db_, call, "writing back run " + run_id, [&] {
    bool in_transaction = false;
    try {
      db_->Exec("BEGIN");
      in_transaction = true;
      // The record store's BEGIN inside this transaction warns; keep the
      // warning off the host's stderr.
      db_->Exec("SET LOCAL client_min_messages = error");
      if (int64_t budget = db_->StatementBudgetMs(); budget > 0) {
        db_->Exec("SET LOCAL statement_timeout = " + std::to_string(budget));
      }
      db_->QueryValue(std::string("SELECT '1' FROM (SELECT "
                                  "pg_advisory_xact_lock(") +
                      kWriteLockKey + ")) AS l");
      EnsureSchema();
      const std::string runs = adapters::QuoteIdentifier(
          adapters::Dialect::kPostgres, store_->tables().runs, "runs");
      auto table = db_->QueryValue("SELECT CAST(to_regclass(:p0) AS text)",
                                   {adapters::Text(runs)});
      if (table) {
        auto seen =
            db_->QueryValue("SELECT '1' FROM " + runs + " WHERE run_id = :p0",
                            {adapters::Text(run_id)});
        skip = seen.has_value();
      }
      if (skip) {
        db_->Exec("ROLLBACK");
        in_transaction = false;
        log_.Info("odoo write-back: run " + run_id +
                  " was written before; nothing changed");
        return;
      }
      if (options_.chatter && schema_.has_mail) {
        chatter = WriteChatter(*db_, schema_, options_, batch, picking_ids_);
      }
    } catch (...) {
      if (in_transaction) {
        try {
          db_->Exec("ROLLBACK");
        } catch (...) {
        }
      }
      throw;
    }
  });
  if (skip) return;
  store_->Write(*db_, batch, nullptr, call, log_);
  log_.Info(fmt::format(
      "odoo write-back: run {}: {} notes posted, {} updated; {} activities "
      "scheduled, {} updated, {} closed",
      run_id, chatter.notes_posted, chatter.notes_updated,
      chatter.activities_scheduled, chatter.activities_updated,
      chatter.activities_closed));
}

void OdooAdapter::Describe(const adapter::DescribeFn& emit,
                           adapter::Call& call) {
  adapters::RunDatabaseCall(*db_, call, "describing Odoo's database", [&] {
    emit("backend", "postgresql");
    emit("odoo version", std::to_string(schema_.version));
    emit("product_expiry", schema_.has_expiry ? "installed" : "not installed");
    emit("delivery", schema_.has_carrier ? "installed" : "not installed");
    emit("mail", schema_.has_mail ? "installed" : "not installed");
    emit("rftgate schema", options_.schema);
    std::string types =
        options_.picking_type_ids.empty()
            ? "p.picking_type_id IN (SELECT CASE w.delivery_steps WHEN "
              "'ship_only' THEN w.out_type_id ELSE w.pick_type_id END FROM "
              "stock_warehouse w WHERE w.active IS NOT FALSE)"
            : "p.picking_type_id = ANY(CAST(:p1 AS int[]))";
    std::string states = "{";
    for (size_t i = 0; i < options_.states.size(); ++i) {
      states += (i ? "," : "") + options_.states[i];
    }
    states += "}";
    std::vector<adapters::Param> params = {adapters::Text(states)};
    if (!options_.picking_type_ids.empty()) {
      params.push_back(adapters::Text(IntArray(options_.picking_type_ids)));
    }
    auto n = db_->QueryValue(
        "SELECT CAST(count(*) AS text) FROM stock_picking p WHERE p.state = "
        "ANY(CAST(:p0 AS text[])) AND " +
            types,
        std::move(params));
    emit("transfers ready", n.value_or("0"));
  });
}

}  // namespace rftgate::odoo

RFTGATE_DEFINE_ADAPTER(rftgate::odoo::OdooAdapter, "odoo", "1.0.0",
                       RFT_CAP_ITEMS | RFT_CAP_UNITS | RFT_CAP_STOCK |
                           RFT_CAP_LOTS | RFT_CAP_LOCATIONS |
                           RFT_CAP_CUSTOMERS | RFT_CAP_CARRIERS |
                           RFT_CAP_RESERVATIONS | RFT_CAP_HISTORY |
                           RFT_CAP_WEIGHTS | RFT_CAP_ADDRESSES)
