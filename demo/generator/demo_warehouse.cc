#include "demo/generator/demo_warehouse.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <set>
#include <stdexcept>
#include <vector>

#include "adapters/common/sql_text.h"
#include "demo/generator/random.h"

namespace rftgate::demo {
namespace {

using adapters::FormatDate;

struct Item {
  std::string sku;
  std::string description;
  bool active = true;
  bool lot_tracked = false;
  std::string hazmat;  // empty = not dangerous goods
  int weight_g = 500;
  int case_qty = 0;      // EA per CS; 0 = no case
  int pallet_cases = 0;  // CS per PL; 0 = no pallet
  int min_shelf_days = -1;
  std::string pick_location;
  bool regular = true;  // in customers' assortments
};

struct Lot {
  std::string sku, code;
  int64_t expiry_day;
  std::string status;
};

struct Stock {
  std::string sku, location;
  std::optional<std::string> lot;
  int on_hand;
  int reserved;
  int64_t received_day;
};

struct Location {
  std::string code, zone, parent;
  bool pickable, blocked;
};

struct ProfileEntry {
  int item;
  std::string uom;  // EA, CS or PL
  int typical;      // in uom
};

struct Customer {
  std::string code, name, country, street, city, postcode;
  bool credit_hold = false;
  std::string hold_reason;
  int min_shelf_days = -1;
  std::vector<ProfileEntry> profile;
};

struct Line {
  std::string sku;
  std::string qty;  // as text: "12", "2.5", "0"
  std::string uom;
  std::optional<std::string> location;
  std::optional<std::string> lot;
};

struct Order {
  std::string no;
  int customer = 0;
  std::string status;
  int64_t created_min = 0;  // local minutes since the epoch
  int64_t released_min = 0;
  int64_t ship_day = 0;
  int priority = 0;
  std::string provider;
  std::string service;
  std::vector<Line> lines;
  std::optional<std::optional<std::string>> street, city, postcode;
};

struct Truth {
  std::string order_no, check_id;
  int line_no;
  std::string scope, variant;
};

std::string LocalTime(int64_t minutes) {
  int64_t day = minutes / 1440;
  int64_t m = minutes % 1440;
  char buf[32];
  std::snprintf(buf, sizeof buf, " %02lld:%02lld:00",
                static_cast<long long>(m / 60), static_cast<long long>(m % 60));
  return FormatDate(day) + buf;
}

std::string Kg(int grams) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%d.%03d", grams / 1000, grams % 1000);
  std::string s = buf;
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

const char* const kCategories[] = {
    "Olive oil",     "Coffee beans", "Green tea",    "Shampoo",
    "Hand cream",    "Pasta",        "Rice",         "Notebook",
    "Ballpoint pen", "Dish soap",    "Cereal",       "Chocolate",
    "Sunscreen",     "Toothpaste",   "Batteries AA", "LED bulb",
    "Cable ties",    "Paper towels", "Tomato sauce", "Honey"};
const char* const kHazmat[][2] = {
    {"Isopropyl alcohol 1L", "3"}, {"Paint thinner 500ml", "3"},
    {"Drain cleaner 1L", "8"},     {"Lighter gas 300ml", "2.1"},
    {"Lithium cells pack", "9"},   {"Bleach concentrate 2L", "8"},
    {"Lamp oil 1L", "3"},          {"Aerosol paint 400ml", "2.1"}};

struct Address {
  const char* postcode;
  const char* city;
  const char* street;
};
const std::map<std::string, std::vector<Address>>& Addresses() {
  static const auto* a = new std::map<std::string, std::vector<Address>>{
      {"FR",
       {{"75001", "Paris", "Rue de Rivoli"},
        {"69002", "Lyon", "Rue de la République"},
        {"13001", "Marseille", "La Canebière"},
        {"31000", "Toulouse", "Rue d'Alsace-Lorraine"},
        {"59000", "Lille", "Rue Faidherbe"}}},
      {"DE",
       {{"10115", "Berlin", "Chausseestraße"},
        {"80331", "München", "Kaufingerstraße"},
        {"20095", "Hamburg", "Mönckebergstraße"},
        {"50667", "Köln", "Hohe Straße"}}},
      {"GB",
       {{"SW1A 1AA", "London", "Whitehall"},
        {"M1 1AE", "Manchester", "Market Street"},
        {"B1 1BB", "Birmingham", "Colmore Row"},
        {"EH1 1YZ", "Edinburgh", "Princes Street"}}},
      {"NL",
       {{"1012 AB", "Amsterdam", "Damrak"},
        {"3011 AA", "Rotterdam", "Coolsingel"},
        {"3511 AB", "Utrecht", "Oudegracht"}}},
      {"US",
       {{"94105", "San Francisco", "Mission Street"},
        {"10001", "New York", "W 34th Street"},
        {"60601", "Chicago", "N Michigan Avenue"},
        {"98101", "Seattle", "Pike Street"}}},
  };
  return *a;
}

// A postcode that is wrong for the country (one character short).
std::string BadPostcode(const std::string& country) {
  if (country == "FR") return "7500";
  if (country == "DE") return "1011";
  if (country == "GB") return "SW1A";
  if (country == "NL") return "1012";
  return "9410";
}

const char* const kNames[] = {
    "Maison Dupont",    "Epicerie Lefèvre", "Marché Central",
    "FreshMart",        "Bio Coop Lyon",    "Kaufhaus Weber",
    "Müller Handel",    "Schmidt & Söhne",  "Brighton Supplies",
    "Thames Retail",    "Highland Goods",   "Van Dijk Groothandel",
    "De Vries Winkels", "Bakker BV",        "Golden Gate Stores",
    "Hudson Trading",   "Lakeshore Market", "Pike Place Goods",
    "Papeterie Martin", "Droguerie Morel"};

class Generator {
 public:
  Generator(const DemoOptions& o) : opt_(o), rnd_(o.seed) {}

