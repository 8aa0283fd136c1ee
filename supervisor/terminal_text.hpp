// Text from a stage (log lines, progress items, error messages, file names)
// is untrusted: written to a terminal as it is, an escape sequence could
// move the cursor, rewrite earlier lines, set the window title or, on some
// terminals, answer back into the input. Everything the supervisor prints
// passes through printable() first.
#pragma once

#include <string>
#include <string_view>

namespace supervisor {

// `text` with every control character but newline and tab (C0, DEL and the
// C1 range U+0080..U+009F) and every byte that is not valid UTF-8 written as
// a visible escape ("\x1b"). Valid UTF-8 and plain text pass unchanged.
std::string printable(std::string_view text);

}  // namespace supervisor
