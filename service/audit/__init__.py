"""The audit log: every staff action, on the web, by SMS and by CLI (``service.audit.log``)."""
