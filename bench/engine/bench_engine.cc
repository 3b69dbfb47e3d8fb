// Engine throughput on warehouse-shaped data: 12,000 SKUs (40% lot-tracked
// with three lots each), stock at nested locations, units in cases and
// dozens, customer history, and about one order in five defective.
// Fixed seed: every run checks the same wave.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <deque>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "plugin/engine/engine.h"
#include "plugin/engine/ruleset.h"
#include "plugin/engine/wave.h"

namespace rftgate {
namespace {

constexpr int64_t kShipDay = 19853;  // 2024-05-10
constexpr int64_t kDayUs = 86'400'000'000LL;

rft_decimal Dec(int64_t m, int32_t s = 0) { return rft_decimal{m, s, 0}; }
rft_time Day(int64_t d) { return rft_time{d, RFT_TIME_DATE, 0}; }

class Generator {
 public:
  explicit Generator(int orders) : rng_(20240510) { Make(orders); }

  Wave Build() const {
    WaveBuilder b;
    std::string error;
    auto put = [&](int32_t kind, const auto& v) {
      if (!v.empty()) b.Put(kind, v.data(), v.size(), &error);
    };
    put(RFT_REC_ORDER, orders_);
    put(RFT_REC_LINE, lines_);
    put(RFT_REC_ITEM, items_);
    put(RFT_REC_UNIT, units_);
    put(RFT_REC_ITEM_UNIT, item_units_);
    put(RFT_REC_STOCK, stock_);
    put(RFT_REC_LOT, lots_);
    put(RFT_REC_LOCATION, locations_);
    put(RFT_REC_CUSTOMER, customers_);
    put(RFT_REC_CARRIER_SERVICE, carriers_);
    put(RFT_REC_HISTORY_LINE, history_);
    b.SetCapabilities((1u << 11) - 1);
    return b.Finish();
  }
  size_t lines() const { return lines_.size(); }
  int defective_orders() const { return defective_; }

 private:
  rft_str S(std::string s) {
    strings_.push_back(std::move(s));
    return rft_str{strings_.back().data(), strings_.back().size()};
  }
  int Pick(int n) {
    return static_cast<int>(rng_() % static_cast<uint32_t>(n));
  }

