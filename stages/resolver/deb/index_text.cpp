#include "stages/resolver/deb/index_text.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <utility>

#include "base/error.hpp"
#include "stages/resolver/deb/control.hpp"

namespace stage::resolver {

std::optional<IndexText> IndexText::map_file(int fd, std::size_t size) {
  // Populated in one call: the parse reads every byte, and one fault per
  // few pages costs more than mapping them all up front.
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
  if (map == MAP_FAILED) return std::nullopt;
  IndexText text;
  text.map_ = map;
  text.map_size_ = size;
  return text;
}

IndexText::IndexText(IndexText&& other) noexcept
    : owned_(std::move(other.owned_)),
      map_(std::exchange(other.map_, nullptr)),
      map_size_(std::exchange(other.map_size_, 0)) {}

IndexText& IndexText::operator=(IndexText&& other) noexcept {
  if (this == &other) return *this;
  unmap();
  owned_ = std::move(other.owned_);
  map_ = std::exchange(other.map_, nullptr);
  map_size_ = std::exchange(other.map_size_, 0);
  return *this;
}

IndexText::~IndexText() { unmap(); }

void IndexText::unmap() noexcept {
  if (map_ != nullptr) ::munmap(map_, map_size_);
  map_ = nullptr;
  map_size_ = 0;
}

void advise_huge_pages(void* data, std::size_t bytes) noexcept {
  constexpr std::uintptr_t kHugePage = std::uintptr_t{2} << 20;
  if (bytes < kHugePage) return;
  const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<std::uintptr_t>(data);
  // madvise takes whole pages: all that hold the buffer. The advice changes
  // no contents, so a neighbour's bytes sharing an end page are unaffected;
  // leaving the end pages out would keep the first huge page from forming.
  const std::uintptr_t first = begin & ~(page - 1);
  const std::uintptr_t end = (begin + bytes + page - 1) & ~(page - 1);
  ::madvise(reinterpret_cast<void*>(first), end - first, MADV_HUGEPAGE);
}

std::string read_all(int fd, std::string_view what) {
  struct stat st {};
  base::check_syscall(::fstat(fd, &st), "stat", what);
  std::string data(S_ISREG(st.st_mode) ? static_cast<std::size_t>(st.st_size) : 0, '\0');
  std::size_t done = 0;
  while (true) {
    if (done == data.size()) data.resize(done + (1 << 16));
    const ssize_t n = ::read(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    base::check_syscall(n, "read", what);
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  data.resize(done);
  return data;
}

IndexText load_index_text(int fd, const struct stat& st, std::string_view origin) {
  // mmap refuses zero bytes; an empty (or unmappable) file is read instead.
  if (S_ISREG(st.st_mode) && st.st_size > 0) {
    if (std::optional<IndexText> mapped = IndexText::map_file(fd, static_cast<std::size_t>(st.st_size))) {
      if (!is_compressed_index(mapped->view())) return std::move(*mapped);
      return IndexText(decompress_index(mapped->view(), origin));
    }
  }
  return IndexText(take_index_text(read_all(fd, origin), origin));
}

}  // namespace stage::resolver
