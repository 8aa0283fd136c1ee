#include "stages/installer/os_config.hpp"

#include "stages/installer/bootloader.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <sstream>

#include "base/error.hpp"
#include "base/openat2.hpp"
#include "base/file_write.hpp"

namespace stage::installer {
namespace {

namespace proto = ipc::proto;

std::string relative(std::string_view path) {
  while (path.starts_with('/')) path.remove_prefix(1);
  return path.empty() ? std::string(".") : std::string(path);
}

std::string shown(const std::filesystem::path& root, std::string_view path) {
  return (root / relative(path)).string();
}

// Account and group names as Debian's adduser accepts them by default; they
// also go on argv, so none may start with '-'.
bool valid_account_name(std::string_view name) {
  if (name.empty() || name.size() > 32) return false;
  if (!(std::islower(static_cast<unsigned char>(name[0])) || name[0] == '_')) return false;
  for (std::size_t i = 1; i < name.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(name[i]);
    const bool last_dollar = c == '$' && i + 1 == name.size();
    if (!(std::islower(c) || std::isdigit(c) || c == '_' || c == '-' || last_dollar)) return false;
  }
  return true;
}

bool valid_hostname(std::string_view name) {
  if (name.empty() || name.size() > 64 || name.front() == '-' || name.front() == '.') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.';
  });
}

bool has_control_or(std::string_view text, std::string_view forbidden) {
  return std::any_of(text.begin(), text.end(), [&](char c) {
    return static_cast<unsigned char>(c) < 0x20 || forbidden.find(c) != std::string_view::npos;
  });
}

std::string join(const std::vector<std::string>& parts, char separator) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : std::string(1, separator)) + p;
  return out;
}

// chown before chmod: chown clears the setuid and setgid bits.
void set_owner_and_mode(int fd, uid_t uid, gid_t gid, mode_t mode, const std::string& what) {
  struct stat st {};
  base::check_syscall(::fstat(fd, &st), "stat", what);
  if (st.st_uid != uid || st.st_gid != gid) base::check_syscall(::fchown(fd, uid, gid), "chown", what);
  base::check_syscall(::fchmod(fd, mode), "chmod", what);
}

void write_owned_file(const std::filesystem::path& root, std::string_view path, std::string_view content,
                      mode_t mode, uid_t uid, gid_t gid) {
  const std::filesystem::path rel(relative(path));
  make_dirs_in_root(root, rel.parent_path().string());
  base::UniqueFd fd = open_in_root(root, path, O_WRONLY | O_CREAT | O_TRUNC, mode & 07777);
  base::write_all(fd.get(), content, shown(root, path));
  set_owner_and_mode(fd.get(), uid, gid, mode & 07777, shown(root, path));
}

void set_password(const UserSpec& user, const CommandRunner& run) {
  if (user.password_hash.empty()) {
    run(ChrootCommand{.argv = {"usermod", "-L", user.name}}, "Failed to lock the account of '" + user.name + "'");
    return;
  }
  base::require(!has_control_or(user.password_hash, ":"),
               "Invalid password hash for user '" + user.name + "': it must be one crypt(3) string");
  // The hash goes on stdin, never on argv where other processes could read it.
  run(ChrootCommand{.argv = {"chpasswd", "--encrypted"}, .input = user.name + ":" + user.password_hash + "\n"},
      "Failed to set the password of '" + user.name + "'");
}

// users[].passwordMaxAge: the shadow file's maximum password age, as the
// image's own chage sets it (-1 removes the limit).
void set_password_max_age(const std::filesystem::path& root, const UserSpec& user, const CommandRunner& run) {
  const std::int32_t days = user.password_max_age;
  base::require(days >= -1 && days <= 99999, "Invalid passwordMaxAge " + std::to_string(days) + " of user '" +
                                                 user.name + "': it must be -1 (no limit) to 99999 days");
  const bool has_chage = exists_in_root(root, "usr/bin/chage") || exists_in_root(root, "bin/chage");
  if (!has_chage) {
    throw base::Error(base::ErrorKind::kInvalidInput, "Failed to set passwordMaxAge of user '" + user.name +
                                                          "': 'chage' is not in the image")
        .with_hint("add the package that ships chage (passwd on Debian, shadow-utils on RPM systems)");
  }
  run(ChrootCommand{.argv = {"chage", "-M", std::to_string(days), user.name}},
      "Failed to set passwordMaxAge of user '" + user.name + "'");
}

