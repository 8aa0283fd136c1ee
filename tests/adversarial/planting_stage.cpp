// A stage built only for tests that plants, in the output directory it is
// given, files named like what the supervisor opens afterwards: installed as
// stage-fetcher, stage-installer or stage-diskmaker in a folder of its own
// (argv[0] says which) and run by the real supervisor in a build. As the
// fetcher it links every file it is asked for to "../../../../../victim-sbom".
// As the installer and disk maker the image name picks the trick
// (planted_files_test.cpp checks the host side):
//   planted-links  the installer links the SBOM, lockfile and template names
//                  to files outside the workspace ("../../../../../victim-*")
//   forged-hash    the disk maker reports a sha256 its image does not have
//   hard-link      the disk maker's image has a second name
// A request to save the build environment is answered at once (nothing is
// planted there).
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "base/error.hpp"
#include "ipc/stage_main.hpp"
#include "sandbox/seccomp.hpp"

namespace {

namespace fs = std::filesystem;
namespace proto = ipc::proto;

constexpr const char* kImage = "an image the disk maker made\n";
// From <work_dir>/<provider>/builds/<build>/out up to the test's world.
constexpr const char* kUp = "../../../../../";

void write_file_at(int dir, const std::string& name, const std::string& content) {
  base::UniqueFd fd(base::check_syscall(::openat(dir, name.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644),
                                          "create", name));
  base::check_syscall(::write(fd.get(), content.data(), content.size()), "write", name);
}

void plant_link(int dir, const std::string& name, const std::string& victim) {
  base::check_syscall(::symlinkat((std::string(kUp) + victim).c_str(), dir, name.c_str()), "plant", name);
}

void install(proto::InstallerRequest::Reader request, ipc::StageContext& context, proto::InstallerResult::Builder out) {
  if (request.getBuildEnv().getMode() == proto::BuildEnv::Mode::SAVE) return;
  const base::UniqueFd dir = context.open(request.getOutputDir(), O_RDONLY | O_DIRECTORY, "outputDir");
  const std::string sbom = request.getSbom().getFileName();
  const std::string base = sbom.substr(0, sbom.size() - std::string(".spdx.json").size());
  if (std::string(request.getSbom().getImageName()) == "planted-links") {
    plant_link(dir.get(), sbom, "victim-sbom");
    plant_link(dir.get(), base + ".lock.json", "victim-lock");
    plant_link(dir.get(), base + ".template.yml", "victim-template");
    context.log(ipc::LogLevel::kInfo, "planted links named like the SBOM, lockfile and template");
  } else {
    write_file_at(dir.get(), sbom, "{}\n");
  }
  out.setSbomPath(sbom);
}

void make_disk(proto::DiskmakerRequest::Reader request, ipc::StageContext& context,
               proto::DiskmakerResult::Builder out) {
  const base::UniqueFd dir = context.open(request.getOutputDir(), O_RDONLY | O_DIRECTORY, "outputDir");
  const std::string trick = request.getOutputName();
  const std::string name = trick + ".raw";
  write_file_at(dir.get(), name, kImage);
  if (trick.starts_with("hard-link")) {
    base::check_syscall(::linkat(dir.get(), name.c_str(), dir.get(), ".second-name", 0), "link", name);
  }
  auto artifact = out.initArtifacts(1)[0];
  artifact.setPath((fs::path(request.getOutputDir().getPath().cStr()) / name).string());
  artifact.setType("raw");
  artifact.setSize(std::string(kImage).size());
  if (trick.starts_with("forged-hash")) artifact.setSha256(std::string(64, 'a'));
}

void fetch(proto::FetcherRequest::Reader request, ipc::StageContext& context, proto::FetcherResult::Builder out) {
  const base::UniqueFd dir = context.open(request.getOutputDir(), O_RDONLY | O_DIRECTORY, "outputDir");
  auto files = out.initFiles(request.getDownloads().size());
  for (unsigned i = 0; i < files.size(); ++i) {
    const std::string name = request.getDownloads()[i].getDestName();
    plant_link(dir.get(), name, "victim-sbom");
    files[i].setUrl(request.getDownloads()[i].getUrl());
    files[i].setDestName(name);
  }
  context.log(ipc::LogLevel::kInfo, "planted links named like every download");
}

void run(proto::StageRequest::Reader request, ipc::StageContext& context, proto::StageResult::Builder result) {
  if (request.isFetcher()) {
    fetch(request.getFetcher(), context, result.initFetcher());
  } else if (request.isInstaller()) {
    install(request.getInstaller(), context, result.initInstaller());
  } else {
    make_disk(request.getDiskmaker(), context, result.initDiskmaker());
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::string name = fs::path(argv[0]).filename().string();
  const proto::StageKind kind = name == "stage-diskmaker"  ? proto::StageKind::DISKMAKER
                               : name == "stage-fetcher" ? proto::StageKind::FETCHER
                                                         : proto::StageKind::INSTALLER;
  return ipc::run_stage(argc, argv, kind, run, [](int fd) { sandbox::install_sigsys_reporter(fd); });
}
