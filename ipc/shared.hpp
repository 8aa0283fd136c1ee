// Plain mirrors of ipc/shared.capnp for the typed stage clients
// (stages/<name>/client.hpp).
#pragma once

#include <capnp/list.h>

#include <cstdint>
#include <string>
#include <vector>

#include "ipc/shared.capnp.h"

namespace ipc {

// A file passed with the request in fd `slot`, or a directory (or a file
// past the request's fd budget) bound at `path`.
struct FdReference {
  std::int32_t slot = -1;
  std::string path;
  bool writable = false;

  static FdReference of_slot(int slot) { return {slot, {}, false}; }
  static FdReference of_path(std::string path, bool writable = false) { return {-1, std::move(path), writable}; }

  void encode(proto::FdRef::Builder out) const;
  static FdReference decode(proto::FdRef::Reader in);
  bool operator==(const FdReference&) const = default;
};

// The image's boot loader, as the installer and the disk maker are told it.
struct Bootloader {
  std::string type;      // "efi" or "legacy"
  std::string provider;  // "grub" or "systemd-boot"

  void encode(proto::Bootloader::Builder out) const;
  static Bootloader decode(proto::Bootloader::Reader in);
  bool operator==(const Bootloader&) const = default;
};

// A list of texts into the list `out` was initialised as (of the same size),
// and back.
void copy_texts(const std::vector<std::string>& texts, capnp::List<capnp::Text>::Builder out);
std::vector<std::string> texts_of(capnp::List<capnp::Text>::Reader texts);

}  // namespace ipc
