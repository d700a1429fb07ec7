// admin_view(): what the gateway's admin side (handler/gateway.h) is shown of an open LUN — its
// names and size, its RADOS client and home image, a tiered LUN's tier images, map, migrator,
// rounds and watch, the tiering problem, the settings in effect and their problems, the policy,
// horizon and round in force, and who sends its commands. The one place a Lun is described to
// the admin side; the Lun itself serves I/O only.
//
// Thread-safety: call it from the thread that opened the LUN, before the LUN serves the admin
// side. What the caller owes: the GatewayLun's pointers and functions refer to `lun` (and
// `metrics`): the registration that holds it must end before the Lun (and the metrics) go.
#pragma once

#include "handler/gateway.h"
#include "handler/gateway_config.h"
#include "handler/lun.h"
#include "handler/lun_io_metrics.h"

namespace rbdtier {

// `gateway` is the gateway config `lun` was opened with (a plain LUN's settings come from it and
// the LUN's config alone); `metrics` the LUN's I/O metrics, or null when none are kept.
GatewayLun admin_view(Lun& lun, const LunIoMetrics* metrics, const GatewayConfig& gateway);

}  // namespace rbdtier
