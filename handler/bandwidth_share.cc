#include "handler/bandwidth_share.h"

#include <map>

namespace rbdtier {

std::vector<double> share_bandwidth(double total, const std::vector<std::string>& tenants) {
    std::map<std::string, std::size_t> luns_of;
    for (const std::string& t : tenants) ++luns_of[t];
    std::vector<double> out;
    out.reserve(tenants.size());
    for (const std::string& t : tenants)
        out.push_back(total / static_cast<double>(luns_of.size()) /
                      static_cast<double>(luns_of[t]));
    return out;
}

}  // namespace rbdtier
