"""Bridges: how a buffer whose writers and consumers sit on different nodes crosses the network.

On the writing node the partition's plan gets a bridge-out, an exporter with `batch=` that
takes what is ready in the ring and writes it, as one frame (rows, then their metadata
records), to a Unix socket of its partition's actor. The actor receives the frames straight
into blocks of its memory (rows and records apart) and ships what has come to the actor of the
receiving partition (`Outlet`): a Ray call as soon as fewer than MOST_CALLS are under way (at
once when the input is idle), carrying as numpy arrays everything that came meanwhile, up to
CALL_BYTES; arrays above 100 KiB travel through the two nodes' object stores, smaller ones
inside the call. Past HOLD_BYTES received and not yet taken by the receiver, the actor stops
reading, so a slow receiver blocks the bridge-out and, through its ring, the writers. The
receiving actor writes each call's events, in the order they were sent, as one frame to a
Unix socket its bridge-in reads (`Inlet`): an importer that writes them into the local ring
with their metadata as they were (counter, timestamp, deadtime: `relays_metadata`). An empty
frame is the end of the stream; the bridge-in ends once every sending partition has sent it. A
stop request does not stop a bridge-in: it runs until its senders have drained (within the
drain timeout).

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
# the bytes of events one call carries at most (Ray's transfer between object stores costs
# per object: larger calls carry more per second, up to about 16 MB)
CALL_BYTES = 16 << 20
# calls a sending actor has under way to the receiving one at most, and the bytes it holds,
# received from its bridge-out and not yet taken by the receiver (back-pressure: past them
# its bridge-out, and the writers behind it, wait)
MOST_CALLS = 2
HOLD_BYTES = 64 << 20
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


def receive_into(sock: socket.socket, into: np.ndarray) -> None:
    """Fill `into` (bytes) from `sock`; a ConnectionError when it closes first."""
    view = memoryview(into)
    got, size = 0, len(view)
    while got < size:
        n = sock.recv_into(view[got:], size - got)
        if n == 0:
            raise ConnectionError("the bridge's peer closed its socket in the middle of a frame")
        got += n


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
        record = META_DTYPE.itemsize
        buffer = np.empty(0, dtype=np.uint8)  # reused: put() copies a frame before the next
        while True:
            header = read_exactly(self.sock, HEADER.size)
            if header is None:
                raise ConnectionError("the bridge's actor closed its socket before the end")
            count, nbytes = HEADER.unpack(header)
            if count == 0:
                self.sock.close()
                return
            size = nbytes + count * record
            if len(buffer) < size:
                buffer = np.empty(size, dtype=np.uint8)
            receive_into(self.sock, buffer[:size])
            rows = buffer[:nbytes].view(self.dtype).reshape(count, self.length)
            yield rows, buffer[nbytes:size].view(META_DTYPE)


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


class _Gathered:
    """Frames read from a bridge-out into one block (rows, and their metadata records apart),
    the socket's bytes received straight into it; `sent` marks where the next call starts.
    Rows and records are only ever appended, so a call's views of what came before stay put."""

    def __init__(self, event_bytes: int, events: int):
        self.rows = np.empty(events * event_bytes, dtype=np.uint8)
        self.meta = np.empty(events * META_DTYPE.itemsize, dtype=np.uint8)
        self.count = self.rows_used = self.meta_used = 0
        self.sent_count = self.sent_rows = self.sent_meta = 0

    def fits(self, count: int, nbytes: int) -> bool:
        return self.rows_used + nbytes <= len(
            self.rows
        ) and self.meta_used + count * META_DTYPE.itemsize <= len(self.meta)

    def unsent_bytes(self) -> int:
        return self.rows_used - self.sent_rows + self.meta_used - self.sent_meta

    def unsent(self) -> tuple[int, np.ndarray, np.ndarray]:
        """(events, rows, records) not yet in a call, marked as sent."""
        taken = (
            self.count - self.sent_count,
            self.rows[self.sent_rows : self.rows_used],
            self.meta[self.sent_meta : self.meta_used],
        )
        self.sent_count, self.sent_rows, self.sent_meta = (
            self.count,
            self.rows_used,
            self.meta_used,
        )
        return taken


