"""Delivery, the trio side: one connection's session (session.py), carrying out the rules'
outputs (effects.py), the hub that takes deliveries (hub.py), fans each round out
(fanout.py) to bounded outboxes (outbox.py), and decides who waits (flow.py); the
operator's log of changes (audit.py)."""
