#include "handler/metrics_server.h"

#include <algorithm>
#include <array>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <limits>
#include <map>
#include <sstream>
#include <thread>
#include <utility>

#include "handler/connection_guard.h"
#include "handler/gateway_health.h"

namespace rbdtier {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Tcp = asio::ip::tcp;

namespace {

std::string escape(const std::string& v) {
    std::string out;
    for (char c : v) {
        if (c == '\\' || c == '"') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}

// Collects samples per metric family and prints each family once with its HELP and TYPE.
class Exposition {
public:
    void family(const std::string& name, const std::string& type, const std::string& help) {
        order_.push_back(name);
        meta_[name] = "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
    }
    void sample(const std::string& family, const std::string& suffix, const std::string& labels,
                double value) {
        std::ostringstream line;
        line.precision(17);
        line << family << suffix;
        if (!labels.empty()) line << '{' << labels << '}';
        line << ' ' << value << '\n';
        samples_[family] += line.str();
    }
    std::string text() const {
        std::string out;
        for (const auto& f : order_) {
            out += meta_.at(f);
            if (auto it = samples_.find(f); it != samples_.end()) out += it->second;
        }
        return out;
    }

private:
    std::vector<std::string> order_;
    std::map<std::string, std::string> meta_, samples_;
};

std::string lbl(const std::string& lun) {
    return "lun=\"" + escape(lun) + "\"";
}

// Every family the endpoint exposes, in the order it prints them.
struct Family {
    const char* name;
    const char* type;
    const char* help;
};
constexpr Family kFamilies[] = {
    {"rbdtier_build_info", "gauge", "1, with the rbdtier version as a label."},
    {"rbdtier_up", "gauge", "1 while the gateway serves."},
    {"rbdtier_paused", "gauge", "1 when migrations are paused gateway-wide."},
    {"rbdtier_luns", "gauge", "LUNs open in this gateway."},
    {"rbdtier_lun_info", "gauge", "1 per LUN, with its home pool and image and its tenant."},
    {"rbdtier_lun_size_bytes", "gauge", "Size of the LUN."},
    {"rbdtier_lun_tier_bytes", "gauge", "Bytes of the LUN held in each tier (placement map)."},
    {"rbdtier_engine_rounds_total", "counter", "Planning rounds run."},
    {"rbdtier_engine_events_total", "counter", "I/O events handed to the engine."},
    {"rbdtier_engine_dropped_events_total", "counter", "I/O events dropped (engine ring full)."},
    {"rbdtier_engine_orders_total", "counter", "Migrations the policy asked for."},
    {"rbdtier_engine_migrations_total", "counter", "Migrations carried out, by outcome."},
    {"rbdtier_engine_refused_total", "counter", "Migrations refused, by reason."},
    {"rbdtier_engine_bytes_moved_total", "counter", "Bytes moved between tiers."},
    {"rbdtier_engine_bandwidth_budget_bytes_per_second", "gauge",
     "The gateway's migration bandwidth budget, which the LUN shares with its other tiered LUNs."},
    {"rbdtier_engine_budget_use_ratio", "gauge",
     "Bytes the LUN migrated in the last 10 s over what the gateway's budget allowed in them."},
    {"rbdtier_engine_queue_length", "gauge",
     "Orders of the last round not carried out yet (the migration queue)."},
    {"rbdtier_engine_pinned_extents", "gauge", "Extents pinned to a tier by an admin."},
    {"rbdtier_engine_alerts", "gauge", "Anomalies the policy has raised."},
    {"rbdtier_forecast_promotions_total", "counter",
     "Promotions judged (accessed within the horizon or wasted), per model."},
    {"rbdtier_forecast_precision_ratio", "gauge",
     "Share of judged promotions that hit, per model."},
    {"rbdtier_forecast_recall_ratio", "gauge",
     "Share of accesses to busy extents served from a tier a model's promotion put them "
     "in, per model."},
    {"rbdtier_forecast_wasted_bytes_total", "counter",
     "Bytes of promotions that were not accessed within the horizon, per model."},
    {"rbdtier_lun_ios_total", "counter", "Commands served, per tier and direction."},
    {"rbdtier_lun_io_bytes_total", "counter", "Bytes served, per tier and direction."},
    {"rbdtier_lun_io_latency_seconds", "histogram", "Latency of served commands."},
    {"rbdtier_lun_read_hit_ratio", "gauge", "Share of the LUN's reads served from each tier."},
    {"rbdtier_health_status", "gauge",
     "The gateway's health (rbdtier health): 0 HEALTH_OK, 1 HEALTH_WARN, 2 HEALTH_ERR."},
    {"rbdtier_health_checks", "gauge",
     "Items (LUNs, pools, tenants) each failing health check concerns, by code and severity."},
    {"rbdtier_tenant_quota_bytes", "gauge",
     "A tenant's quota of a tier pool, as its LUNs last read it (absent: unlimited)."},
    {"rbdtier_tenant_used_bytes", "gauge",
     "Bytes a tenant's LUNs hold in a tier pool with a quota, as the quota counts them."},
};

}  // namespace

std::string render_metrics(const Gateway& gateway) {
    Exposition m;
    for (const Family& f : kFamilies) m.family(f.name, f.type, f.help);

    m.sample("rbdtier_build_info", "", "version=\"" + escape(RBDTIER_VERSION) + "\"", 1);
    m.sample("rbdtier_up", "", "", 1);
    m.sample("rbdtier_paused", "", "", gateway.paused() ? 1 : 0);
    const HealthReport health = gateway.health();  // takes the LUN list itself
    m.sample("rbdtier_health_status", "", "", static_cast<double>(health.status));
    for (const HealthCheck& c : health.checks)
        m.sample("rbdtier_health_checks", "",
                 "code=\"" + escape(c.code) + "\",severity=\"" + to_string(c.severity) + "\"",
                 static_cast<double>(c.detail.size()));
    // Per tenant and pool: quota and use, as the LUNs of the tenant last read them.
    std::map<std::pair<std::string, std::string>, std::pair<std::uint64_t, std::uint64_t>> quotas;
    auto lock = gateway.lock_luns();
    m.sample("rbdtier_luns", "", "", static_cast<double>(gateway.luns().size()));
    for (const auto& l : gateway.luns()) {
        const std::string L = lbl(l.name);
        m.sample("rbdtier_lun_info", "",
                 L + ",pool=\"" + escape(l.pool) + "\",image=\"" + escape(l.image) +
                     "\",tenant=\"" + escape(l.tenant) + "\"",
                 1);
        m.sample("rbdtier_lun_size_bytes", "", L, static_cast<double>(l.size_bytes));
        const std::uint64_t eb = extent_bytes(l);
        for (const auto& [pool, n] : extents_per_pool(l))
            m.sample("rbdtier_lun_tier_bytes", "", L + ",tier=\"" + escape(pool) + "\"",
                     double(n * eb));
        if (l.tiering) {
            if (const auto room = l.tiering->tenant_room(); room && room->tenant_found) {
                const auto extents = extents_per_pool(l);
                for (const auto& [pool, quota] : room->quota) {
                    const auto own = extents.find(pool);
                    const std::uint64_t used =
                        (own == extents.end() ? 0 : own->second * eb) + room->others(pool);
                    auto& q = quotas[{l.tenant, pool}];
                    q = {quota, std::max(q.second, used)};
                }
            }
            const auto s = l.tiering->stats();
            m.sample("rbdtier_engine_rounds_total", "", L, double(s.rounds));
            m.sample("rbdtier_engine_events_total", "", L, double(s.events));
            m.sample("rbdtier_engine_dropped_events_total", "", L, double(s.dropped_events));
            m.sample("rbdtier_engine_orders_total", "", L, double(s.orders));
            m.sample("rbdtier_engine_migrations_total", "", L + ",outcome=\"moved\"",
                     double(s.moved));
            m.sample("rbdtier_engine_migrations_total", "", L + ",outcome=\"failed\"",
                     double(s.failed));
            m.sample("rbdtier_engine_refused_total", "", L + ",reason=\"capacity\"",
                     double(s.refused_capacity));
            m.sample("rbdtier_engine_refused_total", "", L + ",reason=\"bandwidth\"",
                     double(s.deferred_bandwidth));
            m.sample("rbdtier_engine_bytes_moved_total", "", L, double(s.bytes_moved));
            m.sample("rbdtier_engine_bandwidth_budget_bytes_per_second", "", L,
                     l.tiering->bandwidth());
            m.sample("rbdtier_engine_budget_use_ratio", "", L, l.tiering->budget_use());
            m.sample("rbdtier_engine_queue_length", "", L, double(l.tiering->queue().size()));
            std::uint64_t pinned = 0;
            for (const auto& p : l.tiering->pins()) pinned += p.count;
            m.sample("rbdtier_engine_pinned_extents", "", L, double(pinned));
            l.tiering->inspect([&](const PlacementPolicy& policy, const PlacementView&) {
                m.sample("rbdtier_engine_alerts", "", L, double(policy.alerts().size()));
                const auto accuracy = policy.accuracy();
                if (!accuracy) return;
                for (const auto& c : accuracy->models) {
                    const std::string ML = L + ",model=\"" + escape(c.name) + "\"";
                    m.sample("rbdtier_forecast_promotions_total", "", ML, double(c.promotions));
                    m.sample("rbdtier_forecast_precision_ratio", "", ML, c.precision);
                    m.sample("rbdtier_forecast_recall_ratio", "", ML, c.recall);
                    m.sample("rbdtier_forecast_wasted_bytes_total", "", ML, double(c.wasted_bytes));
                }
            });
        }
        if (l.io_metrics) {  // an untiered LUN's I/O is all its home pool's
            const std::size_t tiers =
                std::min<std::size_t>(l.images ? l.images->count() : 1, LunIoMetrics::kMaxTiers);
            auto pool = [&](std::size_t t) { return l.images ? l.images->data_pool(t) : l.pool; };
            std::uint64_t reads = 0;
            for (std::size_t t = 0; t < tiers; ++t)
                reads += l.io_metrics->snapshot(t, LunIoMetrics::kRead).ios;
            for (std::size_t t = 0; t < tiers; ++t) {
                const auto r = l.io_metrics->snapshot(t, LunIoMetrics::kRead);
                if (reads > 0)
                    m.sample("rbdtier_lun_read_hit_ratio", "",
                             L + ",tier=\"" + escape(pool(t)) + "\"",
                             double(r.ios) / double(reads));
                for (auto dir : {LunIoMetrics::kRead, LunIoMetrics::kWrite}) {
                    const auto s = l.io_metrics->snapshot(t, dir);
                    const std::string labels = L + ",tier=\"" + escape(pool(t)) + "\",op=\"" +
                                               (dir == LunIoMetrics::kRead ? "read" : "write") +
                                               "\"";
                    m.sample("rbdtier_lun_ios_total", "", labels, double(s.ios));
                    m.sample("rbdtier_lun_io_bytes_total", "", labels, double(s.bytes));
                    std::uint64_t cumulative = 0;
                    for (std::size_t b = 0; b < LunIoMetrics::kBucketsUs.size(); ++b) {
                        cumulative += s.buckets[b];
                        std::ostringstream le;
                        le << double(LunIoMetrics::kBucketsUs[b]) / 1e6;
                        m.sample("rbdtier_lun_io_latency_seconds", "_bucket",
                                 labels + ",le=\"" + le.str() + "\"", double(cumulative));
                    }
                    m.sample("rbdtier_lun_io_latency_seconds", "_bucket", labels + ",le=\"+Inf\"",
                             double(s.ios));
                    m.sample("rbdtier_lun_io_latency_seconds", "_sum", labels,
                             double(s.latency_sum_us) / 1e6);
                    m.sample("rbdtier_lun_io_latency_seconds", "_count", labels, double(s.ios));
                }
            }
        }
    }
    for (const auto& [key, q] : quotas) {
        const std::string labels =
            "tenant=\"" + escape(key.first) + "\",tier=\"" + escape(key.second) + "\"";
        m.sample("rbdtier_tenant_quota_bytes", "", labels, double(q.first));
        m.sample("rbdtier_tenant_used_bytes", "", labels, double(q.second));
    }
    return m.text();
}

// ---- one request, without I/O ----------------------------------------------------------------

struct MetricsRequest::Parser {
    http::request_parser<http::string_body> http;
};

namespace {

MetricsReply make_reply(http::status status, std::string text, unsigned version) {
    http::response<http::string_body> response;
    response.version(version);
    response.result(status);
    response.keep_alive(false);
    response.set(http::field::server, "rbdtier");
    response.set(http::field::content_type, status == http::status::ok
                                                ? "text/plain; version=0.0.4; charset=utf-8"
                                                : "text/plain");
    response.body() = std::move(text);
    response.prepare_payload();
    std::ostringstream out;
    out << response;
    return MetricsReply{static_cast<unsigned>(status), out.str()};
}

}  // namespace

MetricsRequest::MetricsRequest(std::size_t max_header_bytes)
    : parser_(std::make_unique<Parser>()),
      max_header_bytes_(max_header_bytes == 0 ? 1 : max_header_bytes) {
    parser_->http.header_limit(static_cast<std::uint32_t>(
        std::min<std::size_t>(max_header_bytes_, std::numeric_limits<std::uint32_t>::max())));
    parser_->http.body_limit(kMaxBodyBytes);
}

MetricsRequest::~MetricsRequest() = default;

std::optional<MetricsReply> MetricsRequest::feed(std::string_view bytes,
                                                 const MetricsServer::Body& body) {
    if (answered_ || bytes.empty()) return std::nullopt;
    received_ = true;
    auto& parser = parser_->http;
    const auto version = [&parser]() -> unsigned {
        return parser.is_header_done() && parser.get().version() == 10 ? 10 : 11;
    };
    const auto reply = [&](http::status status, std::string text) {
        answered_ = true;
        pending_ = std::string();
        header_ = std::string();
        return make_reply(status, std::move(text), version());
    };

    pending_.append(bytes);
    if (!parser.is_header_done() && header_over_limit(bytes))
        return reply(
            http::status::request_header_fields_too_large,
            "request headers larger than " + std::to_string(max_header_bytes_) + " bytes\n");
    std::string_view data = pending_;
    beast::error_code ec;
    // Not eager: put() stops once the header is complete, so a chunked body is refused before
    // any of it is parsed (Boost 1.74's chunk parser asserts on a final chunk cut short).
    while (!data.empty() && !parser.is_done() && !(parser.is_header_done() && parser.chunked())) {
        const std::size_t used = parser.put(asio::buffer(data.data(), data.size()), ec);
        data.remove_prefix(used);
        if (ec == http::error::need_more) {
            ec = {};
            break;
        }
        if (ec || used == 0) break;
    }
    if (ec == http::error::header_limit)
        return reply(
            http::status::request_header_fields_too_large,
            "request headers larger than " + std::to_string(max_header_bytes_) + " bytes\n");
    if (ec == http::error::body_limit || (!ec && parser.is_header_done() && parser.chunked()))
        return reply(http::status::payload_too_large, "a scrape has no body\n");
    if (ec) return reply(http::status::bad_request, "malformed request: " + ec.message() + "\n");
    if (!parser.is_done()) {
        pending_ = std::string(data);
        return std::nullopt;
    }

    const auto& request = parser.get();
    if (request.method() != http::verb::get)
        return reply(http::status::method_not_allowed, "only GET\n");
    const auto target = request.target();
    if (target != "/metrics" && target.substr(0, 9) != "/metrics?")
        return reply(http::status::not_found, "try /metrics\n");
    try {
        return reply(http::status::ok, body());
    } catch (const std::exception& e) {
        return reply(http::status::internal_server_error,
                     std::string("metrics failed: ") + e.what() + "\n");
    }
}

bool MetricsRequest::header_over_limit(std::string_view bytes) {
    // Beast's own limit check depends on where reads ended (it may take the request line before
    // the rest of the header has come), so the header's bytes are kept here and measured whole.
    const std::size_t from = header_.size() < 3 ? 0 : header_.size() - 3;
    header_.append(bytes);
    const std::size_t end = header_.find("\r\n\r\n", from);
    const bool over = end == std::string::npos ? header_.size() >= max_header_bytes_
                                               : end + 4 > max_header_bytes_;
    if (end != std::string::npos || over) header_ = std::string();
    return over;
}

std::optional<MetricsReply> MetricsRequest::end() {
    if (answered_ || !received_) return std::nullopt;
    answered_ = true;
    pending_.clear();
    const unsigned version =
        parser_->http.is_header_done() && parser_->http.get().version() == 10 ? 10 : 11;
    return make_reply(http::status::bad_request, "malformed request: incomplete\n", version);
}

std::string answer_metrics_request(std::string_view raw, const MetricsServer::Body& body,
                                   std::size_t max_header_bytes) {
    MetricsRequest request(max_header_bytes);
    auto reply = request.feed(raw, body);
    if (!reply) reply = request.end();
    return reply ? std::move(reply->bytes) : std::string();
}

// ---- the server ---------------------------------------------------------------------------------

namespace {

class HttpSession : public std::enable_shared_from_this<HttpSession>, public SessionLimit::Member {
public:
    HttpSession(Tcp::socket socket, const MetricsServer::Body& body,
                const MetricsServerLimits& limits, ServerLog& log)
        : stream_(std::move(socket)),
          request_(limits.max_header_bytes),
          body_(body),
          limits_(limits),
          log_(log) {}

