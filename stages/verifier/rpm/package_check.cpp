#include "stages/verifier/rpm/package_check.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>

#include "base/error.hpp"
#include "stages/verifier/checksums.hpp"
#include "stages/verifier/signature.hpp"

namespace stage::verifier::rpm {
namespace {

std::string where(std::string_view name, std::string_view repo) {
  return "package '" + std::string(name) + "' from repository '" + std::string(repo) + "'";
}

[[noreturn]] void refuse(std::string_view name, std::string_view repo, const std::string& why) {
  base::fail(base::ErrorKind::kInvalidInput, "Failed to check " + where(name, repo) + ": " + why);
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// The detached OpenPGP signature over the main header: RSA (any non-DSA
// key, EdDSA included) or DSA.
std::string header_signature(const Package& package, std::string_view name, std::string_view repo) {
  if (auto sig = package.signature.bytes(kSigTagRsa)) return *sig;
  if (auto sig = package.signature.bytes(kSigTagDsa)) return *sig;
  refuse(name, repo, "unsigned (its signature header holds no OpenPGP header signature)");
}

void verify_header_signature(GpgHome& home, const std::vector<std::string>& pins, const Package& package,
                             std::string_view name, std::string_view repo) {
  const std::string signature = header_signature(package, name, repo);
  const SignatureCheck check{std::string(repo), std::string(name), pins};
  try {
    verify_detached(home, package.main.blob(), signature, check);
  } catch (const base::Error& e) {
    // The reason without signature.cpp's own prefix, which names the same two.
    const std::string prefix = "Failed to verify '" + check.file + "' of repository '" + check.repository + "': ";
    std::string reason = e.message();
    if (reason.starts_with(prefix)) reason.erase(0, prefix.size());
    refuse(name, repo, "header signature: " + reason);
  }
}

void check_header_digest(const Package& package, std::string_view name, std::string_view repo) {
  const auto listed = package.signature.string(kSigTagSha256);
  if (!listed) refuse(name, repo, "its signature header holds no SHA-256 of the main header");
  const std::string actual = sha256_of_bytes(package.main.blob()).sha256;
  if (lower(*listed) != actual) {
    refuse(name, repo, "header digest mismatch: the signature header says SHA256 " + *listed + ", the main header hashes to " + actual);
  }
}

void check_payload_digest(int fd, const Package& package, std::string_view name, std::string_view repo) {
  const auto algo = package.main.int32s(kTagPayloadDigestAlgo);
  if (!algo || algo->size() != 1 || algo->front() != kDigestAlgoSha256) {
    refuse(name, repo, "its header names no SHA-256 payload digest (PAYLOADDIGESTALGO 8)");
  }
  const auto listed = package.main.strings(kTagPayloadDigest);
  if (!listed || listed->size() != 1) refuse(name, repo, "its header holds no payload digest");
  base::check_syscall(::lseek(fd, static_cast<off_t>(package.payload_offset), SEEK_SET), "seek to the payload of",
                      where(name, repo));
  const Digest actual = sha256_of_fd(fd, where(name, repo));
  if (lower(listed->front()) != actual.sha256) {
    refuse(name, repo, "payload digest mismatch: the header says SHA256 " + listed->front() + ", the payload (" +
                           std::to_string(actual.size) + " bytes) hashes to " + actual.sha256);
  }
}

// Every key of a repository goes into its home; a key file with a pin
// lets only that key sign, one without lets any of its keys.
std::vector<std::string> import_keys(GpgHome& home, const RepositoryKeys& keys) {
  std::vector<std::string> pins;
  for (const auto& key : keys.keys) {
    const auto fingerprints = home.import_keys_from_memory(key.bytes, key.origin);
    if (key.fingerprint.empty()) {
      pins.insert(pins.end(), fingerprints.begin(), fingerprints.end());
    } else {
      pins.push_back(key.fingerprint);
    }
  }
  return pins;
}

}  // namespace

PackageChecker::PackageChecker(std::vector<RepositoryKeys> keys) : keys_(std::move(keys)) {}
PackageChecker::~PackageChecker() = default;

const RepositoryKeys& PackageChecker::keys_of(std::string_view name, std::string_view repo) const {
  const auto it = std::find_if(keys_.begin(), keys_.end(), [&](const RepositoryKeys& k) { return k.repo == repo; });
  if (it == keys_.end() || it->keys.empty()) {
    refuse(name, repo, "the request names no keys for repository '" + std::string(repo) + "'");
  }
  return *it;
}

PackageChecker::Keyring PackageChecker::borrow(const RepositoryKeys& keys) const {
  {
    const std::lock_guard lock(mutex_);
    auto& idle = idle_[keys.repo];
    if (!idle.empty()) {
      Keyring keyring = std::move(idle.back());
      idle.pop_back();
      return keyring;
    }
  }
  Keyring keyring{std::make_unique<GpgHome>(), {}};
  keyring.pins = import_keys(*keyring.home, keys);
  return keyring;
}

void PackageChecker::give_back(const std::string& repo, Keyring keyring) const {
  const std::lock_guard lock(mutex_);
  idle_[repo].push_back(std::move(keyring));
}

Package PackageChecker::check(int fd, std::string_view name, std::string_view repo) const {
  const RepositoryKeys& keys = keys_of(name, repo);
  Package package = read_package(fd, where(name, repo));
  Keyring keyring = borrow(keys);
  try {
    verify_header_signature(*keyring.home, keyring.pins, package, name, repo);
  } catch (...) {
    give_back(keys.repo, std::move(keyring));
    throw;
  }
  give_back(keys.repo, std::move(keyring));
  check_header_digest(package, name, repo);
  check_payload_digest(fd, package, name, repo);
  return package;
}

}  // namespace stage::verifier::rpm
