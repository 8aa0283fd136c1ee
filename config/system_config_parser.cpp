#include <array>

#include "config/rules.hpp"
#include "config/section_parsers.hpp"

namespace config::sections {
namespace {

constexpr std::array<std::string_view, 11> kSystemConfigKeys{
    "name", "description", "hostname", "packages", "kernel", "bootloader", "immutability",
    "users", "initramfs", "additionalFiles", "configurations"};
constexpr std::array<std::string_view, 6> kKernelKeys{"name", "version", "cmdline", "packages",
                                                      "enableExtraModules", "uki"};
constexpr std::array<std::string_view, 2> kBootloaderKeys{"bootType", "provider"};
constexpr std::array<std::string_view, 4> kImmutabilityKeys{"enabled", "secureBootDBKey",
                                                            "secureBootDBCrt", "secureBootDBCer"};
constexpr std::array<std::string_view, 9> kUserKeys{"name", "password", "hash_algo", "passwordMaxAge",
                                                    "startupScript", "groups", "sudo", "home", "shell"};
constexpr std::array<std::string_view, 1> kInitramfsKeys{"template"};
constexpr std::array<std::string_view, 2> kAdditionalFileKeys{"local", "final"};
constexpr std::array<std::string_view, 1> kConfigurationKeys{"cmd"};

void check_package_names(YamlReader& in, const std::vector<std::string>& names, const std::string& path) {
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (!rules::is_package_name(names[i]))
      in.error(index_path(path, i), "\"" + names[i] + "\" is not a valid package name; expected a letter "
                                    "or digit followed by letters, digits or + _ . : ~ * ? [ ] -");
  }
}

Kernel parse_kernel(YamlReader& in, const YAML::Node& node, const std::string& path) {
  Kernel k;
  k.name = in.opt_string(node, "name", path);
  k.version = in.opt_string(node, "version", path);
  k.cmdline = in.opt_string(node, "cmdline", path);
  k.packages = in.string_list(node, "packages", path);
  check_package_names(in, k.packages, path + ".packages");
  k.enable_extra_modules = in.opt_string(node, "enableExtraModules", path);
  k.uki = in.opt_bool(node, "uki", path);
  return k;
}

// A secure boot file: one of `suffixes`, no "..", "${VAR}" tokens allowed.
void check_secure_boot_file(YamlReader& in, const std::optional<std::string>& value, const std::string& path,
                            std::string_view extensions, std::string_view expected) {
  if (!value) return;
  if (value->find("..") != std::string::npos)
    in.error(path, "\"" + *value + "\" must not contain \"..\"");
  else if (!rules::is_secure_boot_file(*value, extensions))
    in.error(path, "\"" + *value + "\" is not a " + std::string(expected) + " file path");
}

Immutability parse_immutability(YamlReader& in, const YAML::Node& node, const std::string& path) {
  Immutability im;
  if (!node["enabled"]) in.error(node, path + ".enabled", "is required");
  im.enabled = in.opt_bool(node, "enabled", path).value_or(false);
  im.secure_boot_db_key = in.opt_string(node, "secureBootDBKey", path);
  im.secure_boot_db_crt = in.opt_string(node, "secureBootDBCrt", path);
  im.secure_boot_db_cer = in.opt_string(node, "secureBootDBCer", path);
  check_secure_boot_file(in, im.secure_boot_db_key, path + ".secureBootDBKey", "key|pem", "*.key or *.pem");
  check_secure_boot_file(in, im.secure_boot_db_crt, path + ".secureBootDBCrt", "crt|pem", "*.crt or *.pem");
  check_secure_boot_file(in, im.secure_boot_db_cer, path + ".secureBootDBCer", "cer", "*.cer");
  const int set = int{im.secure_boot_db_key.has_value()} + int{im.secure_boot_db_crt.has_value()} +
                  int{im.secure_boot_db_cer.has_value()};
  if (set > 0 && set < 3)
    in.error(node, path, "secureBootDBKey, secureBootDBCrt and secureBootDBCer must be given together");
  if (set > 0 && !im.enabled)
    in.error(node, path + ".enabled", "must be true when secure boot keys are given");
  return im;
}

User parse_user(YamlReader& in, const YAML::Node& node, const std::string& path) {
  User u;
  u.name = in.req_string(node, "name", path);
  if (has_scalar(node, "name") && !rules::is_user_name(u.name))
    in.error(node["name"], path + ".name", "\"" + u.name + "\" is not a valid user name; expected "
             "^[a-z_][a-z0-9_-]*[$]?$, at most 32 characters");
  u.password = in.opt_string(node, "password", path);
  u.hash_algo = in.opt_string(node, "hash_algo", path);
  in.check_enum(u.hash_algo, path + ".hash_algo", rules::kHashAlgos);
  u.password_max_age = in.opt_int(node, "passwordMaxAge", path, -1, 99999);
  u.startup_script = in.opt_string(node, "startupScript", path);
  u.groups = in.string_list(node, "groups", path);
  u.sudo = in.opt_bool(node, "sudo", path);
  u.home = in.opt_string(node, "home", path);
  u.shell = in.opt_string(node, "shell", path);
  return u;
}

}  // namespace

