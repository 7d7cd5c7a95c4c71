"""Reporting to the traffic centre over MQTT: durable outbox, versioned payloads, commands, collector."""

from edge.mqtt.payloads import CommandResult, ComponentHealth, EvidenceFile, EvidenceKind, StatusReport

__all__ = ["CommandResult", "ComponentHealth", "EvidenceFile", "EvidenceKind", "StatusReport"]
