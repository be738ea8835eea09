"""The USSD channel engine: sessions and hops, screens, menus, navigation and paging. It knows no feature: features contribute screens and menu entries."""
