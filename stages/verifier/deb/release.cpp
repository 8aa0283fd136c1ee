#include "stages/verifier/deb/release.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <ctime>

#include "base/error.hpp"
#include "stages/verifier/deb/deb822.hpp"
#include "stages/verifier/file_bytes.hpp"

namespace stage::verifier {
namespace {

// A Date this far ahead of the clock is treated as clock skew, not as a
// Release that is "not valid yet".
constexpr std::chrono::seconds kDateSkew{3600};

[[noreturn]] void reject(const ReleaseRequest& request, std::string_view file,
                         std::string_view reason) {
  base::fail(base::ErrorKind::kInvalidInput, "Failed to verify '" + std::string(file) +
                                               "' of repository '" + request.repository +
                                               "': " + std::string(reason));
}

std::string format_time(std::chrono::sys_seconds t) {
  const std::time_t tt = t.time_since_epoch().count();
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

bool is_sha256_hex(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return std::isxdigit(static_cast<unsigned char>(c)) != 0;
         });
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool parse_size(std::string_view s, std::uint64_t& out) {
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

std::vector<ReleaseFile> parse_sha256_list(std::string_view value, std::string_view origin) {
  std::vector<ReleaseFile> files;
  std::size_t pos = 0;
  while (pos <= value.size()) {
    auto nl = value.find('\n', pos);
    if (nl == std::string_view::npos) nl = value.size();
    const std::string_view line = value.substr(pos, nl - pos);
    const std::vector<std::string> w = split_words(line);
    pos = nl + 1;
    if (w.empty()) continue;
    ReleaseFile f;
    const bool ok = w.size() == 3 && is_sha256_hex(w[0]) && parse_size(w[1], f.size);
    base::require(ok, "Failed to parse '" + std::string(origin) + "': bad SHA256 line '" +
                         std::string(line) + "'");
    f.sha256 = lower(w[0]);
    f.path = w[2];
    files.push_back(std::move(f));
  }
  return files;
}

std::optional<std::chrono::sys_seconds> parse_date_field(const Deb822Paragraph& p,
                                                         std::string_view field,
                                                         std::string_view origin) {
  const auto text = p.get(field);
  if (!text) return std::nullopt;
  auto t = parse_rfc2822_date(*text);
  base::require(t.has_value(), "Failed to parse '" + std::string(origin) + "': invalid " +
                                  std::string(field) + " '" + std::string(*text) + "'");
  return t;
}

bool contains(const std::vector<std::string>& list, std::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

// Debian-Security lists "updates/main" for the component a user writes "main".
bool lists_component(const std::vector<std::string>& listed, std::string_view wanted) {
  return std::any_of(listed.begin(), listed.end(), [&](const std::string& c) {
    const auto slash = c.rfind('/');
    return c == wanted || (slash != std::string::npos && c.substr(slash + 1) == wanted);
  });
}

}  // namespace

std::vector<std::string> import_request_keys(GpgHome& home, const ReleaseRequest& request) {
  if (request.keyrings.empty() && request.keys.empty()) {
    reject(request, "Release", "no keyring configured");
  }
  std::vector<std::string> unpinned;  // keys of files without a pin of their own
  for (const auto& keyring : request.keyrings) {
    const auto fingerprints = home.import_keys(keyring);
    unpinned.insert(unpinned.end(), fingerprints.begin(), fingerprints.end());
  }
  std::vector<std::string> pins = request.fingerprint_pins;
  bool per_file_pin = false;
  for (const auto& key : request.keys) {
    const auto fingerprints = home.import_keys_from_memory(key.bytes, key.origin);
    if (key.fingerprint.empty()) {
      unpinned.insert(unpinned.end(), fingerprints.begin(), fingerprints.end());
    } else {
      pins.push_back(key.fingerprint);
      per_file_pin = true;
    }
  }
  if (!per_file_pin) return request.fingerprint_pins;
  // A pin on one file must not lock out the keys of the others.
  if (request.fingerprint_pins.empty()) pins.insert(pins.end(), unpinned.begin(), unpinned.end());
  return pins;
}

namespace {

Release finish(VerifiedText verified, const ReleaseRequest& request, std::string_view file) {
  Release release =
      parse_release(verified.text, request.repository + " " + std::string(file));
  release.signer_fingerprint = std::move(verified.signer_fingerprint);
  check_release(release, request, file);
  return release;
}

}  // namespace

const ReleaseFile* Release::find_file(std::string_view path) const {
  const auto it = std::find_if(sha256.begin(), sha256.end(),
                               [&](const ReleaseFile& f) { return f.path == path; });
  return it == sha256.end() ? nullptr : &*it;
}

Release parse_release(std::string_view text, std::string_view origin) {
  const std::vector<Deb822Paragraph> paragraphs = parse_deb822(text, origin);
  base::require(paragraphs.size() == 1, "Failed to parse '" + std::string(origin) +
                                           "': expected one paragraph, found " +
                                           std::to_string(paragraphs.size()));
  const Deb822Paragraph& p = paragraphs.front();
  Release r;
  r.origin = p.get("Origin").value_or("");
  r.label = p.get("Label").value_or("");
  r.suite = p.get("Suite").value_or("");
  r.codename = p.get("Codename").value_or("");
  base::require(!r.suite.empty() || !r.codename.empty(),
               "Failed to parse '" + std::string(origin) + "': neither Suite nor Codename");
  r.date = parse_date_field(p, "Date", origin);
  r.valid_until = parse_date_field(p, "Valid-Until", origin);
  r.architectures = split_words(p.get("Architectures").value_or(""));
  r.components = split_words(p.get("Components").value_or(""));
  r.acquire_by_hash = p.get("Acquire-By-Hash").value_or("") == "yes";
  const auto sums = p.get("SHA256");
  base::require(sums.has_value(), "Failed to parse '" + std::string(origin) +
                                     "': no SHA256 list (weaker hashes are not accepted)");
  r.sha256 = parse_sha256_list(*sums, origin);
  return r;
}

void check_release(const Release& release, const ReleaseRequest& request,
                   std::string_view file) {
  if (!request.suite.empty() && request.suite != release.suite &&
      request.suite != release.codename) {
    reject(request, file, "it is for suite '" + release.suite + "' (codename '" + release.codename +
                        "'), not the requested '" + request.suite + "'");
  }
  if (!request.architecture.empty() && request.architecture != "all" &&
      !contains(release.architectures, request.architecture)) {
    reject(request, file, "architecture '" + request.architecture +
                        "' is not listed in Architectures");
  }
  for (const auto& component : request.components) {
    if (!lists_component(release.components, component)) {
      reject(request, file, "component '" + component + "' is not listed in Components");
    }
  }
  if (release.valid_until && *release.valid_until < request.now) {
    reject(request, file, "it expired: Valid-Until " + format_time(*release.valid_until) +
                        " is in the past (now " + format_time(request.now) + ")");
  }
  if (release.date && *release.date > request.now + kDateSkew) {
    reject(request, file, "it is not valid yet: Date " + format_time(*release.date) +
                        " is in the future (now " + format_time(request.now) + ")");
  }
}

Release verify_release(std::string_view inrelease, const ReleaseRequest& request,
                       const std::filesystem::path& gpg_parent) {
  GpgHome home(gpg_parent);
  const SignatureCheck check{request.repository, "InRelease", import_request_keys(home, request)};
  return finish(verify_clearsigned(home, inrelease, check), request, "InRelease");
}

Release verify_release_detached(std::string_view release, std::string_view signature,
                                const ReleaseRequest& request,
                                const std::filesystem::path& gpg_parent) {
  GpgHome home(gpg_parent);
  const SignatureCheck check{request.repository, "Release.gpg",
                             import_request_keys(home, request)};
  return finish(verify_detached(home, release, signature, check), request, "Release");
}

Release verify_release_dir(const std::filesystem::path& dist_dir,
                           const ReleaseRequest& request,
                           const std::filesystem::path& gpg_parent) {
  if (auto inrelease = read_file_bytes_if_exists(dist_dir / "InRelease")) {
    return verify_release(*inrelease, request, gpg_parent);
  }
  const std::string release = read_file_bytes(dist_dir / "Release");
  const auto signature = read_file_bytes_if_exists(dist_dir / "Release.gpg");
  if (!signature) {
    reject(request, "Release", "no signature: neither '" + (dist_dir / "InRelease").string() +
                        "' nor '" + (dist_dir / "Release.gpg").string() + "' exists");
  }
  return verify_release_detached(release, *signature, request, gpg_parent);
}

}  // namespace stage::verifier
