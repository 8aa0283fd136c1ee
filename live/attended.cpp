#include "live/attended.hpp"

#include <termios.h>
#include <unistd.h>

#include <istream>
#include <ostream>

#include "base/error.hpp"

namespace live {
namespace {

std::string ask(Console& console, const std::string& prompt) {
  console.out << prompt << std::flush;
  std::string line;
  if (!std::getline(console.in, line)) base::fail(base::ErrorKind::kFailed, "the console closed before an answer");
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line;
}

// Typed text not echoed while the console is a terminal.
std::string ask_secret(Console& console, const std::string& prompt) {
  termios saved{};
  const bool hide = console.terminal && ::tcgetattr(0, &saved) == 0;
  if (hide) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(0, TCSANOW, &quiet);
  }
  std::string answer;
  try {
    answer = ask(console, prompt);
  } catch (...) {
    if (hide) ::tcsetattr(0, TCSANOW, &saved);
    throw;
  }
  if (hide) {
    ::tcsetattr(0, TCSANOW, &saved);
    console.out << "\n";
  }
  return answer;
}

void list_disks(Console& console, const std::vector<DiskEntry>& disks, std::uint64_t raw_size) {
  console.out << "Disks:\n";
  for (std::size_t i = 0; i < disks.size(); ++i) {
    console.out << "  " << i + 1 << ") " << disks[i].name << "  " << human_size(disks[i].size)
                << (disks[i].model.empty() ? "" : "  " + disks[i].model)
                << (disks[i].size < raw_size ? "  (too small)" : "") << "\n";
  }
}

const DiskEntry* find_disk(const std::vector<DiskEntry>& disks, const std::string& answer) {
  for (std::size_t i = 0; i < disks.size(); ++i) {
    if (answer == disks[i].name || answer == "/dev/" + disks[i].name || answer == std::to_string(i + 1)) return &disks[i];
  }
  return nullptr;
}

std::string choose_disk(Console& console, const std::vector<DiskEntry>& disks, std::uint64_t raw_size) {
  base::require(!disks.empty(), "no disk to install on: /sys/block lists none besides the install medium");
  list_disks(console, disks, raw_size);
  for (;;) {
    const std::string answer = ask(console, "Disk to install on (number or name): ");
    const DiskEntry* disk = find_disk(disks, answer);
    if (!disk) console.out << "No disk '" << answer << "' in the list.\n";
    else if (disk->size < raw_size) console.out << disk->name << " is smaller than the image (" << human_size(raw_size) << ").\n";
    else return "/dev/" + disk->name;
  }
}

std::string choose_hostname(Console& console, const std::string& fallback) {
  for (;;) {
    std::string answer = ask(console, "Host name [" + fallback + "]: ");
    if (answer.empty()) answer = fallback;
    try {
      check_hostname(answer);
      return answer;
    } catch (const base::Error& error) {
      console.out << error.message() << "\n";
    }
  }
}

std::string choose_password(Console& console, const std::string& user) {
  for (;;) {
    const std::string first = ask_secret(console, "Password for " + user + " (empty: none, the account is locked): ");
    if (first.empty()) return first;
    if (ask_secret(console, "Password again: ") == first) return first;
    console.out << "The passwords differ.\n";
  }
}

void choose_user(Console& console, TargetSettings& settings) {
  for (;;) {
    settings.user = ask(console, "User to create (empty: none): ");
    if (settings.user.empty()) return;
    try {
      check_user_name(settings.user);
      break;
    } catch (const base::Error& error) {
      console.out << error.message() << "\n";
    }
  }
  settings.password = choose_password(console, settings.user);
}

void confirm(Console& console, const AttendedChoices& choices, const Manifest& manifest) {
  console.out << "\nSummary:\n  image:     " << manifest.image.path.filename().string() << " ("
              << human_size(manifest.image.raw_size) << ")\n  disk:      " << choices.disk
              << "  (everything on it is erased)\n  host name: " << choices.settings.hostname
              << "\n  user:      " << (choices.settings.user.empty() ? "(none)" : choices.settings.user) << "\n";
  const std::string answer = ask(console, "Type yes to install: ");
  base::require(answer == "yes", "installation cancelled at the console (answer '" + answer + "', not 'yes')");
}

}  // namespace

AttendedChoices ask_choices(Console& console, const std::vector<DiskEntry>& disks, const Manifest& manifest) {
  AttendedChoices choices;
  choices.disk = choose_disk(console, disks, manifest.image.raw_size);
  choices.settings.hostname = choose_hostname(console, manifest.hostname);
  choose_user(console, choices.settings);
  confirm(console, choices, manifest);
  return choices;
}

}  // namespace live