    void start() {
        stream_.expires_after(limits_.timeout);  // the whole request, however it trickles in
        read();
    }

    // Too many connections: this one, the oldest, makes room. Best effort, never blocking.
    void cut(const std::string& why) override {
        if (!responding_) {
            const std::string text =
                "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n"
                "Content-Type: text/plain\r\nContent-Length: " +
                std::to_string(why.size() + 1) + "\r\n\r\n" + why + "\n";
            beast::error_code ignored;
            stream_.socket().non_blocking(true, ignored);
            stream_.socket().write_some(asio::buffer(text), ignored);
        }
        close();
    }

private:
    void read() {
        auto self = shared_from_this();
        stream_.async_read_some(asio::buffer(chunk_), [self](beast::error_code ec, std::size_t n) {
            self->on_read(ec, n);
        });
    }

    void on_read(beast::error_code ec, std::size_t n) {
        if (responding_) return;
        std::optional<MetricsReply> reply;
        if (n > 0) reply = request_.feed(std::string_view(chunk_.data(), n), body_);
        if (!reply && ec == beast::error::timeout) {
            log_.warn("timeout", "metrics endpoint: a client sent no complete request within " +
                                     std::to_string(limits_.timeout.count()) + " ms; closed");
            return close();
        }
        if (!reply && (ec == asio::error::eof || ec == http::error::end_of_stream))
            reply = request_.end();  // half-closed after part of a request: 400
        if (!reply && ec) return close();
        if (!reply) return read();
        if (reply->status == static_cast<unsigned>(http::status::request_header_fields_too_large))
            log_.warn("header", "metrics endpoint: request headers larger than " +
                                    std::to_string(limits_.max_header_bytes) + " bytes refused");
        respond(std::move(reply->bytes));
    }

