// The plugin through its C ABI, loaded as a host loads it, with test
// adapters: handshake, refusals, errors from adapters, config errors,
// masking, failure policy, write-back.
#include <dlfcn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rftgate/host.hpp"

namespace {

namespace fs = std::filesystem;
using rftgate::host::Str;
using rftgate::host::View;
using ::testing::HasSubstr;
using ::testing::Not;

class PluginAbiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Parameterised tests are named "Test/param": keep it one folder.
    std::string name =
        ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::replace(name.begin(), name.end(), '/', '_');
    dir_ = fs::temp_directory_path() /
           ("rftgate-abi-" + std::to_string(::getpid()) + "-" + name);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    plugin_ = rftgate::host::Plugin::Load(RFT_TEST_PLUGIN);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Writes a config for the fixture adapter; `extra_options` is YAML lines
  // indented under adapter.options.
  std::string WriteConfig(const std::string& extra_options = "",
                          const std::string& top = "",
                          const std::string& adapter = "fixture") {
    std::string path = (dir_ / "rftgate.yaml").string();
    std::ofstream out(path);
    out << "adapter:\n"
        << "  name: " << adapter << "\n"
        << "  library_dirs: [\"" << RFT_TEST_ADAPTER_DIR << "\"]\n"
        << "  connection: \"fixture://wave host=db password=s3cr3t-pw\"\n"
        << "  options:\n"
        << "    fixture: \"" << RFT_TEST_DATA_DIR << "/wave.json\"\n"
        << "    writes: writes.jsonl\n"
        << extra_options << top;
    return path;
  }

  std::vector<nlohmann::json> Writes() {
    std::vector<nlohmann::json> runs;
    std::ifstream in(dir_ / "writes.jsonl");
    std::string line;
    while (std::getline(in, line)) runs.push_back(nlohmann::json::parse(line));
    return runs;
  }

  static rft_check_request Request(std::vector<rft_str>* refs) {
    rft_check_request r{};
    r.struct_size = sizeof r;
    r.selection.struct_size = sizeof r.selection;
    if (refs != nullptr && !refs->empty()) {
      r.selection.mode = RFT_SELECT_REFS;
      r.selection.refs = refs->data();
      r.selection.ref_count = refs->size();
    } else {
      r.selection.mode = RFT_SELECT_READY;
    }
    return r;
  }

  fs::path dir_;
  std::shared_ptr<rftgate::host::Plugin> plugin_;
};

TEST_F(PluginAbiTest, EntryHandsOverItsTable) {
  const rft_plugin_api& api = plugin_->api();
  EXPECT_EQ(api.abi_major, RFT_HOST_ABI_MAJOR);
  EXPECT_GE(api.struct_size, sizeof(rft_plugin_api));
  EXPECT_GT(api.catalogue_size(), 15u);
}

TEST_F(PluginAbiTest, MajorMismatchIsRefusedNamingBothVersions) {
  void* lib = dlopen(RFT_TEST_PLUGIN, RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(lib, nullptr);
  auto entry =
      reinterpret_cast<rft_plugin_entry_fn>(dlsym(lib, "rft_plugin_entry"));
  ASSERT_NE(entry, nullptr);
  const rft_plugin_api* api = reinterpret_cast<const rft_plugin_api*>(0x1);
  char message[256] = {0};
  EXPECT_EQ(entry(RFT_HOST_ABI_MAJOR + 98, 3, &api, message, sizeof message),
            RFT_ERR_ABI);
  EXPECT_EQ(api, nullptr);
  std::string m = message;
  EXPECT_THAT(m, HasSubstr(std::to_string(RFT_HOST_ABI_MAJOR) + "." +
                           std::to_string(RFT_HOST_ABI_MINOR)));
  EXPECT_THAT(m, HasSubstr(std::to_string(RFT_HOST_ABI_MAJOR + 98) + ".3"));
  // A small buffer is truncated, never overrun.
  char tiny[8];
  std::memset(tiny, 'x', sizeof tiny);
  EXPECT_EQ(entry(99, 0, &api, tiny, 4), RFT_ERR_ABI);
  EXPECT_EQ(tiny[3], '\0');
  EXPECT_EQ(tiny[4], 'x');
  dlclose(lib);
}

TEST_F(PluginAbiTest, LibraryWithoutEntryIsRefusedByTheHostLoader) {
  try {
    rftgate::host::Plugin::Load(RFT_TEST_NOENTRY_LIB);
    FAIL() << "loaded a library without the entry symbol";
  } catch (const rftgate::host::Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("does not export rft_plugin_entry"));
  }
}

TEST_F(PluginAbiTest, FileThatIsNotALibraryIsRefused) {
  fs::path junk = dir_ / "librftgate.so";
  std::ofstream(junk) << "not a shared library\n";
  try {
    rftgate::host::Plugin::Load(junk);
    FAIL() << "loaded a text file";
  } catch (const rftgate::host::Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("cannot load the rftgate plugin"));
  }
}

TEST_F(PluginAbiTest, AdapterWithoutEntryIsRefused) {
  try {
    plugin_->OpenFile(WriteConfig("", "", "noentry"));
    FAIL();
  } catch (const rftgate::host::Error& e) {
    EXPECT_EQ(e.status(), RFT_ERR_ADAPTER);
    EXPECT_THAT(e.what(), HasSubstr("does not export rft_adapter_entry"));
  }
}

TEST_F(PluginAbiTest, AdapterOfAnotherMajorVersionIsRefused) {
  try {
    plugin_->OpenFile(WriteConfig("", "", "future"));
    FAIL();
  } catch (const rftgate::host::Error& e) {
    EXPECT_EQ(e.status(), RFT_ERR_ABI);
    EXPECT_THAT(e.what(), HasSubstr("ABI 2.0"));
    EXPECT_THAT(e.what(), HasSubstr("needs ABI 1.2"));
  }
}

