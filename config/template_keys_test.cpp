// Every template key has a test that shows its effect or its clear refusal
// (issue 13: no key silently ignored). The table below names, for each key
// path of the reference's schema and each key only this tool accepts, the
// tests that show what it does, as "<meson test>:<source file>:<Suite>.<Case>".
// Checked here: every reference key has an entry; every named case exists in
// its file and its file belongs to that meson test; docs/templates.md names
// every key; and every key the parser's key tables accept
// (config/template_parser.cpp, config/system_config_parser.cpp) is in the
// table, so a new key cannot be added without a test.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "build_info.hpp"

namespace {

namespace fs = std::filesystem;

struct KeyTests {
  std::string key;
  std::vector<std::string> tests;  // "<meson test>:<file>:<Suite>.<Case>"
};

// The reference's schema (additionalProperties: false everywhere), leaf keys.
const std::vector<std::string> kReferenceKeys = {
    "metadata.description", "metadata.use_cases", "metadata.keywords",
    "image.name", "image.version",
    "target.os", "target.dist", "target.arch", "target.imageType",
    "disk.name", "disk.path", "disk.size", "disk.partitionTableType",
    "disk.artifacts[].type", "disk.artifacts[].compression",
    "disk.partitions[].id", "disk.partitions[].index", "disk.partitions[].name", "disk.partitions[].type",
    "disk.partitions[].typeUUID", "disk.partitions[].fsType", "disk.partitions[].fsLabel",
    "disk.partitions[].start", "disk.partitions[].end", "disk.partitions[].mountPoint",
    "disk.partitions[].mountOptions", "disk.partitions[].flags",
    "packageRepositories[].codename", "packageRepositories[].url", "packageRepositories[].path",
    "packageRepositories[].pkey", "packageRepositories[].pkeys", "packageRepositories[].component",
    "packageRepositories[].priority", "packageRepositories[].allowPackages",
    "systemConfig.name", "systemConfig.description", "systemConfig.hostname", "systemConfig.packages",
    "systemConfig.kernel.name", "systemConfig.kernel.version", "systemConfig.kernel.cmdline",
    "systemConfig.kernel.packages", "systemConfig.kernel.enableExtraModules", "systemConfig.kernel.uki",
    "systemConfig.bootloader.bootType", "systemConfig.bootloader.provider",
    "systemConfig.immutability.enabled", "systemConfig.immutability.secureBootDBKey",
    "systemConfig.immutability.secureBootDBCrt", "systemConfig.immutability.secureBootDBCer",
    "systemConfig.users[].name", "systemConfig.users[].password", "systemConfig.users[].hash_algo",
    "systemConfig.users[].passwordMaxAge", "systemConfig.users[].startupScript", "systemConfig.users[].groups",
    "systemConfig.users[].sudo", "systemConfig.users[].home", "systemConfig.users[].shell",
    "systemConfig.initramfs.template",
    "systemConfig.additionalFiles[].local", "systemConfig.additionalFiles[].final",
    "systemConfig.configurations[].cmd",
};

// Keys only this tool accepts.
const std::vector<std::string> kOwnKeys = {"packageRepositories[].keyFingerprints"};

// Informational keys (the reference's too): their effect is that they are
// kept, unchanged, in the merged template `validate --merged` writes.
const std::string kKeptInTheMerge = "config_emit:config/emit_test.cpp:Emit.ParsingTheOutputGivesTheSameTemplate";

const std::vector<KeyTests>& key_table() {
  static const std::vector<KeyTests> table = {
      {"metadata.description", {kKeptInTheMerge}},
      {"metadata.use_cases", {kKeptInTheMerge}},
      {"metadata.keywords", {kKeptInTheMerge}},
      {"image.name",
       {"config_merge:config/merge_test.cpp:Merge.UserImageNameAndVersionWin",
        "supervisor_image_jobs:supervisor/build/image_jobs_test.cpp:ImageJobs.DiskRequestCarriesTheLayoutAndArtifacts",
        "supervisor_image_jobs:supervisor/build/image_jobs_test.cpp:ImageJobs.InstallRequestCarriesTheOsConfiguration"}},
      {"image.version",
       {"config_merge:config/merge_test.cpp:Merge.UserImageNameAndVersionWin",
        "supervisor_image_jobs:supervisor/build/image_jobs_test.cpp:ImageJobs.DiskRequestCarriesTheLayoutAndArtifacts"}},
      {"target.os",
       {"config_validate:config/validate_test.cpp:ValidateTest.AcceptsOnlyTargetsThatHaveADefaultTemplate",
        "config_provider:config/provider_test.cpp:ProviderData.EveryOsDirectoryLoadsForEveryDeclaredArch"}},
      {"target.dist",
       {"config_validate:config/validate_test.cpp:ValidateTest.AcceptsOnlyTargetsThatHaveADefaultTemplate",
        "config_provider:config/provider_test.cpp:ProviderData.EveryOsDirectoryLoadsForEveryDeclaredArch"}},
      {"target.arch",
       {"config_validate:config/validate_test.cpp:ValidateTest.AcceptsOnlyTargetsThatHaveADefaultTemplate",
        "config_provider:config/provider_test.cpp:DebianArch.MapsTemplateArchitectures"}},
      {"target.imageType",
       {"config_validate:config/validate_test.cpp:DefaultTemplatePath.MapsImgToTheInitrdDefault",
        "supervisor_initrd_build:supervisor/build/initrd_build_test.cpp:"
        "InitrdBuild.TheInstallRequestHasNoBootLoaderInitramfsFstabOrEsp"}},
      {"disk.name", {"config_merge:config/merge_test.cpp:Merge.DiskIsReplacedWholesaleWhenTheUserDefinesOne"}},
      {"disk.path",
       {"supervisor_iso_build:supervisor/build/iso_build_test.cpp:IsoManifest.HoldsTheImageTheDiskAndTheLockfile",
        "supervisor_iso_build:supervisor/build/iso_build_test.cpp:IsoManifest.AnUnsetDiskPathIsEmptySoTheInstallerAsks"}},
      {"disk.size",
       {"supervisor_disk_layout:supervisor/build/disk_layout_test.cpp:DiskLayout.TurnsTheDefaultDiskIntoBytesGuidsAndFstab",
        "config_partition_checks:config/partition_checks_test.cpp:PartitionChecks.RejectsPartitionsBeyondTheDisk"}},
      {"disk.partitionTableType",
       {"supervisor_disk_layout:supervisor/build/disk_layout_test.cpp:DiskLayout.SwapSeparateBootAndMbr",
        "diskmaker_partition_table:stages/diskmaker/partition_table_test.cpp:SfdiskScript.WritesAnMbrTableWithTheBootableMark"}},
      {"disk.artifacts[].type",
       {"diskmaker_artifacts:stages/diskmaker/artifacts_test.cpp:PlanArtifacts.NamesEachFileAfterTypeAndCompression",
        "supervisor_image_jobs:supervisor/build/image_jobs_test.cpp:ImageJobs.DiskRequestCarriesTheLayoutAndArtifacts"}},
      {"disk.artifacts[].compression",
       {"diskmaker_artifacts:stages/diskmaker/artifacts_test.cpp:PlanArtifacts.NamesEachFileAfterTypeAndCompression",
        "supervisor_image_jobs:supervisor/build/image_jobs_test.cpp:ImageJobs.DiskRequestCarriesTheLayoutAndArtifacts"}},
      {"disk.partitions[].id",
       {"supervisor_image_jobs:supervisor/build/image_jobs_test.cpp:ImageJobs.DiskRequestCarriesTheLayoutAndArtifacts",
        "supervisor_disk_layout:supervisor/build/disk_layout_test.cpp:"
        "DiskLayout.AVerityRootTakesTheHashPartitionAndMountsRootReadOnly"}},
      {"disk.partitions[].index",
       {"supervisor_disk_layout:supervisor/build/disk_layout_test.cpp:DiskLayout.IndexNameFsLabelAndFlagsAreTheTemplates",
        "diskmaker_layout:stages/diskmaker/layout_test.cpp:PlacePartitions.NumbersZeroIndexesWithTheSmallestFreeNumber"}},
      {"disk.partitions[].name",
       {"supervisor_disk_layout:supervisor/build/disk_layout_test.cpp:DiskLayout.IndexNameFsLabelAndFlagsAreTheTemplates",
        "diskmaker_partition_table:stages/diskmaker/partition_table_test.cpp:"
        "SfdiskScript.WritesAGptTableWithUuidsNamesAndAttributes"}},
      {"disk.partitions[].type",
       {"supervisor_disk_layout:supervisor/build/disk_layout_test.cpp:DiskLayout.TurnsTheDefaultDiskIntoBytesGuidsAndFstab",
        "config_partition_checks:config/partition_checks_test.cpp:"
        "PartitionChecks.RejectsUnknownTypeNamesButAcceptsATypeUuid"}},
      {"disk.partitions[].typeUUID",
       {"supervisor_disk_layout:supervisor/build/disk_layout_test.cpp:DiskLayout.TypeUuidOverridesTheTypeName",
        "supervisor_disk_layout:supervisor/build/disk_layout_test.cpp:DiskLayout.AnMbrTableTakesTheTypeUuidsByte"}},
      {"disk.partitions[].fsType",
       {"diskmaker_sandbox:stages/diskmaker/diskmaker_sandbox_test.cpp:"
        "DiskmakerSandbox.MakesAGptDiskWithAnEspAndAnExt4RootThatKeepsOwnersAndCapabilities",
        "config_unbuilt_keys:config/unbuilt_keys_test.cpp:UnbuiltKeys.XfsAndLegacyBootOfADiskImageAreNamed",
        "diskmaker_filesystems:stages/diskmaker/filesystems_test.cpp:MakeFilesystem.RefusesXfsWithAClearError"}},
      {"disk.partitions[].fsLabel",
       {"supervisor_disk_layout:supervisor/build/disk_layout_test.cpp:DiskLayout.IndexNameFsLabelAndFlagsAreTheTemplates",
        "diskmaker_filesystems:stages/diskmaker/filesystems_test.cpp:ExtMkfsArgv.FormatsAtTheOffsetWithTheReferenceFeatures",
        "diskmaker_filesystems:stages/diskmaker/filesystems_test.cpp:VfatMkfsArgv.RejectsALabelLongerThanElevenCharacters"}},
      {"disk.partitions[].start",
       {"supervisor_disk_layout:supervisor/build/disk_layout_test.cpp:DiskLayout.TurnsTheDefaultDiskIntoBytesGuidsAndFstab",
        "config_partition_checks:config/partition_checks_test.cpp:PartitionChecks.RejectsAnUnparsableStart"}},
      {"disk.partitions[].end",
       {"supervisor_disk_layout:supervisor/build/disk_layout_test.cpp:DiskLayout.TurnsTheDefaultDiskIntoBytesGuidsAndFstab",
        "diskmaker_layout:stages/diskmaker/layout_test.cpp:PlacePartitions.RunsEndZeroToTheLastUsableSector"}},
      {"disk.partitions[].mountPoint",
       {"supervisor_disk_layout:supervisor/build/disk_layout_test.cpp:DiskLayout.SwapSeparateBootAndMbr",
        "image_debian12:tests/image/debian12_image_test.cpp:Debian12Image.FstabAndKernelCommandLineNameTheFileSystemsUuids"}},
      {"disk.partitions[].mountOptions",
       {"supervisor_disk_layout:supervisor/build/disk_layout_test.cpp:DiskLayout.TurnsTheDefaultDiskIntoBytesGuidsAndFstab",
        "supervisor_disk_layout:supervisor/build/disk_layout_test.cpp:DiskLayout.SwapSeparateBootAndMbr"}},
      {"disk.partitions[].flags",
       {"supervisor_disk_layout:supervisor/build/disk_layout_test.cpp:DiskLayout.IndexNameFsLabelAndFlagsAreTheTemplates",
        "supervisor_disk_layout:supervisor/build/disk_layout_test.cpp:DiskLayout.EspFlagMarksTheEspWithoutItsType",
        "diskmaker_partition_table:stages/diskmaker/partition_table_test.cpp:TableEntryFor.MapsFlagsAsDocumented",
        "config_unbuilt_keys:config/unbuilt_keys_test.cpp:UnbuiltKeys.PartitionFlagsWithoutAnEffectAreNamed"}},
      {"packageRepositories[].codename",
       {"config_merge:config/merge_test.cpp:Merge.RepositoriesMergeByCodename",
        "supervisor_deb_repositories:supervisor/deb/repositories_test.cpp:"
        "DebRepositories.ATemplateRepositoryWithTheProvidersCodenameReplacesIt",
        "supervisor_rpm_repositories:supervisor/rpm/repositories_test.cpp:"
        "RpmRepositories.ATemplateRepositoryNamedLikeTheProvidersReplacesIt"}},
      {"packageRepositories[].url",
       {"supervisor_deb_repositories:supervisor/deb/repositories_test.cpp:DebRepositories.EveryFieldOfATemplateRepositoryIsCarried",
        "supervisor_deb_repositories:supervisor/deb/repositories_test.cpp:DebRepositories.APlaceholderUrlIsSkipped"}},
      {"packageRepositories[].path",
       {"supervisor_deb_repositories:supervisor/deb/repositories_test.cpp:"
        "DebRepositories.ALocalPathOrNoKeyIsRefusedNamingTheRepository",
        "supervisor_rpm_repositories:supervisor/rpm/repositories_test.cpp:RpmRepositories.RefusesATemplateRepositoryWithoutKeyOrUrl"}},
      {"packageRepositories[].pkey",
       {"supervisor_deb_repositories:supervisor/deb/repositories_test.cpp:DebRepositories.EveryFieldOfATemplateRepositoryIsCarried",
        "supervisor_deb_repositories:supervisor/deb/repositories_test.cpp:"
        "DebRepositories.DefaultsAreComponentMainAndPriority500AndTrustedYesChecksNothing"}},
      {"packageRepositories[].pkeys",
       {"supervisor_deb_repositories:supervisor/deb/repositories_test.cpp:DebRepositories.EveryFieldOfATemplateRepositoryIsCarried"}},
      {"packageRepositories[].component",
       {"supervisor_deb_repositories:supervisor/deb/repositories_test.cpp:DebRepositories.EveryFieldOfATemplateRepositoryIsCarried",
        "supervisor_deb_repositories:supervisor/deb/repositories_test.cpp:"
        "DebRepositories.DefaultsAreComponentMainAndPriority500AndTrustedYesChecksNothing"}},
      {"packageRepositories[].priority",
       {"supervisor_deb_repositories:supervisor/deb/repositories_test.cpp:DebRepositories.EveryFieldOfATemplateRepositoryIsCarried",
        "resolver_resolver:stages/resolver/deb/resolver_test.cpp:Resolver.HigherRepositoryPriorityWinsThenHigherVersion",
        "resolver_resolver:stages/resolver/deb/resolver_test.cpp:Resolver.NegativePriorityBlocksARepository",
        "config_template_parser:config/template_parser_test.cpp:TemplateParser.RejectsAPriorityOutOfRange"}},
      {"packageRepositories[].allowPackages",
       {"supervisor_deb_repositories:supervisor/deb/repositories_test.cpp:DebRepositories.EveryFieldOfATemplateRepositoryIsCarried",
        "resolver_resolver:stages/resolver/deb/resolver_test.cpp:AllowPackages.FiltersOnlyTheirRepository"}},
      {"packageRepositories[].keyFingerprints",
       {"supervisor_deb_repositories:supervisor/deb/repositories_test.cpp:DebRepositories.EveryFieldOfATemplateRepositoryIsCarried",
        "verifier_release:stages/verifier/deb/release_test.cpp:"
        "ReleaseVerification.RejectsFingerprintPinMismatchEvenWhenTheKeyIsConfigured",
        "config_template_parser:config/template_parser_test.cpp:TemplateParser.ReadsRepositoryKeyFingerprints"}},
      {"systemConfig.name",
       {"supervisor_outputs:supervisor/build/outputs_test.cpp:Outputs.OutputDirectoryFollowsTheReferenceLayout",
        "supervisor_image_jobs:supervisor/build/image_jobs_test.cpp:ImageHostname.IsTheTemplatesOrAValidOneMadeFromTheSystemName"}},
      {"systemConfig.description", {kKeptInTheMerge}},
      {"systemConfig.hostname",
       {"supervisor_image_jobs:supervisor/build/image_jobs_test.cpp:ImageJobs.InstallRequestCarriesTheOsConfiguration",
        "installer_os_config:stages/installer/os_config_test.cpp:OsConfigTest.WritesHostnameAndHosts",
        "image_debian12:tests/image/debian12_image_test.cpp:Debian12Image.HostnameIsTheTemplatesAndMachineIdIsLeftForFirstBoot"}},
      {"systemConfig.packages",
       {"config_merge:config/merge_test.cpp:Merge.PackagesAreTheUnionDefaultOrderFirst",
        "live_lock:tests/live/live_lock_test.cpp:LiveDebian12.LockChoosesTheSamePackagesAndVersionsAsApt",
        "hermetic_image:tests/hermetic/hermetic_image_test.cpp:HermeticImage.DpkgOfTheTargetInstalledEveryLockedPackage"}},
      {"systemConfig.kernel.name", {"config_merge:config/merge_test.cpp:Merge.KernelFieldsOverrideAndPackagesAreReplaced"}},
      {"systemConfig.kernel.version", {kKeptInTheMerge, "config_merge:config/merge_test.cpp:Merge.KernelFieldsOverrideAndPackagesAreReplaced"}},
      {"systemConfig.kernel.cmdline",
       {"supervisor_image_jobs:supervisor/build/image_jobs_test.cpp:ImageJobs.InstallRequestCarriesTheOsConfiguration",
        "image_debian12:tests/image/debian12_image_test.cpp:Debian12Image.FstabAndKernelCommandLineNameTheFileSystemsUuids"}},
      {"systemConfig.kernel.packages",
       {"config_merge:config/merge_test.cpp:Merge.KernelFieldsOverrideAndPackagesAreReplaced",
        "config_merge:config/merge_test.cpp:Merge.EmptyKernelPackagesKeepTheDefaults",
        "live_lock:tests/live/live_lock_test.cpp:LiveDebian12.LockChoosesTheSamePackagesAndVersionsAsApt"}},
      {"systemConfig.kernel.enableExtraModules",
       {"supervisor_image_jobs:supervisor/build/image_jobs_test.cpp:ImageJobs.InstallRequestCarriesTheOsConfiguration",
        "installer_initramfs:stages/installer/initramfs_test.cpp:"
        "InitramfsTest.ExtraModulesAreListedForInitramfsToolsAndPassedToDracut",
        "installer_initramfs:stages/installer/initramfs_test.cpp:InitramfsTest.AnExtraModuleTheKernelLacksIsAnErrorNamingIt"}},
      {"systemConfig.kernel.uki",
       {"supervisor_image_jobs:supervisor/build/image_jobs_test.cpp:ImageJobs.InstallAndDiskRequestsCarryTheKernelsUki",
        "installer_bootloader:stages/installer/bootloader_test.cpp:"
        "BootLoaderTest.BuildsAUkiAsTheOnlyBootBinaryWithoutABootManager"}},
      {"systemConfig.bootloader.bootType",
       {"supervisor_image_jobs:supervisor/build/image_jobs_test.cpp:ImageJobs.InstallRequestCarriesTheOsConfiguration",
        "config_unbuilt_keys:config/unbuilt_keys_test.cpp:UnbuiltKeys.XfsAndLegacyBootOfADiskImageAreNamed"}},
      {"systemConfig.bootloader.provider",
       {"supervisor_image_jobs:supervisor/build/image_jobs_test.cpp:ImageJobs.InstallRequestCarriesTheOsConfiguration",
        "installer_bootloader:stages/installer/bootloader_test.cpp:"
        "BootLoaderTest.InstallsSystemdBootWithAnEntryAndTheKernelOnTheEsp"}},
      {"systemConfig.immutability.enabled",
       {"image_verity:tests/image/verity_image_test.cpp:VerityImage.BootsUnderSecureBootWithAVerifiedReadOnlyRootAndWritableState",
        "config_unbuilt_keys:config/unbuilt_keys_test.cpp:UnbuiltKeys.AVerityRootIsBuiltWithAUkiOrGrubOnARawDisk",
        "image_verity:tests/image/verity_image_test.cpp:GrubSecureBootImage.BootsToLoginUnderSecureBoot",
        "config_merge:config/merge_test.cpp:Merge.ImmutabilityIsForcedOffWithoutAHashPartition"}},
      {"systemConfig.immutability.secureBootDBKey",
       {"image_verity:tests/image/verity_image_test.cpp:VerityImage.TheFirmwareRefusesTheUkiWithAChangedByte",
        "image_verity:tests/image/verity_image_test.cpp:GrubSecureBootImage.GrubRefusesTheKernelWithAChangedByte",
        "image_iso:tests/image/iso_images_test.cpp:IsoImages.GrubRefusesTheIsosKernelWithAChangedByte",
        "installer_bootloader:stages/installer/bootloader_test.cpp:"
        "BootLoaderTest.SecureBootPutsShimGrubAndTheKernelOnTheEsp",
        "config_unbuilt_keys:config/unbuilt_keys_test.cpp:UnbuiltKeys.SecureBootKeysAreBuiltForRawDisksAndIsosWithGrubOrSystemdBootAndAUki",
        "supervisor_secure_boot:supervisor/build/secure_boot_test.cpp:"
        "SecureBootKeys.RelativePathsAreBesideTheTemplate",
        "supervisor_secure_boot:supervisor/build/secure_boot_test.cpp:EspCopy.SigningJobsCarryTheKeyOnlyInTheSignRequest",
        "secure_boot_esp:tests/cli/secure_boot_esp_test.cpp:"
        "SecureBootEsp.EveryEfiBinaryIsSignedAndPassesSbverifyWithTheDbCertificate"}},
      {"systemConfig.immutability.secureBootDBCrt",
       {"image_verity:tests/image/verity_image_test.cpp:VerityImage.TheFirmwareRefusesTheUkiWithAChangedByte",
        "image_iso:tests/image/iso_images_test.cpp:IsoImages.IsosBootChainIsSignedWithTheDbKey",
        "config_unbuilt_keys:config/unbuilt_keys_test.cpp:UnbuiltKeys.SecureBootKeysAreBuiltForRawDisksAndIsosWithGrubOrSystemdBootAndAUki",
        "secure_boot_esp:tests/cli/secure_boot_esp_test.cpp:"
        "SecureBootEsp.EveryEfiBinaryIsSignedAndPassesSbverifyWithTheDbCertificate",
        "secure_boot_esp:tests/cli/secure_boot_esp_test.cpp:"
        "SecureBootEsp.AKeyThatDoesNotMatchItsCertificateStopsTheBuildAndChangesNothing"}},
      {"systemConfig.immutability.secureBootDBCer",
       {"image_verity:tests/image/verity_image_test.cpp:VerityImage.TheRootHashIsInTheUkiAndVerifiesTheRootPartition",
        "image_iso:tests/image/iso_images_test.cpp:IsoImages.IsosBootChainIsSignedWithTheDbKey",
        "config_unbuilt_keys:config/unbuilt_keys_test.cpp:UnbuiltKeys.SecureBootKeysAreBuiltForRawDisksAndIsosWithGrubOrSystemdBootAndAUki",
        "supervisor_secure_boot:supervisor/build/secure_boot_test.cpp:"
        "SecureBootKeys.TheDbCertificateIsReadWithoutFollowingALink"}},
      {"systemConfig.users[].name",
       {"installer_os_config:stages/installer/os_config_test.cpp:OsConfigTest.CreatesMissingGroupsThenTheUserWithItsHash",
        "config_merge:config/merge_test.cpp:Merge.UsersMergeByNameDefaultOrderThenNewOnesInUserOrder"}},
      {"systemConfig.users[].password",
       {"supervisor_image_jobs:supervisor/build/image_jobs_test.cpp:ImageJobs.InstallRequestCarriesTheOsConfiguration",
        "image_debian12:tests/image/debian12_image_test.cpp:Debian12Image.TemplateUserHasAHashedPasswordHomeAndGroups",
        "config_validate:config/validate_test.cpp:ValidateTest.ChecksPasswordsAndTheirHashAlgorithm"}},
      {"systemConfig.users[].hash_algo",
       {"supervisor_password_hash:supervisor/build/password_hash_test.cpp:PasswordHash.HashesWithTheAlgorithmsPrefixAndVerifies",
        "supervisor_password_hash:supervisor/build/password_hash_test.cpp:PasswordHashInput.RefusesMd5AndUnknownAlgorithms"}},
      {"systemConfig.users[].passwordMaxAge",
       {"supervisor_image_jobs:supervisor/build/image_jobs_test.cpp:ImageJobs.InstallRequestCarriesTheOsConfiguration",
        "installer_os_config:stages/installer/os_config_test.cpp:"
        "OsConfigTest.PasswordMaxAgeIsSetWithTheImagesChageAfterThePassword",
        "installer_os_config:stages/installer/os_config_test.cpp:"
        "OsConfigTest.PasswordMaxAgeWithoutChageOrOutOfRangeIsAnErrorNamingTheUser"}},
      {"systemConfig.users[].startupScript",
       {"installer_os_config:stages/installer/os_config_test.cpp:"
        "OsConfigTest.TheStartupScriptBecomesTheLoginShellOnceAdditionalFilesArePlaced",
        "hermetic_initrd:tests/hermetic/hermetic_initrd_test.cpp:"
        "HermeticInitrd.RootsLoginShellIsItsStartupScriptPlacedAsAnAdditionalFile"}},
      {"systemConfig.users[].groups",
       {"supervisor_image_jobs:supervisor/build/image_jobs_test.cpp:ImageJobs.InstallRequestCarriesEachUsersGroupsHomeAndShell",
        "installer_os_config:stages/installer/os_config_test.cpp:OsConfigTest.CreatesMissingGroupsThenTheUserWithItsHash"}},
      {"systemConfig.users[].sudo",
       {"supervisor_image_jobs:supervisor/build/image_jobs_test.cpp:ImageJobs.InstallRequestCarriesTheOsConfiguration",
        "installer_os_config:stages/installer/os_config_test.cpp:OsConfigTest.ASudoUserJoinsTheDistributionsSudoGroup"}},
      {"systemConfig.users[].home",
       {"supervisor_image_jobs:supervisor/build/image_jobs_test.cpp:ImageJobs.InstallRequestCarriesEachUsersGroupsHomeAndShell",
        "installer_os_config:stages/installer/os_config_test.cpp:"
        "OsConfigTest.LocksTheAccountWhenNoHashIsGivenAndSkipsSudoersWithoutSudo"}},
      {"systemConfig.users[].shell",
       {"supervisor_image_jobs:supervisor/build/image_jobs_test.cpp:ImageJobs.InstallRequestCarriesEachUsersGroupsHomeAndShell",
        "installer_os_config:stages/installer/os_config_test.cpp:"
        "OsConfigTest.LocksTheAccountWhenNoHashIsGivenAndSkipsSudoersWithoutSudo"}},
      {"systemConfig.initramfs.template",
       {"config_initramfs:config/initramfs_test.cpp:LiveTemplate.TheUsersValueIsResolvedInTheUsersDirectoryAndMerged",
        "supervisor_iso_build:supervisor/build/iso_build_test.cpp:IsoRequest.CarriesTheLiveEnvironmentTheFilesAndThePackages",
        "config_initramfs:config/initramfs_test.cpp:LiveTemplate.AMissingOrUnsetLiveTemplateIsAnErrorNamingTheIsoTemplate"}},
      {"systemConfig.additionalFiles[].local",
       {"supervisor_image_jobs:supervisor/build/image_jobs_test.cpp:ImageJobs.AdditionalFilesResolveAgainstTheirTemplateAndTravelAsFds",
        "additional_files:supervisor/build/additional_files_test.cpp:"
        "AdditionalFilesOfAMerge.AFileFoundNowhereFailsNamingTheEntryTheTemplateAndThePathsTried"}},
      {"systemConfig.additionalFiles[].final",
       {"installer_os_config:stages/installer/os_config_test.cpp:AdditionalFileTest.CopiesWithModeAndCreatesParents",
        "image_debian12:tests/image/debian12_image_test.cpp:Debian12Image.AdditionalFileHasItsContentAndMode"}},
      {"systemConfig.configurations[].cmd",
       {"supervisor_image_jobs:supervisor/build/image_jobs_test.cpp:ImageJobs.InstallRequestCarriesTheOsConfiguration",
        "image_debian12:tests/image/debian12_image_test.cpp:Debian12Image.ConfigurationCommandRanInTheImage",
        "installer_os_config:stages/installer/os_config_test.cpp:OsConfigTest.StopsAtTheFirstFailingCommand"}},
  };
  return table;
}

fs::path source_root() { return OIC_SOURCE_ROOT; }

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

struct TestRef {
  std::string meson_test;
  std::string file;
  std::string suite;
  std::string test_case;
};

// "<meson test>:<file>:<Suite>.<Case>", or nothing when it is not that shape.
std::optional<TestRef> parse_ref(const std::string& text) {
  static const std::regex shape(R"(^([A-Za-z0-9_]+):([A-Za-z0-9_/.-]+\.cpp):([A-Za-z0-9_]+)\.([A-Za-z0-9_]+)$)");
  std::smatch m;
  if (!std::regex_match(text, m, shape)) return std::nullopt;
  return TestRef{m[1], m[2], m[3], m[4]};
}

// Empty when the case is defined in the file and the file belongs to the
// meson test; else what is wrong.
std::string check_ref(const TestRef& ref) {
  const fs::path file = source_root() / ref.file;
  if (!fs::is_regular_file(file)) return ref.file + " does not exist";
  const std::regex defined("TEST(_F|_P)?\\(\\s*" + ref.suite + "\\s*,\\s*" + ref.test_case + "\\s*\\)");
  if (!std::regex_search(read_text(file), defined))
    return ref.file + " defines no test case " + ref.suite + "." + ref.test_case;
  // The nearest meson.build that names the file (or its stem, for
  // foreach-built tests) declares the test: by its literal name with the
  // file beside it, or as '<prefix>' + <stem> for the file's stem.
  const std::string stem = fs::path(ref.file).stem().string();
  const std::string short_stem = stem.ends_with("_test") ? stem.substr(0, stem.size() - 5) : stem;
  for (fs::path dir = file.parent_path(); dir.string().size() >= source_root().string().size(); dir = dir.parent_path()) {
    const fs::path build = dir / "meson.build";
    if (!fs::is_regular_file(build)) continue;
    const std::string text = read_text(build);
    const std::string relative = fs::relative(file, dir).string();
    const std::string relative_stem = relative.substr(0, relative.size() - stem.size() - 4) + short_stem;
    const bool names_file = text.find("'" + relative + "'") != std::string::npos ||
                            text.find("'" + short_stem + "'") != std::string::npos ||
                            text.find("'" + relative_stem + "'") != std::string::npos;
    if (!names_file) continue;
    // test('<name>', executable(..., '<file>' ...)) or '<name>': files('<file>').
    const std::size_t literal = text.find("'" + ref.meson_test + "'");
    if (literal != std::string::npos) {
      const std::string call = text.substr(literal, 300);
      if (call.find(relative) != std::string::npos || call.find("'" + short_stem + "'") != std::string::npos) return "";
    }
    // foreach t : [..., '<stem>', ...] test('<prefix>' + t, ... t + '_test.cpp').
    const std::string prefix = ref.meson_test.substr(0, ref.meson_test.size() - std::min(ref.meson_test.size(),
                                                                                         short_stem.size()));
    if (ref.meson_test.ends_with("_" + short_stem) && text.find("'" + prefix + "' +") != std::string::npos) return "";
    return build.string() + " declares no test '" + ref.meson_test + "' for " + ref.file;
  }
  return "no meson.build above " + ref.file + " builds it";
}

std::string check_entry(const std::string& text) {
  const auto ref = parse_ref(text);
  if (!ref) return "'" + text + "' is not <meson test>:<file>:<Suite>.<Case>";
  return check_ref(*ref);
}

std::set<std::string> all_keys() {
  std::set<std::string> keys(kReferenceKeys.begin(), kReferenceKeys.end());
  keys.insert(kOwnKeys.begin(), kOwnKeys.end());
  return keys;
}

TEST(TemplateKeys, EveryKeyHasAnEntryAndEveryEntryIsAKey) {
  std::map<std::string, int> entries;
  for (const KeyTests& k : key_table()) {
    ++entries[k.key];
    EXPECT_FALSE(k.tests.empty()) << k.key << ": no test named";
  }
  for (const auto& key : all_keys()) EXPECT_EQ(entries[key], 1) << key << ": needs exactly one entry in the table";
  const std::set<std::string> keys = all_keys();
  for (const auto& [key, count] : entries) EXPECT_TRUE(keys.contains(key)) << key << ": not a template key";
  EXPECT_EQ(kReferenceKeys.size(), 64u) << "the reference schema's leaf keys";
}

TEST(TemplateKeys, EveryNamedTestCaseExistsInItsMesonTest) {
  for (const KeyTests& k : key_table()) {
    for (const std::string& test : k.tests) EXPECT_EQ(check_entry(test), "") << k.key;
  }
}

// The checker itself: a real case passes; a made-up case, a file not in its
// meson test and a malformed entry do not.
TEST(TemplateKeys, TheCheckerRejectsMadeUpCasesFilesAndTests) {
  EXPECT_EQ(check_entry("config_merge:config/merge_test.cpp:Merge.UserImageNameAndVersionWin"), "");
  EXPECT_EQ(check_entry("installer_os_config:stages/installer/os_config_test.cpp:OsConfigTest.WritesHostnameAndHosts"), "");
  EXPECT_NE(check_entry("config_merge:config/merge_test.cpp:Merge.NoSuchCase"), "");
  EXPECT_NE(check_entry("config_merge:config/merge_test.cpp:Merg.UserImageNameAndVersionWin"), "");
  EXPECT_NE(check_entry("config_emit:config/merge_test.cpp:Merge.UserImageNameAndVersionWin"), "");
  EXPECT_NE(check_entry("config_merge:config/no_such_test.cpp:Merge.UserImageNameAndVersionWin"), "");
  EXPECT_NE(check_entry("Merge.UserImageNameAndVersionWin"), "");
}

TEST(TemplateKeys, DocsListEveryKey) {
  const std::string docs = read_text(source_root() / "docs" / "templates.md");
  for (const auto& key : all_keys()) {
    const std::regex named("`" + std::regex_replace(key, std::regex(R"([.\[\]])"), R"(\$&)") + "(?![A-Za-z0-9_])");
    EXPECT_TRUE(std::regex_search(docs, named)) << "docs/templates.md does not name `" << key << "`";
  }
}

// The parser's key tables: `constexpr std::array<std::string_view, N> kXKeys{...}`.
std::map<std::string, std::vector<std::string>> parser_key_arrays(const fs::path& file) {
  const std::string text = read_text(file);
  const std::regex array(R"(std::array<std::string_view,\s*\d+>\s*(k[A-Za-z]*Keys)\s*\{([^}]*)\})");
  const std::regex quoted("\"([^\"]*)\"");
  std::map<std::string, std::vector<std::string>> arrays;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), array); it != std::sregex_iterator(); ++it) {
    const std::string body = (*it)[2];
    auto& keys = arrays[(*it)[1]];
    for (auto q = std::sregex_iterator(body.begin(), body.end(), quoted); q != std::sregex_iterator(); ++q)
      keys.push_back((*q)[1]);
  }
  return arrays;
}

