// The live environment logs root in on every kernel console, and one
// live-installer runs on each; whichever installs reboots the machine as soon
// as it is done, possibly before the others (still mounting the medium, or
// waiting for the lock) print anything. So the one that installed also writes
// its outcome onto every other active console: a user watching the serial
// line, or a test harness reading it, sees the result whichever console did
// the work.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace live {

// The device names (ttyS0, tty1) of the active kernel consoles listed in
// `sys`/class/tty/console/active; tty0 (the foreground virtual terminal) is
// resolved to the terminal it stands for. Empty when the list is unreadable.
std::vector<std::string> active_consoles(const std::filesystem::path& sys);

// Writes `line` onto `dev`/<name> for each active console but `own_tty` (the
// device name of this instance's terminal, "" for none). Best effort: a
// console that cannot be opened without blocking is left out, since the
// outcome is already on this instance's own terminal.
void tell_other_consoles(const std::string& line, const std::filesystem::path& sys, const std::filesystem::path& dev,
                         const std::string& own_tty);

// The device name of the terminal on `fd` ("ttyS0"), or "" when it is none.
std::string terminal_name(int fd);

}  // namespace live
