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

Every patch first checks that what it patches is there, with the signature it expects and,
where the patch redirects a call, that moto still makes that call (class Checks). If not, the
server exits non-zero naming the patch and the moto version instead of starting with a patch
that silently does nothing. scripts/test_moto_server.py proves each check.

Usage: moto_server.py [-H HOST] [-p PORT]
"""

import argparse
import copy
import inspect
import os
import signal
import sys
import threading


class PatchCannotApply(Exception):
    """A patch's target is not what the patch was written against (a moto upgrade moved it)."""

    def __init__(self, patch, what):
        super().__init__(what)
        self.patch = patch
        self.what = what


class Checks:
    """What one patch needs from moto, checked before it changes anything: a patch whose target
    has moved would otherwise assign an attribute nothing reads and silently do nothing."""

    def __init__(self, patch):
        self.patch = patch

    def fail(self, what):
        raise PatchCannotApply(self.patch, what)

    def attribute(self, owner, name):
        """`owner.name`, which must exist."""
        if not hasattr(owner, name):
            self.fail(f"{getattr(owner, '__name__', owner)} has no attribute {name!r}")
        return getattr(owner, name)

    def imported(self, module, name):
        """`module.name` (e.g. `from moto.x import y`), failing on an ImportError."""
        try:
            mod = __import__(module, fromlist=[name])
        except ImportError as error:
            self.fail(f"cannot import {module}: {error}")
        return self.attribute(mod, name)

    def parameters(self, function, names):
        """`function` takes `names` as its first parameters, in that order."""
        actual = list(inspect.signature(function).parameters)
        if actual[: len(names)] != names:
            self.fail(f"{function.__qualname__} takes {actual}, the patch expects {names} first")

    def source(self, function):
        """`function`'s source text (moto ships its .py files)."""
        try:
            return inspect.getsource(function)
        except (OSError, TypeError) as error:
            self.fail(f"cannot read the source of {function!r}: {error}")

    def calls(self, function, snippet):
        """`function`'s source contains `snippet`: the call the patch redirects is still made
        there, so the patch still changes what moto does."""
        if snippet not in self.source(function):
            self.fail(f"{function.__qualname__} no longer contains {snippet!r}")

    def has(self, instance, names):
        """`instance` (built by the patch from moto's own constructor) has every attribute in
        `names`."""
        for name in names:
            self.attribute(instance, name)

    def same(self, value, expected, what):
        if value is not expected:
            self.fail(what)


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


def serial_dynamodb():
    """Fidelity (see the module docstring): moto's WSGI app wrapped in SerialDynamoDB. Returns
    the app and the request handler to serve it with."""
    need = Checks("serial-dynamodb")
    werkzeug_app = "moto.moto_server.werkzeug_app"
    dispatcher = need.imported(werkzeug_app, "DomainDispatcherApplication")
    handler = need.imported(werkzeug_app, "MotoRequestHandler")
    create_backend_app = need.imported(werkzeug_app, "create_backend_app")
    need.parameters(dispatcher.__init__, ["self", "create_app"])
    return SerialDynamoDB(dispatcher(create_backend_app)), handler


def transaction_snapshots():
    """Speed (see the module docstring). Relies on moto's own rollback (assigning its table
    snapshots back) becoming a no-op once its whole-table copies are the tables themselves."""
    need = Checks("transaction-snapshots")
    models = need.imported("moto.dynamodb.models", "DynamoDBBackend").__module__
    models = sys.modules[models]
    DynamoType = need.imported("moto.dynamodb.models.dynamo_type", "DynamoType")
    Table = need.imported("moto.dynamodb.models.table", "Table")
    original = need.attribute(models.DynamoDBBackend, "transact_write_items")
    need.parameters(original, ["self", "transact_items"])
    # The whole-table copy goes through the module's `copy`, which is what is replaced below.
    need.same(need.attribute(models, "copy"), copy, f"{models.__name__}.copy is not the copy module")
    need.calls(original, "copy.deepcopy(")
    need.calls(original, "self.tables[table_name] = original_table_state[table_name]")
    need.parameters(models.DynamoDBBackend.get_table, ["self", "table_name"])
    for name in ("hash_key_attr", "range_key_attr", "items"):
        need.calls(Table.__init__, f"self.{name}")

    class NoTableCopies:
        """`copy` as moto's DynamoDB backend module sees it: tables are not copied."""

        def deepcopy(self, value, memo=None):
            return value if isinstance(value, Table) else copy.deepcopy(value, memo)

        def __getattr__(self, name):
            return getattr(copy, name)

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

    models.copy = NoTableCopies()
    models.DynamoDBBackend.transact_write_items = transact_write_items


