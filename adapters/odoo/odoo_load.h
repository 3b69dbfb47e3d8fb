// Loading a wave from Odoo's stock tables: a fixed number of set-based
// queries (transfers, moves, move lines, products, units, quants, lots,
// locations, partners, past deliveries) inside one read-only, repeatable-
// read transaction, whatever the number of transfers.
#ifndef RFTGATE_ADAPTERS_ODOO_ODOO_LOAD_H_
#define RFTGATE_ADAPTERS_ODOO_ODOO_LOAD_H_

#include <cstdint>
#include <map>
#include <string>

#include "adapters/common/database.h"
#include "adapters/odoo/odoo_adapter.h"
#include "adapters/odoo/odoo_schema.h"
#include "rftgate/adapter.hpp"

namespace rftgate::odoo {

// Puts the transfers of `selection` and what judges them into `sink`.
// Must run inside a transaction the caller opened. Stores the id of every
// transfer put, by name, in *picking_ids. Returns the capabilities set.
uint64_t LoadWave(adapters::Database& db, const OdooSchema& schema,
                  const OdooOptions& options, const rft_selection& selection,
                  adapter::Sink& sink, const adapter::Call& call,
                  const adapter::Logger& log,
                  std::map<std::string, int64_t>* picking_ids);

// "{1,2,3}": a PostgreSQL int array literal.
std::string IntArray(const std::vector<int64_t>& ids);

}  // namespace rftgate::odoo

#endif  // RFTGATE_ADAPTERS_ODOO_ODOO_LOAD_H_
