"""Reminders: crop-calendar campaigns and farmers' crop cycles (planting dates), and the tips due on each day of a season."""
