// An adapter for tests of the plugin: serves a wave from a JSON file and
// records write-backs in a JSON-lines file. Options (adapter.options):
//   fixture: path of the wave JSON (relative to the config folder)
//   writes: path of the JSON-lines file that receives each write_back
//   loads: path of the JSON-lines file that receives the inputs each load
//          was asked for ({"needs": <rft_capability bits>})
//   fail: {open|load|write_back|describe: "error" | "database" | "throw" |
//          "sleep" | "stuck" | "bad_record"}
//   sleep_ms: how long "sleep" sleeps (checking cancellation) and "stuck"
//             sleeps (ignoring it, as a database call that cannot be
//             interrupted)
// A call made while another call is inside the same handle fails with
// RFT_ERR_INTERNAL "two calls on one handle at once" (the plugin promises
// never to do that).
//   echo_connection: true = failure messages quote the connection string
// A wave in pages (adapter ABI 1.2): list, write_begin, write_part,
// write_commit, write_abort. The parts of a wave are kept until the commit,
// which appends them to `writes` as one line (with "parts": their number).
//   fail: {list|write_begin|write_part|write_commit: ...} as above
//   fail_part: N = the N-th part of a wave fails (a database error)
//   fail_load: N = the N-th load of the handle fails (an adapter error)
//   lines_first: true = a load puts the lines before their orders
//   left_out: true = a load inside an open wave leaves out the items,
//             stock, locations and customers an earlier load of the same
//             wave put, and says so (RFT_CAP_KNOWN_LEFT_OUT)
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "rftgate/adapter.hpp"

namespace {

using nlohmann::json;
using rftgate::adapter::Call;
using rftgate::adapter::Error;
using rftgate::adapter::NullDecimal;
using rftgate::adapter::NullStr;
using rftgate::adapter::Sink;
using rftgate::adapter::Str;
using rftgate::adapter::View;

// Keeps the strings of one batch alive while it is put.
struct Arena {
  std::vector<std::unique_ptr<std::string>> strings;
  rft_str Get(const json& j, const char* key) {
    if (!j.contains(key) || j[key].is_null()) return NullStr();
    strings.push_back(std::make_unique<std::string>(
        j[key].is_string() ? j[key].get<std::string>() : j[key].dump()));
    return Str(*strings.back());
  }
};

rft_decimal Dec(const json& j, const char* key) {
  if (!j.contains(key) || j[key].is_null()) return NullDecimal();
  std::string text =
      j[key].is_string() ? j[key].get<std::string>() : j[key].dump();
  rft_decimal d{0, 0, 0};
  bool neg = !text.empty() && text[0] == '-';
  bool frac = false;
  for (char c : text.substr(neg ? 1 : 0)) {
    if (c == '.') {
      frac = true;
      continue;
    }
    d.mantissa = d.mantissa * 10 + (c - '0');
    if (frac) ++d.scale;
  }
  if (neg) d.mantissa = -d.mantissa;
  return d;
}

int32_t Flag(const json& j, const char* key) {
  if (!j.contains(key) || j[key].is_null()) return RFT_FLAG_UNKNOWN;
  return j[key].get<bool>() ? RFT_FLAG_YES : RFT_FLAG_NO;
}

int32_t Int(const json& j, const char* key, int32_t def) {
  return j.contains(key) && !j[key].is_null() ? j[key].get<int32_t>() : def;
}

// "2026-11-23" -> date; "2026-11-23T10:00:00Z" -> UTC instant.
rft_time Time(const json& j, const char* key) {
  if (!j.contains(key) || j[key].is_null())
    return rft_time{0, RFT_TIME_NONE, 0};
  std::string t = j[key].get<std::string>();
  int y = 0, m = 0, d = 0, hh = 0, mm = 0, ss = 0;
  std::sscanf(t.c_str(), "%d-%d-%dT%d:%d:%d", &y, &m, &d, &hh, &mm, &ss);
  // days from civil (proleptic Gregorian)
  y -= m <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  int64_t days = era * 146097 + static_cast<int64_t>(doe) - 719468;
  if (t.size() <= 10) return rft_time{days, RFT_TIME_DATE, 0};
  int64_t us = ((days * 86400) + hh * 3600 + mm * 60 + ss) * 1000000LL;
  return rft_time{us, t.back() == 'Z' ? RFT_TIME_UTC : RFT_TIME_LOCAL, 0};
}

class FixtureAdapter {
 public:
  explicit FixtureAdapter(const rftgate::adapter::OpenParams& p)
      : connection_(p.connection) {
    options_ = json::parse(
        p.options_json.empty() ? "{}" : std::string(p.options_json));
    dir_ = std::string(p.config_dir);
    rftgate::adapter::Logger log(p.log, p.log_ctx);
    log.Info("fixture adapter opening " + connection_);
    if (connection_.rfind("fixture://", 0) != 0) {
      throw Error(RFT_ERR_CONFIG,
                  "connection: the fixture adapter takes fixture://<name>");
    }
    Fail("open", Call(nullptr));
    if (options_.contains("fixture")) {
      std::ifstream in(Resolve(options_["fixture"].get<std::string>()));
      if (!in) throw Error(RFT_ERR_CONFIG, "cannot read the fixture");
      wave_ = json::parse(in);
    }
  }