  DemoSummary Run(const std::string& path);

 private:
  void MakeCatalogue();
  void MakeCustomers();
  void MakePast();
  void MakePicking();
  void MakeReady();
  void Write(const std::string& path);

  int AddDedicatedItem(const std::string& what, bool lot_tracked);
  int ItemIndex(const std::string& sku) const;
  int64_t WeightGrams(const Order& o) const;
  bool HasHazmat(const Order& o) const;
  void AssignCarrier(Order& o);
  // Clean lines from the customer's assortment; false when no unique set
  // could be found.
  bool CleanLines(Order& o, int min_lines, int max_lines);
  bool UniqueSet(const Order& o);
  Line ProfileLine(const ProfileEntry& p);
  std::string NextOrderNo() {
    char buf[32];
    std::snprintf(buf, sizeof buf, "SO-%06d", ++order_seq_);
    return buf;
  }
  void Plant(Order& o, const std::string& check, const std::string& scope);

  DemoOptions opt_;
  Random rnd_;
  std::vector<Item> items_;
  std::vector<Lot> lots_;
  std::vector<Stock> stock_;
  std::vector<Location> locations_;
  std::vector<Customer> customers_;
  std::vector<Order> orders_;
  std::vector<Truth> truth_;
  std::map<std::pair<int, std::string>, std::vector<int64_t>> sets_;
  std::map<std::pair<int, int>, int> history_count_;  // (customer, item)
  int order_seq_ = 0;
  int dedicated_seq_ = 0;
  int empty_location_seq_ = 0;
  int blocked_location_seq_ = 0;
  std::map<std::string, int> variant_seq_;
};

int Generator::ItemIndex(const std::string& sku) const {
  for (size_t i = 0; i < items_.size(); ++i) {
    if (items_[i].sku == sku) return static_cast<int>(i);
  }
  return -1;
}

void Generator::MakeCatalogue() {
  const int64_t today = opt_.today_days;
  // Locations: pick faces in zones A and B, bulk, quarantine.
  for (int i = 0; i < 20; ++i) {
    char code[32];
    std::snprintf(code, sizeof code, "BULK-%02d", i + 1);
    locations_.push_back({code, "BULK", "BULK", false, false});
  }
  locations_.push_back({"QUAR-01", "QUAR", "QUAR", false, true});
  for (int i = 0; i < 10; ++i) {
    char code[32];
    std::snprintf(code, sizeof code, "A-99-%02d", i + 1);
    locations_.push_back({code, "A", "A", true, false});  // empty faces
  }
  for (int i = 0; i < 6; ++i) {
    char code[32];
    std::snprintf(code, sizeof code, "B-BLK-%02d", i + 1);
    locations_.push_back({code, "B", "B", true, true});  // blocked faces
  }
  // Regular items.
  int hazmat_next = 0;
  for (int i = 0; i < 160; ++i) {
    Item it;
    char sku[32];
    std::snprintf(sku, sizeof sku, "SKU-%04d", 1001 + i);
    it.sku = sku;
    if (i % 20 == 19 && hazmat_next < 8) {
      it.description = kHazmat[hazmat_next][0];
      it.hazmat = kHazmat[hazmat_next][1];
      ++hazmat_next;
      it.weight_g = rnd_.Int(400, 2200);
    } else {
      it.description =
          std::string(kCategories[i % 20]) + " #" + std::to_string(i / 20 + 1);
      it.lot_tracked = i % 3 == 0;
      it.weight_g = rnd_.Int(150, 1800);
    }
    it.case_qty = std::vector<int>{6, 12, 24}[i % 3];
    if (static_cast<int64_t>(it.weight_g) * it.case_qty * 40 <= 900000) {
      it.pallet_cases = 40;
    }
    if (it.lot_tracked && i % 7 == 0) it.min_shelf_days = 30;
    char loc[32];
    std::snprintf(loc, sizeof loc, "%c-%02d-%02d", i < 80 ? 'A' : 'B',
                  (i % 80) / 8 + 1, i % 8 + 1);
    it.pick_location = loc;
    locations_.push_back(
        {loc, i < 80 ? "A" : "B", i < 80 ? "A" : "B", true, false});
    const std::string bulk = "BULK-" + std::string(i % 20 < 9 ? "0" : "") +
                             std::to_string(i % 20 + 1);
    if (it.lot_tracked) {
      for (int l = 0; l < 2; ++l) {
        std::string code = "L" + std::to_string(24000 + i * 10 + l);
        lots_.push_back({it.sku, code, today + rnd_.Int(400, 700), "released"});
        stock_.push_back(
            {it.sku, loc, code, 25000, 0, today - rnd_.Int(10, 60)});
        if (l == 0) {
          stock_.push_back({it.sku, bulk, code, 10000, 0, today - 60});
        }
      }
      if (i % 9 == 0) {
        std::string code = "Q" + std::to_string(24000 + i * 10);
        lots_.push_back({it.sku, code, today + 600, "quarantine"});
        stock_.push_back({it.sku, "QUAR-01", code, 120, 0, today - 5});
      }
    } else {
      stock_.push_back({it.sku, loc, std::nullopt, 50000, i % 11 == 0 ? 240 : 0,
                        today - rnd_.Int(10, 60)});
      stock_.push_back({it.sku, bulk, std::nullopt, 20000, 0, today - 60});
    }
    items_.push_back(it);
  }
}

int Generator::AddDedicatedItem(const std::string& what, bool lot_tracked) {
  Item it;
  char sku[32];
  std::snprintf(sku, sizeof sku, "SKU-9%03d", ++dedicated_seq_);
  it.sku = sku;
  it.description = what;
  it.lot_tracked = lot_tracked;
  it.weight_g = 300;
  it.case_qty = 12;
  it.regular = false;
  char loc[32];
  std::snprintf(loc, sizeof loc, "C-%02d-%02d", (dedicated_seq_ - 1) / 8 + 1,
                (dedicated_seq_ - 1) % 8 + 1);
  it.pick_location = loc;
  locations_.push_back({loc, "C", "C", true, false});
  items_.push_back(it);
  return static_cast<int>(items_.size() - 1);
}

void Generator::MakeCustomers() {
  const std::vector<std::string> countries = {"FR", "FR", "DE", "GB", "NL",
                                              "FR", "DE", "US", "GB", "NL"};
  std::vector<int> regular;
  std::vector<int> hazmat;
  for (size_t i = 0; i < items_.size(); ++i) {
    if (!items_[i].regular) continue;
    (items_[i].hazmat.empty() ? regular : hazmat)
        .push_back(static_cast<int>(i));
  }
  for (int c = 0; c < 40; ++c) {
    Customer cu;
    char code[32];
    std::snprintf(code, sizeof code, "C%03d", c + 1);
    cu.code = code;
    cu.name = std::string(kNames[c % 20]) + (c >= 20 ? " II" : "");
    cu.country = countries[c % countries.size()];
    const auto& addrs = Addresses().at(cu.country);
    const Address& a = addrs[c % addrs.size()];
    cu.postcode = a.postcode;
    cu.city = a.city;
    cu.street = std::to_string(rnd_.Int(1, 120)) + " " + a.street;
    if (cu.country == "DE" || cu.country == "NL") {
      cu.street =
          std::string(a.street) + " " + std::to_string(rnd_.Int(1, 120));
    }
    if (c == 2 || c == 6 || c == 10 || c == 14) {
      cu.min_shelf_days = c == 6 ? 90 : 60;
    }
    if (c == 39) {
      cu.credit_hold = true;
      cu.hold_reason = "invoices overdue more than 60 days";
    }
    // Assortment.
    std::vector<int> pool = regular;
    rnd_.Shuffle(pool);
    int n = rnd_.Int(12, 16);
    for (int k = 0; k < n; ++k) {
      const Item& it = items_[pool[k]];
      ProfileEntry p{pool[k], "EA", static_cast<int>(rnd_.Int(2, 20))};
      int roll = rnd_.Int(0, 99);
      if (roll < 25 && it.case_qty > 0) {
        p.uom = "CS";
        p.typical = rnd_.Int(1, 6);
      } else if (roll < 29 && it.pallet_cases > 0) {
        p.uom = "PL";
        p.typical = 1;
      }
      cu.profile.push_back(p);
    }
    if (c % 6 == 1) {
      cu.profile.push_back(
          {hazmat[c % hazmat.size()], "EA", static_cast<int>(rnd_.Int(2, 6))});
    }
    customers_.push_back(cu);
  }
}

Line Generator::ProfileLine(const ProfileEntry& p) {
  Line l;
  l.sku = items_[p.item].sku;
  l.uom = p.uom;
  int lo = std::max(1, (p.typical + 1) / 2);
  int hi = std::max(lo, p.typical + p.typical / 2);
  l.qty = std::to_string(rnd_.Int(lo, hi));
  return l;
}

int64_t Generator::WeightGrams(const Order& o) const {
  int64_t total = 0;
  for (const auto& l : o.lines) {
    int idx = ItemIndex(l.sku);
    if (idx < 0) continue;
    const Item& it = items_[idx];
    auto qty = adapters::ParseDecimal(l.qty);
    if (!qty || qty->scale != 0 || qty->mantissa <= 0) continue;
    int64_t per = 0;
    if (l.uom == "EA") per = 1;
    if (l.uom == "CS") per = it.case_qty;
    if (l.uom == "PL")
      per = static_cast<int64_t>(it.case_qty) * it.pallet_cases;
    total += qty->mantissa * per * it.weight_g;
  }
  return total;
}

bool Generator::HasHazmat(const Order& o) const {
  for (const auto& l : o.lines) {
    int idx = ItemIndex(l.sku);
    if (idx >= 0 && !items_[idx].hazmat.empty()) return true;
  }
  return false;
}

void Generator::AssignCarrier(Order& o) {
  o.service = (HasHazmat(o) || WeightGrams(o) > 25000) ? "GEODIS-PALLET"
                                                       : "DPD-CLASSIC";
}

bool Generator::UniqueSet(const Order& o) {
  std::set<std::string> skus;
  for (const auto& l : o.lines) skus.insert(l.sku);
  std::string key;
  for (const auto& s : skus) key += s + ",";
  auto& days = sets_[{o.customer, key}];
  int64_t day = o.created_min / 1440;
  for (int64_t d : days) {
    if (d > day - 8 && d < day + 8) return false;
  }
  days.push_back(day);
  return true;
}

bool Generator::CleanLines(Order& o, int min_lines, int max_lines) {
  const Customer& cu = customers_[o.customer];
  for (int attempt = 0; attempt < 50; ++attempt) {
    o.lines.clear();
    int n = rnd_.Int(min_lines, max_lines);
    std::vector<int> idx(cu.profile.size());
    for (size_t i = 0; i < idx.size(); ++i) idx[i] = static_cast<int>(i);
    rnd_.Shuffle(idx);
    for (int k = 0; k < n && k < static_cast<int>(idx.size()); ++k) {
      o.lines.push_back(ProfileLine(cu.profile[idx[k]]));
    }
    if (WeightGrams(o) > 1200000) continue;
    if (n == 0 || UniqueSet(o)) return true;
  }
  return false;
}

void Generator::MakePast() {
  const int64_t today = opt_.today_days;
  const std::vector<std::string> past_kinds = {
      "address.incomplete", "qty.invalid",        "uom.mismatch",
      "item.unknown",       "carrier.constraint", "order.duplicate"};
  int planted = 0;
  for (int k = 0; k < opt_.past_orders; ++k) {
    Order o;
    o.no = NextOrderNo();
    o.customer = rnd_.Int(0, static_cast<int>(customers_.size()) - 1);
    int64_t day =
        today - 90 + (static_cast<int64_t>(k) * 90) / opt_.past_orders;
    o.created_min = day * 1440 + rnd_.Int(7 * 60, 17 * 60);
    o.released_min = o.created_min + rnd_.Int(20, 120);
    o.ship_day = day + rnd_.Int(1, 2);
    o.status = rnd_.Chance(0.02) ? "cancelled" : "shipped";
    o.priority = rnd_.Int(0, 2);
    o.provider = rnd_.Chance(0.3) ? "3PL-NORD" : "own";
    if (!CleanLines(o, 1, 4)) continue;
    AssignCarrier(o);
    if (o.status == "shipped") {
      for (const auto& l : o.lines) {
        history_count_[{o.customer, ItemIndex(l.sku)}]++;
      }
    }
    if (o.status == "shipped" && rnd_.Chance(opt_.defect_rate) &&
        !customers_[o.customer].credit_hold) {
      Plant(o, past_kinds[planted % past_kinds.size()], "past");
      ++planted;
    }
    orders_.push_back(o);
  }
}

void Generator::MakePicking() {
  const int64_t today = opt_.today_days;
  for (int k = 0; k < 12; ++k) {
    Order o;
    o.no = NextOrderNo();
    o.customer = rnd_.Int(0, 38);
    o.created_min = today * 1440 + 5 * 60 + k * 5;
    o.released_min = o.created_min + 10;
    o.ship_day = today;
    o.status = "picking";
    o.priority = 1;
    o.provider = "own";
    if (!CleanLines(o, 1, 3)) continue;
    AssignCarrier(o);
    orders_.push_back(o);
  }
}

void Generator::MakeReady() {
  const int64_t today = opt_.today_days;
  const std::vector<std::string> kinds = {
      "item.unknown",       "item.inactive",      "qty.invalid",
      "uom.mismatch",       "stock.short",        "location.mismatch",
      "lot.missing",        "lot.expired",        "lot.shelf_life",
      "lot.fefo",           "lot.quarantine",     "order.duplicate",
      "address.incomplete", "carrier.constraint", "customer.hold",
      "qty.outlier"};
  int defects = static_cast<int>(opt_.ready_orders * opt_.defect_rate + 0.5);
  std::vector<int> slots(opt_.ready_orders);
  for (int i = 0; i < opt_.ready_orders; ++i) slots[i] = i;
  rnd_.Shuffle(slots);
  std::map<int, std::string> plant;
  for (int i = 0; i < defects; ++i) {
    plant[slots[i]] = kinds[i % kinds.size()];
  }
  for (int k = 0; k < opt_.ready_orders; ++k) {
    Order o;
    o.no = NextOrderNo();
    o.customer = rnd_.Int(0, 38);  // C040 (credit hold) only by plant
    o.created_min = (today - 1) * 1440 + 12 * 60 + k * 3;
    o.released_min = today * 1440 + 6 * 60 + k / 10;
    o.ship_day = today + rnd_.Int(1, 3);
    o.status = "released";
    o.priority = rnd_.Int(0, 2);
    o.provider = rnd_.Chance(0.3) ? "3PL-NORD" : "own";
    auto it = plant.find(k);
    if (it == plant.end()) {
      if (!CleanLines(o, 1, 4)) continue;
      AssignCarrier(o);
    } else {
      Plant(o, it->second, "ready");
      // No clean order of the same customer may look like this one: add a
      // clean line until its set of SKUs is unique.
      if (it->second != "order.duplicate") {
        const Customer& cu = customers_[o.customer];
        for (size_t e = 0; e < cu.profile.size() && !UniqueSet(o); ++e) {
          const ProfileEntry& p = cu.profile[e];
          bool present = false;
          for (const auto& l : o.lines) present |= l.sku == items_[p.item].sku;
          if (present || !items_[p.item].hazmat.empty() || p.uom != "EA") {
            continue;
          }
          o.lines.push_back(ProfileLine(p));
        }
        if (it->second != "carrier.constraint") AssignCarrier(o);
      }
    }
    orders_.push_back(o);
  }
}

// Plants one defect of `check` into `o` (which may hold clean lines).
void Generator::Plant(Order& o, const std::string& check,
                      const std::string& scope) {
  const int64_t today = opt_.today_days;
  int variant = variant_seq_[check + scope]++;
  std::string variant_name;
  int line_no = 0;
  auto few_clean = [&](int lo, int hi) {
    if (o.lines.empty() || scope == "ready") {
      if (!CleanLines(o, lo, hi)) o.lines.clear();
    }
    while (static_cast<int>(o.lines.size()) > hi) o.lines.pop_back();
  };
  auto add = [&](Line l) {
    o.lines.push_back(std::move(l));
    line_no = static_cast<int>(o.lines.size());
  };
  auto stock_at = [&](int item, int qty, std::optional<std::string> lot,
                      const std::string& loc) {
    stock_.push_back({items_[item].sku, loc, lot, qty, 0, today - 20});
  };
  bool carrier_done = false;

  if (check == "item.unknown") {
    few_clean(0, 2);
    add({"SKU-" + std::to_string(7000 + variant * 13), "2", "EA", {}, {}});
    variant_name = "SKU not in the item master";
  } else if (check == "item.inactive") {
    few_clean(0, 2);
    int it = AddDedicatedItem("Discontinued gift box", false);
    items_[it].active = false;
    stock_at(it, 500, std::nullopt, items_[it].pick_location);
    add({items_[it].sku, "2", "EA", {}, {}});
    variant_name = "archived SKU";
  } else if (check == "qty.invalid") {
    few_clean(0, 2);
    const Customer& cu = customers_[o.customer];
    const ProfileEntry& p = cu.profile[variant % cu.profile.size()];
    // Keep the SKU out of the clean lines.
    o.lines.erase(std::remove_if(o.lines.begin(), o.lines.end(),
                                 [&](const Line& l) {
                                   return l.sku == items_[p.item].sku;
                                 }),
                  o.lines.end());
    const char* qtys[] = {"0", "-3", "2.5"};
    add({items_[p.item].sku, qtys[variant % 3], "EA", {}, {}});
    variant_name = std::string("quantity ") + qtys[variant % 3] + " EA";
  } else if (check == "uom.mismatch") {
    few_clean(0, 2);
    const Customer& cu = customers_[o.customer];
    int item = cu.profile[variant % cu.profile.size()].item;
    for (size_t i = 0; i < items_.size() && variant % 3 == 1; ++i) {
      if (items_[i].regular && items_[i].pallet_cases == 0 &&
          items_[i].hazmat.empty()) {
        item = static_cast<int>(i);
        break;
      }
    }
    o.lines.erase(std::remove_if(
                      o.lines.begin(), o.lines.end(),
                      [&](const Line& l) { return l.sku == items_[item].sku; }),
                  o.lines.end());
    const char* uoms[] = {"KG", "PL", "BOX"};
    add({items_[item].sku, "2", uoms[variant % 3], {}, {}});
    variant_name =
        std::string("unit ") + uoms[variant % 3] + " not convertible to EA";
  } else if (check == "stock.short") {
    few_clean(0, 2);
    int it = AddDedicatedItem("Seasonal display stand", false);
    stock_at(it, 5, std::nullopt, items_[it].pick_location);
    stock_at(it, 400, std::nullopt, "BULK-20");  // bulk is not pickable
    add({items_[it].sku, "12", "EA", {}, {}});
    variant_name = "12 EA wanted, 5 EA at pickable locations";
  } else if (check == "location.mismatch") {
    few_clean(0, 2);
    const Customer& cu = customers_[o.customer];
    const ProfileEntry* p = nullptr;
    for (const auto& e : cu.profile) {
      if (e.uom == "EA" && !items_[e.item].lot_tracked) p = &e;
    }
    if (p == nullptr) p = &cu.profile[0];
    o.lines.erase(std::remove_if(o.lines.begin(), o.lines.end(),
                                 [&](const Line& l) {
                                   return l.sku == items_[p->item].sku;
                                 }),
                  o.lines.end());
    Line l = ProfileLine(*p);
    l.uom = "EA";
    l.qty = std::to_string(std::max(1, p->typical));
    std::string loc;
    if (variant % 3 == 0) {
      char code[32];
      std::snprintf(code, sizeof code, "A-99-%02d",
                    (empty_location_seq_++ % 10) + 1);
      loc = code;
      variant_name = "assigned location holds no stock of the SKU";
    } else if (variant % 3 == 1) {
      for (const auto& s : stock_) {
        if (s.sku == l.sku && s.location.rfind("BULK", 0) == 0)
          loc = s.location;
      }
      variant_name = "assigned location is bulk (not pickable)";
    } else {
      char code[32];
      std::snprintf(code, sizeof code, "B-BLK-%02d",
                    (blocked_location_seq_++ % 6) + 1);
      loc = code;
      stock_at(p->item, 200, std::nullopt, loc);
      variant_name = "assigned location is blocked";
    }
    l.location = loc;
    add(l);
  } else if (check == "lot.missing") {
    few_clean(0, 2);
    int it = AddDedicatedItem("Vitamin drink 330ml", true);
    stock_at(it, 300, std::nullopt, items_[it].pick_location);
    add({items_[it].sku, "3", "EA", {}, {}});
    variant_name = "lot-tracked SKU whose stock has no lot";
  } else if (check == "lot.expired") {
    few_clean(0, 2);
    int it = AddDedicatedItem("Fresh yoghurt 6-pack", true);
    std::string lot = "X" + std::to_string(9000 + variant);
    lots_.push_back({items_[it].sku, lot, today - 10, "released"});
    stock_at(it, 200, lot, items_[it].pick_location);
    add({items_[it].sku, "4", "EA", {}, {}});
    variant_name = "only lot expired 10 days ago";
  } else if (check == "lot.shelf_life") {
    // A customer that asks for 60+ days of shelf life.
    const int shelf_customers[] = {2, 6, 10, 14};
    o.customer = shelf_customers[variant % 4];
    few_clean(0, 1);
    int it = AddDedicatedItem("Smoked salmon 200g", true);
    std::string lot = "S" + std::to_string(9000 + variant);
    lots_.push_back({items_[it].sku, lot, o.ship_day + 25, "released"});
    stock_at(it, 200, lot, items_[it].pick_location);
    add({items_[it].sku, "4", "EA", {}, {}});
    variant_name = "25 days left at ship date, customer needs " +
                   std::to_string(customers_[o.customer].min_shelf_days);
  } else if (check == "lot.fefo") {
    few_clean(0, 2);
    int it = AddDedicatedItem("Baby formula 800g", true);
    std::string early = "F" + std::to_string(9000 + variant * 2);
    std::string late = "F" + std::to_string(9001 + variant * 2);
    lots_.push_back({items_[it].sku, early, today + 200, "released"});
    lots_.push_back({items_[it].sku, late, today + 500, "released"});
    stock_at(it, 300, early, items_[it].pick_location);
    stock_at(it, 300, late, items_[it].pick_location);
    add({items_[it].sku, "5", "EA", items_[it].pick_location, late});
    variant_name = "assigned lot expires 300 days after an available one";
  } else if (check == "lot.quarantine") {
    few_clean(0, 2);
    int it = AddDedicatedItem("Herbal tea 20 bags", true);
    std::string q = "QA" + std::to_string(9000 + variant);
    std::string r = "RA" + std::to_string(9000 + variant);
    lots_.push_back({items_[it].sku, q, today + 400, "quarantine"});
    lots_.push_back({items_[it].sku, r, today + 450, "released"});
    stock_at(it, 300, q, items_[it].pick_location);
    stock_at(it, 300, r, items_[it].pick_location);
    add({items_[it].sku, "5", "EA", items_[it].pick_location, q});
    variant_name = "assigned lot is on quarantine";
  } else if (check == "order.duplicate") {
    if (variant % 2 == 0 || scope == "past") {
      few_clean(1, 2);
      Line again = o.lines[0];
      add(again);
      variant_name = "the same SKU on two lines";
    } else {
      // A copy of an order of the same customer being picked right now.
      const Order* original = nullptr;
      for (const auto& e : orders_) {
        if (e.status == "picking" && !e.lines.empty()) {
          bool used = false;
          for (const auto& t : truth_) used |= t.variant == "copy of " + e.no;
          if (!used) {
            original = &e;
            break;
          }
        }
      }
      if (original == nullptr) {
        few_clean(1, 2);
        add(o.lines[0]);
        variant_name = "the same SKU on two lines";
      } else {
        o.customer = original->customer;
        o.lines = original->lines;
        o.created_min = original->created_min + 90;
        line_no = 0;
        variant_name = "copy of " + original->no;
      }
    }
  } else if (check == "address.incomplete") {
    few_clean(1, 3);
    const Customer& cu = customers_[o.customer];
    switch (variant % 4) {
      case 0:
        o.postcode = std::optional<std::string>();
        variant_name = "no postcode";
        break;
      case 1:
        o.city = std::optional<std::string>(std::string());
        variant_name = "empty city";
        break;
      case 2:
        o.postcode = std::optional<std::string>(BadPostcode(cu.country));
        variant_name = "postcode " + BadPostcode(cu.country) +
                       " not valid in " + cu.country;
        break;
      default:
        o.street = std::optional<std::string>();
        variant_name = "no street";
        break;
    }
  } else if (check == "carrier.constraint") {
    few_clean(0, 1);
    // Keep the clean part light so that only the planted line decides.
    while (WeightGrams(o) > 5000 && !o.lines.empty()) o.lines.pop_back();
    o.lines.erase(std::remove_if(o.lines.begin(), o.lines.end(),
                                 [&](const Line& l) {
                                   int i = ItemIndex(l.sku);
                                   return i >= 0 && !items_[i].hazmat.empty();
                                 }),
                  o.lines.end());
    const Customer& cu = customers_[o.customer];
    std::set<int> bought;
    for (const auto& e : cu.profile) bought.insert(e.item);
    if (variant % 2 == 0) {
      for (size_t i = 0; i < items_.size(); ++i) {
        if (!items_[i].hazmat.empty() && !bought.count(static_cast<int>(i))) {
          add({items_[i].sku, "2", "EA", {}, {}});
          variant_name = "hazmat class " + items_[i].hazmat +
                         " on a parcel service that refuses it";
          break;
        }
      }
    } else {
      for (size_t i = 0; i < items_.size(); ++i) {
        const Item& it = items_[i];
        if (it.regular && it.hazmat.empty() && it.weight_g >= 1000 &&
            !bought.count(static_cast<int>(i))) {
          int qty = 45000 / it.weight_g + 1;
          add({it.sku, std::to_string(qty), "EA", {}, {}});
          // The weight limit is judged on the whole order (line 0); the
          // variant names the line that makes it too heavy.
          variant_name = "order over 31.5 kg on a parcel service (line " +
                         std::to_string(line_no) + ")";
          line_no = 0;
          break;
        }
      }
    }
    o.service = "DPD-CLASSIC";
    carrier_done = true;
  } else if (check == "customer.hold") {
    o.customer = 39;
    few_clean(1, 3);
    line_no = 0;
    variant_name = "customer on credit hold";
  } else if (check == "qty.outlier") {
    // The customer's most bought light SKU in eaches, 40 times the usual.
    const ProfileEntry* best = nullptr;
    int best_count = 0;
    for (int attempt = 0; attempt < 39 && best == nullptr; ++attempt) {
      const Customer& cu = customers_[o.customer];
      for (const auto& e : cu.profile) {
        int n = history_count_[{o.customer, e.item}];
        if (e.uom == "EA" && items_[e.item].weight_g <= 600 &&
            items_[e.item].hazmat.empty() && n >= 5 && n > best_count) {
          best = &e;
          best_count = n;
        }
      }
      if (best == nullptr) o.customer = (o.customer + 1) % 39;
    }
    few_clean(0, 1);
    if (best != nullptr) {
      o.lines.erase(std::remove_if(o.lines.begin(), o.lines.end(),
                                   [&](const Line& l) {
                                     return l.sku == items_[best->item].sku;
                                   }),
                    o.lines.end());
      int qty = std::max(40 * best->typical, 300);
      add({items_[best->item].sku, std::to_string(qty), "EA", {}, {}});
      variant_name = std::to_string(qty) + " EA, usually about " +
                     std::to_string(best->typical);
    }
  }
  if (!carrier_done) AssignCarrier(o);
  truth_.push_back({o.no, check, line_no, scope, variant_name});
}

void Check(int rc, sqlite3* db, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    throw std::runtime_error(std::string(what) + ": " + sqlite3_errmsg(db));
  }
}

class Insert {
 public:
  Insert(sqlite3* db, const std::string& sql) : db_(db) {
    Check(sqlite3_prepare_v2(db, sql.c_str(), -1, &st_, nullptr), db,
          sql.c_str());
  }
  ~Insert() { sqlite3_finalize(st_); }
  Insert& Text(const std::string& v) {
    sqlite3_bind_text(st_, ++i_, v.c_str(), static_cast<int>(v.size()),
                      SQLITE_TRANSIENT);
    return *this;
  }
  Insert& Opt(const std::optional<std::string>& v) {
    return v ? Text(*v) : Null();
  }
  Insert& Int(int64_t v) {
    sqlite3_bind_int64(st_, ++i_, v);
    return *this;
  }
  Insert& Null() {
    sqlite3_bind_null(st_, ++i_);
    return *this;
  }
  // Binds a decimal written as text so that SQLite stores it as a number.
  Insert& Number(const std::string& v) {
    auto d = adapters::ParseDecimal(v);
    if (d && d->scale == 0) return Int(d->mantissa);
    sqlite3_bind_double(st_, ++i_, std::stod(v));
    return *this;
  }
  void Run() {
    Check(sqlite3_step(st_), db_, "insert");
    sqlite3_reset(st_);
    sqlite3_clear_bindings(st_);
    i_ = 0;
  }
  int64_t LastId() const { return sqlite3_last_insert_rowid(db_); }

