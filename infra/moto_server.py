"""The local stack's embedded AWS: moto's server, with DynamoDB requests taken one at a time.

    python -m infra.moto_server HOST PORT

moto applies a transaction's or a conditional write's condition and its writes without a
lock, so two threads could both pass a condition that DynamoDB would let only one pass
(30 concurrent applications could then take 4 quota slots). DynamoDB serializes them;
here one lock does. Other services (SQS long polls among them) stay concurrent.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple


def serialized_dynamodb(app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    lock = threading.Lock()

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            with lock:
                return list(app(environ, start_response))
        return app(environ, start_response)

    return wsgi


def main(host: str, port: str) -> None:
    app = serialized_dynamodb(DomainDispatcherApplication(create_backend_app))
    run_simple(host, int(port), app, threaded=True, use_reloader=False)


if __name__ == "__main__":
    main(*sys.argv[1:3])
