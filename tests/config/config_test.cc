#include "plugin/config/config.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "plugin/engine/catalogue.h"
#include "plugin/engine/ruleset.h"

namespace rftgate {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kMinimal[] =
    "adapter:\n"
    "  name: sql\n"
    "  connection: sqlite3://db=demo.db\n";

// A fresh folder for one test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (fs::path(::testing::TempDir()) / "rftgate_config_test_XXXXXX")
            .string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

  fs::path Write(const std::string& name, const std::string& text,
                 fs::perms perms = fs::perms::owner_read |
                                   fs::perms::owner_write) const {
    const fs::path file = path_ / name;
    std::ofstream(file, std::ios::binary) << text;
    fs::permissions(file, perms);
    return file;
  }

 private:
  fs::path path_;
};

// Sets an environment variable for the life of the object.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    ::setenv(name, value, 1);
  }
  ~ScopedEnv() { ::unsetenv(name_); }

 private:
  const char* name_;
};

ConfigResult Load(const std::string& yaml, const fs::path& base = "/cfg") {
  return LoadConfigText(yaml, base, "test.yaml");
}

// Loads `yaml`, expects an error at line:column whose message contains
// `part`, and returns the message.
std::string ExpectError(const std::string& yaml, int line, int column,
                        const std::string& part,
                        const fs::path& base = "/cfg") {
  const ConfigResult result = Load(yaml, base);
  EXPECT_FALSE(result.ok()) << yaml;
  if (result.ok()) return "";
  const ConfigError& error = result.error();
  EXPECT_EQ(error.file, "test.yaml");
  EXPECT_EQ(error.line, line) << error.ToString();
  EXPECT_EQ(error.column, column) << error.ToString();
  EXPECT_THAT(error.message, HasSubstr(part));
  return error.message;
}

// The first catalogue parameter of `type`, with its check; nullptr when the
// catalogue has none.
std::pair<const CheckSpec*, const ParamSpec*> FindParam(ParamType type) {
  for (const CheckSpec& check : CheckCatalogue()) {
    for (const ParamSpec& param : check.params) {
      if (param.type == type) return {&check, &param};
    }
  }
  return {nullptr, nullptr};
}

// A config whose checks set `param` of `check` to `value`; the value sits
// on line 5 at column 7 + the parameter name's length.
std::string WithParam(const CheckSpec& check, const ParamSpec& param,
                      const std::string& value) {
  return std::string(kMinimal) + "checks:\n  " + std::string(check.id) +
         ":\n    " + std::string(param.name) + ": " + value + "\n";
}

int ParamColumn(const ParamSpec& param) {
  return 7 + static_cast<int>(param.name.size());
}

// The effective value of `param` of `check` in a loaded config.
const ParamValue& ParamOf(const ConfigResult& result, const CheckSpec& check,
                          const ParamSpec& param) {
  const CheckSettings& settings =
      result.config().ruleset.checks.find(check.id)->second;
  return settings.params.find(param.name)->second;
}

std::string Article(ParamType type) {
  const std::string_view name = ParamTypeName(type);
  return std::string(std::string_view("aeiou").find(name[0]) ==
                             std::string_view::npos
                         ? "a "
                         : "an ") +
         std::string(name);
}

// ----------------------------------------------------------------- happy

TEST(ConfigTest, MinimalConfigTakesTheDefaults) {
  const ConfigResult result = Load(kMinimal);
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  const Config& config = result.config();
  EXPECT_EQ(config.source, "test.yaml");
  EXPECT_EQ(config.base_dir, fs::path("/cfg"));
  EXPECT_EQ(config.adapter.name, "sql");
  EXPECT_EQ(config.adapter.connection, "sqlite3://db=demo.db");
  EXPECT_EQ(config.adapter.connection_masked, "sqlite3://db=demo.db");
  EXPECT_TRUE(config.adapter.library_dirs.empty());
  EXPECT_EQ(config.adapter.options, nlohmann::json::object());
  EXPECT_EQ(config.adapter.sha256, "");
  EXPECT_EQ(config.failure_policy, FailurePolicy::kHold);
  EXPECT_EQ(config.timeouts.open_ms, 10000);
  EXPECT_EQ(config.timeouts.load_ms, 30000);
  EXPECT_EQ(config.timeouts.write_ms, 30000);
  EXPECT_EQ(config.logging.level, "info");
  EXPECT_TRUE(config.logging.file.empty());
  EXPECT_FALSE(config.apply_holds);
  EXPECT_EQ(config.page_orders, 20000u);
  EXPECT_TRUE(config.secrets.empty());
  EXPECT_TRUE(config.warnings.empty());

  const Ruleset defaults = DefaultRuleset();
  ASSERT_EQ(config.ruleset.checks.size(), CheckCatalogue().size());
  for (const CheckSpec& spec : CheckCatalogue()) {
    const auto it = config.ruleset.checks.find(spec.id);
    ASSERT_NE(it, config.ruleset.checks.end()) << spec.id;
    EXPECT_EQ(it->second.severity, spec.default_severity) << spec.id;
    EXPECT_EQ(it->second.params, defaults.checks.find(spec.id)->second.params);
  }
  EXPECT_EQ(config.ruleset.default_timezone, "UTC");
  EXPECT_TRUE(config.ruleset.site_timezones.empty());
  EXPECT_EQ(config.ruleset.revision, defaults.revision);
}

