"""The IRC door: irssi, WeeChat, HexChat. Messages parsed and serialized (message.py),
client commands turned into intents and events into numerics and messages (door.py,
render.py), following the modern client protocol and the IRCv3 capabilities it lists."""
