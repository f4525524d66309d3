"""wdm-bench's stress and mixed scenarios for locust (bench/README.md explains both).

One locust process tops out at a few thousand requests per second here (PLATFORM.md), so
this file is for comparing with the course's tooling, not for measuring the system:
wdm-bench is. The scenarios are the same:

    locust -f bench/locustfile.py --host http://127.0.0.1:8000 StressUser
    locust -f bench/locustfile.py --host http://127.0.0.1:8000 MixedUser

Settings (environment):
    WDM_N            stress: users = items = orders = N, ids "0".."N-1" (100000)
    WDM_STOCK        starting stock per item (1000000)
    WDM_CREDIT       starting credit per user (1000000)
    WDM_PRICE        item price (1)
    WDM_SKIP_SETUP=1 stress: no batch_init (use the data a previous run made)
    WDM_POOL         mixed: users, items and orders created through the API (1000 each)
    WDM_MIX          mixed: weights, as wdm-bench --mix
                     (default stock_find=30,user_find=20,add_funds=10,stock_add=10,
                     add_item=10,order_find=10,checkout=10)

Stress counts a 200 or a 409 (stock or credit ran out) as a success; everything else,
5xx included, is a failure. Mixed expects 200 everywhere (its pool is funded).
"""

import os
import random

import requests
from locust import FastHttpUser, constant, events, task

N = int(os.environ.get("WDM_N", "100000"))
STOCK = int(os.environ.get("WDM_STOCK", "1000000"))
CREDIT = int(os.environ.get("WDM_CREDIT", "1000000"))
PRICE = int(os.environ.get("WDM_PRICE", "1"))
SKIP_SETUP = os.environ.get("WDM_SKIP_SETUP") == "1"
POOL = int(os.environ.get("WDM_POOL", "1000"))
DEFAULT_MIX = "stock_find=30,user_find=20,add_funds=10,stock_add=10,add_item=10,order_find=10,checkout=10"
SETUP_TIMEOUT = 120


def parse_mix(text):
    """{"stock_find": 30, ...} from "stock_find=30,..."; names not given weigh 0."""
    weights = {name: 0 for name in MixedUser.OPS}
    for part in text.split(","):
        name, _, w = part.partition("=")
        if name not in weights or not w.isdigit():
            raise ValueError(f"WDM_MIX: bad entry {part!r}")
        weights[name] = int(w)
    if not any(weights.values()):
        raise ValueError("WDM_MIX: every weight is 0")
    return weights


def must(session, host, path, key=None):
    """A setup POST that has to answer 200: its JSON (or its member key)."""
    r = session.post(host + path, timeout=SETUP_TIMEOUT)
    if r.status_code != 200:
        raise RuntimeError(f"POST {path}: {r.status_code} {r.text[:200]!r}")
    body = r.json()
    return body if key is None else body[key]


class Pool:
    """The mixed scenario's users, items and orders (created once, at the test's start)."""
    users, items, orders = [], [], []     # ids; orders as (order id, its item id)

    @classmethod
    def create(cls, host):
        s = requests.Session()
        cls.users = [must(s, host, "/payment/create_user", "user_id") for _ in range(POOL)]
        for u in cls.users:
            must(s, host, f"/payment/add_funds/{u}/{CREDIT}")
        cls.items = [must(s, host, f"/stock/item/create/{PRICE}", "item_id") for _ in range(POOL)]
        for i in cls.items:
            must(s, host, f"/stock/add/{i}/{STOCK}")
        for _ in range(POOL):
            item = random.choice(cls.items)
            o = must(s, host, f"/orders/create/{random.choice(cls.users)}", "order_id")
            must(s, host, f"/orders/addItem/{o}/{item}/1")
            cls.orders.append((o, item))


@events.test_start.add_listener
def setup(environment, **kwargs):
    host = environment.host.rstrip("/")
    classes = {c.__name__ for c in environment.user_classes}
    if "StressUser" in classes and not SKIP_SETUP:
        s = requests.Session()
        must(s, host, f"/payment/batch_init/{N}/{CREDIT}")
        must(s, host, f"/stock/batch_init/{N}/{STOCK}/{PRICE}")
        must(s, host, f"/orders/batch_init/{N}/{N}/{N}/{PRICE}")
    if "MixedUser" in classes:
        Pool.create(host)


def expect(response, ok_statuses):
    if response.status_code in ok_statuses:
        response.success()
    else:
        response.failure(f"{response.status_code} {response.text[:200]!r}")


class StressUser(FastHttpUser):
    """The course's stress test: checkouts of random batch_init orders, back to back."""
    wait_time = constant(0)

    @task
    def checkout(self):
        with self.client.post(f"/orders/checkout/{random.randrange(N)}", name="/orders/checkout/[id]",
                              catch_response=True) as r:
            expect(r, (200, 409))


class MixedUser(FastHttpUser):
    """A weighted mix over the pool; a checkout is a fresh order: create, addItem, checkout."""
    wait_time = constant(0)
    OPS = ("stock_find", "user_find", "add_funds", "stock_add", "add_item", "order_find", "checkout")

    def on_start(self):
        weights = parse_mix(os.environ.get("WDM_MIX", DEFAULT_MIX))
        self.ops = [getattr(self, name) for name in self.OPS]
        self.weights = [weights[name] for name in self.OPS]

    def call(self, method, path, name):
        with self.client.request(method, path, name=name, catch_response=True) as r:
            expect(r, (200,))
            return r

    def stock_find(self):
        self.call("GET", f"/stock/find/{random.choice(Pool.items)}", "stock_find")

    def user_find(self):
        self.call("GET", f"/payment/find_user/{random.choice(Pool.users)}", "user_find")

    def add_funds(self):
        self.call("POST", f"/payment/add_funds/{random.choice(Pool.users)}/1", "add_funds")

    def stock_add(self):
        self.call("POST", f"/stock/add/{random.choice(Pool.items)}/1", "stock_add")

    def add_item(self):
        order, item = random.choice(Pool.orders)
        self.call("POST", f"/orders/addItem/{order}/{item}/1", "add_item")

    def order_find(self):
        self.call("GET", f"/orders/find/{random.choice(Pool.orders)[0]}", "order_find")

    def checkout(self):
        r = self.call("POST", f"/orders/create/{random.choice(Pool.users)}", "order_create")
        if r.status_code != 200:
            return
        order = r.json()["order_id"]
        if self.call("POST", f"/orders/addItem/{order}/{random.choice(Pool.items)}/1",
                     "add_item").status_code == 200:
            self.call("POST", f"/orders/checkout/{order}", "checkout")

    @task
    def one(self):
        random.choices(self.ops, self.weights)[0]()
