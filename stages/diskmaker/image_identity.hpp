// qemu-img writes random identifiers, and a vhd its creation time, into
// vhd, vhdx, vmdk and vdi files (raw and qcow2 hold none): two conversions of
// the same disk differ. Each is replaced in place, after the conversion and
// before any compression, by bytes derived from the disk's identifier (itself
// derived from the build's seed) and the build time, with every checksum over
// them made again (docs/reproducible-builds.md, "Artifact identifiers"):
//
//   vhd   footer (and its copy at the start of a dynamic disk): unique id,
//         time stamp; checksum
//   vhdx  both headers: sequence number, file write and data write GUIDs,
//         CRC-32C; the log region zeroed (the headers name no log, so none is
//         replayed: only a stale entry with a random GUID is removed);
//         the metadata's Page 83 (virtual disk) id
//   vmdk  the descriptor's CID, and its extent's file name made `name`
//         (qemu-img wrote the temporary name it was given)
//   vdi   image and last snapshot UUIDs
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace stage::diskmaker {

struct ImageIdentity {
  std::string disk_id;              // the disk's GUID, as sfdisk was given it
  std::optional<std::int64_t> time;  // the build time (a vhd's time stamp); none: kept
};

// 16 bytes: SHA-256 of "os-image-composer artifact id 1\n" + disk_id + "\n" + label.
std::array<std::uint8_t, 16> artifact_id_bytes(const std::string& disk_id, const std::string& label);

// Rewrites the fields above of `fd`, a file of artifact `type` ("vhd", ...)
// as qemu-img wrote it, to be published as `name`; raw and qcow2 are left as
// they are. A file that is not what `type` says is an error naming `name`.
void settle_image_identity(int fd, const std::string& type, const std::string& name, const ImageIdentity& identity);

}  // namespace stage::diskmaker
