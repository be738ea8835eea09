"""Farmers: profiles behind a phone (several on a shared household phone), registration, language, and the My account entries."""
