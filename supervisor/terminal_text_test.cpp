#include "supervisor/terminal_text.hpp"

#include <gtest/gtest.h>

namespace supervisor {
namespace {

TEST(Printable, PlainTextNewlinesTabsAndUtf8PassUnchanged) {
  EXPECT_EQ(printable("dpkg batch 1/3: 12 package(s)\n\tok"), "dpkg batch 1/3: 12 package(s)\n\tok");
  EXPECT_EQ(printable("Größe — 大小 🙂"), "Größe — 大小 🙂");
}

TEST(Printable, EscapeSequencesAndOtherControlsBecomeVisible) {
  // Clear screen, move the cursor home, set the window title, carriage return.
  EXPECT_EQ(printable("\x1b[2J\x1b[H"), "\\x1b[2J\\x1b[H");
  EXPECT_EQ(printable("a\x1b]0;owned\x07" "b"), "a\\x1b]0;owned\\x07b");
  EXPECT_EQ(printable("done\rFAILED"), "done\\x0dFAILED");
  EXPECT_EQ(printable(std::string_view("\0\x7f", 2)), "\\x00\\x7f");
}

TEST(Printable, C1ControlsAndInvalidUtf8AreEscaped) {
  // U+009B (CSI as one code point) is read as ESC [ by some terminals.
  EXPECT_EQ(printable("\xc2\x9b" "31m"), "\\xc2\\x9b31m");
  EXPECT_EQ(printable("\xff\xfe"), "\\xff\\xfe");
  EXPECT_EQ(printable("\xc0\xaf"), "\\xc0\\xaf");            // overlong '/'
  EXPECT_EQ(printable("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // a surrogate
  EXPECT_EQ(printable("\xe2\x82"), "\\xe2\\x82");            // truncated
}

}  // namespace
}  // namespace supervisor