  void List(const rft_selection& selection, Sink& sink, Call& call) {
    OneCallAtATime guard(in_call_);
    Fail("list", call);
    Arena a;
    std::vector<std::string> put_refs;
    std::vector<rft_order> orders = Orders(selection, a, &put_refs);
    for (rft_order& o : orders) {
      // Only the keys of the serving sequence.
      rft_order keys{};
      keys.struct_size = sizeof keys;
      keys.ref = o.ref;
      keys.stable_id = o.stable_id;
      keys.priority = o.priority;
      keys.ship_date = o.ship_date;
      keys.site = o.site;
      o = keys;
    }
    sink.Put(RFT_REC_ORDER, orders.data(), orders.size());
  }

  void Load(const rft_selection& selection, Sink& sink, Call& call) {
    OneCallAtATime guard(in_call_);
    Fail("load", call);
    if (++loads_ == options_.value("fail_load", 0)) {
      throw Error(RFT_ERR_ADAPTER,
                  "load " + std::to_string(loads_) + " failed on purpose");
    }
    Arena a;
    std::vector<std::string> put_refs;
    std::vector<rft_order> orders = Orders(selection, a, &put_refs);
    const bool lines_first = options_.value("lines_first", false);
    if (!lines_first) sink.Put(RFT_REC_ORDER, orders.data(), orders.size());
    const bool leave_out = wave_open_ && options_.value("left_out", false);
    // Whether a reference record of `key` goes into this load.
    auto fresh = [&](const char* kind, const rft_str& key) {
      std::string k = std::string(kind) + ":" + std::string(View(key));
      return !leave_out || put_in_wave_.insert(k).second;
    };
    std::vector<rft_order_line> lines;
    for (const json& l : wave_.value("lines", json::array())) {
      if (std::find(put_refs.begin(), put_refs.end(),
                    l["order"].get<std::string>()) == put_refs.end()) {
        continue;
      }
      rft_order_line r{};
      r.struct_size = sizeof r;
      r.line_no = Int(l, "line", 0);
      r.order_ref = a.Get(l, "order");
      r.line_ref = a.Get(l, "line_ref");
      r.sku = a.Get(l, "sku");
      r.qty = Dec(l, "qty");
      r.uom = a.Get(l, "uom");
      r.location = a.Get(l, "location");
      r.lot = a.Get(l, "lot");
      lines.push_back(r);
    }
    sink.Put(RFT_REC_LINE, lines.data(), lines.size());
    if (lines_first) sink.Put(RFT_REC_ORDER, orders.data(), orders.size());
    std::vector<rft_item> items;
    for (const json& i : wave_.value("items", json::array())) {
      if (!fresh("item", a.Get(i, "sku"))) continue;
      rft_item r{};
      r.struct_size = sizeof r;
      r.sku = a.Get(i, "sku");
      r.active = Flag(i, "active");
      r.lot_tracked = Flag(i, "lot_tracked");
      r.serial_tracked = Flag(i, "serial_tracked");
      r.base_uom = a.Get(i, "uom");
      r.hazmat_class = a.Get(i, "hazmat");
      r.unit_weight_kg = Dec(i, "weight_kg");
      r.unit_volume_m3 = NullDecimal();
      r.min_shelf_life_days = Int(i, "min_shelf_life_days", -1);
      items.push_back(r);
    }
    sink.Put(RFT_REC_ITEM, items.data(), items.size());
    std::vector<rft_stock> stock;
    for (const json& s : wave_.value("stock", json::array())) {
      if (!fresh("stock", a.Get(s, "sku"))) continue;
      rft_stock r{};
      r.struct_size = sizeof r;
      r.sku = a.Get(s, "sku");
      r.location = a.Get(s, "location");
      r.lot = a.Get(s, "lot");
      r.on_hand = Dec(s, "on_hand");
      r.reserved_qty = Dec(s, "reserved");
      r.in_date = Time(s, "in_date");
      stock.push_back(r);
    }
    sink.Put(RFT_REC_STOCK, stock.data(), stock.size());
    std::vector<rft_location> locations;
    for (const json& l : wave_.value("locations", json::array())) {
      if (!fresh("location", a.Get(l, "code"))) continue;
      rft_location r{};
      r.struct_size = sizeof r;
      r.code = a.Get(l, "code");
      r.pickable = Flag(l, "pickable");
      r.blocked = Flag(l, "blocked");
      r.zone = a.Get(l, "zone");
      r.parent = a.Get(l, "parent");
      locations.push_back(r);
    }
    sink.Put(RFT_REC_LOCATION, locations.data(), locations.size());
    if (options_.contains("loads")) {
      std::ofstream out(Resolve(options_["loads"].get<std::string>()),
                        std::ios::app);
      out << json{{"needs", sink.Needs()},
                  {"orders", orders.size()},
                  {"in_wave", wave_open_}}
                 .dump()
          << "\n";
    }
    // Customers only when a check that is on reads them.
    const bool want_customers = sink.Needs(RFT_CAP_CUSTOMERS);
    std::vector<rft_customer> customers;
    for (const json& c : want_customers
                             ? wave_.value("customers", json::array())
                             : json::array()) {
      if (!fresh("customer", a.Get(c, "ref"))) continue;
      rft_customer r{};
      r.struct_size = sizeof r;
      r.ref = a.Get(c, "ref");
      r.blocked = Flag(c, "blocked");
      r.credit_hold = Flag(c, "credit_hold");
      r.min_shelf_life_days = Int(c, "min_shelf_life_days", -1);
      customers.push_back(r);
    }
    sink.Put(RFT_REC_CUSTOMER, customers.data(), customers.size());
    if (options_.value("fail", json::object()).value("load", "") ==
        "bad_record") {
      rft_order bad{};
      bad.struct_size = sizeof bad;  // no ref: refused by the plugin
      sink.Put(RFT_REC_ORDER, &bad, 1);
    }
    uint64_t caps =
        RFT_CAP_ITEMS | RFT_CAP_STOCK | RFT_CAP_LOCATIONS |
        (want_customers ? uint64_t{RFT_CAP_CUSTOMERS} : uint64_t{0}) |
        RFT_CAP_ADDRESSES |
        (leave_out ? uint64_t{RFT_CAP_KNOWN_LEFT_OUT} : uint64_t{0});
    sink.SetCapabilities(caps);
  }

