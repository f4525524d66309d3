"""wdm_client: a Python client for the WDM checkout API, spoken in protobuf.

Every call sends `Accept: application/x-protobuf` and gets the reply message of
proto/api.proto; every POST that takes parameters sends its request message as the body
(`Content-Type: application/x-protobuf`) to the route's path without parameters, e.g.
StockChangeRequest{item_id, amount} to POST /stock/add. GETs carry their id in the path.
A failure raises WdmError (or the subclass for its status) with the HTTP status and the
wdm.Error text.

The message classes are generated from api.proto when first needed: `protoc --python_out`
(Debian package protobuf-compiler) into a temporary directory, imported from there, and
the directory removed again; nothing generated is kept or committed. api.proto is found
in `proto_dir`, else $WDM_PROTO_DIR, else the repository's proto/ beside this file.

    from wdm_client import Client, NotFound
    c = Client("http://127.0.0.1:8000")
    item = c.create_item(price=7)
    c.add_stock(item, 10).stock          # -> 10
"""

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import urllib.parse
from pathlib import Path

import requests
from google.protobuf.message import DecodeError

PROTOBUF = "application/x-protobuf"
DEFAULT_TIMEOUT = 70.0    # seconds: a checkout may take up to the gateway's 60 s
_REPO_PROTO_DIR = Path(__file__).resolve().parents[2] / "proto"

_messages = None
_messages_lock = threading.Lock()


class WdmError(Exception):
    """A request the API answered with an error: `status` (HTTP) and `error` (the text of
    the wdm.Error, or of whatever body the error came with)."""

    def __init__(self, status, error):
        super().__init__(f"{status}: {error}")
        self.status = status
        self.error = error


class BadRequest(WdmError):
    """400: a bad id, amount or body."""


class NotFound(WdmError):
    """404: no such item, user or order."""


class Conflict(WdmError):
    """409: not enough stock or credit (nothing was taken), or the order is paid or
    checking out."""


class Unavailable(WdmError):
    """503: a service did not answer; the request may be retried (with the same
    idempotency_key, so that it applies once)."""


_ERRORS = {400: BadRequest, 404: NotFound, 409: Conflict, 503: Unavailable}


def load_messages(proto_dir=None):
    """The module generated from api.proto (classes such as ItemReply), generated on the
    first call and the same module on every later one (a process can register api.proto
    once). Raises RuntimeError when protoc is missing or fails."""
    global _messages
    with _messages_lock:
        if _messages is None:
            _messages = _generate(Path(proto_dir or os.environ.get("WDM_PROTO_DIR") or _REPO_PROTO_DIR))
        return _messages


