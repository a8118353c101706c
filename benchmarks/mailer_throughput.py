"""Mailer throughput: rendered-and-sent emails per second into a local SMTP sink, next to a bare
aiosmtplib loop sending pre-built messages over one connection to the same sink, in the same run.

    .venv/bin/python benchmarks/mailer_throughput.py [--emails 1000]

The sink runs as its own process (as a relay would); the broker and database are the local
default ones (Tansu, SecantusDB) started for the run. Every email is a French reminder for three
items whose amounts differ from one email to the next. Three figures:
- bare: one aiosmtplib connection, the very same emails rendered and built beforehand (not timed),
  `sendmail` in a loop: the cost of SMTP alone;
- sender: requests already in the ledger (consumed while the relay was down), from the relay
  coming up until every row is `sent` (claim, render, build MIME, SMTP over the pool, ledger and
  EmailDelivered written): the figure the target (≥ half the bare rate) is about;
- end to end: requests published to Kafka until every row is `sent` (adds consuming and the ledger
  insert of each request).
"""

import argparse
import asyncio
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

from datetime import UTC, datetime
from decimal import Decimal

import aiosmtplib
from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from devstack.processes import ManagedProcess, free_port, smtp_sink  # noqa: E402
from services.mailer.app import create_app  # noqa: E402
from services.mailer.domain.compose import Headers, as_bytes, compose_message  # noqa: E402
from services.mailer.config import MailerSettings  # noqa: E402
from services.mailer.domain.sends import addressees, new_send  # noqa: E402
from shared.contracts.email import EmailRequested  # noqa: E402
from shared.contracts.envelope import Envelope  # noqa: E402
from shared.contracts.topics import Stream, Topics  # noqa: E402
from devstack.testing.infra import Infrastructure, infrastructure  # noqa: E402
from devstack.testing.services import Isolation, serve_app, service_settings  # noqa: E402
from shared.templating import render_email  # noqa: E402
from tests.mailer.samples import email_request  # noqa: E402


