"""Reports for the staff pages: figures computed within a staff account's scope (``docs/staff.md``)."""
