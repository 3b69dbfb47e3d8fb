#include "plugin/engine/ruleset.h"

#include <openssl/evp.h>

#include <charconv>
#include <stdexcept>

#include "fmt/format.h"
#include "rftgate/adapter_abi.h"

namespace rftgate {
namespace {

const ParamValue& Find(const Ruleset& r, std::string_view check,
                       std::string_view param) {
  auto c = r.checks.find(check);
  if (c == r.checks.end()) {
    throw std::logic_error(fmt::format("unknown check '{}'", check));
  }
  auto p = c->second.params.find(param);
  if (p == c->second.params.end()) {
    throw std::logic_error(
        fmt::format("check '{}' has no parameter '{}'", check, param));
  }
  return p->second;
}

template <typename T>
const T& As(const Ruleset& r, std::string_view check, std::string_view param) {
  const T* v = std::get_if<T>(&Find(r, check, param));
  if (v == nullptr) {
    throw std::logic_error(fmt::format(
        "parameter '{}' of check '{}' has another type", param, check));
  }
  return *v;
}

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '"'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '"')) s.remove_suffix(1);
  return std::string(s);
}

ParamValue ParseDefault(const ParamSpec& p) {
  std::string_view v = p.default_value;
  switch (p.type) {
    case ParamType::kBool:
      return v == "true";
    case ParamType::kInt: {
      int64_t out = 0;
      std::from_chars(v.data(), v.data() + v.size(), out);
      return out;
    }
    case ParamType::kNumber:
      return std::stod(std::string(v));
    case ParamType::kString:
      return std::string(v);
    case ParamType::kStringList: {
      std::vector<std::string> out;
      if (v.size() >= 2 && v.front() == '[') v = v.substr(1, v.size() - 2);
      while (!v.empty()) {
        size_t comma = v.find(',');
        std::string item = Trim(v.substr(0, comma));
        if (!item.empty()) out.push_back(item);
        if (comma == std::string_view::npos) break;
        v.remove_prefix(comma + 1);
      }
      return out;
    }
  }
  return std::string(v);
}

// Canonical text of one value: type tag, then the value.
std::string Canonical(const ParamValue& v) {
  struct Visitor {
    std::string operator()(bool b) const { return b ? "b:true" : "b:false"; }
    std::string operator()(int64_t i) const { return fmt::format("i:{}", i); }
    std::string operator()(double d) const { return fmt::format("n:{}", d); }
    std::string operator()(const std::string& s) const {
      return fmt::format("s:{}:{}", s.size(), s);
    }
    std::string operator()(const std::vector<std::string>& l) const {
      std::string out = fmt::format("l:{}", l.size());
      for (const auto& s : l) out += fmt::format(":{}:{}", s.size(), s);
      return out;
    }
  };
  return std::visit(Visitor{}, v);
}

}  // namespace

Severity Ruleset::SeverityOf(std::string_view check_id) const {
  auto c = checks.find(check_id);
  if (c == checks.end()) {
    throw std::logic_error(fmt::format("unknown check '{}'", check_id));
  }
  return c->second.severity;
}
bool Ruleset::Bool(std::string_view c, std::string_view p) const {
  return As<bool>(*this, c, p);
}
int64_t Ruleset::Int(std::string_view c, std::string_view p) const {
  return As<int64_t>(*this, c, p);
}
double Ruleset::Number(std::string_view c, std::string_view p) const {
  const ParamValue& v = Find(*this, c, p);
  if (const int64_t* i = std::get_if<int64_t>(&v))
    return static_cast<double>(*i);
  return As<double>(*this, c, p);
}
const std::string& Ruleset::String(std::string_view c,
                                   std::string_view p) const {
  return As<std::string>(*this, c, p);
}
const std::vector<std::string>& Ruleset::StringList(std::string_view c,
                                                    std::string_view p) const {
  return As<std::vector<std::string>>(*this, c, p);
}
const std::string& Ruleset::TimezoneOf(std::string_view site) const {
  auto it = site_timezones.find(site);
  return it == site_timezones.end() ? default_timezone : it->second;
}

uint64_t Ruleset::InputsNeeded() const {
  uint64_t needs = RFT_CAP_ITEMS | RFT_CAP_UNITS;
  for (const auto& [id, settings] : checks) {
    if (settings.severity != Severity::kOff) needs |= InputsReadBy(id);
  }
  return needs;
}

Ruleset DefaultRuleset() {
  Ruleset r;
  for (const auto& spec : CheckCatalogue()) {
    CheckSettings s;
    s.severity = spec.default_severity;
    for (const auto& p : spec.params) {
      s.params.emplace(std::string(p.name), ParseDefault(p));
    }
    r.checks.emplace(std::string(spec.id), std::move(s));
  }
  ComputeRevision(r);
  return r;
}

void ComputeRevision(Ruleset& ruleset) {
  std::string text = "rftgate-ruleset-1\n";
  for (const auto& [id, s] : ruleset.checks) {
    text += fmt::format("check:{}:{}:{}\n", id.size(), id,
                        SeverityName(s.severity));
    for (const auto& [name, value] : s.params) {
      text +=
          fmt::format(" param:{}:{}={}\n", name.size(), name, Canonical(value));
    }
  }
  text += fmt::format("tz:{}:{}\n", ruleset.default_timezone.size(),
                      ruleset.default_timezone);
  for (const auto& [site, zone] : ruleset.site_timezones) {
    text +=
        fmt::format("site:{}:{}={}:{}\n", site.size(), site, zone.size(), zone);
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), digest, &len, EVP_sha256(), nullptr);
  std::string hex;
  for (unsigned int i = 0; i < len && hex.size() < 16; ++i) {
    hex += fmt::format("{:02x}", digest[i]);
  }
  ruleset.revision = hex;
}

}  // namespace rftgate
