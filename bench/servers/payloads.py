"""The bodies every benchmark server answers with, so all servers do the same work.

    >>> from payloads import HELLO, JSON_DOCUMENT, BIG, FORM_FIELDS
    >>> HELLO, len(BIG), len(FORM_FIELDS)
    (b'Hello, world', 262144, 20)

Each server script imports this module from its own directory (``bench/servers``),
so it must stay plain Python 3.7 without third-party imports: the old cyclone 1.3
server may run on an older interpreter than the rest.
"""

import json

#: GET /hello
HELLO = b"Hello, world"

#: GET /json: a ~1 KB document the server serialises on every request.
JSON_DOCUMENT = {
    "id": 12345,
    "name": "cyclone benchmark",
    "active": True,
    "ratio": 0.875,
    "tags": ["http", "twisted", "tornado", "benchmark", "json"],
    "owner": {
        "login": "bench",
        "id": 42,
        "site_admin": False,
        "url": "https://example.invalid/u/bench",
    },
    "items": [
        {
            "id": index,
            "title": "item number %d" % index,
            "price": index * 1.25,
            "in_stock": index % 2 == 0,
        }
        for index in range(10)
    ],
    "description": "A small JSON document of about one kilobyte, encoded on every request.",
}

#: The JSON body as the runner expects to decode it (servers encode JSON_DOCUMENT themselves).
JSON_SIZE_HINT = len(json.dumps(JSON_DOCUMENT))

#: GET /big: 256 KiB of bytes.
BIG = (b"0123456789abcdef" * 16384)[: 256 * 1024]

#: POST /form: 20 urlencoded fields; servers answer with the number of arguments they parsed.
FORM_FIELDS = [
    ("field%02d" % index, "value %d &more=%d" % (index, index * 7)) for index in range(1, 21)
]

#: The response body of POST /form.
FORM_ANSWER = str(len(FORM_FIELDS)).encode("ascii")
