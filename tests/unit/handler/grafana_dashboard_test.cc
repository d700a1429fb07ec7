// conf/grafana/rbdtier.json against the metrics the gateway exports: every metric name in the
// dashboard's PromQL (panel targets and template queries) is a family render_metrics() declares
// (a histogram's _bucket/_sum/_count samples count as their family), and every panel asks for
// something.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "handler/gateway.h"
#include "handler/metrics_server.h"

namespace rbdtier {
namespace {

// name -> type, from the "# TYPE name type" lines of the exposition.
std::map<std::string, std::string> exported_families() {
    Gateway gateway({}, "/nonexistent.conf");
    std::istringstream text(render_metrics(gateway));
    std::map<std::string, std::string> out;
    for (std::string line; std::getline(text, line);) {
        std::istringstream words(line);
        std::string hash, kind, name, type;
        if (words >> hash >> kind >> name >> type && hash == "#" && kind == "TYPE")
            out[name] = type;
    }
    return out;
}

void collect_exprs(const nlohmann::json& j, std::vector<std::string>& out) {
    if (j.is_object()) {
        for (const auto& [key, value] : j.items()) {
            if ((key == "expr" || key == "query" || key == "definition") && value.is_string())
                out.push_back(value.get<std::string>());
            else
                collect_exprs(value, out);
        }
    } else if (j.is_array()) {
        for (const auto& v : j) collect_exprs(v, out);
    }
}

TEST(GrafanaDashboard, AsksOnlyForMetricsTheGatewayExports) {
    std::ifstream in(RBDTIER_GRAFANA_DASHBOARD);
    ASSERT_TRUE(in) << RBDTIER_GRAFANA_DASHBOARD;
    const nlohmann::json dashboard = nlohmann::json::parse(in, nullptr, false);
    ASSERT_FALSE(dashboard.is_discarded()) << "not JSON";
    ASSERT_TRUE(dashboard["panels"].is_array());

    const auto families = exported_families();
    ASSERT_GT(families.size(), 10u);
    std::vector<std::string> exprs;
    collect_exprs(dashboard, exprs);
    ASSERT_FALSE(exprs.empty());
    const std::regex metric("rbdtier_[a-z0-9_]+");
    std::set<std::string> used;
    for (const std::string& expr : exprs) {
        for (auto it = std::sregex_iterator(expr.begin(), expr.end(), metric);
             it != std::sregex_iterator(); ++it) {
            std::string name = it->str();
            for (const char* suffix : {"_bucket", "_sum", "_count"}) {
                const std::string s = suffix;
                if (name.size() > s.size() && name.ends_with(s)) {
                    const std::string base = name.substr(0, name.size() - s.size());
                    if (families.count(base) && families.at(base) == "histogram") name = base;
                }
            }
            EXPECT_TRUE(families.count(name)) << name << " in: " << expr;
            used.insert(name);
        }
    }
    // The dashboard covers what it is for.
    for (const char* needed : {"rbdtier_lun_io_latency_seconds", "rbdtier_lun_ios_total",
                               "rbdtier_engine_bytes_moved_total", "rbdtier_engine_queue_length",
                               "rbdtier_forecast_precision_ratio", "rbdtier_tenant_used_bytes",
                               "rbdtier_tenant_quota_bytes", "rbdtier_health_status"})
        EXPECT_TRUE(used.count(needed)) << needed;
    for (const auto& panel : dashboard["panels"]) {
        ASSERT_TRUE(panel["targets"].is_array()) << panel.dump();
        EXPECT_FALSE(panel["targets"].empty()) << panel.value("title", "");
    }
}

}  // namespace
}  // namespace rbdtier
