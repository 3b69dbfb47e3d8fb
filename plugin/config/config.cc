#include "plugin/config/config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <set>

#include "fmt/format.h"
#include "plugin/config/yaml_util.h"
#include "plugin/engine/catalogue.h"
#include "yaml-cpp/yaml.h"

namespace rftgate {
namespace {

namespace fs = std::filesystem;
using yaml_util::ClassifyScalar;
using yaml_util::Describe;
using yaml_util::JoinNames;
using yaml_util::ScalarKind;
using Names = std::vector<std::string_view>;

constexpr size_t kMaxConfigBytes = 4 << 20;
constexpr size_t kMaxPasswordBytes = 64 << 10;
constexpr int64_t kMaxTimeoutMs = 24LL * 3600 * 1000;
constexpr std::string_view kZoneInfoDir = "/usr/share/zoneinfo";

const Names kTopKeys = {"adapter",  "checks",  "failure_policy", "timeouts",
                        "timezone", "logging", "writeback",      "wave"};
const Names kAdapterKeys = {"name",   "library_dirs", "connection",   "options",
                            "sha256", "password_env", "password_file"};
const Names kTimeoutKeys = {"open", "load", "write"};
const Names kTimezoneKeys = {"default", "sites"};
const Names kLoggingKeys = {"level", "file"};
const Names kWritebackKeys = {"apply_holds"};
const Names kWaveKeys = {"page_orders"};
constexpr int64_t kMaxPageOrders = 1'000'000;
const Names kSeverities = {"block", "warn", "off"};
const Names kPolicies = {"hold", "release"};
const Names kLogLevels = {"trace", "debug", "info", "warn", "error", "off"};

bool IsAdapterName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  if (name[0] < 'a' || name[0] > 'z') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

bool IsEnvName(std::string_view name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '_';
  });
}

// True when `name` is the name of a compiled zone in the system's tz
// database (a regular file that starts with the TZif magic).
bool ZoneExists(std::string_view name) {
  if (name.empty() || name.front() == '/' || name.back() == '/' ||
      name.find("..") != std::string_view::npos) {
    return false;
  }
  const bool plain = std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '/' ||
           c == '_' || c == '-' || c == '+';
  });
  if (!plain) return false;
  const std::string path = fmt::format("{}/{}", kZoneInfoDir, name);
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  if (!in.read(magic, sizeof magic)) return false;
  std::error_code ec;
  return fs::is_regular_file(path, ec) &&
         std::string_view(magic, sizeof magic) == "TZif";
}

// Quotes a value for a key=value connection string. libpq reads single
// quotes with backslash escapes; SOCI's MySQL parser reads a quoted value up
// to the next quote of the same kind, without escapes.
std::optional<std::string> QuoteConnectionValue(std::string_view value,
                                                std::string_view backend) {
  const bool needs_quotes =
      value.empty() ||
      value.find_first_of(" \t\r\n'\"\\;") != std::string_view::npos;
  if (!needs_quotes) return std::string(value);
  if (backend == "mysql") {
    if (value.find('\'') == std::string_view::npos) {
      return fmt::format("'{}'", value);
    }
    if (value.find('"') == std::string_view::npos) {
      return fmt::format("\"{}\"", value);
    }
    return std::nullopt;
  }
  std::string quoted = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') quoted += '\\';
    quoted += c;
  }
  quoted += '\'';
  return quoted;
}

// Reads one config document into a Config. Each Read* returns false after
// storing the first error; nothing throws out of it but yaml-cpp's own
// exceptions, which LoadConfigText catches.
class Reader {
 public:
  Reader(std::string source, fs::path base_dir)
      : source_(std::move(source)), base_dir_(std::move(base_dir)) {}

  const ConfigError& error() const { return error_; }