class Outlet:
    """The sending end in an actor: a thread receives its bridge-out's frames into gathering
    blocks (`_Gathered`), and whatever has come and is not yet sent goes to `target` (the
    receiving partition's actor) as one call `push(channel, sender, sequence, events,
    rows_bytes, *pieces)` (the pieces: rows, then records) as soon as fewer than MOST_CALLS
    are under way: at once when the input is idle (one event, one call), gathered into calls
    of up to CALL_BYTES while calls are under way. A second thread waits for the calls to end. Back-pressure: past HOLD_BYTES
    received and not yet taken by the receiver, the reading stops, so the bridge-out blocks,
    and through its ring the writers. `error` holds what ended it early."""

    def __init__(self, path: str, channel: str, sender: int, target):
        self.listener = _Listener(path)
        self.channel = channel
        self.sender = sender
        self.target = target
        self.events = 0
        self.frames = 0  # calls that carried events
        self.error: BaseException | None = None
        self.blocks: list[_Gathered] = []  # those with events not yet sent; the last fills
        self.held = 0  # bytes received and not yet taken by the receiver
        self.under_way: dict = {}  # call -> bytes it carries
        self.sequence = 0
        self.ended = False  # the bridge-out's stream has ended (or broke off)
        self.complete = False  # ... with its end (not broken off)
        self.end_sent = False
        self.changed = threading.Condition()
        self.reader = threading.Thread(target=self._read, name=f"read {channel}", daemon=True)
        self.waiter = threading.Thread(target=self._wait, name=f"wait {channel}", daemon=True)
        self.reader.start()
        self.waiter.start()

    def _read(self) -> None:
        sock = self.listener.accept()
        complete = False
        try:
            while sock is not None:
                header = read_exactly(sock, HEADER.size)
                if header is None:  # the bridge-out died: its partition says why
                    break
                count, nbytes = HEADER.unpack(header)
                if count == 0:
                    complete = True
                    break
                size = nbytes + count * META_DTYPE.itemsize
                with self.changed:
                    self.changed.wait_for(lambda size=size: self._room(size))
                    if self.listener.closed or self.error is not None:
                        return
                    block = self.blocks[-1] if self.blocks else None
                    if block is None or not block.fits(count, nbytes):
                        event_bytes = nbytes // count
                        events = CALL_BYTES // (event_bytes + META_DTYPE.itemsize)
                        block = _Gathered(event_bytes, max(count, events))
                        self.blocks.append(block)
                # the block's rows past rows_used are this thread's alone
                receive_into(sock, block.rows[block.rows_used : block.rows_used + nbytes])
                meta_size = count * META_DTYPE.itemsize
                receive_into(sock, block.meta[block.meta_used : block.meta_used + meta_size])
                with self.changed:
                    block.count += count
                    block.rows_used += nbytes
                    block.meta_used += meta_size
                    self.held += size
                    self._send()
        except OSError as exc:
            if not self.listener.closed:
                self.error = exc
        with self.changed:
            self.ended = True
            self.complete = complete
            self._send()
            self.changed.notify_all()

    def _room(self, size: int) -> bool:
        """(Holding `changed`.) Whether `size` more bytes may be received, or the end came."""
        if self.listener.closed or self.error is not None:
            return True
        return self.held == 0 or self.held + size <= HOLD_BYTES

    def _send(self) -> None:
        """(Holding `changed`.) Send what has come, while fewer than MOST_CALLS are under way;
        the end of the stream once everything before it is sent."""
        while len(self.under_way) < MOST_CALLS and self.error is None:
            events = rows_bytes = size = 0
            rows, meta = [], []
            while self.blocks and (not size or size + self.blocks[0].unsent_bytes() <= CALL_BYTES):
                block = self.blocks[0]
                size += block.unsent_bytes()
                count, block_rows, block_meta = block.unsent()
                if count:
                    events += count
                    rows_bytes += len(block_rows)
                    rows.append(block_rows)
                    meta.append(block_meta)
                if len(self.blocks) == 1:
                    break
                self.blocks.pop(0)  # full, and now sent
            if events:
                self._call(events, rows_bytes, rows + meta)
                self.events += events
                self.frames += 1
            elif self.complete and not self.end_sent:
                self._call(0, 0, [])
                self.end_sent = True
            else:
                return

    def _call(self, events: int, rows_bytes: int, pieces: list) -> None:
        ref = self.target.push.remote(
            self.channel, self.sender, self.sequence, events, rows_bytes, *pieces
        )
        self.sequence += 1
        self.under_way[ref] = sum(len(p) for p in pieces)
        self.changed.notify_all()

    def _wait(self) -> None:
        """Wait for the calls under way; free what they carried and send what has come
        meanwhile; once the end of the stream has arrived, tell the bridge-out."""
        import ray

        while True:
            with self.changed:
                self.changed.wait_for(
                    lambda: (
                        self.under_way
                        or self.listener.closed
                        or self.error is not None
                        or (self.ended and not self.end_sent)
                    )
                )
                if self.listener.closed or self.error is not None:
                    return
                calls = list(self.under_way)
                if not calls:  # the stream broke off: nothing more to send
                    return
            done, _ = ray.wait(calls, num_returns=1)
            try:
                ray.get(done)
            except BaseException as exc:  # the receiving side is gone: the run is ending
                with self.changed:
                    if not self.listener.closed:
                        self.error = exc
                    self.changed.notify_all()
                return
            with self.changed:
                self.held -= self.under_way.pop(done[0])
                self._send()
                self.changed.notify_all()
                finished = self.end_sent and not self.under_way
            if finished:
                try:
                    self.listener.connection.sendall(b"e")  # the bridge-out may finish now
                except OSError as exc:
                    if not self.listener.closed:
                        self.error = exc
                return

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

    def push(self, sender: int, sequence: int, events: int, rows_bytes: int, pieces) -> None:
        """Write a sender's call (events, the bytes of their rows, then the pieces: rows and
        metadata records) to the bridge-in as one frame, after the calls it made before;
        no events is its end of the stream."""
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
                if events:
                    sock.sendall(HEADER.pack(events, rows_bytes))
                    for piece in pieces:
                        sock.sendall(piece)
                    self.events += events
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
