"""Run inside a prepare step's sandbox: 127.0.0.1:PORT forwarded to the egress proxy.

    python3 -S -I forwarder.py PORT=SOCKET [PORT=SOCKET...] -- COMMAND...

The sandbox has its own network namespace with nothing but loopback; the only way out is
the egress proxy's Unix socket, bound in at SOCKET. Package managers speak HTTP(S) proxy to
127.0.0.1:PORT (HTTPS_PROXY), and this process carries each connection to the socket. It
listens before the command starts, then forks: the child forwards, the parent becomes the
command; when the command exits, bubblewrap ends the PID namespace and the forwarder with it.
Standard library only, run with `-S -I`: nothing from the repository or the environment loads.
"""

import _socket  # the C modules: `socket`, `threading` and `contextlib` double the start-up
import _thread
import os
import sys

Socket = _socket.socket


def _pump(source: Socket, sink: Socket) -> None:
    try:
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    except OSError:
        pass
    finally:
        for sock, how in ((sink, _socket.SHUT_WR), (source, _socket.SHUT_RD)):
            try:  # noqa: SIM105 (contextlib costs start-up time)
                sock.shutdown(how)
            except OSError:
                pass


def _pump_then_release(source: Socket, sink: Socket, done: "_thread.LockType") -> None:
    try:
        _pump(source, sink)
    finally:
        done.release()


def _carry(client: Socket, path: str) -> None:
    upstream = Socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        upstream.connect(path)
    except OSError:
        client.close()
        upstream.close()
        return
    back = _thread.allocate_lock()
    back.acquire()
    _thread.start_new_thread(_pump_then_release, (upstream, client, back))
    _pump(client, upstream)
    back.acquire()  # the other direction is done too
    client.close()
    upstream.close()


def _serve(server: Socket, path: str) -> None:
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):  # hold none of the command's pipes open
        os.dup2(devnull, fd)
    while True:
        fd, _ = server._accept()  # type: ignore[attr-defined]  # _socket's accept
        _thread.start_new_thread(_carry, (Socket(fileno=fd), path))


def main() -> None:
    args = sys.argv[1:]
    if "--" not in args or args.index("--") == len(args) - 1:
        sys.exit("usage: forwarder.py PORT=SOCKET [PORT=SOCKET...] -- COMMAND...")
    split = args.index("--")
    pairs, command = args[:split], args[split + 1 :]
    servers = []
    for pair in pairs:
        port, _, path = pair.partition("=")
        server = Socket(_socket.AF_INET, _socket.SOCK_STREAM)
        server.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
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