TEST_F(PluginAbiTest, AdapterFileThatIsNotALibraryIsRefused) {
  fs::path adapters = dir_ / "adapters";
  fs::create_directories(adapters);
  fs::permissions(adapters, fs::perms::owner_all | fs::perms::group_read |
                                fs::perms::group_exec | fs::perms::others_read |
                                fs::perms::others_exec);
  std::ofstream(adapters / "librftgate_adapter_junk.so") << "text\n";
  std::string path = (dir_ / "junk.yaml").string();
  std::ofstream(path) << "adapter:\n  name: junk\n  library_dirs: [adapters]\n"
                         "  connection: \"x\"\n";
  try {
    plugin_->OpenFile(path);
    FAIL();
  } catch (const rftgate::host::Error& e) {
    EXPECT_EQ(e.status(), RFT_ERR_ADAPTER);
    EXPECT_THAT(e.what(), HasSubstr("cannot load adapter library"));
  }
}

TEST_F(PluginAbiTest, AdapterFolderWritableByOthersIsRefused) {
  fs::path adapters = dir_ / "open";
  fs::create_directories(adapters);
  fs::copy_file(
      fs::path(RFT_TEST_ADAPTER_DIR) / "librftgate_adapter_fixture.so",
      adapters / "librftgate_adapter_fixture.so");
  fs::permissions(adapters, fs::perms::all);
  std::string path = (dir_ / "open.yaml").string();
  std::ofstream(path) << "adapter:\n  name: fixture\n  library_dirs: [open]\n"
                         "  connection: \"x\"\n";
  try {
    plugin_->OpenFile(path);
    FAIL();
  } catch (const rftgate::host::Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("writable by group or others"));
  }
}

TEST_F(PluginAbiTest, ConfigErrorCarriesLineAndColumn) {
  std::string path = WriteConfig("", "failur_policy: hold\n");
  try {
    plugin_->OpenFile(path);
    FAIL();
  } catch (const rftgate::host::Error& e) {
    EXPECT_EQ(e.status(), RFT_ERR_CONFIG);
    EXPECT_THAT(e.what(), HasSubstr(path + ":8:1"));
    EXPECT_THAT(e.what(), HasSubstr("failure_policy"));
  }
}

TEST_F(PluginAbiTest, ChecksTheReadyOrdersAndWritesBack) {
  auto gate = plugin_->OpenFile(WriteConfig());
  auto request = Request(nullptr);
  auto result = gate.Run(request, false);
  rft_result_summary s = result.Summary();
  ASSERT_EQ(s.orders, 3u);  // SO-4 is not ready
  EXPECT_EQ(s.written, 1);
  std::map<std::string, rft_order_verdict> by_ref;
  for (uint64_t i = 0; i < s.orders; ++i) {
    rft_order_verdict v = result.Order(i);
    by_ref[std::string(View(v.ref))] = v;
    EXPECT_EQ(v.decided_by, RFT_DECIDED_BY_CHECKS);
  }
  EXPECT_EQ(by_ref.at("SO-1").verdict, RFT_VERDICT_PASS);
  EXPECT_EQ(by_ref.at("SO-2").verdict, RFT_VERDICT_HOLD);
  EXPECT_EQ(by_ref.at("SO-3").verdict, RFT_VERDICT_HOLD);
  // SO-2 line 2 has an unknown SKU.
  bool found = false;
  for (uint64_t i = 0; i < s.orders; ++i) {
    rft_order_verdict v = result.Order(i);
    if (View(v.ref) != "SO-2") continue;
    for (uint64_t j = 0; j < v.finding_count; ++j) {
      rft_finding_view f = result.Finding(i, j);
      if (View(f.check_id) == "item.unknown") {
        found = true;
        EXPECT_EQ(f.line_no, 2);
        EXPECT_EQ(View(f.line_ref), "L3");
        EXPECT_EQ(f.severity, RFT_SEVERITY_BLOCK);
        EXPECT_TRUE(nlohmann::json::accept(View(f.details_json)));
      }
    }
  }
  EXPECT_TRUE(found);
  auto writes = Writes();
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_EQ(writes[0]["run_id"], std::string(View(s.run_id)));
  EXPECT_EQ(writes[0]["rows"].size(), 3u);  // passes included
}

std::vector<uint64_t> NeedsOfLoads(const fs::path& file) {
  std::vector<uint64_t> out;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    out.push_back(nlohmann::json::parse(line)["needs"].get<uint64_t>());
  }
  return out;
}

TEST_F(PluginAbiTest, AdapterIsAskedForTheInputsOfTheChecksThatAreOn) {
  {
    // Every check at its default: order history (qty.outlier,
    // order.duplicate) and customers (customer.hold) are read.
    auto gate = plugin_->OpenFile(WriteConfig("    loads: loads.jsonl\n"));
    auto request = Request(nullptr);
    auto result = gate.Run(request, true);
    EXPECT_EQ(result.Summary().orders, 3u);
  }
  auto needs = NeedsOfLoads(dir_ / "loads.jsonl");
  ASSERT_EQ(needs.size(), 1u);
  EXPECT_NE(needs[0] & RFT_CAP_HISTORY, 0u);
  EXPECT_NE(needs[0] & RFT_CAP_CUSTOMERS, 0u);
  EXPECT_NE(needs[0] & RFT_CAP_STOCK, 0u);
  EXPECT_NE(needs[0] & RFT_CAP_ITEMS, 0u);
  fs::remove(dir_ / "loads.jsonl");
  {
    // Only item and address checks on: no history, no customers, no stock.
    std::string checks = "checks:\n";
    for (std::string id :
         {"stock.short", "location.mismatch", "lot.missing", "lot.expired",
          "lot.shelf_life", "lot.fefo", "lot.quarantine", "order.duplicate",
          "carrier.constraint", "customer.hold", "qty.outlier"}) {
      checks += "  " + id + ": \"off\"\n";
    }
    auto gate =
        plugin_->OpenFile(WriteConfig("    loads: loads.jsonl\n", checks));
    auto request = Request(nullptr);
    auto result = gate.Run(request, true);
    rft_result_summary s = result.Summary();
    ASSERT_EQ(s.orders, 3u);
    // The item check still runs on what was loaded.
    bool unknown_sku = false;
    for (uint64_t i = 0; i < s.orders; ++i) {
      rft_order_verdict v = result.Order(i);
      for (uint64_t j = 0; j < v.finding_count; ++j) {
        std::string_view id = View(result.Finding(i, j).check_id);
        EXPECT_TRUE(id == "item.unknown" || id == "item.inactive" ||
                    id == "qty.invalid" || id == "uom.mismatch" ||
                    id == "address.incomplete")
            << id;
        unknown_sku = unknown_sku || id == "item.unknown";
      }
    }
    EXPECT_TRUE(unknown_sku);
  }
  needs = NeedsOfLoads(dir_ / "loads.jsonl");
  ASSERT_EQ(needs.size(), 1u);
  EXPECT_EQ(needs[0] & RFT_CAP_HISTORY, 0u);
  EXPECT_EQ(needs[0] & RFT_CAP_CUSTOMERS, 0u);
  EXPECT_EQ(needs[0] & RFT_CAP_STOCK, 0u);
  EXPECT_EQ(needs[0] & RFT_CAP_CARRIERS, 0u);
  EXPECT_NE(needs[0] & RFT_CAP_ITEMS, 0u);
  EXPECT_NE(needs[0] & RFT_CAP_ADDRESSES, 0u);
}

