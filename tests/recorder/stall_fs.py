"""A FUSE file system that never answers a write: ``python stall_fs.py MOUNTPOINT``.

It speaks the kernel's FUSE protocol itself (include/uapi/linux/fuse.h; no libfuse): it
mounts ``/dev/fuse`` at MOUNTPOINT with mount(2), answers INIT, LOOKUP, GETATTR and OPEN for
one empty file ``stall``, refuses what else is asked (ENOSYS), and never answers WRITE.

A process that writes to ``MOUNTPOINT/stall`` then waits for the answer holding the file's
inode lock (fs/fuse/file.c ``fuse_cache_write_iter``, in a killable wait, which the hung
task detector skips); a second writer waits for that lock in ``down_write``, uninterruptibly:
a real hung task, reported after ``kernel.hung_task_timeout_secs``. Ending this process
(SIGTERM) closes ``/dev/fuse``, which aborts the connection: both writers get ENOTCONN.

It prints ``mounted`` once serving. Unmounting is the caller's job (``umount -l``).
"""

from __future__ import annotations

import ctypes
import errno
import os
import signal
import stat
import struct
import sys

IN_HEADER = struct.Struct("<IIQQIIIHH")  # len opcode unique nodeid uid gid pid extlen pad
OUT_HEADER = struct.Struct("<IiQ")  # len error unique
ATTR = struct.Struct("<QQQQQQIIIIIIIIII")  # fuse_attr: 88 bytes
LOOKUP, FORGET, GETATTR, OPEN, WRITE, INIT, INTERRUPT, BATCH_FORGET = 1, 2, 3, 14, 16, 26, 36, 42
NO_REPLY = (FORGET, INTERRUPT, BATCH_FORGET)
ROOT, FILE = 1, 2


def _attr(node: int) -> bytes:
    mode = (stat.S_IFDIR | 0o755) if node == ROOT else (stat.S_IFREG | 0o666)
    return ATTR.pack(node, 0, 0, 0, 0, 0, 0, 0, 0, mode, 1, 0, 0, 0, 4096, 0)


def _reply(fd: int, unique: int, payload: bytes = b"", error: int = 0) -> None:
    os.write(fd, OUT_HEADER.pack(OUT_HEADER.size + len(payload), -error, unique) + payload)


def serve(fd: int) -> None:
    while True:
        try:
            data = os.read(fd, 1 << 20)
        except OSError as err:
            if err.errno in (errno.EINTR, errno.ENOENT):  # ENOENT: an interrupted request
                continue
            return  # ENODEV: unmounted
        _, opcode, unique, node, *_ = IN_HEADER.unpack_from(data)
        body = data[IN_HEADER.size :]
        if opcode in NO_REPLY or opcode == WRITE:
            continue  # WRITE: never answered
        if opcode == INIT:
            minor = min(struct.unpack_from("<I", body, 4)[0], 31)
            init = struct.pack("<IIIIHHIIHHII", 7, minor, 0, 0, 16, 12, 4096, 1, 0, 0, 0, 0)
            _reply(fd, unique, init + bytes(24))
        elif opcode == LOOKUP and node == ROOT and body.rstrip(b"\0") == b"stall":
            _reply(fd, unique, struct.pack("<QQQQII", FILE, 0, 0, 0, 0, 0) + _attr(FILE))
        elif opcode == GETATTR and node in (ROOT, FILE):
            _reply(fd, unique, struct.pack("<QII", 0, 0, 0) + _attr(node))
        elif opcode == OPEN and node == FILE:
            _reply(fd, unique, struct.pack("<QIi", 1, 0, 0))
        elif opcode == LOOKUP:
            _reply(fd, unique, error=errno.ENOENT)
        else:
            _reply(fd, unique, error=errno.ENOSYS)


def main() -> int:
    target = sys.argv[1].encode()
    fd = os.open("/dev/fuse", os.O_RDWR)
    libc = ctypes.CDLL(None, use_errno=True)
    options = f"fd={fd},rootmode=40000,user_id=0,group_id=0".encode()
    ms_nosuid, ms_nodev = 2, 4
    if libc.mount(b"lostbeat-stall", target, b"fuse", ms_nosuid | ms_nodev, options) != 0:
        err = ctypes.get_errno()
        print(f"mount: {os.strerror(err)}", flush=True)
        return 1
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))  # closing /dev/fuse aborts
    print("mounted", flush=True)
    serve(fd)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