  void WriteBack(const rftgate::adapter::WriteBackBatch& batch, Call& call) {
    OneCallAtATime guard(in_call_);
    Fail("write_back", call);
    json run = NewRun(*batch.run);
    AddRows(batch, &run);
    Append(run);
  }

  void WriteBegin(const rft_writeback_run& run, Call& call) {
    OneCallAtATime guard(in_call_);
    Fail("write_begin", call);
    if (wave_open_) throw Error(RFT_ERR_ADAPTER, "a wave is already open");
    wave_open_ = true;
    wave_failed_ = false;
    put_in_wave_.clear();
    pending_ = NewRun(run);
    pending_["parts"] = 0;
  }

  void WritePart(const rftgate::adapter::WriteBackBatch& part, Call& call) {
    OneCallAtATime guard(in_call_);
    if (!wave_open_) throw Error(RFT_ERR_ADAPTER, "write_part: no open wave");
    if (wave_failed_) throw Error(RFT_ERR_ADAPTER, "write_part: wave failed");
    const int n = pending_["parts"].get<int>() + 1;
    pending_["parts"] = n;
    if (options_.value("fail_part", 0) == n) {
      wave_failed_ = true;
      throw Error(RFT_ERR_DATABASE,
                  "write_part " + std::to_string(n) + " failed on purpose");
    }
    try {
      Fail("write_part", call);
    } catch (...) {
      wave_failed_ = true;
      throw;
    }
    AddRows(part, &pending_);
  }

