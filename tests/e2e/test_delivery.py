"""Invitations delivered for real: an SMTP server in the test (aiosmtpd), Maildirs read back with mailbox.

Each organisation's policy sends at once (no delay, any time of day), so an order dated today is
due as soon as it is processed.
"""

import datetime as dt
import mailbox
import re
import time
import uuid
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest

from order_intake.adapters.sqlite.timestamps import to_sqlite_time
from order_intake.domain import links
from order_intake.domain.delivery import NO_REMINDER_REVIEWED, REMINDER_OFF_REVIEWED
from tests.e2e.exchanges import accepted_id, json_body, post_order, unique_ref
from tests.support.cli import Credentials, cli_ok, create_key, enabled_tenant
from tests.support.databases import database
from tests.support.factories import an_order
from tests.support.polling import wait_until
from tests.support.server import Server, Worker
from tests.support.smtp_sink import SmtpSink

SECRET = "delivery-test-secret"  # noqa: S105 - the test server's signing key, so the test can sign links too
PUBLIC_URL = "https://reviews.example"
DEADLINE = 30.0


class Shop:
    """An organisation that invites at once, its keys (one a sandbox key), and a client of the server."""

    def __init__(self, db_url: str, server: Server) -> None:
        self.db_url = db_url
        self.trkref = unique_ref("MAIL")
        self.key: Credentials = enabled_tenant(db_url, self.trkref, "Kettles & Co")
        self.sandbox: Credentials = create_key(db_url, "--trkref", self.trkref, "--sandbox")
        cli_ok(db_url, "org", "policy", self.trkref, "--delay-days", "0", "--window", "00:00-24:00")
        self.client = httpx.Client(base_url=server.base_url, timeout=10)

    def order(self, email: str, *, key: Credentials | None = None, **fields: Any) -> str:
        """Post an order of today for this address; its order_ref."""
        today = dt.datetime.now(dt.UTC).date().strftime("%d-%m-%Y")
        ref = unique_ref("ORD")
        person = {"email": email, "first_name": "Ann", "surname": "Example", "country": "GB"}
        order = an_order(
            trkref=self.trkref, order_ref=ref, order_date=today, fulfilment_date=today, customer=person, **fields
        )
        accepted_id(post_order(self.client, (key or self.key).auth, order, trkref=self.trkref))
        return ref

    def explain(self, order_ref: str) -> dict[str, Any] | None:
        """The order's invitation as explain shows it, or None before it is planned."""
        answer = self.client.get(
            f"/v4/organisations/{self.trkref}/customer_orders/{order_ref}/invitation", auth=self.key.auth
        )
        return json_body(answer) if answer.status_code == 200 else None

    def until_state(self, order_ref: str, state: str, timeout: float = DEADLINE) -> dict[str, Any]:
        """Explain, polled until the invitation is in `state`."""

        def reached() -> dict[str, Any] | None:
            found = self.explain(order_ref)
            return found if found is not None and found["state"] == state else None

        found = wait_until(reached, deadline=time.monotonic() + timeout)
        assert found is not None, f"{order_ref} not {state} within {timeout} s: {self.explain(order_ref)}"
        return found


@pytest.fixture(scope="module")
def sink() -> Iterator[SmtpSink]:
    """The SMTP server the invitations go to."""
    running = SmtpSink().start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def mail_server(backend: str, tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink) -> Iterator[Server]:
    """`serve` (with its worker) on a database of its own, sending to the sink; sandbox mail to a Maildir."""
    folder = tmp_path_factory.mktemp("delivery")
    with database(backend, folder, "delivery") as url:
        env = {
            "MAIL_URL": sink.url,
            "SANDBOX_MAIL_URL": f"maildir:{folder / 'sandbox-mail'}",
            "ORDER_INTAKE_SECRET_KEY": SECRET,
            "PUBLIC_URL": PUBLIC_URL,
            "ORDER_INTAKE_AUTH_CACHE_SECONDS": "0",  # each test's new keys are known at once
        }
        server = Server(url, folder / "server.log", cwd=folder, **env).start()
        yield server
        server.stop()


@pytest.fixture
def shop(mail_server: Server) -> Iterator[Shop]:
    """A fresh organisation on the mail server."""
    made = Shop(mail_server.database_url, mail_server)
    yield made
    made.client.close()


def _address() -> str:
    return f"c-{uuid.uuid4().hex[:12]}@example.com"


