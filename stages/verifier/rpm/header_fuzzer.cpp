// libFuzzer entry point (clang only): the input is an .rpm file.
//   meson setup -Db_sanitize=address,undefined ... (clang) && ./stages/verifier/rpm_header_fuzzer corpus/
#include <cstddef>
#include <cstdint>

#include "stages/verifier/rpm/header_fuzz_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  stage::verifier::rpm::fuzz_package_bytes({reinterpret_cast<const char*>(data), size});
  return 0;
}
