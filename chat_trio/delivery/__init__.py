"""Delivery, the trio side: one connection's session (session.py), carrying out the rules'
outputs (effects.py), and the hub that fans broadcasts out to bounded outboxes (hub.py)."""
