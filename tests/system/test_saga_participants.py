"""The saga participants (DESIGN §5 "Participant rules"), driven directly through the bus.

The tests stand in for the order service: they publish SagaCommands to the exchange
wdm.saga (routing keys payment.commands and stock.commands) with reply_to naming a queue
of their own, "order.events.test-<random>", and read the SagaEvents that come back. Data
is set up, and every effect checked, through the HTTP API.

Each step that must happen after another waits for the earlier step's event first: every
service runs several replicas, each consuming the queue, so two commands published
together may be applied in either order."""

import os
import time
import uuid

import pytest

from wdmtest import expect_ok

pika = pytest.importorskip("pika", reason="python3-pika is needed to drive the bus")

EXCHANGE = "wdm.saga"
PAYMENT = "payment.commands"
STOCK = "stock.commands"
EVENT_TIMEOUT = 30       # seconds an event may take (covers a replica's reconnect)
QUIET = 1.5              # seconds of silence that show no further event is coming


def _records(pb, props, body):
    """The events of one bus message: a wdm.BusBatch (type "wdm.batch") or one event."""
    if props.type == "wdm.batch":
        return [pb.SagaEvent.FromString(r) for r in pb.BusBatch.FromString(body).records]
    return [pb.SagaEvent.FromString(body)]


def _env_int(name, default):
    v = os.environ.get(name, "")
    return int(v) if v else default


class Bus:
    """A stand-in order replica: one connection, a reply queue, confirmed publishes."""

    def __init__(self, port):
        params = pika.ConnectionParameters(host="127.0.0.1", port=port,
                                           credentials=pika.PlainCredentials("guest", "guest"),
                                           connection_attempts=5, retry_delay=1)
        self.conn = pika.BlockingConnection(params)
        self.ch = self._exchange_channel()
        self.queue = f"order.events.test-{uuid.uuid4().hex[:12]}"
        self.ch.queue_declare(self.queue, durable=True, arguments={"x-queue-type": "quorum"})
        self.ch.queue_bind(self.queue, EXCHANGE, routing_key=self.queue)
        self.ch.confirm_delivery()
        self.pending = []  # events read but not yet asked for

    def _exchange_channel(self):
        """A channel once the services have declared the exchange (they do on connect,
        which may be a moment after the gateway is healthy); a failed passive declare
        closes its channel, so each try opens a new one."""
        deadline = time.monotonic() + EVENT_TIMEOUT
        while True:
            ch = self.conn.channel()
            try:
                ch.exchange_declare(EXCHANGE, passive=True)
                return ch
            except pika.exceptions.ChannelClosedByBroker:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def close(self):
        try:
            self.ch.queue_delete(self.queue)
        finally:
            self.conn.close()

    def publish(self, routing_key, body, msg_type=None):
        """Publishes body (a message or bytes) persistently; returns once confirmed."""
        if not isinstance(body, bytes):
            body = body.SerializeToString()
        self.ch.basic_publish(EXCHANGE, routing_key, body, mandatory=True,
                              properties=pika.BasicProperties(delivery_mode=2, type=msg_type,
                                                              content_type="application/x-protobuf"))

    def publish_batch(self, pb, routing_key, records):
        """Publishes records (messages or bytes) as one wdm.BusBatch message."""
        batch = pb.BusBatch(records=[r if isinstance(r, bytes) else r.SerializeToString()
                                          for r in records])
        self.publish(routing_key, batch, msg_type="wdm.batch")

    def _read(self, pb, timeout):
        """Moves what has arrived into self.pending, waiting up to timeout for something."""
        deadline = time.monotonic() + timeout
        while True:
            method, props, body = self.ch.basic_get(self.queue, auto_ack=True)
            if method is not None:
                self.pending.extend(_records(pb, props, body))
                continue
            if self.pending or time.monotonic() >= deadline:
                return
            self.conn.sleep(0.05)

    def events(self, pb, saga_id, n, timeout=EVENT_TIMEOUT):
        """The next n events of saga_id, in arrival order; fails after timeout."""
        deadline = time.monotonic() + timeout
        got = []
        while len(got) < n:
            left = deadline - time.monotonic()
            assert left > 0, f"saga {saga_id}: {len(got)} of {n} events within {timeout}s: {got}"
            self._read(pb, min(left, 1.0))
            mine = [e for e in self.pending if e.saga_id == saga_id]
            self.pending = [e for e in self.pending if e.saga_id != saga_id]
            got.extend(mine)
        assert len(got) == n, f"saga {saga_id}: expected {n} events, got {len(got)}: {got}"
        return got

    def quiet(self, pb, wait=QUIET):
        """Every event that arrives within `wait` seconds (none, when all is well)."""
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            self._read(pb, 0)
            self.conn.sleep(0.1)
        out, self.pending = self.pending, []
        return out


