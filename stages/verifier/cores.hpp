// How many threads the verifier runs: repositories and packages are checked
// one per core, and Debian's xz decoder uses as many.
#pragma once

namespace stage::verifier {

// CPUs this process may run on (at least 1).
unsigned usable_cores();

}  // namespace stage::verifier
