"""What the system tests (tests/system) and the chaos suite (tests/chaos) share about the
processes of a local topology: whether a pid is still the process it was, log tails, and
the log lines that mean a sanitizer report or an unclean stop."""

import re
from pathlib import Path

# A sanitizer report starts with one of these lines (ASan/LSan: "==pid==ERROR: ...";
# UBSan: "file:line:col: runtime error: ..."; UBSan's own summary line).
SANITIZER_RE = re.compile(r"ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|"
                          r"SUMMARY: UndefinedBehaviorSanitizer")
# infra/local/down's line for one of our programs (pidfile names) that it had to KILL:
# then no leak check ran.
IGNORED_TERM_RE = re.compile(r"^(gateway(-\d+)?|order-\d+|stock-\d+|payment-\d+) \(pid \d+\) ignored TERM")


def proc_start(pid):
    """The start time (clock ticks since boot) of a live, non-zombie process, else None:
    with the pid, it names one process even after the pid is reused."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()    # after "pid (comm) "
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])                          # field 22: starttime


def tail(path, n=60):
    """The last n lines of a text file, or a note that it cannot be read."""
    try:
        lines = Path(path).read_text(errors="replace").splitlines()
    except OSError:
        return f"({path}: unreadable)"
    return "\n".join(lines[-n:])
