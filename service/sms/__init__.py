"""The SMS channel engine: inbound messages stored once, keywords matched, commands carried out. It knows no feature: features contribute commands."""
