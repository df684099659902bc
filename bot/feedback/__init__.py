"""Feedback from chat: people say what a classified picture shows, for servers that opt in."""
