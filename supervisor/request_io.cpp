#include "supervisor/request_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <capnp/compat/json.h>
#include <capnp/dynamic.h>

#include <fstream>
#include <functional>
#include <string>

#include "ipc/error.hpp"
#include "ipc/request_file.hpp"

namespace supervisor {
namespace {

namespace fs = std::filesystem;
using FdRefVisitor = std::function<void(ipc::proto::FdRef::Builder)>;

// Calls `visit` on every FdRef reachable from `value` (active union members only).
void visit_fd_refs(capnp::DynamicStruct::Builder value, const FdRefVisitor& visit) {
  if (value.getSchema() == capnp::Schema::from<ipc::proto::FdRef>()) {
    visit(value.as<ipc::proto::FdRef>());
    return;
  }
  for (auto field : value.getSchema().getFields()) {
    if (!value.has(field, capnp::HasMode::NON_DEFAULT)) continue;
    const auto type = field.getType();
    if (type.isStruct()) {
      visit_fd_refs(value.get(field).as<capnp::DynamicStruct>(), visit);
    } else if (type.isList() && type.asList().getElementType().isStruct()) {
      auto list = value.get(field).as<capnp::DynamicList>();
      for (unsigned i = 0; i < list.size(); ++i) visit_fd_refs(list[i].as<capnp::DynamicStruct>(), visit);
    }
  }
}

}  // namespace

void save_request_file(const fs::path& file, ipc::proto::StageKind kind,
                       ipc::proto::StageRequest::Reader request, const std::vector<fs::path>& fd_paths,
                       const std::vector<bool>& written) {
  (void)kind;
  capnp::MallocMessageBuilder copy;
  copy.setRoot(request);
  auto root = copy.getRoot<ipc::proto::StageRequest>();
  root.setFdCount(0);
  visit_fd_refs(capnp::DynamicStruct::Builder(root), [&](ipc::proto::FdRef::Builder ref) {
    const int slot = ref.getSlot();
    if (slot >= 0 && static_cast<std::size_t>(slot) < fd_paths.size()) {
      ref.setPath(fd_paths[slot].string());
      ref.setSlot(-1);
      if (static_cast<std::size_t>(slot) < written.size() && written[slot]) ref.setWritable(true);
    }
  });
  capnp::JsonCodec codec;
  codec.setPrettyPrint(true);
  const kj::String json = codec.encode(root.asReader());
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  std::ofstream out(file, std::ios::trunc);
  out << json.cStr() << "\n";
  out.close();
  if (!out) throw ipc::Error(ipc::ErrorKind::kFailed, "Failed to write the stage request '" + file.string() + "'");
}

LoadedRequest load_request_file(const fs::path& file, ipc::proto::StageKind kind, std::size_t max_fds) {
  const ipc::Frame frame = ipc::read_request_file(file, kind);
  LoadedRequest loaded;
  loaded.message = std::make_unique<capnp::MallocMessageBuilder>();
  loaded.message->setRoot(frame.message());
  auto request = loaded.message->getRoot<ipc::proto::Message>().getRequest();
  struct Ref {
    ipc::proto::FdRef::Builder ref;
    std::string path;
    mode_t mode;
  };
  std::vector<Ref> refs;
  visit_fd_refs(capnp::DynamicStruct::Builder(request), [&](ipc::proto::FdRef::Builder ref) {
    ipc::require(ref.getSlot() < 0, "request file '" + file.string() + "': an FdRef has a slot; give a path");
    std::string path = ref.getPath().cStr();
    ipc::require(!path.empty(), "request file '" + file.string() + "': an FdRef has neither slot nor path");
    struct stat st {};
    if (ref.getWritable()) st.st_mode = S_IFREG;  // made when opened
    else ipc::check_syscall(::stat(path.c_str(), &st), "stat", path);
    refs.push_back({ref, std::move(path), st.st_mode});
  });
  // A frame carries at most max_fds fds. When the request names more, its
  // regular files stay paths, each bound read-only at that path: the stage
  // sees just those files, as the build binds additional files. Directories
  // (outputs, trees), files the stage writes and FIFOs still travel as fds.
  const bool files_by_path = refs.size() > max_fds;
  for (Ref& r : refs) {
    const bool writable = r.ref.getWritable();
    if (files_by_path && S_ISREG(r.mode) && !writable) {
      r.ref.setPath(fs::absolute(r.path).lexically_normal().string());
      loaded.bound_files.emplace_back(r.ref.getPath().cStr());
      continue;
    }
    ipc::require(loaded.fds.size() < max_fds, "request file '" + file.string() + "' names more than " +
                                                  std::to_string(max_fds) + " directories and special files");
    const int flags = (writable           ? O_WRONLY | O_CREAT | O_TRUNC
                       : S_ISDIR(r.mode) ? O_DIRECTORY | O_RDONLY
                                         : O_RDONLY) |
                      O_CLOEXEC;
    sandbox::UniqueFd fd(ipc::check_syscall(::open(r.path.c_str(), flags, 0644), "open", r.path));
    r.ref.setSlot(static_cast<int>(loaded.fds.size()));
    r.ref.setPath("");
    r.ref.setWritable(false);
    loaded.fds.push_back(std::move(fd));
    loaded.fd_paths.emplace_back(r.path);
  }
  request.setFdCount(static_cast<std::uint32_t>(loaded.fds.size()));
  return loaded;
}

}  // namespace supervisor
