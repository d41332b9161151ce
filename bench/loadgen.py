"""An open-loop HTTP load generator on asyncio.

Requests leave on a fixed schedule whatever the server does: a slow answer
never delays the next send (that would hide the server's queueing, the
"coordinated omission" of closed-loop generators). Each request records how
late it left against its schedule, so a generator that could not keep up is
visible in the results instead of silently lowering the offered rate.

The client is a minimal HTTP/1.1 keep-alive client (no dependency), cheap
enough that the generator takes little of the machine's two cores.
"""
import asyncio
import time
from dataclasses import dataclass, field

MAX_CONNECTIONS = 1000
TIMEOUT_SECONDS = 30.0


@dataclass
class Outcome:
    index: int
    due: float            # scheduled send time (loop clock)
    lateness: float       # seconds the send left after `due`
    status: int = 0       # 0: no response (error)
    error: str = ""
    elapsed: float = 0.0  # send to last byte of the response
    done_wall: float = 0.0  # wall clock (time.time) when the response arrived
    body: bytes = b""
    extra: dict = field(default_factory=dict)


class _Pool:
    def __init__(self, host, port, limit):
        self.host, self.port = host, port
        self.idle = []
        self.slots = asyncio.Semaphore(limit)
        self.opened = 0

    async def acquire(self):
        await self.slots.acquire()
        if self.idle:
            return self.idle.pop()
        self.opened += 1
        return await asyncio.open_connection(self.host, self.port)

    def release(self, conn, reusable):
        if reusable:
            self.idle.append(conn)
        else:
            conn[1].close()
        self.slots.release()

    def close(self):
        for _, writer in self.idle:
            writer.close()
        self.idle.clear()


async def _read_response(reader):
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("connection closed before the response")
    status = int(status_line.split()[1])
    length, chunked, close = None, False, False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding" and "chunked" in value:
            chunked = True
        elif name == "connection" and value == "close":
            close = True
    if chunked:
        parts = []
        while True:
            size = int((await reader.readline()).split(b";")[0], 16)
            if size == 0:
                await reader.readline()
                break
            parts.append(await reader.readexactly(size))
            await reader.readline()
        body = b"".join(parts)
    elif length is not None:
        body = await reader.readexactly(length)
    else:
        body, close = await reader.read(), True
    return status, body, close


async def _request(pool, raw, outcome, timeout):
    conn = await pool.acquire()
    outcome.lateness = max(0.0, asyncio.get_running_loop().time() - outcome.due)
    reusable = False
    started = time.perf_counter()
    try:
        reader, writer = conn
        writer.write(raw)
        status, body, close = await asyncio.wait_for(_read_response(reader), timeout)
        outcome.status, outcome.body = status, body
        reusable = not close
    except Exception as exc:  # recorded as an error of this request
        outcome.error = "%s: %s" % (type(exc).__name__, exc)
    finally:
        outcome.elapsed = time.perf_counter() - started
        outcome.done_wall = time.time()
        pool.release(conn, reusable)


def build_request(method, host, port, path, body, headers):
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: %s:%d" % (host, port),
             "Content-Length: %d" % len(body)]
    lines += ["%s: %s" % item for item in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def _run(host, port, requests, rate, limit, timeout):
    """Send `requests` (a list of raw request bytes) at `rate` per second."""
    pool = _Pool(host, port, limit)
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.2
    outcomes, tasks = [], []
    for index, raw in enumerate(requests):
        due = start + index / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        outcome = Outcome(index=index, due=due, lateness=0.0)
        outcomes.append(outcome)

        # Lateness is taken when the request actually leaves, which includes
        # waiting for a free connection when `limit` are all busy.
        tasks.append(asyncio.ensure_future(_request(pool, raw, outcome, timeout)))
    await asyncio.gather(*tasks)
    pool.close()
    return outcomes, pool.opened


def run_open_loop(host, port, requests, rate, limit=MAX_CONNECTIONS, timeout=TIMEOUT_SECONDS):
    """Outcomes of `requests` sent at `rate`/s, and the wall-clock window."""
    started = time.time()
    outcomes, opened = asyncio.run(_run(host, port, requests, rate, limit, timeout))
    return outcomes, {"started_wall": started, "ended_wall": time.time(),
                      "connections_opened": opened}
