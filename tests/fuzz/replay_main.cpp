// Without libFuzzer (the normal GCC build) each fuzz target still runs in the suite: every
// file of its corpus, then a fixed number of deterministic mutations of them (bit flips,
// truncations, insertions, splices), so a short fuzzing run is part of every test run.
// Usage: <target> CORPUS_DIR [MUTATIONS]
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR [MUTATIONS]\n", argv[0]);
    return 2;
  }
  size_t mutations = argc > 2 ? std::stoul(argv[2]) : 2000;
  std::vector<std::vector<uint8_t>> corpus;
  for (auto& entry : std::filesystem::directory_iterator(argv[1])) {
    std::ifstream in(entry.path(), std::ios::binary);
    corpus.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  if (corpus.empty()) corpus.push_back({});
  for (auto& input : corpus) LLVMFuzzerTestOneInput(input.data(), input.size());
  std::mt19937_64 rng(12345);
  auto pick = [&](size_t n) {
    return n ? std::uniform_int_distribution<size_t>(0, n - 1)(rng) : 0;
  };
  for (size_t i = 0; i < mutations; ++i) {
    auto input = corpus[pick(corpus.size())];
    switch (pick(4)) {
      case 0:
        if (!input.empty()) input[pick(input.size())] ^= uint8_t(1u << pick(8));
        break;
      case 1:
        input.resize(pick(input.size() + 1));
        break;
      case 2:
        input.insert(input.begin() + pick(input.size() + 1), uint8_t(pick(256)));
        break;
      default: {
        auto& other = corpus[pick(corpus.size())];
        input.insert(input.end(), other.begin(), other.begin() + pick(other.size() + 1));
      }
    }
    LLVMFuzzerTestOneInput(input.data(), input.size());
  }
  std::printf("%zu corpus inputs and %zu mutations ran without a crash\n", corpus.size(),
              mutations);
  return 0;
}
