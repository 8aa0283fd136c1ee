// The solved transaction as the stage's Resolution: each package's
// download facts (URL, sha256, size) from primary, why it is there, its
// Requires edges inside the set (for the graph) and libsolv's
// installation order (transaction_order: Requires(pre) first).
#pragma once

#include <vector>

#include "stages/resolver/rpm/request.hpp"

namespace stage::resolver::rpm {

// Throws base::Error (kInvalidInput) for a chosen package without a sha256
// checksum or a location.
Resolution read_transaction(Pool* pool, Transaction* transaction, const std::vector<Request>& requests,
                            const Jobs& jobs);

}  // namespace stage::resolver::rpm
