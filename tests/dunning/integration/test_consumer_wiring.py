"""The dunning consumer joins its group once for all the streams it reads (one member, not one per topic)."""

from tests.dunning.harness import Dunning


class TestConsumerWiring:
    async def test_one_group_member_reads_every_stream_dunning_needs(self, dunning: Dunning) -> None:
        subscribers = list(dunning.app.state.runtime.broker.subscribers)
        assert len(subscribers) == 1
        topics = set(subscribers[0].topic_names)
        prefix = next(iter(topics)).split("arf.")[0]
        assert topics == {f"{prefix}arf.{s}" for s in
                          ("clients", "items", "item-statuses", "status-definitions", "item-holds", "actions")}