  bool Read(const YAML::Node& root, Config* config) {
    config->source = source_;
    config->base_dir = base_dir_;
    config->ruleset = DefaultRuleset();
    CollectEmptyValues(root);
    if (!root.IsDefined() || root.IsNull()) {
      return Fail(root, "the config is empty; it needs at least 'adapter'");
    }
    if (!CheckKeys(root, "the top level", "", kTopKeys)) return false;
    const YAML::Node adapter = root["adapter"];
    if (!adapter) return Fail(root, "missing required key 'adapter'");
    if (!ReadAdapter(adapter, &config->adapter)) return false;
    if (const YAML::Node n = root["checks"]; n && !ReadChecks(n, config)) {
      return false;
    }
    if (const YAML::Node n = root["failure_policy"]; n) {
      std::string_view policy;
      if (!ReadChoice(n, "failure_policy", kPolicies, &policy)) return false;
      config->failure_policy =
          policy == "hold" ? FailurePolicy::kHold : FailurePolicy::kRelease;
    }
    if (const YAML::Node n = root["timeouts"];
        n && !ReadTimeouts(n, &config->timeouts)) {
      return false;
    }
    if (const YAML::Node n = root["timezone"];
        n && !ReadTimezone(n, &config->ruleset)) {
      return false;
    }
    if (const YAML::Node n = root["logging"];
        n && !ReadLogging(n, &config->logging)) {
      return false;
    }
    if (const YAML::Node n = root["writeback"]; n) {
      if (!CheckKeys(n, "writeback", "writeback.", kWritebackKeys)) {
        return false;
      }
      if (const YAML::Node a = n["apply_holds"];
          a && !ReadBool(a, "writeback.apply_holds", &config->apply_holds)) {
        return false;
      }
    }
    if (const YAML::Node n = root["wave"]; n) {
      if (!CheckKeys(n, "wave", "wave.", kWaveKeys)) return false;
      if (const YAML::Node p = n["page_orders"]; p) {
        const std::optional<int64_t> v =
            p.IsScalar() && ClassifyScalar(p) == ScalarKind::kInt
                ? yaml_util::ParseInt(p.Scalar())
                : std::nullopt;
        if (!v || *v < 0 || *v > kMaxPageOrders) {
          return Fail(p, fmt::format("wave.page_orders: expected a number of "
                                     "orders from 0 (never in pages) to {}, "
                                     "got {}",
                                     kMaxPageOrders, Describe(p)));
        }
        config->page_orders = static_cast<uint64_t>(*v);
      }
    }
    ComputeRevision(config->ruleset);
    config->secrets = secrets_;
    config->warnings = std::move(warnings_);
    return true;
  }

 private:
  // yaml-cpp marks an empty value where the next token starts; errors
  // about one point at its key instead.
  // Bounded like yaml_util::ToJson: aliases may form cycles.
  void CollectEmptyValues(const YAML::Node& node, int depth = 64) {
    if (depth <= 0 || ++visited_ > 100000) return;
    if (node.IsMap()) {
      for (const auto& entry : node) {
        if (entry.second.IsNull()) {
          empty_values_.emplace_back(entry.second, entry.first.Mark());
        } else {
          CollectEmptyValues(entry.second, depth - 1);
        }
      }
    } else if (node.IsSequence()) {
      for (const auto& item : node) CollectEmptyValues(item, depth - 1);
    }
  }

  YAML::Mark MarkOf(const YAML::Node& node) const {
    if (!node.IsDefined()) return YAML::Mark::null_mark();
    if (node.IsNull()) {
      for (const auto& [value, key_mark] : empty_values_) {
        if (value.is(node)) return key_mark;
      }
    }
    return node.Mark();
  }

  bool Fail(const YAML::Node& at, std::string_view message) {
    const YAML::Mark mark = MarkOf(at);
    error_.file = source_;
    error_.line = mark.is_null() ? 0 : mark.line + 1;
    error_.column = mark.is_null() ? 0 : mark.column + 1;
    error_.message = MaskSecrets(message, secrets_);
    return false;
  }

  void Warn(const YAML::Node& at, std::string_view message) {
    const YAML::Mark mark = at.Mark();
    warnings_.push_back(ConfigError{source_, mark.is_null() ? 0 : mark.line + 1,
                                    mark.is_null() ? 0 : mark.column + 1,
                                    std::string(message)}
                            .ToString());
  }

