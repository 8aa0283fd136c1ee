// Structural and path-safety checks of a .deb before anything unpacks it.
// A .deb is an ar archive: debian-binary, control.tar[.gz|.xz|.zst],
// data.tar[.gz|.xz|.zst], plus optional members named "_*" (signatures).
// Both tars are read with libarchive, streamed, never extracted; an .xz tar
// is decoded by liblzma's threaded decoder, one thread per usable core.
#pragma once

#include <filesystem>
#include <string_view>

namespace stage::verifier {

// Throws base::Error (kInvalidInput) naming the .deb, the tar and the member:
//  - the ar layout above is violated, or a tar cannot be read;
//  - a member or hardlink target is absolute, has a ".." component, or is not
//    valid UTF-8 (control characters are refused too);
//  - a member, or a hardlink target, lies below or replaces a symlink that
//    appeared earlier in the same tar (writing it would follow the link);
//  - a hardlink does not point to an earlier regular file of the same tar;
//  - a member is a device node, FIFO or socket (packages have no business
//    shipping them, and they cannot be created rootless anyway);
//  - the control tar holds anything but regular files at its top level.
void check_deb(const std::filesystem::path& deb);
// The same for an open .deb; `name` stands for it in messages.
void check_deb_fd(int fd, std::string_view name);

// True when `bytes` is well-formed UTF-8 (no overlongs, no surrogates).
bool is_valid_utf8(std::string_view bytes);

}  // namespace stage::verifier
