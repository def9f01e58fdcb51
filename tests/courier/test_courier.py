"""The courier end to end: `bia serve --watch-courier` and `bia courier watch`
delivering queued messages to a real SMTP server (aiosmtpd), read back through
the admin API and the official SDK."""

from __future__ import annotations

import collections
import time

import ory_kratos_client
import pytest
from ory_kratos_client.api.courier_api import CourierApi

from courier_support import (
    Sink,
    SinkServer,
    admin_url,
    create_database,
    free_port,
    get_json,
    migrate,
    queue_sql,
    start,
    wait_for,
    wait_ready,
    write_config,
)


def courier_api(admin: str):
    return CourierApi(ory_kratos_client.ApiClient(ory_kratos_client.Configuration(host=admin)))


def message(admin: str, message_id: str) -> dict:
    status, body, _ = get_json(f"{admin}/admin/courier/messages/{message_id}")
    assert status == 200, body
    return body


def test_serve_delivers_plain_and_html_mail_with_configured_headers(tmp_path, sink_server):
    db = create_database("sqlite", tmp_path)
    migrate(db)
    config = write_config(tmp_path, db.dsn, sink_server.port)
    server = start(["serve", "-c", str(config), "--watch-courier"], tmp_path, "serve")
    try:
        admin = admin_url(config)
        wait_ready(admin, server)
        with_html, sql = queue_sql(2, html=True)
        db.execute(sql)
        plain, sql = queue_sql(1, recipient=lambda n: "plain@example.org", html=False)
        db.execute(sql)
        hostile, sql = queue_sql(1, recipient=lambda n: "evil@example.org\r\nBcc: victim@example.org")
        db.execute(sql)
        wait_for(lambda: sink_server.sink.count() == 3, 20, "three emails")
        by_id = {m["Message-ID"]: m for m in sink_server.sink.messages}
        for n, message_id in enumerate(with_html):
            mail = by_id[f"<{message_id}@bia.test>"]
            assert mail["From"] == "Bia Accounts <accounts@bia.example>"
            assert mail["To"] == f"user{n}@example.org"
            assert mail["Subject"] == f"Your recovery code ({n})"
            assert mail["X-Bia-Test"] == "courier"
            assert mail.get_content_type() == "multipart/alternative"
            text = mail.get_body(("plain",)).get_content()
            html = mail.get_body(("html",)).get_content()
            assert text.replace("\r\n", "\n") == f"Hello user{n}@example.org,\nyour code is {100000 + n}.\n"
            assert f"<b>{100000 + n}</b>" in html
        mail = by_id[f"<{plain[0]}@bia.test>"]
        assert mail.get_content_type() == "text/plain"
        assert mail["To"] == "plain@example.org"
        assert all(env[0] == "accounts@bia.example" for env in sink_server.sink.envelopes)
        assert all("victim@example.org" not in env[1] for env in sink_server.sink.envelopes)

        # The hostile recipient never reached the server: abandoned at once.
        wait_for(lambda: message(admin, hostile[0])["status"] == "abandoned", 10, "abandoned")
        assert message(admin, hostile[0])["dispatches"][0]["status"] == "failed"

        api = courier_api(admin)
        sent = api.list_courier_messages(status="sent", page_size=10)
        assert sorted(m.id for m in sent) == sorted(with_html + plain)
        one = api.get_courier_message(with_html[0])
        assert one.status == "sent" and one.send_count == 1
        assert [d.status for d in one.dispatches] == ["success"]
        page = api.list_courier_messages_with_http_info(page_size=2)
        link = {k.lower(): v for k, v in page.headers.items()}["link"]
        assert len(page.data) == 2 and "page_token=" in link
        mine = api.list_courier_messages(recipient="plain@example.org")
        assert [m.id for m in mine] == plain
    finally:
        assert server.stop() == 0, server.tail()
        db.drop()


