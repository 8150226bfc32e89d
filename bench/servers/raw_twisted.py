"""The ceiling for any HTTP server on Twisted: a protocol that parses nothing.

    python bench/servers/raw_twisted.py 8080

It counts requests by their blank line (``b"\\r\\n\\r\\n"``) and answers each with a
prebuilt response, picked by looking for the route name in the request head. No
headers are parsed, no body is read, no JSON is encoded, no template is rendered:
whatever cyclone spends above this line is the cost of being an HTTP framework.
"""

import json
import sys

from payloads import BIG, FORM_ANSWER, HELLO, JSON_DOCUMENT, reference_page
from twisted.internet import protocol, reactor


def _response(body, content_type, close=False):
    head = "HTTP/1.1 200 OK\r\nServer: raw\r\nContent-Type: %s\r\nContent-Length: %d\r\n%s\r\n" % (
        content_type,
        len(body),
        "Connection: close\r\n" if close else "",
    )
    return head.encode("ascii") + body


_BODIES = [
    (b"/big", BIG, "application/octet-stream"),
    (b"/json", json.dumps(JSON_DOCUMENT).encode("utf-8"), "application/json; charset=UTF-8"),
    (b"/form", FORM_ANSWER, "text/plain; charset=UTF-8"),
    (b"/template", reference_page().encode("utf-8"), "text/html; charset=UTF-8"),
    (b"/hello", HELLO, "text/plain; charset=UTF-8"),
]
_KEEP_ALIVE = [(marker, _response(body, kind)) for marker, body, kind in _BODIES]
_CLOSE = [(marker, _response(body, kind, close=True)) for marker, body, kind in _BODIES]


def _pick(head, table):
    """The canned response of the first route whose name appears in the head."""
    for marker, response in table:
        if marker in head:
            return response
    return table[-1][1]


class CannedHTTP(protocol.Protocol):
    """Answers every request head it sees with a canned response."""

    def connectionMade(self):
        self._buffer = b""

    def dataReceived(self, data):
        self._buffer += data
        while True:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self._buffer[:end]
            self._buffer = self._buffer[end + 4 :]
            close = b"onnection: close" in head
            self.transport.write(_pick(head, _CLOSE if close else _KEEP_ALIVE))
            if close:
                self.transport.loseConnection()
                return


def main():
    factory = protocol.ServerFactory.forProtocol(CannedHTTP)
    reactor.listenTCP(int(sys.argv[1]), factory, backlog=1024, interface="127.0.0.1")
    reactor.run()


if __name__ == "__main__":
    main()