TEST_F(PluginAbiTest, DryRunWritesNothing) {
  auto gate = plugin_->OpenFile(WriteConfig());
  auto request = Request(nullptr);
  auto result = gate.Run(request, true);
  EXPECT_EQ(result.Summary().orders, 3u);
  EXPECT_EQ(result.Summary().dry_run, 1);
  EXPECT_EQ(result.Summary().written, 0);
  EXPECT_TRUE(Writes().empty());
}

TEST_F(PluginAbiTest, UnknownRefIsANoteNotAVerdict) {
  auto gate = plugin_->OpenFile(WriteConfig());
  std::vector<rft_str> refs = {Str("SO-1"), Str("SO-404")};
  auto request = Request(&refs);
  auto result = gate.Run(request, true);
  ASSERT_EQ(result.Summary().orders, 1u);
  ASSERT_GE(result.Summary().notes, 1u);
  bool noted = false;
  for (uint64_t i = 0; i < result.Summary().notes; ++i) {
    if (View(result.Note(i).message).find("SO-404") != std::string_view::npos)
      noted = true;
  }
  EXPECT_TRUE(noted);
}

class AdapterFailureTest
    : public PluginAbiTest,
      public ::testing::WithParamInterface<std::pair<const char*, rft_status>> {
};

TEST_P(AdapterFailureTest, LoadFailureFallsToThePolicyForNamedOrders) {
  auto [how, status] = GetParam();
  auto gate = plugin_->OpenFile(WriteConfig(
      std::string("    fail: {load: ") + how + "}\n    sleep_ms: 5000\n",
      "timeouts: {load: 200}\nfailure_policy: hold\n"));
  std::vector<rft_str> refs = {Str("SO-1"), Str("SO-2")};
  auto request = Request(&refs);
  auto result = gate.Run(request, false);
  rft_result_summary s = result.Summary();
  ASSERT_EQ(s.orders, 2u);
  EXPECT_EQ(s.by_policy, 2u);
  for (uint64_t i = 0; i < 2; ++i) {
    rft_order_verdict v = result.Order(i);
    EXPECT_EQ(v.verdict, RFT_VERDICT_HOLD);
    EXPECT_EQ(v.decided_by, RFT_DECIDED_BY_FAILURE_POLICY);
    EXPECT_FALSE(View(v.reason).empty());
  }
  (void)status;
}

TEST_P(AdapterFailureTest, LoadFailureWithoutRefsIsAnError) {
  auto [how, status] = GetParam();
  auto gate = plugin_->OpenFile(WriteConfig(
      std::string("    fail: {load: ") + how + "}\n    sleep_ms: 5000\n",
      "timeouts: {load: 200}\n"));
  auto request = Request(nullptr);
  try {
    gate.Run(request, false);
    FAIL() << "no error";
  } catch (const rftgate::host::Error& e) {
    EXPECT_EQ(e.status(), status);
    EXPECT_THAT(e.what(), HasSubstr("loading the wave failed"));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Ways, AdapterFailureTest,
    ::testing::Values(std::make_pair("error", RFT_ERR_ADAPTER),
                      std::make_pair("database", RFT_ERR_DATABASE),
                      std::make_pair("throw", RFT_ERR_ADAPTER),
                      std::make_pair("sleep", RFT_ERR_TIMEOUT),
                      std::make_pair("bad_record", RFT_ERR_INVALID_ARGUMENT)),
    // Stable names: ctest runs each test by its name.
    [](const auto& info) { return std::string(info.param.first); });

TEST_F(PluginAbiTest, ReleasePolicyPassesNamedOrdersWhenTheDatabaseIsDown) {
  auto gate = plugin_->OpenFile(
      WriteConfig("    fail: {load: database}\n", "failure_policy: release\n"));
  std::vector<rft_str> refs = {Str("SO-3")};
  auto request = Request(&refs);
  auto result = gate.Run(request, false);
  ASSERT_EQ(result.Summary().orders, 1u);
  EXPECT_EQ(result.Order(0).verdict, RFT_VERDICT_PASS);
  EXPECT_EQ(result.Order(0).decided_by, RFT_DECIDED_BY_FAILURE_POLICY);
}

TEST_F(PluginAbiTest, DatabaseDownAtOpenStillOpensTheGate) {
  auto gate = plugin_->OpenFile(WriteConfig("    fail: {open: database}\n"));
  std::vector<rft_str> refs = {Str("SO-1")};
  auto request = Request(&refs);
  auto result = gate.Run(request, false);
  EXPECT_EQ(result.Order(0).decided_by, RFT_DECIDED_BY_FAILURE_POLICY);
  EXPECT_EQ(result.Order(0).verdict, RFT_VERDICT_HOLD);  // the default policy
}

TEST_F(PluginAbiTest, WriteBackFailureKeepsVerdictsAndSaysSo) {
  auto gate = plugin_->OpenFile(WriteConfig("    fail: {write_back: throw}\n"));
  auto request = Request(nullptr);
  auto result = gate.Run(request, false);
  EXPECT_EQ(result.Summary().orders, 3u);
  EXPECT_EQ(result.Summary().written, 0);
  EXPECT_THAT(std::string(View(result.Summary().written_to)),
              HasSubstr("nothing written"));
}

struct LogCapture {
  std::mutex mu;
  std::string text;
  static void Log(void* ctx, int32_t, const char* msg, size_t len) {
    auto* self = static_cast<LogCapture*>(ctx);
    std::lock_guard<std::mutex> lock(self->mu);
    self->text.append(msg, len).append("\n");
  }
};

// Verdicts and findings of a result, in its sequence.
std::vector<std::string> Outcomes(const rftgate::host::Result& result) {
  std::vector<std::string> out;
  for (uint64_t i = 0; i < result.Summary().orders; ++i) {
    rft_order_verdict v = result.Order(i);
    std::string o = std::string(View(v.ref)) + " " + std::to_string(v.verdict) +
                    " " + std::to_string(v.decided_by);
    for (uint64_t j = 0; j < v.finding_count; ++j) {
      rft_finding_view f = result.Finding(i, j);
      o += " | " + std::to_string(f.line_no) + " " +
           std::string(View(f.check_id)) + " " + std::string(View(f.message)) +
           " " + std::string(View(f.details_json));
    }
    out.push_back(o);
  }
  return out;
}

std::vector<nlohmann::json> JsonLines(const fs::path& file) {
  std::vector<nlohmann::json> out;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) out.push_back(nlohmann::json::parse(line));
  return out;
}