def retention_reads_one_attribute():
    """Speed (see the module docstring): the same check as moto's, without computing every
    attribute."""
    need = Checks("retention-reads-one-attribute")
    unix_time = need.imported("moto.core.utils", "unix_time")
    SQSBackend = need.imported("moto.sqs.models", "SQSBackend")
    original = need.attribute(SQSBackend, "is_message_valid_based_on_retention_period")
    need.parameters(original, ["self", "queue_name", "message"])
    # Replacing the method only helps while receiving still calls it.
    need.calls(SQSBackend.receive_message, "self.is_message_valid_based_on_retention_period(")
    need.calls(original, '"MessageRetentionPeriod"')
    Queue = need.imported("moto.sqs.models", "Queue")
    Message = need.imported("moto.sqs.models", "Message")
    need.has(Queue("check", "us-east-1", "123456789012"), ["message_retention_period"])
    need.calls(Message.__init__, "self.sent_timestamp")

    def is_message_valid_based_on_retention_period(self, queue_name, message):
        retention = self.get_queue(queue_name).message_retention_period
        return retention + message.sent_timestamp / 1000 > unix_time()

    SQSBackend.is_message_valid_based_on_retention_period = (
        is_message_valid_based_on_retention_period
    )


def queue_attributes_computed_at_most_once():
    """Speed (see the module docstring). While a thread is in SendMessage, a queue's attributes are
    only the one SendMessage reads: ContentBasedDeduplication, which only a FIFO queue has. While
    it is in GetQueueAttributes, they are computed once and reused."""
    need = Checks("queue-attributes-computed-at-most-once")
    Queue = need.imported("moto.sqs.models", "Queue")
    SQSBackend = need.imported("moto.sqs.models", "SQSBackend")
    prop = need.attribute(Queue, "attributes")
    if not isinstance(prop, property):
        need.fail("Queue.attributes is not a property")
    every_attribute = prop.fget
    send_message = need.attribute(SQSBackend, "send_message")
    get_queue_attributes = need.attribute(SQSBackend, "get_queue_attributes")
    need.parameters(send_message, ["self", "queue_name", "message_body"])
    need.parameters(get_queue_attributes, ["self", "queue_name", "attribute_names"])
    # What a send reads of the attributes: only ContentBasedDeduplication, only for FIFO queues.
    for reader in (SQSBackend._validate_message, Queue.add_message):
        source = need.source(reader)
        reads = source.count("attributes.get(") + source.count("attributes[")
        if reads != source.count('attributes.get("ContentBasedDeduplication")'):
            need.fail(f"{reader.__qualname__} reads a queue attribute other than ContentBasedDeduplication")
    need.has(Queue("check", "us-east-1", "123456789012"), ["fifo_queue", "content_based_deduplication"])

    state = threading.local()

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
    SQSBackend.send_message = in_mode("send", send_message)
    SQSBackend.get_queue_attributes = in_mode("get", get_queue_attributes)


def sqs_clock_without_datetimes():
    """Speed (see the module docstring): SQS reads the clock with time.time(); the same values
    (seconds since the Unix epoch, UTC) without building datetimes."""
    import time

    need = Checks("sqs-clock-without-datetimes")
    models = sys.modules[need.imported("moto.sqs.models", "Queue").__module__]
    unix_time = need.imported("moto.core.utils", "unix_time")
    # The module's own names are replaced: they must be the shared helpers, and still read.
    need.same(need.attribute(models, "unix_time"), unix_time, "moto.sqs.models.unix_time is not moto.core.utils.unix_time")
    need.same(
        need.attribute(models, "unix_time_millis"),
        need.imported("moto.core.utils", "unix_time_millis"),
        "moto.sqs.models.unix_time_millis is not moto.core.utils.unix_time_millis",
    )
    need.parameters(unix_time, ["dt"])
    need.calls(models.Message.mark_received, "unix_time_millis()")
    need.calls(models.SQSBackend.receive_message, "unix_time()")

    models.unix_time = lambda dt=None: time.time() if dt is None else unix_time(dt)
    models.unix_time_millis = lambda dt=None: models.unix_time(dt) * 1000.0


# Speed patches, in the order they are applied (docs/benchmarks.md measures each).
SPEED_PATCHES = [
    transaction_snapshots,
    retention_reads_one_attribute,
    queue_attributes_computed_at_most_once,
    sqs_clock_without_datetimes,
]


def patched_app():
    """Applies every patch and returns (app, request handler), or exits non-zero naming the
    patch that cannot apply to this moto."""
    import moto

    try:
        for patch in SPEED_PATCHES:
            patch()
        return serial_dynamodb()
    except PatchCannotApply as error:
        sys.exit(
            f"moto_server.py: patch {error.patch!r} cannot apply to moto {moto.__version__}: "
            f"{error.what}. Update the patch (scripts/moto_server.py) or pin the moto it was "
            "written for (scripts/requirements-dev.txt)."
        )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=4566)
    args = parser.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))
    app, handler = patched_app()
    from werkzeug.serving import run_simple

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: sys.exit(0))
    run_simple(args.host, args.port, app, threaded=True, request_handler=handler)


if __name__ == "__main__":
    main()
