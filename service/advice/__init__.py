"""Advice: farmers' questions, their responders (VAM agents, lead farmers, extension staff), answers, escalation and the tips library."""
