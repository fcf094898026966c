"""The scheduled jobs' Telegram side: JobQueue wiring and sending. Plans and state live in scheduler/ and desk/."""