// Each key table of the parser and the path its keys sit under.
const std::map<std::string, std::string> kTemplateParserArrays = {
    {"kTopKeys", ""}, {"kMetadataKeys", "metadata."}, {"kImageKeys", "image."}, {"kTargetKeys", "target."},
    {"kDiskKeys", "disk."}, {"kArtifactKeys", "disk.artifacts[]."}, {"kPartitionKeys", "disk.partitions[]."},
    {"kRepositoryKeys", "packageRepositories[]."}};
const std::map<std::string, std::string> kSystemConfigParserArrays = {
    {"kSystemConfigKeys", "systemConfig."}, {"kKernelKeys", "systemConfig.kernel."},
    {"kBootloaderKeys", "systemConfig.bootloader."}, {"kImmutabilityKeys", "systemConfig.immutability."},
    {"kUserKeys", "systemConfig.users[]."}, {"kInitramfsKeys", "systemConfig.initramfs."},
    {"kAdditionalFileKeys", "systemConfig.additionalFiles[]."}, {"kConfigurationKeys", "systemConfig.configurations[]."}};

// The keys the parser accepts, as paths; a section is listed by its own path.
std::set<std::string> parser_paths() {
  std::set<std::string> paths;
  for (const auto& [file, prefixes] : {std::pair{"config/template_parser.cpp", &kTemplateParserArrays},
                                       std::pair{"config/system_config_parser.cpp", &kSystemConfigParserArrays}}) {
    const auto arrays = parser_key_arrays(source_root() / file);
    EXPECT_EQ(arrays.size(), prefixes->size()) << file << ": a key table was added or removed; map it here";
    for (const auto& [name, keys] : arrays) {
      const auto prefix = prefixes->find(name);
      if (prefix == prefixes->end()) {
        ADD_FAILURE() << file << ": key table " << name << " is not mapped to its path here";
        continue;
      }
      EXPECT_FALSE(keys.empty()) << file << ": " << name << " read as empty";
      for (const auto& key : keys) paths.insert(prefix->second + key);
    }
  }
  return paths;
}

bool is_section_of_a_key(const std::string& path, const std::set<std::string>& keys) {
  return std::any_of(keys.begin(), keys.end(), [&](const std::string& key) {
    return key.starts_with(path + ".") || key.starts_with(path + "[].");
  });
}

TEST(TemplateKeys, EveryKeyTheParserAcceptsIsInTheTableAndNoOther) {
  const std::set<std::string> accepted = parser_paths();
  const std::set<std::string> keys = all_keys();
  for (const auto& path : accepted) {
    EXPECT_TRUE(keys.contains(path) || is_section_of_a_key(path, keys))
        << path << ": accepted by the parser but has no entry (and test) in the table";
  }
  for (const auto& key : keys) EXPECT_TRUE(accepted.contains(key)) << key << ": in the table but refused by the parser";
  EXPECT_GE(accepted.size(), keys.size());
}

}  // namespace
