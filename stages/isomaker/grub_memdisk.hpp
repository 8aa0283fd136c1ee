// The memdisk of the Secure Boot GRUB: a tar with the menu as
// boot/grub/grub.cfg, which normal mode reads as its configuration when the
// image's prefix is (memdisk)/boot/grub. The menu then sits inside the
// signed binary: nothing on the medium can change it.
#pragma once

#include <string>

namespace stage::isomaker {

// Writes the tar to `path` (a new file): the directories boot and
// boot/grub and the file boot/grub/grub.cfg holding `grub_cfg`, owned by
// 0:0 with time 0, so the same menu gives the same bytes.
void write_menu_memdisk(const std::string& path, const std::string& grub_cfg);

}  // namespace stage::isomaker
