#include "config/emit.hpp"

#include <yaml-cpp/yaml.h>

namespace config {
namespace {

// Strings are always double-quoted so that "0", "true" or "1.0" stay strings.
void put(YAML::Emitter& out, const char* key, const std::optional<std::string>& value) {
  if (value) out << YAML::Key << key << YAML::Value << YAML::DoubleQuoted << *value;
}

void put(YAML::Emitter& out, const char* key, const std::string& value) {
  out << YAML::Key << key << YAML::Value << YAML::DoubleQuoted << value;
}

void put(YAML::Emitter& out, const char* key, const std::optional<bool>& value) {
  if (value) out << YAML::Key << key << YAML::Value << (*value ? "true" : "false");
}

void put(YAML::Emitter& out, const char* key, const std::optional<std::int64_t>& value) {
  if (value) out << YAML::Key << key << YAML::Value << *value;
}

void put(YAML::Emitter& out, const char* key, const std::vector<std::string>& values) {
  if (values.empty()) return;
  out << YAML::Key << key << YAML::Value << YAML::BeginSeq;
  for (const std::string& v : values) out << YAML::DoubleQuoted << v;
  out << YAML::EndSeq;
}

// Emits `key:` and a list of mappings, each written by `item`.
template <typename T, typename F>
void put_list(YAML::Emitter& out, const char* key, const std::vector<T>& items, F item) {
  if (items.empty()) return;
  out << YAML::Key << key << YAML::Value << YAML::BeginSeq;
  for (const T& x : items) {
    out << YAML::BeginMap;
    item(x);
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;
}

void emit_disk(YAML::Emitter& out, const Disk& d) {
  put(out, "name", d.name);
  put(out, "path", d.path);
  put(out, "size", d.size);
  put(out, "partitionTableType", d.partition_table_type);
  put_list(out, "artifacts", d.artifacts, [&](const Artifact& a) {
    put(out, "type", a.type);
    put(out, "compression", a.compression);
  });
  put_list(out, "partitions", d.partitions, [&](const Partition& p) {
    put(out, "id", p.id);
    put(out, "index", p.index);
    put(out, "name", p.name);
    put(out, "type", p.type);
    put(out, "typeUUID", p.type_uuid);
    put(out, "fsType", p.fs_type);
    put(out, "fsLabel", p.fs_label);
    put(out, "start", p.start);
    put(out, "end", p.end);
    put(out, "mountPoint", p.mount_point);
    put(out, "mountOptions", p.mount_options);
    put(out, "flags", p.flags);
  });
}

void emit_repositories(YAML::Emitter& out, const std::vector<PackageRepository>& repos) {
  put_list(out, "packageRepositories", repos, [&](const PackageRepository& r) {
    put(out, "codename", r.codename);
    put(out, "url", r.url);
    put(out, "path", r.path);
    put(out, "pkey", r.pkey);
    put(out, "pkeys", r.pkeys);
    put(out, "component", r.component);
    put(out, "priority", r.priority);
    put(out, "allowPackages", r.allow_packages);
    put(out, "keyFingerprints", r.key_fingerprints);
  });
}

void emit_users(YAML::Emitter& out, const std::vector<User>& users) {
  put_list(out, "users", users, [&](const User& u) {
    put(out, "name", u.name);
    put(out, "password", u.password);
    put(out, "hash_algo", u.hash_algo);
    put(out, "passwordMaxAge", u.password_max_age);
    put(out, "startupScript", u.startup_script);
    put(out, "groups", u.groups);
    put(out, "sudo", u.sudo);
    put(out, "home", u.home);
    put(out, "shell", u.shell);
  });
}

void emit_system_config(YAML::Emitter& out, const SystemConfig& sc) {
  put(out, "name", sc.name);
  put(out, "description", sc.description);
  put(out, "hostname", sc.hostname);
  put(out, "packages", sc.packages);
  if (sc.kernel) {
    out << YAML::Key << "kernel" << YAML::Value << YAML::BeginMap;
    put(out, "name", sc.kernel->name);
    put(out, "version", sc.kernel->version);
    put(out, "cmdline", sc.kernel->cmdline);
    put(out, "packages", sc.kernel->packages);
    put(out, "enableExtraModules", sc.kernel->enable_extra_modules);
    put(out, "uki", sc.kernel->uki);
    out << YAML::EndMap;
  }
  if (sc.bootloader) {
    out << YAML::Key << "bootloader" << YAML::Value << YAML::BeginMap;
    put(out, "bootType", sc.bootloader->boot_type);
    put(out, "provider", sc.bootloader->provider);
    out << YAML::EndMap;
  }
  if (sc.immutability) {
    out << YAML::Key << "immutability" << YAML::Value << YAML::BeginMap;
    put(out, "enabled", std::optional<bool>(sc.immutability->enabled));
    put(out, "secureBootDBKey", sc.immutability->secure_boot_db_key);
    put(out, "secureBootDBCrt", sc.immutability->secure_boot_db_crt);
    put(out, "secureBootDBCer", sc.immutability->secure_boot_db_cer);
    out << YAML::EndMap;
  }
  emit_users(out, sc.users);
  if (sc.initramfs) {
    out << YAML::Key << "initramfs" << YAML::Value << YAML::BeginMap;
    put(out, "template", sc.initramfs->template_path);
    out << YAML::EndMap;
  }
  put_list(out, "additionalFiles", sc.additional_files, [&](const AdditionalFile& f) {
    put(out, "local", f.local);
    put(out, "final", f.final);
  });
  put_list(out, "configurations", sc.configurations, [&](const Configuration& c) { put(out, "cmd", c.cmd); });
}

// Opens `key:` as a mapping, writes it with `body`, closes it.
template <typename T, typename F>
void put_section(YAML::Emitter& out, const char* key, const std::optional<T>& section, F body) {
  if (!section) return;
  out << YAML::Key << key << YAML::Value << YAML::BeginMap;
  body(*section);
  out << YAML::EndMap;
}

}  // namespace

std::string emit_template(const ImageTemplate& t) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  put_section(out, "metadata", t.metadata, [&](const Metadata& m) {
    put(out, "description", m.description);
    put(out, "use_cases", m.use_cases);
    put(out, "keywords", m.keywords);
  });
  put_section(out, "image", t.image, [&](const Image& i) {
    put(out, "name", i.name);
    put(out, "version", i.version);
  });
  put_section(out, "target", t.target, [&](const Target& x) {
    put(out, "os", x.os);
    put(out, "dist", x.dist);
    put(out, "arch", x.arch);
    put(out, "imageType", x.image_type);
  });
  put_section(out, "disk", t.disk, [&](const Disk& d) { emit_disk(out, d); });
  emit_repositories(out, t.package_repositories);
  put_section(out, "systemConfig", t.system_config, [&](const SystemConfig& sc) { emit_system_config(out, sc); });
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace config
