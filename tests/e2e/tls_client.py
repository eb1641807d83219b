#!/usr/bin/env python3
"""TLS clients the HTTPS tests need and curl cannot be: pipelining in one record, a handshake
that stalls, bytes that are not TLS, a PROXY header before the handshake. Prints one line of
results; exits 1 on an unexpected error."""
import socket
import ssl
import sys
import time


def connect(port):
    return socket.create_connection(("127.0.0.1", port), timeout=10)


def context(cafile):
    made = ssl.create_default_context(cafile=cafile)
    made.check_hostname = False
    return made


def read_until_closed(sock):
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except (ssl.SSLError, ConnectionResetError, socket.timeout):
            break
        if not chunk:
            break
        data += chunk
    return data


def pipeline(port, cafile, count):
    """count GETs in one write (one TLS record); the last one closes. Prints the 200s."""
    with context(cafile).wrap_socket(connect(port)) as tls:
        requests = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * (count - 1)
        requests += b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        tls.sendall(requests)
        print(read_until_closed(tls).count(b"HTTP/1.1 200 OK"))


def keepalive(port, cafile, count):
    """count GETs one after the other on one connection. Prints the 200s."""
    answered = 0
    with context(cafile).wrap_socket(connect(port)) as tls:
        for _ in range(count):
            tls.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            head = b""
            while b"\r\n\r\n" not in head:
                head += tls.recv(4096)
            length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
            body = head.split(b"\r\n\r\n", 1)[1]
            while len(body) < length:
                body += tls.recv(4096)
            answered += head.startswith(b"HTTP/1.1 200 OK")
    print(answered)


def client_hello():
    """The first flight of a real TLS client, made in memory."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ssl.create_default_context().wrap_bio(incoming, outgoing)
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def seconds_until_closed(sock):
    started = time.monotonic()
    read_until_closed(sock)
    return time.monotonic() - started


def stall(port):
    """Half a ClientHello, then silence. Prints how long the server waited before closing."""
    with connect(port) as sock:
        hello = client_hello()
        sock.sendall(hello[: len(hello) // 2])
        print("%.2f" % seconds_until_closed(sock))


def silent(port):
    """Connects and sends nothing. Prints how long the server waited before closing."""
    with connect(port) as sock:
        print("%.2f" % seconds_until_closed(sock))


def raw(port, payload):
    """Bytes that are not a good TLS start. Prints what came back and when the server closed."""
    with connect(port) as sock:
        sock.sendall(payload)
        started = time.monotonic()
        data = read_until_closed(sock)
        print("%d bytes, closed after %.2f s, http=%s" % (
            len(data), time.monotonic() - started, data.startswith(b"HTTP/")))


def proxied(port, cafile):
    """A PROXY v1 header in clear text, then TLS on the same socket: GET /peer."""
    sock = connect(port)
    sock.sendall(b"PROXY TCP4 203.0.113.7 127.0.0.1 4711 443\r\n")
    with context(cafile).wrap_socket(sock) as tls:
        tls.sendall(b"GET /peer HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        print(read_until_closed(tls).split(b"\r\n\r\n", 1)[1].decode())


def main():
    command, port = sys.argv[1], int(sys.argv[2])
    if command == "pipeline":
        pipeline(port, sys.argv[3], int(sys.argv[4]))
    elif command == "keepalive":
        keepalive(port, sys.argv[3], int(sys.argv[4]))
    elif command == "stall":
        stall(port)
    elif command == "silent":
        silent(port)
    elif command == "garbage":
        raw(port, bytes(range(256)) * 4)
    elif command == "plain":
        raw(port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    elif command == "oversized-record":
        # A handshake record header that claims 0x4801 bytes: more than TLS allows.
        raw(port, b"\x16\x03\x01\x48\x01" + b"\x00" * 2048)
    elif command == "proxied":
        proxied(port, sys.argv[3])
    else:
        sys.exit("unknown command " + command)


if __name__ == "__main__":
    main()
