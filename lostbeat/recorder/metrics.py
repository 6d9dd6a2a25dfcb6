"""``lostbeat record --metrics``: what the recorder knows, for Prometheus.

Two ways, as the Prometheus ecosystem expects them:

* ``--metrics [HOST]:PORT`` serves ``/metrics`` over HTTP (``:9464`` listens on
  127.0.0.1 only: the labels name processes; give ``0.0.0.0:9464`` to listen on every
  address). A scraper that accepts ``application/openmetrics-text`` gets OpenMetrics 1.0
  (ending ``# EOF``), any other the Prometheus text format 0.0.4.
* ``--metrics FILE.prom`` rewrites FILE after each sample (a temporary name, then a rename)
  in the text format, for node_exporter's textfile collector
  (``--collector.textfile.directory``).

The names (docs/recorder.md lists them): ``lostbeat_heartbeat_age_seconds``,
``lostbeat_heartbeat_timeout_seconds`` and ``lostbeat_monitor_status_age_seconds`` (from the
monitor's ``--status`` file, when ``--monitor-status`` names it),
``lostbeat_time_to_exhaustion_seconds`` (``+Inf`` while memory does not grow, ``NaN`` until
the window holds enough samples), ``lostbeat_memory_used_bytes``,
``lostbeat_memory_capacity_bytes``, ``lostbeat_memory_growth_bytes_per_second``,
``lostbeat_process_resident_bytes`` and ``lostbeat_process_swap_bytes`` (the top
consumers), ``lostbeat_leak_suspect_growth_bytes_per_second`` and
``lostbeat_leak_suspect_growth_bytes`` (the suspects), ``lostbeat_kernel_events_total``,
``lostbeat_kernel_records_dropped_total``, ``lostbeat_recorder_samples_total`` and
``lostbeat_recorder_last_sample_timestamp_seconds``. Process labels are ``pid``, ``comm``
and ``cgroup``, never the command line (it may hold secrets).

Examples:
    >>> print(render(Metrics(ts=1.0, samples=3, tte_s=float("inf")), openmetrics=True), end="")
    # HELP lostbeat_time_to_exhaustion_seconds Seconds until memory runs out (+Inf: no growth).
    # TYPE lostbeat_time_to_exhaustion_seconds gauge
    lostbeat_time_to_exhaustion_seconds +Inf
    # HELP lostbeat_recorder_samples Samples taken since the recorder started.
    # TYPE lostbeat_recorder_samples counter
    lostbeat_recorder_samples_total 3
    # HELP lostbeat_recorder_last_sample_timestamp_seconds When the last sample was taken.
    # TYPE lostbeat_recorder_last_sample_timestamp_seconds gauge
    lostbeat_recorder_last_sample_timestamp_seconds 1
    # EOF
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lostbeat.agent.status import replace_file
from lostbeat.errors import InputError

__all__ = ["Labelled", "Metrics", "MetricsServer", "parse_target", "render", "write_textfile"]

OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"
TEXT = "text/plain; version=0.0.4; charset=utf-8"


@dataclass(frozen=True, slots=True)
class Labelled:
    """One sample of a labelled family."""

    labels: tuple[tuple[str, str], ...]
    value: float


@dataclass(frozen=True, slots=True)
class Metrics:
    """What one rendering shows; ``None`` (or empty) leaves a family out."""

    ts: float
    samples: int
    tte_s: float | None = None
    used: int | None = None
    capacity: int | None = None
    growth: float | None = None
    resident: tuple[Labelled, ...] = ()
    swap: tuple[Labelled, ...] = ()
    suspect_rate: tuple[Labelled, ...] = ()
    suspect_growth: tuple[Labelled, ...] = ()
    heartbeat_age: tuple[Labelled, ...] = ()
    heartbeat_timeout: tuple[Labelled, ...] = ()
    status_age: float | None = None
    kernel_events: Mapping[str, int] = field(default_factory=dict)
    kernel_dropped: int | None = None


def _value(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(int(value)) if float(value).is_integer() and abs(value) < 2**53 else repr(value)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _family(
    out: list[str],
    name: str,
    kind: str,
    help_text: str,
    samples: Sequence[Labelled],
    *,
    openmetrics: bool,
) -> None:
    if not samples:
        return
    counter = kind == "counter"
    family = name[: -len("_total")] if counter and openmetrics else name
    out.append(f"# HELP {family} {help_text}")
    out.append(f"# TYPE {family} {kind}")
    for sample in samples:
        labels = ",".join(f'{k}="{_escape(v)}"' for k, v in sample.labels)
        out.append(f"{name}{'{' + labels + '}' if labels else ''} {_value(sample.value)}")


def _one(value: float | None) -> tuple[Labelled, ...]:
    return () if value is None else (Labelled((), value),)


def render(m: Metrics, *, openmetrics: bool) -> str:
    """The exposition: OpenMetrics 1.0, or the Prometheus text format 0.0.4."""
    out: list[str] = []
    families: list[tuple[str, str, str, Sequence[Labelled]]] = [
        ("lostbeat_heartbeat_age_seconds", "gauge",
         "Seconds since the monitor last had a beat from the client.", m.heartbeat_age),
        ("lostbeat_heartbeat_timeout_seconds", "gauge",
         "The client's timeout: past it the heartbeat is lost.", m.heartbeat_timeout),
        ("lostbeat_monitor_status_age_seconds", "gauge",
         "Seconds since the monitor last rewrote its status file.", _one(m.status_age)),
        ("lostbeat_time_to_exhaustion_seconds", "gauge",
         "Seconds until memory runs out (+Inf: no growth).",
         _one(m.tte_s)),
        ("lostbeat_memory_used_bytes", "gauge",
         "Working set of the watched memory (the host, or the cgroup).", _one(m.used)),
        ("lostbeat_memory_capacity_bytes", "gauge",
         "What the watched memory can hold (RAM and swap, or the cgroup's limit).",
         _one(m.capacity)),
        ("lostbeat_memory_growth_bytes_per_second", "gauge",
         "Growth of the working set, fitted over the trend window.", _one(m.growth)),
        ("lostbeat_process_resident_bytes", "gauge",
         "Resident memory of the top consumers.", m.resident),
        ("lostbeat_process_swap_bytes", "gauge", "Swap of the top consumers.", m.swap),
        ("lostbeat_leak_suspect_growth_bytes_per_second", "gauge",
         "Steady growth of a leak suspect, fitted over the trend window.", m.suspect_rate),
        ("lostbeat_leak_suspect_growth_bytes", "gauge",
         "Growth of a leak suspect across the trend window.", m.suspect_growth),
        ("lostbeat_kernel_events_total", "counter",
         "OOM kills, hung tasks, lockups, RCU stalls and panics read from the kernel log.",
         tuple(Labelled((("kind", k),), v) for k, v in sorted(m.kernel_events.items()))),
        ("lostbeat_kernel_records_dropped_total", "counter",
         "Kernel log records not kept (over the bound, unparsable, overwritten).",
         _one(m.kernel_dropped)),
        ("lostbeat_recorder_samples_total", "counter",
         "Samples taken since the recorder started.", _one(m.samples)),
        ("lostbeat_recorder_last_sample_timestamp_seconds", "gauge",
         "When the last sample was taken.", _one(m.ts)),
    ]  # fmt: skip
    for name, kind, help_text, samples in families:
        _family(out, name, kind, help_text, samples, openmetrics=openmetrics)
    if openmetrics:
        out.append("# EOF")
    return "\n".join(out) + "\n"


def parse_target(text: str) -> tuple[str, int] | Path:
    """``[HOST]:PORT`` (or ``PORT``) to serve, else a ``.prom`` file to write.

    >>> parse_target(":9464"), parse_target("0.0.0.0:9100"), parse_target("/var/lib/n/lb.prom")
    (('127.0.0.1', 9464), ('0.0.0.0', 9100), PosixPath('/var/lib/n/lb.prom'))

    Raises:
        InputError: neither.
    """
    if text.endswith(".prom") or "/" in text:
        if not text.endswith(".prom"):
            raise InputError("expected a file name ending in .prom (node_exporter's)", path=text)
        return Path(text)
    host, _, port = text.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if not (port.isascii() and port.isdigit() and 0 < int(port) < 65536):
        raise InputError("expected [HOST]:PORT to serve or FILE.prom to write", path=text)
    return host, int(port)


def write_textfile(path: Path, text: str) -> None:
    """Replace ``path`` whole (node_exporter reads only ``*.prom``: the temporary name is not)."""
    replace_file(path, text.encode("utf-8"))


class MetricsServer:
    """Serves ``/metrics`` on a thread of its own; :attr:`current` is read per request."""

    def __init__(self, address: tuple[str, int], current: Callable[[], Metrics | None]) -> None:
        """
        Raises:
            InputError: the address cannot be bound.
        """
        # imported here: a recorder that serves nothing need not carry http.server and email
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
                if self.path.split("?")[0] not in ("/metrics", "/"):
                    self.send_error(404)
                    return
                metrics = current()
                if metrics is None:
                    self.send_error(503, "no sample yet")
                    return
                om = "application/openmetrics-text" in self.headers.get("Accept", "")
                body = render(metrics, openmetrics=om).encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", OPENMETRICS if om else TEXT)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return  # a scrape every few seconds is not news

        try:
            self._server = ThreadingHTTPServer(address, Handler)
        except OSError as err:
            where = f"{address[0]}:{address[1]}"
            raise InputError(f"cannot listen: {err.strerror}", path=where) from err
        self._server.daemon_threads = True
        self.address = self._server.server_address
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="lostbeat-metrics", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
