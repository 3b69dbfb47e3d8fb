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
#include <unordered_set>

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

  // What a page names: the SKUs and locations of its lines (and of the
  // stock it was given), the customers of its orders. Filled by Name().
  struct Names {
    std::unordered_set<std::string> skus, locations, customers;
  };
  // Adds what `count` records of `kind` name to *names.
  static void Name(int32_t kind, const void* records, size_t count,
                   Names* names);

  // Puts into `builder` the kept records the current page did not put and
  // needs: items, item units, stock and lots of the SKUs it names, the
  // locations it names or that stock holds and their parents, its
  // customers, every unit and carrier service. Returns what builder.Put
  // returned.
  rft_status ReplayInto(WaveBuilder& builder, const Names& names,
                        std::string* error) const;

  // Forgets every record kept.
  void Clear();

  // Approximate heap bytes held.
  size_t memory_bytes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rftgate

#endif  // RFTGATE_PLUGIN_CORE_PAGE_CATALOGUE_H_