def process_cpu_s(pid: int | None) -> float:
    """CPU seconds used so far by a process (user + system), 0 when unknown."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def database_pid(infra: Infrastructure) -> int | None:
    """The local database process (found by its port), to show where the time goes."""
    port = infra.mongodb_url.rsplit(":", 1)[1].split("/")[0]
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if any(b"secantus" in arg for arg in argv) and port.encode() in argv:
            return int(cmdline.parent.name)
    return None


def start_sink(folder: Path) -> ManagedProcess:
    sink = smtp_sink(smtp_port=free_port(), http_port=free_port(), maildir=folder / "mail", log_path=folder / "sink.log")
    sink.start()
    sink.wait_for_port(30)
    return sink


def sink_count(folder: Path) -> int:
    return len(list((folder / "mail").glob("*.eml")))


def request(n: int, prefix: str) -> EmailRequested:
    """A reminder whose amounts differ per email (no formatting cache flatters the figures)."""
    base = email_request(n, key_prefix=prefix)
    items = [item.model_copy(update={"open_amount": item.open_amount + Decimal(n) / 100 + index})
             for index, item in enumerate(base.context.items)]
    return base.model_copy(update={"context": base.context.model_copy(update={"items": items})})


def prebuilt(count: int) -> list[tuple[str, list[str], bytes]]:
    """The emails of the run, rendered and built exactly as the mailer does, before any timing."""
    settings = MailerSettings()
    built = []
    for n in range(count):
        email = request(n, "bare")
        send = new_send(email, tenant_id="acme", event_id=f"e{n}", correlation_id=f"c{n}", envelope_json="",
                        now=datetime.now(UTC), inbound_domain="inbound.bench.example",
                        message_id_domain="inbound.bench.example")
        rendered = render_email(variants=email.variants, language=email.language,
                                default_language=email.default_language, context=email.context, contact=email.to[0])
        people = addressees(email.to, email.cc, [])
        headers = Headers(identity=settings.mail_default_sender, company_name=email.context.company.name,
                          reply_to=None, date=datetime.now(UTC), unsubscribe=None)
        message = compose_message(send, rendered=rendered, addressees=people, headers=headers)
        built.append((send.envelope_from, people.addresses, as_bytes(message)))
    return built


async def bare_rate(port: int, count: int) -> float:
    messages = prebuilt(count)
    smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
    await smtp.connect()
    started = time.perf_counter()
    for sender, recipients, data in messages:
        await smtp.sendmail(sender, recipients, data)
    elapsed = time.perf_counter() - started
    await smtp.quit()
    return count / elapsed


async def publish(infra: Infrastructure, topics: Topics, count: int, prefix: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap_servers, linger_ms=5)
    await producer.start()
    try:
        for n in range(count):
            email = request(n, prefix)
            envelope = Envelope.wrap(email, tenant_id="acme", key_id=email.client_id, source="/bench")
            await producer.send(topics(Stream.EMAIL_REQUESTS), value=envelope.kafka_value(),
                                key=envelope.partitionkey.encode(),
                                headers=[(name, value.encode()) for name, value in envelope.kafka_headers().items()])
        await producer.flush()
    finally:
        await producer.stop()


def eml_count(folder: Path) -> int:
    """Emails in the maildir. `os.scandir`, not `Path.glob`: this polls every 50 ms in the mailer's
    own process, and globbing 1 000 names costs ~1 ms each time (cProfile: 1.5 s of a 22 s sender run)."""
    try:
        with os.scandir(folder) as entries:
            return sum(1 for entry in entries if entry.name.endswith(".eml"))
    except FileNotFoundError:
        return 0


async def arrived(folder: Path, count: int, timeout_s: float = 600) -> None:
    """Wait until the sink holds `count` emails (its maildir, not the database: polling MongoDB
    would cost the database the time we are measuring)."""
    deadline = time.monotonic() + timeout_s
    while eml_count(folder) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"fewer than {count} emails in {folder} after {timeout_s} s")
        await asyncio.sleep(0.05)


async def wait_for(db: AsyncMongoClient, database: str, query: dict, count: int, timeout_s: float = 600) -> None:
    deadline = time.monotonic() + timeout_s
    while await db[database].sends.count_documents(query) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"fewer than {count} sends match {query} after {timeout_s} s")
        await asyncio.sleep(0.05)


EXTRA: dict = {}


def settings_for(infra: Infrastructure, isolation: Isolation, port: int) -> MailerSettings:
    return service_settings(
        MailerSettings, infra, isolation, "mailer", smtp_host="127.0.0.1", smtp_port=port,
        smtp_reconnect_initial_s=0.05, smtp_reconnect_max_s=0.1, log_json=False, log_level="WARNING",
        mail_inbound_enabled=False,  # outbound only: no listener on the default port
        **EXTRA,
    )


async def main(count: int) -> None:
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("services.mailer.workers.sender").setLevel(logging.CRITICAL)  # the relay is down on purpose
    folder = Path(tempfile.mkdtemp(prefix="arf-bench-mailer-"))
    with infrastructure() as infra:
        print(infra.describe())
        db: AsyncMongoClient = AsyncMongoClient(infra.mongodb_url)
        sink = start_sink(folder)
        try:
            bare = await bare_rate(sink.port or 0, count)
        finally:
            sink.stop()

        # sender stage: the relay is down while the requests are consumed, then comes up
        isolation, down_port = Isolation.new(), free_port()
        topics = Topics(isolation.topic_prefix)
        async with serve_app(create_app(settings_for(infra, isolation, down_port))):
            await publish(infra, topics, count, "stage")
            await wait_for(db, isolation.database("mailer"), {"state": "pending"}, count)
            late_sink = smtp_sink(smtp_port=down_port, http_port=free_port(), maildir=folder / "stage",
                                  log_path=folder / "stage.log")
            late_sink.start()
            late_sink.wait_for_port(30)
            pids = {"mailer": os.getpid(), "database": database_pid(infra),
                    "sink": late_sink.process.pid if late_sink.process else None}
            cpu_before = {name: process_cpu_s(pid) for name, pid in pids.items()}
            started = time.perf_counter()
            await arrived(folder / "stage", count)
            sender = count / (time.perf_counter() - started)
            cpu_ms = {name: 1000 * (process_cpu_s(pid) - cpu_before[name]) / count for name, pid in pids.items()}
            await wait_for(db, isolation.database("mailer"), {"state": "sent"}, count)
            late_sink.stop()
        arrived_stage = len(list((folder / "stage").glob("*.eml")))

        # end to end: from Kafka to sent, relay up all along
        isolation = Isolation.new()
        sink = start_sink(folder / "e2e")
        try:
            async with serve_app(create_app(settings_for(infra, isolation, sink.port or 0))):
                started = time.perf_counter()
                await publish(infra, Topics(isolation.topic_prefix), count, "e2e")
                await arrived(folder / "e2e" / "mail", count)
                end_to_end = count / (time.perf_counter() - started)
                await wait_for(db, isolation.database("mailer"), {"state": "sent"}, count)
        finally:
            sink.stop()
        await db.close()

    print(f"emails per run: {count} (sink: a separate aiosmtpd process; {arrived_stage} arrived in the sender run)")
    print(f"bare aiosmtplib loop, one connection, pre-built messages: {bare:8.1f} emails/s  (baseline)")
    print(f"mailer sender (claim, render, build, send, record):       {sender:8.1f} emails/s  "
          f"({sender / bare:.0%} of bare; target >= 50%)")
    print(f"mailer end to end (Kafka in -> sent, reports staged):     {end_to_end:8.1f} emails/s  "
          f"({end_to_end / bare:.0%} of bare)")
    print("CPU per email in the sender run: " + ", ".join(f"{name} {ms:.2f} ms" for name, ms in cpu_ms.items())
          + f" (machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--emails", type=int, default=1000)
    asyncio.run(main(parser.parse_args().emails))
