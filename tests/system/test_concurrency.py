"""Concurrent writes to one entity: each applies exactly once, none is lost or doubled."""

import asyncio
import json

import aiohttp

CONCURRENCY = 100   # connections in flight at once


async def _post_all(base, paths):
    conn = aiohttp.TCPConnector(limit=CONCURRENCY)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(connector=conn, timeout=timeout) as s:
        start = asyncio.Event()

        async def one(path):
            await start.wait()
            async with s.post(base + path) as r:
                return r.status, r.headers.get("Content-Type", ""), await r.read()

        tasks = [asyncio.ensure_future(one(p)) for p in paths]
        await asyncio.sleep(0)
        start.set()
        return await asyncio.gather(*tasks)


def hammer(base, paths):
    return asyncio.run(_post_all(base, paths))


def _split(results, key):
    ok, conflict, other = [], 0, []
    for status, ctype, body in results:
        if status == 200:
            assert ctype.split(";")[0].strip() == "application/json", ctype
            ok.append(json.loads(body)[key])
        elif status == 409:
            conflict += 1
        else:
            other.append((status, body[:200]))
    return ok, conflict, other


def test_concurrent_subtract_sells_exactly_the_stock(api, base_url):
    item = api.new_item(1, stock=100)
    results = hammer(base_url, [f"/stock/subtract/{item}/1"] * 200)
    ok, conflict, other = _split(results, "stock")
    assert other == []
    assert len(ok) == 100 and conflict == 100, (len(ok), conflict)
    assert sorted(ok) == list(range(100))
    assert api.item(item)["stock"] == 0


def test_concurrent_pay_spends_exactly_the_credit(api, base_url):
    user = api.new_user(100)
    results = hammer(base_url, [f"/payment/pay/{user}/1"] * 200)
    ok, conflict, other = _split(results, "credit")
    assert other == []
    assert len(ok) == 100 and conflict == 100, (len(ok), conflict)
    assert sorted(ok) == list(range(100))
    assert api.credit(user) == 0


def test_concurrent_add_loses_nothing(api, base_url):
    item = api.new_item(1)
    results = hammer(base_url, [f"/stock/add/{item}/1"] * 100)
    ok, conflict, other = _split(results, "stock")
    assert other == [] and conflict == 0
    assert sorted(ok) == list(range(1, 101))
    assert api.item(item)["stock"] == 100


def test_concurrent_add_item_to_one_order(api, base_url):
    item = api.new_item(3)
    order = api.new_order()
    results = hammer(base_url, [f"/orders/addItem/{order}/{item}/1"] * 50)
    ok, conflict, other = _split(results, "total_cost")
    assert other == [] and conflict == 0
    assert sorted(ok) == [3 * k for k in range(1, 51)]
    o = api.order(order)
    assert o["items"] == [[item, 50]] and o["total_cost"] == 150
