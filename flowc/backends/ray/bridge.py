"""Bridges: how a buffer whose writers and consumers sit on different nodes crosses the network.

On the writing node the partition's plan gets a bridge-out, an exporter with `batch=` that
takes what is ready in the ring and writes it, as one frame (rows, then their metadata
records), to a Unix socket of its partition's actor. The actor ships each frame to the actor of
the receiving partition (`Outlet`: a Ray call with the frames that came meanwhile as numpy
arrays, at most `IN_FLIGHT` under way, so a slow receiver blocks the bridge-out and, through its
ring, the writers). The receiving actor writes the frames, in the order they were sent, to a Unix socket
its bridge-in reads (`Inlet`): an importer that writes them into the local ring with their
metadata as they were (counter, timestamp, deadtime: `relays_metadata`). An empty frame is the
end of the stream; the bridge-in ends once every sending partition has sent it. A stop request
does not stop a bridge-in: it runs until its senders have drained (within the drain timeout).

The bridge workers run in the local runtime's processes, which do not talk to Ray; the actor
does, in threads of its own.
"""

from __future__ import annotations

import os
import socket
import struct
import threading
import time

import numpy as np

from flowc.types import META_DTYPE

# a frame: (events, bytes of their rows), then the rows, then the events' metadata records;
# (0, 0) ends the stream
HEADER = struct.Struct("<QQ")
# calls a sending actor has under way to the receiving one at most, and the bytes of frames it
# holds besides (back-pressure: then its bridge-out, and the writers behind it, wait)
IN_FLIGHT = 4
PENDING_BYTES = 8 << 20
# the most events a bridge-out takes per call, and the bytes it aims at per frame
MOST_EVENTS = 4096
FRAME_BYTES = 4 << 20
# how long a bridge worker waits for its actor's socket to appear (seconds)
CONNECT_WAIT_S = 60.0
BRIDGE_OUT = "flowc.backends.ray.bridge:BridgeOut"
BRIDGE_IN = "flowc.backends.ray.bridge:BridgeIn"


