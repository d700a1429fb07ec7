#include "handler/metrics_server.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <map>
#include <sstream>
#include <thread>

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
    {"rbdtier_up", "gauge", "1 while the gateway serves."},
    {"rbdtier_paused", "gauge", "1 when migrations are paused gateway-wide."},
    {"rbdtier_luns", "gauge", "LUNs open in this gateway."},
    {"rbdtier_lun_size_bytes", "gauge", "Size of the LUN."},
    {"rbdtier_lun_tier_bytes", "gauge", "Bytes of the LUN held in each tier (placement map)."},
    {"rbdtier_engine_rounds_total", "counter", "Planning rounds run."},
    {"rbdtier_engine_events_total", "counter", "I/O events handed to the engine."},
    {"rbdtier_engine_dropped_events_total", "counter", "I/O events dropped (engine ring full)."},
    {"rbdtier_engine_orders_total", "counter", "Migrations the policy asked for."},
    {"rbdtier_engine_migrations_total", "counter", "Migrations carried out, by outcome."},
    {"rbdtier_engine_refused_total", "counter", "Migrations refused, by reason."},
    {"rbdtier_engine_bytes_moved_total", "counter", "Bytes moved between tiers."},
    {"rbdtier_engine_bandwidth_budget_bytes", "gauge",
     "The LUN's share of the gateway's migration bandwidth budget, bytes per second."},
    {"rbdtier_engine_budget_use_ratio", "gauge",
     "Bytes migrated in the last 10 s over what the LUN's budget allowed in them."},
    {"rbdtier_engine_queue_length", "gauge",
     "Orders of the last round not carried out yet (the migration queue)."},
    {"rbdtier_engine_pinned_extents", "gauge", "Extents pinned to a tier by an admin."},
    {"rbdtier_engine_alerts", "gauge", "Anomalies the policy has raised."},
    {"rbdtier_forecast_promotions_total", "counter",
     "Promotions judged (accessed within the horizon or wasted), per model."},
    {"rbdtier_forecast_precision", "gauge", "Share of judged promotions that hit, per model."},
    {"rbdtier_forecast_recall", "gauge",
     "Share of accesses to busy extents served from a tier a model's promotion put them "
     "in, per model."},
    {"rbdtier_forecast_wasted_bytes_total", "counter",
     "Bytes of promotions that were not accessed within the horizon, per model."},
    {"rbdtier_lun_ios_total", "counter", "Commands served, per tier and direction."},
    {"rbdtier_lun_io_bytes_total", "counter", "Bytes served, per tier and direction."},
    {"rbdtier_lun_io_latency_seconds", "histogram", "Latency of served commands."},
    {"rbdtier_lun_read_hit_share", "gauge", "Share of the LUN's reads served from each tier."},
};

}  // namespace

