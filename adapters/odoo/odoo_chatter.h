// What Odoo's users see of a run: a note in the transfer's chatter listing
// the findings, and an "Exception" activity (mail.mail_activity_data_warning)
// on held transfers, written as Odoo's own message_post / activity_schedule
// / action_feedback fill mail_message and mail_activity. Every value taken
// from the findings or the database is HTML-escaped.
//
// Per transfer the checks judged in the run:
//   hold: note posted (or the open note updated), activity scheduled (or
//         the open one updated);
//   warn: note posted or updated; an open activity is closed;
//   pass: an open activity is closed; the episode is resolved.
// Closing an activity is done as Odoo's action_feedback does: a "done"
// message (subtype mail.mt_activities) is posted, then the activity is
// deleted, or archived where its type keeps done activities (17).
// Transfers decided by the failure policy are left as they are.
//
// The ids of the current note and activity of each transfer are kept in
// rftgate's own table `<schema>.odoo_chatter`, created on demand.
#ifndef RFTGATE_ADAPTERS_ODOO_ODOO_CHATTER_H_
#define RFTGATE_ADAPTERS_ODOO_ODOO_CHATTER_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "adapters/common/database.h"
#include "adapters/odoo/odoo_adapter.h"
#include "adapters/odoo/odoo_schema.h"
#include "rftgate/adapter.hpp"

namespace rftgate::odoo {

// &, <, >, " and ' as HTML entities.
std::string EscapeHtml(std::string_view text);

// The text of an HTML fragment: tags dropped, the common entities decoded.
std::string HtmlToText(std::string_view html);

struct ChatterSummary {
  size_t notes_posted = 0;
  size_t notes_updated = 0;
  size_t activities_scheduled = 0;
  size_t activities_updated = 0;
  size_t activities_closed = 0;
};

// Creates `<schema>.odoo_chatter` when missing. Runs inside the caller's
// transaction.
void EnsureChatterTable(adapters::Database& db, const std::string& schema);

// Writes the chatter of one run inside the caller's transaction, in a fixed
// number of set-based statements. `picking_ids` maps transfer names to ids
// as the last load found them (preferred when a name repeats). Throws
// adapter::Error(RFT_ERR_DATABASE) when Odoo's mail data (subtypes,
// activity type, ir_model row) is missing.
ChatterSummary WriteChatter(adapters::Database& db, const OdooSchema& schema,
                            const OdooOptions& options,
                            const adapter::WriteBackBatch& batch,
                            const std::map<std::string, int64_t>& picking_ids);

}  // namespace rftgate::odoo

#endif  // RFTGATE_ADAPTERS_ODOO_ODOO_CHATTER_H_