def _generate(proto_dir):
    """Runs protoc for proto_dir/api.proto in a temporary directory and imports the result
    under the name wdm_api_pb2."""
    protoc = shutil.which("protoc")
    if protoc is None:
        raise RuntimeError("protoc not found: install protobuf-compiler (clients/python/setup.sh)")
    if not (proto_dir / "api.proto").is_file():
        raise RuntimeError(f"{proto_dir}/api.proto not found (set WDM_PROTO_DIR)")
    tmp = tempfile.mkdtemp(prefix="wdm-client-")
    try:
        r = subprocess.run([protoc, f"-I{proto_dir}", f"--python_out={tmp}", str(proto_dir / "api.proto")],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError(f"protoc failed: {r.stderr.strip()}")
        spec = importlib.util.spec_from_file_location("wdm_api_pb2", os.path.join(tmp, "api_pb2.py"))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules["wdm_api_pb2"] = module
        return module
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _quote(id_):
    """An id as one path segment: anything that is not an id stays inside its segment
    (and gets the gateway's 400)."""
    return urllib.parse.quote(str(id_), safe="")


class Client:
    """One gateway, e.g. Client("http://127.0.0.1:8000"). Thread-safe as far as
    requests.Session is; keeps connections alive.

    Every write takes `idempotency_key=`: a retried request with the same key is applied
    once and gets the first answer (Idempotency-Key header)."""

    def __init__(self, base_url, timeout=DEFAULT_TIMEOUT, proto_dir=None, session=None):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.pb = load_messages(proto_dir)
        self.session = session or requests.Session()

    # ---- transport ----

    def _call(self, method, path, reply_cls, body=None, idempotency_key=None):
        """Sends one request and returns the parsed reply, or raises WdmError."""
        headers = {"Accept": PROTOBUF}
        data = None
        if body is not None:
            data = body.SerializeToString()
            headers["Content-Type"] = PROTOBUF
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        r = self.session.request(method, self.base_url + path, data=data, headers=headers,
                                 timeout=self.timeout)
        if r.status_code != 200:
            raise self._error(r)
        if _content_type(r) != PROTOBUF:
            raise WdmError(r.status_code, f"expected a protobuf reply, got {r.headers.get('Content-Type')!r}")
        return reply_cls.FromString(r.content)

    def _error(self, r):
        """The WdmError for a failed response: its wdm.Error text when it has one."""
        text = r.reason or "error"
        if _content_type(r) == PROTOBUF:
            try:
                text = self.pb.Error.FromString(r.content).error or text
            except DecodeError:
                pass    # no wdm.Error: the reason stays
        elif r.content:
            try:
                text = r.json().get("error", text)
            except (ValueError, AttributeError):
                text = r.text.strip()[:200] or text
        return _ERRORS.get(r.status_code, WdmError)(r.status_code, text)

    def _post(self, path, body, reply_cls, idempotency_key):
        return self._call("POST", path, reply_cls, body, idempotency_key)

    # ---- stock ----

    def create_item(self, price, *, idempotency_key=None):
        """A new item with stock 0; returns its id."""
        return self._post("/stock/item/create", self.pb.CreateItemRequest(price=price), self.pb.ItemIdReply,
                          idempotency_key).item_id

    def find_item(self, item_id):
        """ItemReply(stock, price)."""
        return self._call("GET", f"/stock/find/{_quote(item_id)}", self.pb.ItemReply)

    def add_stock(self, item_id, amount, *, idempotency_key=None):
        """StockReply(item_id, stock)."""
        return self._post("/stock/add", self.pb.StockChangeRequest(item_id=item_id, amount=amount),
                          self.pb.StockReply, idempotency_key)

    def subtract_stock(self, item_id, amount, *, idempotency_key=None):
        """StockReply(item_id, stock); Conflict when there is not enough."""
        return self._post("/stock/subtract", self.pb.StockChangeRequest(item_id=item_id, amount=amount),
                          self.pb.StockReply, idempotency_key)

    def stock_batch_init(self, n, starting_stock, item_price, *, idempotency_key=None):
        """Items "0".."n-1"; returns the gateway's message."""
        req = self.pb.StockBatchInitRequest(n=n, starting_stock=starting_stock, item_price=item_price)
        return self._post("/stock/batch_init", req, self.pb.BatchInitReply, idempotency_key).msg

    # ---- payment ----

    def create_user(self, *, idempotency_key=None):
        """A new user with credit 0; returns its id."""
        return self._post("/payment/create_user", None, self.pb.UserIdReply, idempotency_key).user_id

    def find_user(self, user_id):
        """UserReply(user_id, credit)."""
        return self._call("GET", f"/payment/find_user/{_quote(user_id)}", self.pb.UserReply)

    def add_funds(self, user_id, amount, *, idempotency_key=None):
        """AddFundsReply(done, credit)."""
        return self._post("/payment/add_funds", self.pb.CreditChangeRequest(user_id=user_id, amount=amount),
                          self.pb.AddFundsReply, idempotency_key)

    def pay(self, user_id, amount, *, idempotency_key=None):
        """UserReply(user_id, credit); Conflict when there is not enough credit."""
        return self._post("/payment/pay", self.pb.CreditChangeRequest(user_id=user_id, amount=amount),
                          self.pb.UserReply, idempotency_key)

    def payment_batch_init(self, n, starting_money, *, idempotency_key=None):
        """Users "0".."n-1"; returns the gateway's message."""
        req = self.pb.PaymentBatchInitRequest(n=n, starting_money=starting_money)
        return self._post("/payment/batch_init", req, self.pb.BatchInitReply, idempotency_key).msg

    # ---- orders ----

    def create_order(self, user_id, *, idempotency_key=None):
        """A new, empty order of user_id; returns its id."""
        return self._post("/orders/create", self.pb.CreateOrderRequest(user_id=user_id), self.pb.OrderIdReply,
                          idempotency_key).order_id

    def find_order(self, order_id):
        """OrderReply(order_id, paid, items: [OrderLine(item_id, quantity)], user_id,
        total_cost)."""
        return self._call("GET", f"/orders/find/{_quote(order_id)}", self.pb.OrderReply)

    def add_item(self, order_id, item_id, quantity, *, idempotency_key=None):
        """AddItemReply(order_id, total_cost)."""
        req = self.pb.AddItemRequest(order_id=order_id, item_id=item_id, quantity=quantity)
        return self._post("/orders/addItem", req, self.pb.AddItemReply, idempotency_key)

    def checkout(self, order_id, *, idempotency_key=None):
        """CheckoutReply(order_id, paid=True) once stock and credit are taken; Conflict
        when there is not enough of either (then nothing was taken)."""
        return self._post("/orders/checkout", self.pb.CheckoutRequest(order_id=order_id), self.pb.CheckoutReply,
                          idempotency_key)

    def orders_batch_init(self, n, n_items, n_users, item_price, *, idempotency_key=None):
        """Orders "0".."n-1" over items "0".."n_items-1" and users "0".."n_users-1"."""
        req = self.pb.OrderBatchInitRequest(n=n, n_items=n_items, n_users=n_users, item_price=item_price)
        return self._post("/orders/batch_init", req, self.pb.BatchInitReply, idempotency_key).msg


def _content_type(r):
    return r.headers.get("Content-Type", "").split(";")[0].strip().lower()
