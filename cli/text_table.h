// TextTable: the human output of the admin verbs: a header row and aligned columns, plus the
// number formats people read (binary byte units, percentages, durations).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

namespace rbdtier::cli {

class TextTable {
public:
    explicit TextTable(std::vector<std::string> header) : header_(std::move(header)) {}
    void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
    void print(std::ostream& out) const;

private:
    std::vector<std::string> header_;
    std::vector<std::vector<std::string>> rows_;
};

std::string human_bytes(std::uint64_t bytes);  // "4.0 MiB"
std::string percent(double fraction);          // "12.5%"
// A JSON scalar as a cell: strings bare, null as "-", booleans yes/no, numbers as they are.
std::string cell(const nlohmann::json& value);

}  // namespace rbdtier::cli
