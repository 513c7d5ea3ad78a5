"""Calls before connect() raise NotConnected at once instead of waiting for ever."""

from __future__ import annotations

import uuid

import pytest

from orderchat.client import ChatClient, ClientError, NotConnected


def _client() -> ChatClient:
    # nothing listens there: a call that tried to connect or waited would not return
    return ChatClient("ws://127.0.0.1:9", str(uuid.uuid4()), "token", max_attempts=1)


async def test_send_before_connect_raises() -> None:
    with pytest.raises(NotConnected, match=r"use `async with` or `connect\(\)`"):
        await _client().send("hello")


async def test_messages_and_next_before_connect_raise() -> None:
    chat = _client()
    with pytest.raises(NotConnected):
        await anext(aiter(chat.messages()))
    with pytest.raises(NotConnected):
        await chat.next(1.0)
    for call in (chat.typing(), chat.ping(), chat.mark_read(1)):
        with pytest.raises(NotConnected):
            await call


def test_not_connected_is_a_client_error() -> None:
    assert issubclass(NotConnected, ClientError)