TEST(ConfigTest, FullConfig) {
  const std::string yaml = R"(# A complete config.
adapter:
  name: sql
  library_dirs: [adapters, /opt/rftgate/adapters, ../shared/./lib]
  connection: postgresql://dbname=wms host=db user=rftgate
  sha256: 0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef
  options:
    mapping_file: mapping.yaml
    batch: 500
    ratio: 0.5
    strict: true
    code: "042"
    nothing: ~
    list: [1, two, {three: 3}]
checks:
  stock.short: warn
  lot.fefo:
    severity: off
  item.unknown:
    severity: block
failure_policy: release
timeouts:
  open: 5s
  load: 1500
  write: 2m
timezone:
  default: Europe/Paris
  sites:
    WH1: Europe/Paris
    WH2: America/New_York
logging:
  level: debug
  file: logs/rftgate.log
writeback:
  apply_holds: true
)";
  const ConfigResult result = Load(yaml, "/etc/rftgate");
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  const Config& config = result.config();
  EXPECT_THAT(config.adapter.library_dirs,
              ElementsAre(fs::path("/etc/rftgate/adapters"),
                          fs::path("/opt/rftgate/adapters"),
                          fs::path("/etc/shared/lib")));
  EXPECT_EQ(config.adapter.connection,
            "postgresql://dbname=wms host=db user=rftgate");
  EXPECT_EQ(config.adapter.sha256,
            "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
  const nlohmann::json expected_options = {
      {"mapping_file", "mapping.yaml"},
      {"batch", 500},
      {"ratio", 0.5},
      {"strict", true},
      {"code", "042"},
      {"nothing", nullptr},
      {"list", nlohmann::json::array({1, "two", {{"three", 3}}})}};
  EXPECT_EQ(config.adapter.options, expected_options);
  EXPECT_TRUE(config.adapter.options["batch"].is_number_integer());
  EXPECT_TRUE(config.adapter.options["code"].is_string());
  EXPECT_EQ(config.ruleset.checks.at("stock.short").severity, Severity::kWarn);
  EXPECT_EQ(config.ruleset.checks.at("lot.fefo").severity, Severity::kOff);
  EXPECT_EQ(config.ruleset.checks.at("item.unknown").severity,
            Severity::kBlock);
  EXPECT_EQ(config.failure_policy, FailurePolicy::kRelease);
  EXPECT_EQ(config.timeouts.open_ms, 5000);
  EXPECT_EQ(config.timeouts.load_ms, 1500);
  EXPECT_EQ(config.timeouts.write_ms, 120000);
  EXPECT_EQ(config.ruleset.default_timezone, "Europe/Paris");
  EXPECT_EQ(config.ruleset.site_timezones.at("WH1"), "Europe/Paris");
  EXPECT_EQ(config.ruleset.site_timezones.at("WH2"), "America/New_York");
  EXPECT_EQ(config.logging.level, "debug");
  EXPECT_EQ(config.logging.file, fs::path("/etc/rftgate/logs/rftgate.log"));
  EXPECT_TRUE(config.apply_holds);
  EXPECT_FALSE(config.ruleset.revision.empty());
}

TEST(ConfigTest, LibraryDirsMayBeOneFolder) {
  const ConfigResult result =
      Load(std::string(kMinimal) + "  library_dirs: lib\n", "/srv/x/");
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  EXPECT_THAT(result.config().adapter.library_dirs,
              ElementsAre(fs::path("/srv/x/lib")));
}

TEST(ConfigTest, RelativeBaseDirIsMadeAbsolute) {
  const ConfigResult result = Load(kMinimal, "some/dir");
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  EXPECT_TRUE(result.config().base_dir.is_absolute());
  EXPECT_EQ(result.config().base_dir,
            (fs::current_path() / "some/dir").lexically_normal());
}

