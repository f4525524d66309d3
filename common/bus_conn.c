/* bus_conn: connection set-up, topology, confirmed publishing (see bus_conn.h). */
#include "bus_conn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <amqp_tcp_socket.h>

#include "bus_frame.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "wdm_metrics.h"

#define BUS_CONNECT_TIMEOUT_MS 2000
#define BUS_CONFIRM_TIMEOUT_MS 10000
#define BUS_CHANNEL 1

int bus_config_read(bus_config *cfg)
{
    int64_t prefetch, heartbeat;
    const char *type;
    int rv;

    cfg->url = config_str("WDM_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/");
    if ((rv = bus_url_split(cfg->url, cfg->urls, BUS_URLS_MAX)) < 0) {
        /* Not the value: it holds the password. */
        log_error("WDM_RABBITMQ_URL: expected 1 to %d amqp:// URLs, comma-separated",
                  BUS_URLS_MAX);
        return rv;
    }
    cfg->n_urls = (size_t)rv;
    cfg->url_first = 0;
    if (cfg->n_urls > 1) {
        unsigned r = 0;
        if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
            r = (unsigned)getpid();
        cfg->url_first = r % cfg->n_urls;
    }
    if ((rv = config_int("WDM_BUS_PREFETCH", 256, 1, 65535, &prefetch)) != 0 ||
        (rv = config_int("WDM_BUS_HEARTBEAT_S", 10, 0, 600, &heartbeat)) != 0)
        return rv;
    type = config_str("WDM_BUS_QUEUE_TYPE", "quorum");
    if (strcmp(type, "quorum") != 0 && strcmp(type, "classic") != 0) {
        log_error("WDM_BUS_QUEUE_TYPE=%s: expected quorum or classic", type);
        return -EINVAL;
    }
    cfg->prefetch = (int)prefetch;
    cfg->heartbeat_s = (int)heartbeat;
    cfg->quorum = strcmp(type, "quorum") == 0;
    return 0;
}

/* Trims blanks from both ends of s[0..*len). Returns the new start. */
static const char *url_trim(const char *s, size_t *len)
{
    while (*len > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        (*len)--;
    }
    while (*len > 0 && (s[*len - 1] == ' ' || s[*len - 1] == '\t'))
        (*len)--;
    return s;
}

/* True when s[0..len) parses as an AMQP URL (amqp_parse_url writes into its argument,
 * hence the copy). */
static bool url_valid(const char *s, size_t len)
{
    struct amqp_connection_info info;
    char *copy = strndup(s, len);
    bool ok;

    if (copy == NULL)
        return false;
    ok = amqp_parse_url(copy, &info) == AMQP_STATUS_OK;
    free(copy);
    return ok;
}

int bus_url_split(const char *list, bus_url *urls, size_t max)
{
    size_t n = 0;
    const char *p = list;

    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        const char *s = url_trim(p, &len);

        if (len == 0 || n == max || !url_valid(s, len))
            return -EINVAL;
        urls[n++] = (bus_url){s, len};
        if (comma == NULL)
            return (int)n;
        p = comma + 1;
    }
}

int bus_event_queue(char *buf, size_t size, const char *replica_id)
{
    size_t need = strlen("order.events.") + strlen(replica_id) + 1;

    if (need > size || need > BUS_QUEUE_MAX)
        return -EINVAL;
    memcpy(buf, "order.events.", 13);
    memcpy(buf + 13, replica_id, need - 13);
    return 0;
}

bool bus_conn_ok(amqp_rpc_reply_t r, const char *what)
{
    switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL:
        return true;
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
        log_warn("bus: %s: %s", what, amqp_error_string2(r.library_error));
        return false;
    case AMQP_RESPONSE_SERVER_EXCEPTION:
        if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD || r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
            /* Both close methods start with reply_code and reply_text. */
            amqp_channel_close_t *m = r.reply.decoded;
            log_warn("bus: %s: broker closed: %u %.*s", what, m->reply_code,
                     (int)m->reply_text.len, (const char *)m->reply_text.bytes);
        } else {
            log_warn("bus: %s: broker error (method 0x%08x)", what, r.reply.id);
        }
        return false;
    default:
        log_warn("bus: %s: no reply", what);
        return false;
    }
}