  void Make(int order_count) {
    constexpr int kSkus = 12000, kAisles = 200, kBins = 40, kCustomers = 2000;
    rft_unit u{};
    u.struct_size = sizeof(u);
    u.code = S("EA");
    u.category = S("unit");
    u.factor = Dec(1);
    u.rounding = Dec(1);
    units_.push_back(u);
    u.code = S("DZ");
    u.factor_kind = RFT_FACTOR_DIVIDE;
    u.factor = Dec(83333, 6);
    units_.push_back(u);
    u.code = S("KG");
    u.category = S("weight");
    u.factor_kind = RFT_FACTOR_MULTIPLY;
    u.factor = Dec(1);
    u.rounding = Dec(1, 3);
    units_.push_back(u);
    for (int a = 0; a < kAisles; ++a) {
      rft_location l{};
      l.struct_size = sizeof(l);
      l.pickable = RFT_FLAG_YES;
      l.blocked = a == 7 ? RFT_FLAG_YES : RFT_FLAG_NO;
      l.code = S("A" + std::to_string(a));
      l.zone = S("Z" + std::to_string(a % 5));
      l.parent = rft_str{nullptr, 0};
      locations_.push_back(l);
      for (int b = 0; b < kBins; ++b) {
        l.blocked = RFT_FLAG_UNKNOWN;
        l.pickable = RFT_FLAG_UNKNOWN;
        l.parent = locations_[locations_.size() - 1 - b].code;
        l.code = S("A" + std::to_string(a) + "-" + std::to_string(b));
        locations_.push_back(l);
      }
    }
    for (int s = 0; s < kSkus; ++s) {
      rft_item it{};
      it.struct_size = sizeof(it);
      it.sku = S("SKU-" + std::to_string(100000 + s));
      it.active = s % 1999 == 0 ? RFT_FLAG_NO : RFT_FLAG_YES;
      bool lots = s % 5 < 2;
      it.lot_tracked = lots ? RFT_FLAG_YES : RFT_FLAG_NO;
      it.serial_tracked = RFT_FLAG_NO;
      it.base_uom = units_[0].code;
      it.hazmat_class = s % 500 == 0 ? S("3") : rft_str{nullptr, 0};
      it.unit_weight_kg = Dec(1 + Pick(400), 3);
      it.unit_volume_m3 = rft_decimal{0, 0, 1};
      it.min_shelf_life_days = lots && s % 3 == 0 ? 20 : -1;
      items_.push_back(it);
      if (s % 2 == 0) {
        rft_item_unit iu{};
        iu.struct_size = sizeof(iu);
        iu.sku = it.sku;
        iu.uom = S("CS");
        iu.factor = Dec(12);
        item_units_.push_back(iu);
      }
      int nlots = lots ? 3 : 1;
      for (int l = 0; l < nlots; ++l) {
        rft_str lot{nullptr, 0};
        if (lots) {
          lot = S("L" + std::to_string(s) + "-" + std::to_string(l));
          rft_lot lr{};
          lr.struct_size = sizeof(lr);
          lr.status = Pick(50) == 0 ? RFT_LOT_QUARANTINE : RFT_LOT_RELEASED;
          lr.sku = it.sku;
          lr.lot = lot;
          lr.expiry = Day(kShipDay - 5 + 30 * l + Pick(60));
          lots_.push_back(lr);
          lot_codes_.push_back(lot);
        }
        for (int k = 0; k < 2; ++k) {
          rft_stock st{};
          st.struct_size = sizeof(st);
          st.sku = it.sku;
          st.location =
              locations_[1 + Pick(kAisles) * (kBins + 1) + Pick(kBins)].code;
          st.lot = lot;
          st.on_hand = Dec(Pick(40) == 0 ? -3 : 20 + Pick(400));
          st.reserved_qty = Dec(Pick(20));
          st.in_date = Day(kShipDay - 100 + Pick(90));
          stock_.push_back(st);
        }
      }
    }
    for (int c = 0; c < kCustomers; ++c) {
      rft_customer cu{};
      cu.struct_size = sizeof(cu);
      cu.blocked = RFT_FLAG_NO;
      cu.credit_hold = c % 100 == 0 ? RFT_FLAG_YES : RFT_FLAG_NO;
      cu.min_shelf_life_days = c % 4 == 0 ? 10 : -1;
      cu.ref = S("CUST-" + std::to_string(c));
      cu.name = S("Customer " + std::to_string(c));
      cu.hold_reason = rft_str{nullptr, 0};
      customers_.push_back(cu);
    }
    for (int k = 0; k < 4; ++k) {
      rft_carrier_service cs{};
      cs.struct_size = sizeof(cs);
      cs.hazmat_allowed = k == 0 ? RFT_FLAG_NO : RFT_FLAG_YES;
      cs.cutoff_minute = 17 * 60;
      cs.carrier = S("CARRIER");
      cs.code = S("SVC" + std::to_string(k));
      cs.max_parcel_weight_kg = k == 1 ? Dec(40) : Dec(1000);
      carriers_.push_back(cs);
    }
    for (int h = 0; h < 60000; ++h) {
      rft_history_line hl{};
      hl.struct_size = sizeof(hl);
      hl.order_ref = S("PAST-" + std::to_string(h / 4));
      hl.customer_ref = customers_[Pick(kCustomers)].ref;
      hl.sku = items_[Pick(kSkus)].sku;
      hl.qty = Dec(1 + Pick(12));
      hl.created_at =
          rft_time{(kShipDay - 1 - Pick(60)) * kDayUs, RFT_TIME_UTC, 0};
      history_.push_back(hl);
    }
    std::vector<rft_str> postcodes;
    for (int p = 0; p < 500; ++p) {
      postcodes.push_back(S(std::to_string(10000 + p * 170)));
    }
    for (int o = 0; o < order_count; ++o) {
      rft_order r{};
      r.struct_size = sizeof(r);
      r.ref = S("WH/OUT/" + std::to_string(100000 + o));
      r.stable_id = S(std::to_string(o));
      r.site = S("WH1");
      r.provider = S("own");
      r.customer_ref = customers_[Pick(kCustomers)].ref;
      r.customer_order_ref = r.ref;
      r.ship_to_name = S("Müller GmbH");
      r.street = S("Hauptstraße " + std::to_string(1 + Pick(200)));
      r.city = S("Köln");
      r.postcode = postcodes[Pick(500)];
      r.country = S("DE");
      r.carrier = S("CARRIER");
      r.carrier_service = carriers_[Pick(4)].code;
      r.ship_date = Day(kShipDay + Pick(3));
      r.created_at = rft_time{(kShipDay - 1) * kDayUs + Pick(86400) * 1000000LL,
                              RFT_TIME_UTC, 0};
      r.release_at =
          rft_time{kShipDay * kDayUs + 8 * 3600000000LL, RFT_TIME_UTC, 0};
      r.priority = Pick(10) == 0 ? 5 : 0;
      r.status_text = S("ready");
      int defect = Pick(5) == 0 ? 1 + Pick(8) : 0;
      if (defect) ++defective_;
      if (defect == 1) r.postcode = S("ABC");
      if (defect == 2) r.street = rft_str{nullptr, 0};
      orders_.push_back(r);
      int nlines = 1 + Pick(9);  // 5 on average
      for (int l = 1; l <= nlines; ++l) {
        rft_order_line ln{};
        ln.struct_size = sizeof(ln);
        ln.line_no = l;
        ln.order_ref = r.ref;
        ln.line_ref = S(std::to_string(o) + "." + std::to_string(l));
        int s = Pick(kSkus);
        ln.sku = items_[s].sku;
        ln.qty = Dec(1 + Pick(6));
        ln.uom = rft_str{nullptr, 0};
        ln.location = rft_str{nullptr, 0};
        ln.lot = rft_str{nullptr, 0};
        if (s % 2 == 0 && Pick(4) == 0) ln.uom = S("CS");
        if (Pick(10) == 0) ln.uom = units_[1].code;  // DZ
        if (l == 1) {
          switch (defect) {
            case 3:
              ln.sku = S("GHOST-" + std::to_string(o));
              break;
            case 4:
              ln.qty = Dec(0);
              break;
            case 5:
              ln.qty = Dec(5, 1);
              break;  // half an each
            case 6:
              ln.qty = Dec(5000);
              break;  // short and an outlier
            case 7:
              ln.uom = units_[2].code;
              break;  // KG for an each item
            case 8:
              if (!lot_codes_.empty())
                ln.lot = lot_codes_[Pick(static_cast<int>(lot_codes_.size()))];
              break;
          }
        }
        lines_.push_back(ln);
      }
    }
  }

