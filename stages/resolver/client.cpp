#include "stages/resolver/client.hpp"

namespace stage::resolver::client {

void encode(const Request& request, ipc::proto::ResolverRequest::Builder out) {
  auto indexes = out.initIndexes(static_cast<unsigned>(request.indexes.size()));
  for (unsigned i = 0; i < indexes.size(); ++i) {
    const Index& index = request.indexes[i];
    indexes[i].setRepoName(index.repo_name);
    if (index.rpm) {
      auto rpm = indexes[i].initRpm();
      index.rpm->primary.encode(rpm.initPrimary());
      if (index.rpm->filelists) index.rpm->filelists->encode(rpm.initFilelists());
    } else {
      index.packages.encode(indexes[i].initPackages());
    }
    indexes[i].setBaseUrl(index.base_url);
    indexes[i].setPriority(index.priority);
    ipc::copy_texts(index.allow_packages, indexes[i].initAllowPackages(static_cast<unsigned>(index.allow_packages.size())));
  }
  auto requested = out.initRequested(static_cast<unsigned>(request.requested.size()));
  for (unsigned i = 0; i < requested.size(); ++i) {
    requested[i].setName(request.requested[i].name);
    requested[i].setVersion(request.requested[i].version);
    requested[i].setSource(request.requested[i].source);
  }
  out.setArchitecture(request.architecture);
  if (request.family == Family::kRpm) {
    out.getFamily().setRpm();
  } else {
    out.getFamily().initDeb().setEssential(request.essential);
  }
  ipc::copy_texts(request.excluded, out.initExcluded(static_cast<unsigned>(request.excluded.size())));
  out.setEmitDotGraph(request.emit_dot_graph);
}

Result decode(ipc::proto::ResolverResult::Reader result) {
  Result out;
  for (auto p : result.getPackages()) {
    const bool deb = p.isDeb();
    out.packages.push_back({p.getName(), p.getVersion(), p.getArchitecture(), p.getRepo(), p.getUrl(),
                            p.getFilename(), p.getSha256(), p.getSize(), p.getSource(),
                            deb && p.getDeb().getEssential(),
                            deb ? ipc::texts_of(p.getDeb().getPreDepends()) : std::vector<std::string>{},
                            p.isRpm() ? Family::kRpm : Family::kDeb});
  }
  out.install_order = ipc::texts_of(result.getInstallOrder());
  out.dot_graph = result.getDotGraph();
  out.filelists_needed = ipc::texts_of(result.getFilelistsNeeded());
  return out;
}

}  // namespace stage::resolver::client
