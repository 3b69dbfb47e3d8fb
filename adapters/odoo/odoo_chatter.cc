#include "adapters/odoo/odoo_chatter.h"

#include <optional>
#include <set>
#include <unordered_map>
#include <vector>

#include "adapters/odoo/odoo_load.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace rftgate::odoo {
namespace {

using adapter::View;
using adapters::Database;
using adapters::SqlBuilder;
using adapters::Text;
using Cell = std::optional<std::string>;
using Json = nlohmann::json;

constexpr const char* kNowUtc = "(now() AT TIME ZONE 'UTC')";

std::vector<std::vector<Cell>> Fetch(Database& db, SqlBuilder b,
                                     size_t columns) {
  std::vector<std::vector<Cell>> rows;
  db.Query(b.sql, std::move(b.params), columns, 1000,
           [&](const adapters::TextBatch& batch) {
             for (size_t r = 0; r < batch.rows(); ++r) {
               std::vector<Cell> row(columns);
               for (size_t c = 0; c < columns; ++c) {
                 if (!batch.IsNull(r, c)) row[c] = std::string(batch.At(r, c));
               }
               rows.push_back(std::move(row));
             }
           });
  return rows;
}

int64_t Id(const Cell& c) {
  return c ? adapters::ParseInteger(*c).value_or(0) : 0;
}

// Odoo's ir.model.data lookup: `module.name` -> res_id (0 when missing).
std::string XmlIdSql(std::string_view module, std::string_view name) {
  return fmt::format(
      "(SELECT CAST(res_id AS text) FROM ir_model_data WHERE module = '{}' "
      "AND name = '{}' ORDER BY id LIMIT 1)",
      module, name);
}

std::string FindingItem(const rft_finding_row& f, bool with_severity) {
  std::string item = "<li>";
  if (with_severity) {
    item += fmt::format(
        "<b>{}</b> ", f.severity == RFT_SEVERITY_BLOCK ? "[block]" : "[warn]");
  }
  item += "<code>" + EscapeHtml(View(f.check_id)) + "</code> ";
  item += EscapeHtml(View(f.message));
  return item + "</li>";
}

// "Name" <email>, as Odoo's formataddr writes an author.
Cell FormatAddress(const Cell& name, const Cell& email) {
  if (!email || email->empty()) return std::nullopt;
  if (!name || name->empty()) return *email;
  std::string quoted;
  for (char c : *name) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return "\"" + quoted + "\" <" + *email + ">";
}

}  // namespace

