#include "supervisor/cli/check_reproducible.hpp"

#include <fstream>
#include <sstream>

#include "base/error.hpp"
#include "supervisor/build/build_steps.hpp"
#include "supervisor/build/image_jobs.hpp"
#include "supervisor/build/outputs.hpp"
#include "supervisor/build/workspace.hpp"
#include "supervisor/cli/inspector_run.hpp"
#include "supervisor/cli/reproducibility_report.hpp"

namespace supervisor::cli {
namespace {

namespace fs = std::filesystem;

// Where the first build published, and the lockfile it published there.
struct FirstBuild {
  std::string provider_id;
  fs::path output_dir;
  fs::path lockfile;
};

FirstBuild first_build(const BuildRequest& request) {
  const config::ProviderData provider = load_provider_for(request.image, request.global);
  const fs::path dir = image_output_dir(request.global.work_dir, provider.id, *request.image.system_config->name);
  const std::string lock_name = published_name(request.output_names, output_base_name(request.image) + ".lock.json",
                                               naming_facts(request, provider, nullptr));
  base::require(fs::is_regular_file(fs::symlink_status(dir / lock_name)),
                "Failed to find the lockfile the build published: no file '" + (dir / lock_name).string() + "'");
  return {provider.id, dir, dir / lock_name};
}

// The second build: pinned to the first's lockfile, its own work directory,
// the saved build environment the other way, nothing written beside it.
BuildRequest second_request(const BuildRequest& first, const FirstBuild& built, const fs::path& work_dir) {
  BuildRequest second = first;
  second.global.work_dir = work_dir;
  second.lockfile = built.lockfile;
  second.rebuild = true;
  second.dotfile.reset();
  second.system_packages_only = false;
  second.keep_requests.reset();
  second.sign_key.reset();
  second.build_env_use = *first.reused_build_env ? BuildRequest::BuildEnvUse::kWithout
                                                 : BuildRequest::BuildEnvUse::kAsUsual;
  second.reused_build_env.reset();
  return second;
}

// The second build's output directory moved to `kept` (an earlier one replaced).
void keep_outputs(const fs::path& from, const fs::path& kept) {
  base::ErrorContext ctx{"keeping the second build's outputs in", kept.string()};
  fs::remove_all(kept);
  fs::create_directories(kept.parent_path());
  fs::rename(from, kept);
}

// compare's diff of two disk images (cmd_compare.cpp), told as lines.
std::vector<std::string> explain_image(const Invocation& inv, const fs::path& a, const fs::path& b) {
  try {
    const std::vector<RawImage> raws = raw_images(inv, {a, b});
    const std::vector<stage::inspector::Report> reports = run_inspectors(inv, raws, {.list_files = true});
    std::vector<Change> changes = diff_reports(reports[0], reports[1]);
    const auto size = [](const RawImage& raw) { return static_cast<std::uint64_t>(fs::file_size(raw.path)); };
    for (Change& c : diff_partition_bytes(reports[0], hash_partitions(reports[0], size(raws[0]), raws[0]), reports[1],
                                          hash_partitions(reports[1], size(raws[1]), raws[1]))) {
      changes.push_back(std::move(c));
    }
    return explain_image_changes(changes);
  } catch (const std::exception& e) {
    return {std::string("could not be inspected: ") + e.what()};
  }
}

constexpr std::uintmax_t kMaxShownText = 16 << 20;

// The lines where two text outputs differ; nothing for one too large to read.
std::vector<std::string> explain_text(const fs::path& a, const fs::path& b) {
  if (fs::file_size(a) > kMaxShownText || fs::file_size(b) > kMaxShownText) return {};
  const auto slurp = [](const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    base::require(static_cast<bool>(in), "Failed to read the output '" + path.string() + "'");
    return text.str();
  };
  return text_differences(slurp(a), slurp(b));
}

}  // namespace

int run_check_reproducible(const Invocation& inv, BuildRequest request) {
  request.reused_build_env = std::make_shared<bool>(false);
  const int status = run_build(request, inv.log);
  if (status != kExitOk) return status;
  const FirstBuild built = first_build(request);
  const fs::path kept = request.global.work_dir / built.provider_id / "reproducibility-check" /
                        *request.image.system_config->name;
  ReproducibilityReport report{.first_dir = built.output_dir, .second_dir = kept, .outputs = 0, .differences = {}};
  {
    const Workspace scratch(request.global.work_dir / built.provider_id / "builds");
    const BuildRequest second = second_request(request, built, scratch.dir());
    inv.log.info("Checking reproducibility: building again from " + built.lockfile.string() + " in " +
                 scratch.dir().string() +
                 (second.build_env_use == BuildRequest::BuildEnvUse::kWithout
                      ? " without the saved build environment the first build copied"
                      : " (copying the build environment the first build saved, if it saved one)"));
    {
      base::ErrorContext ctx{"the second build of --check-reproducible"};
      if (const int second_status = run_build(second, inv.log); second_status != kExitOk) {
        inv.log.error("The second build of --check-reproducible failed; the first build's outputs are in " +
                      built.output_dir.string() + ", unchecked");
        return second_status;
      }
    }
    const fs::path second_dir =
        image_output_dir(scratch.dir(), built.provider_id, *request.image.system_config->name);
    const OutputSet first_outputs = hash_outputs(built.output_dir);
    report.outputs = first_outputs.size();
    report.differences = diff_outputs(first_outputs, hash_outputs(second_dir));
    fs::remove_all(kept);
    if (!report.reproducible()) keep_outputs(second_dir, kept);
  }
  for (OutputDifference& d : report.differences) {
    if (d.kind != OutputDifferenceKind::kContent) continue;
    if (is_disk_image(d.name)) d.details = explain_image(inv, built.output_dir / d.name, kept / d.name);
    if (const auto hint = compressed_image_hint(d.name)) d.details = {*hint};
    if (is_text_output(d.name)) d.details = explain_text(built.output_dir / d.name, kept / d.name);
  }
  if (request.json) {
    inv.out << report_json(report).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    print_report_text(inv.out, report);
  }
  inv.out.flush();
  return report.reproducible() ? kExitOk : kExitFailure;
}

}  // namespace supervisor::cli
