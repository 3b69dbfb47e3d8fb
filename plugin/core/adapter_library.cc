#include "plugin/core/adapter_library.h"

#include <openssl/evp.h>
#include <sys/stat.h>

#include <array>
#include <boost/dll/shared_library.hpp>
#include <cstddef>
#include <fstream>

#include "fmt/format.h"

namespace rftgate {
namespace {

namespace fs = std::filesystem;

// Refuses a file or folder that someone other than its owner could change.
Status CheckNotWritableByOthers(const fs::path& p, const char* what) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) {
    return Status(RFT_ERR_ADAPTER,
                  fmt::format("cannot read the {} '{}'", what, p.string()));
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return Status(
        RFT_ERR_ADAPTER,
        fmt::format("refusing to load adapters from '{}': the {} is writable "
                    "by group or others (mode {:o}); make it writable by its "
                    "owner only (chmod go-w)",
                    p.string(), what, st.st_mode & 07777));
  }
  return Status::Ok();
}

bool HasMember(const rft_adapter_api* api, size_t end_offset) {
  return api->struct_size >= end_offset;
}

}  // namespace

AdapterLibrary::~AdapterLibrary() = default;

AdapterHandle::~AdapterHandle() {
  if (handle_ != nullptr) library_->api().close(handle_);
}

std::string AdapterLibrary::FileName(const std::string& name) {
  return "librftgate_adapter_" + name + ".so";
}

Status AdapterLibrary::Find(const std::string& name,
                            const std::vector<fs::path>& dirs,
                            fs::path* found) {
  std::string searched;
  for (const fs::path& dir : dirs) {
    std::error_code ec;
    fs::path candidate = dir / FileName(name);
    if (fs::is_regular_file(candidate, ec)) {
      *found = fs::absolute(candidate, ec);
      return Status::Ok();
    }
    if (!searched.empty()) searched += ", ";
    searched += dir.string();
  }
  return Status(
      RFT_ERR_ADAPTER,
      fmt::format("adapter '{}' not found: no {} in {}", name, FileName(name),
                  searched.empty() ? "(no folders)" : searched));
}

Status Sha256OfFile(const fs::path& path, std::string* hex) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status(RFT_ERR_ADAPTER,
                  fmt::format("cannot read '{}' to hash it", path.string()));
  }
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(),
                                                              &EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) {
    return Status(RFT_ERR_INTERNAL, "SHA-256 is not available");
  }
  std::array<char, 1 << 16> buffer{};
  while (in) {
    in.read(buffer.data(), buffer.size());
    std::streamsize n = in.gcount();
    if (n > 0)
      EVP_DigestUpdate(ctx.get(), buffer.data(), static_cast<size_t>(n));
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), digest, &len);
  hex->clear();
  for (unsigned int i = 0; i < len; ++i)
    *hex += fmt::format("{:02x}", digest[i]);
  return Status::Ok();
}

Status AdapterLibrary::Load(const fs::path& given,
                            const std::string& sha256_pin,
                            std::shared_ptr<AdapterLibrary>* out) {
  std::error_code fs_ec;
  fs::path path = fs::absolute(given, fs_ec).lexically_normal();
  if (!fs::is_regular_file(path, fs_ec)) {
    return Status(RFT_ERR_ADAPTER,
                  fmt::format("adapter library '{}' does not exist or is not "
                              "a regular file",
                              path.string()));
  }
  if (Status s = CheckNotWritableByOthers(path.parent_path(), "folder");
      !s.ok()) {
    return s;
  }
  if (Status s = CheckNotWritableByOthers(path, "file"); !s.ok()) return s;
  if (!sha256_pin.empty()) {
    std::string actual;
    if (Status s = Sha256OfFile(path, &actual); !s.ok()) return s;
    if (actual != sha256_pin) {
      return Status(RFT_ERR_ADAPTER,
                    fmt::format("adapter library '{}' has SHA-256 {}, but the "
                                "config pins {}; refusing to load it",
                                path.string(), actual, sha256_pin));
    }
  }

  std::shared_ptr<AdapterLibrary> lib(new AdapterLibrary());
  lib->path_ = path;
  boost::dll::fs::error_code ec;
  lib->library_ = std::make_unique<boost::dll::shared_library>();
  lib->library_->load(
      boost::dll::fs::path(path.string()),
      boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local, ec);
  if (ec) {
    return Status(RFT_ERR_ADAPTER,
                  fmt::format("cannot load adapter library '{}': {}",
                              path.string(), ec.message()));
  }
  if (!lib->library_->has(RFT_ADAPTER_ENTRY_SYMBOL)) {
    return Status(RFT_ERR_ADAPTER,
                  fmt::format("'{}' is not an rftgate adapter: it does not "
                              "export {}",
                              path.string(), RFT_ADAPTER_ENTRY_SYMBOL));
  }
  auto entry = lib->library_->get<std::remove_pointer_t<rft_adapter_entry_fn>>(
      RFT_ADAPTER_ENTRY_SYMBOL);
  char message[512] = {0};
  const rft_adapter_api* api = nullptr;
  rft_status st = entry(RFT_ADAPTER_ABI_MAJOR, RFT_ADAPTER_ABI_MINOR, &api,
                        message, sizeof message);
  if (st != RFT_OK || api == nullptr) {
    return Status(
        st == RFT_OK ? RFT_ERR_ADAPTER : st,
        fmt::format("adapter library '{}' refused this plugin "
                    "(adapter ABI {}.{}): {}",
                    path.string(), RFT_ADAPTER_ABI_MAJOR, RFT_ADAPTER_ABI_MINOR,
                    message[0] ? message : "no reason given"));
  }
  if (api->struct_size < offsetof(rft_adapter_api, open) ||
      api->abi_major != RFT_ADAPTER_ABI_MAJOR) {
    uint32_t major = api->struct_size >= offsetof(rft_adapter_api, abi_minor)
                         ? api->abi_major
                         : 0;
    uint32_t minor = api->struct_size >= offsetof(rft_adapter_api, reserved)
                         ? api->abi_minor
                         : 0;
    return Status(RFT_ERR_ABI,
                  fmt::format("adapter library '{}' implements adapter ABI "
                              "{}.{}, this plugin needs ABI {}.{}",
                              path.string(), major, minor,
                              RFT_ADAPTER_ABI_MAJOR, RFT_ADAPTER_ABI_MINOR));
  }
  constexpr size_t kNeeded =
      offsetof(rft_adapter_api, describe) + sizeof(api->describe);
  if (!HasMember(api, kNeeded) || api->open == nullptr ||
      api->close == nullptr || api->load == nullptr ||
      api->write_back == nullptr || api->describe == nullptr ||
      api->name == nullptr) {
    return Status(RFT_ERR_ABI,
                  fmt::format("adapter library '{}' returned an incomplete "
                              "table of functions (ABI {}.{})",
                              path.string(), api->abi_major, api->abi_minor));
  }
  lib->api_ = api;
  *out = std::move(lib);
  return Status::Ok();
}

}  // namespace rftgate
