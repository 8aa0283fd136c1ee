// os-image-composer: parses the command line and runs one verb (cli.cpp).
#include <iostream>
#include <string>
#include <vector>

#include "supervisor/cli/cli.hpp"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);
  return supervisor::cli::run(args, std::cout);
}
