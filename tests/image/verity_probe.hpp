// What tests/image/templates/files/oic-verity-probe prints on the serial
// console of a booted dm-verity image ("oic-verity-probe: key=value" lines),
// read back by the image tests of both package families.
#pragma once

#include <string>

namespace tests::image {

// The value of the probe's `key` line, or "(no <key> line)".
std::string verity_probe_value(const std::string& console, const std::string& key);

// Expects the probe's lines of a verified read-only root on
// /dev/mapper/root, a read-only /usr, writable /etc and /var and its data
// file readable.
void expect_verified_root(const std::string& console);

}  // namespace tests::image
