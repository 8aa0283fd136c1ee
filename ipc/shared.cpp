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

void copy_texts(const std::vector<std::string>& texts, capnp::List<capnp::Text>::Builder out) {
  for (unsigned i = 0; i < out.size(); ++i) out.set(i, texts[i]);
}

std::vector<std::string> texts_of(capnp::List<capnp::Text>::Reader texts) {
  std::vector<std::string> out;
  for (auto text : texts) out.emplace_back(text);
  return out;
}

Bootloader Bootloader::decode(proto::Bootloader::Reader in) { return {in.getType(), in.getProvider()}; }

}  // namespace ipc
