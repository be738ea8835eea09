"""APScheduler wiring: jobs that call service functions (no domain logic here)."""
