// Field-level rules of the template format (allowed values, name patterns),
// shared by the parser and the validator so each rule is written once.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace config::rules {

using Allowed = std::span<const std::string_view>;

extern const Allowed kTargetOses;
extern const Allowed kArches;
extern const Allowed kImageTypes;
extern const Allowed kPartitionTableTypes;
extern const Allowed kArtifactTypes;
extern const Allowed kCompressions;
extern const Allowed kBootTypes;
extern const Allowed kBootloaderProviders;
extern const Allowed kHashAlgos;
extern const Allowed kPartitionTypes;
extern const Allowed kFsTypes;

bool is_one_of(std::string_view value, Allowed allowed);
// "one of: a, b, c"
std::string describe(Allowed allowed);

bool is_image_name(std::string_view s);
bool is_image_version(std::string_view s);
bool is_package_name(std::string_view s);
bool is_user_name(std::string_view s);
bool is_uuid(std::string_view s);
// $1$, $5$, $6$, $2a/b/x/y$, $y$/$gy$/$7$ in their usual crypt(3) shapes.
bool is_crypt_hash(std::string_view s);
bool is_url(std::string_view s);
// A key or certificate path whose extension is one of `extensions` ("key|pem").
bool is_secure_boot_file(std::string_view s, std::string_view extensions);

// Closest candidate by edit distance, or empty when none is close enough.
std::string nearest(std::string_view word, Allowed candidates);

}  // namespace config::rules
