"""A TCP proxy a test can cut and restore: the link between one service and
the real broker goes down (connections reset, new ones refused) and comes back."""
import socket
import threading


class CuttableProxy:
    def __init__(self, target_host, target_port):
        self.target = (target_host, target_port)
        self.listener = None
        self.port = None
        self._pipes = []
        self._lock = threading.Lock()

    def start(self, port=0):
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", port))
        self.listener.listen(50)
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()
        return self

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._pipes.extend([client, upstream])
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    @staticmethod
    def _pump(source, sink):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except Exception:  # the link was cut under us: that is the point
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.close()
                except Exception:
                    pass

    def cut(self):
        """Reset every connection and refuse new ones."""
        self.listener.close()
        with self._lock:
            pipes, self._pipes = self._pipes, []
        for sock in pipes:
            try:
                sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            except OSError:
                pass

    def restore(self):
        self.start(self.port)

    def stop(self):
        self.cut()
