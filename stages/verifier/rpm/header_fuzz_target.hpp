// The fuzz target of the RPM header reader, shared by the libFuzzer entry
// (header_fuzzer.cpp) and the deterministic test (header_fuzz_test.cpp):
// parses a package from bytes and reads every tag the verifier uses. A
// refusal is a base::Error; anything else (another exception, a crash, a
// sanitizer report) is a bug. Header-only.
#pragma once

#include <string_view>

#include "base/error.hpp"
#include "stages/verifier/rpm/archive_check.hpp"
#include "stages/verifier/rpm/header.hpp"

namespace stage::verifier::rpm {

// True when the bytes were read through, false when they were refused.
inline bool fuzz_package_bytes(std::string_view bytes) {
  try {
    const Package p = parse_package(bytes, "package 'fuzz'");
    p.signature.bytes(kSigTagRsa);
    p.signature.bytes(kSigTagDsa);
    p.signature.string(kSigTagSha256);
    for (auto tag : {kTagName, kTagVersion, kTagRelease, kTagArch}) p.main.string(tag);
    p.main.int32s(kTagEpoch);
    p.main.strings(kTagPayloadDigest);
    p.main.int32s(kTagPayloadDigestAlgo);
    p.main.int16s(kTagFileRdevs);
    check_file_list(p.main, "package 'fuzz'");
    return true;
  } catch (const base::Error& e) {
    if (e.kind() != base::ErrorKind::kInvalidInput) throw;
    return false;
  }
}

}  // namespace stage::verifier::rpm
