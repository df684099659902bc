"""neuralmon's model package: Pokédex facts, sprite data, the network, training and inference.

It knows nothing of Discord; the bot imports it, never the other way round.
"""
