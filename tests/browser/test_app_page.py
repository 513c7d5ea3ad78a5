"""The participant page /app/: two browsers chat, the room closes, the connection drops."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import DESKTOP, PHONE, NewPage
from tests.browser.support import (
    XSS,
    assert_token_kept_out_of_urls,
    join_chat,
    open_room,
    post_event,
    proxy_to,
    shown,
    write,
)
from tests.e2e.conftest import ServerProc, StartServer
from tests.e2e.ws_support import tok

Shoot = Callable[[Page, str], Path]


def test_customer_and_vendor_chat_until_the_room_closes(
    server: ServerProc, new_page: NewPage, shoot: Shoot
) -> None:
    room = open_room(server)
    customer, vendor = new_page(PHONE), new_page(DESKTOP)
    c, v = customer.page, vendor.page
    c_token, v_token = room.customer_token(), room.vendor_token()
    join_chat(c, server.url, c_token, room.order_id)
    expect(c.locator("#room-state")).to_have_text("Open")
    expect(c.locator("#room-people")).to_have_text("You (customer) · Vendor")
    assert c.url.endswith(f"/app/#order={room.order_id}")

    # acked while nobody else is there: sent, not read; the vendor opening the chat
    # shows it in the history and marks it read
    write(c, "Hi, anyone there?")
    first = c.locator("#messages .msg.mine")
    expect(first).to_have_attribute("data-state", "sent")
    expect(first.locator(".state")).to_have_text("✓ Sent")
    join_chat(v, server.url, v_token, room.order_id)
    expect(v.locator("#messages .msg.theirs .text")).to_have_text(["Hi, anyone there?"])
    expect(first).to_have_attribute("data-state", "read")

    # typing shows on the other page (the vendor's first: never within the server's
    # 0.5 s typing interval); the message clears it
    v.fill("#composer-input", "Yes, hello!")
    expect(c.locator("#typing")).to_have_text("Vendor is typing…")
    v.press("#composer-input", "Enter")
    expect(c.locator("#messages .msg.theirs .text")).to_have_text(["Yes, hello!"])
    expect(c.locator("#typing")).to_have_text("")

    # a message is acked, delivered, then read
    write(c, "Is my order on its way?")
    mine = c.locator("#messages .msg.mine")
    expect(mine).to_have_count(2)
    expect(mine.locator(".text")).to_have_text(["Hi, anyone there?", "Is my order on its way?"])
    expect(v.locator("#messages .msg.theirs .text")).to_have_text(
        ["Hi, anyone there?", "Is my order on its way?"]
    )
    expect(mine.last).to_have_attribute("data-state", "read")
    expect(mine.last.locator(".state")).to_have_text("✓✓ Read")

    # markup in a message is text: shown literally, never parsed (no <img>, no dialog)
    write(v, XSS)
    write(v, "It left the kitchen\nfive minutes ago.")
    expect(c.locator("#messages .msg.theirs .text")).to_have_text(
        ["Yes, hello!", XSS, "It left the kitchen\nfive minutes ago."]
    )
    assert c.locator("#messages img").count() == 0
    assert v.locator("#messages img").count() == 0
    assert (
        shown(c)
        == shown(v)
        == [
            (1, "Hi, anyone there?"),
            (2, "Yes, hello!"),
            (3, "Is my order on its way?"),
            (4, XSS),
            (5, "It left the kitchen\nfive minutes ago."),
        ]
    )
    write(c, "Thanks!")
    expect(v.locator("#messages .msg")).to_have_count(6)

    # a rider joins (everyone sees it) and is unassigned: the rider's page says access
    # is lost and stops retrying; the others see the rider leave
    rider_id = str(uuid.uuid4())
    post_event(server, "order.rider_assigned", orderId=room.order_id, riderId=rider_id)
    expect(c.locator("#room-people")).to_have_text("You (customer) · Vendor · Rider")
    expect(c.locator("#messages .note").last).to_have_text("Rider joined the chat")
    rider = new_page(PHONE).page
    join_chat(rider, server.url, tok("rider", rider_id), room.order_id)
    assert len(shown(rider)) == 6
    post_event(server, "order.rider_unassigned", orderId=room.order_id, riderId=rider_id)
    expect(rider.locator("#notice")).to_have_text(
        "You are no longer a participant of this order's chat."
    )
    expect(rider.locator("#status")).to_have_attribute("data-status", "stopped")
    expect(rider.locator("#composer-input")).to_be_disabled()
    expect(c.locator("#messages .note").last).to_have_text("Rider left the chat")
    expect(c.locator("#room-people")).to_have_text("You (customer) · Vendor")
    shoot(c, "app-phone")
    shoot(v, "app-desktop")

    # delivery closes the room: both pages say so at once and stop offering to send
    post_event(server, "order.delivered", orderId=room.order_id, deliveredAt="2026-11-24T10:00:00Z")
    for page in (c, v):
        expect(page.locator("#readonly-banner")).to_be_visible()
        expect(page.locator("#readonly-banner")).to_contain_text("delivered")
        expect(page.locator("#readonly-banner")).to_contain_text("read-only")
        expect(page.locator("#room-state")).to_have_text("Read-only")
        expect(page.locator("#composer")).to_be_hidden()
    shoot(c, "app-closed-phone")

    # a later visit still reads the whole history, read-only from the start
    again = new_page(DESKTOP).page
    join_chat(again, server.url, room.vendor_token(), room.order_id)
    expect(again.locator("#readonly-banner")).to_be_visible()
    assert len(shown(again)) == 6

    for w in (customer, vendor):
        assert_token_kept_out_of_urls(w.urls, w.page, c_token, v_token)


def test_page_recovers_from_dropped_connections_without_losing_messages(
    server: ServerProc, start_server: StartServer, new_page: NewPage
) -> None:
    room = open_room(server)
    with proxy_to(server) as proxy:
        # the customer's page reaches the server through a proxy the test can cut
        customer, vendor = new_page(PHONE), new_page(DESKTOP)
        c, v = customer.page, vendor.page
        join_chat(c, proxy.url, room.customer_token(), room.order_id)
        join_chat(v, server.url, room.vendor_token(), room.order_id)
        write(c, "one")
        write(v, "two")
        expect(c.locator("#messages .msg")).to_have_count(2)

        # 1. the customer's connection is cut: the vendor goes on writing, the customer
        # writes too (pending); back online, the page resumes from its last seq
        proxy.cut()
        expect(c.locator("#status")).not_to_have_attribute("data-status", "live")
        write(v, "three")
        write(v, "four")
        expect(v.locator("#messages .msg")).to_have_count(4)
        write(c, "five, written offline")
        pending = c.locator("#outbox .msg")
        expect(pending).to_have_attribute("data-state", "pending")
        expect(pending.locator(".state")).to_have_text("Waiting for connection…")
        proxy.start()
        expect(c.locator("#status")).to_have_attribute("data-status", "live")
        expect(c.locator("#outbox .msg")).to_have_count(0)
        expect(c.locator("#messages .msg")).to_have_count(5)
        expect(v.locator("#messages .msg")).to_have_count(5)
        expected = [(1, "one"), (2, "two"), (3, "three"), (4, "four"), (5, "five, written offline")]
        assert shown(c) == shown(v) == expected
        expect(c.locator("#messages .msg.mine").last).to_have_attribute("data-state", "read")

        # 2. the server restarts (SIGTERM: close 1001) on the same port and database:
        # both pages reconnect by themselves; a message written meanwhile is sent once
        server.stop()
        for page in (c, v):
            expect(page.locator("#status")).not_to_have_attribute("data-status", "live")
        write(v, "six, written while the server was down")
        expect(v.locator("#outbox .msg")).to_have_attribute("data-state", "pending")
        start_server(port=server.port)
        for page in (c, v):
            expect(page.locator("#status")).to_have_attribute("data-status", "live")
            expect(page.locator("#messages .msg")).to_have_count(6)
            expect(page.locator("#outbox .msg")).to_have_count(0)
        expected.append((6, "six, written while the server was down"))
        assert shown(c) == shown(v) == expected
