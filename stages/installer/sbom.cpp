#include "stages/installer/sbom.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "build_info.hpp"
#include "base/error.hpp"
#include "stages/installer/os_config.hpp"

namespace stage::installer {
namespace {

using Json = nlohmann::ordered_json;

constexpr const char* kNoAssertion = "NOASSERTION";

// Debian's short licence names (DEP-5 and common use) and their SPDX identifiers.
const std::map<std::string, std::string>& spdx_names() {
  static const std::map<std::string, std::string> names = {
      {"gpl-1", "GPL-1.0-only"},       {"gpl-1+", "GPL-1.0-or-later"},   {"gpl-2", "GPL-2.0-only"},
      {"gpl-2+", "GPL-2.0-or-later"},  {"gpl-3", "GPL-3.0-only"},        {"gpl-3+", "GPL-3.0-or-later"},
      {"lgpl-2", "LGPL-2.0-only"},     {"lgpl-2+", "LGPL-2.0-or-later"}, {"lgpl-2.1", "LGPL-2.1-only"},
      {"lgpl-2.1+", "LGPL-2.1-or-later"}, {"lgpl-3", "LGPL-3.0-only"},   {"lgpl-3+", "LGPL-3.0-or-later"},
      {"agpl-3", "AGPL-3.0-only"},     {"agpl-3+", "AGPL-3.0-or-later"}, {"gfdl-1.2", "GFDL-1.2-only"},
      {"gfdl-1.2+", "GFDL-1.2-or-later"}, {"gfdl-1.3", "GFDL-1.3-only"}, {"gfdl-1.3+", "GFDL-1.3-or-later"},
      {"apache-2", "Apache-2.0"},      {"apache-2.0", "Apache-2.0"},     {"artistic", "Artistic-1.0-Perl"},
      {"artistic-2.0", "Artistic-2.0"}, {"bsd-2-clause", "BSD-2-Clause"}, {"bsd-3-clause", "BSD-3-Clause"},
      {"bsd-4-clause", "BSD-4-Clause"}, {"expat", "MIT"},                {"mit", "MIT"},
      {"isc", "ISC"},                  {"zlib", "Zlib"},                 {"mpl-1.1", "MPL-1.1"},
      {"mpl-2.0", "MPL-2.0"},          {"cc0-1.0", "CC0-1.0"},           {"cc0", "CC0-1.0"},
      {"x11", "X11"},                  {"openssl", "OpenSSL"},           {"bsl-1.0", "BSL-1.0"},
      {"psf-2", "PSF-2.0"},            {"python-2.0", "Python-2.0"},     {"unlicense", "Unlicense"},
      {"curl", "curl"},                {"ftl", "FTL"},                   {"ofl-1.1", "OFL-1.1"},
  };
  return names;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  return std::string(text);
}

// SPDX idstrings allow letters, digits, '.' and '-'.
std::string id_string(std::string_view text) {
  std::string out;
  for (char c : text) out += std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ? c : '-';
  return out.empty() ? std::string("unnamed") : out;
}

std::string license_ref(std::string_view name, std::vector<std::string>& refs) {
  const std::string ref = "LicenseRef-" + id_string(name);
  if (std::find(refs.begin(), refs.end(), ref) == refs.end()) refs.push_back(ref);
  return ref;
}

// "gpl-2.0+" is written "gpl-2+" in DEP-5; the table uses the latter.
std::string gnu_short_name(const std::string& name) {
  const bool gnu = name.starts_with("gpl-") || name.starts_with("lgpl-") || name.starts_with("agpl-");
  const std::size_t dot = name.find(".0");
  const bool plain_zero = dot != std::string::npos && (dot + 2 == name.size() || name[dot + 2] == '+');
  return gnu && plain_zero ? name.substr(0, dot) + name.substr(dot + 2) : name;
}

// One DEP-5 License value: names joined by "or"/"and"; anything with an
// exception clause becomes one LicenseRef.
std::string one_expression(const std::string& value, std::vector<std::string>& refs) {
  std::istringstream words(value);
  std::vector<std::string> tokens;
  for (std::string w; words >> w;) {
    while (w.ends_with(',')) w.pop_back();
    if (!w.empty()) tokens.push_back(w);
  }
  if (std::any_of(tokens.begin(), tokens.end(), [](const std::string& t) { return lower(t) == "with"; })) {
    return license_ref(value, refs);
  }
  std::string out;
  bool expect_name = true;
  for (const std::string& t : tokens) {
    const std::string l = lower(t);
    if (!expect_name && (l == "or" || l == "and")) {
      out += l == "or" ? " OR " : " AND ";
      expect_name = true;
      continue;
    }
    if (!expect_name) return license_ref(value, refs);  // two names in a row: not an expression
    const auto known = spdx_names().find(gnu_short_name(l));
    out += known != spdx_names().end() ? known->second : license_ref(t, refs);
    expect_name = false;
  }
  return expect_name ? license_ref(value, refs) : out;
}

std::string supplier(const std::string& maintainer) {
  if (maintainer.empty()) return kNoAssertion;
  std::string text = maintainer;
  std::replace(text.begin(), text.end(), '<', '(');
  std::replace(text.begin(), text.end(), '>', ')');
  return "Organization: " + text;
}

std::string sha256_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  base::check(EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr) == 1,
             "Failed to hash the package list");
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < size; ++i) out += {kHex[digest[i] >> 4], kHex[digest[i] & 15]};
  return out;
}

