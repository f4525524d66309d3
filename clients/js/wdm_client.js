// wdm_client: a Node client for the WDM checkout API, spoken in protobuf.
//
// Every call sends `Accept: application/x-protobuf` and decodes the reply message of
// proto/api.proto, which protobufjs parses at run time (nothing is generated). Every POST
// that takes parameters sends its request message as the body (`Content-Type:
// application/x-protobuf`) to the route's path without parameters, e.g.
// StockChangeRequest{item_id, amount} to POST /stock/add; GETs carry their id in the path.
// Replies are plain objects with the .proto's field names (snake_case), every field
// present, int64 as Number (the API's values stay within 2^53, so they are exact).
// A failure throws WdmError with the HTTP status and the wdm.Error text.
//
//   import { connect } from "wdm-client";
//   const c = await connect("http://127.0.0.1:8000");
//   const item = await c.createItem(7);
//   (await c.addStock(item, 10)).stock;   // 10

import path from "node:path";
import { fileURLToPath } from "node:url";

import protobuf from "protobufjs";

const PROTOBUF = "application/x-protobuf";
const DEFAULT_TIMEOUT_MS = 70_000; // a checkout may take up to the gateway's 60 s
const REPO_PROTO_DIR = fileURLToPath(new URL("../../proto/", import.meta.url));
const TO_OBJECT = { longs: Number, defaults: true, arrays: true };

/** An error answer: `status` (HTTP) and `error` (the wdm.Error text, or the body's). */
export class WdmError extends Error {
  constructor(status, error) {
    super(`${status}: ${error}`);
    this.name = "WdmError";
    this.status = status;
    this.error = error;
  }
}

/** Loads api.proto from protoDir (else $WDM_PROTO_DIR, else the repository's proto/). */
export async function loadMessages(protoDir) {
  const dir = protoDir ?? process.env.WDM_PROTO_DIR ?? REPO_PROTO_DIR;
  return new protobuf.Root().load(path.join(dir, "api.proto"), { keepCase: true });
}

/** A client of the gateway at baseUrl, with api.proto loaded. Options: protoDir,
 *  timeoutMs (per request). */
