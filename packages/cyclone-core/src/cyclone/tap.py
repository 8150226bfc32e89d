"""The ``twistd cyclone`` service maker: one process, or a pool of worker processes.

    twistd -n cyclone --app=myapp.Application --workers=4

The plugin in ``twisted/plugins/cyclone_plugin.py`` names this module, which
twistd asks for ``Options`` and ``makeService``. It sits above both
`cyclone.deploy` (a single process serving) and `cyclone.workers` (several
processes sharing the listening sockets, or one that restarts on source
changes with ``--reload``), so neither imports the other: workers build on
deploy, and this module chooses between them.
"""

from __future__ import annotations

from twisted.application import service
from twisted.python import usage

from cyclone.deploy import (
    Options,
    ServerService,
    build_application,
    build_ssl_application,
    build_tls,
    resolve_application,
)
from cyclone.workers import WorkerPool

__all__ = ["Options", "makeService"]


def makeService(options: Options) -> service.Service:
    """Build the ``twistd cyclone`` service: one process, or a pool of workers.

    An ``--app`` that names nothing loadable (a missing module or attribute,
    or something that is not a server factory) ends twistd with a one-line
    error and status 1 instead of a traceback through Twisted's plugin
    machinery.
    """
    try:
        return _make_service(options)
    except usage.UsageError as error:
        raise SystemExit(f"twistd cyclone: error: {error}") from None


def _make_service(options: Options) -> service.Service:
    if options["workers"] > 1 or options["reload"]:
        config = options.worker_config()
        # Find the application and the TLS files here, so a typo fails at once rather
        # than in every worker; building the application (which may connect to
        # databases) is left to the workers.
        resolve_application(config["app"])
        if any(item.tls for item in options["listeners"]):
            build_tls(config)
        return WorkerPool(
            config,
            options["listeners"],
            options["workers"],
            options["shutdown-timeout"],
        )
    config = options.worker_config()
    app = build_application(config)
    tls = build_tls(config) if any(item.tls for item in options["listeners"]) else None
    ssl_app = build_ssl_application(config)
    return ServerService(
        app, options["listeners"], tls, options["shutdown-timeout"], tls_factory=ssl_app
    )
