"""The text door: nc and telnet. Lines in (doors/lines.py), slash commands parsed into intents
(commands.py), events rendered as today's sentences (render.py); door.py ties them up."""