// The purl namespace: the tree's os-release ID ("debian", "azurelinux"), or
// without one the distribution the request names, or for Debian "debian".
std::string purl_vendor(const std::filesystem::path& root, std::string_view type, std::string_view distribution) {
  std::optional<std::string> text = read_file_in_root(root, "etc/os-release");
  if (!text) text = read_file_in_root(root, "usr/lib/os-release");
  std::istringstream lines(text.value_or(""));
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with("ID=")) continue;
    std::string id = line.substr(3);
    std::erase_if(id, [](char c) { return c == '"' || c == '\''; });
    if (!id.empty()) return lower(id);
  }
  if (type == "rpm" && !distribution.empty()) return lower(distribution);
  return "debian";
}

struct RequestedFile {
  std::string url;
  std::string sha256;
};

// The package URL types whose shape package_purl() writes.
void require_purl_type(std::string_view type) {
  base::require(type == "deb" || type == "rpm", "Failed to decode installer request: sbom.purlType '" +
                                                   std::string(type) + "' must be deb or rpm (provider config.yml)");
}

// What every package URL of the image shares: its type, namespace and distro.
struct PurlBase {
  std::string type;
  std::string vendor;
  std::string distro;
};

Json package_element(const TreePackage& p, const std::string& spdx_id, const RequestedFile* file,
                     const std::string& license, const PurlBase& purl) {
  Json element = {{"SPDXID", spdx_id},
                  {"name", p.name},
                  {"versionInfo", p.version},
                  {"supplier", supplier(p.maintainer)},
                  {"downloadLocation", file && !file->url.empty() ? file->url : kNoAssertion},
                  {"filesAnalyzed", false}};
  if (file && file->sha256.size() == 64) {
    element["checksums"] = Json::array({{{"algorithm", "SHA256"}, {"checksumValue", lower(file->sha256)}}});
  }
  element["licenseConcluded"] = kNoAssertion;
  element["licenseDeclared"] = license;
  element["copyrightText"] = kNoAssertion;
  element["externalRefs"] = Json::array({{{"referenceCategory", "PACKAGE-MANAGER"},
                                          {"referenceType", "purl"},
                                          {"referenceLocator", package_purl(purl.type, purl.vendor, p, purl.distro)}}});
  return element;
}

// The package elements and their relationships to the image element.
class PackageDescriber {
 public:
  PackageDescriber(const std::filesystem::path& root, ipc::proto::InstallerRequest::Reader request, PurlBase purl)
      : root_(root), purl_(std::move(purl)) {
    for (auto p : request.getPackages()) {
      const RequestedFile file{p.getDownloadUrl(), p.getSha256()};
      files_.emplace(std::string(p.getName().cStr()) + ":" + p.getArchitecture().cStr(), file);
      files_.emplace(p.getName(), file);
    }
  }

  void add(const TreePackage& p) {
    const std::string base = "SPDXRef-Package-" + id_string(p.name) + "-" + id_string(p.architecture);
    std::string id = base;  // "a+b" and "a-b" sanitise alike
    for (int n = 2; !ids_.insert(id).second; ++n) id = base + "-" + std::to_string(n);
    const std::optional<std::string> copyright = read_file_in_root(root_, "usr/share/doc/" + p.name + "/copyright");
    const std::string license = spdx_license_expression(copyright_licenses(copyright.value_or("")), refs);
    auto file = files_.find(p.name + ":" + p.architecture);
    if (file == files_.end()) file = files_.find(p.name);
    elements.push_back(package_element(p, id, file == files_.end() ? nullptr : &file->second, license, purl_));
    relationships.push_back({{"spdxElementId", "SPDXRef-Image"}, {"relationshipType", "CONTAINS"},
                             {"relatedSpdxElement", id}});
    package_list += p.name + " " + p.version + " " + p.architecture + "\n";
  }

  Json elements = Json::array();
  Json relationships = Json::array();
  std::vector<std::string> refs;
  std::string package_list;

 private:
  const std::filesystem::path& root_;
  PurlBase purl_;
  std::map<std::string, RequestedFile> files_;  // by "name:arch" and by name
  std::set<std::string> ids_;
};

Json extracted_licenses(const std::vector<std::string>& refs) {
  Json infos = Json::array();
  for (const std::string& ref : refs) {
    const std::string name = ref.substr(std::string_view("LicenseRef-").size());
    infos.push_back({{"licenseId", ref},
                     {"extractedText", "The licence named '" + name +
                                           "' by the Debian copyright files of the packages that declare it; "
                                           "its text is in /usr/share/doc/<package>/copyright of the image."},
                     {"name", name}});
  }
  return infos;
}

}  // namespace