TEST(ConfigTest, LoadsAFileAndResolvesFromItsFolder) {
  TempDir dir;
  const fs::path file =
      dir.Write("rftgate.yaml", std::string(kMinimal) +
                                    "  library_dirs: [adapters]\nlogging:\n"
                                    "  file: rftgate.log\n");
  const ConfigResult result = LoadConfigFile(file);
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  EXPECT_EQ(result.config().source, file.string());
  EXPECT_EQ(result.config().base_dir, dir.path());
  EXPECT_THAT(result.config().adapter.library_dirs,
              ElementsAre(dir.path() / "adapters"));
  EXPECT_EQ(result.config().logging.file, dir.path() / "rftgate.log");
}

TEST(ConfigTest, MissingFileIsAnError) {
  const ConfigResult result = LoadConfigFile("/nonexistent/rftgate.yaml");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().line, 0);
  EXPECT_EQ(result.error().ToString(),
            "/nonexistent/rftgate.yaml: cannot open the config file: No such "
            "file or directory");
}

TEST(ConfigTest, ErrorInAFileNamesTheFile) {
  TempDir dir;
  const fs::path file =
      dir.Write("bad.yaml", std::string(kMinimal) + "failure_policy: maybe\n");
  const ConfigResult result = LoadConfigFile(file);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().ToString(),
            file.string() +
                ":4:17: failure_policy: expected one of hold, release, got "
                "'maybe'");
}

// ---------------------------------------------------------- keys, syntax

TEST(ConfigTest, UnknownTopLevelKeySuggestsAndListsAllowedKeys) {
  const std::string message =
      ExpectError(std::string(kMinimal) + "failur_policy: hold\n", 4, 1,
                  "unknown key 'failur_policy' in the top level; did you mean "
                  "'failure_policy'? allowed: adapter, checks, failure_policy, "
                  "timeouts, timezone, logging, writeback, wave");
  EXPECT_EQ(
      Load(std::string(kMinimal) + "failur_policy: hold\n").error().ToString(),
      "test.yaml:4:1: " + message);
}

TEST(ConfigTest, UnknownKeyWithoutAGoodGuessListsAllowedKeys) {
  const std::string message =
      ExpectError("adapter:\n  name: sql\n  connection: x\n  zzz: 1\n", 4, 3,
                  "unknown key 'zzz' in adapter; allowed: name, library_dirs, "
                  "connection, options, sha256, password_env, password_file");
  EXPECT_THAT(message, Not(HasSubstr("did you mean")));
}

TEST(ConfigTest, DuplicateKeyIsRefused) {
  ExpectError(std::string(kMinimal) +
                  "failure_policy: hold\n"
                  "failure_policy: release\n",
              5, 1, "duplicate key 'failure_policy' in the top level");
}

TEST(ConfigTest, SyntaxErrorKeepsItsMark) {
  const ConfigResult result =
      Load("adapter:\n  name: sql\n  connection: [x\nchecks: {}\n");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().file, "test.yaml");
  EXPECT_EQ(result.error().line, 4);
  EXPECT_EQ(result.error().column, 7);
  EXPECT_FALSE(result.error().message.empty());
}

TEST(ConfigTest, TabIndentationIsASyntaxError) {
  const ConfigResult result = Load("adapter:\n\tname: sql\n");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().line, 2);
}

TEST(ConfigTest, EmptyConfigIsRefused) {
  const ConfigResult result = Load("# nothing\n");
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.error().message, HasSubstr("the config is empty"));
}

TEST(ConfigTest, TopLevelMustBeAMapping) {
  ExpectError("- adapter\n", 1, 1,
              "the top level: expected a mapping, got a list");
}

TEST(ConfigTest, SeveralDocumentsAreRefused) {
  ExpectError(std::string(kMinimal) + "---\nfailure_policy: hold\n", 5, 1,
              "more than one YAML document");
}

// -------------------------------------------------------------- adapter

TEST(ConfigTest, AdapterIsRequired) {
  ExpectError("failure_policy: hold\n", 1, 1, "missing required key 'adapter'");
}

TEST(ConfigTest, AdapterNameAndConnectionAreRequired) {
  ExpectError("adapter:\n  connection: x\n", 2, 3,
              "adapter: missing required key 'name'");
  ExpectError("adapter:\n  name: sql\n", 2, 3,
              "adapter: missing required key 'connection'");
  ExpectError("adapter:\n  name: sql\n  connection:\n", 3, 3,
              "adapter.connection: expected a string, got nothing");
  ExpectError("adapter:\n  name: sql\n  connection: ''\n", 3, 15,
              "adapter.connection: is empty");
}

TEST(ConfigTest, AdapterNameMustBeAFileNameWord) {
  for (const char* bad : {"SQL", "1sql", "my-adapter", "../x", "a b"}) {
    ExpectError(
        std::string("adapter:\n  name: '") + bad + "'\n  connection: x\n", 2, 9,
        "adapter.name: expected a lower-case name");
  }
  ExpectError(
      "adapter:\n  name: " + std::string(65, 'a') + "\n  connection: x\n", 2, 9,
      "adapter.name");
  EXPECT_TRUE(
      Load("adapter:\n  name: " + std::string(64, 'a') + "\n  connection: x\n")
          .ok());
}

