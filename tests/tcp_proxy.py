"""A TCP proxy in front of the local PostgreSQL that a test can take down and bring back:
the database "stops" (or "comes up late") for this test only (the server is shared with other suites)."""

from __future__ import annotations

import socket
import threading


class TcpProxy:
    """Relays connections on a local port to `target`. Up from the start, or with `start_up=False`
    a reserved port that refuses connections until `back()` (or `with proxy:`) brings it up."""

    def __init__(self, target: tuple[str, int], *, start_up: bool = True) -> None:
        from tests.bot_process import free_port

        self.target = target
        self.port = 0 if start_up else free_port()
        self.up = False
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        if start_up:
            self.back()

    def __enter__(self) -> TcpProxy:
        if not self.up:
            self.back()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _listen(self) -> socket.socket:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        return listener

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target, timeout=5)
                server.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def down(self) -> None:
        """Drop every connection and refuse new ones (connection refused, as a stopped server)."""
        if not self.up:
            return
        self.up = False
        for stop in (lambda: self.listener.shutdown(socket.SHUT_RDWR), self.listener.close):
            try:
                stop()  # shutdown wakes the accepting thread; close alone would not
            except OSError:
                pass
        with self._lock:
            conns, self._conns = self._conns, []
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass

    def back(self) -> None:
        self.listener = self._listen()
        self.up = True
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def close(self) -> None:
        self.down()
