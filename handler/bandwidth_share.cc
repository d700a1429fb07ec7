#include "handler/bandwidth_share.h"

namespace rbdtier {

std::vector<double> share_bandwidth(double total, const std::vector<std::string>& tenants,
                                    const std::map<std::string, double>& weights) {
    auto weight_of = [&](const std::string& tenant) {
        auto it = weights.find(tenant);
        return it != weights.end() && it->second > 0 ? it->second : 1.0;
    };
    std::map<std::string, std::size_t> luns_of;
    for (const std::string& t : tenants) ++luns_of[t];
    double all_weights = 0;
    for (const auto& [tenant, luns] : luns_of) all_weights += weight_of(tenant);
    std::vector<double> out;
    out.reserve(tenants.size());
    for (const std::string& t : tenants)
        out.push_back(total * weight_of(t) / all_weights / static_cast<double>(luns_of[t]));
    return out;
}

}  // namespace rbdtier
