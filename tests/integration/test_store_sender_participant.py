"""The store refuses a message whose sender is not a current participant (SPEC 5.3,
migration 0003), whatever the caller believes; in a batch only the offender fails."""

from __future__ import annotations

import uuid

import pytest

from orderchat.domain.events import OrderEvent
from orderchat.domain.messages import Message, new_message_id, utcnow_ms
from orderchat.errors import ForbiddenError
from orderchat.store import Store
from tests.integration.test_migrations import _migrate
from tests.integration.test_store_messages import contents, open_room


def message(oid: uuid.UUID, sender: uuid.UUID, role: str, text: str) -> Message:
    return Message(new_message_id(), oid, 0, sender, role, text, utcnow_ms(), None)


async def with_rider(store: Store) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    oid, cust = await open_room(store)
    rider = uuid.uuid4()
    await store.rooms.apply_event(OrderEvent("rider_assigned", oid, rider_id=rider), utcnow_ms())
    return oid, cust, rider


async def unassign(store: Store, oid: uuid.UUID, rider: uuid.UUID) -> None:
    await store.rooms.apply_event(OrderEvent("rider_unassigned", oid, rider_id=rider), utcnow_ms())


async def append(store: Store, oid: uuid.UUID, sender: uuid.UUID, role: str) -> Message:
    msg, _ = await store.messages.append(
        order_id=oid,
        sender_id=sender,
        sender_role=role,
        content="hi",
        client_message_id=None,
        now=utcnow_ms(),
    )
    return msg


async def test_an_unassigned_rider_is_refused_by_the_store(store: Store) -> None:
    oid, _cust, rider = await with_rider(store)
    assert (await append(store, oid, rider, "rider")).seq == 1
    await unassign(store, oid, rider)
    with pytest.raises(ForbiddenError):
        await append(store, oid, rider, "rider")
    assert await contents(store, oid) == [(1, "hi")]


@pytest.mark.parametrize("who", ["stranger", "customer-as-vendor", "never-assigned-rider"], ids=str)
async def test_a_sender_who_never_was_a_participant_is_refused(store: Store, who: str) -> None:
    oid, cust = await open_room(store)
    sender, role = {
        "stranger": (uuid.uuid4(), "customer"),
        "customer-as-vendor": (cust, "vendor"),
        "never-assigned-rider": (uuid.uuid4(), "rider"),
    }[who]
    with pytest.raises(ForbiddenError):
        await append(store, oid, sender, role)
    assert await contents(store, oid) == []


async def test_in_a_batch_only_the_offender_fails(store: Store) -> None:
    oid, cust, rider = await with_rider(store)
    await unassign(store, oid, rider)
    other, cust2 = await open_room(store)
    batch = [
        message(oid, cust, "customer", "before"),
        message(oid, rider, "rider", "refused"),
        message(other, cust2, "customer", "elsewhere"),
        message(oid, cust, "customer", "after"),
    ]
    outcomes = await store.messages._appender.flush(batch)
    assert isinstance(outcomes[1], ForbiddenError)
    assert [o[0] for o in (outcomes[0], outcomes[2], outcomes[3])] == [1, 1, 2]  # type: ignore[index]
    assert await contents(store, oid) == [(1, "before"), (2, "after")]
    assert await contents(store, other) == [(1, "elsewhere")]


async def test_the_guard_goes_with_a_downgrade_and_comes_back(store: Store) -> None:
    oid, _cust = await open_room(store)
    stranger = uuid.uuid4()
    await _migrate(store, "0002", down=True)
    await append(store, oid, stranger, "customer")  # no guard at 0002
    await _migrate(store, "head", down=False)
    with pytest.raises(ForbiddenError):
        await append(store, oid, stranger, "customer")
    assert await contents(store, oid) == [(1, "hi")]
