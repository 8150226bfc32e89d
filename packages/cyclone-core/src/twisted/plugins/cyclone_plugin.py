"""The ``twistd cyclone`` plugin: ``twistd -n cyclone --app=myapp.Application``.

Twisted finds this module in any ``twisted/plugins`` directory on sys.path.
It stays tiny (``twistd --help`` imports every plugin): the options and the
service live in `cyclone.tap` (over `cyclone.deploy` and `cyclone.workers`),
imported only when the plugin is used.
"""

from twisted.application.service import ServiceMaker

serviceMaker = ServiceMaker(
    "cyclone",
    "cyclone.tap",
    "A cyclone web application (HTTP, TLS with SNI, UNIX sockets, worker processes)",
    "cyclone",
)
