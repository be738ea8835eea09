"""Messaging: MO and MT messages, the outbox and its dispatcher, delivery reports, opt-outs, SMS encoding and the gateway adapters."""