void install_authorized_keys(const std::filesystem::path& root, const UserSpec& user) {
  const auto entry = find_db_entry(root, "etc/passwd", user.name);
  base::check(entry && entry->size() >= 6, "Failed to find user '" + user.name + "' in " + shown(root, "etc/passwd"));
  const uid_t uid = static_cast<uid_t>(std::stoul((*entry)[2]));
  const gid_t gid = static_cast<gid_t>(std::stoul((*entry)[3]));
  const std::string ssh_dir = (*entry)[5] + "/.ssh";
  make_dirs_in_root(root, ssh_dir);
  {
    base::UniqueFd dir = open_in_root(root, ssh_dir, O_RDONLY | O_DIRECTORY);
    set_owner_and_mode(dir.get(), uid, gid, 0700, shown(root, ssh_dir));
  }
  std::string keys;
  for (const std::string& key : user.ssh_authorized_keys) {
    base::require(!has_control_or(key, ""), "Invalid SSH key for user '" + user.name + "': one line per key");
    keys += key + "\n";
  }
  write_owned_file(root, ssh_dir + "/authorized_keys", keys, 0600, uid, gid);
}

// The seventh field of `name`'s line in /etc/passwd; every other byte of the
// file stays as it was (no usermod needed in the image).
void replace_login_shell(const std::filesystem::path& root, const std::string& name, const std::string& shell) {
  const std::optional<std::string> passwd = read_file_in_root(root, "etc/passwd");
  base::require(passwd.has_value(), "Failed to set the login shell of '" + name + "': the image has no /etc/passwd");
  std::string out;
  bool found = false;
  std::istringstream lines(*passwd);
  for (std::string line; std::getline(lines, line);) {
    const std::size_t last = line.rfind(':');
    if (line.starts_with(name + ":") && std::count(line.begin(), line.end(), ':') == 6) {
      line = line.substr(0, last + 1) + shell;
      found = true;
    }
    out += line + "\n";
  }
  base::require(found, "Failed to set the login shell of '" + name + "': no such user in " + shown(root, "etc/passwd"));
  write_file_in_root(root, "etc/passwd", out, 0644);
}

void run_configuration_commands(proto::InstallerRequest::Reader request, ipc::StageContext& context,
                                const CommandRunner& run) {
  const auto commands = request.getCommands();
  for (unsigned i = 0; i < commands.size(); ++i) {
    context.check_cancelled();
    const std::string number = std::to_string(i + 1) + " of " + std::to_string(commands.size());
    context.progress({.phase = "configuration commands", .done = i, .total = commands.size()});
    context.log(ipc::LogLevel::kInfo, "Running configuration command " + number);
    run(ChrootCommand{.argv = command_argv(commands[i]), .timeout = kCommandTimeout},
        "Failed to run configuration command " + number);
  }
}

UserSpec decode_user(proto::InstallerRequest::User::Reader user) {
  UserSpec spec{.name = user.getName(),
                .password_hash = user.getPasswordHash(),
                .uid = user.getUid(),
                .shell = user.getShell(),
                .home = user.getHome(),
                .sudo = user.getSudo(),
                .startup_script = user.getStartupScript(),
                .password_max_age = user.getPasswordMaxAge()};
  for (auto g : user.getGroups()) spec.groups.emplace_back(g);
  for (auto k : user.getSshAuthorizedKeys()) spec.ssh_authorized_keys.emplace_back(k);
  return spec;
}

}  // namespace

// ---- files inside the tree ----

base::UniqueFd open_in_root(const std::filesystem::path& root, std::string_view path, int flags, mode_t mode) {
  base::UniqueFd root_fd(base::check_syscall(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC),
                                               "open the image tree", root.string()));
  open_how how{};
  how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC);
  how.mode = (flags & O_CREAT) != 0 ? mode : 0;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  const std::string rel = relative(path);
  const long fd = base::openat2_retrying(root_fd.get(), rel.c_str(), how);
  if (fd < 0 && errno == ENOENT && (flags & O_CREAT) == 0) return {};
  return base::UniqueFd(static_cast<int>(base::check_syscall(fd, "open", shown(root, path))));
}

void make_dirs_in_root(const std::filesystem::path& root, std::string_view dir) {
  std::filesystem::path done;
  for (const auto& part : std::filesystem::path(relative(dir))) {
    if (part == "." || part.empty()) continue;
    const std::filesystem::path next = done / part;
    if (!open_in_root(root, next.string(), O_PATH | O_DIRECTORY)) {
      base::UniqueFd parent = open_in_root(root, done.string(), O_PATH | O_DIRECTORY);
      base::check(parent.valid(), "Failed to open directory '" + shown(root, done.string()) + "'");
      if (::mkdirat(parent.get(), part.c_str(), 0755) != 0 && errno != EEXIST) {
        base::check_syscall(-1, "create directory", shown(root, next.string()));
      }
    }
    done = next;
  }
}