@pytest.fixture(scope="module")
def bus(api):
    # `api` first: the topology (and its RabbitMQ) must be up.
    b = Bus(_env_int("WDM_TEST_RABBITMQ_PORT", 17672))
    yield b
    b.close()


def saga():
    return f"s-{uuid.uuid4().hex}"


# ---- commands ----

def charge(pb, bus, s, user, amount):
    return pb.SagaCommand(saga_id=s, kind=pb.CHARGE, user_id=user, amount=amount, reply_to=bus.queue)


def refund(pb, bus, s):
    return pb.SagaCommand(saga_id=s, kind=pb.REFUND, reply_to=bus.queue)


def _with_items(cmd, items):
    for item_id, qty in items:
        cmd.items.add(item_id=item_id, quantity=qty)
    return cmd


def reserve(pb, bus, s, items):
    return _with_items(pb.SagaCommand(saga_id=s, kind=pb.RESERVE, reply_to=bus.queue), items)


def release(pb, bus, s, items):
    return _with_items(pb.SagaCommand(saga_id=s, kind=pb.RELEASE, reply_to=bus.queue), items)


def step(pb, bus, queue, cmd, times=1):
    """Publishes cmd `times` times and returns the outcomes of its events (checked to
    answer cmd)."""
    for _ in range(times):
        bus.publish(queue, cmd)
    evs = bus.events(pb, cmd.saga_id, times)
    for e in evs:
        assert e.kind == cmd.kind, e
    return [pb.Outcome.Name(e.outcome) for e in evs], evs


def outcome(pb, bus, queue, cmd):
    """Publishes cmd once; returns (outcome name, reason) of its event."""
    names, evs = step(pb, bus, queue, cmd)
    return names[0], evs[0].reason


# ---- payment ----

def test_charge_delivered_three_times_takes_credit_once(api, pb, bus):
    user = api.new_user(100)
    s = saga()
    names, _ = step(pb, bus, PAYMENT, charge(pb, bus, s, user, 30), times=3)
    assert names == ["APPLIED"] * 3
    assert api.credit(user) == 70


def test_charge_without_enough_credit_rejected_unchanged(api, pb, bus):
    user = api.new_user(10)
    s = saga()
    assert outcome(pb, bus, PAYMENT, charge(pb, bus, s, user, 11)) == ("REJECTED", "not enough credit")
    assert api.credit(user) == 10
    # The record answers a redelivery the same way, even once the credit would suffice.
    expect_ok(api.post(f"/payment/add_funds/{user}/5"))
    assert outcome(pb, bus, PAYMENT, charge(pb, bus, s, user, 11)) == ("REJECTED", "not enough credit")
    assert api.credit(user) == 15


def test_charge_unknown_user_rejected(api, pb, bus):
    assert outcome(pb, bus, PAYMENT, charge(pb, bus, saga(), f"nx-{uuid.uuid4().hex[:8]}", 1)) == \
        ("REJECTED", "unknown user")


def test_charge_of_zero_applied(api, pb, bus):
    user = api.new_user(5)
    s = saga()
    assert outcome(pb, bus, PAYMENT, charge(pb, bus, s, user, 0))[0] == "APPLIED"
    assert outcome(pb, bus, PAYMENT, refund(pb, bus, s))[0] == "COMPENSATED"
    assert api.credit(user) == 5


def test_refund_before_charge_blocks_the_charge(api, pb, bus):
    user = api.new_user(50)
    s = saga()
    assert outcome(pb, bus, PAYMENT, refund(pb, bus, s))[0] == "COMPENSATED"
    assert outcome(pb, bus, PAYMENT, charge(pb, bus, s, user, 20))[0] == "REJECTED"
    assert api.credit(user) == 50