TEST(ConfigTest, Sha256MustBe64HexDigits) {
  ExpectError(std::string(kMinimal) + "  sha256: abc\n", 4, 11,
              "adapter.sha256: expected 64 hexadecimal digits");
  ExpectError(
      std::string(kMinimal) + "  sha256: " + std::string(64, 'g') + "\n", 4, 11,
      "adapter.sha256");
}

TEST(ConfigTest, OptionsMustBeAMapping) {
  ExpectError(std::string(kMinimal) + "  options: [a]\n", 4, 12,
              "adapter.options: expected a mapping, got a list");
}

TEST(ConfigTest, OptionsWithAliasCycleOrExplosionAreRefused) {
  ExpectError(std::string(kMinimal) + "  options: &a {self: *a}\n", 4, 12,
              "adapter.options: too large or nested too deep");
  std::string laughs = std::string(kMinimal) + "  options:\n    l0: &l0 [x]\n";
  for (int i = 1; i <= 12; ++i) {
    laughs +=
        fmt::format("    l{0}: &l{0} [*l{1}, *l{1}, *l{1}, *l{1}]\n", i, i - 1);
  }
  ExpectError(laughs, 5, 5, "adapter.options: too large");
  const ConfigResult shared =
      Load(std::string(kMinimal) + "  options:\n    a: &a {k: 1}\n    b: *a\n");
  ASSERT_TRUE(shared.ok()) << shared.error().ToString();
  EXPECT_EQ(shared.config().adapter.options["b"]["k"], 1);
}

TEST(ConfigTest, AdapterMustBeAMapping) {
  ExpectError("adapter: sql\n", 1, 10,
              "adapter: expected a mapping, got 'sql'");
}

// --------------------------------------------------------------- checks

TEST(ConfigTest, SeverityMustBeKnown) {
  ExpectError(
      std::string(kMinimal) + "checks:\n  stock.short:\n    severity: blok\n",
      6, 15,
      "checks.stock.short.severity: expected one of block, warn, off, "
      "got 'blok'");
  ExpectError(std::string(kMinimal) + "checks:\n  stock.short: yes\n", 5, 16,
              "checks.stock.short: expected one of block, warn, off, got "
              "'yes'");
}

TEST(ConfigTest, UnknownCheckIdListsTheCatalogue) {
  const std::string message = ExpectError(
      std::string(kMinimal) + "checks:\n  stock.shrot: warn\n", 5, 3,
      "unknown check 'stock.shrot' in checks; did you mean "
      "'stock.short'? allowed: ");
  for (const CheckSpec& spec : CheckCatalogue()) {
    EXPECT_THAT(message, HasSubstr(std::string(spec.id)));
  }
}

TEST(ConfigTest, CustomChecksAreReserved) {
  const std::string message = ExpectError(
      std::string(kMinimal) +
          "checks:\n  custom.heavy_pallet:\n"
          "    severity: warn\n",
      5, 3, "'custom.heavy_pallet': custom checks are not available");
  EXPECT_THAT(message, HasSubstr("reserved"));
}

TEST(ConfigTest, DuplicateCheckIsRefused) {
  ExpectError(std::string(kMinimal) +
                  "checks:\n  stock.short: warn\n  stock.short: off\n",
              6, 3, "duplicate check 'stock.short' in checks");
}

TEST(ConfigTest, CheckEntryMustBeSeverityOrMapping) {
  ExpectError(std::string(kMinimal) + "checks:\n  stock.short: [warn]\n", 5, 16,
              "checks.stock.short: expected a severity (block, warn, off) "
              "or a mapping of severity");
  ExpectError(std::string(kMinimal) + "checks:\n  stock.short:\n", 5, 3,
              "checks.stock.short: expected a severity");
  ExpectError(std::string(kMinimal) + "checks: [stock.short]\n", 4, 9,
              "checks: expected a mapping of check ids, got a list");
}

TEST(ConfigTest, EmptyChecksKeepsDefaults) {
  const ConfigResult result = Load(std::string(kMinimal) + "checks:\n");
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  EXPECT_EQ(result.config().ruleset.revision, DefaultRuleset().revision);
}

TEST(ConfigTest, UnknownParameterListsTheCheckParameters) {
  const CheckSpec* spec = FindCheck("stock.short");
  ASSERT_NE(spec, nullptr);
  std::string allowed = "allowed: severity";
  for (const ParamSpec& param : spec->params) {
    allowed += ", " + std::string(param.name);
  }
  ExpectError(
      std::string(kMinimal) + "checks:\n  stock.short:\n    sevrity: warn\n", 6,
      5,
      "unknown key 'sevrity' in checks.stock.short; did you mean "
      "'severity'? " +
          allowed);
}

