"""A loopback HTTP CONNECT proxy, so that dockerd reaches a loopback registry by a name it verifies.

dockerd counts every registry whose address is in 127.0.0.0/8 as insecure, whatever
/etc/docker/certs.d holds: it skips certificate verification there and may fall back to plain
HTTP. A name that does not resolve (``*.invalid``, RFC 2606 §2) is a secure registry to it, and
with HTTPS_PROXY set it asks this proxy to CONNECT to that name; the proxy opens the same port on
127.0.0.1 and relays bytes both ways. TLS runs end to end through the tunnel, so dockerd checks
the registry's certificate against the CA in certs.d and the name in its subjectAltName.
"""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# The only names tunnelled; anything else gets 403, so the proxy never reaches out.
SUFFIX = b".invalid"
MAX_HEAD = 8192


def _pump(source: socket.socket, sink: socket.socket) -> None:
    """Copy bytes until ``source`` ends, then end ``sink``'s sending side in turn."""
    try:
        while data := source.recv(65536):
            sink.sendall(data)
        sink.shutdown(socket.SHUT_WR)
    except OSError:
        # The other side went away; closing both sockets ends the tunnel.
        pass


class _Tunnel(socketserver.BaseRequestHandler):
    """One CONNECT request: ``NAME.invalid:PORT`` becomes 127.0.0.1:PORT."""

    def handle(self) -> None:
        """Read the request head, answer 200 and relay, or refuse with 403."""
        client: socket.socket = self.request
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = client.recv(4096)
            if not chunk or len(head) > MAX_HEAD:
                return
            head += chunk
        method, _, rest = head.partition(b" ")
        host, _, port = rest.partition(b" ")[0].rpartition(b":")
        if method != b"CONNECT" or not host.endswith(SUFFIX) or not port.isdigit():
            client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            return
        with socket.create_connection(("127.0.0.1", int(port)), timeout=30) as upstream:
            # A client sends nothing after CONNECT until it has the 200, so the head is all
            # there is to read here.
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            back = threading.Thread(target=_pump, args=(upstream, client), daemon=True)
            back.start()
            _pump(client, upstream)
            back.join(timeout=30)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@contextmanager
def connect_proxy() -> Iterator[str]:
    """Run the proxy on an ephemeral loopback port; yield its URL for HTTPS_PROXY."""
    server = _Server(("127.0.0.1", 0), _Tunnel)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
