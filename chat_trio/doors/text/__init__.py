"""The text door: nc and telnet. Lines in (doors/lines.py), slash commands parsed into intents
(doors/commands.py, shared with the page's command lines), events rendered as sentences
(render.py, with the shared ones from doors/wording.py); door.py ties them up."""