/* Declares the exchange, the command queues and own_queue, each bound under its name. */
static int conn_declare(bus_conn *c, const bus_config *cfg, const char *own_queue)
{
    const char *queues[] = {BUS_QUEUE_STOCK, BUS_QUEUE_PAYMENT, own_queue};
    amqp_table_entry_t type_entry = {
        .key = amqp_cstring_bytes("x-queue-type"),
        .value = {.kind = AMQP_FIELD_KIND_UTF8, .value.bytes = amqp_cstring_bytes("quorum")},
    };
    amqp_table_t args = cfg->quorum ? (amqp_table_t){1, &type_entry} : amqp_empty_table;

    amqp_exchange_declare(c->amqp, BUS_CHANNEL, amqp_cstring_bytes(BUS_EXCHANGE),
                          amqp_cstring_bytes("direct"), 0, 1, 0, 0, amqp_empty_table);
    if (!bus_conn_ok(amqp_get_rpc_reply(c->amqp), "exchange.declare"))
        return -EIO;
    for (size_t i = 0; i < sizeof(queues) / sizeof(queues[0]); i++) {
        if (queues[i] == NULL)
            continue;
        amqp_queue_declare(c->amqp, BUS_CHANNEL, amqp_cstring_bytes(queues[i]), 0, 1, 0, 0, args);
        if (!bus_conn_ok(amqp_get_rpc_reply(c->amqp), "queue.declare"))
            return -EIO;
        amqp_queue_bind(c->amqp, BUS_CHANNEL, amqp_cstring_bytes(queues[i]),
                        amqp_cstring_bytes(BUS_EXCHANGE), amqp_cstring_bytes(queues[i]),
                        amqp_empty_table);
        if (!bus_conn_ok(amqp_get_rpc_reply(c->amqp), "queue.bind"))
            return -EIO;
    }
    return 0;
}

/* Opens c to the one URL u (see bus_conn_open). Returns 0, or a negative error with the
 * connection closed. */
static int conn_open_url(bus_conn *c, const bus_config *cfg, const char *own_queue,
                         const bus_url *u)
{
    struct timeval tv = {BUS_CONNECT_TIMEOUT_MS / 1000, (BUS_CONNECT_TIMEOUT_MS % 1000) * 1000};
    struct amqp_connection_info info;
    amqp_socket_t *sock;
    char *url;
    int rv = -EIO;

    if ((url = strndup(u->s, u->len)) == NULL)
        return -ENOMEM;
    if (amqp_parse_url(url, &info) != AMQP_STATUS_OK) {
        log_error("bus: cannot parse a URL of WDM_RABBITMQ_URL");
        free(url);
        return -EINVAL;
    }
    /* "amqp://h:p/" leaves an empty vhost; it means the default one, "/". */
    if (info.vhost == NULL || info.vhost[0] == '\0')
        info.vhost = "/";
    if ((c->amqp = amqp_new_connection()) == NULL) {
        free(url);
        return -ENOMEM;
    }
    if ((sock = amqp_tcp_socket_new(c->amqp)) == NULL) {
        rv = -ENOMEM;
        goto fail;
    }
    if (amqp_socket_open_noblock(sock, info.host, info.port, &tv) != AMQP_STATUS_OK) {
        log_debug("bus: cannot connect to %s:%d", info.host, info.port);
        goto fail;
    }
    if (!bus_conn_ok(amqp_login(c->amqp, info.vhost, 0, 131072, cfg->heartbeat_s,
                                AMQP_SASL_METHOD_PLAIN, info.user, info.password),
                     "login"))
        goto fail;
    amqp_channel_open(c->amqp, BUS_CHANNEL);
    if (!bus_conn_ok(amqp_get_rpc_reply(c->amqp), "channel.open"))
        goto fail;
    amqp_confirm_select(c->amqp, BUS_CHANNEL);
    if (!bus_conn_ok(amqp_get_rpc_reply(c->amqp), "confirm.select"))
        goto fail;
    if ((rv = conn_declare(c, cfg, own_queue)) != 0)
        goto fail;
    c->next_tag = 1;
    if (cfg->n_urls > 1)
        log_info("bus: connected to %s:%d", info.host, info.port);
    free(url);
    return 0;
fail:
    amqp_destroy_connection(c->amqp);
    c->amqp = NULL;
    free(url);
    return rv;
}

