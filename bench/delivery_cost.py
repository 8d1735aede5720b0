"""What sending one page's text costs oncall's process in CPU, in-process, against a gateway
in another process on a local socket (plain HTTP: a real gateway's TLS handshake, which a
client made for each call also paid, is left out). Three ways, each round in turn:

- **a client for each call**: ``httpx.AsyncClient`` made and closed around the POST, as the
  notifiers did before issue 25's nineteenth round (an SSL context built each time);
- **oncall's notifier**: ``SmsNotifier`` on its kept client (``oncall.outgoing.Outgoing``);
- **the floor**: the same POST on one kept ``httpx.AsyncClient``, nothing else.

And what picking the page's reply code costs, with the phone holding 20 codes this month:
the 10,000 codes listed first (before the nineteenth round) against ``free_code``'s draw.

    uv run python bench/delivery_cost.py [--pages N] [--rounds N]
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable

import httpx
import uvloop
from oncall.notifiers import Message
from oncall.outgoing import Outgoing
from oncall.sms.gateway import SmsGateway, SmsNotifier
from oncall.sms.handlers import CODES, free_code
from pss_dev.local import free_port

GATEWAY = """
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class Gateway(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keeps the connection, as a real gateway does
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        body = b'{"sid": "SM1"}'
        self.send_response(201)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Gateway).serve_forever()
"""

PAGE = Message(
    notification_id=1, kind="page", recipient="s-1", subject="A page", body="b", short="A page 0412"
)


async def cpu_ms_each(send: Callable[[], Awaitable[object]], pages: int) -> float:
    await send()  # the first call's set-up is not what a page costs
    started = time.process_time()
    for _ in range(pages):
        await send()
    return (time.process_time() - started) / pages * 1000


async def main(url: str, pages: int, rounds: int) -> None:
    gateway = SmsGateway("twilio", url, "AC1", "token", "+15550009999", "https://oncall/sms/twilio/status")
    endpoint = f"{url}/2010-04-01/Accounts/AC1/Messages.json"
    form = {"To": "+15550000001", "From": "+15550009999", "Body": "A page 0412", "StatusCallback": "x"}

    async def made_each_time() -> object:
        async with httpx.AsyncClient(timeout=10) as client:
            return await client.post(endpoint, data=form, auth=("AC1", "token"))

    kept = Outgoing()
    notifier = SmsNotifier(gateway, http=kept)
    floor_client = httpx.AsyncClient(timeout=10)

    async def notifier_send() -> object:
        return await notifier.deliver(PAGE, "+15550000001")

    async def floor() -> object:
        return await floor_client.post(endpoint, data=form, auth=("AC1", "token"))

    ways: dict[str, Callable[[], Awaitable[object]]] = {
        "a client for each call (before)": made_each_time,
        "oncall's notifier (kept client)": notifier_send,
        "the floor (one kept client, the POST alone)": floor,
    }
    found: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(rounds):
        for name, send in ways.items():
            found[name].append(await cpu_ms_each(send, pages))
    await kept.close()
    await floor_client.aclose()
    taken = {f"{n * 487 % CODES:04d}" for n in range(20)}

    def listed() -> str:
        free = [f"{n:04d}" for n in range(CODES) if f"{n:04d}" not in taken]
        return free[secrets.randbelow(len(free))]

    picked: dict[str, list[float]] = {"listed (before)": [], "drawn (free_code)": []}
    for _ in range(rounds):
        for name, pick in (("listed (before)", listed), ("drawn (free_code)", lambda: free_code(taken))):
            started = time.process_time()
            for _ in range(pages):
                pick()
            picked[name].append((time.process_time() - started) / pages * 1000)
    print(f"a page's text, ms of oncall's CPU (median of {rounds} rounds of {pages})")
    for name, values in found.items():
        print(f"{name:48} {statistics.median(values):8.3f}   ({', '.join(f'{v:.3f}' for v in values)})")
    print("a page's reply code, picked, ms of CPU")
    for name, values in picked.items():
        print(f"{name:48} {statistics.median(values):8.3f}   ({', '.join(f'{v:.3f}' for v in values)})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    port = free_port()
    gateway_process = subprocess.Popen([sys.executable, "-c", GATEWAY, str(port)])
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(50):
            try:
                httpx.post(url, content=b"")
                break
            except httpx.TransportError:
                time.sleep(0.1)
        uvloop.run(main(url, args.pages, args.rounds))  # as oncall runs
    finally:
        gateway_process.terminate()
        gateway_process.wait()
