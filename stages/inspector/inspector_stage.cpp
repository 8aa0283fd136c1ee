#include "stages/inspector/inspector_stage.hpp"

#include <fcntl.h>
#include <sys/resource.h>

#include "base/error.hpp"
#include "stages/inspector/client.hpp"
#include "stages/inspector/image_reader.hpp"
#include "stages/inspector/policy.hpp"
#include "stages/inspector/qcow2.hpp"

namespace stage::inspector {

void run_request(ipc::proto::StageRequest::Reader request, ipc::StageContext& context,
                 ipc::proto::StageResult::Builder result) {
  base::require(request.isInspector(), "Failed to run stage-inspector: the request is for another stage");
  const auto in = request.getInspector();
  const std::string name = in.getImageName().size() > 0 ? std::string(in.getImageName()) : "(unnamed image)";
  const base::UniqueFd image = context.open(in.getImage(), O_RDONLY | O_NOCTTY, "the image '" + name + "'");
  if (in.getConvertQcow2()) {
    const base::UniqueFd raw = context.open(in.getRawOutput(), O_RDWR | O_NOCTTY, "the raw image of '" + name + "'");
    context.progress({.phase = "converting", .item = name});
    const Qcow2Info info = convert_qcow2(image.get(), raw.get(), name);
    result.initInspector().setVirtualSize(info.virtual_size);
    context.log(ipc::LogLevel::kInfo, "converted the qcow2 image " + name + " to raw: " +
                                          std::to_string(info.virtual_size) + " bytes");
    return;
  }
  restrict_to_reading();
  ReadProgress progress{[&](const std::string& phase, const std::string& item) {
    context.progress({.phase = phase, .item = item});
  }};
  const Report report = read_image(image.get(), name, progress, {.extract_sbom = in.getExtractSbom(), .list_files = in.getListFiles()});
  client::encode_report(report, result.initInspector());
  context.log(ipc::LogLevel::kInfo, "inspected " + name + ": " + std::to_string(report.partitions.size()) +
                                        " partitions, " + std::to_string(report.packages.size()) + " packages");
}

}  // namespace stage::inspector
