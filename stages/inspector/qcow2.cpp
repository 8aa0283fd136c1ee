#include "stages/inspector/qcow2.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "stages/inspector/program.hpp"

namespace stage::inspector {
namespace {

using nlohmann::json;

[[noreturn]] void refuse(const std::string& name, const std::string& why) {
  base::fail(base::ErrorKind::kInvalidInput, "Failed to read the qcow2 image '" + name + "': " + why);
}

// The source as qemu-img opens it: fd 3, forced to qcow2, never a backing
// file, no file locks (the fd is the supervisor's).
std::string source_spec() {
  return R"(json:{"driver":"qcow2","backing":null,"file":{"driver":"file","filename":"/dev/fd/3","locking":"off"}})";
}

base::ChildOutcome run_qemu_img(std::vector<std::string> args, int image_fd, int output_fd) {
  base::ChildCommand command;
  command.argv = {find_program("qemu-img", "qemu-utils").string()};
  command.argv.insert(command.argv.end(), args.begin(), args.end());
  command.env = {"PATH=/usr/sbin:/usr/bin", "LC_ALL=C"};
  command.separate_stdout = true;
  command.max_stdout = 1 << 20;
  command.move_fds = {{image_fd, 3}};
  if (output_fd >= 0) command.move_fds.push_back({output_fd, 4});
  return base::run_child(command);
}

}  // namespace

Qcow2Info checked_qcow2_info(const std::string& info_json, const std::string& name) {
  const json info = json::parse(info_json, nullptr, false);
  if (!info.is_object()) refuse(name, "qemu-img info did not print a JSON object");
  if (info.value("format", std::string()) != "qcow2") refuse(name, "qemu-img does not read it as qcow2");
  if (info.contains("backing-filename") || info.contains("full-backing-filename")) {
    const std::string backing = info.value("backing-filename", std::string("(unnamed)"));
    refuse(name, "it has a backing file ('" + backing +
                     "'); only a self-contained image is read (qemu-img convert -O qcow2 makes one)");
  }
  if (info.value("encrypted", false)) refuse(name, "it is encrypted");
  const json specific = info.value("format-specific", json::object());
  if (specific.is_object() && specific.value("data", json::object()).is_object() &&
      specific.value("data", json::object()).contains("data-file")) {
    refuse(name, "its data is in an external data file");
  }
  const json& size = info.contains("virtual-size") ? info["virtual-size"] : json();
  if (!size.is_number_unsigned()) refuse(name, "qemu-img info gives no virtual size");
  const std::uint64_t bytes = size.get<std::uint64_t>();
  if (bytes == 0 || bytes > kMaxVirtualSize || bytes % 512 != 0) {
    refuse(name, "its virtual size " + std::to_string(bytes) + " is not 512 B..4 TiB in whole sectors");
  }
  return {bytes};
}

void check_consistency(const std::string& check_json, int exit_code, const std::string& name) {
  const json check = json::parse(check_json, nullptr, false);
  if (!check.is_object()) refuse(name, "qemu-img check exited with status " + std::to_string(exit_code));
  const auto count = [&](const char* key) {
    return check.contains(key) && check[key].is_number_unsigned() ? check[key].get<std::uint64_t>() : 0;
  };
  if (count("corruptions") > 0 || count("check-errors") > 0) {
    refuse(name, "it is truncated or damaged: qemu-img check finds " + std::to_string(count("corruptions")) +
                     " corruptions and " + std::to_string(count("check-errors")) + " errors");
  }
}

Qcow2Info convert_qcow2(int image_fd, int output_fd, const std::string& name) {
  const base::ChildOutcome info = run_qemu_img({"info", "--output=json", source_spec()}, image_fd, -1);
  if (!info.ok()) refuse(name, "qemu-img info " + failure_text(info));
  const Qcow2Info checked = checked_qcow2_info(info.out, name);
  // A cut image reads as zeroes past its end: its tables must be whole.
  // Status 0: clean; 2: corruptions; 3: leaked clusters only (harmless).
  const base::ChildOutcome check = run_qemu_img({"check", "--output=json", source_spec()}, image_fd, -1);
  if (check.truncated || (check.exit_code != 0 && check.exit_code != 2 && check.exit_code != 3)) {
    refuse(name, "qemu-img check " + failure_text(check));
  }
  check_consistency(check.out, check.exit_code, name);
  const rlim_t limit = checked.virtual_size;
  const rlimit fsize{limit, limit};
  base::check_syscall(::setrlimit(RLIMIT_FSIZE, &fsize), "limit the raw image's size to", std::to_string(limit));
  // A sparse file of the whole size: qemu-img then writes only the data
  // (--target-is-zero), and the raw image ends where the disk does.
  base::check_syscall(::ftruncate(output_fd, static_cast<off_t>(checked.virtual_size)), "size the raw image of", name);
  const base::ChildOutcome convert = run_qemu_img(
      {"convert", "-q", "-n", "--target-is-zero", source_spec(), "--target-image-opts",
       "driver=raw,file.driver=file,file.filename=/dev/fd/4,file.locking=off"},
      image_fd, output_fd);
  if (!convert.ok()) refuse(name, "qemu-img convert " + failure_text(convert));
  return checked;
}

}  // namespace stage::inspector