  std::mt19937 rng_;
  std::deque<std::string> strings_;
  std::vector<rft_str> lot_codes_;
  std::vector<rft_order> orders_;
  std::vector<rft_order_line> lines_;
  std::vector<rft_item> items_;
  std::vector<rft_unit> units_;
  std::vector<rft_item_unit> item_units_;
  std::vector<rft_stock> stock_;
  std::vector<rft_lot> lots_;
  std::vector<rft_location> locations_;
  std::vector<rft_customer> customers_;
  std::vector<rft_carrier_service> carriers_;
  std::vector<rft_history_line> history_;
  int defective_ = 0;
};

const Generator& Data() {
  static const Generator* const g = new Generator(20000);
  return *g;
}

void BM_EngineRun(benchmark::State& state) {
  const Generator& g = Data();
  Wave wave = g.Build();
  Ruleset rules = DefaultRuleset();
  rules.default_timezone = "Europe/Berlin";
  ComputeRevision(rules);
  Engine engine(rules);
  RunContext ctx;
  ctx.now_unix_us = kShipDay * kDayUs + 8 * 3600000000LL;
  size_t held = 0, warned = 0;
  for (auto _ : state) {
    WaveResult r = engine.Run(wave, ctx);
    held = warned = 0;
    for (const auto& o : r.orders) {
      held += o.verdict == Verdict::kHold;
      warned += o.verdict == Verdict::kWarn;
    }
    benchmark::DoNotOptimize(r);
  }
  const double lines = static_cast<double>(wave.line_count());
  state.counters["lines_per_s"] =
      benchmark::Counter(lines * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate);
  state.counters["orders"] = static_cast<double>(wave.order_count());
  state.counters["lines"] = lines;
  state.counters["held_pct"] = 100.0 * static_cast<double>(held) /
                               static_cast<double>(wave.order_count());
  state.counters["warned_pct"] = 100.0 * static_cast<double>(warned) /
                                 static_cast<double>(wave.order_count());
}
BENCHMARK(BM_EngineRun)->Unit(benchmark::kMillisecond)->MinTime(2.0);

void BM_WaveBuilder(benchmark::State& state) {
  const Generator& g = Data();
  for (auto _ : state) {
    Wave w = g.Build();
    benchmark::DoNotOptimize(w);
  }
  state.counters["lines_per_s"] = benchmark::Counter(
      static_cast<double>(g.lines()) * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate);
}
BENCHMARK(BM_WaveBuilder)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace rftgate

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "--findings") {
    // Which checks fire on the benchmark's wave, for calibrating the data.
    rftgate::Wave wave = rftgate::Data().Build();
    rftgate::Engine engine(rftgate::DefaultRuleset());
    rftgate::RunContext ctx;
    ctx.now_unix_us = rftgate::kShipDay * rftgate::kDayUs;
    std::map<std::string, int> count;
    for (const auto& o : engine.Run(wave, ctx).orders) {
      for (const auto& f : o.findings) ++count[std::string(f.check_id)];
    }
    for (const auto& [id, n] : count) std::printf("%-20s %d\n", id.c_str(), n);
    return 0;
  }
  if (argc > 1 && std::string(argv[1]) == "--dump") {
    // Every verdict and finding of the benchmark's run, one per line, to
    // compare two builds of the engine on the same wave.
    rftgate::Wave wave = rftgate::Data().Build();
    rftgate::Ruleset rules = rftgate::DefaultRuleset();
    rules.default_timezone = "Europe/Berlin";
    rftgate::ComputeRevision(rules);
    rftgate::Engine engine(rules);
    rftgate::RunContext ctx;
    ctx.now_unix_us = rftgate::kShipDay * rftgate::kDayUs + 8 * 3600000000LL;
    ctx.record_allocations =
        argc > 2 && std::string(argv[2]) == "--allocations";
    rftgate::WaveResult r = engine.Run(wave, ctx);
    for (const auto& n : r.notes) {
      std::printf("note\t%s\t%s\n", n.check_id.c_str(), n.message.c_str());
    }
    auto c = [](std::string_view v) { return std::string(v); };
    for (const auto& o : r.orders) {
      std::printf("order\t%s\t%s\t%s\t%s\t%s\t%s\t%d\n", c(o.ref).c_str(),
                  c(o.stable_id).c_str(), c(o.site).c_str(),
                  c(o.provider).c_str(), c(o.customer).c_str(),
                  c(o.customer_order_ref).c_str(), static_cast<int>(o.verdict));
      for (const auto& f : o.findings) {
        std::printf("finding\t%d\t%s\t%s\t%d\t%s\t%s\n", f.line_no,
                    c(f.line_ref).c_str(), c(f.check_id).c_str(),
                    static_cast<int>(f.severity), c(f.message).c_str(),
                    c(f.details_json).c_str());
      }
      for (const auto& a : o.allocations) {
        std::printf("allocation\t%d\t%s\t%s\t%s\t%s\t%d\n", a.line_no,
                    a.sku.c_str(), a.location.c_str(), a.lot.c_str(),
                    a.qty.c_str(), a.from_reservation ? 1 : 0);
      }
    }
    return 0;
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
