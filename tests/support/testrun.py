"""What every Python test harness of the project shares: the ctest skip code, timestamped
progress lines, polling for a condition, and a main() that runs unittest or reports why the
machine cannot run the tests.

A skip exits 77, which the tests' CMakeLists declare as ctest's SKIP_RETURN_CODE: ctest reports
it as skipped, never as passed, and hack/test.sh fails a CI run that skipped anything.
"""
import sys
import time
import unittest

SKIP_CODE = 77


def log(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def wait_until(cond, timeout, what, interval=0.25, transient=(), explain=None):
    """Polls cond() until it returns a true value (returned) or timeout seconds pass, then raises
    AssertionError naming what, with the last value and explain()'s text if given. An exception
    of a class in `transient` (a probe that failed this time) counts as a false value."""
    end = time.monotonic() + timeout
    while True:
        try:
            last = cond()
        except transient as e:
            last = e
        if last and not isinstance(last, BaseException):
            return last
        if time.monotonic() > end:
            more = explain() if explain else ""
            raise AssertionError("timed out after %.0fs waiting for %s (last: %r)%s" % (timeout, what, last, more))
        time.sleep(interval)


def main(skip_reason=None, skip_prefix="SKIP: "):
    """unittest.main(); or, when skip_reason() names something the machine lacks, that reason
    printed and exit 77."""
    why = skip_reason() if skip_reason else None
    if why:
        print(skip_prefix + why, flush=True)
        sys.exit(SKIP_CODE)
    unittest.main(verbosity=2)
