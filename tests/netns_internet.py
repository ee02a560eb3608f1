"""The internet host's services: TCP and UDP answer with the address the request came from."""

import socket
import sys
import threading


def serve_tcp(server: socket.socket) -> None:
    while True:
        connection, (address, _) = server.accept()
        with connection:
            connection.sendall(f"{address}\n".encode())


def main() -> None:
    host, tcp_port, udp_port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    tcp = socket.create_server((host, tcp_port), backlog=64)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind((host, udp_port))
    threading.Thread(target=serve_tcp, args=(tcp,), daemon=True).start()
    print("ready", flush=True)
    while True:
        _, (address, port) = udp.recvfrom(512)
        udp.sendto(f"{address}\n".encode(), (address, port))


if __name__ == "__main__":
    main()
