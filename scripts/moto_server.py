"""moto's server, with one fidelity fix: DynamoDB requests are served one at a time.

moto serves requests on threads, and its DynamoDB backend evaluates a condition and applies the
write as two Python steps with no lock, so two concurrent conditional updates of one item can both
pass. Real DynamoDB serialises writes to an item; otp-relay's guarantees (a code verifies once,
guesses are counted atomically) rest on that. Serialising every DynamoDB call here is stronger
than per-item ordering and costs nothing at local scale. Other services stay concurrent, so an SQS
long poll never blocks the API.

Usage: moto_server.py [-H HOST] [-p PORT]
"""

import argparse
import os
import signal
import sys
import threading

from werkzeug.serving import run_simple

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)


class SerialDynamoDB:
    """WSGI middleware: DynamoDB requests (X-Amz-Target: DynamoDB_...) and state dumps
    (/moto-api/...) hold one lock."""

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        dynamodb = environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_")
        # moto's state dump walks every backend; it must not see a DynamoDB write half done.
        dump = environ.get("PATH_INFO", "").startswith("/moto-api/")
        if not (dynamodb or dump):
            return self.app(environ, start_response)
        with self.lock:
            # Drain the response inside the lock: the write is complete when the client sees it.
            return list(self.app(environ, start_response))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=4566)
    args = parser.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: sys.exit(0))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(args.host, args.port, SerialDynamoDB(app), threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
