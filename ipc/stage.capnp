# The protocol between the supervisor and its stage processes.
#
# One Unix stream socket per stage (fd 3 in the stage by convention). Every frame
# carries one `Message`: the supervisor sends exactly one `request` (with the fds
# it refers to) and may later send `cancel`; the stage sends any number of
# `progress` and `log` messages and then exactly one `result` or `error`.
# Framing, limits and phases: docs/stage-protocol.md.
#
# Paths in requests are paths as seen INSIDE the stage sandbox. Files and
# directories the supervisor opens for the stage travel as fds (`FdRef.slot`).
# Integers that may be unknown use -1 (Int64) rather than 0, since 0 is valid.

@0xaf1f69396ac578ac;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("ipc::proto");
using import "/ipc/shared.capnp".FdRef;
using import "/stages/fetcher/fetcher.capnp".FetcherRequest;
using import "/stages/fetcher/fetcher.capnp".FetcherResult;
using import "/stages/verifier/verifier.capnp".VerifierRequest;
using import "/stages/verifier/verifier.capnp".VerifierResult;
using import "/stages/resolver/resolver.capnp".ResolverRequest;
using import "/stages/resolver/resolver.capnp".ResolverResult;
using import "/stages/installer/installer.capnp".InstallerRequest;
using import "/stages/installer/installer.capnp".InstallerResult;
using import "/stages/diskmaker/diskmaker.capnp".DiskmakerRequest;
using import "/stages/diskmaker/diskmaker.capnp".DiskmakerResult;
using import "/stages/isomaker/isomaker.capnp".IsomakerRequest;
using import "/stages/isomaker/isomaker.capnp".IsomakerResult;
using import "/stages/signer/signer.capnp".SignerRequest;
using import "/stages/signer/signer.capnp".SignerResult;
using import "/stages/inspector/inspector.capnp".InspectorRequest;
using import "/stages/inspector/inspector.capnp".InspectorResult;

enum StageKind {
  fetcher @0;
  verifier @1;
  resolver @2;
  installer @3;
  diskmaker @4;
  isomaker @5;
  signer @6;
  inspector @7;
  # A stage added later takes the next ordinal (@8); Cap'n Proto ordinals
  # are dense, so the ones above never change.
}

struct Message {
  union {
    request @0 :StageRequest;    # supervisor -> stage, first and once
    progress @1 :Progress;       # stage -> supervisor
    log @2 :LogLine;             # stage -> supervisor
    result @3 :StageResult;      # stage -> supervisor, last
    error @4 :Error;             # stage -> supervisor, last (instead of result)
    cancel @5 :Cancel;           # supervisor -> stage, after the request
  }
}

struct Error {
  # How the receiver should react, not what went wrong (mirrors ipc::ErrorKind).
  enum Kind {
    failed @0;            # report, never retry
    invalidInput @1;      # bad template, metadata or request: report
    overloaded @2;        # retry later
    disconnected @3;      # the peer died or closed the socket
    unimplemented @4;     # feature not available: fall back or report
    sandboxViolation @5;  # SIGSYS or a denied operation: report loudly
  }
  struct Detail {
    key @0 :Text;
    value @1 :Text;
  }
  kind @0 :Kind;
  message @1 :Text;
  context @2 :List(Text);   # innermost first
  errnoValue @3 :Int32;
  hint @4 :Text;
  stage @5 :Text;
  details @6 :List(Detail); # e.g. "where" = "file.cpp:42"
}

struct Progress {
  stage @0 :StageKind;
  phase @1 :Text;           # "download", "unpack", "configure", ...
  done @2 :UInt64;          # generic work units of this phase
  total @3 :UInt64;         # 0 = unknown
  bytesDone @4 :UInt64;
  bytesTotal @5 :UInt64;    # 0 = unknown
  filesDone @6 :UInt32;
  filesTotal @7 :UInt32;    # 0 = unknown
  ratePerSec @8 :Float64;   # bytes per second when known, else 0
  item @9 :Text;            # what is being worked on now (file or package name)
}

struct LogLine {
  enum Level {
    debug @0;
    info @1;
    warning @2;
    error @3;
  }
  level @0 :Level;
  text @1 :Text;
}

struct Cancel {
  reason @0 :Text;
}

struct StageRequest {
  fdCount @0 :UInt32;          # fds attached to the request frame; checked on receipt
  sourceDateEpoch @1 :Int64 = -1;  # timestamps for reproducible output; -1 = unset
  union {
    fetcher @2 :FetcherRequest;
    verifier @3 :VerifierRequest;
    resolver @4 :ResolverRequest;
    installer @5 :InstallerRequest;
    diskmaker @6 :DiskmakerRequest;
    isomaker @7 :IsomakerRequest;
    signer @8 :SignerRequest;
    inspector @9 :InspectorRequest;
  }
}

struct StageResult {
  union {
    fetcher @0 :FetcherResult;
    verifier @1 :VerifierResult;
    resolver @2 :ResolverResult;
    installer @3 :InstallerResult;
    diskmaker @4 :DiskmakerResult;
    isomaker @5 :IsomakerResult;
    signer @6 :SignerResult;
    inspector @7 :InspectorResult;
  }
  # Where the stage's time went, one entry per progress phase in the order
  # first entered (a phase entered again adds to its entry); "start" is the
  # time before the first phase. Filled in by ipc::run_stage, not by the
  # stage's handler; shown in the supervisor's timing table.
  steps @8 :List(StepTime);
}

struct StepTime {
  name @0 :Text;
  milliseconds @1 :UInt64;      # wall time
  cpuMilliseconds @2 :UInt64;   # user + system of the stage and the children it waited for
}
