#include "kube/yaml.h"

#include <yaml.h>

#include <memory>
#include <stdexcept>

namespace kc::kube {
namespace {

nlohmann::json convert(yaml_document_t* doc, yaml_node_t* node, int depth) {
  // Aliases can make a document a graph; a depth bound keeps a hostile file from recursing
  // forever.
  if (!node || depth > 64) throw std::runtime_error("yaml: document too deep");
  switch (node->type) {
    case YAML_SCALAR_NODE:
      return std::string(reinterpret_cast<const char*>(node->data.scalar.value),
                         node->data.scalar.length);
    case YAML_SEQUENCE_NODE: {
      auto out = nlohmann::json::array();
      for (auto* it = node->data.sequence.items.start; it < node->data.sequence.items.top; ++it)
        out.push_back(convert(doc, yaml_document_get_node(doc, *it), depth + 1));
      return out;
    }
    case YAML_MAPPING_NODE: {
      auto out = nlohmann::json::object();
      for (auto* p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top; ++p) {
        auto key = convert(doc, yaml_document_get_node(doc, p->key), depth + 1);
        if (!key.is_string()) throw std::runtime_error("yaml: mapping key is not a scalar");
        out[key.get<std::string>()] =
            convert(doc, yaml_document_get_node(doc, p->value), depth + 1);
      }
      return out;
    }
    default:
      return nullptr;
  }
}

}  // namespace

nlohmann::json yaml_to_json(const std::string& text) {
  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser)) throw std::runtime_error("yaml: out of memory");
  std::unique_ptr<yaml_parser_t, void (*)(yaml_parser_t*)> p(&parser, yaml_parser_delete);
  yaml_parser_set_input_string(&parser, reinterpret_cast<const unsigned char*>(text.data()),
                               text.size());
  yaml_document_t doc;
  if (!yaml_parser_load(&parser, &doc)) {
    throw std::runtime_error(std::string("yaml: ") + (parser.problem ? parser.problem : "error") +
                             " at line " + std::to_string(parser.problem_mark.line + 1));
  }
  std::unique_ptr<yaml_document_t, void (*)(yaml_document_t*)> d(&doc, yaml_document_delete);
  yaml_node_t* root = yaml_document_get_root_node(&doc);
  if (!root) return nullptr;  // empty file
  return convert(&doc, root, 0);
}

}  // namespace kc::kube
