# SPDX-License-Identifier: MIT
#
# A tiny TAP producer for sfud's integration tests (t/integration/*.t),
# read by automake's tap-driver.sh.
#
#   import tap
#   tap.plan(3)                 # or tap.done_testing() at the end
#   tap.ok(cond, "name")
#   tap.is_(got, expected, "name")
#   tap.like(text, r"regex", "name")
#   tap.diag("shown in the log")
#
# Everything goes to stdout (diagnostics as "# " comments) so the log keeps
# the order of events. The exit status is non-zero when a test failed, when
# the count does not match the plan, or when the script died of an uncaught
# exception (reported as a failed test with its traceback, so a helper that
# raises on a timeout fails the file instead of hanging or vanishing).
import atexit
import os
import re
import sys
import traceback

_planned = None     # int once plan() or done_testing() printed the plan
_count = 0
_failed = 0
_died = False
_HERE = os.path.abspath(__file__)


def _out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _clean_name(name):
    # '#' would start a directive (e.g. "# SKIP"), a newline a new line.
    name = str(name).replace("\\", "\\\\").replace("#", "\\#")
    return " ".join(name.splitlines())


def plan(n):
    """Announces n tests (call once, before the first test)."""
    global _planned
    if _planned is not None:
        raise RuntimeError("tap: plan already printed")
    _planned = int(n)
    _out("1..%d" % _planned)


def skip_all(reason):
    """Nothing can run here: prints '1..0 # SKIP reason' and exits 0."""
    global _planned
    _planned = 0
    _out("1..0 # SKIP %s" % _clean_name(reason))
    sys.stdout.flush()
    os._exit(0)


def done_testing():
    """Prints the plan after the fact (when plan() was not called)."""
    global _planned
    if _planned is None:
        _planned = _count
        _out("1..%d" % _planned)


def diag(msg):
    """A diagnostic: each line of msg as a TAP comment."""
    for line in str(msg).splitlines() or [""]:
        _out("# " + line)


def note(msg):
    diag(msg)


def ok(cond, name=""):
    """One test: passes when cond is true. Returns bool(cond)."""
    global _count, _failed
    _count += 1
    passed = bool(cond)
    if not passed:
        _failed += 1
    _out("%sok %d - %s" % ("" if passed else "not ", _count,
                           _clean_name(name)))
    if not passed:
        diag("  Failed test '%s'" % name)
        for frame in reversed(traceback.extract_stack()):
            if os.path.abspath(frame.filename) != _HERE:
                diag("  at %s line %d." % (frame.filename, frame.lineno))
                break
    return passed


def is_(got, expected, name=""):
    """Passes when got == expected (and both have the same bool-ness of
    type: True is not 1 here)."""
    same = got == expected and (isinstance(got, bool) ==
                                isinstance(expected, bool))
    if not ok(same, name):
        diag("         got: %r" % (got,))
        diag("    expected: %r" % (expected,))
    return same


def isnt(got, unexpected, name=""):
    differ = got != unexpected
    if not ok(differ, name):
        diag("         got: %r" % (got,))
        diag("    expected: anything else")
    return differ


def like(string, regex, name=""):
    """Passes when string is a str and re.search(regex) matches it."""
    matched = isinstance(string, str) and re.search(regex, string) is not None
    if not ok(matched, name):
        shown = string if not isinstance(string, str) or len(string) < 2000 \
            else "..." + string[-2000:]
        diag("                  %r" % (shown,))
        diag("    doesn't match '%s'" % regex)
    return matched


def unlike(string, regex, name=""):
    clean = isinstance(string, str) and re.search(regex, string) is None
    if not ok(clean, name):
        diag("                  %r" % (string,))
        diag("          matches '%s'" % regex)
    return clean


def failed():
    """How many tests failed so far."""
    return _failed


def count():
    return _count


def _excepthook(etype, value, tb):
    global _died
    _died = True
    if issubclass(etype, KeyboardInterrupt):
        diag("interrupted")
        return
    ok(False, "script died: %s: %s" % (etype.__name__, value))
    diag("".join(traceback.format_exception(etype, value, tb)))


def _at_exit():
    code = 0
    if _failed:
        diag("Looks like you failed %d test%s of %d." %
             (_failed, "" if _failed == 1 else "s", _count))
        code = 1
    if _planned is None:
        if _count > 0 or _died:
            diag("No plan: call tap.plan(n) or tap.done_testing().")
        code = code or 255
    elif _planned != _count:
        diag("Looks like you planned %d test%s but ran %d." %
             (_planned, "" if _planned == 1 else "s", _count))
        code = code or 255
    if _died:
        code = code or 255
    sys.stdout.flush()
    sys.stderr.flush()
    if code != 0:
        # A clean sys.exit(0) at the end of a failing script must not hide
        # the failure. Registered first, this handler runs last.
        os._exit(code)


sys.excepthook = _excepthook
atexit.register(_at_exit)