class PagedWaveTest : public PluginAbiTest,
                      public ::testing::WithParamInterface<bool> {
 protected:
  // The whole wave's outcome, from a gate that never pages.
  std::vector<std::string> Whole() {
    auto gate = plugin_->OpenFile(WriteConfig("", "wave:\n  page_orders: 0\n"));
    auto request = Request(nullptr);
    auto result = gate.Run(request, /*dry_run=*/true);
    return Outcomes(result);
  }
  // Options of the fixture: pages leave out what earlier pages put (the
  // parameter), plus `extra`.
  std::string Options(const std::string& extra = "") {
    return std::string("    loads: loads.jsonl\n") +
           (GetParam() ? "    left_out: true\n" : "") + extra;
  }
};

TEST_P(PagedWaveTest, PagesGiveTheWholeWavesVerdictsAndOneWrite) {
  const auto whole = Whole();
  ASSERT_EQ(whole.size(), 3u);
  auto gate =
      plugin_->OpenFile(WriteConfig(Options(), "wave:\n  page_orders: 1\n"));
  auto request = Request(nullptr);
  auto result = gate.Run(request, false);
  EXPECT_EQ(Outcomes(result), whole);
  rft_result_summary s = result.Summary();
  EXPECT_EQ(s.written, 1);
  // One page per order, each loaded inside the open wave, written at once.
  auto loads = JsonLines(dir_ / "loads.jsonl");
  ASSERT_EQ(loads.size(), 3u);
  for (const auto& l : loads) {
    EXPECT_EQ(l["orders"], 1);
    EXPECT_EQ(l["in_wave"], true);
  }
  auto writes = Writes();
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_EQ(writes[0]["parts"], 3);
  EXPECT_EQ(writes[0]["run_id"], std::string(View(s.run_id)));
  EXPECT_EQ(writes[0]["rows"].size(), 3u);
  EXPECT_EQ(writes[0]["findings"].size(), s.findings);

  // A dry run in pages: the same verdicts, nothing written.
  auto dry = gate.Run(request, true);
  EXPECT_EQ(Outcomes(dry), whole);
  EXPECT_EQ(Writes().size(), 1u);
}

TEST_P(PagedWaveTest, AFailedPartWritesNothingAndKeepsTheVerdicts) {
  const auto whole = Whole();
  auto gate = plugin_->OpenFile(
      WriteConfig(Options("    fail_part: 2\n"), "wave:\n  page_orders: 1\n"));
  auto request = Request(nullptr);
  auto result = gate.Run(request, false);
  EXPECT_EQ(Outcomes(result), whole);
  rft_result_summary s = result.Summary();
  EXPECT_EQ(s.written, 0);
  EXPECT_THAT(std::string(View(s.written_to)),
              HasSubstr("write_part 2 failed on purpose"));
  EXPECT_TRUE(Writes().empty());
}

TEST_P(PagedWaveTest, ALoadFailingHalfWayWritesNothing) {
  // Load 1 tries the wave whole and is stopped (more than a page); loads 2
  // and 3 are the first two pages.
  auto gate = plugin_->OpenFile(
      WriteConfig(Options("    fail_load: 3\n"), "wave:\n  page_orders: 1\n"));
  auto request = Request(nullptr);
  try {
    gate.Run(request, false);
    FAIL() << "a wave whose second page cannot be loaded has no verdicts";
  } catch (const rftgate::host::Error& e) {
    EXPECT_EQ(e.status(), RFT_ERR_ADAPTER);
    EXPECT_THAT(e.what(), HasSubstr("load 3 failed on purpose"));
  }
  EXPECT_TRUE(Writes().empty());
  // The wave was rolled back on the adapter's side: the next wave (loads 4
  // to 7, same handle) opens a new one, is checked and written.
  auto result = gate.Run(request, false);
  EXPECT_EQ(result.Summary().written, 1);
  ASSERT_EQ(Writes().size(), 1u);
}

