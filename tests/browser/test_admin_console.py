"""The admin console /admin/: finds rooms, shows a transcript, follows an open room live."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import DESKTOP, PHONE, NewPage
from tests.browser.support import (
    XSS,
    assert_token_kept_out_of_urls,
    open_room,
    post_event,
    send_messages,
)
from tests.e2e.conftest import ServerProc
from tests.e2e.ws_support import tok

Shoot = Callable[[Page, str], Path]


def search(page: Page, query: str, state: str = "") -> None:
    page.fill("#search-q", query)
    page.select_option("#search-state", state)
    page.click("#search-button")


def test_admin_finds_the_room_and_follows_its_transcript(
    server: ServerProc, new_page: NewPage, shoot: Shoot
) -> None:
    room = open_room(server)
    other = open_room(server)  # another customer's order, delivered
    post_event(
        server, "order.delivered", orderId=other.order_id, deliveredAt="2026-11-24T09:00:00Z"
    )
    send_messages(server, room.order_id, room.customer_token(), "Where is my order?", XSS)
    send_messages(server, room.order_id, room.vendor_token(), "On its way.\nTen minutes.")

    admin = new_page(DESKTOP)
    a = admin.page
    admin_token = tok("admin")
    a.goto(server.url + "/admin")
    a.fill("#token", admin_token)
    a.click("#signin-button")
    # signed in: every room is listed
    expect(a.locator("#results li")).to_have_count(2)

    # by order id
    search(a, room.order_id)
    expect(a.locator("#results li")).to_have_count(1)
    expect(a.locator("#results li")).to_contain_text("matched by order id")
    a.click("#results li button")
    expect(a.locator("#t-order")).to_have_text(room.order_id)
    expect(a.locator("#t-state")).to_have_text("Open")
    expect(a.locator("#t-closed")).to_have_text("— (open)")
    expect(a.locator("#t-people li")).to_have_text(
        [f"Customer{room.customer}", f"Vendor{room.vendor}"]
    )
    lines = a.locator("#t-lines li")
    expect(lines.locator(".text")).to_have_text(
        ["Where is my order?", XSS, "On its way.\nTen minutes."]
    )
    expect(lines.locator(".role")).to_have_text(["Customer", "Customer", "Vendor"])
    expect(lines.locator(".seq")).to_have_text(["#1", "#2", "#3"])
    assert a.locator("#t-lines img").count() == 0
    for line in lines.all():
        assert line.locator("time").get_attribute("datetime")  # each line has its timestamp
    expect(a.locator("#t-live")).to_have_attribute("data-status", "live")
    assert a.url.endswith(f"/admin/#order={room.order_id}")

    # an open room updates live: a new message, a rider joining, the close
    send_messages(server, room.order_id, room.vendor_token(), "The rider is coming.")
    expect(lines).to_have_count(4)
    expect(lines.last.locator(".text")).to_have_text("The rider is coming.")
    expect(a.locator("#t-count")).to_have_text("4")
    rider_id = "00000000-0000-4000-8000-000000000001"
    post_event(server, "order.rider_assigned", orderId=room.order_id, riderId=rider_id)
    expect(a.locator("#t-people li")).to_have_count(3)
    expect(a.locator("#t-people li").last).to_have_text(f"Rider{rider_id}")
    shoot(a, "admin-desktop")
    a.set_viewport_size(PHONE)
    shoot(a, "admin-phone")
    a.set_viewport_size(DESKTOP)

    post_event(server, "order.delivered", orderId=room.order_id, deliveredAt="2026-11-24T10:00:00Z")
    expect(a.locator("#t-state")).to_have_text("Read-only · delivered")
    expect(a.locator("#t-closed")).not_to_have_text("— (open)")
    expect(a.locator("#t-live")).to_be_hidden()

    # by participant id, with and without a state
    search(a, room.customer, "readonly")
    expect(a.locator("#results li")).to_have_count(1)
    expect(a.locator("#results li")).to_contain_text("matched by participant")
    expect(a.locator("#results li")).to_contain_text(room.order_id)
    search(a, room.customer, "open")
    expect(a.locator("#results-empty")).to_be_visible()
    search(a, "", "readonly")
    expect(a.locator("#results li")).to_have_count(2)
    search(a, "not-a-uuid")
    expect(a.locator("#search-error")).to_be_visible()

    # a reload keeps the session (sessionStorage) and the deep link reopens the room
    a.reload()
    expect(a.locator("#t-order")).to_have_text(room.order_id)
    expect(lines).to_have_count(4)
    assert_token_kept_out_of_urls(admin.urls, a, admin_token)


def test_pages_refuse_tokens_that_give_no_access(server: ServerProc, new_page: NewPage) -> None:
    room, other = open_room(server), open_room(server)
    chat = new_page(PHONE).page
    chat.goto(server.url + "/app/")
    chat.fill("#token", other.vendor_token())
    chat.fill("#order-id", room.order_id)
    chat.click("#join")
    expect(chat.locator("#signin-error")).to_have_text("This token may not read that order's chat.")
    expect(chat.locator("#chat")).to_be_hidden()

    page = new_page(PHONE).page
    page.goto(server.url + "/admin/")
    page.fill("#token", room.customer_token())
    page.click("#signin-button")
    expect(page.locator("#signin-error")).to_have_text("This token is not an admin token.")
    expect(page.locator("#console")).to_be_hidden()
