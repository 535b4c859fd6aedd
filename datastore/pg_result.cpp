#include "datastore/pg_result.h"

namespace kc::datastore {

int Rows::column(std::string_view name) const {
  for (size_t i = 0; i < columns.size(); ++i)
    if (columns[i] == name) return static_cast<int>(i);
  return -1;
}

std::optional<std::string> Rows::get(size_t row, std::string_view name) const {
  int col = column(name);
  if (col < 0 || row >= rows.size()) return std::nullopt;
  return rows[row][static_cast<size_t>(col)];
}

std::string PgError::describe() const {
  std::string out = "postgres " + host + ":" + std::to_string(port) + "/" + database + ": ";
  if (!sqlstate.empty()) out += "[" + sqlstate + "] ";
  return out + message;
}

}  // namespace kc::datastore
