#include "stages/inspector/client.hpp"

#include "base/error.hpp"

namespace stage::inspector::client {
namespace {

namespace proto = ipc::proto;
using Result = proto::InspectorResult;

std::string text(capnp::Text::Reader in) {
  const std::string out(in.cStr(), in.size());
  if (out.find('\0') != std::string::npos) {
    base::fail(base::ErrorKind::kSandboxViolation, "Refused the inspector's result: a text field holds a NUL byte");
  }
  return out;
}

void encode_partition(const Partition& in, Result::Partition::Builder out) {
  out.setIndex(in.index);
  out.setName(in.name);
  out.setTypeGuid(in.type_guid);
  out.setUniqueGuid(in.unique_guid);
  out.setFirstLba(in.first_lba);
  out.setLastLba(in.last_lba);
  out.setSizeBytes(in.size_bytes);
  out.setFsType(in.fs_type);
  out.setFsLabel(in.fs_label);
  out.setFsUuid(in.fs_uuid);
  out.setFsSizeBytes(in.fs_size_bytes);
}

Partition decode_partition(Result::Partition::Reader in) {
  return {in.getIndex(),     text(in.getName()),    text(in.getTypeGuid()), text(in.getUniqueGuid()),
          in.getFirstLba(),  in.getLastLba(),       in.getSizeBytes(),      text(in.getFsType()),
          text(in.getFsLabel()), text(in.getFsUuid()), in.getFsSizeBytes()};
}

void encode_table(const PartitionTable& in, Result::PartitionTable::Builder out) {
  out.setLabel(in.label);
  out.setId(in.id);
  out.setSectorSize(in.sector_size);
  out.setFirstLba(in.first_lba);
  out.setLastLba(in.last_lba);
}

void encode_root(const Report& in, Result::Builder out) {
  auto os = out.initOsRelease(static_cast<unsigned>(in.os_release.size()));
  for (unsigned i = 0; i < os.size(); ++i) {
    os[i].setKey(in.os_release[i].first);
    os[i].setValue(in.os_release[i].second);
  }
  auto packages = out.initPackages(static_cast<unsigned>(in.packages.size()));
  for (unsigned i = 0; i < packages.size(); ++i) {
    packages[i].setName(in.packages[i].name);
    packages[i].setVersion(in.packages[i].version);
    packages[i].setArchitecture(in.packages[i].architecture);
  }
  auto users = out.initUsers(static_cast<unsigned>(in.users.size()));
  for (unsigned i = 0; i < users.size(); ++i) {
    const User& u = in.users[i];
    users[i].setName(u.name);
    users[i].setUid(u.uid);
    users[i].setGid(u.gid);
    users[i].setGecos(u.gecos);
    users[i].setHome(u.home);
    users[i].setShell(u.shell);
  }
  auto groups = out.initGroups(static_cast<unsigned>(in.groups.size()));
  for (unsigned i = 0; i < groups.size(); ++i) {
    groups[i].setName(in.groups[i].name);
    groups[i].setGid(in.groups[i].gid);
    auto members = groups[i].initMembers(static_cast<unsigned>(in.groups[i].members.size()));
    for (unsigned m = 0; m < members.size(); ++m) members.set(m, in.groups[i].members[m]);
  }
}

void decode_root(Result::Reader in, Report& out) {
  for (auto kv : in.getOsRelease()) out.os_release.emplace_back(text(kv.getKey()), text(kv.getValue()));
  for (auto p : in.getPackages()) {
    out.packages.push_back({text(p.getName()), text(p.getVersion()), text(p.getArchitecture())});
  }
  for (auto u : in.getUsers()) {
    out.users.push_back({text(u.getName()), u.getUid(), u.getGid(), text(u.getGecos()), text(u.getHome()),
                         text(u.getShell())});
  }
  for (auto g : in.getGroups()) {
    Group group{text(g.getName()), g.getGid(), {}};
    for (auto m : g.getMembers()) group.members.push_back(text(m));
    out.groups.push_back(std::move(group));
  }
}

void encode_boot(const Report& in, Result::Builder out) {
  auto files = out.initBootFiles(static_cast<unsigned>(in.boot_files.size()));
  for (unsigned i = 0; i < files.size(); ++i) {
    files[i].setPartition(in.boot_files[i].partition);
    files[i].setPath(in.boot_files[i].path);
  }
  auto configs = out.initBootConfigs(static_cast<unsigned>(in.boot_configs.size()));
  for (unsigned i = 0; i < configs.size(); ++i) {
    configs[i].setPartition(in.boot_configs[i].partition);
    configs[i].setPath(in.boot_configs[i].path);
    configs[i].setText(in.boot_configs[i].text);
  }
  auto entries = out.initKernelEntries(static_cast<unsigned>(in.kernel_entries.size()));
  for (unsigned i = 0; i < entries.size(); ++i) {
    entries[i].setConfig(in.kernel_entries[i].config);
    entries[i].setKernel(in.kernel_entries[i].kernel);
    entries[i].setOptions(in.kernel_entries[i].options);
    entries[i].setVerityRootHash(in.kernel_entries[i].verity_root_hash);
  }
}

void encode_ukis(const Report& in, Result::Builder out) {
  auto ukis = out.initUkis(static_cast<unsigned>(in.ukis.size()));
  for (unsigned i = 0; i < ukis.size(); ++i) {
    const Uki& u = in.ukis[i];
    ukis[i].setPartition(u.partition);
    ukis[i].setPath(u.path);
    ukis[i].setCmdline(u.cmdline);
    ukis[i].setOsRelease(u.os_release);
    auto sections = ukis[i].initSections(static_cast<unsigned>(u.sections.size()));
    for (unsigned s = 0; s < sections.size(); ++s) {
      sections[s].setName(u.sections[s].name);
      sections[s].setSize(u.sections[s].size);
    }
  }
}

void decode_ukis(Result::Reader in, Report& out) {
  for (auto u : in.getUkis()) {
    Uki uki{u.getPartition(), text(u.getPath()), {}, text(u.getCmdline()), text(u.getOsRelease())};
    for (auto s : u.getSections()) uki.sections.push_back({text(s.getName()), s.getSize()});
    out.ukis.push_back(std::move(uki));
  }
}

void decode_boot(Result::Reader in, Report& out) {
  for (auto f : in.getBootFiles()) out.boot_files.push_back({f.getPartition(), text(f.getPath())});
  for (auto c : in.getBootConfigs()) out.boot_configs.push_back({c.getPartition(), text(c.getPath()), text(c.getText())});
  for (auto e : in.getKernelEntries()) {
    out.kernel_entries.push_back({text(e.getConfig()), text(e.getKernel()), text(e.getOptions()),
                                  text(e.getVerityRootHash())});
  }
}

std::string hex_of(capnp::Data::Reader bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (const capnp::byte b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

// A SHA-256 as 32 bytes; the hex the stage computed is 64 digits or empty.
kj::Array<capnp::byte> bytes_of_hex(const std::string& hex) {
  base::require(hex.size() == 64 || hex.empty(), "Failed to encode a file's SHA-256: '" + hex + "' is not 64 digits");
  auto out = kj::heapArray<capnp::byte>(hex.size() / 2);
  const auto digit = [](char c) { return static_cast<capnp::byte>(c <= '9' ? c - '0' : c - 'a' + 10); };
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<capnp::byte>(digit(hex[2 * i]) << 4 | digit(hex[2 * i + 1]));
  return out;
}

void encode_files(const Report& in, Result::Builder out) {
  auto files = out.initFiles(static_cast<unsigned>(in.files.size()));
  for (unsigned i = 0; i < files.size(); ++i) {
    const FileEntry& f = in.files[i];
    files[i].setPartition(f.partition);
    files[i].setPath(f.path);
    files[i].setType(f.type);
    files[i].setMode(f.mode);
    files[i].setUid(f.uid);
    files[i].setGid(f.gid);
    files[i].setSize(f.size);
    files[i].setSha256(bytes_of_hex(f.sha256));
    files[i].setLinkTarget(f.link_target);
  }
}

void decode_files(Result::Reader in, Report& out) {
  for (auto f : in.getFiles()) {
    if (f.getSha256().size() != 32 && f.getSha256().size() != 0) {
      base::fail(base::ErrorKind::kSandboxViolation, "Refused the inspector's result: a file's SHA-256 is " +
                                                         std::to_string(f.getSha256().size()) + " bytes, not 32");
    }
    out.files.push_back({f.getPartition(), text(f.getPath()), text(f.getType()), f.getMode(), f.getUid(), f.getGid(),
                         f.getSize(), hex_of(f.getSha256()), text(f.getLinkTarget())});
  }
}

}  // namespace

void encode(const Inspect& request, proto::InspectorRequest::Builder out) {
  request.image.encode(out.initImage());
  out.setImageName(request.image_name);
  out.setExtractSbom(request.extract_sbom);
  out.setListFiles(request.list_files);
  if (request.raw_output) {
    out.setConvertQcow2(true);
    request.raw_output->encode(out.initRawOutput());
  }
}

void encode_report(const Report& report, Result::Builder out) {
  encode_table(report.table, out.initTable());
  auto parts = out.initPartitions(static_cast<unsigned>(report.partitions.size()));
  for (unsigned i = 0; i < parts.size(); ++i) encode_partition(report.partitions[i], parts[i]);
  out.setRootPartition(report.root_partition);
  encode_root(report, out);
  encode_boot(report, out);
  encode_ukis(report, out);
  encode_files(report, out);
  out.setSbomPath(report.sbom_path);
  out.setSbom(kj::arrayPtr(reinterpret_cast<const capnp::byte*>(report.sbom.data()), report.sbom.size()));
}

Report decode_report(Result::Reader in) {
  Report out;
  const auto table = in.getTable();
  out.table = {text(table.getLabel()), text(table.getId()), table.getSectorSize(), table.getFirstLba(),
               table.getLastLba()};
  for (auto p : in.getPartitions()) out.partitions.push_back(decode_partition(p));
  out.root_partition = in.getRootPartition();
  decode_root(in, out);
  decode_boot(in, out);
  decode_ukis(in, out);
  decode_files(in, out);
  out.sbom_path = text(in.getSbomPath());
  const auto sbom = in.getSbom();
  out.sbom.assign(reinterpret_cast<const char*>(sbom.begin()), sbom.size());
  return out;
}

}  // namespace stage::inspector::client