    void respond(std::string bytes) {
        responding_ = true;
        auto text = std::make_shared<std::string>(std::move(bytes));
        auto self = shared_from_this();
        stream_.expires_after(limits_.timeout);
        asio::async_write(stream_, asio::buffer(*text),
                          [self, text](beast::error_code, std::size_t) { self->close(); });
    }

    void close() {
        responding_ = true;
        beast::error_code ignored;
        stream_.socket().shutdown(Tcp::socket::shutdown_both, ignored);
        stream_.socket().close(ignored);
    }

    beast::tcp_stream stream_;
    std::array<char, 4096> chunk_{};
    MetricsRequest request_;
    const MetricsServer::Body& body_;
    const MetricsServerLimits& limits_;
    ServerLog& log_;
    bool responding_ = false;
};

}  // namespace

struct MetricsServer::Impl {
    explicit Impl(MetricsServerLimits l)
        : limits(std::move(l)),
          log(limits.log),
          sessions(limits.max_sessions),
          pause(io.get_executor(), limits.accept_pause) {}

    Body body;
    MetricsServerLimits limits;
    ServerLog log;
    SessionLimit sessions;  // before io: the sessions io holds leave it when io goes
    asio::io_context io{1};
    Tcp::acceptor acceptor{io};
    AcceptPause pause;
    const std::string name = "metrics endpoint";  // in the log
    std::thread thread;
    bool stopped = false;

