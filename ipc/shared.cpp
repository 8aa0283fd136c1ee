#include "ipc/shared.hpp"

namespace ipc {

void FdReference::encode(proto::FdRef::Builder out) const {
  out.setSlot(slot);
  if (!path.empty()) out.setPath(path);
  out.setWritable(writable);
}

FdReference FdReference::decode(proto::FdRef::Reader in) {
  return {in.getSlot(), in.getPath(), in.getWritable()};
}

void Bootloader::encode(proto::Bootloader::Builder out) const {
  out.setType(type);
  out.setProvider(provider);
}

Bootloader Bootloader::decode(proto::Bootloader::Reader in) { return {in.getType(), in.getProvider()}; }

}  // namespace ipc