def _one_message(sink: SmtpSink, address: str, count: int = 1) -> list[EmailMessage]:
    found = wait_until(
        lambda: sink.messages_to(address) if len(sink.messages_to(address)) >= count else None,
        deadline=time.monotonic() + DEADLINE,
    )
    assert found is not None, f"no message for {address} within {DEADLINE} s"
    return found


def _parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None
    assert html is not None
    return text.get_content(), html.get_content()


def test_an_order_of_today_arrives_as_an_email_with_the_contracts_headers(shop: Shop, sink: SmtpSink) -> None:
    """Within seconds: To the customer, From the policy's sender, both links written out and signed, every header."""
    address = _address()
    ref = shop.order(address)
    (message,) = _one_message(sink, address)
    sent = shop.until_state(ref, "sent")
    assert sent["reason"] is None
    assert sent["sent_at"] is not None
    assert sent["explanation"][-1].startswith("invitation e-mail sent at ")
    invitation_id = uuid.UUID(message["X-Invitation-Id"])
    review = links.link(PUBLIC_URL, links.REVIEW, SECRET.encode(), invitation_id)
    unsubscribe = links.link(PUBLIC_URL, links.UNSUBSCRIBE, SECRET.encode(), invitation_id)
    assert message["To"] == f"Ann Example <{address}>"
    assert message["From"] == "reviews@localhost"
    assert message["List-Unsubscribe"] == f"<{unsubscribe}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Message-ID"] == f"<{invitation_id.hex}.invitation@reviews.example>"
    assert message.get_content_type() == "multipart/alternative"
    assert "Kettles & Co" in message["Subject"]
    text, html = _parts(message)
    for part in (text, html):
        assert review in part
        assert unsubscribe in part
        assert ref in part
    assert "Kettles &amp; Co" in html
    assert "Kettles & Co" in text
    raw = sink.raw[message["Message-ID"]]
    assert f"\r\nList-Unsubscribe: <{unsubscribe}>\r\n".encode() in raw  # one line, never an encoded-word
    purchases = shop.client.get(f"/v4/organisations/{shop.trkref}/purchasers/{address}/purchases", auth=shop.key.auth)
    assert {line["review_url"] for line in json_body(purchases)} == {review}
    assert {line["contacted_at"] for line in json_body(purchases)} == {sent["sent_at"]}
    metrics = shop.client.get("/metrics").text
    assert 'order_intake_invitation_emails_total{kind="invitation",outcome="sent"}' in metrics


def test_the_message_is_in_the_orders_language(shop: Shop, sink: SmtpSink) -> None:
    """An order in German gets the German subject and text, its date written the German way."""
    address = _address()
    shop.order(address, language="de", locale="de-DE")
    (message,) = _one_message(sink, address)
    assert message["Subject"] == "Wie war Ihre Bestellung bei Kettles & Co?"
    text, html = _parts(message)
    assert "Hallo Ann Example," in text
    assert '<html lang="de">' in html
    months = "Januar|Februar|März|April|Mai|Juni|Juli|August|September|Oktober|November|Dezember"
    assert re.search(rf"vom \d{{1,2}}\. ({months}) \d{{4}}", text)


def test_a_recipient_refused_for_good_ends_failed_and_bounced(shop: Shop, sink: SmtpSink) -> None:
    """SMTP 550 for the address: the invitation `failed` (rejected_by_mail_server), the address suppressed `bounced`."""
    address = _address()
    sink.replies[address] = ["550 5.1.1 No such user"]
    ref = shop.order(address)
    failed = shop.until_state(ref, "failed")
    assert failed["reason"] == "rejected_by_mail_server"
    assert "550" in failed["explanation"][-1]
    suppression = shop.client.get(f"/v4/organisations/{shop.trkref}/suppressions/{address}", auth=shop.key.auth)
    assert json_body(suppression)["reason"] == "bounced"
    later = shop.order(address)
    replanned = shop.until_state(later, "suppressed")
    assert replanned["reason"] == "bounced"
    assert sink.messages_to(address) == []


def test_addresses_beyond_ascii_go_with_an_ascii_domain_or_in_utf8_to_a_server_that_takes_it(
    shop: Shop, sink: SmtpSink
) -> None:
    """A domain beyond ASCII goes as IDNA (any server takes it); a local part beyond ASCII with SMTPUTF8."""
    tag = uuid.uuid4().hex[:12]
    in_utf8, idna, plain = f"jü-{tag}@example.com", f"c-{tag}@bücher.de", _address()
    refs = [shop.order(address) for address in (in_utf8, idna, plain)]
    (utf8_message,) = _one_message(sink, in_utf8)
    assert f"To: Ann Example <{in_utf8}>".encode() in sink.raw[utf8_message["Message-ID"]]
    (message,) = _one_message(sink, f"c-{tag}@xn--bcher-kva.de")
    assert message["To"].addresses[0].addr_spec == f"c-{tag}@xn--bcher-kva.de"
    _one_message(sink, plain)
    assert [shop.until_state(ref, "sent")["state"] for ref in refs] == ["sent"] * 3