    void accept() {
        accept_sessions(acceptor, pause, sessions, log, name, "connections", [this](auto socket) {
            return std::make_shared<HttpSession>(std::move(socket), body, limits, log);
        });
    }
};

std::unique_ptr<MetricsServer> MetricsServer::start(const std::string& address, std::uint16_t port,
                                                    Body body, std::string& error,
                                                    MetricsServerLimits limits) {
    auto impl = std::make_unique<Impl>(std::move(limits));
    impl->body = std::move(body);
    beast::error_code ec;
    const auto ip = asio::ip::make_address(address, ec);
    if (ec) {
        error = "metrics_address '" + address + "': " + ec.message();
        return nullptr;
    }
    const Tcp::endpoint endpoint(ip, port);
    impl->acceptor.open(endpoint.protocol(), ec);
    if (!ec) impl->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) impl->acceptor.bind(endpoint, ec);
    if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        error = "metrics endpoint " + address + ":" + std::to_string(port) + ": " + ec.message();
        return nullptr;
    }
    impl->accept();
    Impl* raw = impl.get();
    impl->thread = std::thread([raw] { raw->io.run(); });
    return std::unique_ptr<MetricsServer>(new MetricsServer(std::move(impl)));
}

MetricsServer::MetricsServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MetricsServer::~MetricsServer() {
    stop();
}

std::uint16_t MetricsServer::port() const {
    beast::error_code ec;
    const auto ep = impl_->acceptor.local_endpoint(ec);
    return ec ? 0 : ep.port();
}

void MetricsServer::stop() {
    if (impl_->stopped) return;
    impl_->stopped = true;
    impl_->io.stop();
    if (impl_->thread.joinable()) impl_->thread.join();
    beast::error_code ignored;
    impl_->acceptor.close(ignored);
}

}  // namespace rbdtier
