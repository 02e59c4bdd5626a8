"""The Bus port: topics of keyed messages with consumer-group offsets (Kafka, or SQLite embedded)."""

from sweep.bus.base import TOPIC_DEADLETTER, TOPIC_LEADS, TOPIC_LISTINGS, Bus, BusConsumer, Message

__all__ = ["TOPIC_DEADLETTER", "TOPIC_LEADS", "TOPIC_LISTINGS", "Bus", "BusConsumer", "Message"]
