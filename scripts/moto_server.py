"""moto's server, with two fidelity fixes for DynamoDB.

1. Requests are served one at a time. moto serves requests on threads, and its DynamoDB backend
   evaluates a condition and applies the write as two Python steps with no lock, so two concurrent
   conditional updates of one item can both pass. Real DynamoDB serialises writes to an item;
   otp-relay's guarantees (a code verifies once, guesses are counted atomically) rest on that.
   Serialising every DynamoDB call here is stronger than per-item ordering and costs nothing at
   local scale. Other services stay concurrent, so an SQS long poll never blocks the API.
2. TransactWriteItems costs what it touches. To roll back, moto deep-copies every table a
   transaction names, once per item: a send (five items) got slower as the table grew, to 200 ms
   and more within one benchmark, and the drift moved every latency comparison. Real DynamoDB's
   latency does not depend on table size. With requests serialised, saving just the items a
   transaction touches gives the same all-or-nothing result.

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


def cheap_transaction_rollback():
    """Fix 2 above: snapshot the touched items instead of whole tables."""
    import copy
    from types import SimpleNamespace

    from moto.dynamodb import models
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    real_deepcopy = copy.deepcopy
    # The backend module's own `copy.deepcopy` now leaves tables alone (its rollback becomes a
    # no-op); everything else it copies is still deep-copied.
    models.copy = SimpleNamespace(
        deepcopy=lambda x, memo=None: x if isinstance(x, Table) else real_deepcopy(x, memo)
    )
    original = models.DynamoDBBackend.transact_write_items

    def transact_write_items(self, transact_items):
        saved = []
        for entry in transact_items:
            _, op = next(iter(entry.items()))
            table = self.tables.get(op.get("TableName"))
            if table is None:
                continue
            if table.has_range_key:
                saved.append((table, None, real_deepcopy(table.items)))
                continue
            key = op.get("Key") or op.get("Item") or {}
            if table.hash_key_attr not in key:
                continue
            hash_value = DynamoType(key[table.hash_key_attr])
            saved.append((table, hash_value, real_deepcopy(table.items.get(hash_value))))
        try:
            return original(self, transact_items)
        except Exception:
            for table, hash_value, item in reversed(saved):
                if hash_value is None:
                    table.items = item
                elif item is None:
                    table.items.pop(hash_value, None)
                else:
                    table.items[hash_value] = item
            raise

    models.DynamoDBBackend.transact_write_items = transact_write_items


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
    cheap_transaction_rollback()
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(args.host, args.port, SerialDynamoDB(app), threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