TEST(ConfigTest, IntegerParameter) {
  const auto [check, param] = FindParam(ParamType::kInt);
  if (check == nullptr) GTEST_SKIP() << "no integer parameter in catalogue";
  const std::string path =
      "checks." + std::string(check->id) + "." + std::string(param->name);
  const int64_t good = static_cast<int64_t>(param->min);
  const ConfigResult result =
      Load(WithParam(*check, *param, std::to_string(good)));
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  const CheckSettings& settings =
      result.config().ruleset.checks.find(check->id)->second;
  EXPECT_EQ(std::get<int64_t>(ParamOf(result, *check, *param)), good);
  EXPECT_EQ(settings.severity, check->default_severity);
  EXPECT_EQ(settings.params.size(), check->params.size());

  const std::string expected = path + ": expected " + Article(param->type);
  ExpectError(WithParam(*check, *param, "3.5"), 6, ParamColumn(*param),
              expected + ", got '3.5'");
  ExpectError(WithParam(*check, *param, "'3'"), 6, ParamColumn(*param),
              expected + ", got '3'");
  ExpectError(WithParam(*check, *param, "true"), 6, ParamColumn(*param),
              expected);
  ExpectError(WithParam(*check, *param, "[1]"), 6, ParamColumn(*param),
              expected + ", got a list");
  if (param->min > -1e18) {
    ExpectError(WithParam(*check, *param, std::to_string(good - 1)), 6,
                ParamColumn(*param), path + ": must be ");
  }
}

TEST(ConfigTest, NumberParameter) {
  const auto [check, param] = FindParam(ParamType::kNumber);
  if (check == nullptr) GTEST_SKIP() << "no number parameter in catalogue";
  const std::string path =
      "checks." + std::string(check->id) + "." + std::string(param->name);
  const double good = param->min > -1e18 ? param->min + 0.5 : 0.5;
  const ConfigResult result =
      Load(WithParam(*check, *param, fmt::format("{}", good)));
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  EXPECT_DOUBLE_EQ(std::get<double>(ParamOf(result, *check, *param)), good);
  // An integer is a number too.
  const int64_t whole =
      static_cast<int64_t>(param->min > -1e18 ? param->min : 0);
  ASSERT_TRUE(Load(WithParam(*check, *param, std::to_string(whole))).ok());
  ExpectError(WithParam(*check, *param, "many"), 6, ParamColumn(*param),
              path + ": expected " + Article(param->type) + ", got 'many'");
  ExpectError(WithParam(*check, *param, ".nan"), 6, ParamColumn(*param),
              path + ": must be ");
  if (param->max < 1e18) {
    ExpectError(
        WithParam(*check, *param, fmt::format("{}", param->max * 2 + 1)), 6,
        ParamColumn(*param), path + ": must be ");
  }
}

TEST(ConfigTest, BooleanParameter) {
  const auto [check, param] = FindParam(ParamType::kBool);
  if (check == nullptr) GTEST_SKIP() << "no boolean parameter in catalogue";
  const ConfigResult result = Load(WithParam(*check, *param, "false"));
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  EXPECT_FALSE(std::get<bool>(ParamOf(result, *check, *param)));
  for (const char* bad : {"yes", "'true'", "1"}) {
    ExpectError(WithParam(*check, *param, bad), 6, ParamColumn(*param),
                "expected " + Article(param->type));
  }
}

TEST(ConfigTest, StringAndListParameters) {
  if (const auto [check, param] = FindParam(ParamType::kString); check) {
    const ConfigResult result = Load(WithParam(*check, *param, "'007'"));
    ASSERT_TRUE(result.ok()) << result.error().ToString();
    EXPECT_EQ(std::get<std::string>(ParamOf(result, *check, *param)), "007");
    ExpectError(WithParam(*check, *param, "{a: 1}"), 6, ParamColumn(*param),
                "expected " + Article(param->type) + ", got a mapping");
  }
  if (const auto [check, param] = FindParam(ParamType::kStringList); check) {
    const ConfigResult result = Load(WithParam(*check, *param, "[FR, '01']"));
    ASSERT_TRUE(result.ok()) << result.error().ToString();
    EXPECT_THAT(
        std::get<std::vector<std::string>>(ParamOf(result, *check, *param)),
        ElementsAre("FR", "01"));
    ExpectError(WithParam(*check, *param, "FR"), 6, ParamColumn(*param),
                "expected " + Article(param->type) + ", got 'FR'");
    ExpectError(WithParam(*check, *param, "[FR, [x]]"), 6,
                ParamColumn(*param) + 5, "got a list in it");
  }
}