std::vector<std::string> copyright_licenses(std::string_view copyright) {
  std::istringstream lines{std::string(copyright)};
  std::string first;
  while (std::getline(lines, first) && trim(first).empty()) {
  }
  const std::string format = lower(first);
  if (!format.starts_with("format:") ||
      (format.find("copyright-format") == std::string::npos && format.find("dep5") == std::string::npos)) {
    return {};
  }
  std::vector<std::string> names;
  for (std::string line; std::getline(lines, line);) {
    if (!lower(line).starts_with("license:")) continue;
    const std::string name = trim(line.substr(8));
    if (!name.empty() && std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  return names;
}

std::string spdx_license_expression(const std::vector<std::string>& debian_names, std::vector<std::string>& refs) {
  std::vector<std::string> parts;
  for (const std::string& name : debian_names) {
    const std::string expr = one_expression(name, refs);
    if (std::find(parts.begin(), parts.end(), expr) == parts.end()) parts.push_back(expr);
  }
  if (parts.empty()) return kNoAssertion;
  if (parts.size() == 1) return parts[0];
  std::string out;
  for (const std::string& p : parts) {
    const bool compound = p.find(' ') != std::string::npos;
    out += (out.empty() ? "" : " AND ") + (compound ? "(" + p + ")" : p);
  }
  return out;
}

std::string spdx_timestamp(std::int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  base::check(::gmtime_r(&t, &tm) != nullptr, "Failed to convert the SBOM creation time");
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

std::string package_purl(std::string_view type, std::string_view vendor, const TreePackage& package,
                         std::string_view distro) {
  require_purl_type(type);
  auto encode = [](std::string_view text) {
    static const char* kHex = "0123456789ABCDEF";
    std::string out;
    for (char c : text) {
      const unsigned char u = static_cast<unsigned char>(c);
      if (std::isalnum(u) || c == '.' || c == '-' || c == '_' || c == '~') {
        out += c;
      } else {
        out += {'%', kHex[u >> 4], kHex[u & 15]};
      }
    }
    return out;
  };
  // rpm's purls carry the epoch as a qualifier (purl-spec), deb's keep it in
  // the version.
  std::string version = package.version, epoch;
  if (const auto colon = version.find(':'); type == "rpm" && colon != std::string::npos) {
    epoch = version.substr(0, colon);
    version.erase(0, colon + 1);
  }
  std::string purl = "pkg:" + std::string(type) + "/" + encode(vendor) + "/" + encode(package.name) + "@" +
                     encode(version) + "?arch=" + encode(package.architecture);
  if (!epoch.empty()) purl += "&epoch=" + encode(epoch);
  if (!distro.empty()) purl += "&distro=" + encode(distro);
  return purl;
}

std::string make_spdx_sbom(const std::filesystem::path& root, ipc::proto::InstallerRequest::Reader request,
                           std::vector<TreePackage> packages, std::int64_t source_date_epoch) {
  base::ErrorContext ctx{"making the SBOM of", root.string()};
  std::sort(packages.begin(), packages.end(), [](const TreePackage& a, const TreePackage& b) {
    return std::tie(a.name, a.architecture) < std::tie(b.name, b.architecture);
  });
  const auto sbom = request.getSbom();
  const std::string image_name = sbom.getImageName().size() > 0 ? sbom.getImageName().cStr() : "image";
  const std::string image_version = sbom.getImageVersion();
  const std::string title = image_version.empty() ? image_name : image_name + "-" + image_version;

  const PurlBase purl{sbom.getPurlType(), purl_vendor(root, sbom.getPurlType().cStr(), sbom.getDistribution().cStr()),
                      sbom.getDistribution()};
  require_purl_type(purl.type);
  PackageDescriber describer(root, request, purl);
  describer.elements.push_back({{"SPDXID", "SPDXRef-Image"},
                                {"name", image_name},
                                {"versionInfo", image_version.empty() ? kNoAssertion : image_version},
                                {"downloadLocation", kNoAssertion},
                                {"filesAnalyzed", false},
                                {"primaryPackagePurpose", "OPERATING_SYSTEM"}});
  describer.relationships.push_back(
      {{"spdxElementId", "SPDXRef-DOCUMENT"}, {"relationshipType", "DESCRIBES"}, {"relatedSpdxElement", "SPDXRef-Image"}});
  for (const TreePackage& p : packages) describer.add(p);

  Json doc = {{"spdxVersion", "SPDX-2.3"},
              {"dataLicense", "CC0-1.0"},
              {"SPDXID", "SPDXRef-DOCUMENT"},
              {"name", title},
              // Unique per package set yet reproducible: no random part.
              {"documentNamespace",
               "https://spdx.org/spdxdocs/" + id_string(title) + "-" + sha256_hex(describer.package_list)},
              {"creationInfo",
               {{"created", spdx_timestamp(source_date_epoch >= 0 ? source_date_epoch : std::time(nullptr))},
                {"creators", Json::array({std::string("Tool: os-image-composer-") + OIC_VERSION})}}},
              {"packages", describer.elements},
              {"relationships", describer.relationships}};
  if (!describer.refs.empty()) doc["hasExtractedLicensingInfos"] = extracted_licenses(describer.refs);
  return doc.dump(2) + "\n";
}

}  // namespace stage::installer