SystemConfig parse_system_config(YamlReader& in, const YAML::Node& node, const std::string& path,
                                 const std::filesystem::path& source) {
  SystemConfig sc;
  if (!in.expect_map(node, path, kSystemConfigKeys)) return sc;
  sc.name = in.opt_string(node, "name", path);
  sc.description = in.opt_string(node, "description", path);
  sc.hostname = in.opt_string(node, "hostname", path);
  sc.packages = in.string_list(node, "packages", path);
  check_package_names(in, sc.packages, path + ".packages");
  if (auto n = in.section(node, "kernel", path, kKernelKeys)) sc.kernel = parse_kernel(in, *n, path + ".kernel");
  if (auto n = in.section(node, "bootloader", path, kBootloaderKeys)) {
    Bootloader b;
    b.boot_type = in.opt_string(*n, "bootType", path + ".bootloader");
    b.provider = in.opt_string(*n, "provider", path + ".bootloader");
    in.check_enum(b.boot_type, path + ".bootloader.bootType", rules::kBootTypes);
    in.check_enum(b.provider, path + ".bootloader.provider", rules::kBootloaderProviders);
    sc.bootloader = b;
  }
  if (auto n = in.section(node, "immutability", path, kImmutabilityKeys))
    sc.immutability = parse_immutability(in, *n, path + ".immutability");
  in.each(node, "users", path, [&](const YAML::Node& item, const std::string& item_path) {
    if (in.expect_map(item, item_path, kUserKeys)) sc.users.push_back(parse_user(in, item, item_path));
  });
  if (auto n = in.section(node, "initramfs", path, kInitramfsKeys))
    sc.initramfs = Initramfs{in.opt_string(*n, "template", path + ".initramfs"), source};
  in.each(node, "additionalFiles", path, [&](const YAML::Node& item, const std::string& item_path) {
    if (!in.expect_map(item, item_path, kAdditionalFileKeys)) return;
    AdditionalFile f;
    f.local = in.req_string(item, "local", item_path);
    f.final = in.req_string(item, "final", item_path);
    f.declared_in = source;
    if (has_scalar(item, "final") && !f.final.starts_with("/"))
      in.error(item["final"], item_path + ".final", "\"" + f.final + "\" must be an absolute path in the image");
    sc.additional_files.push_back(std::move(f));
  });
  in.each(node, "configurations", path, [&](const YAML::Node& item, const std::string& item_path) {
    if (in.expect_map(item, item_path, kConfigurationKeys))
      sc.configurations.push_back(Configuration{in.req_string(item, "cmd", item_path)});
  });
  return sc;
}

}  // namespace config::sections