std::string render_metrics(const Gateway& gateway) {
    Exposition m;
    for (const Family& f : kFamilies) m.family(f.name, f.type, f.help);

    m.sample("rbdtier_up", "", "", 1);
    m.sample("rbdtier_paused", "", "", gateway.paused() ? 1 : 0);
    auto lock = gateway.lock_luns();
    m.sample("rbdtier_luns", "", "", static_cast<double>(gateway.luns().size()));
    for (const auto& l : gateway.luns()) {
        const std::string L = lbl(l.name);
        m.sample("rbdtier_lun_size_bytes", "", L, static_cast<double>(l.size_bytes));
        const std::uint64_t eb = extent_bytes(l);
        for (const auto& [pool, n] : extents_per_pool(l))
            m.sample("rbdtier_lun_tier_bytes", "", L + ",pool=\"" + escape(pool) + "\"",
                     double(n * eb));
        if (l.tiering) {
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
            m.sample("rbdtier_engine_bandwidth_budget_bytes", "", L, l.tiering->bandwidth());
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
                    m.sample("rbdtier_forecast_precision", "", ML, c.precision);
                    m.sample("rbdtier_forecast_recall", "", ML, c.recall);
                    m.sample("rbdtier_forecast_wasted_bytes_total", "", ML, double(c.wasted_bytes));
                }
            });
        }
        if (l.io_metrics) {  // an untiered LUN's I/O is all its home pool's
            const std::size_t tiers =
                std::min<std::size_t>(l.images ? l.images->count() : 1, LunIoMetrics::kMaxTiers);
            auto pool = [&](std::size_t t) { return l.images ? l.images->pool(t) : l.pool; };
            std::uint64_t reads = 0;
            for (std::size_t t = 0; t < tiers; ++t)
                reads += l.io_metrics->snapshot(t, LunIoMetrics::kRead).ios;
            for (std::size_t t = 0; t < tiers; ++t) {
                const auto r = l.io_metrics->snapshot(t, LunIoMetrics::kRead);
                if (reads > 0)
                    m.sample("rbdtier_lun_read_hit_share", "",
                             L + ",pool=\"" + escape(pool(t)) + "\"",
                             double(r.ios) / double(reads));
                for (auto dir : {LunIoMetrics::kRead, LunIoMetrics::kWrite}) {
                    const auto s = l.io_metrics->snapshot(t, dir);
                    const std::string labels = L + ",pool=\"" + escape(pool(t)) + "\",op=\"" +
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
    return m.text();
}

namespace {

// The response to one parsed request: GET /metrics gets body(), anything else 404/405.
http::response<http::string_body> metrics_response(const http::request<http::empty_body>& request,
                                                   const MetricsServer::Body& body) {
    http::response<http::string_body> response;
    response.version(request.version());
    response.keep_alive(false);
    response.set(http::field::server, "rbdtier");
    const auto target = request.target();
    if (request.method() != http::verb::get) {
        response.result(http::status::method_not_allowed);
        response.set(http::field::content_type, "text/plain");
        response.body() = "only GET\n";
    } else if (target != "/metrics" && target.substr(0, 9) != "/metrics?") {
        response.result(http::status::not_found);
        response.set(http::field::content_type, "text/plain");
        response.body() = "try /metrics\n";
    } else {
        response.result(http::status::ok);
        response.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
        try {
            response.body() = body();
        } catch (const std::exception& e) {
            response.result(http::status::internal_server_error);
            response.body() = std::string("metrics failed: ") + e.what() + "\n";
        }
    }
    response.prepare_payload();
    return response;
}

class HttpSession : public std::enable_shared_from_this<HttpSession> {
public:
    HttpSession(Tcp::socket socket, const MetricsServer::Body& body,
                std::chrono::milliseconds timeout)
        : stream_(std::move(socket)), body_(body), timeout_(timeout) {}

    void run() {
        auto self = shared_from_this();
        stream_.expires_after(timeout_);
        http::async_read(stream_, buffer_, request_, [self](beast::error_code ec, std::size_t) {
            if (ec) return self->close();
            self->respond();
        });
    }

private:
    void respond() {
        auto response =
            std::make_shared<http::response<http::string_body>>(metrics_response(request_, body_));
        auto self = shared_from_this();
        stream_.expires_after(timeout_);
        http::async_write(stream_, *response,
                          [self, response](beast::error_code, std::size_t) { self->close(); });
    }

    void close() {
        beast::error_code ignored;
        stream_.socket().shutdown(Tcp::socket::shutdown_both, ignored);
        stream_.socket().close(ignored);
    }

    beast::tcp_stream stream_;
    beast::flat_buffer buffer_{8192};
    http::request<http::empty_body> request_;
    const MetricsServer::Body& body_;
    std::chrono::milliseconds timeout_;
};

}  // namespace

std::string answer_metrics_request(std::string_view raw, const MetricsServer::Body& body) {
    http::request_parser<http::empty_body> parser;
    beast::error_code ec;
    while (!parser.is_done() && !raw.empty()) {
        const std::size_t used = parser.put(asio::buffer(raw.data(), raw.size()), ec);
        raw.remove_prefix(used);
        if ((ec && ec != http::error::need_more) || used == 0) break;
    }
    if (!parser.is_done()) return {};
    std::ostringstream out;
    out << metrics_response(parser.get(), body);
    return out.str();
}

struct MetricsServer::Impl {
    Body body;
    std::chrono::milliseconds timeout;
    asio::io_context io{1};
    Tcp::acceptor acceptor{io};
    std::thread thread;
    bool stopped = false;

    void accept() {
        acceptor.async_accept([this](beast::error_code ec, Tcp::socket socket) {
            if (ec == asio::error::operation_aborted) return;
            if (!ec) std::make_shared<HttpSession>(std::move(socket), body, timeout)->run();
            accept();
        });
    }
};

std::unique_ptr<MetricsServer> MetricsServer::start(const std::string& address, std::uint16_t port,
                                                    Body body, std::string& error,
                                                    std::chrono::milliseconds timeout) {
    auto impl = std::make_unique<Impl>();
    impl->body = std::move(body);
    impl->timeout = timeout;
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
