"""Broadcasts: one message from staff to an audience of farmers, each in their own language (field alerts)."""