def batch_for(data_bytes: int, slots: int) -> int:
    """How many events a bridge-out takes per call: frames of about FRAME_BYTES, at most half
    the ring (the rest stays free for the writers) and at most MOST_EVENTS."""
    return max(1, min(MOST_EVENTS, max(1, slots // 2), FRAME_BYTES // max(1, data_bytes)))


def _connect(path: str) -> socket.socket:
    deadline = time.monotonic() + CONNECT_WAIT_S
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(path)
            return sock
        except (FileNotFoundError, ConnectionRefusedError):
            sock.close()
            if time.monotonic() > deadline:
                raise ConnectionError(f"the bridge socket {path} did not appear") from None
            time.sleep(0.01)


def read_exactly(sock: socket.socket, size: int) -> bytearray | None:
    """`size` bytes from `sock`, or None when it closed before the first of them."""
    data = bytearray(size)
    view = memoryview(data)
    got = 0
    while got < size:
        n = sock.recv_into(view[got:], size - got)
        if n == 0:
            if got == 0:
                return None
            raise ConnectionError("the bridge's peer closed its socket in the middle of a frame")
        got += n
    return data


def read_frame(sock: socket.socket) -> tuple[int, bytearray] | None:
    """(events, rows and metadata as one byte array) of the next frame, (0, empty) at the end
    of the stream, None when the socket closed without one."""
    header = read_exactly(sock, HEADER.size)
    if header is None:
        return None
    count, nbytes = HEADER.unpack(header)
    if count == 0:
        return 0, bytearray()
    payload = read_exactly(sock, nbytes + count * META_DTYPE.itemsize)
    if payload is None:
        raise ConnectionError("the bridge's peer closed its socket in the middle of a frame")
    return count, payload


class BridgeOut:
    """The exporter on the writing node (`batch=`): each call's events to its actor's socket."""

    def __init__(self, path: str):
        self.sock = _connect(path)

    def process(self, data, meta) -> None:
        rows = np.ascontiguousarray(data)
        records = np.ascontiguousarray(meta)
        self.sock.sendall(HEADER.pack(len(rows), rows.nbytes))
        self.sock.sendall(memoryview(rows.reshape(-1).view(np.uint8)))
        self.sock.sendall(memoryview(records.view(np.uint8)))

    def finish(self) -> None:
        """The input ended: the end of the stream, then wait until the actor has read it."""
        self.sock.sendall(HEADER.pack(0, 0))
        self.sock.shutdown(socket.SHUT_WR)
        self.sock.recv(1)
        self.sock.close()


class BridgeIn:
    """The importer on the receiving node: the frames its actor receives, as (rows, metadata)
    written into the ring as they are (`relays_metadata`), until the end of the stream."""

    relays_metadata = True

    def __init__(self, path: str, example):
        self.sock = _connect(path)
        self.dtype = example.dtype
        self.length = len(example)

    def __iter__(self):
        while True:
            frame = read_frame(self.sock)
            if frame is None:
                raise ConnectionError("the bridge's actor closed its socket before the end")
            count, payload = frame
            if count == 0:
                self.sock.close()
                return
            split = len(payload) - count * META_DTYPE.itemsize
            rows = np.frombuffer(payload, dtype=self.dtype, count=count * self.length)
            meta = np.frombuffer(payload, dtype=META_DTYPE, offset=split)
            yield rows.reshape(count, self.length), meta


class _Listener:
    """A Unix socket of the actor that one bridge worker connects to."""

    def __init__(self, path: str):
        self.path = path
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(path)
        self.server.listen(1)
        self.connection: socket.socket | None = None
        self.connected = threading.Event()
        self.closed = False

    def accept(self) -> socket.socket | None:
        try:
            self.connection, _ = self.server.accept()
        except OSError:  # closed while waiting: the run is over
            return None
        finally:
            self.connected.set()
        return self.connection

    def close(self) -> None:
        self.closed = True
        for sock in (self.connection, self.server):
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
        self.connected.set()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


class Outlet:
    """The sending end in an actor: a thread reads its bridge-out's frames (holding at most
    PENDING_BYTES of them), another ships what has come meanwhile to `target` (the receiving
    partition's actor) as one `push(channel, sender, sequence, frames)`, at most IN_FLIGHT at
    a time: while calls are under way, frames gather into bigger ones. `error` holds what
    ended it early."""

    def __init__(self, path: str, channel: str, sender: int, target):
        self.listener = _Listener(path)
        self.channel = channel
        self.sender = sender
        self.target = target
        self.events = 0
        self.frames = 0
        self.error: BaseException | None = None
        self.pending: list[tuple[int, bytearray]] = []
        self.pending_bytes = 0
        self.ended = False  # the bridge-out's stream has ended (or broke off)
        self.changed = threading.Condition()
        self.reader = threading.Thread(target=self._read, name=f"read {channel}", daemon=True)
        self.sender_thread = threading.Thread(
            target=self._send, name=f"send {channel}", daemon=True
        )
        self.reader.start()
        self.sender_thread.start()

    def _read(self) -> None:
        sock = self.listener.accept()
        try:
            while sock is not None:
                frame = read_frame(sock)
                with self.changed:
                    if frame is None:  # the bridge-out died: its partition says why
                        break
                    self.changed.wait_for(
                        lambda: self.pending_bytes < PENDING_BYTES or self.listener.closed
                    )
                    self.pending.append(frame)
                    self.pending_bytes += len(frame[1])
                    self.changed.notify_all()
                    if frame[0] == 0:
                        return
        except OSError as exc:
            if not self.listener.closed:
                self.error = exc
        with self.changed:
            self.ended = True
            self.changed.notify_all()

    def _send(self) -> None:
        import ray

        under_way: list = []
        sequence = 0
        try:
            while True:
                with self.changed:
                    self.changed.wait_for(lambda: self.pending or self.ended)
                    if not self.pending:
                        return
                    frames, self.pending, self.pending_bytes = self.pending, [], 0
                    self.changed.notify_all()
                while len(under_way) >= IN_FLIGHT:
                    done, under_way = ray.wait(under_way, num_returns=1)
                    ray.get(done)
                last = frames[-1][0] == 0
                under_way.append(
                    self.target.push.remote(
                        self.channel,
                        self.sender,
                        sequence,
                        [
                            (count, np.frombuffer(payload, dtype=np.uint8))
                            for count, payload in frames
                        ],
                    )
                )
                sequence += 1
                self.events += sum(count for count, _ in frames)
                self.frames += 1
                if last:
                    ray.get(under_way)
                    self.listener.connection.sendall(b"e")  # the bridge-out may finish now
                    return
        except BaseException as exc:  # the receiving side is gone: the run is ending
            if not self.listener.closed:
                self.error = exc

    def close(self) -> None:
        self.listener.close()
        with self.changed:
            self.changed.notify_all()


class Inlet:
    """The receiving end in an actor: frames from `senders` partitions, each sender's in
    the order it sent them, written to the bridge-in's socket; the end of the stream once
    every sender has ended."""

    def __init__(self, path: str, senders: int):
        self.listener = _Listener(path)
        self.senders = senders
        self.next = [0] * senders
        self.ended = 0
        self.events = 0
        self.turn = threading.Condition()
        self.write = threading.Lock()
        threading.Thread(target=self.listener.accept, daemon=True).start()

    def push(self, sender: int, sequence: int, frames: list) -> None:
        """Write a sender's frames [(events, payload)] to the bridge-in, after those it sent
        before; (0, empty) is its end of the stream."""
        with self.turn:
            self.turn.wait_for(lambda: self.next[sender] == sequence or self.listener.closed)
        if self.listener.closed:
            raise ConnectionError("the receiving partition has ended")
        try:
            self.listener.connected.wait()
            sock = self.listener.connection
            if sock is None:
                raise ConnectionError("the bridge-in never connected")
            with self.write:
                for count, payload in frames:
                    if count:
                        rows = len(payload) - count * META_DTYPE.itemsize
                        sock.sendall(HEADER.pack(count, rows))
                        sock.sendall(memoryview(payload))
                        self.events += count
                    else:
                        self.ended += 1
                        if self.ended == self.senders:
                            sock.sendall(HEADER.pack(0, 0))
        finally:
            with self.turn:
                self.next[sender] += 1
                self.turn.notify_all()

    def close(self) -> None:
        self.listener.close()
        with self.turn:
            self.turn.notify_all()
