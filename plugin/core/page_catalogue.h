// PageCatalogue: the reference records (items, units, item units, stock,
// lots, locations, customers, carrier services) the pages of a paged wave
// put, kept for the later pages whose load leaves them out
// (RFT_CAP_KNOWN_LEFT_OUT in adapter_abi.h). Its size grows with the part
// of the warehouse the wave touches, not with the wave's orders.
#ifndef RFTGATE_PLUGIN_CORE_PAGE_CATALOGUE_H_
#define RFTGATE_PLUGIN_CORE_PAGE_CATALOGUE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "plugin/engine/wave.h"
#include "rftgate/adapter_abi.h"

namespace rftgate {

class PageCatalogue {
 public:
  PageCatalogue();
  ~PageCatalogue();
  PageCatalogue(const PageCatalogue&) = delete;
  PageCatalogue& operator=(const PageCatalogue&) = delete;

  // The records put from now on belong to a new page.
  void BeginPage();

  // Keeps a copy of `count` records of `kind` (walked by the struct_size of
  // the first), when `kind` is a reference kind; the records of a key put
  // again replace the ones kept for it. Other kinds are ignored.
  void Keep(int32_t kind, const void* records, size_t count);

  // Puts into `builder` the kept records of every key the current page did
  // not put. Returns what builder.Put returned.
  rft_status ReplayInto(WaveBuilder& builder, std::string* error) const;

  // Approximate heap bytes held.
  size_t memory_bytes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rftgate

#endif  // RFTGATE_PLUGIN_CORE_PAGE_CATALOGUE_H_