int bus_conn_open(bus_conn *c, const bus_config *cfg, const char *own_queue)
{
    int rv = -EIO;

    /* Each URL at most once, starting after the one of the last open: a node that went
     * away is skipped, and a connection that broke reconnects to the next node. */
    for (size_t k = 0; k < cfg->n_urls; k++) {
        const bus_url *u = &cfg->urls[(cfg->url_first + c->url_turn) % cfg->n_urls];

        c->url_turn++;
        if ((rv = conn_open_url(c, cfg, own_queue, u)) == 0)
            return 0;
    }
    return rv;
}

void bus_conn_close(bus_conn *c)
{
    if (c->amqp == NULL)
        return;
    amqp_channel_close(c->amqp, BUS_CHANNEL, AMQP_REPLY_SUCCESS);
    amqp_connection_close(c->amqp, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(c->amqp);
    c->amqp = NULL;
}

/* Marks the confirm `tag` (and all before it when `multiple`) in acked[], which covers
 * tags first..first+n-1. Returns how many entries became acked. */
static size_t conn_mark(bool *acked, uint64_t first, size_t n, uint64_t tag, bool multiple)
{
    size_t newly = 0;
    uint64_t lo = multiple ? first : tag;

    for (uint64_t t = lo; t <= tag && t < first + n; t++) {
        if (t >= first && !acked[t - first]) {
            acked[t - first] = true;
            newly++;
        }
    }
    return newly;
}

/* Reads frames until every tag in [first, first+n) is acked. */
static int conn_await_confirms(bus_conn *c, uint64_t first, size_t n)
{
    struct timeval tv = {BUS_CONFIRM_TIMEOUT_MS / 1000, 0};
    bool *acked = calloc(n, sizeof(bool));
    size_t done = 0;
    amqp_frame_t f;
    int rv = 0;

    if (acked == NULL)
        return -ENOMEM;
    while (done < n) {
        int st = amqp_simple_wait_frame_noblock(c->amqp, &f, &tv);
        if (st == AMQP_STATUS_TIMEOUT) {
            rv = -ETIMEDOUT;
            break;
        }
        if (st != AMQP_STATUS_OK || f.frame_type != AMQP_FRAME_METHOD) {
            if (st != AMQP_STATUS_OK) {
                rv = -EIO;
                break;
            }
            continue; /* heartbeats */
        }
        if (f.payload.method.id == AMQP_BASIC_ACK_METHOD) {
            amqp_basic_ack_t *a = f.payload.method.decoded;
            done += conn_mark(acked, first, n, a->delivery_tag, a->multiple);
        } else if (f.payload.method.id == AMQP_BASIC_NACK_METHOD) {
            log_warn("bus: broker refused a publish (nack)");
            rv = -EIO;
            break;
        } else if (f.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD ||
                   f.payload.method.id == AMQP_CONNECTION_CLOSE_METHOD) {
            log_warn("bus: broker closed the channel while confirming");
            rv = -EIO;
            break;
        }
    }
    free(acked);
    return rv;
}

/* Packs into buf (room: the outbox's total record size) the records of o for the
 * routing key of msgs[first] that are not taken yet, from `first` on, up to the limits
 * of one message; marks them taken. Returns the body's length. */
static size_t conn_pack(const bus_outbox *o, size_t first, bool *taken, uint8_t *buf)
{
    const char *key = o->msgs[first].routing_key;
    uint8_t *p = buf;
    size_t records = 0;

    for (size_t i = first; i < o->n && records < BUS_FRAME_MAX_RECORDS; i++) {
        const bus_msg *m = &o->msgs[i];
        if (taken[i] || strcmp(m->routing_key, key) != 0)
            continue;
        if (records > 0 && (size_t)(p - buf) + bus_frame_record_size(m->len) > BUS_FRAME_MAX_BYTES)
            break;
        p = bus_frame_put(p, m->body, m->len);
        taken[i] = true;
        records++;
    }
    return (size_t)(p - buf);
}

/* Publishes o as few messages as its routing keys and the limits allow (bus_frame.h),
 * then awaits their confirms. */
int bus_conn_publish(bus_conn *c, const bus_outbox *o)
{
    amqp_basic_properties_t props = {
        ._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_CONTENT_TYPE_FLAG |
                  AMQP_BASIC_TYPE_FLAG,
        .delivery_mode = AMQP_DELIVERY_PERSISTENT,
        .content_type = amqp_cstring_bytes("application/x-protobuf"),
        .type = amqp_cstring_bytes(BUS_FRAME_TYPE),
    };
    uint64_t first = c->next_tag, t0 = metrics_now_ns();
    size_t room = 0, sent = 0;
    bool *taken = NULL;
    uint8_t *buf = NULL;
    int rv = -EIO;

    if (o->n == 0)
        return 0;
    if (c->amqp == NULL)
        return -EIO;
    for (size_t i = 0; i < o->n; i++)
        room += bus_frame_record_size(o->msgs[i].len);
    taken = calloc(o->n, sizeof(*taken));
    buf = malloc(room);
    if (taken == NULL || buf == NULL) {
        rv = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < o->n; i++) {
        amqp_bytes_t body;
        if (taken[i])
            continue;
        body.bytes = buf;
        body.len = conn_pack(o, i, taken, buf);
        if (amqp_basic_publish(c->amqp, BUS_CHANNEL, amqp_cstring_bytes(BUS_EXCHANGE),
                               amqp_cstring_bytes(o->msgs[i].routing_key), 0, 0, &props,
                               body) != AMQP_STATUS_OK)
            goto out;
        c->next_tag++;
        sent++;
    }
    rv = conn_await_confirms(c, first, sent);
out:
    wdm_metrics_bus_amqp(false, sent);
    wdm_metrics_bus_publish(o->n, metrics_since_ns(t0), rv);
    free(taken);
    free(buf);
    return rv;
}

int bus_conn_poll(bus_conn *c)
{
    struct timeval zero = {0, 0};
    amqp_frame_t f;
    int st;

    if (c->amqp == NULL)
        return -EIO;
    st = amqp_simple_wait_frame_noblock(c->amqp, &f, &zero);
    if (st == AMQP_STATUS_OK || st == AMQP_STATUS_TIMEOUT)
        return 0;
    return -EIO;
}

int bus_outbox_add(bus_outbox *o, const char *routing_key, const ProtobufCMessage *msg)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    bus_msg *m;

    if (strlen(routing_key) >= BUS_QUEUE_MAX)
        return -EINVAL;
    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 16;
        bus_msg *grown = realloc(o->msgs, cap * sizeof(*grown));
        if (grown == NULL)
            return -ENOMEM;
        o->msgs = grown;
        o->cap = cap;
    }
    m = &o->msgs[o->n];
    if ((m->body = malloc(len ? len : 1)) == NULL)
        return -ENOMEM;
    m->len = protobuf_c_message_pack(msg, m->body);
    strcpy(m->routing_key, routing_key);
    o->n++;
    return 0;
}

void bus_outbox_clear(bus_outbox *o)
{
    for (size_t i = 0; i < o->n; i++)
        free(o->msgs[i].body);
    o->n = 0;
}

void bus_outbox_free(bus_outbox *o)
{
    bus_outbox_clear(o);
    free(o->msgs);
    o->msgs = NULL;
    o->cap = 0;
}

int bus_outbox_move(bus_outbox *dst, bus_outbox *src)
{
    if (src->n == 0)
        return 0;
    if (dst->n + src->n > dst->cap) {
        size_t cap = dst->n + src->n + 16;
        bus_msg *grown = realloc(dst->msgs, cap * sizeof(*grown));
        if (grown == NULL)
            return -ENOMEM;
        dst->msgs = grown;
        dst->cap = cap;
    }
    memcpy(dst->msgs + dst->n, src->msgs, src->n * sizeof(*src->msgs));
    dst->n += src->n;
    src->n = 0;
    return 0;
}
