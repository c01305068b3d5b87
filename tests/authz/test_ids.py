"""Decision and request ids: unique within a process and across forked workers."""

import os
import re

from authz.ids import unique_id


def test_ids_are_32_hex_digits_and_never_repeat():
    ids = [unique_id() for _ in range(10_000)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    assert len(set(ids)) == len(ids)


def test_a_forked_worker_never_hands_out_the_parents_ids():
    parent_next = unique_id()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: what a gunicorn worker does after fork
        os.write(write, unique_id().encode())
        os._exit(0)
    os.close(write)
    child_first = os.read(read, 64).decode()
    os.waitpid(pid, 0)
    assert child_first[:16] != parent_next[:16]  # its own random half
    assert child_first != unique_id()
