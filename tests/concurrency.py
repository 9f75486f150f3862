"""Run a function on several threads at once, each on its own database connection, for
tests of races (two ticks, two pollers): the barrier makes them start together."""

import threading

from django.db import connection


def run_concurrently(fn, n=2, *, timeout=120):
    barrier = threading.Barrier(n)
    results, errors = [], []

    def worker():
        try:
            barrier.wait(timeout=10)
            results.append(fn())
        except Exception as exc:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout)
    assert errors == []
    return results