TEST(ConfigTest, RevisionFollowsTheRulesNotTheirOrder) {
  const std::string a = std::string(kMinimal) +
                        "checks:\n  stock.short: warn\n  lot.fefo: off\n"
                        "timezone: Europe/Paris\n";
  const std::string b =
      std::string("timezone: Europe/Paris\nchecks:\n") +
      "  lot.fefo: off\n  stock.short:\n    severity: warn\n" + kMinimal;
  const std::string c = std::string(kMinimal) +
                        "checks:\n  stock.short: block\n  lot.fefo: off\n"
                        "timezone: Europe/Paris\n";
  const ConfigResult ra = Load(a), rb = Load(b), rc = Load(c);
  ASSERT_TRUE(ra.ok() && rb.ok() && rc.ok());
  EXPECT_EQ(ra.config().ruleset.revision, rb.config().ruleset.revision);
  EXPECT_NE(ra.config().ruleset.revision, rc.config().ruleset.revision);
}

// ------------------------------------------------- policy, timeouts, etc.

TEST(ConfigTest, FailurePolicyMustBeHoldOrRelease) {
  ExpectError(std::string(kMinimal) + "failure_policy: open\n", 4, 17,
              "failure_policy: expected one of hold, release, got 'open'");
}

TEST(ConfigTest, Timeouts) {
  const ConfigResult result = Load(
      std::string(kMinimal) + "timeouts: {open: 500ms, load: 45s, write: 1}\n");
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  EXPECT_EQ(result.config().timeouts.open_ms, 500);
  EXPECT_EQ(result.config().timeouts.load_ms, 45000);
  EXPECT_EQ(result.config().timeouts.write_ms, 1);
  for (const char* bad :
       {"0", "-5", "1.5s", "30h", "abc", "'30000'", "[1]", "86400001"}) {
    ExpectError(std::string(kMinimal) + "timeouts:\n  load: " + bad + "\n", 5,
                9, "timeouts.load: expected a positive duration");
  }
  ExpectError(std::string(kMinimal) + "timeouts:\n  read: 5s\n", 5, 3,
              "unknown key 'read' in timeouts; did you mean 'load'? allowed: "
              "open, load, write");
}

TEST(ConfigTest, WavePageOrders) {
  for (const auto& [text, value] :
       std::vector<std::pair<std::string, uint64_t>>{
           {"0", 0}, {"1", 1}, {"20000", 20000}, {"1000000", 1000000}}) {
    const ConfigResult result =
        Load(std::string(kMinimal) + "wave:\n  page_orders: " + text + "\n");
    ASSERT_TRUE(result.ok()) << result.error().ToString();
    EXPECT_EQ(result.config().page_orders, value);
  }
  for (const char* bad : {"-1", "1000001", "1.5", "many", "'500'", "[1]"}) {
    ExpectError(std::string(kMinimal) + "wave:\n  page_orders: " + bad + "\n",
                5, 16,
                "wave.page_orders: expected a number of orders from 0 (never "
                "in pages) to 1000000");
  }
  ExpectError(std::string(kMinimal) + "wave:\n  page_size: 10\n", 5, 3,
              "unknown key 'page_size' in wave");
}

TEST(ConfigTest, TimezoneAsOneName) {
  const ConfigResult result =
      Load(std::string(kMinimal) + "timezone: Asia/Tokyo\n");
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  EXPECT_EQ(result.config().ruleset.default_timezone, "Asia/Tokyo");
  EXPECT_TRUE(result.config().ruleset.site_timezones.empty());
}

TEST(ConfigTest, TimezonePerSite) {
  const ConfigResult result =
      Load(std::string(kMinimal) +
           "timezone:\n  sites:\n    WH1: Europe/Paris\n    '42': UTC\n");
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  EXPECT_EQ(result.config().ruleset.default_timezone, "UTC");
  EXPECT_EQ(result.config().ruleset.site_timezones.size(), 2u);
  EXPECT_EQ(result.config().ruleset.site_timezones.at("WH1"), "Europe/Paris");
  EXPECT_EQ(result.config().ruleset.site_timezones.at("42"), "UTC");
}

TEST(ConfigTest, UnknownTimezonesAreRefused) {
  ExpectError(std::string(kMinimal) + "timezone: Europe/Pariss\n", 4, 11,
              "timezone: unknown time zone 'Europe/Pariss'; expected an IANA "
              "name");
  ExpectError(std::string(kMinimal) +
                  "timezone:\n  default: UTC\n  sites:\n    WH2: Mars/Base\n",
              7, 10, "timezone.sites.WH2: unknown time zone 'Mars/Base'");
  for (const char* bad :
       {"../../etc/passwd", "/etc/localtime", "Europe/", "zone.tab"}) {
    ExpectError(std::string(kMinimal) + "timezone: '" + bad + "'\n", 4, 11,
                "unknown time zone");
  }
  ExpectError(std::string(kMinimal) + "timezone:\n  sites: [WH1]\n", 5, 10,
              "timezone.sites: expected a mapping of site code to zone name");
  ExpectError(std::string(kMinimal) +
                  "timezone:\n  default: UTC\n"
                  "  site: {}\n",
              6, 3, "did you mean 'sites'?");
}

