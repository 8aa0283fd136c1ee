// The text of one Packages index and what keeps its bytes alive. The parsed
// stanzas and the Universe's packages are views into it, so an index is
// neither copied into the heap nor split into per-field strings.
#pragma once

#include <sys/stat.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stage::resolver {

// Either a read-only private mapping of a plain-text file (its bytes are the
// page cache's, nothing is read or copied up front) or a string (decompressed
// text, text read from a pipe, a copy). Move-only. A string's short text
// moves with the object, so once views point into a text it must stay where
// it is: hold it in a shared_ptr (the Universe does).
class IndexText {
 public:
  IndexText() noexcept = default;
  explicit IndexText(std::string text) noexcept : owned_(std::move(text)) {}
  // Maps the first `size` (> 0) bytes of `fd`; nullopt when the kernel
  // refuses (the caller reads the file instead).
  static std::optional<IndexText> map_file(int fd, std::size_t size);

  IndexText(IndexText&& other) noexcept;
  IndexText& operator=(IndexText&& other) noexcept;
  IndexText(const IndexText&) = delete;
  IndexText& operator=(const IndexText&) = delete;
  ~IndexText();

  std::string_view view() const noexcept {
    return mapped() ? std::string_view(static_cast<const char*>(map_), map_size_) : std::string_view(owned_);
  }
  bool mapped() const noexcept { return map_ != nullptr; }

 private:
  void unmap() noexcept;

  std::string owned_;  // the text unless mapped
  void* map_ = nullptr;
  std::size_t map_size_ = 0;
};

// Asks for transparent huge pages behind a large buffer not yet written:
// a large index makes arrays of ~15 MB (stanzas, packages), and each first
// touch of a 4 KiB page is a page fault, microseconds each in a VM. A hint
// only: contents are unaffected, and small buffers are left alone.
void advise_huge_pages(void* data, std::size_t bytes) noexcept;

// v.reserve(count) with the new room advised as above.
template <typename T>
void reserve_huge(std::vector<T>& v, std::size_t count) {
  v.reserve(count);
  advise_huge_pages(v.data() + v.size(), (v.capacity() - v.size()) * sizeof(T));
}

// Every byte `fd` yields until end of file; a regular file is sized by fstat
// first so that it is read in place. `what` names it in errors.
std::string read_all(int fd, std::string_view what);

// The text of the Packages index open at `fd`, `st` its fstat. A non-empty
// regular file is mapped: kept as it is when it is plain text, decompressed
// from the mapping otherwise. Anything else (a pipe, an empty file, a file
// the kernel will not map) is read and decompressed as take_index_text does.
// `origin` names the index in errors. A mapped file must not shrink while
// the text lives (a read past its end faults): the indexes handed to the
// stage are finished, read-only cache files.
IndexText load_index_text(int fd, const struct stat& st, std::string_view origin);

}  // namespace stage::resolver
