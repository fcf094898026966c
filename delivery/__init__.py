"""Delivery without telegram: the outbox (messages owed, written with the state change that
owes them) and the inbox (updates stored before they are acknowledged). The Telegram side is
bot/sender.py and bot/inbox.py."""
