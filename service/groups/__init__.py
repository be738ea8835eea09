"""Producer groups: PGs and their CBOs, commodity clusters, membership and the Executive Committee seats."""
