"""The clip writer's hand-off to its encoder thread: order, errors and cancelling."""

import threading

import pytest

from explorer.video.background import BackgroundConsumer


def test_items_are_consumed_in_order_on_another_thread():
    seen: list[tuple[int, str]] = []
    consumer = BackgroundConsumer(
        lambda item: seen.append((item, threading.current_thread().name)),
        depth=2,
        name="test-consumer",
    )
    for item in range(50):
        consumer.put(item)
    consumer.finish()
    assert [item for item, _ in seen] == list(range(50))
    assert {name for _, name in seen} == {"test-consumer"}


def test_an_error_is_raised_by_the_next_put_or_finish_and_later_items_are_dropped():
    consumed: list[int] = []
    failed = threading.Event()

    def consume(item: int) -> None:
        if item == 1:
            failed.set()
            raise OSError("disk full")
        consumed.append(item)

    consumer = BackgroundConsumer(consume, depth=1, name="test-consumer")
    consumer.put(0)
    consumer.put(1)
    assert failed.wait(5)
    with pytest.raises(OSError, match="disk full"):
        for item in range(2, 100):  # raises as soon as it sees the error
            consumer.put(item)
    with pytest.raises(OSError, match="disk full"):
        consumer.finish()
    assert consumed == [0]


def test_cancel_drops_waiting_items_and_stops():
    consumed: list[int] = []
    cancelling = threading.Event()

    def consume(item: int) -> None:
        consumed.append(item)
        assert cancelling.wait(5)

    consumer = BackgroundConsumer(consume, depth=10, name="test-consumer")
    for item in range(5):
        consumer.put(item)
    canceller = threading.Thread(target=consumer.cancel)
    canceller.start()
    while not consumer._dropping:  # cancel() has said so before it waits for the thread
        threading.Event().wait(0.001)
    cancelling.set()
    canceller.join(5)
    assert not canceller.is_alive()
    assert consumed in ([], [0]), "items still waiting when cancelled are dropped"
    consumer.cancel()  # a second cancel (or finish) does nothing