void write_file_in_root(const std::filesystem::path& root, std::string_view path, std::string_view content,
                        mode_t mode) {
  write_owned_file(root, path, content, mode, ::geteuid(), ::getegid());
}

std::optional<std::string> read_file_in_root(const std::filesystem::path& root, std::string_view path) {
  base::UniqueFd fd = open_in_root(root, path, O_RDONLY);
  if (!fd) return std::nullopt;
  std::string content;
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    base::check_syscall(n, "read", shown(root, path));
    if (n == 0) return content;
    content.append(buffer, static_cast<std::size_t>(n));
  }
}

bool exists_in_root(const std::filesystem::path& root, std::string_view path) {
  return open_in_root(root, path, O_PATH).valid();
}

void remove_in_root(const std::filesystem::path& root, std::string_view dir, const char* name) {
  base::UniqueFd parent = open_in_root(root, dir, O_PATH | O_DIRECTORY);
  if (parent && ::unlinkat(parent.get(), name, 0) != 0 && errno != ENOENT) {
    base::check_syscall(-1, "remove", shown(root, std::string(dir) + "/" + name));
  }
}

void link_in_root(const std::filesystem::path& root, std::string_view dir, const std::string& name,
                  const std::string& target) {
  make_dirs_in_root(root, dir);
  base::UniqueFd parent = open_in_root(root, dir, O_PATH | O_DIRECTORY);
  const std::string where = (root / dir / name).string();
  if (::unlinkat(parent.get(), name.c_str(), 0) != 0 && errno != ENOENT) base::check_syscall(-1, "remove", where);
  base::check_syscall(::symlinkat(target.c_str(), parent.get(), name.c_str()), "create symlink", where);
}

std::optional<std::vector<std::string>> find_db_entry(const std::filesystem::path& root, std::string_view db,
                                                      std::string_view name) {
  const std::optional<std::string> content = read_file_in_root(root, db);
  if (!content) return std::nullopt;
  std::istringstream lines(*content);
  for (std::string line; std::getline(lines, line);) {
    std::vector<std::string> fields;
    std::istringstream split(line);
    for (std::string field; std::getline(split, field, ':');) fields.push_back(field);
    if (!fields.empty() && fields[0] == name) return fields;
  }
  return std::nullopt;
}

// ---- the configuration steps ----

CommandRunner make_chroot_runner(const std::filesystem::path& root) {
  return [root](const ChrootCommand& command, const std::string& what) {
    return run_in_root_checked(root, command, what);
  };
}

void write_hostname(const std::filesystem::path& root, std::string_view hostname) {
  base::require(valid_hostname(hostname), "Invalid hostname '" + std::string(hostname) +
                                             "': use letters, digits, '-' and '.' (at most 64)");
  const std::string name(hostname);
  const std::string short_name = name.substr(0, name.find('.'));
  write_file_in_root(root, "etc/hostname", name + "\n", 0644);
  write_file_in_root(root, "etc/hosts",
                     "127.0.0.1\tlocalhost\n"
                     "127.0.1.1\t" + (short_name == name ? name : name + "\t" + short_name) + "\n"
                     "\n"
                     "::1\t\tlocalhost ip6-localhost ip6-loopback\n"
                     "ff02::1\t\tip6-allnodes\n"
                     "ff02::2\t\tip6-allrouters\n",
                     0644);
}

void reset_machine_id(const std::filesystem::path& root) {
  // Replaced, not rewritten: the old file is read-only, or a link elsewhere.
  remove_in_root(root, "etc", "machine-id");
  write_file_in_root(root, "etc/machine-id", "", 0444);
  remove_in_root(root, "var/lib/dbus", "machine-id");
}

void remove_build_logs(const std::filesystem::path& root) {
  static constexpr std::pair<const char*, const char*> kFiles[] = {
      {"var/log", "dpkg.log"},
      {"var/log", "alternatives.log"},
      {"var/log", "bootstrap.log"},
      {"var/log/apt", "history.log"},
      {"var/log/apt", "term.log"},
      {"var/log/apt", "eipp.log.xz"},
      {"var/cache/ldconfig", "aux-cache"},
  };
  for (const auto& [dir, name] : kFiles) remove_in_root(root, dir, name);
}