  // Requires a mapping whose keys are distinct scalars from `allowed`.
  // `where` names the mapping in messages ("the top level", "adapter");
  // `prefix` is prepended to keys in type errors ("adapter.").
  bool CheckKeys(const YAML::Node& map, std::string_view where,
                 std::string_view prefix, const Names& allowed) {
    if (!map.IsMap()) {
      const std::string_view name =
          prefix.empty() ? where : prefix.substr(0, prefix.size() - 1);
      return Fail(map, fmt::format("{}: expected a mapping, got {}", name,
                                   Describe(map)));
    }
    std::set<std::string, std::less<>> seen;
    for (const auto& entry : map) {
      const YAML::Node& key = entry.first;
      if (!key.IsScalar()) {
        return Fail(key, fmt::format("keys in {} must be names, got {}", where,
                                     Describe(key)));
      }
      const std::string& name = key.Scalar();
      if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
        return Fail(key, UnknownMessage("key", name, where, allowed));
      }
      if (!seen.insert(name).second) {
        return Fail(key, fmt::format("duplicate key '{}' in {}", name, where));
      }
    }
    return true;
  }

  static std::string UnknownMessage(std::string_view what,
                                    std::string_view name,
                                    std::string_view where,
                                    const Names& allowed) {
    std::string message =
        fmt::format("unknown {} '{}' in {}; ", what, name, where);
    if (std::string_view guess = yaml_util::ClosestMatch(name, allowed);
        !guess.empty()) {
      message += fmt::format("did you mean '{}'? ", guess);
    }
    message += "allowed: " + JoinNames(allowed);
    return message;
  }

  bool ReadString(const YAML::Node& node, std::string_view path,
                  std::string* out) {
    if (!node.IsScalar()) {
      return Fail(node, fmt::format("{}: expected a string, got {}", path,
                                    Describe(node)));
    }
    *out = node.Scalar();
    return true;
  }

  bool ReadNonEmptyString(const YAML::Node& node, std::string_view path,
                          std::string* out) {
    if (!ReadString(node, path, out)) return false;
    if (out->empty()) return Fail(node, fmt::format("{}: is empty", path));
    return true;
  }

  bool ReadChoice(const YAML::Node& node, std::string_view path,
                  const Names& choices, std::string_view* out) {
    if (node.IsScalar()) {
      const auto it = std::find(choices.begin(), choices.end(), node.Scalar());
      if (it != choices.end()) {
        *out = *it;
        return true;
      }
    }
    return Fail(node, fmt::format("{}: expected one of {}, got {}", path,
                                  JoinNames(choices), Describe(node)));
  }

  bool ReadBool(const YAML::Node& node, std::string_view path, bool* out) {
    if (node.IsScalar() && ClassifyScalar(node) == ScalarKind::kBool) {
      *out = *yaml_util::ParseBool(node.Scalar());
      return true;
    }
    return Fail(node, fmt::format("{}: expected a boolean (true or false), "
                                  "got {}",
                                  path, Describe(node)));
  }

  fs::path Resolve(const std::string& text) const {
    fs::path path(text);
    if (path.is_relative()) path = base_dir_ / path;
    return path.lexically_normal();
  }

  // ------------------------------------------------------------- adapter

  bool ReadAdapter(const YAML::Node& node, AdapterConfig* adapter) {
    if (!CheckKeys(node, "adapter", "adapter.", kAdapterKeys)) return false;
    const YAML::Node name = node["name"];
    if (!name) return Fail(node, "adapter: missing required key 'name'");
    if (!ReadNonEmptyString(name, "adapter.name", &adapter->name)) {
      return false;
    }
    if (!IsAdapterName(adapter->name)) {
      return Fail(name, fmt::format("adapter.name: expected a lower-case name "
                                    "of at most 64 letters, digits and '_', "
                                    "starting with a letter (e.g. sql, odoo), "
                                    "got {}",
                                    Describe(name)));
    }
    if (const YAML::Node dirs = node["library_dirs"];
        dirs && !ReadLibraryDirs(dirs, &adapter->library_dirs)) {
      return false;
    }
    if (const YAML::Node options = node["options"]; options) {
      if (!options.IsMap() && !options.IsNull()) {
        return Fail(options, fmt::format("adapter.options: expected a "
                                         "mapping, got {}",
                                         Describe(options)));
      }
      if (options.IsMap()) {
        std::optional<nlohmann::json> json = yaml_util::ToJson(options);
        if (!json) {
          return Fail(options,
                      "adapter.options: too large or nested too "
                      "deep once its aliases are expanded");
        }
        adapter->options = std::move(*json);
      }
    }
    if (const YAML::Node sha = node["sha256"]; sha) {
      std::string pin;
      if (!ReadString(sha, "adapter.sha256", &pin)) return false;
      const bool hex = std::all_of(pin.begin(), pin.end(), [](char c) {
        return std::isxdigit(static_cast<unsigned char>(c)) != 0;
      });
      if (pin.size() != 64 || !hex) {
        return Fail(sha, fmt::format("adapter.sha256: expected 64 hexadecimal "
                                     "digits (sha256sum of the adapter "
                                     "library), got {}",
                                     Describe(sha)));
      }
      std::transform(pin.begin(), pin.end(), pin.begin(), [](char c) {
        return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      });
      adapter->sha256 = pin;
    }
    const YAML::Node connection = node["connection"];
    if (!connection) {
      return Fail(node,
                  "adapter: missing required key 'connection' (the SOCI "
                  "connection string, e.g. sqlite3://db=demo.db)");
    }
    if (!ReadNonEmptyString(connection, "adapter.connection",
                            &adapter->connection)) {
      return false;
    }
    const std::vector<std::string> inline_secrets =
        FindSecrets(adapter->connection);
    secrets_.insert(secrets_.end(), inline_secrets.begin(),
                    inline_secrets.end());
    if (!inline_secrets.empty()) {
      Warn(connection,
           "adapter.connection holds a password; "
           "adapter.password_env or adapter.password_file keep "
           "it out of the config file");
    }
    if (!ReadPassword(node, adapter, !inline_secrets.empty())) return false;
    adapter->connection_masked = MaskSecrets(adapter->connection, secrets_);
    return true;
  }

  bool ReadLibraryDirs(const YAML::Node& node, std::vector<fs::path>* dirs) {
    std::vector<YAML::Node> items;
    if (node.IsScalar()) {
      items.push_back(node);
    } else if (node.IsSequence()) {
      for (const auto& item : node) items.push_back(item);
    } else {
      return Fail(node, fmt::format("adapter.library_dirs: expected a folder "
                                    "or a list of folders, got {}",
                                    Describe(node)));
    }
    for (const YAML::Node& item : items) {
      std::string text;
      if (!ReadNonEmptyString(item, "adapter.library_dirs", &text)) {
        return false;
      }
      dirs->push_back(Resolve(text));
    }
    return true;
  }

  bool ReadPassword(const YAML::Node& node, AdapterConfig* adapter,
                    bool has_inline) {
    const YAML::Node env = node["password_env"];
    const YAML::Node file = node["password_file"];
    if (!env && !file) return true;
    const YAML::Node& key_node = env ? env : file;
    if (env && file) {
      return Fail(file,
                  "adapter: set only one of password_env and "
                  "password_file");
    }
    if (has_inline) {
      return Fail(key_node,
                  "adapter.connection already holds a password; "
                  "remove it from the connection or drop "
                  "password_env/password_file");
    }
    std::string password;
    if (env) {
      std::string name;
      if (!ReadNonEmptyString(env, "adapter.password_env", &name)) return false;
      if (!IsEnvName(name)) {
        return Fail(env, fmt::format("adapter.password_env: expected the name "
                                     "of an environment variable "
                                     "(letters, digits, '_'), got {}",
                                     Describe(env)));
      }
      const char* value = std::getenv(name.c_str());
      if (value == nullptr) {
        return Fail(env, fmt::format("adapter.password_env: the environment "
                                     "variable '{}' is not set",
                                     name));
      }
      password = value;
      if (password.empty()) {
        return Fail(env, fmt::format("adapter.password_env: the environment "
                                     "variable '{}' is empty",
                                     name));
      }
    } else if (!ReadPasswordFile(file, &password)) {
      return false;
    }
    secrets_.push_back(password);
    // Backend prefix as SOCI reads it: "<backend>://<backend's string>".
    std::string_view backend;
    std::string_view rest = adapter->connection;
    if (const size_t sep = rest.find("://"); sep != std::string_view::npos) {
      backend = rest.substr(0, sep);
      rest.remove_prefix(sep + 3);
    }
    if (backend == "sqlite3") {
      return Fail(key_node,
                  "adapter: sqlite3 connections take no password; "
                  "remove password_env/password_file");
    }
    if (rest.find("://") != std::string_view::npos) {
      return Fail(key_node,
                  "adapter.connection: a password from "
                  "password_env/password_file needs the key=value "
                  "form of the connection string (e.g. "
                  "postgresql://dbname=wms host=db user=rftgate), "
                  "not a URI");
    }
    const std::optional<std::string> quoted =
        QuoteConnectionValue(password, backend);
    if (!quoted) {
      return Fail(key_node,
                  "adapter: the password holds both ' and \", which "
                  "a MySQL connection string cannot carry");
    }
    if (*quoted != password) secrets_.push_back(*quoted);
    adapter->connection += " password=" + *quoted;
    return true;
  }

  bool ReadPasswordFile(const YAML::Node& node, std::string* password) {
    std::string text;
    if (!ReadNonEmptyString(node, "adapter.password_file", &text)) {
      return false;
    }
    const fs::path path = Resolve(text);
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return Fail(node, fmt::format("adapter.password_file: cannot open '{}': "
                                    "{}",
                                    path.string(), std::strerror(errno)));
    }
    struct stat st {};
    std::string content;
    std::string problem;
    if (::fstat(fd, &st) != 0) {
      problem = fmt::format("cannot read '{}': {}", path.string(),
                            std::strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
      problem = fmt::format("'{}' is not a regular file", path.string());
    } else if ((st.st_mode & 077) != 0) {
      problem = fmt::format(
          "'{}' is accessible by group or others (mode {:04o}); "
          "restrict it with: chmod 600 {}",
          path.string(), st.st_mode & 07777, path.string());
    } else if (static_cast<size_t>(st.st_size) > kMaxPasswordBytes) {
      problem = fmt::format("'{}' is larger than {} bytes", path.string(),
                            kMaxPasswordBytes);
    } else {
      char buffer[4096];
      ssize_t got = 0;
      while ((got = ::read(fd, buffer, sizeof buffer)) > 0 &&
             content.size() <= kMaxPasswordBytes) {
        content.append(buffer, static_cast<size_t>(got));
      }
      if (got < 0) {
        problem = fmt::format("cannot read '{}': {}", path.string(),
                              std::strerror(errno));
      }
    }
    ::close(fd);
    if (problem.empty()) {
      if (!content.empty() && content.back() == '\n') content.pop_back();
      if (!content.empty() && content.back() == '\r') content.pop_back();
      if (content.empty()) {
        problem = fmt::format("'{}' is empty", path.string());
      } else if (content.find_first_of(std::string_view("\n\r\0", 3)) !=
                 std::string::npos) {
        problem = fmt::format("'{}' must hold the password on one line",
                              path.string());
      }
    }
    if (!problem.empty()) {
      return Fail(node, "adapter.password_file: " + problem);
    }
    *password = std::move(content);
    return true;
  }

  // -------------------------------------------------------------- checks

  bool ReadChecks(const YAML::Node& node, Config* config) {
    if (node.IsNull()) return true;
    if (!node.IsMap()) {
      return Fail(node, fmt::format("checks: expected a mapping of check ids, "
                                    "got {}",
                                    Describe(node)));
    }
    Names ids;
    for (const CheckSpec& spec : CheckCatalogue()) ids.push_back(spec.id);
    std::set<std::string, std::less<>> seen;
    for (const auto& entry : node) {
      const YAML::Node& key = entry.first;
      if (!key.IsScalar()) {
        return Fail(key, fmt::format("keys in checks must be check ids, got "
                                     "{}",
                                     Describe(key)));
      }
      const std::string& id = key.Scalar();
      if (id.starts_with(kCustomCheckPrefix)) {
        return Fail(key, fmt::format("checks: '{}': custom checks are not "
                                     "available in this version; the prefix "
                                     "'{}' is reserved for them",
                                     id, kCustomCheckPrefix));
      }
      const CheckSpec* spec = FindCheck(id);
      if (spec == nullptr) {
        return Fail(key, UnknownMessage("check", id, "checks", ids));
      }
      if (!seen.insert(id).second) {
        return Fail(key, fmt::format("duplicate check '{}' in checks", id));
      }
      if (!ReadCheck(entry.second, *spec, &config->ruleset.checks[id])) {
        return false;
      }
    }
    return true;
  }

  bool ReadSeverity(const YAML::Node& node, std::string_view path,
                    Severity* out) {
    std::string_view name;
    if (!ReadChoice(node, path, kSeverities, &name)) return false;
    *out = name == "block"  ? Severity::kBlock
           : name == "warn" ? Severity::kWarn
                            : Severity::kOff;
    return true;
  }

  bool ReadCheck(const YAML::Node& node, const CheckSpec& spec,
                 CheckSettings* settings) {
    const std::string path = fmt::format("checks.{}", spec.id);
    if (node.IsScalar()) {
      return ReadSeverity(node, path, &settings->severity);
    }
    Names allowed = {"severity"};
    for (const ParamSpec& param : spec.params) allowed.push_back(param.name);
    if (!node.IsMap()) {
      return Fail(node, fmt::format("{}: expected a severity ({}) or a "
                                    "mapping of {}, got {}",
                                    path, JoinNames(kSeverities),
                                    JoinNames(allowed), Describe(node)));
    }
    if (!CheckKeys(node, path, path + ".", allowed)) return false;
    for (const auto& entry : node) {
      const std::string& name = entry.first.Scalar();
      const std::string param_path = fmt::format("{}.{}", path, name);
      if (name == "severity") {
        if (!ReadSeverity(entry.second, param_path, &settings->severity)) {
          return false;
        }
        continue;
      }
      const auto it =
          std::find_if(spec.params.begin(), spec.params.end(),
                       [&](const ParamSpec& p) { return p.name == name; });
      ParamValue value;
      if (!ReadParam(entry.second, *it, param_path, &value)) return false;
      settings->params.insert_or_assign(name, std::move(value));
    }
    return true;
  }

  bool ReadParam(const YAML::Node& node, const ParamSpec& spec,
                 std::string_view path, ParamValue* out) {
    const ScalarKind kind =
        node.IsScalar() ? ClassifyScalar(node) : ScalarKind::kNull;
    switch (spec.type) {
      case ParamType::kBool:
        if (kind != ScalarKind::kBool) break;
        *out = *yaml_util::ParseBool(node.Scalar());
        return true;
      case ParamType::kInt: {
        if (kind != ScalarKind::kInt) break;
        const int64_t value = *yaml_util::ParseInt(node.Scalar());
        if (static_cast<double>(value) < spec.min ||
            static_cast<double>(value) > spec.max) {
          return Fail(node, OutOfBounds(path, spec, node));
        }
        *out = value;
        return true;
      }
      case ParamType::kNumber: {
        if (kind != ScalarKind::kInt && kind != ScalarKind::kFloat) break;
        const double value = *yaml_util::ParseFloat(node.Scalar());
        if (!std::isfinite(value) || value < spec.min || value > spec.max) {
          return Fail(node, OutOfBounds(path, spec, node));
        }
        *out = value;
        return true;
      }
      case ParamType::kString:
        if (!node.IsScalar()) break;
        *out = node.Scalar();
        return true;
      case ParamType::kStringList: {
        if (!node.IsSequence()) break;
        std::vector<std::string> list;
        for (const auto& item : node) {
          if (!item.IsScalar()) {
            return Fail(item, fmt::format("{}: expected a list of strings, "
                                          "got {} in it",
                                          path, Describe(item)));
          }
          list.push_back(item.Scalar());
        }
        *out = std::move(list);
        return true;
      }
    }
    std::string_view expected = ParamTypeName(spec.type);
    const bool vowel =
        !expected.empty() &&
        std::string_view("aeiou").find(expected[0]) != std::string_view::npos;
    return Fail(node,
                fmt::format("{}: expected {} {}, got {}", path,
                            vowel ? "an" : "a", expected, Describe(node)));
  }

  static std::string OutOfBounds(std::string_view path, const ParamSpec& spec,
                                 const YAML::Node& node) {
    constexpr double kUnbounded = 1e18;
    const auto bound = [&](double b) {
      return spec.type == ParamType::kInt
                 ? fmt::format("{}", static_cast<int64_t>(b))
                 : fmt::format("{}", b);
    };
    std::string range;
    if (spec.min > -kUnbounded && spec.max < kUnbounded) {
      range =
          fmt::format("between {} and {}", bound(spec.min), bound(spec.max));
    } else if (spec.min > -kUnbounded) {
      range = fmt::format("at least {}", bound(spec.min));
    } else if (spec.max < kUnbounded) {
      range = fmt::format("at most {}", bound(spec.max));
    } else {
      range = "a finite number";
    }
    return fmt::format(
        "{}: must be {}{}, got {}", path, range,
        spec.description.empty() ? "" : fmt::format(" ({})", spec.description),
        Describe(node));
  }

  // ------------------------------------------------------------ the rest

  bool ReadTimeouts(const YAML::Node& node, Timeouts* timeouts) {
    if (!CheckKeys(node, "timeouts", "timeouts.", kTimeoutKeys)) return false;
    const std::pair<const char*, int64_t*> fields[] = {
        {"open", &timeouts->open_ms},
        {"load", &timeouts->load_ms},
        {"write", &timeouts->write_ms}};
    for (const auto& [key, field] : fields) {
      if (const YAML::Node n = node[key];
          n && !ReadDuration(n, fmt::format("timeouts.{}", key), field)) {
        return false;
      }
    }
    return true;
  }

  // Milliseconds as an integer, or a string "<integer>ms", "<integer>s",
  // "<integer>m".
  bool ReadDuration(const YAML::Node& node, std::string_view path,
                    int64_t* out_ms) {
    std::optional<int64_t> ms;
    if (node.IsScalar()) {
      std::string_view text = node.Scalar();
      int64_t unit = 1;
      if (ClassifyScalar(node) != ScalarKind::kInt) {
        if (text.ends_with("ms")) {
          text.remove_suffix(2);
        } else if (text.ends_with("s")) {
          text.remove_suffix(1);
          unit = 1000;
        } else if (text.ends_with("m")) {
          text.remove_suffix(1);
          unit = 60000;
        } else {
          text = {};
        }
      }
      const std::optional<int64_t> count = yaml_util::ParseInt(text);
      if (count && *count > 0 && *count <= kMaxTimeoutMs / unit) {
        ms = *count * unit;
      }
    }
    if (!ms) {
      return Fail(node, fmt::format("{}: expected a positive duration of at "
                                    "most 24 hours: milliseconds (30000) or "
                                    "a number with a unit (500ms, 30s, 2m), "
                                    "got {}",
                                    path, Describe(node)));
    }
    *out_ms = *ms;
    return true;
  }

  bool ReadZone(const YAML::Node& node, std::string_view path,
                std::string* out) {
    if (!ReadNonEmptyString(node, path, out)) return false;
    if (!ZoneExists(*out)) {
      return Fail(node, fmt::format("{}: unknown time zone {}; expected an "
                                    "IANA name such as Europe/Paris or UTC "
                                    "(see {})",
                                    path, Describe(node), kZoneInfoDir));
    }
    return true;
  }

  bool ReadTimezone(const YAML::Node& node, Ruleset* ruleset) {
    if (node.IsScalar()) {
      return ReadZone(node, "timezone", &ruleset->default_timezone);
    }
    if (!node.IsMap()) {
      return Fail(node, fmt::format("timezone: expected a zone name or a "
                                    "mapping of default, sites, got {}",
                                    Describe(node)));
    }
    if (!CheckKeys(node, "timezone", "timezone.", kTimezoneKeys)) return false;
    if (const YAML::Node d = node["default"];
        d && !ReadZone(d, "timezone.default", &ruleset->default_timezone)) {
      return false;
    }
    const YAML::Node sites = node["sites"];
    if (!sites || sites.IsNull()) return true;
    if (!sites.IsMap()) {
      return Fail(sites, fmt::format("timezone.sites: expected a mapping of "
                                     "site code to zone name, got {}",
                                     Describe(sites)));
    }
    std::set<std::string, std::less<>> seen;
    for (const auto& entry : sites) {
      const YAML::Node& key = entry.first;
      if (!key.IsScalar() || key.Scalar().empty()) {
        return Fail(key, fmt::format("timezone.sites: expected a site code, "
                                     "got {}",
                                     Describe(key)));
      }
      if (!seen.insert(key.Scalar()).second) {
        return Fail(key, fmt::format("duplicate site '{}' in timezone.sites",
                                     key.Scalar()));
      }
      std::string zone;
      if (!ReadZone(entry.second,
                    fmt::format("timezone.sites.{}", key.Scalar()), &zone)) {
        return false;
      }
      ruleset->site_timezones[key.Scalar()] = zone;
    }
    return true;
  }

  bool ReadLogging(const YAML::Node& node, LoggingConfig* logging) {
    if (!CheckKeys(node, "logging", "logging.", kLoggingKeys)) return false;
    if (const YAML::Node level = node["level"]; level) {
      std::string_view name;
      if (!ReadChoice(level, "logging.level", kLogLevels, &name)) return false;
      logging->level = name;
    }
    if (const YAML::Node file = node["file"]; file) {
      std::string text;
      if (!ReadNonEmptyString(file, "logging.file", &text)) return false;
      logging->file = Resolve(text);
    }
    return true;
  }

  std::string source_;
  fs::path base_dir_;
  ConfigError error_;
  std::vector<std::string> secrets_;
  std::vector<std::string> warnings_;
  std::vector<std::pair<YAML::Node, YAML::Mark>> empty_values_;
  size_t visited_ = 0;
};

