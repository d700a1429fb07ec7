// DriftPredictor: a hotspot that drifts steadily across a LUN will next cover the extents
// just ahead of it.
//
// Per LUN, each time bucket yields the centroid (mean extent index) and spread (standard
// deviation) of its accesses; a least-squares line through the last kHistory centroids gives
// the drift speed (extents per bucket) and its fit (R^2). When the fit is good and the speed
// real, predict() emits the extents the hot window will cover within H but does not cover yet,
// each with the accesses it should receive while covered (LUN rate / window width x time
// covered).
#pragma once

#include <array>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "engine/forecast/forecast.h"
#include "engine/io_event.h"

namespace rbdtier {

class DriftPredictor {
public:
    static constexpr std::size_t kHistory = 12;

    DriftPredictor(std::uint64_t extent_bytes, std::uint64_t bucket_us, double min_r2 = 0.8,
                   std::uint32_t max_ahead = 256)
        : extent_bytes_(extent_bytes),
          bucket_us_(bucket_us),
          min_r2_(min_r2),
          max_ahead_(max_ahead) {}

    void observe(const IoEvent& e);
    void predict(std::uint64_t now_us, std::uint64_t horizon_us, std::vector<ExtentForecast>& out);

    struct Fit {
        bool valid = false;
        double speed = 0;  // extents per bucket
        double r2 = 0;
        double centroid = 0;  // at the last complete bucket
        double spread = 0;
        double rate = 0;  // accesses per bucket
    };
    Fit fit(LunId lun) const;

private:
    struct Point {
        double bucket = 0, centroid = 0, spread = 0, count = 0;
    };
    struct Lun {
        std::uint64_t bucket = 0;
        double n = 0, sum = 0, sum2 = 0;
        std::array<Point, kHistory> history{};
        std::size_t points = 0;  // total pushed
    };
    void close_bucket(Lun& l);

    std::uint64_t extent_bytes_;
    std::uint64_t bucket_us_;
    double min_r2_;
    std::uint32_t max_ahead_;
    std::unordered_map<LunId, Lun> luns_;
};

}  // namespace rbdtier
