# stage-signer's contract: the only stage that is given a private key. It
# makes and checks signatures offline, each in a GnuPG home that exists only
# inside its sandbox. The envelope that carries it: ipc/stage.capnp.
#
# One operation per request, a union: an operation added later (Secure Boot's
# sbsign of an EFI binary) becomes another member beside these.

@0xf3121a277c0d20a4;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("ipc::proto");
using import "/ipc/shared.capnp".FdRef;

struct SignerRequest {
  union {
    signDetached @0 :SignDetached;
    verifyDetached @1 :VerifyDetached;
  }

  # A detached, armored OpenPGP signature of `file` by the one secret key in
  # `key` (armored or binary; a key protected by a passphrase is refused).
  struct SignDetached {
    key @0 :FdRef;
    keyName @1 :Text;           # the key file as the user named it, for messages only
    file @2 :FdRef;
    fileName @3 :Text;          # for messages only
  }

  # Checks `signature` (detached) over `file` against the public keys in `key`.
  struct VerifyDetached {
    key @0 :FdRef;
    keyName @1 :Text;
    file @2 :FdRef;
    fileName @3 :Text;
    signature @4 :FdRef;
  }
}

struct SignerResult {
  union {
    signDetached @0 :Signed;
    verifyDetached @1 :Verified;
  }

  struct Signed {
    signature @0 :Text;         # "-----BEGIN PGP SIGNATURE-----" ...
    fingerprint @1 :Text;       # the signing key's primary fingerprint (upper-case hex)
  }

  # A signature that does not check out is a result, not a stage error: the
  # caller reports it as a failed check (verify exits 1, not 2).
  struct Verified {
    good @0 :Bool;
    fingerprint @1 :Text;       # the accepted signer's primary key, when good
    problem @2 :Text;           # why not, when not good
  }
}
