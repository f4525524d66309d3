"""The protobuf clients (clients/python, clients/js) against the test topology: the whole
flow of a checkout read back exactly, the batch inits, and typed errors.

The JavaScript client's test runs as a subprocess (`node clients/js/test/flow.test.mjs
URL`); its packages come from clients/js/setup.sh, or from `npm ci` here when they are
missing. Only a machine without node skips it, with a warning; CI has node."""

import re
import shutil
import subprocess
import sys
import uuid
import warnings
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
JS_DIR = REPO / "clients" / "js"
JS_TESTS = 3  # the test() calls in clients/js/test/flow.test.mjs
sys.path.insert(0, str(REPO / "clients" / "python"))

import wdm_client  # noqa: E402
from wdm_client import BadRequest, Conflict, NotFound, WdmError  # noqa: E402


def nx():
    return f"nx-{uuid.uuid4().hex[:16]}"


def lines(order):
    return sorted((line.item_id, line.quantity) for line in order.items)


@pytest.fixture(scope="module")
def client(base_url):
    return wdm_client.Client(base_url)


def test_python_flow(client):
    user = client.create_user()
    assert (client.find_user(user).user_id, client.find_user(user).credit) == (user, 0)
    funds = client.add_funds(user, 100)
    assert (funds.done, funds.credit) == (True, 100)
    paid = client.pay(user, 10)
    assert (paid.user_id, paid.credit) == (user, 90)

    a, b = client.create_item(7), client.create_item(5)
    found = client.find_item(a)
    assert (found.stock, found.price) == (0, 7)
    for got, want in [(client.add_stock(a, 10), (a, 10)), (client.add_stock(b, 4), (b, 4)),
                      (client.subtract_stock(b, 1), (b, 3))]:
        assert (got.item_id, got.stock) == want

    order = client.create_order(user)
    for item, qty, total in [(a, 2, 14), (b, 1, 19), (a, 1, 26)]:
        r = client.add_item(order, item, qty)
        assert (r.order_id, r.total_cost) == (order, total)
    o = client.find_order(order)
    assert (o.order_id, o.paid, o.user_id, o.total_cost) == (order, False, user, 26)
    assert lines(o) == sorted([(a, 3), (b, 1)])

    co = client.checkout(order)
    assert (co.order_id, co.paid) == (order, True)
    assert client.find_user(user).credit == 64
    for item, stock, price in [(a, 7, 7), (b, 2, 5)]:
        found = client.find_item(item)
        assert (found.stock, found.price) == (stock, price)
    o = client.find_order(order)
    assert (o.order_id, o.paid, o.user_id, o.total_cost) == (order, True, user, 26)
    assert lines(o) == sorted([(a, 3), (b, 1)])

    # A paid order's checkout charges nothing; a keyed write applies once.
    assert client.checkout(order).paid is True
    key = f"py-{uuid.uuid4().hex}"
    assert client.add_funds(user, 1, idempotency_key=key).credit == 65
    assert client.add_funds(user, 1, idempotency_key=key).credit == 65
    assert client.find_user(user).credit == 65


def test_python_batch_init(client):
    assert isinstance(client.stock_batch_init(3, 11, 13), str)
    found = client.find_item("2")
    assert (found.stock, found.price) == (11, 13)
    assert isinstance(client.payment_batch_init(3, 17), str)
    assert client.find_user("1").credit == 17
    assert isinstance(client.orders_batch_init(3, 3, 3, 13), str)
    o = client.find_order("0")
    assert (o.order_id, o.paid, o.total_cost) == ("0", False, 26)
    assert sum(line.quantity for line in o.items) == 2
    assert o.user_id in {"0", "1", "2"}


def test_python_errors(client):
    for call in (lambda: client.find_item(nx()), lambda: client.find_user(nx()),
                 lambda: client.find_order(nx()), lambda: client.checkout(nx())):
        with pytest.raises(NotFound) as e:
            call()
        assert e.value.status == 404 and e.value.error

    item = client.create_item(3)
    with pytest.raises(BadRequest) as e:
        client.add_stock(item, 0)           # checked in the body like in a path
    assert e.value.status == 400 and "amount" in e.value.error
    with pytest.raises(BadRequest):
        client.add_stock("not/an-id", 1)

    user = client.create_user()
    client.add_funds(user, 5)
    client.add_stock(item, 2)
    order = client.create_order(user)
    assert client.add_item(order, item, 2).total_cost == 6
    with pytest.raises(Conflict) as e:
        client.checkout(order)
    assert isinstance(e.value, WdmError) and e.value.status == 409 and e.value.error
    # Nothing was taken.
    assert client.find_user(user).credit == 5
    found = client.find_item(item)
    assert (found.stock, found.price) == (2, 3)
    assert client.find_order(order).paid is False


def test_gateway_protobuf_bodies(client, base_url):
    """What the clients rely on, at the HTTP level: a body alone, or agreeing with the
    path; disagreement and malformed bytes are a 400 (wdm.Error or JSON, by Accept) that
    changes nothing."""
    pb, item = client.pb, client.create_item(4)
    body = pb.StockChangeRequest(item_id=item, amount=3).SerializeToString()
    ct = {"Content-Type": wdm_client.PROTOBUF}
    both = {**ct, "Accept": wdm_client.PROTOBUF}

    r = requests.post(f"{base_url}/stock/add", data=body, headers=ct, timeout=30)
    assert (r.status_code, r.json()) == (200, {"item_id": item, "stock": 3})
    r = requests.post(f"{base_url}/stock/add/{item}/3", data=body, headers=both, timeout=30)
    assert r.status_code == 200 and pb.StockReply.FromString(r.content).stock == 6
    for path, data in [(f"/stock/add/{item}/4", body), (f"/stock/add/{item}", body),
                       ("/stock/add", b"\x0a\x05ab"), ("/stock/add", b"\x08\x05\x10\x01"),
                       ("/stock/add", pb.StockChangeRequest(item_id=item, amount=2**53 + 1).SerializeToString())]:
        r = requests.post(base_url + path, data=data, headers=both, timeout=30)
        assert r.status_code == 400 and pb.Error.FromString(r.content).error, (path, data, r.content)
        r = requests.post(base_url + path, data=data, headers=ct, timeout=30)
        assert r.status_code == 400 and r.json()["error"], (path, data, r.text)
    assert client.find_item(item).stock == 6


def _npm_ci():
    """Installs the JS client's packages (package-lock.json) unless they are there."""
    if (JS_DIR / "node_modules" / "protobufjs").is_dir():
        return
    npm = shutil.which("npm")
    assert npm, "node is installed but npm is not: run clients/js/setup.sh"
    r = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=JS_DIR, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, f"npm ci failed ({r.returncode}):\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"


def test_js_client(base_url):
    node = shutil.which("node")
    if node is None:
        msg = ("NODE IS NOT INSTALLED: the JavaScript client's test did NOT run "
               "(install nodejs and npm, e.g. clients/js/setup.sh)")
        warnings.warn(msg)
        sys.stderr.write(f"\n*** {msg} ***\n")
        pytest.skip(msg)
    _npm_ci()
    r = subprocess.run([node, "--test-reporter=tap", "test/flow.test.mjs", base_url], cwd=JS_DIR,
                       capture_output=True, text=True, timeout=300)
    out = f"node test/flow.test.mjs exited {r.returncode}:\n{r.stdout[-6000:]}\n{r.stderr[-3000:]}"
    assert r.returncode == 0, out
    passed = re.search(r"^# pass (\d+)$", r.stdout, re.M)
    assert passed and int(passed.group(1)) == JS_TESTS and "\n# fail 0\n" in r.stdout, out
