// The JavaScript client against a running gateway: the whole flow of a checkout, read
// back exactly, the batch inits, and typed errors (404, 400, 409 for lack of credit).
//
//   node test/flow.test.mjs http://127.0.0.1:8000
//   WDM_GATEWAY_URL=http://127.0.0.1:8000 npm test
//
// tests/system/test_clients.py runs it against the test topology.

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { before, test } from "node:test";

import { connect, WdmError } from "../wdm_client.js";

const url = process.argv[2] ?? process.env.WDM_GATEWAY_URL;
let c;

before(async () => {
  assert.ok(url, "give the gateway's URL as the first argument or in WDM_GATEWAY_URL");
  c = await connect(url);
});

/** Rejects with a WdmError of this status and a non-empty text. */
async function rejectsWith(promise, status) {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof WdmError, `not a WdmError: ${e}`);
    assert.equal(e.status, status, e.message);
    assert.ok(e.error.length > 0);
    return true;
  });
}

/** An order's lines as sorted [item_id, quantity] pairs. */
function lines(order) {
  return order.items.map((l) => [l.item_id, l.quantity]).sort();
}

test("checkout flow, read back exactly", async () => {
  const user = await c.createUser();
  assert.deepEqual(await c.findUser(user), { user_id: user, credit: 0 });
  assert.deepEqual(await c.addFunds(user, 100), { done: true, credit: 100 });
  assert.deepEqual(await c.pay(user, 10), { user_id: user, credit: 90 });

  const a = await c.createItem(7);
  const b = await c.createItem(5);
  assert.deepEqual(await c.findItem(a), { stock: 0, price: 7 });
  assert.deepEqual(await c.addStock(a, 10), { item_id: a, stock: 10 });
  assert.deepEqual(await c.addStock(b, 4), { item_id: b, stock: 4 });
  assert.deepEqual(await c.subtractStock(b, 1), { item_id: b, stock: 3 });

  const order = await c.createOrder(user);
  assert.deepEqual(await c.addItem(order, a, 2), { order_id: order, total_cost: 14 });
  assert.deepEqual(await c.addItem(order, b, 1), { order_id: order, total_cost: 19 });
  assert.deepEqual(await c.addItem(order, a, 1), { order_id: order, total_cost: 26 });
  let o = await c.findOrder(order);
  assert.deepEqual([o.order_id, o.paid, o.user_id, o.total_cost], [order, false, user, 26]);
  assert.deepEqual(lines(o), [[a, 3], [b, 1]].sort());

  assert.deepEqual(await c.checkout(order), { order_id: order, paid: true });
  assert.deepEqual(await c.findUser(user), { user_id: user, credit: 64 });
  assert.deepEqual(await c.findItem(a), { stock: 7, price: 7 });
  assert.deepEqual(await c.findItem(b), { stock: 2, price: 5 });
  o = await c.findOrder(order);
  assert.deepEqual([o.order_id, o.paid, o.user_id, o.total_cost], [order, true, user, 26]);
  assert.deepEqual(lines(o), [[a, 3], [b, 1]].sort());

  // A paid order's checkout charges nothing; a keyed write applies once.
  assert.deepEqual(await c.checkout(order), { order_id: order, paid: true });
  const key = `js-${randomUUID()}`;
  assert.deepEqual(await c.addFunds(user, 1, { idempotencyKey: key }), { done: true, credit: 65 });
  assert.deepEqual(await c.addFunds(user, 1, { idempotencyKey: key }), { done: true, credit: 65 });
  assert.equal((await c.findUser(user)).credit, 65);
});

test("batch inits", async () => {
  assert.equal(typeof (await c.stockBatchInit(3, 19, 23)), "string");
  assert.deepEqual(await c.findItem("2"), { stock: 19, price: 23 });
  assert.equal(typeof (await c.paymentBatchInit(3, 29)), "string");
  assert.deepEqual(await c.findUser("1"), { user_id: "1", credit: 29 });
  assert.equal(typeof (await c.ordersBatchInit(3, 3, 3, 23)), "string");
  const o = await c.findOrder("0");
  assert.deepEqual([o.order_id, o.paid, o.total_cost], ["0", false, 46]);
  assert.equal(o.items.reduce((n, l) => n + l.quantity, 0), 2);
  assert.ok(["0", "1", "2"].includes(o.user_id));
});

test("errors are typed: 404, 400, 409 for lack of credit", async () => {
  await rejectsWith(c.findItem(`nx-${randomUUID()}`), 404);
  await rejectsWith(c.findUser(`nx-${randomUUID()}`), 404);
  await rejectsWith(c.checkout(`nx-${randomUUID()}`), 404);

  const item = await c.createItem(3);
  await rejectsWith(c.addStock(item, 0), 400);
  await rejectsWith(c.addStock("not/an-id", 1), 400);

  const user = await c.createUser();
  await c.addFunds(user, 5);
  await c.addStock(item, 2);
  const order = await c.createOrder(user);
  assert.equal((await c.addItem(order, item, 2)).total_cost, 6);
  await rejectsWith(c.checkout(order), 409);
  // Nothing was taken.
  assert.equal((await c.findUser(user)).credit, 5);
  assert.deepEqual(await c.findItem(item), { stock: 2, price: 3 });
  assert.equal((await c.findOrder(order)).paid, false);
});
