"""The desk: tickets for questions a person must answer, the 30-minute clock, escalation to
departments, and the numbers. Plain Python on a SQLModel session: no Telegram in here.

models (tables) · states (transition map) · roles (who acts where, permission checks) ·
bindings (/bind, /bind_dept) · tickets (operations) · sla (the sweep) · stats · render
(texts for the edge) · throttle · callbacks (button data) · errors · views (plain values) ·
work (one unit of work per Telegram update, for the handlers).
"""
