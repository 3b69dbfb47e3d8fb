// AdapterLibrary: one adapter shared library, loaded through Boost.DLL by
// absolute path, its ABI version checked, its table of functions kept.
// AdapterHandle: one open connection of that adapter; keeps the library
// loaded for as long as it lives.
#ifndef RFTGATE_PLUGIN_CORE_ADAPTER_LIBRARY_H_
#define RFTGATE_PLUGIN_CORE_ADAPTER_LIBRARY_H_

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "plugin/core/status.h"
#include "rftgate/adapter_abi.h"

namespace boost::dll {
class shared_library;
}

namespace rftgate {

class AdapterLibrary {
 public:
  ~AdapterLibrary();
  AdapterLibrary(const AdapterLibrary&) = delete;
  AdapterLibrary& operator=(const AdapterLibrary&) = delete;

  // Loads the library at `path` (made absolute) with rtld_now | rtld_local,
  // after checking that neither the file nor its folder is writable by
  // group or others and, when `sha256_pin` is not empty, that the file's
  // SHA-256 equals it. Calls the entry symbol with this plugin's adapter
  // ABI version and checks the table it returns. On success stores the
  // library in *out; otherwise returns RFT_ERR_ADAPTER / RFT_ERR_ABI with a
  // message naming the file and what is wrong.
  static Status Load(const std::filesystem::path& path,
                     const std::string& sha256_pin,
                     std::shared_ptr<AdapterLibrary>* out);

  // Finds librftgate_adapter_<name>.so in `dirs`, in order. Returns the
  // first existing file, or RFT_ERR_ADAPTER naming every folder searched.
  static Status Find(const std::string& name,
                     const std::vector<std::filesystem::path>& dirs,
                     std::filesystem::path* found);

  // File name of an adapter: librftgate_adapter_<name>.so.
  static std::string FileName(const std::string& name);

  const rft_adapter_api& api() const { return *api_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  AdapterLibrary() = default;
  std::unique_ptr<boost::dll::shared_library> library_;
  const rft_adapter_api* api_ = nullptr;
  std::filesystem::path path_;
};

// An open adapter connection. Closes it on destruction, before releasing
// the library. Shared between the gate and calls still running on a worker
// thread, so that an abandoned call never outlives its handle or library.
class AdapterHandle {
 public:
  // `keep_alive` holds what the adapter's log callback points to.
  AdapterHandle(std::shared_ptr<AdapterLibrary> library, rft_adapter* handle,
                std::shared_ptr<void> keep_alive = nullptr)
      : library_(std::move(library)),
        keep_alive_(std::move(keep_alive)),
        handle_(handle) {}
  ~AdapterHandle();
  AdapterHandle(const AdapterHandle&) = delete;
  AdapterHandle& operator=(const AdapterHandle&) = delete;

  const rft_adapter_api& api() const { return library_->api(); }
  rft_adapter* get() const { return handle_; }

 private:
  std::shared_ptr<AdapterLibrary> library_;
  std::shared_ptr<void> keep_alive_;
  rft_adapter* handle_;
};

// SHA-256 of a file as lowercase hex, or an error.
Status Sha256OfFile(const std::filesystem::path& path, std::string* hex);

}  // namespace rftgate

#endif  // RFTGATE_PLUGIN_CORE_ADAPTER_LIBRARY_H_
