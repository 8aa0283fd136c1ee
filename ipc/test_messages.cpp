#include "ipc/test_messages.hpp"

#include <capnp/message.h>

#include "ipc/framing.hpp"
#include "ipc/stage_kind.hpp"

namespace ipc::testing {

void fill_request(proto::Message::Builder message, proto::StageKind kind, std::uint32_t fd_count) {
  auto request = message.initRequest();
  request.setFdCount(fd_count);
  request.setSourceDateEpoch(1700000000);
  switch (kind) {
    case proto::StageKind::FETCHER: {
      auto r = request.initFetcher();
      auto d = r.initDownloads(1)[0];
      d.setUrl("http://127.0.0.1:8080/pool/main/b/bash/bash_5.2.15-2_amd64.deb");
      d.setDestName("bash_5.2.15-2_amd64.deb");
      d.setExpectedSize(1234);
      r.initOutputDir().setSlot(0);
      break;
    }
    case proto::StageKind::VERIFIER: {
      auto repo = request.initVerifier().initRepositories(1)[0];
      repo.setName("main");
      repo.initDeb().setSuite("bookworm");
      repo.getDeb().getReleaseFiles().initInRelease().setPath("/in/InRelease");
      repo.initKeys(1)[0].initFile().setSlot(0);
      break;
    }
    case proto::StageKind::RESOLVER: {
      auto r = request.initResolver();
      r.initIndexes(1)[0].initPackages().setPath("/in/Packages");
      r.initRequested(1)[0].setName("linux-image-*");
      r.setArchitecture("amd64");
      break;
    }
    case proto::StageKind::INSTALLER: {
      auto r = request.initInstaller();
      auto p = r.initPackages(1)[0];
      p.initFile().setPath("/in/bash.deb");
      p.setName("bash");
      r.initCommands(2)[0].initArgv(1).set(0, "/bin/true");
      r.getCommands()[1].setScript("echo hi > /etc/motd");
      r.setHostname("edge");
      break;
    }
    case proto::StageKind::DISKMAKER: {
      auto r = request.initDiskmaker();
      r.setDiskSize(4ull << 30);
      auto p = r.initPartitions(1)[0];
      p.setId("root");
      p.setFsType("ext4");
      r.initArtifacts(1)[0].setType("raw");
      break;
    }
    case proto::StageKind::ISOMAKER: {
      auto r = request.initIsomaker().initMakeInitrd();
      r.initTreeDir().setPath("/ws/root");
      r.setKernelPath("/boot/vmlinuz-6.1.0-13-amd64");
      r.setOutputName("live-1.0.img");
      break;
    }
    case proto::StageKind::SIGNER: {
      auto r = request.initSigner().initSignDetached();
      r.initKey().setPath("/home/u/signing.key");
      r.setKeyName("/home/u/signing.key");
      r.initFile().setPath("/ws/out/SHA256SUMS");
      break;
    }
    case proto::StageKind::INSPECTOR: {
      auto r = request.initInspector();
      r.initImage().setPath("/home/u/disk.raw");
      r.setImageName("disk.raw");
      break;
    }
  }
}

void fill_result(proto::Message::Builder message, proto::StageKind kind) {
  auto result = message.initResult();
  switch (kind) {
    case proto::StageKind::FETCHER: {
      auto f = result.initFetcher();
      f.initFiles(1)[0].setSha256(std::string(64, 'a'));
      f.setBytesTotal(99);
      break;
    }
    case proto::StageKind::VERIFIER:
      result.initVerifier().initFailures(1)[0].setReason("bad hash");
      break;
    case proto::StageKind::RESOLVER:
      result.initResolver().initInstallOrder(2).set(1, "bash");
      break;
    case proto::StageKind::INSTALLER:
      result.initInstaller().setKernelPath("boot/vmlinuz");
      break;
    case proto::StageKind::DISKMAKER:
      result.initDiskmaker().initPartitions(1)[0].setPartUuid("0FC63DAF-8483-4772-8E79-3D69D8477DE4");
      break;
    case proto::StageKind::ISOMAKER:
      result.initIsomaker().initMakeIso().initIso().setSize(4096);
      break;
    case proto::StageKind::SIGNER:
      result.initSigner().initSignDetached().setFingerprint(std::string(40, 'A'));
      break;
    case proto::StageKind::INSPECTOR:
      result.initInspector().initTable().setLabel("gpt");
      break;
  }
}

void fill_progress(proto::Message::Builder message, proto::StageKind kind) {
  auto p = message.initProgress();
  p.setStage(kind);
  p.setPhase("download");
  p.setDone(3);
  p.setTotal(10);
  p.setRatePerSec(1.5e6);
  p.setItem("bash");
}

void fill_log(proto::Message::Builder message) {
  auto line = message.initLog();
  line.setLevel(proto::LogLine::Level::WARNING);
  line.setText("mirror is slow");
}

void fill_error(proto::Message::Builder message) {
  auto e = message.initError();
  e.setKind(proto::Error::Kind::OVERLOADED);
  e.setMessage("Failed to fetch 'http://127.0.0.1/x': 503");
  e.initContext(1).set(0, "fetching x");
}

void fill_cancel(proto::Message::Builder message) { message.initCancel().setReason("user interrupt"); }

std::vector<std::vector<std::uint8_t>> all_sample_frames() {
  std::vector<std::vector<std::uint8_t>> frames;
  auto add = [&frames](auto fill) {
    capnp::MallocMessageBuilder builder;
    fill(builder.initRoot<proto::Message>());
    frames.push_back(encode_frame(builder));
  };
  for (auto kind : kAllStageKinds) {
    add([kind](proto::Message::Builder m) { fill_request(m, kind, 1); });
    add([kind](proto::Message::Builder m) { fill_result(m, kind); });
    add([kind](proto::Message::Builder m) { fill_progress(m, kind); });
  }
  add(fill_log);
  add(fill_error);
  add(fill_cancel);
  return frames;
}

}  // namespace ipc::testing