def test_temporary_failures_are_tried_again_until_the_message_goes(shop: Shop, sink: SmtpSink) -> None:
    """A 451 and then a dropped connection leave the invitation scheduled; a later try sends it, once."""
    address = _address()
    sink.replies[address] = ["451 4.3.0 Try again later", "250 OK"]
    sink.drops = 1  # the second try's DATA: the connection is cut
    ref = shop.order(address)
    waiting = shop.until_state(ref, "scheduled")
    (message,) = _one_message(sink, address)
    assert waiting["sent_at"] is None
    assert shop.until_state(ref, "sent")["sent_at"] is not None
    assert sink.drops == 0
    time.sleep(1.5)
    assert len(sink.messages_to(address)) == 1, message["Message-ID"]


def test_sandbox_keys_invitations_go_to_the_sandbox_maildir_only(
    shop: Shop, sink: SmtpSink, mail_server: Server
) -> None:
    """An order of a sandbox key: explained with sandbox true, sent to SANDBOX_MAIL_URL, never to MAIL_URL."""
    address = _address()
    ref = shop.order(address, key=shop.sandbox)
    sent = shop.until_state(ref, "sent")
    assert sent["sandbox"] is True
    assert mail_server.cwd is not None
    box = mailbox.Maildir(mail_server.cwd / "sandbox-mail", create=False)
    assert [m["X-Invitation-Id"] for m in box if address in str(m["To"])]
    assert sink.messages_to(address) == []


def test_a_reminder_goes_once_with_its_own_message_id(shop: Shop, sink: SmtpSink) -> None:
    """reminder_days 1: explain shows when; once due (moved to the past here), one reminder, a Message-ID of its own."""
    cli_ok(shop.db_url, "org", "policy", shop.trkref, "--reminder-days", "1")
    address = _address()
    ref = shop.order(address)
    (first,) = _one_message(sink, address)
    sent = shop.until_state(ref, "sent")
    sent_at = dt.datetime.fromisoformat(sent["sent_at"])
    assert dt.datetime.fromisoformat(sent["reminder_at"]) - sent_at == dt.timedelta(days=1)
    _move_to_the_past(shop.db_url, first["X-Invitation-Id"])
    first, reminder = _one_message(sink, address, count=2)
    assert reminder["Message-ID"] == f"<{uuid.UUID(first['X-Invitation-Id']).hex}.reminder@reviews.example>"
    assert reminder["Subject"].startswith("A reminder:")

    recorded = _explained_last(shop, ref, lambda line: line.startswith("reminder e-mail"))
    assert recorded["state"] == "sent"
    assert recorded["explanation"][-1].startswith("reminder e-mail sent at ")
    time.sleep(1.5)
    assert len(sink.messages_to(address)) == 2


def _move_to_the_past(db_url: str, invitation_id: str, column: str = "reminder_at") -> None:
    """Make the invitation (send_at) or its reminder (reminder_at) due a minute ago."""
    from tests.support.inspect_db import change_rows  # noqa: PLC0415 - only these tests move time

    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    statement = f"UPDATE invitations SET {column} = ? WHERE id = ?"  # noqa: S608 - the test's own column names
    if db_url.startswith("sqlite"):
        change_rows(db_url, statement, to_sqlite_time(past), invitation_id)
    else:
        change_rows(db_url, statement, past, uuid.UUID(invitation_id))


def _explained_last(shop: Shop, ref: str, last: Callable[[str], bool]) -> dict[str, Any]:
    """Explain, polled until its last sentence is one that `last` accepts (a sender records after the mail goes)."""

    def ended() -> dict[str, Any] | None:
        found = shop.explain(ref)
        return found if found is not None and last(found["explanation"][-1]) else None

    found = wait_until(ended, deadline=time.monotonic() + DEADLINE)
    assert found is not None, shop.explain(ref)
    return found