// A wave ready for release is loaded whole on the chance that it fits in a
// page: then it is never listed. One order more than a page stops that
// load at its orders, and the wave is listed and checked in pages.
TEST_P(PagedWaveTest, AReadyWaveOfOnePageIsNotListed) {
  const auto whole = Whole();  // 3 orders
  const std::string no_list = Options("    fail: {list: error}\n");
  {
    auto gate =
        plugin_->OpenFile(WriteConfig(no_list, "wave:\n  page_orders: 3\n"));
    auto request = Request(nullptr);
    auto result = gate.Run(request, false);
    EXPECT_EQ(Outcomes(result), whole);
    EXPECT_EQ(result.Summary().written, 1);
  }
  auto gate =
      plugin_->OpenFile(WriteConfig(no_list, "wave:\n  page_orders: 2\n"));
  auto request = Request(nullptr);
  try {
    gate.Run(request, false);
    FAIL() << "a wave of more than a page is listed";
  } catch (const rftgate::host::Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("list"));
  }
  // (The stopped load left the adapter's handle open: the list was asked
  // of it.) With a list, the wave is checked in two pages.
  auto paged =
      plugin_->OpenFile(WriteConfig(Options(), "wave:\n  page_orders: 2\n"));
  auto result = paged.Run(request, false);
  EXPECT_EQ(Outcomes(result), whole);
  ASSERT_FALSE(Writes().empty());
  EXPECT_EQ(Writes().back()["parts"], 2);
}

// An adapter that puts lines before their orders: its whole load is
// stopped at the first line (it could otherwise put a whole wave's lines),
// and the wave is listed; fitting in a page, it is then loaded whole.
TEST_P(PagedWaveTest, LinesBeforeOrdersStopTheWholeLoad) {
  const auto whole = Whole();  // 3 orders
  const std::string lines_first = Options("    lines_first: true\n");
  {
    auto gate =
        plugin_->OpenFile(WriteConfig(lines_first + "    fail: {list: error}\n",
                                      "wave:\n  page_orders: 3\n"));
    auto request = Request(nullptr);
    try {
      gate.Run(request, false);
      FAIL() << "the stopped load is followed by a list";
    } catch (const rftgate::host::Error& e) {
      EXPECT_THAT(e.what(), HasSubstr("list"));
    }
  }
  auto gate =
      plugin_->OpenFile(WriteConfig(lines_first, "wave:\n  page_orders: 3\n"));
  auto request = Request(nullptr);
  auto result = gate.Run(request, false);
  EXPECT_EQ(Outcomes(result), whole);
  EXPECT_EQ(result.Summary().written, 1);
}

TEST_P(PagedWaveTest, NamedOrdersBeyondAPageArePagedToo) {
  const auto whole = Whole();
  auto gate =
      plugin_->OpenFile(WriteConfig(Options(), "wave:\n  page_orders: 2\n"));
  std::vector<rft_str> refs = {Str("SO-3"), Str("SO-1"), Str("SO-2"),
                               Str("SO-9")};
  auto request = Request(&refs);
  auto result = gate.Run(request, false);
  EXPECT_EQ(Outcomes(result), whole);
  auto writes = Writes();
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_EQ(writes[0]["parts"], 2);
  bool noted = false;
  for (uint64_t i = 0; i < result.Summary().notes; ++i) {
    noted |= std::string(View(result.Note(i).message)).find("'SO-9'") !=
             std::string::npos;
  }
  EXPECT_TRUE(noted);
}

// A check with its verdicts handed over page by page (ABI 1.1).
struct Stream {
  std::vector<std::vector<std::string>> pages;  // the outcomes of each page
  std::vector<rft_result_summary> summaries;    // each page's summary
  std::vector<std::string> Orders() const {
    std::vector<std::string> all;
    for (const auto& p : pages) all.insert(all.end(), p.begin(), p.end());
    return all;
  }
  std::vector<std::string> Refs() const {
    std::vector<std::string> refs;
    for (const std::string& o : Orders())
      refs.push_back(o.substr(0, o.find(' ')));
    return refs;
  }
};

rftgate::host::Result RunStreamed(const rftgate::host::Gate& gate,
                                  const rft_check_request& request,
                                  bool dry_run, Stream* stream) {
  return gate.Run(request, dry_run,
                  [stream](const rftgate::host::Result& page) {
                    stream->pages.push_back(Outcomes(page));
                    stream->summaries.push_back(page.Summary());
                  });
}

std::vector<std::string> Notes(const rftgate::host::Result& result) {
  std::vector<std::string> notes;
  for (uint64_t i = 0; i < result.Summary().notes; ++i) {
    notes.emplace_back(View(result.Note(i).message));
  }
  return notes;
}

// The totals of a streamed result are those of the same check not streamed.
void ExpectSameTotals(const rft_result_summary& streamed,
                      const rft_result_summary& whole) {
  EXPECT_EQ(streamed.streamed, 1);
  EXPECT_EQ(streamed.orders, whole.orders);
  EXPECT_EQ(streamed.passed, whole.passed);
  EXPECT_EQ(streamed.warned, whole.warned);
  EXPECT_EQ(streamed.held, whole.held);
  EXPECT_EQ(streamed.by_policy, whole.by_policy);
  EXPECT_EQ(streamed.findings, whole.findings);
}

