# stage-signer's contract: the only stage that is given a private key. It
# makes and checks signatures offline: OpenPGP ones each in a GnuPG home that
# exists only inside its sandbox, Secure Boot ones of EFI binaries with
# sbsign/sbverify on copies in its sandbox's own /tmp. The envelope that
# carries it: ipc/stage.capnp.
#
# One operation per request, a union.

@0xf3121a277c0d20a4;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("ipc::proto");
using import "/ipc/shared.capnp".FdRef;

struct SignerRequest {
  union {
    signDetached @0 :SignDetached;
    verifyDetached @1 :VerifyDetached;
    signEfi @2 :SignEfi;
    verifyEfi @3 :VerifyEfi;
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

  # `file`, an EFI binary (PE/COFF), signed for Secure Boot (sbsign) by the
  # PEM private key `key` (a template's secureBootDBKey; one protected by a
  # passphrase is refused) with the PEM X.509 `certificate`
  # (secureBootDBCrt), checked with sbverify against it, and written to
  # `output`: a regular file opened for writing (a slot, or a writable
  # path in request files).
  struct SignEfi {
    key @0 :FdRef;
    keyName @1 :Text;           # for messages only
    certificate @2 :FdRef;
    certName @3 :Text;          # for messages only
    file @4 :FdRef;
    fileName @5 :Text;          # for messages only
    output @6 :FdRef;
  }

  # sbverify --cert `certificate` of the EFI binary `file`.
  struct VerifyEfi {
    certificate @0 :FdRef;
    certName @1 :Text;
    file @2 :FdRef;
    fileName @3 :Text;
  }
}

struct SignerResult {
  union {
    signDetached @0 :Signed;
    verifyDetached @1 :Verified;
    signEfi @2 :SignedEfi;
    verifyEfi @3 :VerifiedEfi;
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

  # What was written to SignEfi's `output`.
  struct SignedEfi {
    sha256 @0 :Text;            # of the signed binary, lower-case hex
    size @1 :UInt64;            # its bytes
  }

  # As Verified: a binary that fails the check is a result, not an error.
  struct VerifiedEfi {
    good @0 :Bool;
    problem @1 :Text;           # sbverify's reason, when not good
  }
}
