"""moto's server, with one fidelity fix and some speed fixes.

Fidelity: DynamoDB requests are served one at a time.

moto serves requests on threads, and its DynamoDB backend evaluates a condition and applies the
write as two Python steps with no lock, so two concurrent conditional updates of one item can both
pass. Real DynamoDB serialises writes to an item; otp-relay's guarantees (a code verifies once,
guesses are counted atomically) rest on that. Serialising every DynamoDB call here is stronger
than per-item ordering and costs nothing at local scale. Other services stay concurrent, so an SQS
long poll never blocks the API.

Speed: to roll back a cancelled transaction, moto deep-copies every table a transaction writes,
so each TransactWriteItems costs time in proportion to the table and filling a table with N codes
costs N^2 (a DLQ test with 1,000 codes spent minutes in copies). Here a transaction snapshots only
the items it touches and a cancelled one restores exactly those: the same all-or-nothing outcome.
And moto checks each message it hands out against the queue's retention period by computing
every queue attribute, message counts included: receiving from a queue of 1,000 jobs took
seconds a call. Here the check reads the one attribute it needs. SendMessage computed every
attribute too, to read one (ContentBasedDeduplication), so a send got slower with each job
queued: filling a queue with 5,000 jobs stalled past the SDK's 15 s timeout. Here a send reads
only that attribute, GetQueueAttributes computes them once (not twice per name asked), and SQS
reads the clock with time.time() instead of two datetime constructions per message looked at.

Usage: moto_server.py [-H HOST] [-p PORT]
"""

import argparse
import copy
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


def transactions_snapshot_only_what_they_touch():
    """See the module docstring. Relies on moto's own rollback (assigning its table snapshots
    back) becoming a no-op once its whole-table copies are the tables themselves."""
    import moto.dynamodb.models as models
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    class NoTableCopies:
        """`copy` as moto's DynamoDB backend module sees it: tables are not copied."""

        def deepcopy(self, value, memo=None):
            return value if isinstance(value, Table) else copy.deepcopy(value, memo)

        def __getattr__(self, name):
            return getattr(copy, name)

    models.copy = NoTableCopies()
    original = models.DynamoDBBackend.transact_write_items

    def snapshot(backend, request):
        """(table, hash key, range key, deep copy of the item or None), or None if the request
        is malformed (moto then reports it, before writing anything)."""
        try:
            op = next(iter(request.values()))
            table = backend.get_table(op["TableName"])
            key = op.get("Key") or op["Item"]
            hash_key = DynamoType(key[table.hash_key_attr])
            range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
        except Exception:
            return None
        if range_key is None:
            current = table.items.get(hash_key)
        else:
            current = table.items.get(hash_key, {}).get(range_key)
        return table, hash_key, range_key, copy.deepcopy(current)

    def restore(table, hash_key, range_key, before):
        if range_key is None:
            if before is None:
                table.items.pop(hash_key, None)
            else:
                table.items[hash_key] = before
        elif before is None:
            if hash_key in table.items:
                table.items[hash_key].pop(range_key, None)
        else:
            table.items[hash_key][range_key] = before

    def transact_write_items(self, transact_items):
        snapshots = [s for s in (snapshot(self, r) for r in transact_items) if s is not None]
        try:
            return original(self, transact_items)
        except Exception:
            for taken in reversed(snapshots):
                restore(*taken)
            raise

    models.DynamoDBBackend.transact_write_items = transact_write_items


def retention_checks_read_one_attribute():
    """See the module docstring: the same check as moto's, without computing every attribute."""
    from moto.core.utils import unix_time
    from moto.sqs.models import SQSBackend

    def is_message_valid_based_on_retention_period(self, queue_name, message):
        retention = self.get_queue(queue_name).message_retention_period
        return retention + message.sent_timestamp / 1000 > unix_time()

    SQSBackend.is_message_valid_based_on_retention_period = (
        is_message_valid_based_on_retention_period
    )


def queue_attributes_computed_at_most_once():
    """See the module docstring. While a thread is in SendMessage, a queue's attributes are only
    the one SendMessage reads: ContentBasedDeduplication, which only a FIFO queue has. While it
    is in GetQueueAttributes, they are computed once and reused."""
    import time

    import moto.sqs.models as models
    from moto.sqs.models import Queue, SQSBackend

    # Same values (seconds since the Unix epoch, UTC), without building datetimes.
    slow_unix_time = models.unix_time
    models.unix_time = lambda dt=None: time.time() if dt is None else slow_unix_time(dt)
    models.unix_time_millis = lambda dt=None: models.unix_time(dt) * 1000.0

    state = threading.local()
    every_attribute = Queue.attributes.fget

    def attributes(self):
        mode = getattr(state, "mode", None)
        if mode == "send":
            if not self.fifo_queue:
                return {}
            value = self.content_based_deduplication
            return {
                "ContentBasedDeduplication": str(value).lower() if isinstance(value, bool) else value
            }
        if mode == "get":
            if id(self) not in state.memo:
                state.memo[id(self)] = every_attribute(self)
            return state.memo[id(self)]
        return every_attribute(self)

    def in_mode(mode, original):
        def call(self, *args, **kwargs):
            state.mode, state.memo = mode, {}
            try:
                return original(self, *args, **kwargs)
            finally:
                state.mode, state.memo = None, {}

        return call

    Queue.attributes = property(attributes)
    SQSBackend.send_message = in_mode("send", SQSBackend.send_message)
    SQSBackend.get_queue_attributes = in_mode("get", SQSBackend.get_queue_attributes)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=4566)
    args = parser.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))
    transactions_snapshot_only_what_they_touch()
    retention_checks_read_one_attribute()
    queue_attributes_computed_at_most_once()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: sys.exit(0))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(args.host, args.port, SerialDynamoDB(app), threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