TEST_P(PagedWaveTest, StreamedPagesHandOverEachOrderOnceAndKeepTheTotals) {
  auto whole_gate =
      plugin_->OpenFile(WriteConfig("", "wave:\n  page_orders: 0\n"));
  auto request = Request(nullptr);
  auto whole = whole_gate.Run(request, /*dry_run=*/true);
  ASSERT_EQ(whole.Summary().orders, 3u);
  ASSERT_GT(whole.Summary().findings, 0u);

  auto gate =
      plugin_->OpenFile(WriteConfig(Options(), "wave:\n  page_orders: 1\n"));
  Stream stream;
  auto result = RunStreamed(gate, request, false, &stream);
  EXPECT_EQ(stream.Orders(), Outcomes(whole));
  ASSERT_EQ(stream.pages.size(), 3u);
  uint64_t findings = 0;
  for (const rft_result_summary& p : stream.summaries) {
    EXPECT_EQ(p.orders, 1u);
    EXPECT_EQ(p.streamed, 0);
    EXPECT_EQ(p.written, 0);  // only the final result knows
    EXPECT_EQ(p.notes, 0u);
    EXPECT_EQ(p.passed + p.warned + p.held, 1u);
    findings += p.findings;
  }
  EXPECT_EQ(findings, whole.Summary().findings);
  rft_result_summary s = result.Summary();
  ExpectSameTotals(s, whole.Summary());
  EXPECT_EQ(s.written, 1);
  EXPECT_EQ(Notes(result), Notes(whole));
  rft_order_verdict v{};
  v.struct_size = sizeof v;
  EXPECT_EQ(plugin_->api().result_order(result.get(), 0, &v),
            RFT_ERR_NOT_FOUND);
  rft_finding_view f{};
  f.struct_size = sizeof f;
  EXPECT_EQ(plugin_->api().result_finding(result.get(), 0, 0, &f),
            RFT_ERR_NOT_FOUND);
  // Written as a non-streamed check writes it: one wave of three parts.
  auto writes = Writes();
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_EQ(writes[0]["parts"], 3);
  EXPECT_EQ(writes[0]["rows"].size(), 3u);
  EXPECT_EQ(writes[0]["findings"].size(), s.findings);

  // A dry run streams too, and writes nothing.
  Stream dry;
  auto dry_result = RunStreamed(gate, request, true, &dry);
  EXPECT_EQ(dry.Orders(), Outcomes(whole));
  EXPECT_EQ(dry.pages.size(), 3u);
  ExpectSameTotals(dry_result.Summary(), whole.Summary());
  EXPECT_EQ(dry_result.Summary().dry_run, 1);
  EXPECT_EQ(Writes().size(), 1u);
}

TEST_P(PagedWaveTest, AStreamedWaveCheckedWholeIsOnePage) {
  auto gate =
      plugin_->OpenFile(WriteConfig(Options(), "wave:\n  page_orders: 0\n"));
  auto request = Request(nullptr);
  auto whole = gate.Run(request, /*dry_run=*/true);
  Stream stream;
  auto result = RunStreamed(gate, request, false, &stream);
  ASSERT_EQ(stream.pages.size(), 1u);
  EXPECT_EQ(stream.pages[0], Outcomes(whole));
  EXPECT_EQ(stream.summaries[0].orders, 3u);
  EXPECT_EQ(stream.summaries[0].written, 0);
  ExpectSameTotals(result.Summary(), whole.Summary());
  EXPECT_EQ(result.Summary().written, 1);
  EXPECT_EQ(Notes(result), Notes(whole));
  auto writes = Writes();
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_EQ(writes[0]["rows"].size(), 3u);

  Stream dry;
  RunStreamed(gate, request, true, &dry);
  ASSERT_EQ(dry.pages.size(), 1u);
  EXPECT_EQ(dry.pages[0], Outcomes(whole));
}

TEST_P(PagedWaveTest, AStreamedFailedPartKeepsTheVerdictsAndWritesNothing) {
  const auto whole = Whole();
  auto gate = plugin_->OpenFile(
      WriteConfig(Options("    fail_part: 2\n"), "wave:\n  page_orders: 1\n"));
  auto request = Request(nullptr);
  Stream stream;
  auto result = RunStreamed(gate, request, false, &stream);
  EXPECT_EQ(stream.Orders(), whole);
  EXPECT_EQ(stream.pages.size(), 3u);
  rft_result_summary s = result.Summary();
  EXPECT_EQ(s.streamed, 1);
  EXPECT_EQ(s.orders, 3u);
  EXPECT_EQ(s.by_policy, 0u);
  EXPECT_EQ(s.written, 0);
  EXPECT_THAT(std::string(View(s.written_to)),
              HasSubstr("write_part 2 failed on purpose"));
  EXPECT_THAT(Notes(result), testing::Contains(HasSubstr("NOT written back")));
  EXPECT_TRUE(Writes().empty());
}

// A page that cannot be loaded half way: the orders handed over keep the
// checks' verdicts, the others get the failure policy's as a last page.
TEST_P(PagedWaveTest, AStreamedLoadFailingHalfWayGivesTheRestThePolicy) {
  const auto whole = Whole();  // SO-1, SO-2, SO-3
  std::vector<rft_str> refs = {Str("SO-3"), Str("SO-1"), Str("SO-2"),
                               Str("SO-3")};
  auto request = Request(&refs);
  const std::string config =
      WriteConfig(Options("    fail_load: 2\n"), "wave:\n  page_orders: 1\n");
  {
    // Not streamed: the failure policy decides every verdict, and its
    // verdicts are written.
    auto gate = plugin_->OpenFile(config);
    auto result = gate.Run(request, false);
    EXPECT_EQ(result.Summary().orders, 3u);
    EXPECT_EQ(result.Summary().by_policy, 3u);
  }
  const size_t writes = Writes().size();
  auto gate = plugin_->OpenFile(config);
  Stream stream;
  auto result = RunStreamed(gate, request, false, &stream);
  ASSERT_EQ(stream.pages.size(), 2u);
  ASSERT_EQ(stream.pages[0].size(), 1u);
  EXPECT_EQ(stream.pages[0][0], whole[0]);
  EXPECT_EQ(stream.Refs(), (std::vector<std::string>{"SO-1", "SO-3", "SO-2"}));
  ASSERT_EQ(stream.pages[1].size(), 2u);
  for (const std::string& o : stream.pages[1]) {
    // The default policy holds; decided by the failure policy.
    EXPECT_THAT(o, HasSubstr(" " + std::to_string(RFT_VERDICT_HOLD) + " " +
                             std::to_string(RFT_DECIDED_BY_FAILURE_POLICY)));
  }
  EXPECT_EQ(stream.summaries[1].by_policy, 2u);
  rft_result_summary s = result.Summary();
  EXPECT_EQ(s.streamed, 1);
  EXPECT_EQ(s.orders, 3u);
  EXPECT_EQ(s.by_policy, 2u);
  EXPECT_EQ(s.written, 0);
  EXPECT_THAT(std::string(View(s.written_to)),
              HasSubstr("load 2 failed on purpose"));
  EXPECT_THAT(Notes(result),
              testing::Contains(HasSubstr("2 orders not handed over yet")));
  EXPECT_EQ(Writes().size(), writes);

  // A wave ready for release: the same, where a call not streamed fails.
  // Its first load is the try of the wave whole, stopped at its second
  // order (more than a page): the second page is load 3.
  auto ready_gate = plugin_->OpenFile(
      WriteConfig(Options("    fail_load: 3\n"), "wave:\n  page_orders: 1\n"));
  auto ready = Request(nullptr);
  Stream pages;
  auto ready_result = RunStreamed(ready_gate, ready, false, &pages);
  EXPECT_EQ(pages.Refs(), (std::vector<std::string>{"SO-1", "SO-2", "SO-3"}));
  ASSERT_EQ(pages.pages.size(), 2u);
  EXPECT_EQ(pages.pages[0][0], whole[0]);
  EXPECT_EQ(ready_result.Summary().by_policy, 2u);
  EXPECT_EQ(ready_result.Summary().written, 0);
  EXPECT_EQ(Writes().size(), writes);
}

