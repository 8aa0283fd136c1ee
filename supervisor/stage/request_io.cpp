#include "supervisor/stage/request_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <capnp/compat/json.h>
#include <capnp/dynamic.h>

#include <fstream>
#include <functional>
#include <string>

#include "base/error.hpp"
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
                       const std::vector<bool>& written, const std::map<std::string, fs::path>& dir_paths) {
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
    } else if (const auto dir = dir_paths.find(ref.getPath().cStr()); dir != dir_paths.end()) {
      ref.setPath(dir->second.string());
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
  if (!out) throw base::Error(base::ErrorKind::kFailed, "Failed to write the stage request '" + file.string() + "'");
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
    base::require(ref.getSlot() < 0, "request file '" + file.string() + "': an FdRef has a slot; give a path");
    std::string path = ref.getPath().cStr();
    base::require(!path.empty(), "request file '" + file.string() + "': an FdRef has neither slot nor path");
    struct stat st {};
    // A writable FdRef is a directory the stage writes into, or a file made
    // when opened.
    if (::stat(path.c_str(), &st) < 0) {
      base::check_syscall(ref.getWritable() && errno == ENOENT ? 0 : -1, "stat", path);
      st.st_mode = S_IFREG;
    }
    if (ref.getWritable() && !S_ISDIR(st.st_mode)) st.st_mode = S_IFREG;
    refs.push_back({ref, std::move(path), st.st_mode});
  });
  // Directories are bound at their path, never passed as fds (an fd of a
  // host directory leads out of the stage's root through "..").
  std::erase_if(refs, [&](Ref& r) {
    if (!S_ISDIR(r.mode)) return false;
    const fs::path dir = fs::absolute(r.path).lexically_normal();
    r.ref.setPath(dir.string());
    (r.ref.getWritable() ? loaded.bound_dirs_rw : loaded.bound_dirs_ro).push_back(dir);
    return true;
  });
  // A frame carries at most max_fds fds. When the request names more, its
  // regular files stay paths, each bound read-only at that path: the stage
  // sees just those files, as the build binds additional files. Files the
  // stage writes and FIFOs still travel as fds.
  const bool files_by_path = refs.size() > max_fds;
  for (Ref& r : refs) {
    const bool writable = r.ref.getWritable();
    if (files_by_path && S_ISREG(r.mode) && !writable) {
      r.ref.setPath(fs::absolute(r.path).lexically_normal().string());
      loaded.bound_files.emplace_back(r.ref.getPath().cStr());
      continue;
    }
    base::require(loaded.fds.size() < max_fds, "request file '" + file.string() + "' names more than " +
                                                  std::to_string(max_fds) + " special files and files to write");
    const int flags = (writable ? O_WRONLY | O_CREAT | O_TRUNC : O_RDONLY) | O_CLOEXEC;
    base::UniqueFd fd(base::check_syscall(::open(r.path.c_str(), flags, 0644), "open", r.path));
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
