#include "plugin/config/mask.h"

#include <algorithm>
#include <array>
#include <cctype>

namespace rftgate {
namespace {

struct Span {
  size_t begin;  // first byte of the value, quotes included
  size_t end;    // one past the last byte
  size_t inner_begin;
  size_t inner_end;
};

bool IsWordChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
}

bool StartsWithNoCase(std::string_view text, size_t at, std::string_view word) {
  if (text.size() - at < word.size()) return false;
  for (size_t i = 0; i < word.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[at + i])) != word[i]) {
      return false;
    }
  }
  return true;
}

// Reads a value starting at `pos`; returns its span (empty when nothing).
Span ReadValue(std::string_view text, size_t pos) {
  const size_t n = text.size();
  if (pos >= n) return {pos, pos, pos, pos};
  const char first = text[pos];
  if (first == '\'' || first == '"') {
    size_t i = pos + 1;
    while (i < n && text[i] != first) {
      if (text[i] == '\\' && i + 1 < n) ++i;
      ++i;
    }
    const size_t inner_end = i;
    if (i < n) ++i;
    return {pos, i, pos + 1, inner_end};
  }
  if (first == '{') {
    size_t i = pos + 1;
    while (i < n && text[i] != '}') ++i;
    const size_t inner_end = i;
    if (i < n) ++i;
    return {pos, i, pos + 1, inner_end};
  }
  size_t i = pos;
  while (i < n && std::isspace(static_cast<unsigned char>(text[i])) == 0 &&
         text[i] != ';' && text[i] != '&') {
    ++i;
  }
  return {pos, i, pos, i};
}

// If a password key starts at `at`, stores the span of its value.
bool MatchKeyValue(std::string_view text, size_t at, Span* span) {
  static constexpr std::array<std::string_view, 3> kKeys = {"password",
                                                            "passwd", "pwd"};
  if (at > 0 && IsWordChar(text[at - 1])) return false;
  for (std::string_view key : kKeys) {
    if (!StartsWithNoCase(text, at, key)) continue;
    size_t i = at + key.size();
    if (i < text.size() && (IsWordChar(text[i]) || text[i] == '-')) continue;
    if (i < text.size() && (text[i] == '"' || text[i] == '\'')) ++i;
    while (i < text.size() && text[i] == ' ') ++i;
    if (i >= text.size() || (text[i] != '=' && text[i] != ':')) continue;
    ++i;
    while (i < text.size() && text[i] == ' ') ++i;
    *span = ReadValue(text, i);
    return span->end > span->begin;
  }
  return false;
}

// If `at` is the "://" of a URI whose user info has a password, stores the
// span of that password.
bool MatchUriUserInfo(std::string_view text, size_t at, Span* span) {
  if (text.compare(at, 3, "://") != 0) return false;
  const size_t start = at + 3;
  size_t end = start;
  while (end < text.size() &&
         std::isspace(static_cast<unsigned char>(text[end])) == 0 &&
         text[end] != '/' && text[end] != '?' && text[end] != '#' &&
         text[end] != '\'' && text[end] != '"') {
    ++end;
  }
  const size_t at_sign = text.substr(start, end - start).rfind('@');
  if (at_sign == std::string_view::npos) return false;
  const size_t userinfo_end = start + at_sign;
  const size_t colon = text.substr(start, at_sign).find(':');
  if (colon == std::string_view::npos) return false;
  const size_t pass_begin = start + colon + 1;
  if (pass_begin >= userinfo_end) return false;
  *span = {pass_begin, userinfo_end, pass_begin, userinfo_end};
  return true;
}

// Walks `text` and calls `on_span` for each secret value, in order.
template <typename OnSpan>
void ForEachSecret(std::string_view text, OnSpan on_span) {
  size_t i = 0;
  while (i < text.size()) {
    Span span;
    if (MatchKeyValue(text, i, &span) || MatchUriUserInfo(text, i, &span)) {
      on_span(span);
      i = span.end;
      continue;
    }
    ++i;
  }
}

}  // namespace

std::string MaskSecrets(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t copied = 0;
  ForEachSecret(text, [&](const Span& span) {
    out.append(text.substr(copied, span.begin - copied));
    out.append(kMask);
    copied = span.end;
  });
  out.append(text.substr(copied));
  return out;
}

std::string MaskSecrets(std::string_view text,
                        const std::vector<std::string>& secrets) {
  std::string out = MaskSecrets(text);
  std::vector<std::string_view> sorted(secrets.begin(), secrets.end());
  std::sort(sorted.begin(), sorted.end(),
            [](std::string_view a, std::string_view b) {
              return a.size() > b.size();
            });
  for (std::string_view secret : sorted) {
    if (secret.empty()) continue;
    size_t pos = 0;
    while ((pos = out.find(secret, pos)) != std::string::npos) {
      out.replace(pos, secret.size(), kMask);
      pos += kMask.size();
    }
  }
  return out;
}

std::vector<std::string> FindSecrets(std::string_view text) {
  std::vector<std::string> found;
  ForEachSecret(text, [&](const Span& span) {
    if (span.inner_end > span.inner_begin) {
      found.emplace_back(
          text.substr(span.inner_begin, span.inner_end - span.inner_begin));
    }
  });
  return found;
}

}  // namespace rftgate