def test_messages_queued_while_the_sink_is_down_are_all_delivered_once(tmp_path):
    port = free_port()
    sink = Sink()
    db = create_database("sqlite", tmp_path)
    migrate(db)
    config = write_config(tmp_path, db.dsn, port)
    server = start(["serve", "-c", str(config), "--watch-courier"], tmp_path, "serve")
    sink_server = SinkServer(sink, port)
    try:
        admin = admin_url(config)
        wait_ready(admin, server)
        ids, sql = queue_sql(40)
        db.execute(sql)
        # Attempts fail while nothing listens: the messages wait for their retry.
        wait_for(lambda: message(admin, ids[-1])["send_count"] >= 1, 10, "a failed attempt")
        failed = message(admin, ids[-1])
        assert failed["status"] in ("queued", "processing")
        assert failed["dispatches"][0]["status"] == "failed"
        sink_server.start()
        wait_for(lambda: sink.count() >= 40, 40, "every message after the sink came back")
        time.sleep(1.5)
        counts = collections.Counter(sink.message_ids())
        assert len(counts) == 40 and set(counts.values()) == {1}, counts.most_common(3)
        assert set(counts) == {f"<{i}@bia.test>" for i in ids}
        status, listed, _ = get_json(f"{admin}/admin/courier/messages?status=sent&page_size=100")
        assert status == 200 and len(listed) == 40
    finally:
        assert server.stop() == 0, server.tail()
        sink_server.stop()
        db.drop()


@pytest.mark.parametrize("backend", ["postgres", "mysql"])
def test_two_watch_processes_deliver_each_message_exactly_once(tmp_path, sink_server, backend):
    db = create_database(backend, tmp_path)
    workers = []
    try:
        migrate(db)
        ids, sql = queue_sql(1000)
        db.execute(sql)
        config = write_config(tmp_path, db.dsn, sink_server.port)
        workers = [start(["courier", "watch", "-c", str(config)], tmp_path, f"watch{n}") for n in (1, 2)]
        wait_for(lambda: sink_server.sink.count() >= 1000, 180, "1000 emails", step=0.25)
        time.sleep(2)
        counts = collections.Counter(sink_server.sink.message_ids())
        duplicates = [i for i, c in counts.items() if c > 1]
        assert not duplicates, f"{len(duplicates)} sent twice"
        assert set(counts) == {f"<{i}@bia.test>" for i in ids}
        rows = db.execute("SELECT status, COUNT(*) FROM courier_messages GROUP BY status;")
        assert rows.replace("|", " ").split() == ["sent", "1000"], rows
        dispatches = db.execute("SELECT COUNT(*) FROM courier_message_dispatches;")
        assert dispatches.strip() == "1000"
    finally:
        for worker in workers:
            assert worker.stop() == 0, worker.tail()
        db.drop()


def test_a_refusing_server_leads_to_retries_then_abandoned(tmp_path, sink_server):
    sink_server.sink.reject = "550 5.1.1 mailbox unavailable"
    db = create_database("sqlite", tmp_path)
    migrate(db)
    config = write_config(tmp_path, db.dsn, sink_server.port, {"courier": {"message_retries": 2}})
    server = start(["serve", "-c", str(config), "--watch-courier"], tmp_path, "serve")
    try:
        admin = admin_url(config)
        wait_ready(admin, server)
        ids, sql = queue_sql(1)
        db.execute(sql)
        wait_for(lambda: message(admin, ids[0])["status"] == "abandoned", 30, "abandoned")
        got = courier_api(admin).get_courier_message(ids[0])
        assert got.status == "abandoned" and got.send_count == 3
        assert [d.status for d in got.dispatches] == ["failed"] * 3
        for dispatch in got.dispatches:
            assert "550" in dispatch.error["message"], dispatch.error
            assert dispatch.error["code"] == "550"
        assert sink_server.sink.count() == 0
    finally:
        assert server.stop() == 0, server.tail()
        db.drop()
