"""A TCP proxy we control, between the server and PostgreSQL, to cut the database off and bring it back.

Run as `python -m tests.support.tcp_proxy LISTEN_HOST LISTEN_PORT TARGET_HOST TARGET_PORT` it forwards
in a process of its own until killed (what a multi-node test puts on each node's link: killing it
cuts that link, and it shares no interpreter lock with the test's load).
"""

import asyncio
import contextlib
import signal
import sys
import threading

from tests.support.server import free_port


class TcpProxy:
    """Forwards host:port (127.0.0.1 and a free port unless given) to a target; cut() drops every connection."""

    def __init__(self, target_host: str, target_port: int, *, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.host = host
        self.port = free_port() if port is None else port
        self._target = (target_host, target_port)
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._flowing = asyncio.Event()  # cleared: frozen, as in a network partition
        self._flowing.set()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    def _call(self, coro: object) -> None:
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)  # type: ignore[arg-type]

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(65536):
                await self._flowing.wait()
                writer.write(data)
                await writer.drain()
        writer.close()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)  # from the start: a cut or close() drops it wherever it is
        await self._flowing.wait()
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.close()
            self._writers.discard(writer)
            return
        if writer not in self._writers:  # cut while the connection upstream opened
            up_writer.transport.abort()
            return
        self._writers.add(up_writer)
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        self._writers -= {writer, up_writer}

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._accept, self.host, self.port, reuse_address=True)

    async def _stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    def start(self) -> "TcpProxy":
        """Accept and forward."""
        self._call(self._start())
        return self

    def cut(self) -> None:
        """Drop every open connection and refuse new ones: the database is gone for the client."""
        self._call(self._stop())

    def freeze(self) -> None:
        """Carry nothing, refuse nothing: connections stay open and new ones are accepted, but no byte passes.

        What a network partition looks like to the client: no error, only silence, until a timeout.
        """
        self._loop.call_soon_threadsafe(self._flowing.clear)

    def thaw(self) -> None:
        """Carry again what was held and what comes next: the partition heals."""
        self._loop.call_soon_threadsafe(self._flowing.set)

    async def _shut(self) -> None:
        """Drop every connection and let every task end, so that no socket outlives the loop.

        A connection being accepted, or opened upstream, when the proxy closes has its transport only a
        turn or two later: each round drops what the last one left, until no task is left (at most 5 s).
        """
        self._flowing.set()  # a frozen connection's task ends like the others
        for _ in range(50):
            await self._stop()
            others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            if not others:
                break
            await asyncio.wait(others, timeout=0.1)
        else:
            for task in others:
                task.cancel()
        await asyncio.sleep(0)  # the aborted transports close their sockets on the next turn

    def close(self) -> None:
        """Stop for good."""
        self._call(self._shut())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()


def main(argv: list[str]) -> None:
    """Forward LISTEN_HOST:LISTEN_PORT to TARGET_HOST:TARGET_PORT; print `listening` once it does.

    It runs until a signal ends the process; the kernel then closes every connection it held.
    """
    listen_host, listen_port, target_host, target_port = argv
    TcpProxy(target_host, int(target_port), host=listen_host, port=int(listen_port)).start()
    sys.stdout.write("listening\n")
    sys.stdout.flush()
    while True:
        signal.pause()


if __name__ == "__main__":
    main(sys.argv[1:])
