// Device classes: the media a tier's pool stores its data on, as its CRUSH rule names them
// (`<bucket>~<class>`, Ceph's nvme, ssd and hdd), and what they say of an access to the tier.
// The media order the tiers of a site: nvme is faster than ssd, ssd faster than hdd, whatever a
// round trip measured on a loaded machine says. An access costs at least the class's floor
// (nvme 0.1 ms, ssd 0.3 ms, hdd 5 ms): the floors keep that order. A class other than these
// three, or none (""), says nothing. Pure functions: no thread-safety concern.
#pragma once

#include <optional>
#include <string_view>

namespace rbdtier {

// The rank of the class's media, fastest first (nvme 0, ssd 1, hdd 2); none when unknown.
constexpr std::optional<int> device_class_rank(std::string_view device_class) {
    if (device_class == "nvme") return 0;
    if (device_class == "ssd") return 1;
    if (device_class == "hdd") return 2;
    return std::nullopt;
}

// The least an access to the class's media costs, in µs; 0 when the class is unknown.
constexpr double device_class_floor_us(std::string_view device_class) {
    if (device_class == "nvme") return 100;
    if (device_class == "ssd") return 300;
    if (device_class == "hdd") return 5000;
    return 0;
}

}  // namespace rbdtier