ConfigError WholeFileError(std::string file, std::string message) {
  return ConfigError{std::move(file), 0, 0, std::move(message)};
}

}  // namespace

std::string_view FailurePolicyName(FailurePolicy p) {
  return p == FailurePolicy::kHold ? "hold" : "release";
}

std::string ConfigError::ToString() const {
  if (line <= 0) return fmt::format("{}: {}", file, message);
  return fmt::format("{}:{}:{}: {}", file, line, column, message);
}

ConfigResult LoadConfigText(std::string_view yaml,
                            const std::filesystem::path& base_dir,
                            std::string_view source_name) {
  std::string source(source_name);
  try {
    std::error_code ec;
    fs::path base =
        base_dir.empty() ? fs::current_path(ec) : fs::absolute(base_dir, ec);
    if (ec) {
      return WholeFileError(source,
                            fmt::format("cannot resolve the base "
                                        "folder '{}': {}",
                                        base_dir.string(), ec.message()));
    }
    base = base.lexically_normal();
    std::vector<YAML::Node> documents;
    try {
      documents = YAML::LoadAll(std::string(yaml));
    } catch (const YAML::Exception& e) {
      if (e.mark.is_null()) return WholeFileError(source, e.msg);
      return ConfigError{source, e.mark.line + 1, e.mark.column + 1, e.msg};
    }
    if (documents.size() > 1) {
      const YAML::Mark mark = documents[1].Mark();
      return ConfigError{source, mark.is_null() ? 0 : mark.line + 1,
                         mark.is_null() ? 0 : mark.column + 1,
                         "the config holds more than one YAML document"};
    }
    Reader reader(source, base);
    Config config;
    if (!reader.Read(documents.empty() ? YAML::Node() : documents[0],
                     &config)) {
      return reader.error();
    }
    return config;
  } catch (const YAML::Exception& e) {
    return ConfigError{source, e.mark.is_null() ? 0 : e.mark.line + 1,
                       e.mark.is_null() ? 0 : e.mark.column + 1,
                       MaskSecrets(e.msg)};
  } catch (const std::exception& e) {
    return WholeFileError(source, fmt::format("cannot read the config: {}",
                                              MaskSecrets(e.what())));
  }
}

ConfigResult LoadConfigFile(const std::filesystem::path& path) {
  const std::string source = path.string();
  try {
    std::error_code ec;
    const fs::path absolute = fs::absolute(path, ec);
    if (ec) return WholeFileError(source, ec.message());
    std::ifstream in(absolute, std::ios::binary);
    if (!in) {
      return WholeFileError(source, fmt::format("cannot open the config file: "
                                                "{}",
                                                std::strerror(errno)));
    }
    std::string text;
    char buffer[65536];
    while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
      text.append(buffer, static_cast<size_t>(in.gcount()));
      if (text.size() > kMaxConfigBytes) {
        return WholeFileError(source,
                              fmt::format("the config file is larger than {} "
                                          "bytes",
                                          kMaxConfigBytes));
      }
    }
    if (in.bad()) {
      return WholeFileError(source, "cannot read the config file");
    }
    return LoadConfigText(text, absolute.parent_path(), source);
  } catch (const std::exception& e) {
    return WholeFileError(source, fmt::format("cannot read the config: {}",
                                              MaskSecrets(e.what())));
  }
}

}  // namespace rftgate