  void WriteCommit(const rft_writeback_run&, Call& call) {
    OneCallAtATime guard(in_call_);
    if (!wave_open_) throw Error(RFT_ERR_ADAPTER, "write_commit: no open wave");
    wave_open_ = false;
    if (wave_failed_) {
      throw Error(RFT_ERR_ADAPTER, "write_commit: a part failed");
    }
    Fail("write_commit", call);
    Append(pending_);
  }

  void WriteAbort(Call&) {
    OneCallAtATime guard(in_call_);
    wave_open_ = false;
    pending_ = json();
  }

  void Describe(const rftgate::adapter::DescribeFn& emit, Call& call) {
    OneCallAtATime guard(in_call_);
    Fail("describe", call);
    emit("backend", "fixture");
    emit("orders", std::to_string(wave_.value("orders", json::array()).size()));
  }

 private:
  // The orders of `selection`, in the fixture's sequence; their refs in
  // *put_refs.
  std::vector<rft_order> Orders(const rft_selection& selection, Arena& a,
                                std::vector<std::string>* put_refs) const {
    std::vector<std::string> refs;
    for (size_t i = 0; i < selection.ref_count; ++i) {
      refs.emplace_back(View(selection.refs[i]));
    }
    auto wanted = [&](const std::string& ref) {
      return selection.mode != RFT_SELECT_REFS ||
             std::find(refs.begin(), refs.end(), ref) != refs.end();
    };
    std::vector<rft_order> orders;
    for (const json& o : wave_.value("orders", json::array())) {
      if (!wanted(o["ref"].get<std::string>())) continue;
      if (selection.mode == RFT_SELECT_READY && !o.value("ready", true))
        continue;
      put_refs->push_back(o["ref"].get<std::string>());
      rft_order r{};
      r.struct_size = sizeof r;
      r.ref = a.Get(o, "ref");
      r.stable_id = a.Get(o, "id");
      r.site = a.Get(o, "site");
      r.provider = a.Get(o, "provider");
      r.customer_ref = a.Get(o, "customer");
      r.customer_order_ref = a.Get(o, "customer_order");
      r.street = a.Get(o, "street");
      r.city = a.Get(o, "city");
      r.postcode = a.Get(o, "postcode");
      r.country = a.Get(o, "country");
      r.carrier = a.Get(o, "carrier");
      r.carrier_service = a.Get(o, "service");
      r.ship_date = Time(o, "ship_date");
      r.created_at = Time(o, "created_at");
      r.release_at = Time(o, "release_at");
      r.priority = Int(o, "priority", 0);
      orders.push_back(r);
    }
    return orders;
  }

