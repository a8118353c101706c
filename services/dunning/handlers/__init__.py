"""Dunning handlers: one function per command or event, written against `services.dunning.ports` only.

A command runs in a unit of work (`uow.run`); an event handler gets the consumer's transaction object
(`tx`) from `subscribers.py`. No module here sees MongoDB, Kafka or a session (tests/dunning/unit/test_rooms.py).
"""
