// YAML to JSON through libyaml, for kubeconfig files (the only YAML the operator reads).
// Scalars stay strings: kubeconfig values are all strings, and the caller converts.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace kc::kube {

// The first document of `text`; throws std::runtime_error with libyaml's message and position.
nlohmann::json yaml_to_json(const std::string& text);

}  // namespace kc::kube
