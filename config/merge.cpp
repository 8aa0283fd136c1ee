#include "config/merge.hpp"

#include <algorithm>

#include "config/validate.hpp"

namespace config {
namespace fs = std::filesystem;
namespace {

// `into` takes `from` when `from` holds a non-empty value.
void override_if_set(std::optional<std::string>& into, const std::optional<std::string>& from) {
  if (from && !from->empty()) into = from;
}

template <typename T>
void override_if_set(std::optional<T>& into, const std::optional<T>& from) {
  if (from) into = from;
}

// `into` followed by the items of `more` it does not already hold.
void append_unique(std::vector<std::string>& into, const std::vector<std::string>& more) {
  for (const std::string& s : more) {
    if (std::find(into.begin(), into.end(), s) == into.end()) into.push_back(s);
  }
}

// Replaces the item with the same key in place, or appends: D's order first,
// then U's new items in U's order.
template <typename T, typename Key, typename Combine>
void merge_by_key(std::vector<T>& into, const std::vector<T>& more, Key key, Combine combine) {
  for (const T& item : more) {
    auto same = std::find_if(into.begin(), into.end(), [&](const T& have) { return key(have) == key(item); });
    if (same == into.end())
      into.push_back(item);
    else
      combine(*same, item);
  }
}

Kernel merge_kernel(Kernel d, const Kernel& u) {
  override_if_set(d.version, u.version);
  override_if_set(d.cmdline, u.cmdline);
  override_if_set(d.enable_extra_modules, u.enable_extra_modules);
  if (!u.packages.empty()) d.packages = u.packages;
  // The reference keeps D's uki whatever U says; a key the template sets is
  // never dropped here, so U's wins when set. The name stays D's (merge()
  // warns when U names another).
  override_if_set(d.uki, u.uki);
  return d;
}

void merge_user(User& d, const User& u) {
  if (u.password) {
    d.password = u.password;
    // A pre-hashed password carries its algorithm.
    if (u.password->starts_with("$")) d.hash_algo.reset();
  }
  if (u.hash_algo) d.hash_algo = u.hash_algo;
  override_if_set(d.password_max_age, u.password_max_age);
  override_if_set(d.startup_script, u.startup_script);
  override_if_set(d.home, u.home);
  override_if_set(d.shell, u.shell);
  append_unique(d.groups, u.groups);
  d.sudo = u.sudo;  // reference rule: always the user's value
}

// kernel.name is the default's (the reference's rule): say so when the
// template names another, rather than drop it unseen.
std::optional<std::string> ignored_kernel_name(const ImageTemplate& d, const ImageTemplate& u) {
  const auto name_of = [](const ImageTemplate& t) -> std::optional<std::string> {
    if (!t.system_config || !t.system_config->kernel) return std::nullopt;
    return t.system_config->kernel->name;
  };
  const std::optional<std::string> mine = name_of(u), kept = name_of(d);
  if (!mine || !kept || *mine == *kept) return std::nullopt;
  return "systemConfig.kernel.name '" + *mine + "' is not used: the default's '" + *kept +
         "' is kept (the name is informational; kernel.packages are what is installed)";
}

SystemConfig merge_system_config(SystemConfig d, const SystemConfig& u) {
  override_if_set(d.name, u.name);
  override_if_set(d.description, u.description);
  override_if_set(d.hostname, u.hostname);
  if (u.initramfs && u.initramfs->template_path && !u.initramfs->template_path->empty())
    d.initramfs = u.initramfs;
  append_unique(d.packages, u.packages);
  if (u.kernel) d.kernel = d.kernel ? merge_kernel(*d.kernel, *u.kernel) : *u.kernel;
  if (u.bootloader) {
    Bootloader b = d.bootloader.value_or(Bootloader{});
    override_if_set(b.boot_type, u.bootloader->boot_type);
    override_if_set(b.provider, u.bootloader->provider);
    d.bootloader = b;
  }
  if (u.immutability) {
    Immutability im = d.immutability.value_or(Immutability{});
    im.enabled = u.immutability->enabled;
    override_if_set(im.secure_boot_db_key, u.immutability->secure_boot_db_key);
    override_if_set(im.secure_boot_db_crt, u.immutability->secure_boot_db_crt);
    override_if_set(im.secure_boot_db_cer, u.immutability->secure_boot_db_cer);
    d.immutability = im;
  }
  merge_by_key(d.users, u.users, [](const User& x) { return x.name; }, merge_user);
  merge_by_key(d.additional_files, u.additional_files, [](const AdditionalFile& f) { return f.final; },
               [](AdditionalFile& have, const AdditionalFile& mine) { have = mine; });
  d.configurations.insert(d.configurations.end(), u.configurations.begin(), u.configurations.end());
  return d;
}

bool user_defines_disk(const Disk& u) {
  return (u.name && !u.name->empty()) || (u.size && !u.size->empty()) || !u.partitions.empty();
}

// Drops the default's marks under `prefix` when the user's section replaced it.
void erase_marks(Marks& marks, const std::string& prefix) {
  std::erase_if(marks, [&](const auto& entry) {
    const std::string& key = entry.first;
    return key == prefix || key.starts_with(prefix + ".") || key.starts_with(prefix + "[");
  });
}

// Keeps the marks of D for keys U did not write; U's own marks win.
Marks merge_marks(const ImageTemplate& d, const ImageTemplate& u, bool disk_replaced) {
  Marks marks = d.marks;
  if (disk_replaced) erase_marks(marks, "disk");
  for (const auto& [path, mark] : u.marks) marks[path] = mark;
  return marks;
}

}  // namespace

MergeResult merge_templates(const ImageTemplate& d, const ImageTemplate& u) {
  MergeResult result;
  ImageTemplate& m = result.merged;
  m = d;
  m.source = u.source;
  if (u.metadata) m.metadata = u.metadata;
  if (u.image) {
    Image image = d.image.value_or(Image{});
    override_if_set(image.name, u.image->name);
    override_if_set(image.version, u.image->version);
    m.image = image;
  }
  if (u.target) m.target = u.target;

  const bool disk_replaced = u.disk && user_defines_disk(*u.disk);
  if (disk_replaced) {
    m.disk = u.disk;
  } else if (u.disk && !u.disk->artifacts.empty()) {
    result.warnings.push_back("disk.artifacts of '" + u.source.string() +
                              "' ignored: a user disk takes effect only with name, size or partitions");
  }

  merge_by_key(m.package_repositories, u.package_repositories,
               [](const PackageRepository& r) { return r.codename; },
               [](PackageRepository& have, const PackageRepository& mine) { have = mine; });

  if (const std::optional<std::string> ignored = ignored_kernel_name(m, u)) result.warnings.push_back(*ignored);
  // Unlike the reference tool, merge even when the user's systemConfig has no name.
  if (u.system_config)
    m.system_config = m.system_config ? merge_system_config(*m.system_config, *u.system_config) : u.system_config;

  if (m.system_config && m.system_config->immutability && m.system_config->immutability->enabled &&
      !(m.disk && has_hash_partition(*m.disk))) {
    m.system_config->immutability->enabled = false;
    result.warnings.push_back(
        "systemConfig.immutability.enabled forced to false: no hash partition (id roothashmap or hash, "
        "or type linux with mountPoint none)");
  }
  m.marks = merge_marks(d, u, disk_replaced);
  set_merge_chain(m, {d.source, u.source});
  return result;
}

void set_merge_chain(ImageTemplate& t, const std::vector<fs::path>& chain) {
  if (!t.system_config) return;
  for (AdditionalFile& file : t.system_config->additional_files) file.merge_chain = chain;
}

std::vector<fs::path> additional_file_candidates(const AdditionalFile& file, const fs::path& template_path) {
  const fs::path local(file.local);
  if (local.is_absolute()) return {local.lexically_normal()};
  std::vector<fs::path> templates{file.declared_in.empty() ? template_path : file.declared_in};
  templates.insert(templates.end(), file.merge_chain.begin(), file.merge_chain.end());
  std::vector<fs::path> candidates;
  for (const fs::path& t : templates) {
    const fs::path candidate = (fs::absolute(t).parent_path() / local).lexically_normal();
    if (std::find(candidates.begin(), candidates.end(), candidate) == candidates.end())
      candidates.push_back(candidate);
  }
  return candidates;
}

std::optional<fs::path> find_additional_file(const AdditionalFile& file, const fs::path& template_path) {
  for (const fs::path& candidate : additional_file_candidates(file, template_path)) {
    std::error_code ec;
    if (fs::exists(candidate, ec)) return candidate;
  }
  return std::nullopt;
}

}  // namespace config
