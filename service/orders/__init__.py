"""Collective input orders: the input catalogue and its suppliers, ordering rounds per producer group, purchase orders."""
