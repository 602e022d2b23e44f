"""HTTP/1.1 written byte by byte over a socket: for requests no client library would send."""

import socket
from dataclasses import dataclass


@dataclass(frozen=True)
class RawAnswer:
    """The status, headers (names lower-case) and body of one answer; status 0 when none came."""

    status: int
    headers: dict[str, str]
    body: bytes


def send_raw(port: int, data: bytes, *, half_close: bool = False, timeout: float = 10.0) -> RawAnswer:
    """Send `data` as is (then end our side of the connection if asked) and read the first answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = sock.recv(65536)
            if not chunk:
                return RawAnswer(0, {}, received)
            received += chunk
        head, _, body = received.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = dict(line.lower().split(": ", 1) for line in lines[1:])
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
        return RawAnswer(int(lines[0].split(" ")[1]), headers, body[:length])


def request(method: str, path: str, headers: list[tuple[str, str]], body: bytes = b"") -> bytes:
    """A request's bytes: the request line, the headers as given (none added), then the body as given."""
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{name}: {value}\r\n" for name, value in headers)
    return head.encode() + b"\r\n" + body


def everything_sent(port: int, data: bytes, timeout: float = 10.0) -> bytes:
    """Send `data` (asking for the connection to be closed after it) and read every byte until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
        return received