def test_charge_refund_refund_charge_restores_credit_exactly(api, pb, bus):
    user = api.new_user(100)
    s = saga()
    assert outcome(pb, bus, PAYMENT, charge(pb, bus, s, user, 40))[0] == "APPLIED"
    assert api.credit(user) == 60
    assert outcome(pb, bus, PAYMENT, refund(pb, bus, s))[0] == "COMPENSATED"
    assert api.credit(user) == 100
    assert outcome(pb, bus, PAYMENT, refund(pb, bus, s))[0] == "COMPENSATED"
    assert outcome(pb, bus, PAYMENT, charge(pb, bus, s, user, 40))[0] == "REJECTED"
    assert api.credit(user) == 100


def test_refund_of_rejected_charge_gives_nothing(api, pb, bus):
    user = api.new_user(10)
    s = saga()
    assert outcome(pb, bus, PAYMENT, charge(pb, bus, s, user, 20))[0] == "REJECTED"
    assert outcome(pb, bus, PAYMENT, refund(pb, bus, s))[0] == "COMPENSATED"
    assert api.credit(user) == 10


# ---- stock ----

def test_reserve_all_or_nothing(api, pb, bus):
    a, b = api.new_item(stock=10), api.new_item(stock=3)
    s = saga()
    assert outcome(pb, bus, STOCK, reserve(pb, bus, s, [(a, 5), (b, 4)])) == ("REJECTED", "not enough stock")
    assert api.item(a)["stock"] == 10
    assert api.item(b)["stock"] == 3


def test_reserve_unknown_item_rejected(api, pb, bus):
    a = api.new_item(stock=10)
    nx = f"nx-{uuid.uuid4().hex[:8]}"
    assert outcome(pb, bus, STOCK, reserve(pb, bus, saga(), [(a, 1), (nx, 1)])) == ("REJECTED", "unknown item")
    assert api.item(a)["stock"] == 10


def test_reserve_sums_duplicate_lines(api, pb, bus):
    a = api.new_item(stock=4)
    assert outcome(pb, bus, STOCK, reserve(pb, bus, saga(), [(a, 2), (a, 3)]))[0] == "REJECTED"
    assert api.item(a)["stock"] == 4
    expect_ok(api.post(f"/stock/add/{a}/1"))
    s = saga()
    assert outcome(pb, bus, STOCK, reserve(pb, bus, s, [(a, 2), (a, 3)]))[0] == "APPLIED"
    assert api.item(a)["stock"] == 0
    assert outcome(pb, bus, STOCK, release(pb, bus, s, [(a, 2), (a, 3)]))[0] == "COMPENSATED"
    assert api.item(a)["stock"] == 5


def test_reserve_three_times_release_twice_restores_stock(api, pb, bus):
    a, b = api.new_item(stock=10), api.new_item(stock=7)
    s = saga()
    lines = [(a, 3), (b, 7)]
    names, _ = step(pb, bus, STOCK, reserve(pb, bus, s, lines), times=3)
    assert names == ["APPLIED"] * 3
    assert (api.item(a)["stock"], api.item(b)["stock"]) == (7, 0)
    names, _ = step(pb, bus, STOCK, release(pb, bus, s, lines), times=2)
    assert names == ["COMPENSATED"] * 2
    assert (api.item(a)["stock"], api.item(b)["stock"]) == (10, 7)
    # A late RESERVE of the compensated saga is refused.
    assert outcome(pb, bus, STOCK, reserve(pb, bus, s, lines))[0] == "REJECTED"
    assert (api.item(a)["stock"], api.item(b)["stock"]) == (10, 7)


def test_release_before_reserve_blocks_the_reserve(api, pb, bus):
    a = api.new_item(stock=5)
    s = saga()
    assert outcome(pb, bus, STOCK, release(pb, bus, s, [(a, 2)]))[0] == "COMPENSATED"
    assert outcome(pb, bus, STOCK, reserve(pb, bus, s, [(a, 2)]))[0] == "REJECTED"
    assert api.item(a)["stock"] == 5


