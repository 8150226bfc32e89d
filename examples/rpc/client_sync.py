"""Call the example RPC server with nothing but the standard library (blocking).

python examples/rpc/client_sync.py http://127.0.0.1:8888/
"""

from __future__ import annotations

import itertools
import json
import sys
import urllib.request
import xmlrpc.client

_ids = itertools.count(1)


def jsonrpc(url: str, payload: object) -> object:
    """POST one JSON-RPC request (or batch) and return the decoded answer (None for 204)."""
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        body = response.read()
    return json.loads(body) if body else None


def call(url: str, method: str, params: object) -> object:
    answer = jsonrpc(url, {"jsonrpc": "2.0", "method": method, "params": params, "id": next(_ids)})
    assert isinstance(answer, dict)
    if answer.get("error"):
        error = answer["error"]
        raise RuntimeError(f"error {error['code']}: {error['message']}")
    return answer["result"]


def main(base: str) -> None:
    base = base.rstrip("/")
    server = xmlrpc.client.ServerProxy(f"{base}/xmlrpc", allow_none=True)
    print("xmlrpc add(2, 3) =", server.add(2, 3))
    print("xmlrpc math.mul(6, 7) =", server.math.mul(6, 7))
    print("xmlrpc sort =", server.sort([3, 1, 2]))
    print("xmlrpc slow_upper =", server.slow_upper("hello"))
    try:
        server.divide(1, 0)
    except xmlrpc.client.Fault as fault:
        print(f"xmlrpc divide(1, 0) -> fault {fault.faultCode}: {fault.faultString}")
    print("xmlrpc help(add) =", server.system.methodHelp("add"))
    multicall = xmlrpc.client.MultiCall(server)
    multicall.add(1, 1)
    multicall.math.mul(3, 3)
    print("xmlrpc multicall =", list(multicall()))

    url = f"{base}/jsonrpc"
    print("jsonrpc add(2, 3) =", call(url, "add", [2, 3]))
    print(
        "jsonrpc subtract(minuend=42, subtrahend=23) =",
        call(url, "subtract", {"minuend": 42, "subtrahend": 23}),
    )
    print("jsonrpc slow_upper =", call(url, "slow_upper", ["hello"]))
    try:
        call(url, "divide", [1, 0])
    except RuntimeError as error:
        print("jsonrpc divide(1, 0) ->", error)
    batch = jsonrpc(
        url,
        [
            {"jsonrpc": "2.0", "method": "add", "params": [1, 2], "id": "a"},
            {"jsonrpc": "2.0", "method": "log", "params": ["from a batch"]},
            {"jsonrpc": "2.0", "method": "echo", "params": ["b"], "id": "b"},
        ],
    )
    assert isinstance(batch, list)
    print("jsonrpc batch =", [answer["result"] for answer in batch])
    print(
        "jsonrpc notification answer =",
        jsonrpc(url, {"jsonrpc": "2.0", "method": "log", "params": ["hi"]}),
    )


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8888/")
