"""Run inside a prepare step's sandbox: 127.0.0.1:PORT forwarded to the egress proxy.

    python3 -S -I forwarder.py PORT=SOCKET [PORT=SOCKET...] -- COMMAND...

The sandbox has its own network namespace with nothing but loopback; the only way out is
the egress proxy's Unix socket, bound in at SOCKET. Package managers speak HTTP(S) proxy to
127.0.0.1:PORT (HTTPS_PROXY), and this process carries each connection to the socket. It
listens before the command starts, then forks: the child forwards, the parent becomes the
command; when the command exits, bubblewrap ends the PID namespace and the forwarder with it.
Standard library only, run with `-S -I`: nothing from the repository or the environment loads.
"""

import contextlib
import os
import socket
import sys
import threading


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    except OSError:
        pass
    finally:
        for sock, how in ((sink, socket.SHUT_WR), (source, socket.SHUT_RD)):
            with contextlib.suppress(OSError):
                sock.shutdown(how)


def _carry(client: socket.socket, path: str) -> None:
    upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        upstream.connect(path)
    except OSError:
        client.close()
        upstream.close()
        return
    back = threading.Thread(target=_pump, args=(upstream, client), daemon=True)
    back.start()
    _pump(client, upstream)
    back.join()
    client.close()
    upstream.close()


def _serve(server: socket.socket, path: str) -> None:
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):  # hold none of the command's pipes open
        os.dup2(devnull, fd)
    while True:
        client, _ = server.accept()
        threading.Thread(target=_carry, args=(client, path), daemon=True).start()


def main() -> None:
    args = sys.argv[1:]
    if "--" not in args or args.index("--") == len(args) - 1:
        sys.exit("usage: forwarder.py PORT=SOCKET [PORT=SOCKET...] -- COMMAND...")
    split = args.index("--")
    pairs, command = args[:split], args[split + 1 :]
    servers = []
    for pair in pairs:
        port, _, path = pair.partition("=")
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", int(port)))
        server.listen(128)
        servers.append((server, path))
    for server, path in servers:
        if os.fork() == 0:
            try:
                _serve(server, path)
            finally:
                os._exit(0)
    for server, _ in servers:
        server.close()
    try:
        os.execvp(command[0], command)
    except OSError as exc:
        sys.stderr.write(f"{command[0]}: {exc.strerror}\n")
        os._exit(127)


if __name__ == "__main__":
    main()
