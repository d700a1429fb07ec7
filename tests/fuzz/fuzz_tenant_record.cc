// Fuzz target: a tenant record as read from RADOS (StoredTenant::decode of an omap value of
// rbdtier_tenants). Input: the first line is the omap key (the name), the rest the value. A
// record that decodes has its weight and priority in range, survives encode() -> decode()
// unchanged and turns into a TenantSpec.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "ceph/tenant_store.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using rbdtier::ceph::StoredTenant;
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const std::size_t newline = input.find('\n');
    const std::string name(input.substr(0, newline));
    const std::string value(newline == std::string_view::npos ? "" : input.substr(newline + 1));
    (void)rbdtier::ceph::tenant_name_problem(name);
    const auto tenant = StoredTenant::decode(name, value);
    if (!tenant) return 0;
    if (!tenant->value_problem().empty()) std::abort();
    const auto again = StoredTenant::decode(name, tenant->encode());
    if (!again || !(*again == *tenant)) std::abort();
    (void)tenant->to_spec({"nvme-a", "hdd-a"});
    return 0;
}
