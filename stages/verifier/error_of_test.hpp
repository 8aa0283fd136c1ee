// Test helper shared by the verifier's tests: the message of the
// invalid-input error a call throws. Header-only, for GoogleTest.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "base/error.hpp"

namespace stage::verifier::test {

// Runs f; returns the message of the base::Error it throws, and fails the
// test when it throws nothing or an error of another kind (bad input must be
// reported as bad input, never as an internal error).
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const base::Error& e) {
    EXPECT_EQ(e.kind(), base::ErrorKind::kInvalidInput) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error thrown";
  return {};
}

}  // namespace stage::verifier::test