void remove_dpkg_backups(const std::filesystem::path& root) {
  static constexpr std::pair<const char*, const char*> kFiles[] = {
      {"var/lib/dpkg", "status-old"},
      {"var/lib/dpkg", "available-old"},
      {"var/lib/dpkg", "diversions-old"},
      {"var/lib/dpkg", "statoverride-old"},
      {"var/cache/debconf", "config.dat-old"},
      {"var/cache/debconf", "templates.dat-old"},
      {"var/cache/debconf", "passwords.dat-old"},
  };
  for (const auto& [dir, name] : kFiles) remove_in_root(root, dir, name);
}

std::string format_fstab_lines(const std::vector<FstabLine>& lines) {
  // fstab separates fields by blanks; a blank inside one is written \040.
  auto field = [](const std::string& value, const char* what) {
    base::require(!value.empty(), std::string("Invalid fstab entry: empty ") + what);
    base::require(!has_control_or(value, ""), std::string("Invalid fstab entry: control character in ") + what);
    std::string out;
    for (char c : value) out += c == ' ' ? std::string("\\040") : std::string(1, c);
    return out;
  };
  std::string out;
  for (const FstabLine& l : lines) {
    out += field(l.spec, "file system") + "\t" + field(l.mount_point, "mount point") + "\t" +
           field(l.fs_type, "type") + "\t" + field(l.options.empty() ? "defaults" : l.options, "options") + "\t" +
           std::to_string(l.dump) + "\t" + std::to_string(l.pass) + "\n";
  }
  return out;
}

std::string format_fstab(const std::vector<FstabLine>& lines) {
  return "# /etc/fstab: static file system information, written by os-image-composer.\n"
         "# <file system>\t<mount point>\t<type>\t<options>\t<dump>\t<pass>\n" +
         format_fstab_lines(lines);
}

std::vector<FstabLine> decode_fstab(proto::InstallerRequest::Reader request) {
  std::vector<FstabLine> lines;
  for (auto e : request.getFstab()) {
    lines.push_back({e.getSpec(), e.getMountPoint(), e.getFsType(), e.getOptions(), e.getDump(), e.getPass()});
  }
  return lines;
}

void write_kernel_cmdline(const std::filesystem::path& root, std::string_view cmdline) {
  base::require(!has_control_or(cmdline, ""), "Invalid kernel command line: it must be one line");
  write_file_in_root(root, "etc/kernel/cmdline", std::string(cmdline) + "\n", 0644);
}

void create_user(const std::filesystem::path& root, const UserSpec& user, std::string_view sudo_group,
                 const CommandRunner& run) {
  base::ErrorContext ctx{"creating user", user.name};
  base::require(valid_account_name(user.name), "Invalid user name '" + user.name + "'");
  for (const std::string* path : {&user.shell, &user.home}) {
    base::require(path->empty() || (path->starts_with('/') && !has_control_or(*path, ":")),
                 "Invalid shell or home '" + *path + "' of user '" + user.name + "': must be an absolute path");
  }
  std::vector<std::string> groups = user.groups;
  if (user.sudo) {
    base::require(valid_account_name(sudo_group), "Failed to decode installer request: sudoGroup '" +
                                                     std::string(sudo_group) +
                                                     "' is not a group name (provider config.yml)");
    if (std::find(groups.begin(), groups.end(), sudo_group) == groups.end()) groups.emplace_back(sudo_group);
  }
  for (const std::string& group : groups) {
    base::require(valid_account_name(group), "Invalid group name '" + group + "' of user '" + user.name + "'");
    if (!find_db_entry(root, "etc/group", group)) {
      run(ChrootCommand{.argv = {"groupadd", group}}, "Failed to create group '" + group + "'");
    }
  }
  if (!find_db_entry(root, "etc/passwd", user.name)) {
    std::vector<std::string> argv = {"useradd", "-m", "-s", user.shell.empty() ? "/bin/bash" : user.shell};
    if (!user.home.empty()) argv.insert(argv.end(), {"-d", user.home});
    if (user.uid >= 0) argv.insert(argv.end(), {"-u", std::to_string(user.uid)});
    if (!groups.empty()) argv.insert(argv.end(), {"-G", join(groups, ',')});
    argv.push_back(user.name);
    run(ChrootCommand{.argv = argv}, "Failed to create user '" + user.name + "'");
  } else if (!groups.empty()) {
    run(ChrootCommand{.argv = {"usermod", "-a", "-G", join(groups, ','), user.name}},
        "Failed to add user '" + user.name + "' to its groups");
  }
  set_password(user, run);
  if (user.password_max_age != kDistributionDefaultMaxAge) set_password_max_age(root, user, run);
  // The group alone is enough where sudoers grants it (%sudo, %wheel); the drop-in
  // makes the grant independent of the distribution's default policy.
  if (user.sudo && exists_in_root(root, "usr/bin/sudo")) {
    write_file_in_root(root, "etc/sudoers.d/" + user.name, user.name + " ALL=(ALL:ALL) ALL\n", 0440);
  }
  if (!user.ssh_authorized_keys.empty()) install_authorized_keys(root, user);
}