def test_reserve_of_no_items_applied(api, pb, bus):
    s = saga()
    assert outcome(pb, bus, STOCK, reserve(pb, bus, s, []))[0] == "APPLIED"
    assert outcome(pb, bus, STOCK, release(pb, bus, s, []))[0] == "COMPENSATED"


# ---- poison messages ----

def _poison(pb, bus, queue, good_kind):
    """What a participant must drop without an event: undecodable bytes, and commands
    that decode but cannot be applied."""
    other = pb.RESERVE if good_kind == pb.CHARGE else pb.CHARGE
    return [
        b"\xff\xff\xff\xff\x0f garbage",
        b"",
        pb.SagaCommand(saga_id="", kind=good_kind, reply_to=bus.queue).SerializeToString(),
        pb.SagaCommand(saga_id=saga(), kind=other, user_id="u", amount=1,
                       reply_to=bus.queue).SerializeToString(),
        pb.SagaCommand(saga_id=saga(), kind=good_kind, reply_to=queue).SerializeToString(),
        pb.SagaCommand(saga_id="bad id!", kind=good_kind, reply_to=bus.queue).SerializeToString(),
        pb.SagaCommand(saga_id=saga(), kind=99, reply_to=bus.queue).SerializeToString(),
    ]


def test_batch_message_applies_each_record_once(api, pb, bus):
    """One wdm.BusBatch message: each good record applied in order, poison records
    skipped; a batch that does not split is dropped whole, and nothing stops."""
    user = api.new_user(100)
    s1, s2, s3 = saga(), saga(), saga()
    records = [charge(pb, bus, s1, user, 10), b"\xff\xff garbage",
               charge(pb, bus, s2, user, 20), refund(pb, bus, s1),
               charge(pb, bus, s1, user, 10), charge(pb, bus, s2, user, 20)]
    bus.publish_batch(pb, PAYMENT, records)
    assert [pb.Outcome.Name(e.outcome) for e in bus.events(pb, s1, 3)] == \
        ["APPLIED", "COMPENSATED", "REJECTED"]
    assert [pb.Outcome.Name(e.outcome) for e in bus.events(pb, s2, 2)] == ["APPLIED", "APPLIED"]
    assert api.credit(user) == 80
    bus.publish(PAYMENT, b"\x0a\x7f cut short", msg_type="wdm.batch")
    assert outcome(pb, bus, PAYMENT, charge(pb, bus, s3, user, 5))[0] == "APPLIED"
    assert api.credit(user) == 75
    assert bus.quiet(pb) == []


def test_poison_does_not_stop_payment(api, pb, bus):
    user = api.new_user(100)
    bad_amount = charge(pb, bus, saga(), user, -5).SerializeToString()
    bad_user = charge(pb, bus, saga(), "no/such user", 5).SerializeToString()
    # Several rounds, so that every replica consuming the queue most likely gets some.
    sagas = []
    for _ in range(4):
        for body in _poison(pb, bus, PAYMENT, pb.CHARGE) + [bad_amount, bad_user]:
            bus.publish(PAYMENT, body)
        s = saga()
        sagas.append(s)
        bus.publish(PAYMENT, charge(pb, bus, s, user, 1))
    for s in sagas:
        [e] = bus.events(pb, s, 1)
        assert pb.Outcome.Name(e.outcome) == "APPLIED"
    assert bus.quiet(pb) == []
    assert api.credit(user) == 96


def test_poison_does_not_stop_stock(api, pb, bus):
    a = api.new_item(stock=10)
    bad_qty = reserve(pb, bus, saga(), [(a, 0)]).SerializeToString()
    bad_item = reserve(pb, bus, saga(), [("no/such item", 1)]).SerializeToString()
    sagas = []
    for _ in range(4):
        for body in _poison(pb, bus, STOCK, pb.RESERVE) + [bad_qty, bad_item]:
            bus.publish(STOCK, body)
        s = saga()
        sagas.append(s)
        bus.publish(STOCK, reserve(pb, bus, s, [(a, 1)]))
    for s in sagas:
        [e] = bus.events(pb, s, 1)
        assert pb.Outcome.Name(e.outcome) == "APPLIED"
    assert bus.quiet(pb) == []
    assert api.item(a)["stock"] == 6
