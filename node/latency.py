"""The latency monitor (Redis's ``latency.c``): per-event time series, DOCTOR and GRAPH texts.

Theory of operation: an event (``command``, ``fast-command``...) gets a sample when something
took at least ``latency-monitor-threshold`` ms. Each event keeps the last ``LATENCY_TS_LEN``
samples, at most one per second (a second sample in the same second only raises that second's
value), and its all-time maximum. Time is the node's wall clock in seconds, passed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

LATENCY_TS_LEN = 160
LATENCY_GRAPH_COLS = 80


@dataclass
class LatencySeries:
    # (unix seconds, latency ms), oldest first; at most LATENCY_TS_LEN of them.
    samples: list[tuple[int, int]] = field(default_factory=list)
    max_ms: int = 0

    def add(self, now_s: int, latency_ms: int) -> None:
        """``latencyAddSample``."""
        self.max_ms = max(self.max_ms, latency_ms)
        if self.samples and self.samples[-1][0] == now_s:
            if latency_ms > self.samples[-1][1]:
                self.samples[-1] = (now_s, latency_ms)
            return
        self.samples.append((now_s, latency_ms))
        if len(self.samples) > LATENCY_TS_LEN:
            del self.samples[0]


def add_sample_if_needed(
    events: dict, threshold_ms: int, event: str, latency_ms: int, now_s: int
) -> None:
    """``latencyAddSampleIfNeeded``: record only when monitoring is on and the threshold is met."""
    if threshold_ms and latency_ms >= threshold_ms:
        series = events.get(event)
        if series is None:
            series = events[event] = LatencySeries()
        series.add(now_s, latency_ms)


def reset(events: dict, names: list[str] | None) -> int:
    """``latencyResetEvent`` for every event, or for each of ``names`` (case-insensitively)."""
    if names is None:
        count = len(events)
        events.clear()
        return count
    count = 0
    for name in names:
        for event in [e for e in events if e.lower() == name.lower()]:
            del events[event]
            count += 1
    return count


def _analyze(series: LatencySeries, now_s: int) -> tuple[int, int, int, float]:
    """``analyzeLatencyForEvent``: (samples, average, mean deviation, period in seconds)."""
    samples = series.samples
    count = len(samples)
    if not count:
        return 0, 0, 0, 0.0
    avg = sum(latency for _, latency in samples) // count
    period = now_s - min(t for t, _ in samples) or 1
    mad = sum(abs(avg - latency) for _, latency in samples) // count
    return count, avg, mad, period


_NO_MONITOR = (
    "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. "
    'You may use "CONFIG SET latency-monitor-threshold <milliseconds>." in order to enable it. '
    "If we weren't in a deep space mission I'd suggest to take a look at "
    "https://redis.io/topics/latency-monitor.\n"
)
_NO_SPIKES = (
    "Dave, no latency spike was observed during the lifetime of this Redis instance, not in the "
    "slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think "
    "things over.\n"
)
_ADVICE_SLOWLOG_INSPECT = (
    "- Check your Slow Log to understand what are the commands you are running which are too "
    "slow to execute. Please check https://redis.io/commands/slowlog for more information.\n"
)
_ADVICE_LARGE_OBJECTS = (
    "- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking "
    "operation. If you have very large objects that are often deleted, expired, or evicted, try "
    "to fragment those objects into multiple smaller objects.\n"
)
_ADVICE_SCHEDULER = (
    "- The system is slow to execute Redis code paths not containing system calls. This usually "
    "means the system does not provide Redis CPU time to run for long periods. You should try "
    "to:\n"
    "  1) Lower the system load.\n"
    "  2) Use a computer / VM just for Redis if you are running other software in the same "
    "system.\n"
    '  3) Check if you have a "noisy neighbour" problem.\n'
    "  4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic latency in your "
    "system.\n"
    "  5) Check if the problem is allocator-related by recompiling Redis with MALLOC=libc, if you "
    "are using Jemalloc. However this may create fragmentation problems.\n"
)


def doctor(events: dict, threshold_ms: int, slowlog_slower_than_us: int, now_s: int) -> str:
    """``createLatencyReport`` for the events rcsim records (``command`` and ``fast-command``)."""
    if not events and threshold_ms == 0:
        return _NO_MONITOR
    report = []
    advices = 0
    slowlog_enabled = slowlog_tuning = inspect = scheduler = 0
    for number, (event, series) in enumerate(events.items(), 1):
        if number == 1:
            report.append(
                "Dave, I have observed latency spikes in this Redis instance. "
                "You don't mind talking about it, do you Dave?\n\n"
            )
        count, avg, mad, period = _analyze(series, now_s)
        report.append(
            "%d. %s: %d latency spikes (average %dms, mean deviation %dms, period %.2f sec). "
            "Worst all time event %dms."
            % (number, event, count, avg, mad, period / count, series.max_ms)
        )
        if event.lower() == "command":
            if slowlog_slower_than_us < 0:
                slowlog_enabled = 1
                advices += 1
            elif slowlog_slower_than_us // 1000 > threshold_ms:
                slowlog_tuning = 1
                advices += 1
            inspect = 1
            advices += 2
        elif event.lower() == "fast-command":
            scheduler = 1
            advices += 1
        report.append("\n")
    if not events and not advices:
        return _NO_SPIKES
    if not advices:
        report.append(
            "\nWhile there are latency events logged, I'm not able to suggest any easy fix. "
            "Please use the Redis community to get some help, providing this report in your "
            "help request.\n"
        )
        return "".join(report)
    report.append("\nI have a few advices for you:\n\n")
    if slowlog_enabled:
        report.append(
            "- There are latency issues with potentially slow commands you are using. Try to "
            "enable the Slow Log Redis feature using the command 'CONFIG SET "
            "slowlog-log-slower-than %d'. If the Slow log is disabled Redis is not able to log "
            "slow commands execution for you.\n" % (threshold_ms * 1000)
        )
    if slowlog_tuning:
        report.append(
            "- Your current Slow Log configuration only logs events that are slower than your "
            "configured latency monitor threshold. Please use 'CONFIG SET "
            "slowlog-log-slower-than %d'.\n" % (threshold_ms * 1000)
        )
    if inspect:
        report.append(_ADVICE_SLOWLOG_INSPECT)
    if scheduler:
        report.append(_ADVICE_SCHEDULER)
    if inspect:
        report.append(_ADVICE_LARGE_OBJECTS)
    return "".join(report)


def _elapsed_label(elapsed: int) -> str:
    if elapsed < 60:
        return f"{elapsed}s"
    if elapsed < 3600:
        return f"{elapsed // 60}m"
    if elapsed < 3600 * 24:
        return f"{elapsed // 3600}h"
    return f"{elapsed // (3600 * 24)}d"


def graph(event: str, series: LatencySeries, now_s: int) -> str:
    """``latencyCommandGenSparkeline``: a header, a rule and a filled 4-row sparkline."""
    values = [latency for _, latency in series.samples]
    labels = [_elapsed_label(now_s - t) for t, _ in series.samples]
    high, low = (max(values), min(values)) if values else (0, 0)
    out = [
        f"{event} - high {high} ms, low {low} ms (all time high {series.max_ms} ms)\n",
        "-" * LATENCY_GRAPH_COLS + "\n",
    ]
    for start in range(0, len(values), LATENCY_GRAPH_COLS):
        if start:
            out.append("\n")
        end = start + LATENCY_GRAPH_COLS
        out.append(_sparkline_range(values, labels, start, min(end, len(values)), rows=4))
    return "".join(out)


_CHARSET_FILL = "_o#"


def _sparkline_range(values: list[int], labels: list[str], start: int, end: int, rows: int) -> str:
    """``sparklineRenderRange`` with SPARKLINE_FILL over samples ``start:end``."""
    low, high = min(values), max(values)
    relmax = float(high - low) or 1.0
    steps = len(_CHARSET_FILL) * rows
    has_labels = any(labels)
    out = []
    row = 0
    while True:
        chars = [" "] * (end - start)
        loop = False
        for j in range(start, end):
            step = int(int((values[j] - low) * steps) / relmax)
            step = max(0, min(steps - 1, step))
            if row < rows:
                loop = True
                index = step - (rows - row - 1) * len(_CHARSET_FILL)
                if 0 <= index < len(_CHARSET_FILL):
                    chars[j - start] = _CHARSET_FILL[index]
                elif index >= len(_CHARSET_FILL):
                    chars[j - start] = "|"
            else:
                if has_labels and row - rows < 1:  # one blank line between graph and labels
                    loop = True
                    break
                label_char = row - rows - 1
                if len(labels[j]) > label_char:
                    loop = True
                    chars[j - start] = labels[j][label_char]
        if not loop:
            return "".join(out)
        row += 1
        out.append("".join(chars) + "\n")
