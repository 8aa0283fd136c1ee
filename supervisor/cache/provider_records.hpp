// Which package objects each provider's builds used. The package store is
// content-addressed and shared, so this record is what lets
// `cache clean --provider-id` remove one provider's packages:
//
//   <cache_dir>/used-by/<provider-id>   sha256 of every object used, one per line, sorted
//   <cache_dir>/used-by/.lock           flock: exclusive while a record is updated
//
// Objects fetched before records existed are in no record; only a clean of
// the whole store removes them.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace supervisor {

// os-dist-arch: letters, digits, '-', '_', '.', starting with a letter or digit.
bool is_provider_id(std::string_view id);

std::filesystem::path provider_record_path(const std::filesystem::path& cache_dir, std::string_view provider_id);

// Adds `sha256s` to the provider's record (a union with what it holds).
// Throws base::Error(kInvalidInput) for an invalid provider id or hash.
void record_provider_use(const std::filesystem::path& cache_dir, std::string_view provider_id,
                         const std::vector<std::string>& sha256s);

// The provider's record, sorted; empty when it has none.
std::vector<std::string> read_provider_use(const std::filesystem::path& cache_dir, std::string_view provider_id);

// The objects in the provider's record that no other provider's record
// holds: what removing this provider's packages may take. Sorted.
std::vector<std::string> objects_only_of(const std::filesystem::path& cache_dir, std::string_view provider_id);

}  // namespace supervisor