TEST_P(PagedWaveTest, AStreamedWaveWhoseFirstPageFailsIsAnErrorAsBefore) {
  // Load 1 is the try of the wave whole (stopped: more than a page), load
  // 2 the first page.
  auto gate = plugin_->OpenFile(
      WriteConfig(Options("    fail_load: 2\n"), "wave:\n  page_orders: 1\n"));
  auto request = Request(nullptr);
  Stream stream;
  try {
    RunStreamed(gate, request, false, &stream);
    FAIL() << "a wave whose first page cannot be loaded has no verdicts";
  } catch (const rftgate::host::Error& e) {
    EXPECT_EQ(e.status(), RFT_ERR_ADAPTER);
  }
  EXPECT_TRUE(stream.pages.empty());
  EXPECT_TRUE(Writes().empty());
}

INSTANTIATE_TEST_SUITE_P(LeftOut, PagedWaveTest, ::testing::Bool());

// The stream through the C ABI itself: a page is borrowed (result_free on
// it does nothing), and a request of ABI 1.0's size has no callback.
struct RawPages {
  const rft_plugin_api* api = nullptr;
  std::vector<std::string> refs;
  int calls = 0;
  static void Call(void* ctx, const rft_result* page) {
    auto* self = static_cast<RawPages*>(ctx);
    ++self->calls;
    self->api->result_free(const_cast<rft_result*>(page));  // ignored
    rft_result_summary s{};
    s.struct_size = sizeof s;
    if (self->api->result_summary(page, &s) != RFT_OK) return;
    for (uint64_t i = 0; i < s.orders; ++i) {
      rft_order_verdict v{};
      v.struct_size = sizeof v;
      if (self->api->result_order(page, i, &v) == RFT_OK) {
        self->refs.emplace_back(View(v.ref));
      }
    }
  }
};

TEST_F(PluginAbiTest, TheCAbiLendsPagesAndOldRequestsHaveNoCallback) {
  auto gate = plugin_->OpenFile(WriteConfig("", "wave:\n  page_orders: 2\n"));
  const rft_plugin_api& api = plugin_->api();
  EXPECT_EQ(api.abi_minor, 1u);
  RawPages pages;
  pages.api = &api;
  auto request = Request(nullptr);
  request.on_page = &RawPages::Call;
  request.on_page_ctx = &pages;
  char message[512] = {0};
  rft_result* result = nullptr;
  ASSERT_EQ(api.dry_run(gate.get(), &request, &result, message, sizeof message),
            RFT_OK)
      << message;
  EXPECT_EQ(pages.calls, 2);  // pages of 2 and 1
  EXPECT_EQ(pages.refs, (std::vector<std::string>{"SO-1", "SO-2", "SO-3"}));
  rft_result_summary s{};
  s.struct_size = sizeof s;
  ASSERT_EQ(api.result_summary(result, &s), RFT_OK);
  EXPECT_EQ(s.streamed, 1);
  EXPECT_EQ(s.orders, 3u);
  api.result_free(result);

  // ABI 1.0's request ends before on_page: whatever lies beyond is not read.
  RawPages none;
  none.api = &api;
  request.on_page_ctx = &none;
  request.struct_size = offsetof(rft_check_request, on_page);
  result = nullptr;
  ASSERT_EQ(api.dry_run(gate.get(), &request, &result, message, sizeof message),
            RFT_OK)
      << message;
  EXPECT_EQ(none.calls, 0);
  s = rft_result_summary{};
  s.struct_size = sizeof s;
  ASSERT_EQ(api.result_summary(result, &s), RFT_OK);
  EXPECT_EQ(s.streamed, 0);
  EXPECT_EQ(s.orders, 3u);
  rft_order_verdict v{};
  v.struct_size = sizeof v;
  EXPECT_EQ(api.result_order(result, 2, &v), RFT_OK);
  EXPECT_EQ(View(v.ref), "SO-3");
  api.result_free(result);
}

TEST_F(PluginAbiTest, AnExceptionOfAPageCallbackComesBackAfterTheCheck) {
  auto gate = plugin_->OpenFile(WriteConfig("", "wave:\n  page_orders: 1\n"));
  auto request = Request(nullptr);
  int calls = 0;
  try {
    gate.Run(request, false, [&](const rftgate::host::Result&) {
      ++calls;
      throw std::runtime_error("the host gave up");
    });
    FAIL() << "the callback's exception was lost";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "the host gave up");
  }
  EXPECT_EQ(calls, 1);  // later pages are not shown to it
  // The check went on to its end: the wave was written.
  EXPECT_EQ(Writes().size(), 1u);
}