 private:
  sqlite3* db_;
  sqlite3_stmt* st_ = nullptr;
  int i_ = 0;
};

constexpr const char* kSchema = R"SQL(
CREATE TABLE sites (code TEXT PRIMARY KEY, name TEXT NOT NULL,
  timezone TEXT NOT NULL);
CREATE TABLE customers (code TEXT PRIMARY KEY, name TEXT NOT NULL,
  country TEXT, blocked INTEGER NOT NULL DEFAULT 0,
  credit_hold INTEGER NOT NULL DEFAULT 0, hold_reason TEXT,
  min_shelf_life_days INTEGER);
CREATE TABLE uoms (code TEXT PRIMARY KEY, category TEXT NOT NULL,
  factor NUMERIC NOT NULL, rounding NUMERIC);
CREATE TABLE items (sku TEXT PRIMARY KEY, description TEXT,
  active INTEGER NOT NULL, base_uom TEXT NOT NULL,
  lot_tracked INTEGER NOT NULL, hazmat_class TEXT, weight_kg NUMERIC,
  volume_m3 NUMERIC, min_shelf_life_days INTEGER);
CREATE TABLE item_packs (sku TEXT NOT NULL REFERENCES items(sku),
  uom TEXT NOT NULL, qty_per_pack NUMERIC NOT NULL, PRIMARY KEY (sku, uom));
CREATE TABLE locations (code TEXT PRIMARY KEY, zone TEXT, parent TEXT,
  pickable INTEGER NOT NULL, blocked INTEGER NOT NULL);
CREATE TABLE lots (sku TEXT NOT NULL, lot_code TEXT NOT NULL,
  expiry_date TEXT, status TEXT NOT NULL, PRIMARY KEY (sku, lot_code));
CREATE TABLE stock (id INTEGER PRIMARY KEY, sku TEXT NOT NULL,
  location TEXT NOT NULL, lot_code TEXT, qty_on_hand NUMERIC NOT NULL,
  qty_reserved NUMERIC NOT NULL DEFAULT 0, received_at TEXT);
CREATE INDEX stock_by_sku ON stock (sku);
CREATE TABLE carrier_services (code TEXT PRIMARY KEY, carrier TEXT NOT NULL,
  name TEXT, hazmat_allowed INTEGER NOT NULL, max_weight_kg NUMERIC,
  cutoff_time TEXT);
CREATE TABLE orders (id INTEGER PRIMARY KEY, order_no TEXT NOT NULL UNIQUE,
  site TEXT NOT NULL, provider TEXT, customer_code TEXT NOT NULL,
  customer_po TEXT, ship_name TEXT, ship_street TEXT, ship_city TEXT,
  ship_postcode TEXT, ship_country TEXT, carrier TEXT, service TEXT,
  ship_date TEXT, created_at TEXT NOT NULL, released_at TEXT,
  priority INTEGER NOT NULL DEFAULT 0, status TEXT NOT NULL,
  on_hold INTEGER NOT NULL DEFAULT 0);
CREATE INDEX orders_by_status ON orders (status);
CREATE INDEX orders_by_customer ON orders (customer_code, created_at);
CREATE TABLE order_lines (id INTEGER PRIMARY KEY,
  order_id INTEGER NOT NULL REFERENCES orders(id), line_no INTEGER NOT NULL,
  sku TEXT NOT NULL, qty NUMERIC NOT NULL, uom TEXT NOT NULL,
  pick_location TEXT, lot_code TEXT);
CREATE INDEX order_lines_by_order ON order_lines (order_id);
CREATE TABLE demo_ground_truth (order_no TEXT NOT NULL,
  check_id TEXT NOT NULL, line_no INTEGER NOT NULL, scope TEXT NOT NULL,
  variant TEXT);
CREATE TABLE demo_info (key TEXT PRIMARY KEY, value TEXT);
)SQL";

