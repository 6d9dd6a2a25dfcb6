"""The programs a simulation runs, started as ``python -m lostbeat.simulate.workloads KIND``.

Kinds::

    steady --name N --hold SIZE                      hold SIZE, do a little work each second
    leak   --name N --rate SIZE [--step S]           keep RATE more every second, forever
    spike  --name N --hold SIZE --after S --grab SIZE   steady, then GRAB at once
    churn  --name N --min SIZE --max SIZE --after S  take and give back random sizes

Each program names itself (``comm``, as ``ps`` and the recorder show it) and prints one
``ready`` line when it holds its starting size. Memory is anonymous ``mmap`` written page
by page, so what a program holds is resident: when its cgroup is full a write waits in the
kernel, as ``vmnixhbd`` waited in ``alloc_pages`` (seed KB).

Examples:
    >>> chunks(5 * MIB + 1, 2 * MIB)
    [2097152, 2097152, 1048577]
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import mmap
import os
import random
import signal
import time
from collections.abc import Sequence

from lostbeat.recording.units import parse_size

MIB = 1 << 20
_PR_SET_NAME = 15
_BLOCK = b"\x5a" * MIB


def _set_name(name: str) -> None:
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    if libc.prctl(_PR_SET_NAME, ctypes.c_char_p(name.encode()[:15]), 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))


def chunks(size: int, most: int) -> list[int]:
    """``size`` cut into pieces of at most ``most`` bytes."""
    return [min(most, size - at) for at in range(0, size, most)]


def take(size: int) -> mmap.mmap:
    """An anonymous mapping of ``size`` bytes, every page written (so resident)."""
    area = mmap.mmap(-1, max(size, mmap.PAGESIZE))
    for piece in chunks(len(area), MIB):
        area.write(_BLOCK[:piece])
    return area


def _ready(name: str, text: str) -> None:
    print(f"{name} pid={os.getpid()} ready: {text}", flush=True)


def steady(name: str, *, hold: int) -> None:
    """Hold ``hold`` bytes, then do a little work each second."""
    held = take(hold)
    _ready(name, f"holding {hold / MIB:.0f} MiB")
    while True:
        time.sleep(1.0)
        held[0] ^= 1
        scratch = bytearray(64 * 1024)  # a daemon's bit of work: allocates, frees
        del scratch


def leak(name: str, *, rate: int, step: float) -> None:
    """Keep ``rate`` more bytes every second, in pieces every ``step`` seconds."""
    held = []
    _ready(name, f"leaking {rate / MIB:.1f} MiB/s")
    due = time.monotonic()
    while True:
        held.append(take(int(rate * step)))
        due += step
        time.sleep(max(0.0, due - time.monotonic()))


def spike(name: str, *, hold: int, after: float, grab: int) -> None:
    """Hold ``hold`` quietly for ``after`` seconds, then take ``grab`` more at once."""
    held = [take(hold)]
    _ready(name, f"holding {hold / MIB:.0f} MiB, grabbing {grab / MIB:.0f} MiB in {after:g} s")
    time.sleep(after)
    print(f"{name}: grabbing {grab / MIB:.0f} MiB now", flush=True)
    held.append(take(grab))
    while True:
        time.sleep(1.0)


def churn(name: str, *, low: int, high: int, after: float, every: float) -> None:
    """Take a random size, hold it ``every`` seconds, give it back; small sizes for ``after``."""
    rng = random.Random(os.getpid())
    _ready(name, f"churning {low / MIB:.0f}-{high / MIB:.0f} MiB after {after:g} s")
    start = time.monotonic()
    while True:
        top = high if time.monotonic() - start >= after else low
        area = take(rng.randint(low, max(low, top)))
        time.sleep(every)
        area.close()


def _size(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m lostbeat.simulate.workloads")
    sub = parser.add_subparsers(dest="kind", required=True)
    for kind in ("steady", "leak", "spike", "churn"):
        p = sub.add_parser(kind)
        p.add_argument("--name", required=True)
        p.add_argument("--hold", type=_size, default=0)
        p.add_argument("--rate", type=_size, default=MIB)
        p.add_argument("--step", type=float, default=0.25)
        p.add_argument("--after", type=float, default=0.0)
        p.add_argument("--grab", type=_size, default=0)
        p.add_argument("--min", type=_size, default=MIB)
        p.add_argument("--max", type=_size, default=4 * MIB)
        p.add_argument("--every", type=float, default=0.3)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _set_name(args.name)
    if args.kind == "steady":
        steady(args.name, hold=args.hold)
    elif args.kind == "leak":
        leak(args.name, rate=args.rate, step=args.step)
    elif args.kind == "spike":
        spike(args.name, hold=args.hold, after=args.after, grab=args.grab)
    else:
        churn(args.name, low=args.min, high=args.max, after=args.after, every=args.every)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