export async function connect(baseUrl, { protoDir, timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
  return new WdmClient(baseUrl, await loadMessages(protoDir), { timeoutMs });
}

/** The media type of a response, lower case, without parameters. */
function contentType(res) {
  return (res.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
}

/** An id as one path segment: anything that is not an id stays inside its segment
 *  (and gets the gateway's 400). */
function seg(id) {
  return encodeURIComponent(String(id));
}

export class WdmClient {
  /** root: the protobufjs Root of api.proto (loadMessages). Prefer connect(). */
  constructor(baseUrl, root, { timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.timeoutMs = timeoutMs;
    this.root = root;
  }

  /** The message type wdm.<name>. */
  type(name) {
    return this.root.lookupType(`wdm.${name}`);
  }

  /** Sends one request (body: [typeName, fields] or undefined) and returns the reply
   *  of type replyName as a plain object, or throws WdmError. Writes take
   *  opts.idempotencyKey: a retry with the same key applies once. */
  async call(method, urlPath, replyName, body, { idempotencyKey } = {}) {
    const headers = { Accept: PROTOBUF };
    let data;
    if (body !== undefined) {
      const [typeName, fields] = body;
      const t = this.type(typeName);
      const invalid = t.verify(fields);
      if (invalid) throw new TypeError(`${typeName}: ${invalid}`);
      data = t.encode(t.fromObject(fields)).finish();
      headers["Content-Type"] = PROTOBUF;
    }
    if (idempotencyKey !== undefined) headers["Idempotency-Key"] = idempotencyKey;
    const res = await fetch(this.baseUrl + urlPath, {
      method,
      headers,
      body: data,
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const bytes = new Uint8Array(await res.arrayBuffer());
    if (res.status !== 200) throw this.error(res, bytes);
    if (contentType(res) !== PROTOBUF)
      throw new WdmError(res.status, `expected a protobuf reply, got ${res.headers.get("content-type")}`);
    const t = this.type(replyName);
    return t.toObject(t.decode(bytes), TO_OBJECT);
  }

  /** The WdmError of a failed response: its wdm.Error text when it has one. */
  error(res, bytes) {
    let text = res.statusText || "error";
    try {
      if (contentType(res) === PROTOBUF) text = this.type("Error").decode(bytes).error || text;
      else if (bytes.length > 0) text = JSON.parse(new TextDecoder().decode(bytes)).error ?? text;
    } catch {
      // not a wdm.Error nor JSON: the status text stays
    }
    return new WdmError(res.status, text);
  }

  post(urlPath, replyName, body, opts) {
    return this.call("POST", urlPath, replyName, body, opts);
  }

  // ---- stock ----

  /** A new item with stock 0; resolves to its id. */
  async createItem(price, opts) {
    return (await this.post("/stock/item/create", "ItemIdReply", ["CreateItemRequest", { price }], opts)).item_id;
  }

  /** {stock, price} */
  findItem(itemId) {
    return this.call("GET", `/stock/find/${seg(itemId)}`, "ItemReply");
  }

  /** {item_id, stock} */
  addStock(itemId, amount, opts) {
    return this.post("/stock/add", "StockReply", ["StockChangeRequest", { item_id: itemId, amount }], opts);
  }

  /** {item_id, stock}; 409 when there is not enough. */
  subtractStock(itemId, amount, opts) {
    return this.post("/stock/subtract", "StockReply", ["StockChangeRequest", { item_id: itemId, amount }], opts);
  }

  /** Items "0".."n-1"; resolves to the gateway's message. */
  async stockBatchInit(n, startingStock, itemPrice, opts) {
    const fields = { n, starting_stock: startingStock, item_price: itemPrice };
    return (await this.post("/stock/batch_init", "BatchInitReply", ["StockBatchInitRequest", fields], opts)).msg;
  }

  // ---- payment ----

  /** A new user with credit 0; resolves to its id. */
  async createUser(opts) {
    return (await this.post("/payment/create_user", "UserIdReply", undefined, opts)).user_id;
  }

  /** {user_id, credit} */
  findUser(userId) {
    return this.call("GET", `/payment/find_user/${seg(userId)}`, "UserReply");
  }

  /** {done, credit} */
  addFunds(userId, amount, opts) {
    return this.post("/payment/add_funds", "AddFundsReply", ["CreditChangeRequest", { user_id: userId, amount }], opts);
  }

  /** {user_id, credit}; 409 when there is not enough credit. */
  pay(userId, amount, opts) {
    return this.post("/payment/pay", "UserReply", ["CreditChangeRequest", { user_id: userId, amount }], opts);
  }

  /** Users "0".."n-1"; resolves to the gateway's message. */
  async paymentBatchInit(n, startingMoney, opts) {
    const fields = { n, starting_money: startingMoney };
    return (await this.post("/payment/batch_init", "BatchInitReply", ["PaymentBatchInitRequest", fields], opts)).msg;
  }

  // ---- orders ----

  /** A new, empty order of userId; resolves to its id. */
  async createOrder(userId, opts) {
    return (await this.post("/orders/create", "OrderIdReply", ["CreateOrderRequest", { user_id: userId }], opts))
      .order_id;
  }

  /** {order_id, paid, items: [{item_id, quantity}], user_id, total_cost} */
  findOrder(orderId) {
    return this.call("GET", `/orders/find/${seg(orderId)}`, "OrderReply");
  }

  /** {order_id, total_cost} */
  addItem(orderId, itemId, quantity, opts) {
    const fields = { order_id: orderId, item_id: itemId, quantity };
    return this.post("/orders/addItem", "AddItemReply", ["AddItemRequest", fields], opts);
  }

  /** {order_id, paid: true} once stock and credit are taken; 409 when there is not
   *  enough of either (then nothing was taken). */
  checkout(orderId, opts) {
    return this.post("/orders/checkout", "CheckoutReply", ["CheckoutRequest", { order_id: orderId }], opts);
  }

  /** Orders "0".."n-1" over items "0".."nItems-1" and users "0".."nUsers-1". */
  async ordersBatchInit(n, nItems, nUsers, itemPrice, opts) {
    const fields = { n, n_items: nItems, n_users: nUsers, item_price: itemPrice };
    return (await this.post("/orders/batch_init", "BatchInitReply", ["OrderBatchInitRequest", fields], opts)).msg;
  }
}
