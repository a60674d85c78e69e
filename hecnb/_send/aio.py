"""One event-loop thread per engine, so that requests in flight need not each hold a thread.

A cloud collector answers after a round trip of tens to hundreds of milliseconds. Keeping the
pipe full takes many requests in flight at once; one thread each would tie the number in flight
to ``thread_count`` (FalconPy's meaning: CPU workers). Here the worker threads only assemble and
compress bodies; one thread runs an asyncio loop that keeps up to ``max_in_flight`` requests
going over one ``httpx.AsyncClient`` connection pool, which lives as long as the engine, so
keep-alive connections survive from one send to the next.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import contextlib
import threading
import weakref
from collections.abc import Callable, Coroutine
from functools import partial
from typing import Any, TypeVar

import httpx

__all__ = ["LoopThread", "ThreadedTransport"]

T = TypeVar("T")


class LoopThread:
    """An asyncio loop running on its own daemon thread; coroutines are submitted to it.

    ``submit`` returns a ``concurrent.futures.Future`` that carries the coroutine's own result:
    ``cancel_all`` cancels the tasks inside the loop, and the coroutines are written to turn
    that into an outcome (an interrupted request is still reported, never lost); a task
    cancelled before it started gets the ``if_cancelled`` answer.
    """

    def __init__(self, name: str = "hecnb-io") -> None:
        self.loop = asyncio.new_event_loop()
        self.client_key: tuple[Any, ...] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        # the pool, in a box the finalizer can reach without keeping this object alive
        self._box: dict[str, httpx.AsyncClient] = {}
        self._thread = threading.Thread(target=_run_forever, args=(self.loop,), name=name,
                                        daemon=True)
        self._thread.start()
        # a HEC that is never closed still releases its connections and thread when collected
        self._finalizer = weakref.finalize(self, _shutdown, self.loop, self._thread, self._box)

    @property
    def client(self) -> httpx.AsyncClient | None:
        """The connection pool (made and closed on the loop)."""
        return self._box.get("client")

    @client.setter
    def client(self, value: httpx.AsyncClient | None) -> None:
        if value is None:
            self._box.pop("client", None)
        else:
            self._box["client"] = value

    @property
    def alive(self) -> bool:
        return self._thread.is_alive() and not self.loop.is_closed()

    def submit(self, coro: Coroutine[Any, Any, T],
               if_cancelled: Callable[[], T] | None = None) -> cf.Future[T]:
        """Run ``coro`` on the loop; its result (or exception) arrives in the returned future.

        A task cancelled before its first step never runs the coroutine's own handling; with
        ``if_cancelled`` the future then gets that function's result instead of
        ``CancelledError``, so a caller has one kind of answer to deal with.
        """
        fut: cf.Future[T] = cf.Future()

        def start() -> None:
            if not fut.set_running_or_notify_cancel():
                coro.close()
                return
            task = self.loop.create_task(coro)
            self._tasks.add(task)
            task.add_done_callback(partial(self._done, fut, if_cancelled))

        try:
            self.loop.call_soon_threadsafe(start)
        except RuntimeError:  # the loop was closed
            coro.close()
            raise
        return fut

    def _done(self, fut: cf.Future[Any], if_cancelled: Callable[[], Any] | None,
              task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            if if_cancelled is not None:
                fut.set_result(if_cancelled())
            else:
                fut.set_exception(cf.CancelledError())
        elif (exc := task.exception()) is not None:
            fut.set_exception(exc)
        else:
            fut.set_result(task.result())

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coro`` on the loop and wait for its result."""
        return self.submit(coro).result(timeout)

    def cancel_all(self) -> None:
        """Cancel every task on the loop (safe from any thread, and from a signal handler)."""
        def cancel() -> None:
            for task in list(self._tasks):
                task.cancel()

        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(cancel)

    def close(self) -> None:
        """Close the connection pool, stop the loop and join its thread."""
        self._finalizer()


def _run_forever(loop: asyncio.AbstractEventLoop) -> None:
    asyncio.set_event_loop(loop)
    loop.run_forever()


def _shutdown(loop: asyncio.AbstractEventLoop, thread: threading.Thread,
              box: dict[str, httpx.AsyncClient]) -> None:
    client = box.pop("client", None)
    if loop.is_closed():
        return
    if thread.is_alive() and threading.current_thread() is not thread:
        if client is not None:
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(client.aclose(), loop).result(5)
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
    if not loop.is_running():
        with contextlib.suppress(Exception):
            loop.close()
    elif threading.current_thread() is thread:  # closed from inside the loop: stop it there
        loop.stop()


class ThreadedTransport(httpx.AsyncBaseTransport):
    """Lets a synchronous ``httpx`` transport (``HEC(transport=...)``) serve the async client.

    Each request runs on a thread of the loop's default executor; the request body is bytes,
    read whole; of the answer at most ``limit`` raw bytes are read (the sender reads no more
    than that of any answer), the rest is never read.
    """

    def __init__(self, inner: httpx.BaseTransport, limit: int = 64 * 1024) -> None:
        self.inner = inner
        self.limit = limit

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        content = await request.aread()
        # the async trace callback cannot serve a synchronous transport
        extensions = {k: v for k, v in request.extensions.items() if k != "trace"}
        sync_request = httpx.Request(request.method, request.url, headers=request.headers,
                                     content=content, extensions=extensions)
        return await asyncio.to_thread(self._send, sync_request)

    def _send(self, request: httpx.Request) -> httpx.Response:
        resp = self.inner.handle_request(request)
        chunks: list[bytes] = []
        n = 0
        try:
            for chunk in resp.iter_raw():
                chunks.append(chunk)
                n += len(chunk)
                if n >= self.limit:
                    break
        finally:
            resp.close()
        headers = [(k, v) for k, v in resp.headers.multi_items()
                   if k.lower() not in ("content-length", "transfer-encoding")]
        return httpx.Response(resp.status_code, headers=headers, content=b"".join(chunks),
                              extensions={k: v for k, v in resp.extensions.items()
                                          if k != "network_stream"})

    async def aclose(self) -> None:
        await asyncio.to_thread(self.inner.close)
