"""The proxy's side of the analysis worker (mitm/worker.py): start it, hand it flow records, stop it.

Sending costs the event loop a list append per flow; records go out through a non-blocking pipe, so
a slow worker never blocks the proxy. A flow that comes after a quiet spell goes out at once (a
developer clicking through a page sees its line immediately); under load, records wait up to
`FLUSH_DELAY` and go out in batches: each write is a system call and wakes the worker (measured:
about 20 us of the proxy's system time per flow when every flow was written alone), and the worker
judges a batch of 40 with warmer caches than 8 (65 against 96 us of CPU per flow, through mitmdump). What the pipe
cannot take waits here, up to `MAX_BACKLOG` bytes; beyond that, records are dropped and counted
(memory stays bounded), and the count is logged. If the worker dies, `send` returns False and the
observer judges flows in the proxy again.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import marshal
import os
import select
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from .worker import DECISIONS_FD_ENV, HEADER, REPLY_FD_ENV, frame

logger = logging.getLogger("mitmproxy_cors")

_SRC = str(Path(__file__).resolve().parents[2])  # the folder holding the mitmproxy_cors package
MAX_BACKLOG = 64 * 1024 * 1024
BATCH = 512  # records per frame at most
FLUSH_DELAY = 0.05  # seconds: a terminal line or report line is at most this late
_F_SETPIPE_SZ = 1031
READ_CHUNK = 64 * 1024


def worker_command() -> list[str] | None:
    """How to start the worker with this interpreter, or None where that cannot work (a frozen
    mitmproxy binary has no Python to run it with)."""
    if getattr(sys, "frozen", False) or not sys.executable:
        return None
    # Signals are ignored before anything else is imported: a SIGTERM to the whole process group
    # during the worker's start must not kill it (the proxy hands over what is left and says when).
    return [sys.executable, "-c", "import signal; signal.signal(signal.SIGINT, signal.SIG_IGN); "
            "signal.signal(signal.SIGTERM, signal.SIG_IGN); import sys; "
            "from mitmproxy_cors.mitm.worker import main; sys.exit(main())"]


class AnalysisWorker:
    def __init__(self, loop: asyncio.AbstractEventLoop, command: list[str],
                 on_decisions: Callable[[list], None] | None = None) -> None:
        """`on_decisions`: called on the event loop with lists of the worker's decisions, (flow id,
        flow line, plain verdict, update), for the proxy to annotate its flows (the console, mitmweb);
        None: the worker sends none back (mitmdump, where nothing reads them)."""
        env = dict(os.environ)
        env["PYTHONPATH"] = _SRC + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        # A lifeline: the worker holds its write end, so the read end here reads EOF the moment
        # the worker dies, and flows are judged in the proxy from the next one on.
        life_r, life_w = os.pipe()
        # Answers to questions (cors.report) come back on a pipe of their own.
        reply_r, reply_w = os.pipe()
        env[REPLY_FD_ENV] = str(reply_w)
        # Decisions come back on a third pipe, read whenever the loop is idle.
        decisions_r = decisions_w = -1
        if on_decisions is not None:
            decisions_r, decisions_w = os.pipe()
            env[DECISIONS_FD_ENV] = str(decisions_w)
        else:
            env.pop(DECISIONS_FD_ENV, None)
        # In mitmdump stdout and stderr are the proxy's: the worker prints the terminal lines mitmdump
        # would. Annotating (the console, mitmweb) it prints nothing (the console owns the terminal),
        # and what it logs goes to the proxy's event log.
        quiet = on_decisions is not None
        try:
            self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, env=env, bufsize=0, close_fds=True,
                                         stdout=subprocess.DEVNULL if quiet else None,
                                         stderr=subprocess.PIPE if quiet else None,
                                         pass_fds=tuple(fd for fd in (life_w, reply_w, decisions_w) if fd >= 0))
        except BaseException:
            os.close(reply_r)
            if decisions_r >= 0:
                os.close(decisions_r)
            raise
        finally:
            os.close(life_w)
            os.close(reply_w)
            if decisions_w >= 0:
                os.close(decisions_w)
        self._reply = reply_r
        self._life = life_r
        self._decisions = decisions_r
        self._decisions_in = bytearray()
        self.on_decisions = on_decisions
        loop.add_reader(life_r, self._lifeline)
        self._stderr = -1
        self._stderr_in = bytearray()
        if decisions_r >= 0:
            os.set_blocking(decisions_r, False)
            try:  # a burst of decisions waits in the pipe instead of stopping the worker
                fcntl.fcntl(decisions_r, _F_SETPIPE_SZ, 1024 * 1024)
            except OSError:
                pass
            loop.add_reader(decisions_r, self._read_decisions)
            self._stderr = self.proc.stderr.fileno()
            os.set_blocking(self._stderr, False)
            loop.add_reader(self._stderr, self._read_stderr)
        self.fd = self.proc.stdin.fileno()
        os.set_blocking(self.fd, False)
        try:  # a bigger pipe rides out bursts without waking the loop for the rest
            fcntl.fcntl(self.fd, _F_SETPIPE_SZ, 1024 * 1024)
        except OSError:
            pass
        self.loop = loop
        self._batch: list = []
        self._out = bytearray()
        self._flush_scheduled = False
        self._last_flush = 0.0
        self._writer_added = False
        self.alive = True
        self.sent = 0
        self.dropped = 0

    # -- proxy side API -----------------------------------------------------------------------

    def send(self, message: tuple) -> bool:
        if not self.alive:
            return False
        self._batch.append(message)
        if self._flush_scheduled:
            if len(self._batch) >= BATCH:
                self._flush()
            return True
        since = self.loop.time() - self._last_flush
        if since >= FLUSH_DELAY:
            self._flush()
        else:
            self._flush_scheduled = True
            self.loop.call_later(FLUSH_DELAY - since, self._flush)
        return True

    def ask(self, message: tuple, timeout: float = 5.0):
        """Send `message` after every record handed over so far and wait for the worker's answer
        (the worker judges in order, so the answer covers them all); None if none came in time."""
        if not self.alive:
            return None
        self._batch.append(message)
        self._flush_scheduled = False
        self._encode()
        self._stop_writer()
        deadline = time.monotonic() + timeout
        data = b""
        try:
            os.set_blocking(self.fd, True)
            while self._out:
                n = os.write(self.fd, self._out)
                del self._out[:n]
            os.set_blocking(self.fd, False)
            need = HEADER
            while len(data) < need:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([self._reply], [], [], left)[0]:
                    return None
                chunk = os.read(self._reply, 65536)
                if not chunk:
                    return None
                data += chunk
                if len(data) >= HEADER:
                    need = HEADER + int.from_bytes(data[:HEADER], "little")
        except OSError:
            return None
        return marshal.loads(data[HEADER:need])

    def close(self, finish: dict, timeout: float = 30.0) -> int | None:
        """Hand over what is left, tell the worker to finish, and wait for it (it prints the summary
        and closes the report): returns its exit code, None if it had to be killed."""
        if self.alive:
            self._batch.append(("finish", finish))
            self._flush_scheduled = False
            self._encode()
            self._stop_writer()
            try:
                os.set_blocking(self.fd, True)
                while self._out:
                    n = os.write(self.fd, self._out)
                    del self._out[:n]
            except OSError:
                pass
            self.alive = False
        self._unwatch()
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        if self.dropped:
            logger.warning("mitmproxy-cors: %d flow(s) were not analysed: the analysis worker fell behind",
                           self.dropped)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            logger.error("mitmproxy-cors: the analysis worker did not finish in %.0f s; stopped it", timeout)
            self.proc.kill()
            self.proc.wait()
            return None

    # -- plumbing -----------------------------------------------------------------------------

    def _encode(self) -> None:
        batch, self._batch = self._batch, []
        if not batch:
            return
        try:
            data = frame(batch)
        except ValueError:  # something unmarshallable in a record: send them one by one, skip that one
            data = b""
            for m in batch:
                try:
                    data += frame([m])
                except ValueError:
                    self.dropped += 1
        if len(self._out) + len(data) > MAX_BACKLOG:
            self.dropped += len(batch)
            return
        self._out += data
        self.sent += len(batch)

    def _flush(self) -> None:
        self._flush_scheduled = False
        self._last_flush = self.loop.time()
        if not self.alive:
            return
        self._encode()
        self._write()

    def _write(self) -> None:
        if not self._out:
            return
        try:
            n = os.write(self.fd, self._out)
        except BlockingIOError:
            n = 0
        except OSError as e:  # the worker is gone
            self._died(e)
            return
        del self._out[:n]
        if self._out and not self._writer_added:
            self.loop.add_writer(self.fd, self._write)
            self._writer_added = True
        elif not self._out:
            self._stop_writer()

    def _stop_writer(self) -> None:
        if self._writer_added:
            self.loop.remove_writer(self.fd)
            self._writer_added = False

    def _read_decisions(self) -> None:
        """Whatever the worker decided so far: whole frames go to `on_decisions`, a partial one waits."""
        buf = self._decisions_in
        try:
            while True:
                # 64 KiB at a time: asking for 1 MiB costs a fresh mapping per call (about 100 us
                # more per read, measured), while a frame of decisions is some 30 KiB
                chunk = os.read(self._decisions, READ_CHUNK)
                if not chunk:
                    break
                buf += chunk
                if len(chunk) < READ_CHUNK:
                    break
        except BlockingIOError:
            pass
        except OSError:
            return
        pos = 0
        messages: list = []
        while len(buf) - pos >= HEADER:
            n = int.from_bytes(buf[pos:pos + HEADER], "little")
            if len(buf) - pos - HEADER < n:
                break
            try:
                messages.extend(marshal.loads(buf[pos + HEADER:pos + HEADER + n]))
            except (EOFError, ValueError, TypeError):
                logger.error("mitmproxy-cors: an unreadable answer from the analysis worker was skipped")
            pos += HEADER + n
        del buf[:pos]
        if messages:
            try:
                self.on_decisions(messages)
            except Exception:  # annotating must never stop the reader
                logger.exception("mitmproxy-cors could not annotate flows")

    def _read_stderr(self) -> None:
        try:
            chunk = os.read(self._stderr, 65536)
        except (BlockingIOError, OSError):
            return
        if not chunk:
            self.loop.remove_reader(self._stderr)
            self._stderr = -1
            return
        self._stderr_in += chunk
        *lines, rest = self._stderr_in.split(b"\n")
        self._stderr_in = bytearray(rest)
        for line in lines:
            if line.strip():
                logger.warning("mitmproxy-cors analysis worker: %s", line.decode("utf-8", "replace"))

    def _lifeline(self) -> None:
        try:
            data = os.read(self._life, 64)
        except OSError:
            data = b""
        if not data:
            self._died(EOFError("it exited"))

    def _unwatch(self) -> None:
        if self._stderr >= 0:
            self.loop.remove_reader(self._stderr)
            self._stderr = -1
        if self._decisions >= 0:
            self._read_decisions()  # what the worker decided before it went
            self.loop.remove_reader(self._decisions)
            os.close(self._decisions)
            self._decisions = -1
        if self._life >= 0:
            self.loop.remove_reader(self._life)
            os.close(self._life)
            self._life = -1
        if self._reply >= 0:
            os.close(self._reply)
            self._reply = -1

    def _died(self, e: Exception) -> None:
        if not self.alive:
            return
        self.alive = False
        self._unwatch()
        self._stop_writer()
        self._batch.clear()
        self._out.clear()
        try:
            code = self.proc.wait(1)
        except subprocess.TimeoutExpired:
            code = None
        logger.error("mitmproxy-cors: the analysis worker stopped (%s, exit code %s); flows it had not "
                     "judged yet are lost, and flows are judged in the proxy from here on", e, code)
