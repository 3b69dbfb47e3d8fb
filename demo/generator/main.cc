// rftgate_demo_generator: writes the demo warehouse (a SQLite database with
// a small WMS, its orders and the ground truth of planted defects).
//
//   rftgate_demo_generator [--db PATH] [--seed N] [--today YYYY-MM-DD]
//                          [--past-orders N] [--ready-orders N]
//                          [--force | --if-absent]
//
// The database is written beside its final path and renamed into place, so
// a half-written demo warehouse never exists. Exit status: 0 on success (or
// when --if-absent finds the database), 1 on error, 2 on bad usage.
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <string>
#include <system_error>

#include "adapters/common/sql_text.h"
#include "demo/generator/demo_warehouse.h"

namespace {

void Usage() {
  std::fprintf(stderr,
               "usage: rftgate_demo_generator [--db PATH] [--seed N] "
               "[--today YYYY-MM-DD] [--past-orders N] [--ready-orders N] "
               "[--force | --if-absent]\n"
               "default database: %s\n",
               RFTGATE_DEMO_DEFAULT_DB);
}

}  // namespace

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  using rftgate::adapters::ParseTime;
  rftgate::demo::DemoOptions options;
  std::string path = RFTGATE_DEMO_DEFAULT_DB;
  bool force = false;
  bool if_absent = false;
  options.today_days = static_cast<int64_t>(std::time(nullptr)) / 86400;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        Usage();
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--db") {
      path = value();
    } else if (arg == "--seed") {
      options.seed = std::stoull(value());
    } else if (arg == "--today") {
      std::string v = value();
      auto t = ParseTime(v, rftgate::adapters::TimestampMode::kLocal);
      if (!t || t->kind != RFT_TIME_DATE) {
        std::fprintf(stderr, "--today: expected YYYY-MM-DD, got '%s'\n",
                     v.c_str());
        return 2;
      }
      options.today_days = t->value;
    } else if (arg == "--past-orders") {
      options.past_orders = std::stoi(value());
    } else if (arg == "--ready-orders") {
      options.ready_orders = std::stoi(value());
    } else if (arg == "--force") {
      force = true;
    } else if (arg == "--if-absent") {
      if_absent = true;
    } else {
      Usage();
      return 2;
    }
  }
  if (fs::exists(path)) {
    if (if_absent) {
      std::printf("demo warehouse: %s exists, left as it is\n", path.c_str());
      return 0;
    }
    if (!force) {
      std::fprintf(stderr,
                   "%s exists: use --force to recreate it or --if-absent to "
                   "keep it\n",
                   path.c_str());
      return 1;
    }
  }
  std::error_code ec;
  fs::path target(path);
  if (target.has_parent_path())
    fs::create_directories(target.parent_path(), ec);
  std::string temp = path + ".tmp";
  fs::remove(temp, ec);
  try {
    auto s = rftgate::demo::GenerateDemoWarehouse(temp, options);
    fs::rename(temp, target);
    std::printf(
        "demo warehouse: %s\n  %d orders (%d ready for release), %d lines, "
        "%d items, %d customers\n  planted defects: %d in orders ready for "
        "release, %d in past orders\n",
        path.c_str(), s.orders, s.ready_orders, s.lines, s.items, s.customers,
        s.defects_ready, s.defects_past);
    for (const auto& [check, n] : s.ready_defects_by_check) {
      std::printf("    %-20s %d\n", check.c_str(), n);
    }
  } catch (const std::exception& e) {
    fs::remove(temp, ec);
    std::fprintf(stderr, "rftgate_demo_generator: %s\n", e.what());
    return 1;
  }
  return 0;
}