def test_a_customer_who_reviewed_before_the_invitation_went_gets_no_reminder(shop: Shop, sink: SmtpSink) -> None:
    """Reviewed while scheduled: the invitation still goes, with no reminder; a reminder due anyway is called off.

    The second half stands for a review stored while the sender was recording the invitation sent
    with its reminder: when that reminder falls due, the sender finds the review and sends nothing.
    """
    cli_ok(shop.db_url, "org", "policy", shop.trkref, "--delay-days", "1", "--reminder-days", "1")
    address = _address()
    ref = shop.order(address)
    shop.until_state(ref, "scheduled")
    purchases = shop.client.get(f"/v4/organisations/{shop.trkref}/purchasers/{address}/purchases", auth=shop.key.auth)
    line = json_body(purchases)[0]
    review_path = line["review_url"].removeprefix(PUBLIC_URL)
    reviewed = shop.client.post(review_path, data={f"rating:{line['sku']}": "5"})
    assert reviewed.status_code == 303
    token = review_path.rsplit("/", 1)[-1]
    invitation_id = links.verified(SECRET.encode(), links.REVIEW, token)
    assert invitation_id is not None
    _move_to_the_past(shop.db_url, str(invitation_id), column="send_at")
    (message,) = _one_message(sink, address)
    assert message["X-Invitation-Id"] == str(invitation_id)
    sent = _explained_last(shop, ref, NO_REMINDER_REVIEWED.__eq__)
    assert (sent["state"], sent["reminder_at"]) == ("sent", None)
    assert sent["explanation"][-2].startswith("invitation e-mail sent at ")

    _move_to_the_past(shop.db_url, str(invitation_id))
    called_off = _explained_last(shop, ref, REMINDER_OFF_REVIEWED.__eq__)
    assert (called_off["state"], called_off["reminder_at"]) == ("sent", None)
    assert len(sink.messages_to(address)) == 1  # the call-off never reaches the mailer


def test_a_sender_killed_mid_batch_leaves_nothing_unsent_and_nothing_twice_but_one(
    backend: str, tmp_path: Path, sink: SmtpSink
) -> None:
    """SIGKILL a worker while it sends; another takes over after the lease: every invitation sent, at most one twice.

    The one that may go twice is the message in flight when the worker died: same Message-ID both times.
    """
    with database(backend, tmp_path, "sendkill") as url:
        env = {"MAIL_URL": sink.url, "ORDER_INTAKE_SECRET_KEY": SECRET, "ORDER_INTAKE_MAIL_LEASE_SECONDS": "2"}
        server = Server(url, tmp_path / "server.log", cwd=tmp_path, ORDER_INTAKE_SERVE_WORKER="0", **env).start()
        shop = Shop(url, server)
        addresses = [_address() for _ in range(40)]
        for address in addresses:
            shop.order(address)
        sink.delay = 0.05
        first = Worker(url, tmp_path / "worker-1.log", **env).start()
        try:
            arrived = wait_until(
                lambda: sum(bool(sink.messages_to(a)) for a in addresses) >= 10 or None,
                deadline=time.monotonic() + DEADLINE,
            )
            assert arrived, "the first worker sent nothing"
            first.kill()
            second = Worker(url, tmp_path / "worker-2.log", **env).start()
            try:
                everything = wait_until(
                    lambda: all(sink.messages_to(a) for a in addresses) or None, deadline=time.monotonic() + DEADLINE
                )
                assert everything, "not every invitation was sent after the restart"
                time.sleep(3)  # past another lease: nothing more goes out
            finally:
                second.stop()
        finally:
            sink.delay = 0.0
            shop.client.close()
            if first.process is not None and first.process.poll() is None:
                first.kill()
            server.stop()
        copies = {a: [m["Message-ID"] for m in sink.messages_to(a)] for a in addresses}
        twice = {a: ids for a, ids in copies.items() if len(ids) > 1}
        assert len(twice) <= 1, twice
        assert all(len(set(ids)) == 1 for ids in twice.values()), twice


def test_without_mail_url_the_message_is_in_the_default_maildir(backend: str, tmp_path: Path) -> None:
    """No MAIL_URL: `./order-intake-mail` in the server's working directory, read back with mailbox.Maildir."""
    with database(backend, tmp_path, "maildir") as url:
        env = {"ORDER_INTAKE_SECRET_KEY": SECRET, "ORDER_INTAKE_AUTH_CACHE_SECONDS": "0"}
        server = Server(url, tmp_path / "server.log", cwd=tmp_path, **env).start()
        shop = Shop(url, server)
        try:
            address = _address()
            ref = shop.order(address)
            shop.until_state(ref, "sent")
        finally:
            shop.client.close()
            server.stop()
        box = mailbox.Maildir(tmp_path / "order-intake-mail", create=False)
        (message,) = [m for m in box if address in str(m["To"])]
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert ref in str(message)
