"""A TCP relay to a real server that can be switched on later: "the database comes up now"."""

from __future__ import annotations

import socket
import socketserver
import threading
from typing import Any


class TcpRelay:
    """Reserves a local port; while entered (`with relay:`), relays connections to `target`."""

    def __init__(self, *, target: tuple[str, int]) -> None:
        from tests.bot_process import free_port

        self.target = target
        self.port = free_port()
        self._server: socketserver.ThreadingTCPServer | None = None

    def __enter__(self) -> TcpRelay:
        target = self.target

        class Pipe(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                with socket.create_connection(target) as upstream:

                    def pump(src: socket.socket, dst: socket.socket) -> None:
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

                    back = threading.Thread(target=pump, args=(upstream, self.request), daemon=True)
                    back.start()
                    pump(self.request, upstream)
                    back.join()

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", self.port), Pipe)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
