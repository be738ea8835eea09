"""Staff: the accounts of the people who run the programme, their roles and the area each may act in.

``accounts``: :class:`~service.staff.accounts.StaffAccount` (login, password, lock, phone, language)
and its scope rows; ``scope``: :class:`~service.staff.scope.Scope`, the resolved area an account
covers, which every page, SMS command and CLI action checks (``docs/staff.md``).
"""
