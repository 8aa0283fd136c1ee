#include "stages/installer/client.hpp"

namespace stage::installer::client {
namespace {

using ipc::proto::InstallerRequest;

void encode_package(const PackageFile& p, bool rpm, InstallerRequest::PackageFile::Builder out) {
  p.file.encode(out.initFile());
  out.setName(p.name);
  out.setVersion(p.version);
  out.setArchitecture(p.architecture);
  if (rpm) {
    out.initRpm().setDeferred(p.deferred);
  } else {
    auto deb = out.initDeb();
    deb.setEssential(p.essential);
    ipc::copy_texts(p.pre_depends, deb.initPreDepends(static_cast<unsigned>(p.pre_depends.size())));
  }
  out.setSha256(p.sha256);
  out.setSize(p.size);
  out.setDownloadUrl(p.download_url);
  out.setRepository(p.repository);
}

void encode_user(const User& u, InstallerRequest::User::Builder out) {
  out.setName(u.name);
  out.setPasswordHash(u.password_hash);
  out.setUid(u.uid);
  ipc::copy_texts(u.groups, out.initGroups(static_cast<unsigned>(u.groups.size())));
  out.setShell(u.shell);
  out.setStartupScript(u.startup_script);
  out.setPasswordMaxAge(u.password_max_age);
  out.setHome(u.home);
  out.setSudo(u.sudo);
  ipc::copy_texts(u.ssh_authorized_keys, out.initSshAuthorizedKeys(static_cast<unsigned>(u.ssh_authorized_keys.size())));
}

void encode_command(const Command& command, InstallerRequest::Command::Builder out) {
  if (const auto* argv = std::get_if<std::vector<std::string>>(&command)) {
    ipc::copy_texts(*argv, out.initArgv(static_cast<unsigned>(argv->size())));
  } else {
    out.setScript(std::get<std::string>(command));
  }
}

void encode_fstab(const FstabEntry& e, InstallerRequest::FstabEntry::Builder out) {
  out.setSpec(e.spec);
  out.setMountPoint(e.mount_point);
  out.setFsType(e.fs_type);
  out.setOptions(e.options);
  out.setDump(e.dump);
  out.setPass(e.pass);
}

void encode_sbom(const Sbom& sbom, InstallerRequest::Sbom::Builder out) {
  out.setEnabled(sbom.enabled);
  out.setFileName(sbom.file_name);
  out.setImageName(sbom.image_name);
  out.setImageVersion(sbom.image_version);
  out.setDistribution(sbom.distribution);
  out.setPurlType(sbom.purl_type);
}

void encode_grub(const Grub& grub, InstallerRequest::Grub::Builder out) {
  out.setMkstandalone(grub.mkstandalone);
  out.setModulesDir(grub.modules_dir);
  out.setConfigDir(grub.config_dir);
  out.setToolsPackage(grub.tools_package);
  out.setModulesPackage(grub.modules_package);
  out.setShim(grub.shim);
  out.setShimPackage(grub.shim_package);
  out.setSbat(grub.sbat);
}

// Lists in request order; `encode_one` fills one element.
template <typename T, typename ListBuilder, typename Encode>
void encode_list(const std::vector<T>& items, ListBuilder list, Encode encode_one) {
  for (unsigned i = 0; i < list.size(); ++i) encode_one(items[i], list[i]);
}

}  // namespace

void encode(const Request& request, InstallerRequest::Builder out) {
  const auto count = [](const auto& v) { return static_cast<unsigned>(v.size()); };
  const bool rpm = request.rpm.has_value();
  encode_list(request.packages, out.initPackages(count(request.packages)),
              [rpm](const PackageFile& p, InstallerRequest::PackageFile::Builder b) { encode_package(p, rpm, b); });
  if (rpm) {
    auto family = out.initPackageFamily().initRpm();
    family.setDbPath(request.rpm->db_path);
    auto keys = family.initKeys(count(request.rpm->keys));
    for (unsigned i = 0; i < keys.size(); ++i) request.rpm->keys[i].encode(keys[i]);
  }
  request.root_dir.encode(out.initRootDir());
  out.setHostname(request.hostname);
  encode_list(request.users, out.initUsers(count(request.users)), encode_user);
  auto files = out.initAdditionalFiles(count(request.additional_files));
  for (unsigned i = 0; i < files.size(); ++i) {
    request.additional_files[i].source.encode(files[i].initSource());
    files[i].setDestination(request.additional_files[i].destination);
    files[i].setMode(request.additional_files[i].mode);
  }
  encode_list(request.commands, out.initCommands(count(request.commands)), encode_command);
  encode_list(request.fstab, out.initFstab(count(request.fstab)), encode_fstab);
  out.setKernelCmdline(request.kernel_cmdline);
  out.setInitramfsTool(request.initramfs_tool);
  ipc::copy_texts(request.extra_modules, out.initExtraModules(static_cast<unsigned>(request.extra_modules.size())));
  if (request.sbom) encode_sbom(*request.sbom, out.initSbom());
  if (request.output_dir) request.output_dir->encode(out.initOutputDir());
  auto env = out.initBuildEnv();
  env.setMode(request.build_env.mode);
  if (request.build_env.dir) request.build_env.dir->encode(env.initDir());
  if (request.bootloader) request.bootloader->encode(out.initBootloader());
  out.setUki(request.uki);
  out.setRootFsUuid(request.root_fs_uuid);
  out.setBootFsUuid(request.boot_fs_uuid);
  out.setEspMountPoint(request.esp_mount_point);
  out.setSudoGroup(request.sudo_group);
  out.setInitrdFileName(request.initrd_file_name);
  if (request.grub) encode_grub(*request.grub, out.initGrub());
  out.setSecureBoot(request.secure_boot);
  out.setEspFsUuid(request.esp_fs_uuid);
  if (request.initramfs_cache) request.initramfs_cache->encode(out.initInitramfsCache());
  if (request.verity) {
    auto verity = out.initVerity();
    verity.setDataPartUuid(request.verity->data_part_uuid);
    verity.setHashPartUuid(request.verity->hash_part_uuid);
  }
}

Result decode(ipc::proto::InstallerResult::Reader result) {
  Result out;
  out.root_dir = result.getRootDir();
  for (auto p : result.getInstalled()) out.installed.push_back({p.getName(), p.getVersion(), p.getArchitecture()});
  out.sbom_path = result.getSbomPath();
  out.kernel_path = result.getKernelPath();
  out.initrd_path = result.getInitrdPath();
  out.kernel_version = result.getKernelVersion();
  out.build_env_reused = result.getBuildEnvReused();
  out.boot_files = ipc::texts_of(result.getBootFiles());
  out.initramfs_key = result.getInitramfsKey();
  out.initramfs_reused = result.getInitramfsReused();
  out.initramfs_touched = ipc::texts_of(result.getInitramfsTouched());
  return out;
}

}  // namespace stage::installer::client
