#include "stages/resolver/deb/control.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include "base/error.hpp"
#include "base/unique_fd.hpp"

namespace stage::resolver {
namespace {

TEST(ControlParser, SplitsParagraphsAtBlankLines) {
  const auto paras = parse_paragraphs("A: 1\nB: two words\n\n\n \nC: 3\n");
  ASSERT_EQ(paras.size(), 2u);
  ASSERT_EQ(paras[0].size(), 2u);
  EXPECT_EQ(paras[0][1].first, "B");
  EXPECT_EQ(paras[0][1].second, "two words");
  EXPECT_EQ(paras[1][0].second, "3");
}

TEST(ControlParser, UnfoldsContinuationLines) {
  const std::string text =
      "Package: a\n"
      "Depends: b,\n"
      "  c (>= 1),\n"
      "\td\n"
      "Description: short\n"
      " long line one\n"
      " .\n"
      " line three\n";
  for_each_paragraph(text, [](const Paragraph& p) {
    EXPECT_EQ(*p.value("Depends"), "b,\nc (>= 1),\nd");
    EXPECT_EQ(*p.raw("Depends"), "b,\n  c (>= 1),\n\td");  // raw span keeps the folding
    EXPECT_EQ(*p.value("Description"), "short\nlong line one\n\nline three");
    EXPECT_EQ(p.line(), 1u);
  });
}

TEST(ControlParser, FieldNamesAreCaseInsensitiveAndMissingFieldsAreEmpty) {
  for_each_paragraph("package: a\nVERSION: 1\n", [](const Paragraph& p) {
    EXPECT_EQ(*p.raw("Package"), "a");
    EXPECT_EQ(*p.raw("version"), "1");
    EXPECT_FALSE(p.raw("Depends").has_value());
  });
}

TEST(ControlParser, SkipsCommentLinesAndHandlesCrlf) {
  const auto paras = parse_paragraphs("# comment\nA: 1\r\n# another\nB: 2\r\n");
  ASSERT_EQ(paras.size(), 1u);
  EXPECT_EQ(paras[0].size(), 2u);
  EXPECT_EQ(paras[0][0].second, "1");
}

TEST(ControlParser, RejectsMalformedInput) {
  struct Case {
    const char* name;
    const char* text;
    const char* error;
  };
  const Case cases[] = {
      // dpkg refuses a field given twice in one paragraph.
      {"duplicate", "Package: a\nVersion: 1\npackage: b\n", "duplicate field 'package'"},
      // A continuation line must follow a field.
      {"orphan continuation", " folded\nA: 1\n", "continuation line before any field"},
      {"no colon", "Package a\n", "has no name or no ':'"},
      {"empty name", ": value\n", "has no name or no ':'"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    try {
      parse_paragraphs(c.text);
      ADD_FAILURE() << "no error";
    } catch (const base::Error& e) {
      EXPECT_EQ(e.kind(), base::ErrorKind::kInvalidInput);
      EXPECT_NE(e.message().find(c.error), std::string::npos) << e.message();
    }
  }
}

TEST(ControlParser, KeepsHugeFields) {
  std::string depends;
  for (int i = 0; i < 20000; ++i) depends += (i ? ", " : "") + std::string("lib") + std::to_string(i);
  std::string description = "Description: x\n";
  for (int i = 0; i < 5000; ++i) description += " line " + std::to_string(i) + "\n";
  const std::string text = "Package: a\nDepends: " + depends + "\n" + description + "\nPackage: b\n";
  const auto paras = parse_paragraphs(text);
  ASSERT_EQ(paras.size(), 2u);
  EXPECT_EQ(paras[0][1].second, depends);
  EXPECT_TRUE(paras[0][2].second.starts_with("x\nline 0\nline 1\n"));
  EXPECT_TRUE(paras[0][2].second.ends_with("\nline 4999"));
}

const char* kIndex =
    "Package: hello\n"
    "Version: 2.10-3\n"
    "Architecture: amd64\n"
    "Multi-Arch: foreign\n"
    "Depends: libc6 (>= 2.34)\n"
    "Pre-Depends: dpkg (>= 1.15)\n"
    "Provides: greeter (= 1)\n"
    "Conflicts: hello-traditional\n"
    "Breaks: old-hello (<< 2)\n"
    "Priority: optional\n"
    "Filename: pool/main/h/hello/hello_2.10-3_amd64.deb\n"
    "Size: 53384\n"
    "SHA256: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
    "Description: example\n"
    " more text\n"
    "\n"
    "Package: base-files\n"
    "Essential: yes\n"
    "Priority: required\n"
    "Version: 12.4+deb12u10\n"
    "Architecture: all\n"
    "Filename: pool/main/b/base-files/base-files_12.4+deb12u10_all.deb\n"
    "Size: 70000\n";

TEST(PackagesIndex, FillsTheFlatStanza) {
  const auto stanzas = parse_packages_index(kIndex, "test");
  ASSERT_EQ(stanzas.size(), 2u);
  const PackageStanza& h = stanzas[0];
  EXPECT_EQ(h.package, "hello");
  EXPECT_EQ(h.version, "2.10-3");
  EXPECT_EQ(h.multi_arch, "foreign");
  EXPECT_EQ(h.depends, "libc6 (>= 2.34)");
  EXPECT_EQ(h.pre_depends, "dpkg (>= 1.15)");
  EXPECT_EQ(h.provides, "greeter (= 1)");
  EXPECT_EQ(h.conflicts, "hello-traditional");
  EXPECT_EQ(h.breaks, "old-hello (<< 2)");
  EXPECT_EQ(h.size, 53384u);
  EXPECT_EQ(h.sha256.size(), 64u);
  EXPECT_FALSE(h.essential);
  EXPECT_TRUE(stanzas[1].essential);
  EXPECT_EQ(stanzas[1].priority, "required");
}

TEST(PackagesIndex, RejectsIncompleteStanzas) {
  struct Case {
    const char* name;
    const char* text;
    const char* error;
  };
  const Case cases[] = {
      {"no package", "Version: 1\n", "no Package field"},
      {"no version", "Package: a\nArchitecture: all\nFilename: f\n", "package 'a' has no Version"},
      {"no arch", "Package: a\nVersion: 1\nFilename: f\n", "has no Architecture"},
      {"no filename", "Package: a\nVersion: 1\nArchitecture: all\n", "has no Filename"},
      {"bad version", "Package: a\nVersion: x1\nArchitecture: all\nFilename: f\n", "invalid version 'x1'"},
      {"bad size", "Package: a\nVersion: 1\nArchitecture: all\nFilename: f\nSize: 12k\n", "invalid Size '12k'"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    try {
      parse_packages_index(c.text, "main/binary-amd64/Packages");
      ADD_FAILURE() << "no error";
    } catch (const base::Error& e) {
      EXPECT_NE(e.message().find(c.error), std::string::npos) << e.message();
      EXPECT_NE(e.message().find("main/binary-amd64/Packages' at line 1"), std::string::npos) << e.message();
    }
  }
}

// Compresses with libarchive's raw writer so the test needs no external tool.
std::string compress(std::string_view data, int filter) {
  std::unique_ptr<archive, decltype(&archive_write_free)> a(archive_write_new(), archive_write_free);
  archive_write_add_filter(a.get(), filter);
  archive_write_set_format_raw(a.get());
  std::string out(data.size() + 4096, '\0');
  size_t used = 0;
  EXPECT_EQ(archive_write_open_memory(a.get(), out.data(), out.size(), &used), ARCHIVE_OK);
  std::unique_ptr<archive_entry, decltype(&archive_entry_free)> e(archive_entry_new(), archive_entry_free);
  archive_entry_set_filetype(e.get(), AE_IFREG);
  archive_entry_set_pathname(e.get(), "Packages");
  EXPECT_EQ(archive_write_header(a.get(), e.get()), ARCHIVE_OK);
  EXPECT_EQ(archive_write_data(a.get(), data.data(), data.size()), static_cast<la_ssize_t>(data.size()));
  archive_write_close(a.get());
  out.resize(used);
  return out;
}

TEST(PackagesIndex, ReadsPlainGzipAndXzFiles) {
  const auto dir = std::filesystem::temp_directory_path() / ("resolver-control-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const struct {
    const char* file;
    int filter;
  } files[] = {{"Packages", ARCHIVE_FILTER_NONE}, {"Packages.gz", ARCHIVE_FILTER_GZIP}, {"Packages.xz", ARCHIVE_FILTER_XZ}};
  for (const auto& f : files) {
    SCOPED_TRACE(f.file);
    const std::string bytes = f.filter == ARCHIVE_FILTER_NONE ? std::string(kIndex) : compress(kIndex, f.filter);
    if (f.filter != ARCHIVE_FILTER_NONE) {
      EXPECT_NE(bytes, std::string(kIndex));
    }
    std::ofstream(dir / f.file, std::ios::binary) << bytes;
    const IndexText text = read_index_file(dir / f.file);
    EXPECT_EQ(text.view(), kIndex);
    EXPECT_EQ(text.mapped(), f.filter == ARCHIVE_FILTER_NONE);  // only plain text is kept mapped
  }
  std::filesystem::remove_all(dir);
}

// mmap refuses zero bytes and a pipe has no size: both are read instead.
TEST(PackagesIndex, ReadsAnEmptyFileAndAPipe) {
  const auto dir = std::filesystem::temp_directory_path() / ("resolver-empty-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "Packages").close();
  const IndexText empty = read_index_file(dir / "Packages");
  EXPECT_TRUE(empty.view().empty());
  EXPECT_FALSE(empty.mapped());
  std::filesystem::remove_all(dir);

  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  base::UniqueFd reader(fds[0]);
  base::UniqueFd writer(fds[1]);
  const std::string_view text = kIndex;
  ASSERT_EQ(::write(writer.get(), text.data(), text.size()), static_cast<ssize_t>(text.size()));
  writer.reset();
  struct stat st {};
  ASSERT_EQ(::fstat(reader.get(), &st), 0);
  const IndexText piped = load_index_text(reader.get(), st, "a pipe");
  EXPECT_EQ(piped.view(), kIndex);
  EXPECT_FALSE(piped.mapped());
}

// Views into a text stay valid when the text object moves, as long as it
// holds a mapping (a string's short text would move with it).
TEST(PackagesIndex, MovesAMappingWithItsBytesInPlace) {
  const auto path = std::filesystem::temp_directory_path() / ("resolver-map-" + std::to_string(getpid()));
  std::ofstream(path, std::ios::binary) << kIndex;
  IndexText text = read_index_file(path);
  std::filesystem::remove(path);  // the mapping outlives the name
  ASSERT_TRUE(text.mapped());
  const char* bytes = text.view().data();
  IndexText moved = std::move(text);
  EXPECT_EQ(moved.view().data(), bytes);
  EXPECT_EQ(moved.view(), kIndex);
  EXPECT_TRUE(text.view().empty());  // a moved-from text is empty
  text = std::move(moved);
  EXPECT_EQ(text.view().data(), bytes);
}

TEST(PackagesIndex, ReportsMissingAndCorruptFiles) {
  EXPECT_THROW(read_index_file("/nonexistent/Packages.gz"), base::Error);
  const std::string gz = compress(kIndex, ARCHIVE_FILTER_GZIP);
  const std::string truncated = gz.substr(0, gz.size() / 2);
  EXPECT_THROW(decompress_index(truncated, "truncated"), base::Error);
  EXPECT_EQ(decompress_index("", "empty"), "");
}

// A trusted repository's index skips the verifier, so the resolver bounds the
// text itself: 1 MiB of one byte (a few hundred compressed bytes) stops at a
// lowered limit, with an error naming the index and the bound passed.
TEST(PackagesIndex, StopsADecompressionBombAtTheLimit) {
  const std::string text(1 << 20, 'A');
  const verifier::TextLimit limit{200000, "the test's 200000 bytes"};
  for (const int filter : {ARCHIVE_FILTER_XZ, ARCHIVE_FILTER_GZIP}) {
    SCOPED_TRACE(filter);
    const std::string bomb = compress(text, filter);
    ASSERT_LT(bomb.size(), 8192u);
    try {
      decompress_index(bomb, "Packages index of repository 'trusted'", limit);
      ADD_FAILURE() << "no error";
    } catch (const base::Error& e) {
      EXPECT_EQ(e.kind(), base::ErrorKind::kInvalidInput);
      EXPECT_NE(e.message().find("Failed to decompress Packages index of repository 'trusted': "), std::string::npos)
          << e.message();
      EXPECT_NE(e.message().find("passes the test's 200000 bytes"), std::string::npos) << e.message();
    }
    EXPECT_EQ(decompress_index(bomb, "within", verifier::TextLimit{text.size(), "its size"}), text);
  }
}

// Every format decompress_index reads is recognised by its magic, so a
// plain text is handed on without a copy and a compressed one never is.
TEST(PackagesIndex, RecognisesEveryCompressedFormatAndPassesPlainTextThrough) {
  const struct {
    const char* label;
    int filter;
  } filters[] = {{"gzip", ARCHIVE_FILTER_GZIP}, {"xz", ARCHIVE_FILTER_XZ}, {"bzip2", ARCHIVE_FILTER_BZIP2},
                 {"zstd", ARCHIVE_FILTER_ZSTD}, {"lzma", ARCHIVE_FILTER_LZMA}};
  for (const auto& f : filters) {
    SCOPED_TRACE(f.label);
    const std::string bytes = compress(kIndex, f.filter);
    EXPECT_TRUE(is_compressed_index(bytes));
    EXPECT_EQ(take_index_text(bytes, f.label), kIndex);
  }
  EXPECT_FALSE(is_compressed_index(kIndex));
  EXPECT_FALSE(is_compressed_index("BZh: not bzip2\n"));
  std::string plain(kIndex);
  const char* data = plain.data();
  const std::string taken = take_index_text(std::move(plain), "plain");
  EXPECT_EQ(taken, kIndex);
  EXPECT_EQ(taken.data(), data);  // moved, not copied
}

}  // namespace
}  // namespace stage::resolver
