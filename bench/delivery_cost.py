"""What sending one page's text costs oncall's process in CPU, in-process, against the
development gateway (``bench/texting.py``) in another process on a local socket (plain HTTP:
a real gateway's TLS handshake, which a client made for each call also paid, is left out).
Three ways, each round in turn:

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
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import uvloop
from oncall.notifiers import Message
from oncall.outgoing import Outgoing
from oncall.sms.gateway import SmsGateway, SmsNotifier
from oncall.sms.handlers import CODES, free_code
from texting import TextGateway

PAGE = Message(
    notification_id=1, kind="page", recipient="s-1", subject="A page", body="b", short="A page 0412"
)


async def cpu_ms_each(send: Callable[[], Awaitable[object]], pages: int) -> float:
    await send()  # the first call's set-up is not what a page costs
    started = time.process_time()
    for _ in range(pages):
        await send()
    return (time.process_time() - started) / pages * 1000


async def main(url: str, account: str, token: str, pages: int, rounds: int) -> None:
    gateway = SmsGateway("twilio", url, account, token, "+15550009999", "https://oncall/sms/twilio/status")
    endpoint = f"{url}/2010-04-01/Accounts/{account}/Messages.json"
    form = {"To": "+15550000001", "From": "+15550009999", "Body": "A page 0412", "StatusCallback": "x"}

    async def made_each_time() -> object:
        async with httpx.AsyncClient(timeout=10) as client:
            return await client.post(endpoint, data=form, auth=(account, token))

    kept = Outgoing()
    notifier = SmsNotifier(gateway, http=kept)
    floor_client = httpx.AsyncClient(timeout=10)

    async def notifier_send() -> object:
        return await notifier.deliver(PAGE, "+15550000001")

    async def floor() -> object:
        return await floor_client.post(endpoint, data=form, auth=(account, token))

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
    with tempfile.TemporaryDirectory(prefix="pss-delivery-") as directory:
        texting = TextGateway(Path(directory)).start()
        try:
            uvloop.run(main(texting.url, *texting.credentials, args.pages, args.rounds))  # as oncall runs
        finally:
            texting.stop()