void Generator::Write(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    throw std::runtime_error("cannot create " + path + ": " + msg);
  }
  struct Closer {
    sqlite3* db;
    ~Closer() { sqlite3_close(db); }
  } closer{db};
  Check(sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr), db, "begin");
  Check(sqlite3_exec(db, kSchema, nullptr, nullptr, nullptr), db, "schema");
  Insert(db, "INSERT INTO sites VALUES (?, ?, ?)")
      .Text("PAR1")
      .Text("Paris Nord DC")
      .Text("Europe/Paris")
      .Run();
  {
    Insert ins(db, "INSERT INTO customers VALUES (?, ?, ?, ?, ?, ?, ?)");
    for (const auto& c : customers_) {
      ins.Text(c.code).Text(c.name).Text(c.country).Int(0).Int(c.credit_hold);
      c.hold_reason.empty() ? ins.Null() : ins.Text(c.hold_reason);
      c.min_shelf_days < 0 ? ins.Null() : ins.Int(c.min_shelf_days);
      ins.Run();
    }
  }
  {
    Insert ins(db, "INSERT INTO uoms VALUES (?, ?, ?, ?)");
    ins.Text("EA").Text("unit").Int(1).Int(1).Run();
    ins.Text("KG").Text("weight").Int(1).Number("0.001").Run();
    ins.Text("L").Text("volume").Int(1).Number("0.001").Run();
  }
  {
    Insert ins(db, "INSERT INTO items VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    Insert pack(db, "INSERT INTO item_packs VALUES (?, ?, ?)");
    for (const auto& it : items_) {
      ins.Text(it.sku)
          .Text(it.description)
          .Int(it.active)
          .Text("EA")
          .Int(it.lot_tracked);
      it.hazmat.empty() ? ins.Null() : ins.Text(it.hazmat);
      ins.Number(Kg(it.weight_g)).Number("0.002");
      it.min_shelf_days < 0 ? ins.Null() : ins.Int(it.min_shelf_days);
      ins.Run();
      if (it.case_qty > 0) pack.Text(it.sku).Text("CS").Int(it.case_qty).Run();
      if (it.pallet_cases > 0) {
        pack.Text(it.sku).Text("PL").Int(it.case_qty * it.pallet_cases).Run();
      }
    }
  }
  {
    Insert ins(db, "INSERT INTO locations VALUES (?, ?, ?, ?, ?)");
    for (const auto& l : locations_) {
      ins.Text(l.code)
          .Text(l.zone)
          .Text(l.parent)
          .Int(l.pickable)
          .Int(l.blocked);
      ins.Run();
    }
  }
  {
    Insert ins(db, "INSERT INTO lots VALUES (?, ?, ?, ?)");
    for (const auto& l : lots_) {
      ins.Text(l.sku)
          .Text(l.code)
          .Text(FormatDate(l.expiry_day))
          .Text(l.status);
      ins.Run();
    }
  }
  {
    Insert ins(db,
               "INSERT INTO stock (sku, location, lot_code, qty_on_hand, "
               "qty_reserved, received_at) VALUES (?, ?, ?, ?, ?, ?)");
    for (const auto& s : stock_) {
      ins.Text(s.sku)
          .Text(s.location)
          .Opt(s.lot)
          .Int(s.on_hand)
          .Int(s.reserved);
      ins.Text(FormatDate(s.received_day) + " 09:00:00").Run();
    }
  }
  {
    Insert ins(db, "INSERT INTO carrier_services VALUES (?, ?, ?, ?, ?, ?)");
    ins.Text("DPD-CLASSIC").Text("DPD").Text("DPD Classic parcel").Int(0);
    ins.Number("31.5").Text("16:00").Run();
    ins.Text("GEODIS-PALLET").Text("GEODIS").Text("Geodis pallet freight");
    ins.Int(1).Int(1500).Text("12:00").Run();
  }
  {
    Insert ins(db,
               "INSERT INTO orders (order_no, site, provider, customer_code, "
               "customer_po, ship_name, ship_street, ship_city, "
               "ship_postcode, ship_country, carrier, service, ship_date, "
               "created_at, released_at, priority, status) VALUES (?, ?, ?, "
               "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    Insert line(db,
                "INSERT INTO order_lines (order_id, line_no, sku, qty, uom, "
                "pick_location, lot_code) VALUES (?, ?, ?, ?, ?, ?, ?)");
    int po = 0;
    for (const auto& o : orders_) {
      const Customer& c = customers_[o.customer];
      ins.Text(o.no).Text("PAR1").Text(o.provider).Text(c.code);
      ins.Text("PO-" + c.code + "-" + std::to_string(++po)).Text(c.name);
      ins.Opt(o.street ? *o.street : std::optional<std::string>(c.street));
      ins.Opt(o.city ? *o.city : std::optional<std::string>(c.city));
      ins.Opt(o.postcode ? *o.postcode
                         : std::optional<std::string>(c.postcode));
      ins.Text(c.country);
      ins.Text(o.service.substr(0, o.service.find('-'))).Text(o.service);
      ins.Text(FormatDate(o.ship_day)).Text(LocalTime(o.created_min));
      ins.Text(LocalTime(o.released_min)).Int(o.priority).Text(o.status).Run();
      int64_t id = ins.LastId();
      int n = 0;
      for (const auto& l : o.lines) {
        line.Int(id).Int(++n).Text(l.sku).Number(l.qty).Text(l.uom);
        line.Opt(l.location).Opt(l.lot).Run();
      }
    }
  }
  {
    Insert ins(db, "INSERT INTO demo_ground_truth VALUES (?, ?, ?, ?, ?)");
    for (const auto& t : truth_) {
      ins.Text(t.order_no)
          .Text(t.check_id)
          .Int(t.line_no)
          .Text(t.scope)
          .Text(t.variant);
      ins.Run();
    }
  }
  {
    Insert ins(db, "INSERT INTO demo_info VALUES (?, ?)");
    ins.Text("seed").Text(std::to_string(opt_.seed)).Run();
    ins.Text("today").Text(FormatDate(opt_.today_days)).Run();
    ins.Text("site_timezone").Text("Europe/Paris").Run();
    ins.Text("ready_status").Text("released").Run();
  }
  Check(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), db, "commit");
}

DemoSummary Generator::Run(const std::string& path) {
  MakeCatalogue();
  MakeCustomers();
  MakePast();
  MakePicking();
  MakeReady();
  Write(path);
  DemoSummary s;
  s.orders = static_cast<int>(orders_.size());
  s.items = static_cast<int>(items_.size());
  s.customers = static_cast<int>(customers_.size());
  for (const auto& o : orders_) {
    s.lines += static_cast<int>(o.lines.size());
    if (o.status == "released") ++s.ready_orders;
  }
  for (const auto& t : truth_) {
    if (t.scope == "ready") {
      ++s.defects_ready;
      ++s.ready_defects_by_check[t.check_id];
    } else {
      ++s.defects_past;
    }
  }
  return s;
}

}  // namespace

DemoSummary GenerateDemoWarehouse(const std::string& path,
                                  const DemoOptions& options) {
  if (std::filesystem::exists(path)) {
    throw std::runtime_error(path + " already exists");
  }
  Generator g(options);
  return g.Run(path);
}

}  // namespace rftgate::demo
