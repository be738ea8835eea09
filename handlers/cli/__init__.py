"""Flask CLI commands (``flask --app service ...``), thin: each opens a session and calls the service."""
