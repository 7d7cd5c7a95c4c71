"""An Alpha-protocol sign on TCP: parses what it receives byte by byte and keeps what it would show."""

from __future__ import annotations

import contextlib
import socket
import threading

from actuators import alpha_protocol as ap


class AlphaSignEmulator:
    """``hung=True`` models a sign whose network module accepts connections, then never reads or answers."""

    def __init__(self, port: int = 0, *, hung: bool = False, encoding: str = "ascii") -> None:
        self.encoding = encoding  # the firmware's character set (ascii, or gb2312 for a Chinese sign)
        self.hung = hung
        self.received = bytearray()  # every byte, in order, across connections
        self.packets: list[ap.Packet] = []
        self.files: dict[str, ap.TextFile] = {}
        self.connections = 0
        self._lock = threading.Lock()
        self._clients: list[socket.socket] = []
        self._server = socket.create_server(("127.0.0.1", port))  # sets SO_REUSEADDR: restart on the same port
        self.port = self._server.getsockname()[1]
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="alpha-emulator", daemon=True)
        self._thread.start()

    @property
    def displayed(self) -> ap.TextFile | None:
        """The sign runs file "A" by default, so that is what a passer-by sees."""
        with self._lock:
            return self.files.get("A")

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            with self._lock:
                self._clients.append(client)
                self.connections += 1
            if not self.hung:
                threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        parser = ap.FrameParser()
        while True:
            try:
                chunk = client.recv(4096)
            except OSError:
                return
            if not chunk:
                return
            for byte in chunk:  # one byte at a time, as a sign's UART delivers them
                for packet in parser.feed(bytes([byte])):
                    self._handle(client, packet)
            with self._lock:
                self.received.extend(chunk)

    def _handle(self, client: socket.socket, packet: ap.Packet) -> None:
        with self._lock:
            self.packets.append(packet)
        if packet.checksum_ok is False or not packet.data:
            return  # a real sign ignores a damaged packet
        if packet.command == chr(ap.WRITE_TEXT):
            shown = ap.decode_text_file(packet.data, self.encoding)
            with self._lock:
                self.files[shown.label] = shown
        elif packet.command == chr(ap.READ_TEXT):
            self._reply_text(client, chr(packet.data[0]))

    def _reply_text(self, client: socket.socket, label: str) -> None:
        with self._lock:
            shown = self.files.get(label)
        data = label.encode("ascii")
        if shown is not None:
            data += bytes([ap.ESC, ap.POSITIONS.get(shown.position, 0x20)]) + ap.MODES.get(shown.mode, "a").encode()
            if shown.colour:
                data += bytes([ap.SELECT_COLOUR]) + ap.COLOURS[shown.colour].encode()
            data += ap.encode_text(shown.text, self.encoding)
        packet = bytes([ap.STX, ap.WRITE_TEXT]) + data + bytes([ap.ETX])
        with contextlib.suppress(OSError):
            client.sendall(bytes(20) + ap.frame(ap.REPLY, "00", packet)[5:])

    def stop(self) -> None:
        """Power the sign off: the listening socket and every connection close at once."""
        self._stopped.set()
        with contextlib.suppress(OSError):
            self._server.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() so the port is freed now
        self._server.close()
        with self._lock:
            clients, self._clients = self._clients, []
        for client in clients:
            with contextlib.suppress(OSError):
                client.shutdown(socket.SHUT_RDWR)
            client.close()
        self._thread.join(2)
