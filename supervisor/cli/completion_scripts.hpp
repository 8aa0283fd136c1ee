// Completion scripts for bash, zsh, fish and PowerShell, generated from the
// verb table (completion_scripts.cpp).
#pragma once

#include <array>
#include <span>
#include <string>
#include <string_view>

#include "supervisor/cli/cli.hpp"

namespace supervisor::cli {

inline constexpr std::array<std::string_view, 4> kCompletionShells = {"bash", "zsh", "fish", "powershell"};

// The script for `shell`; another shell name is a usage error naming it.
std::string completion_script(std::string_view shell, std::span<const Verb> verbs);

}  // namespace supervisor::cli
