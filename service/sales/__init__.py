"""Joint sales: pledges of produce to collection centres, buyers' offers, and yield reports."""
