# stage-fetcher's contract: downloads files into one output directory
# (network on). The envelope that carries it: ipc/stage.capnp.

@0x80da7e9324eb1f66;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("ipc::proto");
using import "/ipc/shared.capnp".FdRef;

struct FetcherRequest {
  struct Download {
    url @0 :Text;
    destName @1 :Text;          # plain file name inside outputDir, no '/'
    expectedSha256 @2 :Text;    # lowercase hex; empty = unknown
    expectedSize @3 :Int64 = -1;
    # Without expectedSize (an index, a key, an InRelease), a body longer
    # than this is refused; the supervisor sets it per kind of file.
    maxSize @4 :UInt64 = 268435456;
    # What anchors the content, named in the warning on a plain http download.
    enum CheckedBy {
      signature @0;          # a signature, or a hash from signed metadata
      packageSignatures @1;  # unsigned metadata (an unsigned repomd.xml, what it lists): only the packages' own
      nothing @2;            # a repository marked trusted: no signature at all
    }
    checkedBy @5 :CheckedBy = signature;
  }
  struct Proxy {
    http @0 :Text;
    https @1 :Text;
    noProxy @2 :Text;
  }
  downloads @0 :List(Download);
  outputDir @1 :FdRef;
  workers @2 :UInt32 = 4;
  retries @3 :UInt32 = 3;
  perFileTimeoutSec @4 :UInt32 = 300;
  totalTimeoutSec @5 :UInt32 = 3600;
  allowPlainHttp @6 :Bool = false;  # only for indexes checked by signature afterwards
  proxy @7 :Proxy;                  # inherited from the supervisor's environment
  userAgent @8 :Text;
}

struct FetcherResult {
  struct File {
    url @0 :Text;
    destName @1 :Text;
    sha256 @2 :Text;
    size @3 :UInt64;
    resumed @4 :Bool;
    attempts @5 :UInt32;
  }
  files @0 :List(File);
  bytesTotal @1 :UInt64;
}