TEST_F(PluginAbiTest, PasswordNeverAppearsInLogsOrMessages) {
  LogCapture capture;
  std::string path =
      WriteConfig("    fail: {load: database}\n    echo_connection: true\n",
                  "logging: {level: trace}\n");
  std::string error_text;
  {
    auto gate = plugin_->OpenFile(path, &LogCapture::Log, &capture);
    auto request = Request(nullptr);
    try {
      gate.Run(request, false);
    } catch (const rftgate::host::Error& e) {
      error_text = e.what();
    }
  }
  EXPECT_THAT(error_text, HasSubstr("database unreachable"));
  EXPECT_THAT(error_text, Not(HasSubstr("s3cr3t-pw")));
  EXPECT_THAT(capture.text, HasSubstr("fixture adapter opening"));
  EXPECT_THAT(capture.text, Not(HasSubstr("s3cr3t-pw")));
}

TEST_F(PluginAbiTest, CatalogueListsStableIds) {
  const rft_plugin_api& api = plugin_->api();
  std::vector<std::string> ids;
  for (uint64_t i = 0; i < api.catalogue_size(); ++i) {
    rft_check_info info{};
    info.struct_size = sizeof info;
    ASSERT_EQ(api.catalogue_entry(nullptr, i, &info), RFT_OK);
    ids.emplace_back(View(info.id));
  }
  for (const char* id :
       {"item.unknown", "item.inactive", "qty.invalid", "uom.mismatch",
        "stock.short", "location.mismatch", "lot.missing", "lot.expired",
        "lot.shelf_life", "lot.fefo", "lot.quarantine", "order.duplicate",
        "address.incomplete", "carrier.constraint", "customer.hold",
        "qty.outlier"}) {
    EXPECT_THAT(ids, ::testing::Contains(std::string(id)));
  }
  rft_check_info info{};
  info.struct_size = sizeof info;
  EXPECT_EQ(api.catalogue_entry(nullptr, api.catalogue_size(), &info),
            RFT_ERR_NOT_FOUND);
}

TEST_F(PluginAbiTest, OldHostStructsAreFilledOnlyUpToTheirSize) {
  auto gate = plugin_->OpenFile(WriteConfig());
  auto request = Request(nullptr);
  auto result = gate.Run(request, true);
  // A host that knows only the first fields of rft_order_verdict.
  struct {
    rft_order_verdict v;
    char guard[16];
  } small;
  std::memset(&small, 0x5a, sizeof small);
  small.v.struct_size = offsetof(rft_order_verdict, finding_count);
  ASSERT_EQ(plugin_->api().result_order(result.get(), 0, &small.v), RFT_OK);
  EXPECT_EQ(small.v.struct_size, offsetof(rft_order_verdict, finding_count));
  const unsigned char* tail = reinterpret_cast<const unsigned char*>(&small.v) +
                              offsetof(rft_order_verdict, finding_count);
  EXPECT_EQ(*tail, 0x5a);
}

TEST_F(PluginAbiTest, ListsAdaptersWithTheirAbi) {
  rft_open_params params{};
  params.struct_size = sizeof params;
  std::string path = WriteConfig();
  params.config_path = Str(path);
  std::vector<std::pair<std::string, bool>> seen;
  char message[512] = {0};
  ASSERT_EQ(plugin_->api().list_adapters(
                &params,
                [](void* ctx, const rft_adapter_info* info) {
                  static_cast<std::vector<std::pair<std::string, bool>>*>(ctx)
                      ->emplace_back(std::string(View(info->name)),
                                     info->loadable != 0);
                },
                &seen, message, sizeof message),
            RFT_OK)
      << message;
  EXPECT_THAT(
      seen, ::testing::Contains(std::make_pair(std::string("fixture"), true)));
  EXPECT_THAT(
      seen, ::testing::Contains(std::make_pair(std::string("future"), false)));
  EXPECT_THAT(
      seen, ::testing::Contains(std::make_pair(std::string("noentry"), false)));
}

// A host that closes its gate and unloads the plugin while a call given up
// at its deadline is still inside the adapter (a database call that cannot
// be interrupted): the call returns later into code that must still be
// mapped. Run in a child process, which must end normally.
TEST_F(PluginAbiTest, UnloadWhileAnAbandonedCallRunsDoesNotCrashTheHost) {
  const std::string config =
      WriteConfig("    fail: {load: stuck}\n    sleep_ms: 1200\n",
                  "timeouts: {load: 100, open: 200}\nfailure_policy: hold\n");
  plugin_.reset();
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int code = 0;
    {
      auto plugin = rftgate::host::Plugin::Load(RFT_TEST_PLUGIN);
      auto gate = plugin->OpenFile(config);
      std::vector<rft_str> refs = {Str("SO-1")};
      auto request = Request(&refs);
      auto result = gate.Run(request, true);
      if (result.Summary().by_policy != 1) code = 3;
    }  // the gate closed (its wait for the call runs out), the plugin unloaded
    // The abandoned call returns while this process goes on.
    std::this_thread::sleep_for(std::chrono::milliseconds(1800));
    _exit(code);
  }
  int wstatus = 0;
  ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
  ASSERT_TRUE(WIFEXITED(wstatus))
      << "the host process ended by signal "
      << (WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : 0);
  EXPECT_EQ(WEXITSTATUS(wstatus), 0) << "the check was not decided by policy";
}

// A describe given up at its deadline may still be inside the adapter's
// handle: the next call must not use that handle (the adapter ABI promises
// one call per handle at a time; the fixture adapter fails a second one).
TEST_F(PluginAbiTest, CallAfterATimedOutDescribeUsesAFreshHandle) {
  auto gate = plugin_->OpenFile(
      WriteConfig("    fail: {describe: stuck}\n    sleep_ms: 600\n",
                  "timeouts: {load: 100}\nfailure_policy: hold\n"));
  char error[512] = {0};
  const rft_status st = plugin_->api().describe(
      gate.get(), [](void*, rft_str, rft_str) {}, nullptr, error, sizeof error);
  ASSERT_EQ(st, RFT_ERR_TIMEOUT) << error;
  std::vector<rft_str> refs = {Str("SO-1"), Str("SO-2")};
  auto request = Request(&refs);
  auto result = gate.Run(request, true);
  rft_result_summary s = result.Summary();
  EXPECT_EQ(s.orders, 2u);
  EXPECT_EQ(s.by_policy, 0u) << View(result.Order(0).reason);
}

}  // namespace