  static json NewRun(const rft_writeback_run& run) {
    return json{{"run_id", std::string(View(run.run_id))},
                {"ruleset", std::string(View(run.ruleset))},
                {"rows", json::array()},
                {"findings", json::array()}};
  }
  static void AddRows(const rftgate::adapter::WriteBackBatch& batch,
                      json* run) {
    for (size_t i = 0; i < batch.row_count; ++i) {
      const rft_check_run_row& r = batch.Row(i);
      (*run)["rows"].push_back({{"order", std::string(View(r.order_ref))},
                                {"verdict", r.verdict},
                                {"decided_by", r.decided_by}});
    }
    for (size_t i = 0; i < batch.finding_count; ++i) {
      const rft_finding_row& f = batch.Finding(i);
      (*run)["findings"].push_back({{"order", std::string(View(f.order_ref))},
                                    {"line", f.line_no},
                                    {"check", std::string(View(f.check_id))}});
    }
  }
  void Append(const json& run) const {
    if (!options_.contains("writes")) return;
    std::ofstream out(Resolve(options_["writes"].get<std::string>()),
                      std::ios::app);
    out << run.dump() << "\n";
  }

  std::string Resolve(const std::string& p) const {
    std::filesystem::path path(p);
    return path.is_absolute() ? p
                              : (std::filesystem::path(dir_) / path).string();
  }

  void Fail(const char* where, const Call& call) const {
    std::string how = options_.value("fail", json::object()).value(where, "");
    std::string suffix = options_.value("echo_connection", false)
                             ? " (connection " + connection_ + ")"
                             : "";
    if (how == "error")
      throw Error(RFT_ERR_ADAPTER,
                  std::string(where) + " failed on purpose" + suffix);
    if (how == "database")
      throw Error(RFT_ERR_DATABASE,
                  std::string(where) + ": database unreachable" + suffix);
    if (how == "throw")
      throw std::runtime_error(std::string(where) + " threw on purpose" +
                               suffix);
    if (how == "stuck") {
      std::this_thread::sleep_for(
          std::chrono::milliseconds(options_.value("sleep_ms", 2000)));
      return;
    }
    if (how == "sleep") {
      auto until = std::chrono::steady_clock::now() +
                   std::chrono::milliseconds(options_.value("sleep_ms", 2000));
      while (std::chrono::steady_clock::now() < until && !call.Cancelled()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      call.ThrowIfStopped();
    }
  }

  class OneCallAtATime {
   public:
    explicit OneCallAtATime(std::atomic<int>& n) : n_(n) {
      if (n_.fetch_add(1) != 0) {
        n_.fetch_sub(1);
        throw Error(RFT_ERR_INTERNAL, "two calls on one handle at once");
      }
    }
    ~OneCallAtATime() { n_.fetch_sub(1); }
    OneCallAtATime(const OneCallAtATime&) = delete;
    OneCallAtATime& operator=(const OneCallAtATime&) = delete;

   private:
    std::atomic<int>& n_;
  };

  std::atomic<int> in_call_{0};
  int loads_ = 0;
  bool wave_open_ = false;
  bool wave_failed_ = false;
  json pending_;                       // the open wave's rows and findings
  std::set<std::string> put_in_wave_;  // "kind:key" put by its loads
  json options_;
  json wave_ = json::object();
  std::string dir_;
  std::string connection_;
};

}  // namespace

RFTGATE_DEFINE_ADAPTER(FixtureAdapter, "fixture", "1.0.0",
                       RFT_CAP_ITEMS | RFT_CAP_STOCK | RFT_CAP_LOCATIONS |
                           RFT_CAP_CUSTOMERS | RFT_CAP_ADDRESSES)
