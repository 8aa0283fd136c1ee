// The keys a repository's RPM packages must be signed by, one shape for the
// client (keys as files to send) and the stage (keys as the bytes it read).
#pragma once

#include <string>
#include <vector>

namespace stage::verifier {

template <typename KeyT>
struct RepositoryKeysOf {
  std::string repo;
  std::vector<KeyT> keys;
};

}  // namespace stage::verifier
