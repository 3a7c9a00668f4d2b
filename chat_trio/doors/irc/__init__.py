"""The IRC door: irssi, WeeChat, HexChat. Messages parsed and serialized (message.py),
registration (registration.py: CAP, NICK/USER/PASS, SASL), client commands turned into
intents (commands.py), events into numerics and messages (render.py); door.py ties them
up, following the modern client protocol and the IRCv3 capabilities it lists."""
