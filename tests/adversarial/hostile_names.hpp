// Names the hostile stage and its tests agree on.
#pragma once

namespace tests::adversarial {

// A file the test puts above every directory it hands the supervisor: a
// stage that finds it has left its sandbox.
inline constexpr const char* kSentinel = "oic-adversarial-sentinel";
// What a stage that found the sentinel (or a writable read-only dir) creates.
inline constexpr const char* kEscapeMark = "oic-adversarial-escaped";
// An abstract unix socket the test listens on in the host's network namespace.
inline constexpr const char* kAbstractListener = "oic-adversarial-listener";

}  // namespace tests::adversarial
