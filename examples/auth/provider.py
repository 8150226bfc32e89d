"""Run the local OpenID Connect provider the cyclone.auth tests use, to try app.py offline.

    python provider.py --port 9000 --client-id cyclone-example --client-secret s3cret \\
        --redirect-uri http://127.0.0.1:8888/auth/oidc

It is packages/cyclone-web/tests/oauth_provider.py — Authlib's authorization
server behind werkzeug, users ``alice`` and ``bob`` — loaded from the source
tree. Needs ``pip install authlib flask oauthlib``. For tests and demos only:
it keeps everything in memory and speaks plain HTTP on loopback.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

PROVIDER = Path(__file__).resolve().parents[2] / "packages/cyclone-web/tests/oauth_provider.py"


def main() -> None:
    spec = importlib.util.spec_from_file_location("cyclone_web_oauth_provider", PROVIDER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    module.main()


if __name__ == "__main__":
    main()