TEST(ConfigTest, Logging) {
  ExpectError(std::string(kMinimal) + "logging:\n  level: verbose\n", 5, 10,
              "logging.level: expected one of trace, debug, info, warn, "
              "error, off, got 'verbose'");
  const ConfigResult result = Load(std::string(kMinimal) +
                                   "logging:\n  level: off\n"
                                   "  file: /var/log/rftgate.log\n");
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  EXPECT_EQ(result.config().logging.level, "off");
  EXPECT_EQ(result.config().logging.file, fs::path("/var/log/rftgate.log"));
}

TEST(ConfigTest, ApplyHoldsIsABoolean) {
  ExpectError(std::string(kMinimal) + "writeback:\n  apply_holds: yes\n", 5, 16,
              "writeback.apply_holds: expected a boolean (true or false), got "
              "'yes'");
}

// -------------------------------------------------------------- secrets

constexpr char kPostgres[] =
    "adapter:\n"
    "  name: sql\n"
    "  connection: postgresql://dbname=wms host=db user=rftgate\n";

TEST(ConfigTest, PasswordFromEnvironment) {
  ScopedEnv env("RFTGATE_TEST_PASSWORD", "s3cret");
  const ConfigResult result =
      Load(std::string(kPostgres) + "  password_env: RFTGATE_TEST_PASSWORD\n");
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  const Config& config = result.config();
  EXPECT_EQ(config.adapter.connection,
            "postgresql://dbname=wms host=db user=rftgate password=s3cret");
  EXPECT_EQ(config.adapter.connection_masked,
            "postgresql://dbname=wms host=db user=rftgate password=***");
  EXPECT_THAT(config.secrets, ElementsAre("s3cret"));
  EXPECT_TRUE(config.warnings.empty());
}

TEST(ConfigTest, PasswordWithSpacesAndQuotesIsQuoted) {
  ScopedEnv env("RFTGATE_TEST_PASSWORD", R"(it's a \secret)");
  const ConfigResult result =
      Load(std::string(kPostgres) + "  password_env: RFTGATE_TEST_PASSWORD\n");
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  EXPECT_EQ(
      result.config().adapter.connection,
      R"(postgresql://dbname=wms host=db user=rftgate password='it\'s a \\secret')");
  EXPECT_EQ(result.config().adapter.connection_masked,
            "postgresql://dbname=wms host=db user=rftgate password=***");
  EXPECT_THAT(result.config().secrets,
              ElementsAre(R"(it's a \secret)", R"('it\'s a \\secret')"));
}

TEST(ConfigTest, MysqlPasswordQuotesWithoutEscapes) {
  ScopedEnv env("RFTGATE_TEST_PASSWORD", "it's");
  const ConfigResult result = Load(
      "adapter:\n  name: sql\n  connection: mysql://db=wms user=r\n"
      "  password_env: RFTGATE_TEST_PASSWORD\n");
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  EXPECT_EQ(result.config().adapter.connection,
            "mysql://db=wms user=r password=\"it's\"");
  ScopedEnv both("RFTGATE_TEST_PASSWORD", "it's \"x\"");
  ExpectError(
      "adapter:\n  name: sql\n  connection: mysql://db=wms user=r\n"
      "  password_env: RFTGATE_TEST_PASSWORD\n",
      4, 17, "a MySQL connection string cannot carry");
}

TEST(ConfigTest, MissingOrEmptyEnvironmentVariable) {
  ::unsetenv("RFTGATE_TEST_UNSET");
  ExpectError(std::string(kPostgres) + "  password_env: RFTGATE_TEST_UNSET\n",
              4, 17,
              "adapter.password_env: the environment variable "
              "'RFTGATE_TEST_UNSET' is not set");
  ScopedEnv env("RFTGATE_TEST_EMPTY", "");
  ExpectError(std::string(kPostgres) + "  password_env: RFTGATE_TEST_EMPTY\n",
              4, 17, "'RFTGATE_TEST_EMPTY' is empty");
  ExpectError(std::string(kPostgres) + "  password_env: 'A-B'\n", 4, 17,
              "expected the name of an environment variable");
}