std::string EscapeHtml(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string HtmlToText(std::string_view html) {
  std::string out;
  bool in_tag = false;
  for (size_t i = 0; i < html.size(); ++i) {
    char c = html[i];
    if (in_tag) {
      if (c == '>') {
        in_tag = false;
        if (!out.empty() && out.back() != ' ') out += ' ';
      }
      continue;
    }
    if (c == '<') {
      in_tag = true;
      continue;
    }
    if (c == '&') {
      static const std::pair<std::string_view, char> kEntities[] = {
          {"&amp;", '&'},  {"&lt;", '<'},   {"&gt;", '>'},
          {"&quot;", '"'}, {"&#39;", '\''}, {"&nbsp;", ' '}};
      bool decoded = false;
      for (const auto& [entity, ch] : kEntities) {
        if (html.substr(i, entity.size()) == entity) {
          out += ch;
          i += entity.size() - 1;
          decoded = true;
          break;
        }
      }
      if (decoded) continue;
    }
    out += c;
  }
  size_t b = out.find_first_not_of(' ');
  size_t e = out.find_last_not_of(' ');
  return b == std::string::npos ? std::string() : out.substr(b, e - b + 1);
}

void EnsureChatterTable(Database& db, const std::string& schema) {
  const std::string table = adapters::QuoteIdentifier(
      adapters::Dialect::kPostgres, schema + ".odoo_chatter", "options.schema");
  db.Exec("CREATE TABLE IF NOT EXISTS " + table +
          " (picking_id integer PRIMARY KEY, order_ref text NOT NULL, "
          "message_id integer, activity_id integer, state varchar(16) NOT "
          "NULL, first_run text NOT NULL, last_run text NOT NULL, updated_at "
          "timestamptz NOT NULL)");
}

ChatterSummary WriteChatter(Database& db, const OdooSchema& schema,
                            const OdooOptions& options,
                            const adapter::WriteBackBatch& batch,
                            const std::map<std::string, int64_t>& picking_ids) {
  ChatterSummary summary;
  const std::string run_id(View(batch.run->run_id));
  const std::string chatter = adapters::QuoteIdentifier(
      adapters::Dialect::kPostgres, options.schema + ".odoo_chatter",
      "options.schema");

  // Orders the checks judged, with their findings.
  struct OrderWork {
    std::string ref;
    int32_t verdict = RFT_VERDICT_PASS;
    std::vector<const rft_finding_row*> findings;
    int64_t picking_id = 0;
    int64_t user_id = 0;
  };
  std::vector<OrderWork> work;
  std::map<std::string, size_t> by_ref;
  for (size_t i = 0; i < batch.row_count; ++i) {
    const rft_check_run_row& r = batch.Row(i);
    if (r.decided_by != RFT_DECIDED_BY_CHECKS) continue;
    std::string ref(View(r.order_ref));
    if (ref.empty() || by_ref.count(ref)) continue;
    by_ref[ref] = work.size();
    work.push_back({ref, r.verdict, {}, 0, 0});
  }
  for (size_t i = 0; i < batch.finding_count; ++i) {
    const rft_finding_row& f = batch.Finding(i);
    auto it = by_ref.find(std::string(View(f.order_ref)));
    if (it != by_ref.end()) work[it->second].findings.push_back(&f);
  }
  if (work.empty()) return summary;

  // Transfers by name; a name the last load saw keeps its id.
  {
    Json refs = Json::array();
    for (const auto& w : work) refs.push_back(w.ref);
    SqlBuilder b;
    b << "SELECT CAST(id AS text), name, CAST(user_id AS text) FROM "
         "stock_picking WHERE name IN (SELECT jsonb_array_elements_text(CAST("
      << b.Bind(Text(refs.dump())) << " AS jsonb)))";
    if (!options.company_ids.empty()) {
      b << " AND company_id = ANY(CAST("
        << b.Bind(Text(IntArray(options.company_ids))) << " AS int[]))";
    }
    b << " ORDER BY id";
    for (auto& r : Fetch(db, std::move(b), 3)) {
      auto it = by_ref.find(r[1].value_or(""));
      if (it == by_ref.end()) continue;
      OrderWork& w = work[it->second];
      int64_t id = Id(r[0]);
      auto hint = picking_ids.find(w.ref);
      bool preferred = hint != picking_ids.end() && hint->second == id;
      if (w.picking_id == 0 || preferred) {
        w.picking_id = id;
        w.user_id = Id(r[2]);
      }
    }
  }

  // Odoo's own records the rows refer to.
  Cell note_subtype, activities_subtype, warning_type, picking_model, root_user,
      admin_user, author_user, activity_user;
  {
    SqlBuilder b;
    b << "SELECT " << XmlIdSql("mail", "mt_note") << ", "
      << XmlIdSql("mail", "mt_activities") << ", "
      << XmlIdSql("mail", "mail_activity_data_warning")
      << ", (SELECT CAST(id AS text) FROM ir_model WHERE model = "
         "'stock.picking'), "
      << XmlIdSql("base", "user_root") << ", " << XmlIdSql("base", "user_admin")
      << ", (SELECT CAST(id AS text) FROM res_users WHERE login = "
      << b.Bind(options.author_login ? Text(*options.author_login)
                                     : adapters::Null())
      << " ORDER BY id LIMIT 1), (SELECT CAST(id AS text) FROM res_users WHERE "
         "login = "
      << b.Bind(options.activity_user_login ? Text(*options.activity_user_login)
                                            : adapters::Null())
      << " ORDER BY id LIMIT 1)";
    auto rows = Fetch(db, std::move(b), 8);
    if (!rows.empty()) {
      note_subtype = rows[0][0];
      activities_subtype = rows[0][1];
      warning_type = rows[0][2];
      picking_model = rows[0][3];
      root_user = rows[0][4];
      admin_user = rows[0][5];
      author_user = rows[0][6];
      activity_user = rows[0][7];
    }
  }
  std::vector<std::string> missing;
  if (!note_subtype) missing.push_back("mail.mt_note");
  if (!activities_subtype) missing.push_back("mail.mt_activities");
  if (!warning_type) missing.push_back("mail.mail_activity_data_warning");
  if (!picking_model) missing.push_back("ir.model stock.picking");
  if (options.author_login && !author_user) {
    missing.push_back("res.users login '" + *options.author_login + "'");
  }
  if (options.activity_user_login && !activity_user) {
    missing.push_back("res.users login '" + *options.activity_user_login + "'");
  }
  if (!author_user) author_user = root_user;
  if (!author_user) missing.push_back("base.user_root");
  if (!activity_user) activity_user = admin_user;
  if (!activity_user) activity_user = author_user;
  if (!missing.empty()) {
    throw adapter::Error(
        RFT_ERR_DATABASE,
        fmt::format("odoo chatter: Odoo's records {} are missing; is the "
                    "mail module installed?",
                    fmt::join(missing, ", ")));
  }
  Cell author_partner, author_name, author_email;
  {
    SqlBuilder b;
    b << "SELECT CAST(u.partner_id AS text), p.name, p.email FROM res_users u "
         "JOIN res_partner p ON p.id = u.partner_id WHERE u.id = CAST("
      << b.Bind(Text(*author_user)) << " AS int)";
    auto rows = Fetch(db, std::move(b), 3);
    if (!rows.empty()) {
      author_partner = rows[0][0];
      author_name = rows[0][1];
      author_email = rows[0][2];
    }
  }
  Cell type_name, type_icon, type_keep_done;
  {
    SqlBuilder b;
    b << "SELECT "
      << schema.Name("mail_activity_type", "t", "name", b, options.lang)
      << ", t.icon, "
      << (schema.activity_type_keep_done
              ? "CAST(COALESCE(t.keep_done, FALSE) AS text)"
              : "'false'")
      << " FROM mail_activity_type t WHERE t.id = CAST("
      << b.Bind(Text(*warning_type)) << " AS int)";
    auto rows = Fetch(db, std::move(b), 3);
    if (!rows.empty()) {
      type_name = rows[0][0];
      type_icon = rows[0][1];
      type_keep_done = rows[0][2];
    }
  }
  const bool keep_done =
      type_keep_done && adapters::ParseFlag(*type_keep_done) == RFT_FLAG_YES;

  // The current episode of each transfer.
  struct State {
    bool open = false;
    int64_t message_id = 0;
    bool message_exists = false;
    int64_t activity_id = 0;
    bool activity_exists = false;
    Cell summary, note;
  };
  std::unordered_map<int64_t, State> states;
  {
    std::vector<int64_t> ids;
    for (const auto& w : work) {
      if (w.picking_id) ids.push_back(w.picking_id);
    }
    SqlBuilder b;
    b << "SELECT CAST(c.picking_id AS text), c.state, CAST(c.message_id AS "
         "text), CAST(m.id IS NOT NULL AS text), CAST(c.activity_id AS text), "
         "CAST(a.id IS NOT NULL AS text), a.summary, a.note FROM "
      << chatter
      << " c LEFT JOIN mail_message m ON m.id = c.message_id LEFT JOIN "
         "mail_activity a ON a.id = c.activity_id"
      << (schema.activity_has_active ? " AND a.active IS NOT FALSE" : "")
      << " WHERE c.picking_id = ANY(CAST(" << b.Bind(Text(IntArray(ids)))
      << " AS int[]))";
    for (auto& r : Fetch(db, std::move(b), 8)) {
      State s;
      s.open = r[1].value_or("") == "open";
      s.message_id = Id(r[2]);
      s.message_exists = adapters::ParseFlag(r[3].value_or("")) == RFT_FLAG_YES;
      s.activity_id = Id(r[4]);
      s.activity_exists =
          adapters::ParseFlag(r[5].value_or("")) == RFT_FLAG_YES;
      s.summary = r[6];
      s.note = r[7];
      states[Id(r[0])] = std::move(s);
    }
  }

  const std::string ruleset(View(batch.run->ruleset));
  Json note_updates = Json::array(), note_inserts = Json::array(),
       act_updates = Json::array(), act_inserts = Json::array(),
       act_closes = Json::array();
  // Final state per transfer: picking_id -> (ref, state, message, activity).
  struct Final {
    std::string ref, state;
    int64_t message_id = 0, activity_id = 0;
    bool new_message = false, new_activity = false, touched = false;
  };
  std::map<int64_t, Final> finals;

  for (const auto& w : work) {
    if (w.picking_id == 0) continue;
    State s = states.count(w.picking_id) ? states[w.picking_id] : State{};
    Final& f = finals[w.picking_id];
    f.ref = w.ref;
    f.message_id = s.open ? s.message_id : 0;
    f.activity_id = s.open && s.activity_exists ? s.activity_id : 0;
    const bool open_activity = s.open && s.activity_exists;
    auto close_activity = [&](const std::string& feedback) {
      std::string body = "<div><p><span class=\"fa " +
                         EscapeHtml(type_icon.value_or("fa-warning")) +
                         " fa-fw\"></span><span>" +
                         EscapeHtml(type_name.value_or("Exception")) +
                         "</span> done";
      if (s.summary && !s.summary->empty()) {
        body += "<span>: </span><span>" + EscapeHtml(*s.summary) + "</span>";
      }
      body += "</p>";
      if (s.note) {
        std::string text = HtmlToText(*s.note);
        if (!text.empty()) {
          body +=
              "<div class=\"o_mail_note_title fw-bold\">Original "
              "note:</div><div>" +
              EscapeHtml(text) + "</div>";
        }
      }
      body += "<div><div class=\"fw-bold\">Feedback:</div>" +
              EscapeHtml(feedback) + "<br></div></div>";
      act_closes.push_back({{"activity_id", s.activity_id},
                            {"res_id", w.picking_id},
                            {"ref", w.ref},
                            {"body", body}});
      f.activity_id = 0;
      ++summary.activities_closed;
    };

    if (w.verdict == RFT_VERDICT_PASS || w.findings.empty()) {
      if (!s.open) continue;  // nothing open: nothing to resolve
      if (open_activity) {
        close_activity("rftgate run " + run_id + ": the transfer passes");
      }
      f.state = "resolved";
      f.message_id = 0;
      f.touched = true;
      continue;
    }
    size_t blocking = 0, warnings = 0;
    for (const auto* x : w.findings) {
      (x->severity == RFT_SEVERITY_BLOCK ? blocking : warnings)++;
    }
    const bool hold = w.verdict == RFT_VERDICT_HOLD;
    std::string body = fmt::format(
        "<p><b>rftgate</b>: transfer {} &#8212; {} blocking, {} warning "
        "finding(s) (run {}{})</p><ul>",
        hold ? "<b>held</b>" : "released with warnings", blocking, warnings,
        EscapeHtml(run_id),
        ruleset.empty() ? std::string() : ", ruleset " + EscapeHtml(ruleset));
    for (const auto* x : w.findings) body += FindingItem(*x, true);
    body += "</ul>";
    if (s.open && s.message_exists) {
      note_updates.push_back({{"id", s.message_id}, {"body", body}});
      ++summary.notes_updated;
    } else {
      note_inserts.push_back(
          {{"res_id", w.picking_id}, {"ref", w.ref}, {"body", body}});
      f.new_message = true;
      ++summary.notes_posted;
    }
    if (hold) {
      std::string act_summary =
          fmt::format("rftgate: held, {} blocking finding(s)", blocking);
      std::string act_note = "<p>Fix before picking:</p><ul>";
      for (const auto* x : w.findings) {
        if (x->severity == RFT_SEVERITY_BLOCK)
          act_note += FindingItem(*x, false);
      }
      act_note += "</ul>";
      if (open_activity) {
        act_updates.push_back({{"id", s.activity_id},
                               {"summary", act_summary},
                               {"note", act_note}});
        ++summary.activities_updated;
      } else {
        int64_t user = w.user_id ? w.user_id : Id(activity_user);
        act_inserts.push_back({{"res_id", w.picking_id},
                               {"ref", w.ref},
                               {"summary", act_summary},
                               {"note", act_note},
                               {"user_id", user}});
        f.new_activity = true;
        ++summary.activities_scheduled;
      }
    } else if (open_activity) {
      close_activity("rftgate run " + run_id +
                     ": no blocking finding left; released with warnings");
    }
    f.state = "open";
    f.touched = true;
  }

  const std::string uid = *author_user;
  // 1. Notes seen again: updated in place.
  if (!note_updates.empty()) {
    SqlBuilder b;
    b << "UPDATE mail_message m SET body = x.body, write_date = " << kNowUtc
      << ", write_uid = CAST(" << b.Bind(Text(uid))
      << " AS int) FROM jsonb_to_recordset(CAST("
      << b.Bind(Text(note_updates.dump()))
      << " AS jsonb)) AS x(id int, body text) WHERE m.id = x.id";
    db.Exec(std::move(b));
  }
  // Common columns of a message posted on a transfer.
  const bool record_name = schema.Has("mail_message", "record_name");
  const bool is_internal = schema.Has("mail_message", "is_internal");
  const bool message_activity_type =
      schema.Has("mail_message", "mail_activity_type_id");
  const Cell email_from = FormatAddress(author_name, author_email);
  auto insert_messages = [&](const Json& rows, const std::string& type,
                             const std::string& subtype, bool with_type) {
    SqlBuilder b;
    b << "INSERT INTO mail_message (model, res_id, "
      << (record_name ? "record_name, " : "")
      << (is_internal ? "is_internal, " : "")
      << (with_type ? "mail_activity_type_id, " : "")
      << "message_type, subtype_id, author_id, email_from, body, date, "
         "message_id, create_uid, create_date, write_uid, write_date) SELECT "
         "'stock.picking', x.res_id, "
      << (record_name ? "x.ref, " : "") << (is_internal ? "FALSE, " : "");
    if (with_type) b << "CAST(" << b.Bind(Text(*warning_type)) << " AS int), ";
    b << b.Bind(Text(type)) << ", CAST(" << b.Bind(Text(subtype))
      << " AS int), CAST("
      << b.Bind(author_partner ? Text(*author_partner) : adapters::Null())
      << " AS int), "
      << b.Bind(email_from ? Text(*email_from) : adapters::Null())
      << ", x.body, " << kNowUtc << ", '<rftgate.' || " << b.Bind(Text(run_id))
      << " || '.' || x.res_id || '-stock.picking@rftgate>', CAST("
      << b.Bind(Text(uid)) << " AS int), " << kNowUtc << ", CAST("
      << b.Bind(Text(uid)) << " AS int), " << kNowUtc
      << " FROM jsonb_to_recordset(CAST(" << b.Bind(Text(rows.dump()))
      << " AS jsonb)) AS x(res_id int, ref text, body text) ORDER BY x.res_id "
         "RETURNING CAST(id AS text), CAST(res_id AS text)";
    return Fetch(db, std::move(b), 2);
  };
  // 2. New notes (Odoo's "Log note": a comment with subtype mail.mt_note).
  if (!note_inserts.empty()) {
    for (auto& r :
         insert_messages(note_inserts, "comment", *note_subtype, false)) {
      finals[Id(r[1])].message_id = Id(r[0]);
    }
  }
  // 3. Open activities seen again: updated in place.
  if (!act_updates.empty()) {
    SqlBuilder b;
    b << "UPDATE mail_activity a SET summary = x.summary, note = x.note, "
         "write_date = "
      << kNowUtc << ", write_uid = CAST(" << b.Bind(Text(uid))
      << " AS int) FROM jsonb_to_recordset(CAST("
      << b.Bind(Text(act_updates.dump()))
      << " AS jsonb)) AS x(id int, summary text, note text) WHERE a.id = x.id";
    db.Exec(std::move(b));
  }
  // 4. New "Exception" activities, as activity_schedule fills them.
  if (!act_inserts.empty()) {
    const bool res_name = schema.Has("mail_activity", "res_name");
    SqlBuilder b;
    b << "INSERT INTO mail_activity (res_model_id, res_model, res_id, "
      << (res_name ? "res_name, " : "")
      << (schema.activity_has_active ? "active, " : "")
      << "activity_type_id, summary, note, date_deadline, automated, user_id, "
         "create_uid, create_date, write_uid, write_date) SELECT CAST("
      << b.Bind(Text(*picking_model)) << " AS int), 'stock.picking', x.res_id, "
      << (res_name ? "x.ref, " : "")
      << (schema.activity_has_active ? "TRUE, " : "") << "CAST("
      << b.Bind(Text(*warning_type))
      << " AS int), x.summary, x.note, CAST((now() AT TIME ZONE "
      << b.Bind(Text(options.activity_time_zone)) << ") AS date) + CAST("
      << b.Bind(Text(std::to_string(options.activity_delay_days)))
      << " AS int), TRUE, x.user_id, CAST(" << b.Bind(Text(uid)) << " AS int), "
      << kNowUtc << ", CAST(" << b.Bind(Text(uid)) << " AS int), " << kNowUtc
      << " FROM jsonb_to_recordset(CAST(" << b.Bind(Text(act_inserts.dump()))
      << " AS jsonb)) AS x(res_id int, ref text, summary text, note text, "
         "user_id int) ORDER BY x.res_id RETURNING CAST(id AS text), "
         "CAST(res_id AS text)";
    for (auto& r : Fetch(db, std::move(b), 2)) {
      finals[Id(r[1])].activity_id = Id(r[0]);
    }
  }
  // 5. Activities closed as action_feedback does: a "done" message, then
  //    the activity deleted (archived where its type keeps done ones).
  if (!act_closes.empty()) {
    insert_messages(act_closes, "notification", *activities_subtype,
                    message_activity_type);
    std::vector<int64_t> ids;
    for (const auto& c : act_closes) ids.push_back(c["activity_id"]);
    SqlBuilder b;
    if (keep_done && schema.activity_has_active) {
      b << "UPDATE mail_activity SET active = FALSE, "
        << (schema.Has("mail_activity", "date_done")
                ? "date_done = CAST(now() AT TIME ZONE 'UTC' AS date), "
                : "")
        << "write_date = " << kNowUtc << " WHERE id = ANY(CAST("
        << b.Bind(Text(IntArray(ids))) << " AS int[]))";
    } else {
      b << "DELETE FROM mail_activity WHERE id = ANY(CAST("
        << b.Bind(Text(IntArray(ids))) << " AS int[]))";
    }
    db.Exec(std::move(b));
  }
  // 6. rftgate's own record of each transfer's episode.
  Json rows = Json::array();
  for (const auto& [id, f] : finals) {
    if (!f.touched) continue;
    Json row = {{"picking_id", id}, {"ref", f.ref}, {"state", f.state}};
    row["message_id"] = f.message_id ? Json(f.message_id) : Json(nullptr);
    row["activity_id"] = f.activity_id ? Json(f.activity_id) : Json(nullptr);
    rows.push_back(std::move(row));
  }
  if (!rows.empty()) {
    SqlBuilder b;
    b << "INSERT INTO " << chatter
      << " (picking_id, order_ref, message_id, activity_id, state, first_run, "
         "last_run, updated_at) SELECT x.picking_id, x.ref, x.message_id, "
         "x.activity_id, x.state, "
      << b.Bind(Text(run_id)) << ", " << b.Bind(Text(run_id))
      << ", now() FROM jsonb_to_recordset(CAST(" << b.Bind(Text(rows.dump()))
      << " AS jsonb)) AS x(picking_id int, ref text, state text, message_id "
         "int, activity_id int) ON CONFLICT (picking_id) DO UPDATE SET "
         "order_ref = excluded.order_ref, message_id = excluded.message_id, "
         "activity_id = excluded.activity_id, first_run = CASE WHEN "
      << chatter << ".state = 'open' AND excluded.state = 'open' THEN "
      << chatter
      << ".first_run ELSE excluded.first_run END, state = excluded.state, "
         "last_run = excluded.last_run, updated_at = excluded.updated_at";
    db.Exec(std::move(b));
  }
  return summary;
}

}  // namespace rftgate::odoo
