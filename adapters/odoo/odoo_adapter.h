// The Odoo adapter: reads transfers and everything needed to judge them
// from Odoo 16 or 17's own stock tables on PostgreSQL, and writes findings
// back into rftgate's own tables (schema `rftgate` in Odoo's database) and
// into the transfer's chatter (mail_message) and activities (mail_activity).
// Odoo's table definitions are never altered. docs/adapters/odoo.md says,
// check by check, where each input comes from.
//
// Options (adapter.options in the config; all optional):
//   schema: rftgate's own schema                       (default "rftgate")
//   picking_type_ids: [ids]   operation types whose transfers are orders
//                             (default: each active warehouse's first
//                             outgoing step: pick_type_id for two- and
//                             three-step delivery, out_type_id for one step)
//   states: [..]              transfer states ready for release
//                                          (default [confirmed, assigned])
//   company_ids: [ids]        only transfers of these companies
//   ship_date: scheduled_date | date_deadline   (default scheduled_date;
//                             date_deadline falls back to scheduled_date)
//   lang: translation of names (product, unit, carrier)   (default en_US)
//   provider: text for every order's provider             (default none)
//   quarantine_locations: [complete names]  locations (and children)
//                             whose stock is on quarantine: blocked for
//                             picking, and their lots count as quarantined
//   history_days: past deliveries read for qty.outlier and order.duplicate
//                                                         (default 365)
//   carriers: {<delivery carrier name>: {max_parcel_weight_kg: number,
//              hazmat_allowed: bool, cutoff: "HH:MM"}}   carrier limits Odoo
//                             does not hold; without it carrier.constraint
//                             is not applicable
//   chatter: true|false       write notes and activities   (default true)
//   author_login: login of the user whose partner authors the notes
//                             (default OdooBot: base.user_root)
//   activity_user_login: responsible for activities when the transfer has
//                             none (default the administrator, base.user_admin)
//   activity_time_zone: zone of the activity's due date (default UTC)
//   activity_delay_days: due date = today + this              (default 0)
//
// Not thread-safe: the plugin serialises calls on one handle.
#ifndef RFTGATE_ADAPTERS_ODOO_ODOO_ADAPTER_H_
#define RFTGATE_ADAPTERS_ODOO_ODOO_ADAPTER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "adapters/common/database.h"
#include "adapters/common/record_store.h"
#include "adapters/odoo/odoo_schema.h"
#include "rftgate/adapter.hpp"

namespace rftgate::odoo {

struct CarrierLimits {
  std::optional<std::string> max_parcel_weight_kg;  // decimal text
  int32_t hazmat_allowed = RFT_FLAG_UNKNOWN;
  int32_t cutoff_minute = -1;
};

struct OdooOptions {
  std::string schema = "rftgate";
  std::vector<int64_t> picking_type_ids;
  std::vector<std::string> states = {"confirmed", "assigned"};
  std::vector<int64_t> company_ids;
  bool ship_date_deadline = false;
  std::string lang = "en_US";
  std::optional<std::string> provider;
  std::vector<std::string> quarantine_locations;
  int64_t history_days = 365;
  std::map<std::string, CarrierLimits> carriers;
  bool chatter = true;
  std::optional<std::string> author_login;
  std::optional<std::string> activity_user_login;
  std::string activity_time_zone = "UTC";
  int64_t activity_delay_days = 0;
};

// Parses adapter.options. Throws adapter::Error(RFT_ERR_CONFIG) naming the
// option that is wrong.
OdooOptions ParseOptions(std::string_view options_json);

class OdooAdapter {
 public:
  // Connects and detects Odoo 16 or 17. Throws adapter::Error
  // (RFT_ERR_CONFIG for bad options, a connection string that is not
  // PostgreSQL or a database that is not Odoo 16/17; RFT_ERR_DATABASE when
  // the server refuses).
  explicit OdooAdapter(const adapter::OpenParams& params);
  ~OdooAdapter();

  void Load(const rft_selection& selection, adapter::Sink& sink,
            adapter::Call& call);
  void WriteBack(const adapter::WriteBackBatch& batch, adapter::Call& call);
  void Describe(const adapter::DescribeFn& emit, adapter::Call& call);

 private:
  void EnsureSchema();

  adapter::Logger log_;
  OdooOptions options_;
  std::unique_ptr<adapters::Database> db_;
  std::unique_ptr<adapters::RecordStore> store_;
  OdooSchema schema_;
  // Transfer ids of the last load by name, to write back to the same
  // records when names repeat across companies.
  std::map<std::string, int64_t> picking_ids_;
};

}  // namespace rftgate::odoo

#endif  // RFTGATE_ADAPTERS_ODOO_ODOO_ADAPTER_H_