void set_startup_script(const std::filesystem::path& root, const UserSpec& user) {
  const std::string& script = user.startup_script;
  const std::string what = "startupScript '" + script + "' of user '" + user.name + "'";
  base::require(script.starts_with('/') && !has_control_or(script, ":"),
               "Invalid " + what + ": it must be an absolute path");
  base::UniqueFd fd = open_in_root(root, script, O_PATH);
  if (!fd) {
    throw base::Error(base::ErrorKind::kInvalidInput, "Failed to set the " + what + ": it is not in the image")
        .with_hint("add it with systemConfig.additionalFiles or a package");
  }
  struct stat st {};
  base::check_syscall(::fstat(fd.get(), &st), "stat", shown(root, script));
  base::require(S_ISREG(st.st_mode) && (st.st_mode & 0111) != 0,
               "Failed to set the " + what + ": it is not an executable file in the image");
  replace_login_shell(root, user.name, script);
}

void install_additional_file(const std::filesystem::path& root, int source_fd, std::string_view destination,
                             mode_t mode) {
  const std::filesystem::path dest{std::string(destination)};
  bool escapes = false;
  for (const auto& part : dest) escapes = escapes || part == "..";
  base::require(dest.is_absolute() && dest.has_filename() && !escapes,
               "Invalid destination '" + std::string(destination) +
                   "' of an additional file: it must be an absolute path inside the image without '..'");
  make_dirs_in_root(root, dest.parent_path().string());
  base::UniqueFd out = open_in_root(root, dest.string(), O_WRONLY | O_CREAT | O_TRUNC, mode & 07777);
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::read(source_fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    base::check_syscall(n, "read the source of", shown(root, dest.string()));
    if (n == 0) break;
    base::write_all(out.get(), std::string_view(buffer, static_cast<std::size_t>(n)), shown(root, dest.string()));
  }
  set_owner_and_mode(out.get(), ::geteuid(), ::getegid(), mode & 07777, shown(root, dest.string()));
}

std::vector<std::string> command_argv(proto::InstallerRequest::Command::Reader command) {
  std::vector<std::string> argv;
  if (command.isScript()) {
    argv = {"/bin/sh", "-c", command.getScript()};
  } else {
    for (auto a : command.getArgv()) argv.emplace_back(a);
  }
  base::require(!argv.empty() && !argv[0].empty(), "Invalid configuration command: empty argv");
  return argv;
}

void apply_os_configuration(const std::filesystem::path& root, proto::InstallerRequest::Reader request,
                            ipc::StageContext& context) {
  apply_os_configuration(root, request, context, make_chroot_runner(root));
}

void apply_os_configuration(const std::filesystem::path& root, proto::InstallerRequest::Reader request,
                            ipc::StageContext& context, const CommandRunner& run) {
  base::ErrorContext ctx{"configuring the OS in", root.string()};
  context.progress({.phase = "configure", .item = "system files"});
  if (request.getHostname().size() > 0) write_hostname(root, request.getHostname().cStr());
  reset_machine_id(root);
  if (request.getFstab().size() > 0) write_file_in_root(root, "etc/fstab", format_fstab(decode_fstab(request)), 0644);
  // /etc/kernel/cmdline is the whole command line (kernel-install and UKI
  // tools read it as is), so it names the root file system too.
  if (request.getRootFsUuid().size() > 0) {
    write_kernel_cmdline(root, kernel_arguments(decode_boot_settings(request)));
  } else if (request.getKernelCmdline().size() > 0) {
    write_kernel_cmdline(root, request.getKernelCmdline().cStr());
  }

  for (auto user : request.getUsers()) {
    context.check_cancelled();
    context.progress({.phase = "configure", .item = "user " + std::string(user.getName().cStr())});
    create_user(root, decode_user(user), request.getSudoGroup().cStr(), run);
  }
  for (auto file : request.getAdditionalFiles()) {
    const std::string destination = file.getDestination();
    base::ErrorContext file_ctx{"installing additional file", destination};
    base::UniqueFd source = context.open(file.getSource(), O_RDONLY, "additional file " + destination);
    install_additional_file(root, source.get(), destination, file.getMode());
  }
  for (auto user : request.getUsers()) {
    if (user.getStartupScript().size() > 0) set_startup_script(root, decode_user(user));
  }
  run_configuration_commands(request, context, run);
}

}  // namespace stage::installer