TEST(ConfigTest, PasswordFromFile) {
  TempDir dir;
  dir.Write("db.password", "p@ss word\n");
  const ConfigResult result = Load(
      std::string(kPostgres) + "  password_file: db.password\n", dir.path());
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  EXPECT_EQ(result.config().adapter.connection,
            "postgresql://dbname=wms host=db user=rftgate password='p@ss "
            "word'");
  EXPECT_THAT(result.config().secrets, ElementsAre("p@ss word", "'p@ss word'"));
}

TEST(ConfigTest, PasswordFileReadableByOthersIsRefused) {
  TempDir dir;
  const fs::path file =
      dir.Write("db.password", "secret-in-file\n",
                fs::perms::owner_read | fs::perms::owner_write |
                    fs::perms::group_read | fs::perms::others_read);
  const std::string message = ExpectError(
      std::string(kPostgres) + "  password_file: db.password\n", 4, 18,
      "adapter.password_file: '" + file.string() +
          "' is accessible by group or others (mode 0644); "
          "restrict it with: chmod 600 " +
          file.string(),
      dir.path());
  EXPECT_THAT(message, Not(HasSubstr("secret-in-file")));
}

TEST(ConfigTest, PasswordFileProblems) {
  TempDir dir;
  ExpectError(std::string(kPostgres) + "  password_file: missing\n", 4, 18,
              "adapter.password_file: cannot open '" +
                  (dir.path() / "missing").string() +
                  "': No such file or directory",
              dir.path());
  dir.Write("empty", "\n");
  ExpectError(std::string(kPostgres) + "  password_file: empty\n", 4, 18,
              "is empty", dir.path());
  dir.Write("two_lines", "a\nb\n");
  ExpectError(std::string(kPostgres) + "  password_file: two_lines\n", 4, 18,
              "must hold the password on one line", dir.path());
  fs::create_directory(dir.path() / "folder");
  fs::permissions(dir.path() / "folder", fs::perms::owner_all);
  ExpectError(std::string(kPostgres) + "  password_file: folder\n", 4, 18,
              "is not a regular file", dir.path());
}

TEST(ConfigTest, PasswordSourcesExcludeEachOther) {
  ScopedEnv env("RFTGATE_TEST_PASSWORD", "x");
  ExpectError(std::string(kPostgres) +
                  "  password_env: RFTGATE_TEST_PASSWORD\n"
                  "  password_file: db.password\n",
              5, 18, "set only one of password_env and password_file");
  ExpectError(
      "adapter:\n  name: sql\n"
      "  connection: postgresql://dbname=wms password=inline\n"
      "  password_env: RFTGATE_TEST_PASSWORD\n",
      4, 17, "adapter.connection already holds a password");
  ExpectError(
      "adapter:\n  name: sql\n  connection: sqlite3://db=demo.db\n"
      "  password_env: RFTGATE_TEST_PASSWORD\n",
      4, 17, "sqlite3 connections take no password");
  ExpectError(
      "adapter:\n  name: sql\n"
      "  connection: postgresql://postgresql://u@db/wms\n"
      "  password_env: RFTGATE_TEST_PASSWORD\n",
      4, 17, "needs the key=value form");
}

TEST(ConfigTest, InlinePasswordIsMaskedAndWarnedAbout) {
  const ConfigResult result = Load(
      "adapter:\n  name: sql\n"
      "  connection: postgresql://dbname=wms password=hunter22\n");
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  EXPECT_EQ(result.config().adapter.connection_masked,
            "postgresql://dbname=wms password=***");
  EXPECT_THAT(result.config().secrets, ElementsAre("hunter22"));
  ASSERT_EQ(result.config().warnings.size(), 1u);
  EXPECT_THAT(result.config().warnings[0],
              HasSubstr("test.yaml:3:15: adapter.connection holds a password"));
  EXPECT_THAT(result.config().warnings[0], Not(HasSubstr("hunter22")));
}

TEST(ConfigTest, ErrorMessagesNeverShowThePassword) {
  ScopedEnv env("RFTGATE_TEST_PASSWORD", "Tr0ub4dor");
  const std::string message = ExpectError(
      std::string(kPostgres) +
          "  password_env: RFTGATE_TEST_PASSWORD\nlogging:\n  level: "
          "Tr0ub4dor\n",
      6, 10, "logging.level: expected one of");
  EXPECT_THAT(message, Not(HasSubstr("Tr0ub4dor")));
  EXPECT_THAT(message, HasSubstr("got '***'"));
  const std::string inline_message = ExpectError(
      "adapter:\n  name: sql\n  connection: dbname=x password=pw1\n"
      "failure_policy: 'password=pw1'\n",
      4, 17, "failure_policy: expected one of");
  EXPECT_THAT(inline_message, Not(HasSubstr("pw1")));
}

}  // namespace
}  // namespace rftgate
