#include "stages/resolver/resolver_stage.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>

#include "base/error.hpp"
#include "ipc/shared.hpp"
#include "stages/resolver/deb/deb_version.hpp"
#include "stages/resolver/deb/index_text.hpp"
#include "stages/resolver/rpm/request.hpp"
#include "stages/resolver/version_constraint.hpp"
#include "stages/resolver/solver.hpp"

namespace stage::resolver {
namespace {

namespace proto = ipc::proto;

Reason to_reason(proto::PackageSource source) {
  switch (source) {
    case proto::PackageSource::ESSENTIAL: return Reason::kEssential;
    case proto::PackageSource::KERNEL: return Reason::kKernel;
    case proto::PackageSource::BOOTLOADER: return Reason::kBootloader;
    case proto::PackageSource::SYSTEM: return Reason::kSystem;
    case proto::PackageSource::DEPENDENCY: return Reason::kDependency;
  }
  base::fail(base::ErrorKind::kInvalidInput, "Failed to decode resolver request: unknown package source");
}

proto::PackageSource to_source(Reason reason) {
  switch (reason) {
    case Reason::kEssential: return proto::PackageSource::ESSENTIAL;
    case Reason::kKernel: return proto::PackageSource::KERNEL;
    case Reason::kBootloader: return proto::PackageSource::BOOTLOADER;
    case Reason::kSystem: return proto::PackageSource::SYSTEM;
    case Reason::kDependency: return proto::PackageSource::DEPENDENCY;
  }
  return proto::PackageSource::DEPENDENCY;
}

BaseSet to_base(proto::ResolverRequest::EssentialMode mode) {
  switch (mode) {
    case proto::ResolverRequest::EssentialMode::REQUIRED: return BaseSet::kRequired;
    case proto::ResolverRequest::EssentialMode::ESSENTIAL_ONLY: return BaseSet::kEssential;
    case proto::ResolverRequest::EssentialMode::NONE: return BaseSet::kNone;
  }
  base::fail(base::ErrorKind::kInvalidInput, "Failed to decode resolver request: unknown essential mode");
}

// Several Index entries of one repository (components, "all") must agree.
void merge_repository(std::vector<IndexInput>& known, const IndexInput& added) {
  for (const IndexInput& k : known) {
    if (k.repository.name != added.repository.name) continue;
    const bool same = k.repository.base_url == added.repository.base_url &&
                      k.repository.priority == added.repository.priority &&
                      k.repository.allow_packages == added.repository.allow_packages;
    base::require(same, "Failed to decode resolver request: indexes of repository '" + added.repository.name +
                           "' disagree on baseUrl, priority or allowPackages");
  }
}

Repository decode_repository(proto::ResolverRequest::Index::Reader index) {
  Repository repository;
  repository.name = index.getRepoName();
  repository.base_url = index.getBaseUrl();
  repository.priority = index.getPriority();
  for (auto pattern : index.getAllowPackages()) repository.allow_packages.emplace_back(pattern);
  base::require(!repository.name.empty(), "Failed to decode resolver request: an index has no repoName");
  return repository;
}

void decode_deb_indexes(proto::ResolverRequest::Reader request, ipc::StageContext& context, StageInput& in) {
  for (auto index : request.getIndexes()) {
    IndexInput item;
    item.repository = decode_repository(index);
    merge_repository(in.indexes, item);
    item.origin = "Packages index of repository '" + item.repository.name + "'";
    base::require(index.isPackages(), "Failed to decode resolver request: " + item.origin + " is not a Debian index");
    const auto fd = context.open(index.getPackages(), O_RDONLY, item.origin);
    struct stat st {};
    base::check_syscall(::fstat(fd.get(), &st), "stat", item.origin);
    // An uncompressed index (~50 MB) is mapped rather than read.
    item.text = std::make_shared<const IndexText>(load_index_text(fd.get(), st, item.origin));
    in.indexes.push_back(std::move(item));
    context.check_cancelled();
  }
}

bool is_set(proto::FdRef::Reader ref) { return ref.getSlot() >= 0 || ref.hasPath(); }

// One Index per RPM repository: primary, and filelists when file
// dependencies need more than primary's short file list.
void decode_rpm_indexes(proto::ResolverRequest::Reader request, ipc::StageContext& context, StageInput& in) {
  for (auto index : request.getIndexes()) {
    RpmIndexInput item;
    item.repository = decode_repository(index);
    for (const RpmIndexInput& known : in.rpm_indexes) {
      base::require(known.repository.name != item.repository.name,
                    "Failed to decode resolver request: RPM repository '" + item.repository.name + "' is listed twice");
    }
    item.origin = "primary.xml of repository '" + item.repository.name + "'";
    base::require(index.isRpm(), "Failed to decode resolver request: repository '" + item.repository.name +
                                     "' has a Debian index in an RPM request");
    auto rpm = index.getRpm();
    item.primary = read_all(context.open(rpm.getPrimary(), O_RDONLY, item.origin).get(), item.origin);
    if (rpm.hasFilelists() && is_set(rpm.getFilelists())) {
      const std::string what = "filelists.xml of repository '" + item.repository.name + "'";
      item.filelists = read_all(context.open(rpm.getFilelists(), O_RDONLY, what).get(), what);
    }
    in.rpm_indexes.push_back(std::move(item));
    context.check_cancelled();
  }
}

// "name" for the native architecture, "name:arch" otherwise.
std::string display_name(const ResolvedPackage& p, const std::string& native) {
  if (p.architecture == native || p.architecture == "all") return p.name;
  return p.name + ":" + p.architecture;
}

}  // namespace

std::pair<RelOp, std::string> parse_version_constraint(std::string_view text) {
  static constexpr ConstraintOperator kOps[] = {
      {"<<", RelOp::kLess}, {"<=", RelOp::kLessEqual}, {">=", RelOp::kGreaterEqual}, {">>", RelOp::kGreater},
      {"=", RelOp::kEqual}, {"<", RelOp::kLessEqual},  {">", RelOp::kGreaterEqual}};
  const auto [op, version] = split_constraint(text, kOps);
  if (op == RelOp::kAny) return {op, ""};
  text = version;
  base::require(is_valid_version(text), "Failed to parse version constraint '" + std::string(text) +
                                           "': not an operator followed by a valid version");
  return {op, std::string(text)};
}

StageInput decode_request(proto::ResolverRequest::Reader request, ipc::StageContext& context) {
  StageInput in;
  in.architecture = request.getArchitecture();
  base::require(!in.architecture.empty() && in.architecture != "all" &&
                   in.architecture.find_first_of(" /:") == std::string::npos,
               "Failed to decode resolver request: invalid architecture '" + in.architecture + "'");
  base::require(request.getIndexes().size() > 0, "Failed to decode resolver request: no package indexes");
  in.family = request.getFamily().isDeb() ? Family::kDeb : Family::kRpm;
  if (in.family == Family::kDeb) {
    decode_deb_indexes(request, context, in);
  } else {
    decode_rpm_indexes(request, context, in);
  }
  for (auto r : request.getRequested()) {
    base::require(r.getName().size() > 0, "Failed to decode resolver request: a requested package has no name");
    auto [op, version] = in.family == Family::kDeb ? parse_version_constraint(r.getVersion().cStr())
                                                   : rpm::parse_constraint(r.getVersion().cStr());
    in.options.requests.push_back(Request{r.getName(), to_reason(r.getSource()), op, std::move(version)});
  }
  for (auto name : request.getExcluded()) in.options.excluded.emplace_back(name);
  if (in.family == Family::kDeb) in.options.base = to_base(request.getFamily().getDeb().getEssential());
  in.emit_dot = request.getEmitDotGraph();
  return in;
}

StageOutput resolve_input(const StageInput& input) {
  return (input.family == Family::kRpm ? rpm_solver() : deb_solver()).solve(input);
}

void encode_result(const StageOutput& output, proto::ResolverResult::Builder result) {
  const auto& pkgs = output.resolution.packages;
  auto list = result.initPackages(static_cast<unsigned>(pkgs.size()));
  for (unsigned i = 0; i < pkgs.size(); ++i) {
    const ResolvedPackage& p = pkgs[i];
    auto b = list[i];
    b.setName(p.name);
    b.setVersion(p.version);
    b.setArchitecture(p.architecture);
    b.setRepo(p.repository);
    b.setUrl(p.url);
    b.setFilename(p.filename);
    b.setSha256(p.sha256);
    b.setSize(p.size);
    b.setSource(to_source(p.reason));
    if (output.family == Family::kRpm) {
      b.setRpm();
      continue;
    }
    auto deb = b.initDeb();
    deb.setEssential(p.essential);
    auto pre = deb.initPreDepends(static_cast<unsigned>(p.pre_depends.size()));
    for (unsigned j = 0; j < p.pre_depends.size(); ++j) {
      pre.set(j, display_name(pkgs[p.pre_depends[j]], output.native_arch));
    }
  }
  const auto& order = output.resolution.install_order;
  auto names = result.initInstallOrder(static_cast<unsigned>(order.size()));
  for (unsigned i = 0; i < order.size(); ++i) {
    const ResolvedPackage& p = pkgs[order[i]];
    names.set(i, output.family == Family::kRpm ? p.name : display_name(p, output.native_arch));
  }
  result.setDotGraph(output.dot);
  ipc::copy_texts(output.filelists_needed,
                  result.initFilelistsNeeded(static_cast<unsigned>(output.filelists_needed.size())));
}

void run_request(proto::StageRequest::Reader request, ipc::StageContext& context,
                 proto::StageResult::Builder result) {
  base::require(request.isResolver(), "Failed to run stage-resolver: the request is for another stage");
  context.progress({.phase = "reading indexes"});
  const StageInput input = decode_request(request.getResolver(), context);
  context.progress({.phase = "resolving"});
  const StageOutput output = resolve_input(input);
  encode_result(output, result.initResolver());
  if (!output.filelists_needed.empty()) {
    context.log(ipc::LogLevel::kInfo, "filelists needed for " + std::to_string(output.filelists_needed.size()) +
                                          " file dependencies, first '" + output.filelists_needed.front() + "'");
    return;
  }
  context.log(ipc::LogLevel::kInfo, "resolved " + std::to_string(output.resolution.packages.size()) + " packages");
}

}  // namespace stage::resolver
