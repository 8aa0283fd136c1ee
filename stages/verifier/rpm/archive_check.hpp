// Safety checks of an RPM's file list before rpm unpacks it, read from the
// main header: the cpio payload says "0 0" where the header says root:svc,
// and %dev and %ghost entries live only in the header.
#pragma once

#include <string_view>

#include "stages/verifier/rpm/header.hpp"

namespace stage::verifier::rpm {

// Throws base::Error (kInvalidInput) naming the package (`what`, e.g.
// "package 'x' from repository 'r'") and the file when:
//  - the file list is inconsistent (BASENAMES, DIRINDEXES, DIRNAMES and the
//    per-file FILEMODES, FILEFLAGS, FILEUSERNAME, FILEGROUPNAME counts);
//  - a path is empty, not absolute, or has a ".." component;
//  - a file is a character or block device (packages have no business
//    shipping them, and they cannot be created rootless anyway).
void check_file_list(const Header& main, std::string_view what);

}  // namespace stage::verifier::rpm
