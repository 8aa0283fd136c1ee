# stage-resolver's contract: picks packages and an installation order (no
# network). The envelope that carries it: ipc/stage.capnp.

@0xc8f84d221c64012d;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("ipc::proto");
using import "/ipc/shared.capnp".FdRef;

enum PackageSource {
  dependency @0;
  essential @1;
  kernel @2;
  bootloader @3;
  system @4;                    # listed by the template
}

struct ResolverRequest {
  struct Index {
    repoName @0 :Text;
    baseUrl @2 :Text;           # package locations are relative to it
    priority @3 :Int32;         # higher wins when versions tie
    allowPackages @4 :List(Text);  # globs; empty = all
    union {
      packages @1 :FdRef;       # Debian: uncompressed Packages file
      rpm :group {
        primary @5 :FdRef;      # uncompressed primary.xml
        filelists @6 :FdRef;    # uncompressed filelists.xml; unset: file provides from primary only
      }
    }
  }
  struct Requested {
    name @0 :Text;              # exact name or glob
    version @1 :Text;           # pin, e.g. "= 1.2-3" or ">= 1.2"; empty = newest
    source @2 :PackageSource = system;
  }
  enum EssentialMode {
    required @0;                # Essential: yes and Priority: required
    essentialOnly @1;           # Essential: yes
    none @2;                    # only what was requested
  }
  indexes @0 :List(Index);       # all of the request's family
  requested @1 :List(Requested);
  architecture @2 :Text;        # the family's name: "amd64" (Debian), "x86_64" (RPM)
  excluded @4 :List(Text);      # never install these
  emitDotGraph @5 :Bool;
  family :union {
    deb :group {
      essential @3 :EssentialMode;
    }
    rpm @6 :Void;               # primary/filelists, rpm's version order and rich dependencies
  }
}

struct ResolverResult {
  struct Package {
    name @0 :Text;
    version @1 :Text;
    architecture @2 :Text;
    repo @3 :Text;
    url @4 :Text;
    filename @5 :Text;
    sha256 @6 :Text;
    size @7 :UInt64;
    source @8 :PackageSource;
    union {
      deb :group {
        essential @9 :Bool;
        preDepends @10 :List(Text);
      }
      rpm @11 :Void;
    }
  }
  packages @0 :List(Package);   # sorted by name
  installOrder @1 :List(Text);  # package names
  dotGraph @2 :Text;
  # RPM, when no index carried filelists: the file dependencies ('/...')
  # no package in primary provides that kept the request from resolving.
  # Set: packages and installOrder are empty; the request is to be sent
  # again with every repository's filelists.
  filelistsNeeded @3 :List(Text);
}
