"""moto_server.py refuses to start when a patch no longer fits moto.

Each case takes away or changes what one patch relies on, the way a moto upgrade could, then runs
the server: it must exit non-zero at once, naming the patch and the moto version, instead of
serving with a patch that silently does nothing. Run by scripts/test.sh (stdlib unittest).
"""

import os
import socket
import subprocess
import sys
import time
import unittest

SCRIPTS = os.path.dirname(os.path.abspath(__file__))

# What a moto upgrade could do to each patch's target (run before moto_server.py starts).
BREAKS = {
    "serial-dynamodb": (
        "import moto.moto_server.werkzeug_app as w; del w.MotoRequestHandler"
    ),
    # Transactions that no longer copy tables through the module's `copy`.
    "transaction-snapshots": (
        "from moto.dynamodb.models import DynamoDBBackend as B; o = B.transact_write_items\n"
        "def transact_write_items(self, transact_items): return o(self, transact_items)\n"
        "B.transact_write_items = transact_write_items"
    ),
    # The retention check renamed: assigning the old name would change nothing.
    "retention-reads-one-attribute": (
        "from moto.sqs.models import SQSBackend as B\n"
        "B.is_retained = B.is_message_valid_based_on_retention_period\n"
        "del B.is_message_valid_based_on_retention_period"
    ),
    "queue-attributes-computed-at-most-once": (
        "from moto.sqs.models import Queue; Queue.attributes = Queue.attributes.fget"
    ),
    # SQS reading the clock through its own helper: replacing the old name would change nothing.
    "sqs-clock-without-datetimes": (
        "import moto.sqs.models as m; m.unix_time = lambda dt=None: 0.0"
    ),
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server(port, setup=""):
    """moto_server.py on `port`, after running `setup` in the same interpreter."""
    launcher = (
        f"{setup}\n"
        "import runpy, sys\n"
        f"sys.argv = ['moto_server.py', '-p', '{port}']\n"
        f"runpy.run_path({os.path.join(SCRIPTS, 'moto_server.py')!r}, run_name='__main__')\n"
    )
    return subprocess.Popen(
        [sys.executable, "-c", launcher],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


class PatchChecks(unittest.TestCase):
    def test_the_pinned_moto_fits_every_patch(self):
        port = free_port()
        proc = server(port)
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                self.assertIsNone(proc.poll(), proc.stderr.read() if proc.poll() is not None else "")
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    return
                except OSError:
                    time.sleep(0.1)
            self.fail("moto_server.py did not answer within 30 s")
        finally:
            proc.terminate()
            proc.communicate(timeout=10)

    def test_a_patch_whose_target_moved_stops_the_server(self):
        import moto

        for patch, setup in BREAKS.items():
            with self.subTest(patch=patch):
                proc = server(free_port(), setup)
                try:
                    _, stderr = proc.communicate(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.communicate()
                    self.fail(f"moto_server.py started with {patch!r} unable to apply")
                self.assertNotEqual(proc.returncode, 0, stderr)
                self.assertIn(f"patch {patch!r} cannot apply to moto {moto.__version__}", stderr)


if __name__ == "__main__":
    unittest.main()
